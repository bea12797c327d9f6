//! Context switches: `/proc/PID/status` (the same read serves uids, gids and memory_info_ex under
//! [`Process::oneshot`]).

use crate::error::{Error, Result};
use crate::sys::process::Process;
use crate::sys::procfs::status;

/// Context switches since the process started (`/proc/PID/status`). psutil's `pctxsw`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CtxSwitches {
    /// `voluntary_ctxt_switches`: the process gave up the CPU (waiting for something).
    pub voluntary: u64,
    /// `nonvoluntary_ctxt_switches`: the scheduler took the CPU away.
    pub involuntary: u64,
}

impl Process {
    /// Backs [`crate::Process::num_ctx_switches`], where it is documented with every OS's source.
    pub fn num_ctx_switches(&self) -> Result<CtxSwitches> {
        let s = self.read_file("status", status::parse)?;
        match (s.voluntary_ctxt_switches, s.nonvoluntary_ctxt_switches) {
            (Some(voluntary), Some(involuntary)) => Ok(CtxSwitches {
                voluntary,
                involuntary,
            }),
            _ => Err(Error::Unsupported(format!(
                "no *_ctxt_switches lines in {}",
                self.path("status").display()
            ))),
        }
    }
}
