//! The getters served by `/proc/PID/stat` (one read under [`Process::oneshot`]): ppid, status,
//! create_time, cpu_times, cpu_num, nice, terminal, num_threads, page_faults.

use std::path::PathBuf;

use crate::error::Result;
use crate::process::ProcessStatus;
use crate::sys::process::Process;
use crate::sys::procfs::pid_stat::{self, PidStat};

impl ProcessStatus {
    /// The status for a `/proc/PID/stat` state letter (Linux).
    pub fn from_letter(letter: u8) -> ProcessStatus {
        match letter {
            b'R' => ProcessStatus::Running,
            b'S' => ProcessStatus::Sleeping,
            b'D' => ProcessStatus::DiskSleep,
            b'T' => ProcessStatus::Stopped,
            b't' => ProcessStatus::TracingStop,
            b'Z' => ProcessStatus::Zombie,
            b'X' | b'x' => ProcessStatus::Dead,
            b'K' => ProcessStatus::WakeKill,
            b'W' => ProcessStatus::Waking,
            b'I' => ProcessStatus::Idle,
            b'P' => ProcessStatus::Parked,
            _ => ProcessStatus::Unknown,
        }
    }
}

/// CPU time a process has used, in seconds (`/proc/PID/stat` clock ticks divided by
/// `sysconf(_SC_CLK_TCK)`). psutil's `pcputimes`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CpuTimes {
    /// Time in user mode (field 14, utime).
    pub user: f64,
    /// Time in kernel mode (field 15, stime).
    pub system: f64,
    /// User time of waited-for children (field 16, cutime).
    pub children_user: f64,
    /// System time of waited-for children (field 17, cstime).
    pub children_system: f64,
    /// Time waiting for block I/O (field 42, delayacct_blkio_ticks; 0 without delay accounting).
    pub iowait: f64,
}

/// Page faults since the process started (`/proc/PID/stat` fields 10 and 12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct PageFaults {
    /// Minor faults: served without reading from disk (minflt).
    pub minor: u64,
    /// Major faults: needed a read from disk or swap (majflt).
    pub major: u64,
}

/// Clock ticks per second, `sysconf(_SC_CLK_TCK)` (100 on every Linux memsight knows).
pub(crate) fn clock_ticks() -> f64 {
    rustix::param::clock_ticks_per_second() as f64
}

impl Process {
    /// `/proc/PID/stat`, parsed (cached under [`Process::oneshot`]).
    pub(crate) fn stat(&self) -> Result<PidStat> {
        let stat = self.read_file("stat", pid_stat::parse)?;
        self.note_start_ticks(stat.starttime);
        Ok(stat)
    }

    /// Backs [`crate::Process::ppid`], where it is documented with every OS's source.
    pub fn ppid(&self) -> Result<u32> {
        Ok(self.stat()?.ppid)
    }

    /// Backs [`crate::Process::status`], where it is documented with every OS's source.
    pub fn status(&self) -> Result<ProcessStatus> {
        Ok(ProcessStatus::from_letter(self.stat()?.state))
    }

    /// Backs [`crate::Process::create_time`], where it is documented with every OS's source.
    pub fn create_time(&self) -> Result<f64> {
        let start = self.start_ticks()? as f64 / clock_ticks();
        Ok(crate::sys::boot::boot_time_of(self.procfs())? + start)
    }

    /// Backs [`crate::Process::cpu_times`], where it is documented with every OS's source.
    pub fn cpu_times(&self) -> Result<CpuTimes> {
        let stat = self.stat()?;
        let tck = clock_ticks();
        Ok(CpuTimes {
            user: stat.utime as f64 / tck,
            system: stat.stime as f64 / tck,
            children_user: stat.cutime as f64 / tck,
            children_system: stat.cstime as f64 / tck,
            iowait: stat.delayacct_blkio_ticks as f64 / tck,
        })
    }

    /// Backs [`crate::Process::cpu_num`], where it is documented with every OS's source.
    pub fn cpu_num(&self) -> Result<u32> {
        Ok(u32::try_from(self.stat()?.processor).unwrap_or(u32::MAX))
    }

    /// Backs [`crate::Process::nice`], where it is documented with every OS's source.
    pub fn nice(&self) -> Result<i32> {
        Ok(i32::try_from(self.stat()?.nice).unwrap_or(0))
    }

    /// Backs [`crate::Process::num_threads`], where it is documented with every OS's source.
    pub fn num_threads(&self) -> Result<u64> {
        Ok(self.stat()?.num_threads)
    }

    /// Backs [`crate::Process::page_faults`], where it is documented with every OS's source.
    pub fn page_faults(&self) -> Result<PageFaults> {
        let stat = self.stat()?;
        Ok(PageFaults {
            minor: stat.minflt,
            major: stat.majflt,
        })
    }

    /// Backs [`crate::Process::terminal`], where it is documented with every OS's source.
    pub fn terminal(&self) -> Result<Option<PathBuf>> {
        let tty_nr = self.stat()?.tty_nr;
        Ok(terminal_path(tty_nr))
    }
}

/// Finds the `/dev` node whose device number is `tty_nr` (the kernel's `new_encode_dev` form).
fn terminal_path(tty_nr: u64) -> Option<PathBuf> {
    if tty_nr == 0 {
        return None;
    }
    let major = ((tty_nr >> 8) & 0xfff) as u32;
    let minor = ((tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00)) as u32;
    let matches = |path: &std::path::Path| {
        rustix::fs::stat(path).is_ok_and(|st| {
            rustix::fs::major(st.st_rdev) == major && rustix::fs::minor(st.st_rdev) == minor
        })
    };
    let guess = match major {
        136..=143 => Some(PathBuf::from(format!(
            "/dev/pts/{}",
            (major - 136) * 256 + minor
        ))),
        4 if minor < 64 => Some(PathBuf::from(format!("/dev/tty{minor}"))),
        4 => Some(PathBuf::from(format!("/dev/ttyS{}", minor - 64))),
        5 if minor == 1 => Some(PathBuf::from("/dev/console")),
        _ => None,
    };
    if let Some(path) = guess.filter(|p| matches(p)) {
        return Some(path);
    }
    // psutil's map: /dev/tty* then /dev/pts/*, the last match winning.
    let mut found = None;
    for dir in ["/dev", "/dev/pts"] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let wanted = dir == "/dev/pts" || name.as_encoded_bytes().starts_with(b"tty");
            if wanted && matches(&entry.path()) {
                found = Some(entry.path());
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_words_are_psutils() {
        let words: Vec<&str> = b"RSDTtZXxKWIPq"
            .iter()
            .map(|&l| ProcessStatus::from_letter(l).as_str())
            .collect();
        assert_eq!(
            words,
            [
                "running",
                "sleeping",
                "disk-sleep",
                "stopped",
                "tracing-stop",
                "zombie",
                "dead",
                "dead",
                "wake-kill",
                "waking",
                "idle",
                "parked",
                "?"
            ]
        );
    }

    #[test]
    fn no_terminal_for_zero() {
        assert_eq!(terminal_path(0), None);
    }
}
