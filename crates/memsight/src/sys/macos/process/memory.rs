//! Memory of a process on macOS: `proc_pidinfo` (task info, regions), `task_info(TASK_VM_INFO)`
//! on the task port, `proc_pid_rusage`.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use mach2::kern_return::KERN_SUCCESS;
use mach2::mach_port::mach_port_deallocate;
use mach2::port::{MACH_PORT_NULL, mach_port_t};
use mach2::task_info::{TASK_VM_INFO, task_vm_info};
use mach2::traps::{mach_task_self, task_for_pid};

use super::super::ffi::{
    PROC_PIDREGIONINFO, PROC_PIDREGIONPATHINFO, ProcRegionWithPathInfo, vip_path,
};
use super::super::pure::errors::task_port_error;
use super::super::pure::layout::ProcRegionInfo;
use super::super::pure::records::perms;
use super::super::pure::uss::{self, Arch};
use super::super::{errno, kernel_page_size, system};
use super::{MemType, MemoryFullInfo, MemoryInfo, MemoryInfoEx, MemoryMap, Process};
use crate::error::{Error, Result};
use crate::neutral::maps::group_maps;
use crate::process::MemoryFootprint;

/// How long `task_for_pid` may take before memsight gives up with AccessDenied: the call can
/// block on the `taskgated` upcall (psutil #2885).
const TASK_FOR_PID_TIMEOUT: Duration = Duration::from_secs(1);

/// The architecture of the native shared region of this build.
const NATIVE: Arch = if cfg!(target_arch = "aarch64") {
    Arch::Arm64
} else {
    Arch::X86_64
};

/// What the `task_for_pid` thread hands back: whether it answered, the port it got, and whether
/// the caller stopped waiting (then the thread releases the port itself).
#[derive(Default)]
struct Handoff {
    done: bool,
    port: Option<mach_port_t>,
    abandoned: bool,
}

/// A task port: the caller's own (not to be released) or one `task_for_pid` gave.
struct TaskPort {
    port: mach_port_t,
    owned: bool,
}

impl Drop for TaskPort {
    fn drop(&mut self) {
        if self.owned {
            // SAFETY: a send right task_for_pid gave us, released once.
            unsafe { mach_port_deallocate(mach_task_self(), self.port) };
        }
    }
}

impl Process {
    /// Backs [`crate::Process::memory_info`], where it is documented with every OS's source.
    pub fn memory_info(&self) -> Result<MemoryInfo> {
        let t = self.task_info()?;
        Ok(MemoryInfo {
            rss: t.pti_resident_size,
            vms: t.pti_virtual_size,
        })
    }

    /// The task port: the caller's own for itself; else psutil's pre-check (another user's
    /// process without root is AccessDenied at once), then `task_for_pid` in a helper thread
    /// given [`TASK_FOR_PID_TIMEOUT`], so a blocked call never hangs the caller.
    fn task_port(&self) -> Result<TaskPort> {
        if self.pid == std::process::id() {
            return Ok(TaskPort {
                // SAFETY: reads the caller's own task port, which needs no release.
                port: unsafe { mach_task_self() },
                owned: false,
            });
        }
        // SAFETY: geteuid has no preconditions.
        let euid = unsafe { libc::geteuid() };
        if euid != 0 && self.kinfo()?.uids.effective != euid {
            return Err(task_port_error(self.pid, self.state()));
        }
        let pid = self.pid as libc::c_int;
        let shared = Arc::new((Mutex::new(Handoff::default()), Condvar::new()));
        let theirs = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("memsight-task-for-pid".into())
            .spawn(move || {
                let mut port: mach_port_t = MACH_PORT_NULL;
                // SAFETY: `port` is a local out-parameter.
                let kr = unsafe { task_for_pid(mach_task_self(), pid, &mut port) };
                let got = (kr == KERN_SUCCESS).then_some(port);
                let (lock, ready) = &*theirs;
                let mut slot = lock.lock().unwrap_or_else(PoisonError::into_inner);
                if slot.abandoned {
                    if let Some(port) = got {
                        // The caller gave up waiting: release the port it will never use.
                        // SAFETY: a send right we own, released once.
                        unsafe { mach_port_deallocate(mach_task_self(), port) };
                    }
                    return;
                }
                slot.done = true;
                slot.port = got;
                ready.notify_one();
            })
            .map_err(|e| Error::call_failed("task_for_pid", e))?;
        let (lock, ready) = &*shared;
        let slot = lock.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut slot, _) = ready
            .wait_timeout_while(slot, TASK_FOR_PID_TIMEOUT, |s| !s.done)
            .unwrap_or_else(PoisonError::into_inner);
        // Under the lock: either the answer is here, or the thread will see `abandoned`.
        slot.abandoned = !slot.done;
        let port = slot.port.take();
        drop(slot);
        match port {
            Some(port) => Ok(TaskPort { port, owned: true }),
            None => Err(task_port_error(self.pid, self.state())),
        }
    }

    /// `task_info(TASK_VM_INFO)` on the task port.
    fn task_vm_info(&self) -> Result<task_vm_info> {
        let task = self.task_port()?;
        let mut info = task_vm_info::default();
        let mut count = (std::mem::size_of::<task_vm_info>() / 4) as u32;
        // SAFETY: `info` has `count` writable 4-byte words; the port is a live send right. A
        // kernel with an older revision fills fewer words and lowers `count`; the rest stays 0.
        let kr = unsafe {
            mach2::task::task_info(task.port, TASK_VM_INFO, (&raw mut info).cast(), &mut count)
        };
        if kr != KERN_SUCCESS {
            return Err(Error::call_failed(
                "task_info TASK_VM_INFO",
                std::io::Error::other(format!("kern_return_t {kr}")),
            ));
        }
        self.checked(info)
    }

    /// Wired bytes (`proc_pid_rusage(RUSAGE_INFO_V0).ri_wired_size`), 0 when the call fails (as
    /// psutil).
    fn wired(&self) -> u64 {
        // SAFETY: rusage_info_v0 is plain data; the call writes at most its size for V0.
        unsafe {
            let mut ri: libc::rusage_info_v0 = std::mem::zeroed();
            let rc = libc::proc_pid_rusage(
                self.pid as libc::c_int,
                libc::RUSAGE_INFO_V0,
                (&raw mut ri).cast(),
            );
            if rc == 0 { ri.ri_wired_size } else { 0 }
        }
    }

    /// Backs [`crate::Process::memory_info_ex`], where it is documented with every OS's source.
    pub fn memory_info_ex(&self) -> Result<MemoryInfoEx> {
        let m = self.memory_info()?;
        let vm = self.task_vm_info()?;
        Ok(MemoryInfoEx {
            memory: m,
            peak_rss: vm.resident_size_peak,
            rss_anon: vm.internal,
            rss_file: vm.external,
            wired: self.wired(),
            compressed: vm.compressed,
            phys_footprint: vm.phys_footprint,
        })
    }

    /// The region set and page size of this process: Rosetta (x86_64) processes have the x86_64
    /// shared region and 4 KiB pages; native ones this build's and the kernel's page size.
    fn region_layout(&self) -> Result<(Arch, u64)> {
        Ok(if self.kinfo()?.translated {
            (Arch::X86_64, 4096)
        } else {
            (NATIVE, kernel_page_size())
        })
    }

    /// Walks the regions with `flavor` into `T`: the first failure is mapped as psutil's
    /// `psutil_raise_for_pid`; a later one is the end of the address space.
    fn regions<T: Copy>(
        &self,
        flavor: libc::c_int,
        zero: T,
        info: impl Fn(&T) -> ProcRegionInfo,
        mut f: impl FnMut(&T),
    ) -> Result<()> {
        let mut first = true;
        uss::walk(
            |addr| {
                let size = std::mem::size_of::<T>() as libc::c_int;
                let mut value = zero;
                // SAFETY: `value` is a live, writable `T` of `size` bytes.
                let ret = unsafe {
                    libc::proc_pidinfo(
                        self.pid as libc::c_int,
                        flavor,
                        addr,
                        (&raw mut value).cast(),
                        size,
                    )
                };
                if ret <= 0 {
                    return if first {
                        Err(self.fail("proc_pidinfo (regions)", errno()))
                    } else {
                        Ok(None)
                    };
                }
                if ret != size {
                    return Err(self.fail("proc_pidinfo (regions, short answer)", 0));
                }
                first = false;
                Ok(Some(value))
            },
            info,
            &mut f,
        )?;
        self.checked(())
    }

    /// Backs [`crate::Process::memory_footprint`], where it is documented with every OS's source.
    pub fn memory_footprint(&self) -> Result<MemoryFootprint> {
        let (arch, page) = self.region_layout()?;
        let mut pages = 0u64;
        self.regions(
            PROC_PIDREGIONINFO,
            ProcRegionInfo::default(),
            |r| *r,
            |r| pages = pages.saturating_add(uss::private_pages(r, arch)),
        )?;
        Ok(MemoryFootprint {
            uss: pages.saturating_mul(page),
        })
    }

    /// Backs [`crate::Process::memory_full_info`], where it is documented with every OS's source.
    pub fn memory_full_info(&self) -> Result<MemoryFullInfo> {
        let m = self.memory_info()?;
        let f = self.memory_footprint()?;
        Ok(MemoryFullInfo {
            memory: m,
            uss: f.uss,
        })
    }

    /// The [`MemType`] field of `memory_info`, `memory_info_ex` or `memory_footprint` (only the
    /// record named is read), for the neutral `memory_percent`.
    pub(crate) fn memory_value(&self, memtype: MemType) -> Result<u64> {
        Ok(match memtype {
            MemType::Uss => self.memory_footprint()?.uss,
            MemType::Rss => self.memory_info()?.rss,
            MemType::Vms => self.memory_info()?.vms,
            _ => {
                let m = self.memory_info_ex()?;
                match memtype {
                    MemType::PeakRss => m.peak_rss,
                    MemType::RssAnon => m.rss_anon,
                    MemType::RssFile => m.rss_file,
                    MemType::Wired => m.wired,
                    MemType::Compressed => m.compressed,
                    _ => m.phys_footprint,
                }
            }
        })
    }

    /// Total RAM for `memory_percent`: `hw.memsize`.
    pub(crate) fn total_ram(&self) -> Result<u64> {
        system::total_memory()
    }

    /// Backs [`crate::Process::memory_maps`], where it is documented with every OS's source.
    pub fn memory_maps(&self, grouped: bool) -> Result<Vec<MemoryMap>> {
        let (_, page) = self.region_layout()?;
        // SAFETY: the struct is plain data; all-zero is valid.
        let zero: ProcRegionWithPathInfo = unsafe { std::mem::zeroed() };
        let mut maps = Vec::new();
        self.regions(
            PROC_PIDREGIONPATHINFO,
            zero,
            |r| r.prp_prinfo,
            |r| {
                let i = &r.prp_prinfo;
                let path = vip_path(&r.prp_vip);
                let path = if path.as_os_str().is_empty() {
                    "[anon]".to_string()
                } else {
                    path.to_string_lossy().into_owned()
                };
                let bytes = |pages: u32| u64::from(pages).saturating_mul(page);
                maps.push(MemoryMap {
                    addr: format!(
                        "{:#x}-{:#x}",
                        i.pri_address,
                        i.pri_address.saturating_add(i.pri_size)
                    ),
                    perms: perms(i.pri_protection),
                    path,
                    size: i.pri_size,
                    rss: bytes(i.pri_pages_resident),
                    private: bytes(i.pri_private_pages_resident),
                    swap: bytes(i.pri_pages_swapped_out),
                    ref_count: u64::from(i.pri_ref_count),
                    shadow_depth: u64::from(i.pri_shadow_depth),
                });
            },
        )?;
        Ok(if grouped { group_maps(maps) } else { maps })
    }
}
