//! Who a process is: name, command line, user and group ids, user name, owner.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use crate::error::{Error, Result};
use crate::neutral::name;
use crate::process::{Gids, Uids};
use crate::sys::process::{Process, user};
use crate::sys::procfs::{cmdline, status};

/// How many times an empty command line is read again while its process finishes `execve`.
const EXEC_SETTLE_READS: u32 = 50;

impl Process {
    /// Backs [`crate::Process::name`], where it is documented with every OS's source.
    pub fn name(&self) -> Result<String> {
        self.name_os().map(|n| n.to_string_lossy().into_owned())
    }

    /// Backs [`crate::Process::name_os`], where it is documented with every OS's source.
    pub fn name_os(&self) -> Result<OsString> {
        // The command line first: while a process is inside execve its command line is empty
        // and its comm still the parent's (a child read just after Popen returned was named
        // `python`); `read_cmdline` waits that out, and the kernel sets the new comm before it
        // copies the arguments, so comm read after is the new one. It also serves the rule for
        // cut names. Unreadable (a zombie's), the comm stands alone.
        let args = self.cmdline_os();
        // comm, not stat: the same name for 60% of stat's cost (2.0 against 3.3 µs a read).
        let comm = self.read_file("comm", |data| Ok(comm_bytes(data).to_vec()))?;
        Ok(OsString::from_vec(match args {
            Ok(args) => extended_name(comm, &args),
            Err(_) => comm,
        }))
    }

    /// Backs [`crate::Process::cmdline`], where it is documented with every OS's source.
    pub fn cmdline(&self) -> Result<Vec<String>> {
        self.read_cmdline(cmdline::parse)
    }

    /// Backs [`crate::Process::cmdline_os`], where it is documented with every OS's source.
    pub fn cmdline_os(&self) -> Result<Vec<OsString>> {
        self.read_cmdline(|data| {
            Ok(cmdline::split(data)
                .map(|a| OsStr::from_bytes(a).to_owned())
                .collect::<Vec<_>>())
        })
    }

    /// Reads and splits `cmdline`. An empty one from a live process that is not a kernel thread
    /// is read again, up to [`EXEC_SETTLE_READS`] times 1 ms apart: the process is inside
    /// `execve`, between installing its new memory and copying its arguments there (a window a
    /// loaded scheduler stretches to tens of milliseconds: 43 ms measured on a busy 2-core
    /// machine, where a child read just after `Popen` returned showed `[]` 18 times in 20).
    /// Since Linux 5.18 an executed program always has one argument at least. An empty one from
    /// a zombie is [`Error::ZombieProcess`].
    fn read_cmdline<T>(
        &self,
        parse: impl Fn(&[u8]) -> std::result::Result<Vec<T>, crate::error::ParseError>,
    ) -> Result<Vec<T>> {
        let mut args = self.read_file("cmdline", &parse)?;
        let mut reads = 0;
        while args.is_empty()
            && reads < EXEC_SETTLE_READS
            && !self.is_zombie()
            && !self.is_kernel_thread()
        {
            std::thread::sleep(std::time::Duration::from_millis(1));
            args = self.read_file("cmdline", &parse)?;
            reads += 1;
        }
        if args.is_empty() && self.is_zombie() {
            return Err(Error::ZombieProcess {
                pid: self.pid(),
                name: None,
            });
        }
        Ok(args)
    }

    /// Backs [`crate::Process::uids`], where it is documented with every OS's source.
    pub fn uids(&self) -> Result<Uids> {
        let [real, effective, saved, _fs] = self.status_ids(|s| s.uid, "Uid")?;
        Ok(Uids {
            real,
            effective,
            saved,
        })
    }

    /// Backs [`crate::Process::gids`], where it is documented with every OS's source.
    pub fn gids(&self) -> Result<Gids> {
        let [real, effective, saved, _fs] = self.status_ids(|s| s.gid, "Gid")?;
        Ok(Gids {
            real,
            effective,
            saved,
        })
    }

    /// Backs [`crate::Process::username`], where it is documented with every OS's source.
    pub fn username(&self) -> Result<String> {
        let uid = self.uids()?.real;
        Ok(user::name_or_uid(uid))
    }

    /// Backs [`crate::Process::owner_uid`], where it is documented with every OS's source.
    pub fn owner_uid(&self) -> Result<u32> {
        self.dir_stat().map(|st| st.st_uid)
    }

    /// The `/proc/PID/status` record, parsed (cached inside [`oneshot`](Self::oneshot)).
    pub(crate) fn status_file(&self) -> Result<status::Status> {
        self.read_file("status", status::parse)
    }

    fn status_ids(
        &self,
        pick: impl FnOnce(&status::Status) -> Option<[u32; 4]>,
        key: &str,
    ) -> Result<[u32; 4]> {
        let status = self.status_file()?;
        pick(&status).ok_or_else(|| Error::Parse {
            path: self.path("status"),
            line: 0,
            reason: format!("no {key} line"),
        })
    }
}

/// The name in a `/proc/PID/comm` read: the bytes before its newline (invalid UTF-8 replaced by
/// U+FFFD, as from `stat`).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn comm_name(data: &[u8]) -> String {
    String::from_utf8_lossy(comm_bytes(data)).into_owned()
}

/// The exact name in a `/proc/PID/comm` read: the bytes before its newline.
pub(crate) fn comm_bytes(data: &[u8]) -> &[u8] {
    data.strip_suffix(b"\n").unwrap_or(data)
}

/// psutil's name extension over the exact bytes: see [`name::extension`].
pub(crate) fn extended_name(comm: Vec<u8>, args: &[impl AsRef<OsStr>]) -> Vec<u8> {
    let first = args.first().map(|a| a.as_ref().as_bytes());
    let base = name::extension(&comm, first).map(<[u8]>::to_vec);
    base.unwrap_or(comm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_takes_the_exact_argument_bytes() {
        let comm = b"name-\xff\xfe-abcdefg".to_vec();
        let arg = OsStr::from_bytes(b"/x/name-\xff\xfe-abcdefghij").to_owned();
        assert_eq!(extended_name(comm, &[arg]), b"name-\xff\xfe-abcdefghij");
        assert_eq!(extended_name(b"sleep".to_vec(), &["/bin/sleepy"]), b"sleep");
    }

    #[test]
    fn comm_is_the_line_before_its_newline() {
        assert_eq!(comm_name(b"my (odd) name\n"), "my (odd) name");
        assert_eq!(comm_name(b"no newline"), "no newline");
        assert_eq!(comm_name(b"\n"), "");
        assert_eq!(comm_name(b"bad \xff\n"), "bad \u{fffd}");
    }
}
