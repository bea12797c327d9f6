//! Who a process is: name, command line, user and group ids, user name, owner.

use crate::error::{Error, Result};
use crate::process::{Gids, Uids};
use crate::sys::process::{Process, user};
use crate::sys::procfs::{cmdline, status};

/// The length at which the kernel cuts a command name (`TASK_COMM_LEN - 1`).
const COMM_LEN: usize = 15;

impl Process {
    /// The process name, as psutil gives it: the kernel's command name (`/proc/PID/comm`, the
    /// `task->comm` that psutil reads from `stat`'s field 2, at most 15 bytes); when that is 15
    /// characters or more and the base name of the first argument starts with it, that base name
    /// instead (`gnome-keyring-d` becomes `gnome-keyring-daemon`). Works for zombies and kernel
    /// threads.
    pub fn name(&self) -> Result<String> {
        // comm, not stat: the same name for 60% of stat's cost (2.0 against 3.3 µs a read).
        let comm = self.read_file("comm", |data| Ok(comm_name(data)))?;
        Ok(self.extend_name(comm))
    }

    /// psutil's rule for names cut at 15 characters: take the base name of `cmdline[0]` if it
    /// starts with the cut name. An unreadable command line keeps the cut name.
    pub(crate) fn extend_name(&self, comm: String) -> String {
        if !is_cut(&comm) {
            return comm;
        }
        match self.cmdline() {
            Ok(args) => extended_name(comm, &args),
            Err(_) => comm,
        }
    }

    /// The command line (`/proc/PID/cmdline`), one string per argument (invalid UTF-8 replaced by
    /// U+FFFD). Arguments are split on NUL, or on spaces when the process rewrote its command line
    /// without NULs (setproctitle), as psutil does. A kernel thread gives an empty list; a zombie
    /// gives [`Error::ZombieProcess`].
    pub fn cmdline(&self) -> Result<Vec<String>> {
        let args = self.read_file("cmdline", cmdline::parse)?;
        if args.is_empty() && self.is_zombie() {
            return Err(Error::ZombieProcess {
                pid: self.pid(),
                name: None,
            });
        }
        Ok(args)
    }

    /// The real, effective and saved user ids (`/proc/PID/status` `Uid:`).
    pub fn uids(&self) -> Result<Uids> {
        let [real, effective, saved, _fs] = self.status_ids(|s| s.uid, "Uid")?;
        Ok(Uids {
            real,
            effective,
            saved,
        })
    }

    /// The real, effective and saved group ids (`/proc/PID/status` `Gid:`).
    pub fn gids(&self) -> Result<Gids> {
        let [real, effective, saved, _fs] = self.status_ids(|s| s.gid, "Gid")?;
        Ok(Gids {
            real,
            effective,
            saved,
        })
    }

    /// The login name of the real user id (`getpwuid_r(3)`), or the uid as decimal text when the
    /// user database has no entry for it, as psutil does.
    pub fn username(&self) -> Result<String> {
        let uid = self.uids()?.real;
        Ok(user::user_name(uid).unwrap_or_else(|| uid.to_string()))
    }

    /// The owner of the `/proc/PID` directory (`fstat(2)` of the handle's descriptor, no file
    /// read). The kernel sets it to the process's *effective* uid, or to 0 when the process is not
    /// dumpable (setuid programs, some daemons); so it usually equals `uids().real`, but not
    /// always. It is what `memsight ps` shows, because it costs no read.
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
pub(crate) fn comm_name(data: &[u8]) -> String {
    let comm = data.strip_suffix(b"\n").unwrap_or(data);
    String::from_utf8_lossy(comm).into_owned()
}

/// Whether the kernel may have cut `comm`: 15 characters or more.
fn is_cut(comm: &str) -> bool {
    comm.chars().count() >= COMM_LEN
}

/// psutil's name extension: when `comm` may have been cut, the base name of `args[0]` if it starts
/// with `comm`; else `comm`.
pub(crate) fn extended_name(comm: String, args: &[String]) -> String {
    let Some(first) = args.first().filter(|_| is_cut(&comm)) else {
        return comm;
    };
    let base = first.rsplit('/').next().unwrap_or(first);
    if base.starts_with(&comm) {
        base.to_string()
    } else {
        comm
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_rule() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            extended_name(
                "gnome-keyring-d".into(),
                &args(&["/usr/bin/gnome-keyring-daemon", "--start"])
            ),
            "gnome-keyring-daemon"
        );
        assert_eq!(
            extended_name("gnome-keyring-d".into(), &args(&["/usr/bin/other"])),
            "gnome-keyring-d"
        );
        assert_eq!(
            extended_name("kworker/0:1-eve".into(), &[]),
            "kworker/0:1-eve"
        );
        // A name under 15 characters was not cut: it stays, whatever argv[0] says.
        assert_eq!(
            extended_name("sleep".into(), &args(&["/bin/sleepy"])),
            "sleep"
        );
    }

    #[test]
    fn comm_is_the_line_before_its_newline() {
        assert_eq!(comm_name(b"my (odd) name\n"), "my (odd) name");
        assert_eq!(comm_name(b"no newline"), "no newline");
        assert_eq!(comm_name(b"\n"), "");
        assert_eq!(comm_name(b"bad \xff\n"), "bad \u{fffd}");
    }
}
