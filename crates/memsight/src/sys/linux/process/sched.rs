//! Scheduling, asked of the kernel by pid: I/O priority (`ioprio_get`) and CPU affinity
//! (`sched_getaffinity`). After each call the handle is checked to still name the same
//! process, so an answer about a reused pid is never returned.
#![allow(unsafe_code)]

use std::io;

use rustix::process::Pid;

use crate::error::{Error, Result};
use crate::sys::process::Process;

/// An I/O scheduling class, psutil's `IOPRIO_CLASS_*` (see ioprio_set(2)). Serialized as its
/// number, as psutil's IntEnum is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IoClass {
    /// `IOPRIO_CLASS_NONE` (0): no class set; the kernel derives one from the nice value.
    None,
    /// `IOPRIO_CLASS_RT` (1): real time.
    Realtime,
    /// `IOPRIO_CLASS_BE` (2): best effort.
    BestEffort,
    /// `IOPRIO_CLASS_IDLE` (3): only when the disk is otherwise idle.
    Idle,
    /// A class number this crate does not know.
    Other(u32),
}

impl IoClass {
    /// The class number.
    pub fn number(self) -> u32 {
        match self {
            IoClass::None => 0,
            IoClass::Realtime => 1,
            IoClass::BestEffort => 2,
            IoClass::Idle => 3,
            IoClass::Other(n) => n,
        }
    }

    /// psutil's constant name (`IOPRIO_CLASS_BE`).
    pub fn name(self) -> String {
        match self {
            IoClass::None => "IOPRIO_CLASS_NONE".into(),
            IoClass::Realtime => "IOPRIO_CLASS_RT".into(),
            IoClass::BestEffort => "IOPRIO_CLASS_BE".into(),
            IoClass::Idle => "IOPRIO_CLASS_IDLE".into(),
            IoClass::Other(n) => n.to_string(),
        }
    }

    fn from_number(n: u32) -> IoClass {
        match n {
            0 => IoClass::None,
            1 => IoClass::Realtime,
            2 => IoClass::BestEffort,
            3 => IoClass::Idle,
            n => IoClass::Other(n),
        }
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for IoClass {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_u32(self.number())
    }
}

/// I/O priority: class and level (0 highest to 7 lowest, for the realtime and best-effort
/// classes). psutil's `pionice`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct IoNice {
    /// The scheduling class (`IOPRIO_PRIO_CLASS`, the top 3 bits).
    pub ioclass: IoClass,
    /// The level within the class (`IOPRIO_PRIO_DATA`, the low 13 bits).
    pub value: u32,
}

const IOPRIO_WHO_PROCESS: libc::c_int = 1;
const IOPRIO_CLASS_SHIFT: u32 = 13;

impl Process {
    /// Backs [`crate::Process::ionice`], where it is documented with every OS's source.
    pub fn ionice(&self) -> Result<IoNice> {
        // SAFETY: ioprio_get takes two integers and returns an integer; no memory is shared.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_ioprio_get,
                IOPRIO_WHO_PROCESS,
                self.pid() as libc::c_int,
            )
        };
        if ret < 0 {
            return Err(self.syscall_error("ioprio_get", io::Error::last_os_error()));
        }
        self.check_same()?;
        let prio = ret as u32;
        Ok(IoNice {
            ioclass: IoClass::from_number(prio >> IOPRIO_CLASS_SHIFT),
            value: prio & ((1 << IOPRIO_CLASS_SHIFT) - 1),
        })
    }

    /// Backs [`crate::Process::cpu_affinity`], where it is documented with every OS's source.
    pub fn cpu_affinity(&self) -> Result<Vec<u32>> {
        let pid = Pid::from_raw(self.pid() as i32).ok_or(Error::NoSuchProcess {
            pid: self.pid(),
            name: None,
        })?;
        let set = rustix::thread::sched_getaffinity(Some(pid))
            .map_err(|e| self.syscall_error("sched_getaffinity", e.into()))?;
        self.check_same()?;
        Ok((0..rustix::thread::CpuSet::MAX_CPU)
            .filter(|&cpu| set.is_set(cpu))
            .map(|cpu| cpu as u32)
            .collect())
    }

    /// Maps an error of a syscall made by pid: ESRCH is a gone process, EPERM/EACCES a denial.
    fn syscall_error(&self, call: &str, err: io::Error) -> Error {
        match err.raw_os_error() {
            Some(libc::ESRCH) => Error::NoSuchProcess {
                pid: self.pid(),
                name: None,
            },
            _ => Error::from_io(Some(self.pid()), call, err),
        }
    }

    /// Fails with [`Error::NoSuchProcess`] if the handle's process is gone (so the pid a syscall
    /// just answered for may belong to someone else).
    fn check_same(&self) -> Result<()> {
        if self.alive() {
            Ok(())
        } else {
            Err(Error::NoSuchProcess {
                pid: self.pid(),
                name: None,
            })
        }
    }
}
