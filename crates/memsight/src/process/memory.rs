//! Process memory: `statm` (memory_info).

use crate::error::Result;
use crate::process::Process;
use crate::procfs::statm;
use crate::system::page_size;

/// Memory figures from `/proc/PID/statm`, in bytes (pages × the page size). psutil's `pmem`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MemoryInfo {
    /// Resident set size (statm `resident`; `ps -o rss`, top's RES): anonymous, file-backed and
    /// shmem pages in RAM.
    pub rss: u64,
    /// Virtual memory size (statm `size`; `ps -o vsz`, top's VIRT).
    pub vms: u64,
    /// Resident file-backed and shmem pages (statm `shared`; top's SHR). Not "actually shared".
    pub shared: u64,
    /// Program code (statm `text`; top's CODE).
    pub text: u64,
    /// Always 0 since Linux 2.6 (statm `lib`); kept for psutil compatibility.
    pub lib: u64,
    /// Data plus stack (statm `data`; top's DATA).
    pub data: u64,
    /// Always 0 since Linux 2.6 (statm `dt`); kept for psutil compatibility.
    pub dirty: u64,
}

impl Process {
    /// RSS, VMS and the other `statm` figures, in bytes. Readable for every user's processes;
    /// zombies and kernel threads give all zeros, as in psutil.
    pub fn memory_info(&self) -> Result<MemoryInfo> {
        let s = self.read_file("statm", statm::parse)?;
        let page = page_size();
        Ok(MemoryInfo {
            rss: s.resident * page,
            vms: s.size * page,
            shared: s.shared * page,
            text: s.text * page,
            lib: s.lib * page,
            data: s.data * page,
            dirty: s.dt * page,
        })
    }
}
