//! What memsight reads from a `kinfo_proc`: identity, parent, ids, state.

use super::layout::{KinfoProc, P_TRANSLATED};
use super::records::{ProcessStatus, c_chars, convert_status};
use crate::process::{Gids, Uids};

/// The `kinfo_proc` fields memsight uses, converted.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Kinfo {
    pub pid: u32,
    pub ppid: u32,
    /// `p_comm`: the first 16 bytes of the executable's name.
    pub comm: String,
    pub status: ProcessStatus,
    pub uids: Uids,
    pub gids: Gids,
    /// `p_starttime` as `(seconds, microseconds)`: the process's identity with its pid.
    pub start: (i64, i32),
    /// The process runs x86_64 code under Rosetta (`P_TRANSLATED`).
    pub translated: bool,
}

/// Reads a `kinfo_proc` the way psutil does (`proc_utils.c`, `_psosx.py`).
pub(crate) fn kinfo(k: &KinfoProc) -> Kinfo {
    let p = &k.kp_proc;
    let e = &k.kp_eproc;
    Kinfo {
        pid: p.p_pid as u32,
        ppid: e.e_ppid as u32,
        comm: c_chars(&p.p_comm),
        status: convert_status(p.p_stat, p.p_flag, e.e_flag),
        uids: Uids {
            real: e.e_pcred.p_ruid,
            effective: e.e_ucred.cr_uid,
            saved: e.e_pcred.p_svuid,
        },
        gids: Gids {
            real: e.e_pcred.p_rgid,
            effective: e.e_ucred.cr_groups[0],
            saved: e.e_pcred.p_svgid,
        },
        start: (p.p_starttime.tv_sec, p.p_starttime.tv_usec),
        translated: p.p_flag & P_TRANSLATED != 0,
    }
}

#[cfg(test)]
mod tests {
    use super::super::layout::{EPROC_SLEADER, SRUN, SZOMB, Timeval};
    use super::*;

    #[test]
    fn fields_come_from_their_places() {
        let mut k = KinfoProc::zeroed();
        k.kp_proc.p_pid = 4242;
        k.kp_proc.p_stat = SRUN;
        k.kp_proc.p_flag = P_TRANSLATED;
        k.kp_proc.p_comm[..4].copy_from_slice(b"bash");
        k.kp_proc.p_starttime = Timeval {
            tv_sec: 1_700_000_000,
            tv_usec: 500_000,
        };
        k.kp_eproc.e_ppid = 1;
        k.kp_eproc.e_pcred.p_ruid = 501;
        k.kp_eproc.e_ucred.cr_uid = 0;
        k.kp_eproc.e_pcred.p_svuid = 502;
        k.kp_eproc.e_pcred.p_rgid = 20;
        k.kp_eproc.e_ucred.cr_groups[0] = 80;
        k.kp_eproc.e_pcred.p_svgid = 21;
        let i = kinfo(&k);
        assert_eq!((i.pid, i.ppid, i.comm.as_str()), (4242, 1, "bash"));
        assert_eq!(i.status, ProcessStatus::Running);
        assert_eq!((i.uids.real, i.uids.effective, i.uids.saved), (501, 0, 502));
        assert_eq!((i.gids.real, i.gids.effective, i.gids.saved), (20, 80, 21));
        assert_eq!(i.start, (1_700_000_000, 500_000));
        assert!(i.translated);
        k.kp_proc.p_stat = SZOMB;
        k.kp_eproc.e_flag = EPROC_SLEADER;
        assert_eq!(kinfo(&k).status, ProcessStatus::Zombie);
    }
}
