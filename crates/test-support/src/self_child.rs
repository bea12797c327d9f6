//! A child process that is the test binary again, running its `child_helper` test with
//! `MEMSIGHT_CHILD` set: for the Windows and macOS tests, which read a second process the test
//! started and knows (its cwd, an environment variable, 64 MiB it touches and frees). The binary
//! declares `child_helper` at its root, calling [`child_main`].

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

/// The environment variable every child gets, and its value.
pub const TEST_VAR: (&str, &str) = ("MEMSIGHT_TEST_VAR", "hello from memsight");

/// The child's arguments: libtest running `child_helper` alone.
pub const HELPER_ARGS: [&str; 4] = ["--exact", "child_helper", "--nocapture", "--test-threads=1"];

/// The body of each binary's `child_helper` test: nothing in a normal run; in a child
/// (`MEMSIGHT_CHILD` = `alloc64` or `idle`), it touches 64 MiB for `alloc64`, says `ready`, frees
/// the block and says `freed` on a `free` line, and ends when its stdin closes.
pub fn child_main() {
    let Ok(role) = std::env::var("MEMSIGHT_CHILD") else {
        return;
    };
    let mut block = Vec::new();
    if role == "alloc64" {
        block = vec![1u8; 64 << 20];
    }
    println!("ready");
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    while std::io::stdin().read_line(&mut line).unwrap() > 0 {
        if line.trim() == "free" {
            block = Vec::new();
            block.shrink_to_fit();
            println!("freed");
            std::io::stdout().flush().unwrap();
        }
        line.clear();
    }
    drop(block);
}

/// The running child; killed and reaped on drop.
pub struct Kid {
    child: Child,
    out: BufReader<ChildStdout>,
}

impl Kid {
    /// Starts a child with `role` in `cwd` and waits for its `ready`.
    pub fn spawn(role: &str, cwd: &Path) -> Kid {
        let mut child = crate::spawn_or_retry(
            Command::new(std::env::current_exe().unwrap())
                .args(HELPER_ARGS)
                .env("MEMSIGHT_CHILD", role)
                .env(TEST_VAR.0, TEST_VAR.1)
                .current_dir(cwd)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped()),
        );
        let out = BufReader::new(child.stdout.take().unwrap());
        let mut kid = Kid { child, out };
        kid.wait_for("ready");
        kid
    }

    /// Reads the child's output up to a line ending in `word`.
    pub fn wait_for(&mut self, word: &str) {
        let mut line = String::new();
        loop {
            line.clear();
            assert!(self.out.read_line(&mut line).unwrap() > 0, "child ended");
            // libtest prints "test child_helper ... " without a newline before the child's output.
            if line.trim().ends_with(word) {
                return;
            }
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills and reaps the child now.
    pub fn end(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Sends the child one line.
    pub fn say(&mut self, word: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{word}").unwrap();
        stdin.flush().unwrap();
    }
}

impl Drop for Kid {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
