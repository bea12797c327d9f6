//! Children with hostile names for the commands that print them (info, maps, top), and children
//! started once they say they are ready: tests/commands' own, the exporter's tests have no use
//! for them.
#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::support::Guard;
use memsight_test_support::python;

/// An escape sequence that retitles a terminal and clears it: what a hostile process puts in its
/// name, arguments, environment and paths.
pub const HOSTILE: &str = "\u{1b}]0;pwn\u{7}\u{1b}[2J";

/// A python child with [`HOSTILE`] everywhere `info` and `maps` print: its name (it runs through a
/// symlink so named), its last argument, the value of `MEMSIGHT_HOSTILE`, its cwd (a directory so
/// named, under `dir`) and a file it maps (`map-` + [`HOSTILE`] there). Returned once the file is
/// mapped; killed on drop.
pub fn hostile_python(dir: &Path) -> Guard {
    let home = dir.join(HOSTILE);
    std::fs::create_dir(&home).unwrap();
    let link = home.join(HOSTILE);
    std::os::unix::fs::symlink(python(), &link).unwrap();
    let script = "import mmap, sys\n\
                  f = open('map-' + sys.argv[1], 'w+b'); f.write(b'x' * 4096); f.flush()\n\
                  m = mmap.mmap(f.fileno(), 4096)\n\
                  print('ready', flush=True); sys.stdin.readline()";
    let mut python = Command::new(&link);
    python
        .args(["-c", script, HOSTILE])
        .env("MEMSIGHT_HOSTILE", HOSTILE)
        .current_dir(&home)
        .stdin(Stdio::piped());
    Guard(spawn_ready(python))
}

/// Starts `command` with its stdout piped and returns once it has printed its first line,
/// `ready`.
pub fn spawn_ready(mut command: Command) -> Child {
    let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    child
}
