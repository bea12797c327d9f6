//! Resource limits: `/proc/PID/limits`.

use crate::error::{Error, Result};
use crate::sys::process::Process;
use crate::sys::procfs::limits;

/// A resource that has a limit, psutil's `RLIMIT_*` constants (see getrlimit(2)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum Resource {
    /// `RLIMIT_AS`: address space, bytes.
    As,
    /// `RLIMIT_CORE`: core file size, bytes.
    Core,
    /// `RLIMIT_CPU`: CPU time, seconds.
    Cpu,
    /// `RLIMIT_DATA`: data segment, bytes.
    Data,
    /// `RLIMIT_FSIZE`: file size, bytes.
    Fsize,
    /// `RLIMIT_LOCKS`: file locks.
    Locks,
    /// `RLIMIT_MEMLOCK`: locked memory, bytes.
    Memlock,
    /// `RLIMIT_MSGQUEUE`: POSIX message queues, bytes.
    Msgqueue,
    /// `RLIMIT_NICE`: nice ceiling (20 - nice).
    Nice,
    /// `RLIMIT_NOFILE`: open file descriptors.
    Nofile,
    /// `RLIMIT_NPROC`: processes of the user.
    Nproc,
    /// `RLIMIT_RSS`: resident set, bytes (not enforced).
    Rss,
    /// `RLIMIT_RTPRIO`: real-time priority ceiling.
    Rtprio,
    /// `RLIMIT_RTTIME`: real-time CPU time, microseconds.
    Rttime,
    /// `RLIMIT_SIGPENDING`: queued signals.
    Sigpending,
    /// `RLIMIT_STACK`: stack size, bytes.
    Stack,
}

impl Resource {
    /// Every resource, in alphabetical order (as psutil's procinfo prints them).
    pub const ALL: [Resource; 16] = [
        Resource::As,
        Resource::Core,
        Resource::Cpu,
        Resource::Data,
        Resource::Fsize,
        Resource::Locks,
        Resource::Memlock,
        Resource::Msgqueue,
        Resource::Nice,
        Resource::Nofile,
        Resource::Nproc,
        Resource::Rss,
        Resource::Rtprio,
        Resource::Rttime,
        Resource::Sigpending,
        Resource::Stack,
    ];

    /// The lower-case name without `RLIMIT_` (`nofile`), the key in `memsight info --json`.
    pub fn name(self) -> &'static str {
        match self {
            Resource::As => "as",
            Resource::Core => "core",
            Resource::Cpu => "cpu",
            Resource::Data => "data",
            Resource::Fsize => "fsize",
            Resource::Locks => "locks",
            Resource::Memlock => "memlock",
            Resource::Msgqueue => "msgqueue",
            Resource::Nice => "nice",
            Resource::Nofile => "nofile",
            Resource::Nproc => "nproc",
            Resource::Rss => "rss",
            Resource::Rtprio => "rtprio",
            Resource::Rttime => "rttime",
            Resource::Sigpending => "sigpending",
            Resource::Stack => "stack",
        }
    }

    fn from_name(name: &str) -> Option<Resource> {
        Resource::ALL.into_iter().find(|r| r.name() == name)
    }
}

/// The soft and hard limit of one resource; `None` is unlimited (`RLIM_INFINITY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Rlimit {
    /// The soft limit, which the kernel enforces.
    pub soft: Option<u64>,
    /// The hard limit: the ceiling for the soft one.
    pub hard: Option<u64>,
}

impl Process {
    /// Backs [`crate::Process::rlimits`], where it is documented with every OS's source.
    pub fn rlimits(&self) -> Result<Vec<(Resource, Rlimit)>> {
        let rows = self.read_file("limits", limits::parse)?;
        let mut out: Vec<(Resource, Rlimit)> = rows
            .into_iter()
            .filter_map(|row| {
                Resource::from_name(row.name).map(|r| {
                    (
                        r,
                        Rlimit {
                            soft: row.soft,
                            hard: row.hard,
                        },
                    )
                })
            })
            .collect();
        out.sort_by_key(|(r, _)| *r);
        Ok(out)
    }

    /// Backs [`crate::Process::rlimit`], where it is documented with every OS's source.
    pub fn rlimit(&self, resource: Resource) -> Result<Rlimit> {
        self.rlimits()?
            .into_iter()
            .find(|(r, _)| *r == resource)
            .map(|(_, l)| l)
            .ok_or_else(|| {
                Error::Unsupported(format!(
                    "RLIMIT_{} is not in /proc/{}/limits",
                    resource.name().to_uppercase(),
                    self.pid()
                ))
            })
    }
}
