//! A child whose working directory, executable (a copy of `sleep` under a non-UTF-8 name, so also
//! its name and a mapped file), open file (its stdin), first argument and environment are not
//! UTF-8 (Linux): the lossy strings must carry U+FFFD, the exact accessors the bytes.
#![cfg(target_os = "linux")]

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The child's name (and its executable's file name), as bytes.
pub const NAME: &[u8] = b"sl\xffeep";
/// Its `argv[0]`; `argv[1]` is `100`.
pub const ARG0: &[u8] = b"zero-\xff";
/// The one environment variable that is not UTF-8, and its value; `PLAIN=yes` is the other.
pub const ENV: (&[u8], &[u8]) = (b"KEY\xff", b"value\xfe");

/// `bytes` as an `OsString`.
pub fn os(bytes: &[u8]) -> OsString {
    OsStr::from_bytes(bytes).to_owned()
}

/// The child and the places it was given, removed (killed, reaped) on drop.
pub struct Kid {
    /// The running child.
    pub child: Child,
    _dir: tempfile::TempDir,
    /// Its working directory (`cwd-\xff`).
    pub cwd: PathBuf,
    /// Its executable (`sl\xffeep`).
    pub exe: PathBuf,
    /// The file open as its stdin (`open-\xfe.txt`).
    pub file: PathBuf,
}

impl Kid {
    /// Starts the child and returns once its exec is complete (its command line is in place).
    pub fn spawn() -> Kid {
        let dir = tempfile::tempdir().unwrap();
        let cwd = dir.path().join(os(b"cwd-\xff"));
        std::fs::create_dir(&cwd).unwrap();
        let sleep = ["/usr/bin/sleep", "/bin/sleep"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .unwrap();
        let exe = dir.path().join(os(NAME));
        std::fs::copy(sleep, &exe).unwrap();
        let file = dir.path().join(os(b"open-\xfe.txt"));
        std::fs::write(&file, b"x").unwrap();
        let child = Command::new(&exe)
            .arg0(os(ARG0))
            .arg("100")
            .env_clear()
            .env(os(ENV.0), os(ENV.1))
            .env("PLAIN", "yes")
            .current_dir(&cwd)
            .stdin(Stdio::from(std::fs::File::open(&file).unwrap()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // spawn may return while the kernel is still inside the exec (a vfork-style spawn resumes
        // the parent when the old memory is let go, before the arguments are in place): wait for
        // the new command line.
        let cmdline = format!("/proc/{}/cmdline", child.id());
        let start = Instant::now();
        while std::fs::read(&cmdline).map_or(true, |c| !c.starts_with(ARG0)) {
            assert!(start.elapsed().as_secs() < 30, "the child did not start");
            std::thread::sleep(Duration::from_millis(5));
        }
        Kid {
            child,
            _dir: dir,
            cwd,
            exe,
            file,
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Kid {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
