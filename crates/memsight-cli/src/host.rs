//! What every command reads the OS through. On Linux that is the library's `ProcFs` (the `/proc`
//! and `/sys` roots of `--procfs`/`--sysfs`); elsewhere there is no root to choose, and [`Host`]
//! answers the same few calls from the library's OS-neutral functions, so a command is written
//! once over `host.pids()`, `host.process(pid)` and friends.

#[cfg(target_os = "linux")]
pub use memsight::linux::ProcFs as Host;

/// What the commands read the OS through outside Linux: the live system, nothing to choose.
#[cfg(not(target_os = "linux"))]
#[derive(Debug, Clone, Copy)]
pub struct Host;

#[cfg(not(target_os = "linux"))]
impl Host {
    /// Every pid (`memsight::pids`).
    pub fn pids(&self) -> memsight::Result<Vec<u32>> {
        memsight::pids()
    }

    /// One process (`memsight::Process::new`).
    pub fn process(&self, pid: u32) -> memsight::Result<memsight::Process> {
        memsight::Process::new(pid)
    }

    /// The memory of each process in `pids` (`memsight::memory_scan_pids`).
    pub fn memory_scan(&self, pids: &[u32]) -> memsight::MemoryScan {
        memsight::memory_scan_pids(pids)
    }

    /// psutil's `virtual_memory()` for this OS.
    pub fn virtual_memory(&self) -> memsight::Result<memsight::VirtualMemory> {
        memsight::virtual_memory()
    }

    /// psutil's `swap_memory()` for this OS.
    pub fn swap_memory(&self) -> memsight::Result<memsight::SwapMemory> {
        memsight::swap_memory()
    }
}

/// Whether `host` reads the live system (not a `--procfs` copy), where memsight's own process is
/// among those listed.
#[cfg(target_os = "linux")]
pub fn is_live(host: &Host) -> bool {
    host.proc_root() == std::path::Path::new("/proc")
}

/// Whether `host` reads the live system: always, outside Linux.
#[cfg(not(target_os = "linux"))]
pub fn is_live(_host: &Host) -> bool {
    true
}
