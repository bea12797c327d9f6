//! Process memory: `statm` (memory_info), `status` (memory_info_ex), `smaps_rollup` or `smaps`
//! (memory_full_info, memory_footprint) and memory_percent.

use crate::error::Result;
use crate::process::MemoryFootprint;
use crate::sys::process::MemType;
use crate::sys::process::Process;
use crate::sys::procfs::{self, smaps, statm};
use crate::sys::system::page_size;

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
    /// Backs [`crate::Process::memory_info`], where it is documented with every OS's source.
    pub fn memory_info(&self) -> Result<MemoryInfo> {
        let s = self.read_file("statm", statm::parse)?;
        let page = page_size();
        Ok(MemoryInfo {
            rss: s.resident.saturating_mul(page),
            vms: s.size.saturating_mul(page),
            shared: s.shared.saturating_mul(page),
            text: s.text.saturating_mul(page),
            lib: s.lib.saturating_mul(page),
            data: s.data.saturating_mul(page),
            dirty: s.dt.saturating_mul(page),
        })
    }
}

/// [`MemoryInfo`] plus the figures of `/proc/PID/status`, in bytes (the file's kB × 1024). psutil
/// 8's `memory_info_ex`. A line the kernel does not print (kernel threads and zombies print none,
/// kernels before 4.5 no `RssAnon`...) gives 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MemoryInfoEx {
    /// The [`MemoryInfo`] figures (statm), flattened: their keys come first in JSON, and
    /// `ex.rss` reads them through `Deref`.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub memory: MemoryInfo,
    /// Peak resident set size (status `VmHWM`).
    pub peak_rss: u64,
    /// Peak virtual memory size (status `VmPeak`).
    pub peak_vms: u64,
    /// Resident anonymous memory (status `RssAnon`, Linux 4.5+).
    pub rss_anon: u64,
    /// Resident file mappings (status `RssFile`, Linux 4.5+).
    pub rss_file: u64,
    /// Resident shared memory: shmem, tmpfs, SysV shm (status `RssShmem`, Linux 4.5+).
    pub rss_shmem: u64,
    /// Swapped-out anonymous memory, shmem swap not included (status `VmSwap`).
    pub swap: u64,
    /// hugetlbfs memory, not counted in rss (status `HugetlbPages`, Linux 4.4+).
    pub hugetlb: u64,
}

/// [`MemoryInfo`] plus USS, PSS and swap from `/proc/PID/smaps_rollup` (or `smaps`), in bytes.
/// psutil's `pfullmem`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MemoryFullInfo {
    /// The [`MemoryInfo`] figures (statm), flattened: their keys come first in JSON, and
    /// `full.rss` reads them through `Deref`.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub memory: MemoryInfo,
    /// Unique set size: memory that would be freed if the process exited now
    /// (`Private_Clean + Private_Dirty + Private_Hugetlb`). Can exceed rss for hugetlbfs users.
    pub uss: u64,
    /// Proportional set size: each resident page divided by the number of processes mapping it
    /// (`Pss`, without `SwapPss`).
    pub pss: u64,
    /// Swapped-out memory (`Swap`, never `SwapPss`).
    pub swap: u64,
}

crate::process::extends_memory_info!(MemoryInfoEx, MemoryFullInfo);

impl Process {
    /// Backs [`crate::Process::memory_info_ex`], where it is documented with every OS's source.
    pub fn memory_info_ex(&self) -> Result<MemoryInfoEx> {
        let m = self.memory_info()?;
        let s = self.status_file()?;
        let or0 = |v: Option<u64>| v.unwrap_or(0);
        Ok(MemoryInfoEx {
            memory: m,
            peak_rss: or0(s.vm_hwm),
            peak_vms: or0(s.vm_peak),
            rss_anon: or0(s.rss_anon),
            rss_file: or0(s.rss_file),
            rss_shmem: or0(s.rss_shmem),
            swap: or0(s.vm_swap),
            hugetlb: or0(s.hugetlb_pages),
        })
    }

    /// Backs [`crate::Process::memory_full_info`], where it is documented with every OS's source.
    pub fn memory_full_info(&self) -> Result<MemoryFullInfo> {
        let m = self.memory_info()?;
        let f = self.footprint()?;
        Ok(MemoryFullInfo {
            memory: m,
            uss: f.uss,
            pss: f.pss,
            swap: f.swap,
        })
    }

    /// Backs [`crate::Process::memory_footprint`], where it is documented with every OS's source.
    pub fn memory_footprint(&self) -> Result<MemoryFootprint> {
        let f = self.footprint()?;
        Ok(MemoryFootprint {
            uss: f.uss,
            pss: f.pss,
            swap: f.swap,
        })
    }

    /// USS, PSS and swap: smaps_rollup, or smaps when the rollup gives ESRCH/ENOENT.
    pub(crate) fn footprint(&self) -> Result<smaps::Footprint> {
        let rollup = procfs::with_buffer(|buf| match self.read_into("smaps_rollup", buf) {
            Ok(()) => Some(smaps::footprint(buf).map_err(|e| e.at(self.path("smaps_rollup")))),
            Err(e) if matches!(e.raw_os_error(), Some(libc::ESRCH | libc::ENOENT)) => None,
            Err(e) => Some(Err(self.error_for("smaps_rollup", e))),
        });
        match rollup {
            Some(result) => result,
            None => self.read_file("smaps", smaps::footprint),
        }
    }

    /// The [`MemType`] field of [`memory_info`](Self::memory_info),
    /// [`memory_info_ex`](Self::memory_info_ex) or [`memory_footprint`](Self::memory_footprint)
    /// (only the record named is read), for the neutral `memory_percent`.
    pub(crate) fn memory_value(&self, memtype: MemType) -> Result<u64> {
        Ok(match memtype {
            MemType::Uss | MemType::Pss | MemType::Swap => {
                let f = self.footprint()?;
                match memtype {
                    MemType::Uss => f.uss,
                    MemType::Pss => f.pss,
                    _ => f.swap,
                }
            }
            MemType::PeakRss
            | MemType::PeakVms
            | MemType::RssAnon
            | MemType::RssFile
            | MemType::RssShmem
            | MemType::Hugetlb => {
                let m = self.memory_info_ex()?;
                match memtype {
                    MemType::PeakRss => m.peak_rss,
                    MemType::PeakVms => m.peak_vms,
                    MemType::RssAnon => m.rss_anon,
                    MemType::RssFile => m.rss_file,
                    MemType::RssShmem => m.rss_shmem,
                    _ => m.hugetlb,
                }
            }
            _ => {
                let m = self.memory_info()?;
                match memtype {
                    MemType::Rss => m.rss,
                    MemType::Vms => m.vms,
                    MemType::Shared => m.shared,
                    MemType::Text => m.text,
                    MemType::Lib => m.lib,
                    MemType::Data => m.data,
                    _ => m.dirty,
                }
            }
        })
    }

    /// Total RAM for `memory_percent`: `virtual_memory().total` under the same procfs root.
    pub(crate) fn total_ram(&self) -> Result<u64> {
        Ok(self.procfs().virtual_memory()?.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 16] = [
        "rss",
        "vms",
        "shared",
        "text",
        "lib",
        "data",
        "dirty",
        "peak_rss",
        "peak_vms",
        "rss_anon",
        "rss_file",
        "rss_shmem",
        "hugetlb",
        "uss",
        "pss",
        "swap",
    ];

    /// The extended records hold a `MemoryInfo` but serialize flat, in psutil's field order.
    #[cfg(feature = "serde")]
    #[test]
    fn extended_records_serialize_flat_in_psutils_order() {
        let object = |names: &[&str]| {
            let fields: Vec<String> = names.iter().map(|n| format!("\"{n}\":0")).collect();
            format!("{{{}}}", fields.join(","))
        };
        let ex = MemoryInfoEx {
            memory: MemoryInfo {
                rss: 7,
                ..MemoryInfo::default()
            },
            ..MemoryInfoEx::default()
        };
        assert_eq!(ex.rss, 7, "read through Deref");
        let mut ex_names: Vec<&str> = NAMES[..12].to_vec();
        ex_names.extend(["swap", "hugetlb"]);
        assert_eq!(
            serde_json::to_string(&ex).unwrap_or_default(),
            object(&ex_names).replacen("\"rss\":0", "\"rss\":7", 1)
        );
        let full_names: Vec<&str> = NAMES[..7].iter().chain(&NAMES[13..]).copied().collect();
        assert_eq!(
            serde_json::to_string(&MemoryFullInfo::default()).unwrap_or_default(),
            object(&full_names)
        );
    }

    #[test]
    fn memtype_parses_every_field_of_the_three_records() {
        for name in NAMES {
            assert!(name.parse::<MemType>().is_ok(), "{name}");
        }
        assert!("wset".parse::<MemType>().is_err());
    }

    #[cfg(feature = "serde")]
    #[test]
    fn memtype_serializes_to_psutil_names() {
        for name in NAMES {
            let parsed: MemType = name.parse().unwrap();
            assert_eq!(serde_json::to_value(parsed).unwrap(), name);
        }
    }
}
