//! What a process is doing, in psutil's words, on every OS.

/// A process's scheduling state: psutil 8's `STATUS_*` constants. Each OS produces only some of
/// them (the variant says which); the backends' own readings are `/proc/PID/stat` field 3 on
/// Linux, `ki_stat` on FreeBSD, psutil's `convert_status` over `kinfo_proc` on macOS, and the
/// threads' wait reasons on Windows.
///
/// Serialised and printed ([`as_str`](Self::as_str), `Display`) as psutil's string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum ProcessStatus {
    /// `running`. Linux `R` (running or runnable); FreeBSD and macOS `SRUN` (on macOS nearly
    /// every live process); Windows: at least one thread is not suspended.
    Running,
    /// `sleeping`. Linux `S` (interruptible sleep); FreeBSD `SSLEEP` (sleeping on an address);
    /// macOS `SSLEEP`, which psutil also says of a session leader.
    Sleeping,
    /// `disk-sleep`. Linux only: `D`, uninterruptible sleep, usually I/O.
    DiskSleep,
    /// `stopped`. Linux `T` (stopped by a signal); FreeBSD and macOS `SSTOP` (a signal or a
    /// debugger); Windows: every thread waits with reason `Suspended` (or there are none).
    Stopped,
    /// `tracing-stop`. Linux only: `t`, stopped by a debugger.
    TracingStop,
    /// `zombie`. Linux `Z`, FreeBSD and macOS `SZOMB`: exited, not yet reaped by its parent.
    Zombie,
    /// `dead`. Linux only: `X` or `x`.
    Dead,
    /// `wake-kill`. Linux only: `K` (Linux 2.6.33 to 3.13).
    WakeKill,
    /// `waking`. Linux only: `W` (Linux 2.6.33 to 3.13).
    Waking,
    /// `idle`. Linux `I`: idle kernel thread (Linux 4.14 and later); FreeBSD `SIDL`: being
    /// created by `fork`; macOS `SIDL`: being created, or a system process, one exiting, or a
    /// parent waiting on `vfork` (psutil's reading of `P_SYSTEM | P_WEXIT | P_PPWAIT`).
    Idle,
    /// `parked`. Linux only: `P` (Linux 3.9 to 3.13).
    Parked,
    /// `waiting`. FreeBSD only: `SWAIT`, waiting for an interrupt (interrupt threads).
    Waiting,
    /// `locked`. FreeBSD only: `SLOCK`, blocked on a lock.
    Locked,
    /// `?`: a state this version does not know (Linux, FreeBSD, macOS).
    #[cfg_attr(feature = "serde", serde(rename = "?"))]
    Unknown,
}

impl ProcessStatus {
    /// psutil's word for it: `running`, `sleeping`, `disk-sleep`, `stopped`, `tracing-stop`,
    /// `zombie`, `dead`, `wake-kill`, `waking`, `idle`, `parked`, `waiting`, `locked`, or `?`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProcessStatus::Running => "running",
            ProcessStatus::Sleeping => "sleeping",
            ProcessStatus::DiskSleep => "disk-sleep",
            ProcessStatus::Stopped => "stopped",
            ProcessStatus::TracingStop => "tracing-stop",
            ProcessStatus::Zombie => "zombie",
            ProcessStatus::Dead => "dead",
            ProcessStatus::WakeKill => "wake-kill",
            ProcessStatus::Waking => "waking",
            ProcessStatus::Idle => "idle",
            ProcessStatus::Parked => "parked",
            ProcessStatus::Waiting => "waiting",
            ProcessStatus::Locked => "locked",
            ProcessStatus::Unknown => "?",
        }
    }
}

impl std::fmt::Display for ProcessStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::ProcessStatus;

    const ALL: [ProcessStatus; 14] = [
        ProcessStatus::Running,
        ProcessStatus::Sleeping,
        ProcessStatus::DiskSleep,
        ProcessStatus::Stopped,
        ProcessStatus::TracingStop,
        ProcessStatus::Zombie,
        ProcessStatus::Dead,
        ProcessStatus::WakeKill,
        ProcessStatus::Waking,
        ProcessStatus::Idle,
        ProcessStatus::Parked,
        ProcessStatus::Waiting,
        ProcessStatus::Locked,
        ProcessStatus::Unknown,
    ];

    #[test]
    fn display_is_psutils_string() {
        for s in ALL {
            assert_eq!(s.to_string(), s.as_str());
        }
        assert_eq!(ProcessStatus::DiskSleep.to_string(), "disk-sleep");
        assert_eq!(ProcessStatus::Unknown.to_string(), "?");
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serialises_as_display() {
        for s in ALL {
            let json = serde_json::to_string(&s).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
    }
}
