//! A process's threads: `/proc/PID/task/TID/stat`.

use crate::error::Result;
use crate::sys::process::Process;
use crate::sys::process::stat::clock_ticks;
use crate::sys::procfs::{self, pid_stat};

/// One thread and the CPU time it used, in seconds. psutil's `pthread`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Thread {
    /// The thread id (TID; the main thread's equals the pid).
    pub id: u32,
    /// Time in user mode (`task/TID/stat` utime / CLK_TCK).
    pub user_time: f64,
    /// Time in kernel mode (`task/TID/stat` stime / CLK_TCK).
    pub system_time: f64,
}

impl Process {
    /// Backs [`crate::Process::threads`], where it is documented with every OS's source.
    pub fn threads(&self) -> Result<Vec<Thread>> {
        let tids = self
            .list_numbers("task")
            .map_err(|e| self.error_for("task", e))?;
        let tck = clock_ticks();
        let mut threads = Vec::with_capacity(tids.len());
        let mut hit_enoent = false;
        for tid in tids {
            let name = format!("task/{tid}/stat");
            let stat = procfs::with_buffer(|buf| match self.read_into(&name, buf) {
                Ok(()) => Some(pid_stat::parse(buf).map_err(|e| e.at(self.path(&name)))),
                Err(_) => None,
            });
            match stat {
                Some(Ok(stat)) => threads.push(Thread {
                    id: tid,
                    user_time: stat.utime as f64 / tck,
                    system_time: stat.stime as f64 / tck,
                }),
                Some(Err(e)) => return Err(e),
                None => hit_enoent = true,
            }
        }
        if hit_enoent && !self.alive() {
            return Err(self.error_for("task", std::io::Error::from_raw_os_error(libc::ESRCH)));
        }
        Ok(threads)
    }
}
