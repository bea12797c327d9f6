//! The kernel structs memsight declares itself because `libc` and `mach2` lack them, laid out as
//! the macOS SDK headers define them for 64-bit processes (x86_64 and arm64 share the layout:
//! LP64, natural alignment). Pointer fields are `usize`: the kernel fills them with addresses
//! memsight never follows. Every size and field offset is asserted at compile time against the
//! numbers worked out from the headers, on every 64-bit target (the Linux tests check them too).

/// `struct timeval` of 64-bit macOS: `tv_sec` is a `long`, `tv_usec` an `int` (padded to 16).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Timeval {
    pub tv_sec: i64,
    pub tv_usec: i32,
}

/// `struct extern_proc` (`<sys/proc.h>`), the first half of `kinfo_proc`. Its first member is a
/// union of two run-queue pointers and `p_starttime`; sysctl fills in the start time.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExternProc {
    pub p_starttime: Timeval,
    pub p_vmspace: usize,
    pub p_sigacts: usize,
    pub p_flag: i32,
    pub p_stat: i8,
    pub p_pid: i32,
    pub p_oppid: i32,
    pub p_dupfd: i32,
    pub user_stack: usize,
    pub exit_thread: usize,
    pub p_debugger: i32,
    pub sigwait: i32,
    pub p_estcpu: u32,
    pub p_cpticks: i32,
    pub p_pctcpu: u32,
    pub p_wchan: usize,
    pub p_wmesg: usize,
    pub p_swtime: u32,
    pub p_slptime: u32,
    pub p_realtimer: [Timeval; 2],
    pub p_rtime: Timeval,
    pub p_uticks: u64,
    pub p_sticks: u64,
    pub p_iticks: u64,
    pub p_traceflag: i32,
    pub p_tracep: usize,
    pub p_siglist: i32,
    pub p_textvp: usize,
    pub p_holdcnt: i32,
    pub p_sigmask: u32,
    pub p_sigignore: u32,
    pub p_sigcatch: u32,
    pub p_priority: u8,
    pub p_usrpri: u8,
    pub p_nice: i8,
    /// `MAXCOMLEN + 1` bytes, NUL-terminated unless full.
    pub p_comm: [u8; 17],
    pub p_pgrp: usize,
    pub p_addr: usize,
    pub p_xstat: u16,
    pub p_acflag: u16,
    pub p_ru: usize,
}

/// `struct _pcred` (`<sys/sysctl.h>`): the real and saved ids.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pcred {
    pub pc_lock: [u8; 72],
    pub pc_ucred: usize,
    pub p_ruid: u32,
    pub p_svuid: u32,
    pub p_rgid: u32,
    pub p_svgid: u32,
    pub p_refcnt: i32,
}

/// `struct _ucred` (`<sys/sysctl.h>`): the effective uid and the groups (`NGROUPS` = 16).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ucred {
    pub cr_ref: i32,
    pub cr_uid: u32,
    pub cr_ngroups: i16,
    pub cr_groups: [u32; 16],
}

/// `struct vmspace` (`<sys/vm.h>`), all dummies in user space.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Vmspace {
    pub dummy: i32,
    pub dummy2: usize,
    pub dummy3: [i32; 5],
    pub dummy4: [usize; 3],
}

/// `struct eproc` (`<sys/sysctl.h>`), the second half of `kinfo_proc`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Eproc {
    pub e_paddr: usize,
    pub e_sess: usize,
    pub e_pcred: Pcred,
    pub e_ucred: Ucred,
    pub e_vm: Vmspace,
    pub e_ppid: i32,
    pub e_pgid: i32,
    pub e_jobc: i16,
    pub e_tdev: i32,
    pub e_tpgid: i32,
    pub e_tsess: usize,
    pub e_wmesg: [u8; 8],
    pub e_xsize: i32,
    pub e_xrssize: i16,
    pub e_xccount: i16,
    pub e_xswrss: i16,
    pub e_flag: i32,
    pub e_login: [u8; 12],
    pub e_spare: [i32; 4],
}

/// `struct kinfo_proc` (`<sys/sysctl.h>`): what `sysctl({CTL_KERN, KERN_PROC, ...})` returns
/// per process, for any uid and for zombies.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct KinfoProc {
    pub kp_proc: ExternProc,
    pub kp_eproc: Eproc,
}

impl KinfoProc {
    /// An all-zero record, the buffer sysctl writes into.
    pub(crate) fn zeroed() -> KinfoProc {
        let tv = Timeval::default();
        KinfoProc {
            kp_proc: ExternProc {
                p_starttime: tv,
                p_vmspace: 0,
                p_sigacts: 0,
                p_flag: 0,
                p_stat: 0,
                p_pid: 0,
                p_oppid: 0,
                p_dupfd: 0,
                user_stack: 0,
                exit_thread: 0,
                p_debugger: 0,
                sigwait: 0,
                p_estcpu: 0,
                p_cpticks: 0,
                p_pctcpu: 0,
                p_wchan: 0,
                p_wmesg: 0,
                p_swtime: 0,
                p_slptime: 0,
                p_realtimer: [tv; 2],
                p_rtime: tv,
                p_uticks: 0,
                p_sticks: 0,
                p_iticks: 0,
                p_traceflag: 0,
                p_tracep: 0,
                p_siglist: 0,
                p_textvp: 0,
                p_holdcnt: 0,
                p_sigmask: 0,
                p_sigignore: 0,
                p_sigcatch: 0,
                p_priority: 0,
                p_usrpri: 0,
                p_nice: 0,
                p_comm: [0; 17],
                p_pgrp: 0,
                p_addr: 0,
                p_xstat: 0,
                p_acflag: 0,
                p_ru: 0,
            },
            kp_eproc: Eproc {
                e_paddr: 0,
                e_sess: 0,
                e_pcred: Pcred {
                    pc_lock: [0; 72],
                    pc_ucred: 0,
                    p_ruid: 0,
                    p_svuid: 0,
                    p_rgid: 0,
                    p_svgid: 0,
                    p_refcnt: 0,
                },
                e_ucred: Ucred {
                    cr_ref: 0,
                    cr_uid: 0,
                    cr_ngroups: 0,
                    cr_groups: [0; 16],
                },
                e_vm: Vmspace {
                    dummy: 0,
                    dummy2: 0,
                    dummy3: [0; 5],
                    dummy4: [0; 3],
                },
                e_ppid: 0,
                e_pgid: 0,
                e_jobc: 0,
                e_tdev: 0,
                e_tpgid: 0,
                e_tsess: 0,
                e_wmesg: [0; 8],
                e_xsize: 0,
                e_xrssize: 0,
                e_xccount: 0,
                e_xswrss: 0,
                e_flag: 0,
                e_login: [0; 12],
                e_spare: [0; 4],
            },
        }
    }
}

/// `struct proc_regioninfo` (`<sys/proc_info.h>`): one VM region of a process
/// (`proc_pidinfo(PROC_PIDREGIONINFO)`). Page counts are in the target's kernel pages.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ProcRegionInfo {
    pub pri_protection: u32,
    pub pri_max_protection: u32,
    pub pri_inheritance: u32,
    pub pri_flags: u32,
    pub pri_offset: u64,
    pub pri_behavior: u32,
    pub pri_user_wired_count: u32,
    pub pri_user_tag: u32,
    pub pri_pages_resident: u32,
    pub pri_pages_shared_now_private: u32,
    pub pri_pages_swapped_out: u32,
    pub pri_pages_dirtied: u32,
    pub pri_ref_count: u32,
    pub pri_shadow_depth: u32,
    pub pri_share_mode: u32,
    pub pri_private_pages_resident: u32,
    pub pri_shared_pages_resident: u32,
    pub pri_obj_id: u32,
    pub pri_depth: u32,
    pub pri_address: u64,
    pub pri_size: u64,
}

/// `p_stat` values (`<sys/proc.h>`).
pub(crate) const SIDL: i8 = 1;
pub(crate) const SRUN: i8 = 2;
pub(crate) const SSLEEP: i8 = 3;
pub(crate) const SSTOP: i8 = 4;
pub(crate) const SZOMB: i8 = 5;

/// `p_flag` bits (`<sys/proc.h>`).
pub(crate) const P_PPWAIT: i32 = 0x0000_0010;
pub(crate) const P_SYSTEM: i32 = 0x0000_0200;
pub(crate) const P_WEXIT: i32 = 0x0000_2000;
/// The process runs under Rosetta (x86_64 code on arm64).
pub(crate) const P_TRANSLATED: i32 = 0x0002_0000;
/// `e_flag`: the process leads its session (`<sys/sysctl.h>`).
pub(crate) const EPROC_SLEADER: i32 = 0x02;

/// `pri_share_mode` values (`<mach/vm_region.h>`).
pub(crate) const SM_COW: u32 = 1;
pub(crate) const SM_PRIVATE: u32 = 2;
pub(crate) const SM_LARGE_PAGE: u32 = 8;

/// `VM_PROT_*` bits of `pri_protection` (`<mach/vm_prot.h>`).
pub(crate) const VM_PROT_READ: u32 = 1;
pub(crate) const VM_PROT_WRITE: u32 = 2;
pub(crate) const VM_PROT_EXECUTE: u32 = 4;

#[cfg(target_pointer_width = "64")]
const _: () = {
    use std::mem::{offset_of, size_of};
    assert!(size_of::<Timeval>() == 16);
    assert!(size_of::<ExternProc>() == 296);
    assert!(offset_of!(ExternProc, p_flag) == 32);
    assert!(offset_of!(ExternProc, p_stat) == 36);
    assert!(offset_of!(ExternProc, p_pid) == 40);
    assert!(offset_of!(ExternProc, user_stack) == 56);
    assert!(offset_of!(ExternProc, p_wchan) == 96);
    assert!(offset_of!(ExternProc, p_realtimer) == 120);
    assert!(offset_of!(ExternProc, p_uticks) == 168);
    assert!(offset_of!(ExternProc, p_traceflag) == 192);
    assert!(offset_of!(ExternProc, p_holdcnt) == 224);
    assert!(offset_of!(ExternProc, p_priority) == 240);
    assert!(offset_of!(ExternProc, p_comm) == 243);
    assert!(offset_of!(ExternProc, p_pgrp) == 264);
    assert!(offset_of!(ExternProc, p_xstat) == 280);
    assert!(offset_of!(ExternProc, p_ru) == 288);
    assert!(size_of::<Pcred>() == 104);
    assert!(offset_of!(Pcred, p_ruid) == 80);
    assert!(size_of::<Ucred>() == 76);
    assert!(offset_of!(Ucred, cr_groups) == 12);
    assert!(size_of::<Vmspace>() == 64);
    assert!(size_of::<Eproc>() == 352);
    assert!(size_of::<KinfoProc>() == 648);
    assert!(offset_of!(KinfoProc, kp_eproc) == 296);
    // Offsets inside kinfo_proc, as the header's layout gives them.
    assert!(296 + offset_of!(Eproc, e_pcred) == 312);
    assert!(296 + offset_of!(Eproc, e_ucred) == 416);
    assert!(296 + offset_of!(Eproc, e_vm) == 496);
    assert!(296 + offset_of!(Eproc, e_ppid) == 560);
    assert!(296 + offset_of!(Eproc, e_tdev) == 572);
    assert!(296 + offset_of!(Eproc, e_tsess) == 584);
    assert!(296 + offset_of!(Eproc, e_flag) == 612);
    assert!(296 + offset_of!(Eproc, e_spare) == 628);
    assert!(size_of::<ProcRegionInfo>() == 96);
    assert!(offset_of!(ProcRegionInfo, pri_offset) == 16);
    assert!(offset_of!(ProcRegionInfo, pri_ref_count) == 52);
    assert!(offset_of!(ProcRegionInfo, pri_share_mode) == 60);
    assert!(offset_of!(ProcRegionInfo, pri_private_pages_resident) == 64);
    assert!(offset_of!(ProcRegionInfo, pri_shared_pages_resident) == 68);
    assert!(offset_of!(ProcRegionInfo, pri_address) == 80);
    assert!(offset_of!(ProcRegionInfo, pri_size) == 88);
};
