//! Which figure `Process::memory_percent` divides by total RAM, on every OS.

use super::Os;
use crate::error::{Error, Result};

/// Which figure [`Process::memory_percent`](crate::Process::memory_percent) divides by total
/// RAM: psutil 8's names, the fields of the OS's `MemoryInfo`, `MemoryInfoEx` and footprint.
/// Each OS accepts only its own names, as psutil does: parsing another OS's name, or passing
/// its variant to `memory_percent`, is [`Error::Unsupported`].
///
/// | OS | names, in psutil's order |
/// | --- | --- |
/// | Linux | `rss vms shared text lib data dirty peak_rss peak_vms rss_anon rss_file rss_shmem hugetlb uss pss swap` |
/// | Windows | `rss vms peak_rss peak_vms virtual peak_virtual paged_pool nonpaged_pool peak_paged_pool peak_nonpaged_pool uss` |
/// | macOS | `rss vms peak_rss rss_anon rss_file wired compressed phys_footprint uss` |
/// | FreeBSD | `rss vms text data stack peak_rss` |
///
/// Serialised as the name (snake case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum MemType {
    /// `MemoryInfo::rss` (psutil's default), every OS.
    #[default]
    Rss,
    /// `MemoryInfo::vms`, every OS.
    Vms,
    /// Linux: `MemoryInfo::shared`.
    Shared,
    /// Linux and FreeBSD: `MemoryInfo::text`.
    Text,
    /// Linux: `MemoryInfo::lib` (always 0).
    Lib,
    /// Linux and FreeBSD: `MemoryInfo::data`.
    Data,
    /// Linux: `MemoryInfo::dirty` (always 0).
    Dirty,
    /// FreeBSD: `MemoryInfo::stack`.
    Stack,
    /// Peak RSS: Linux `MemoryInfoEx::peak_rss` (status `VmHWM`), Windows and FreeBSD
    /// `MemoryInfo::peak_rss`, macOS `MemoryInfoEx::peak_rss`.
    PeakRss,
    /// Peak VMS: Linux `MemoryInfoEx::peak_vms` (status `VmPeak`), Windows
    /// `MemoryInfo::peak_vms`.
    PeakVms,
    /// Linux and macOS: `MemoryInfoEx::rss_anon`.
    RssAnon,
    /// Linux and macOS: `MemoryInfoEx::rss_file`.
    RssFile,
    /// Linux: `MemoryInfoEx::rss_shmem` (status `RssShmem`).
    RssShmem,
    /// Linux: `MemoryInfoEx::hugetlb` (status `HugetlbPages`).
    Hugetlb,
    /// macOS: `MemoryInfoEx::wired`.
    Wired,
    /// macOS: `MemoryInfoEx::compressed`.
    Compressed,
    /// macOS: `MemoryInfoEx::phys_footprint`.
    PhysFootprint,
    /// Windows: `MemoryInfoEx::virtual`.
    Virtual,
    /// Windows: `MemoryInfoEx::peak_virtual`.
    PeakVirtual,
    /// Windows: `MemoryInfoEx::paged_pool`.
    PagedPool,
    /// Windows: `MemoryInfoEx::nonpaged_pool`.
    NonpagedPool,
    /// Windows: `MemoryInfoEx::peak_paged_pool`.
    PeakPagedPool,
    /// Windows: `MemoryInfoEx::peak_nonpaged_pool`.
    PeakNonpagedPool,
    /// The footprint's `uss` (Linux reads smaps_rollup, macOS walks the regions, Windows the
    /// working set); not FreeBSD.
    Uss,
    /// Linux: the footprint's `pss` (reads smaps_rollup).
    Pss,
    /// Linux: the footprint's `swap` (reads smaps_rollup; psutil takes `swap` from the
    /// footprint, not from `MemoryInfoEx::swap`).
    Swap,
}

const LINUX: &[MemType] = &[
    MemType::Rss,
    MemType::Vms,
    MemType::Shared,
    MemType::Text,
    MemType::Lib,
    MemType::Data,
    MemType::Dirty,
    MemType::PeakRss,
    MemType::PeakVms,
    MemType::RssAnon,
    MemType::RssFile,
    MemType::RssShmem,
    MemType::Hugetlb,
    MemType::Uss,
    MemType::Pss,
    MemType::Swap,
];

const WINDOWS: &[MemType] = &[
    MemType::Rss,
    MemType::Vms,
    MemType::PeakRss,
    MemType::PeakVms,
    MemType::Virtual,
    MemType::PeakVirtual,
    MemType::PagedPool,
    MemType::NonpagedPool,
    MemType::PeakPagedPool,
    MemType::PeakNonpagedPool,
    MemType::Uss,
];

const MACOS: &[MemType] = &[
    MemType::Rss,
    MemType::Vms,
    MemType::PeakRss,
    MemType::RssAnon,
    MemType::RssFile,
    MemType::Wired,
    MemType::Compressed,
    MemType::PhysFootprint,
    MemType::Uss,
];

const FREEBSD: &[MemType] = &[
    MemType::Rss,
    MemType::Vms,
    MemType::Text,
    MemType::Data,
    MemType::Stack,
    MemType::PeakRss,
];

impl MemType {
    /// psutil's name for it: `rss`, `peak_rss`, `phys_footprint`, … (what `FromStr` accepts).
    pub fn as_str(self) -> &'static str {
        match self {
            MemType::Rss => "rss",
            MemType::Vms => "vms",
            MemType::Shared => "shared",
            MemType::Text => "text",
            MemType::Lib => "lib",
            MemType::Data => "data",
            MemType::Dirty => "dirty",
            MemType::Stack => "stack",
            MemType::PeakRss => "peak_rss",
            MemType::PeakVms => "peak_vms",
            MemType::RssAnon => "rss_anon",
            MemType::RssFile => "rss_file",
            MemType::RssShmem => "rss_shmem",
            MemType::Hugetlb => "hugetlb",
            MemType::Wired => "wired",
            MemType::Compressed => "compressed",
            MemType::PhysFootprint => "phys_footprint",
            MemType::Virtual => "virtual",
            MemType::PeakVirtual => "peak_virtual",
            MemType::PagedPool => "paged_pool",
            MemType::NonpagedPool => "nonpaged_pool",
            MemType::PeakPagedPool => "peak_paged_pool",
            MemType::PeakNonpagedPool => "peak_nonpaged_pool",
            MemType::Uss => "uss",
            MemType::Pss => "pss",
            MemType::Swap => "swap",
        }
    }

    /// The names `os` accepts, in psutil's order.
    pub(crate) fn on(os: Os) -> &'static [MemType] {
        match os {
            Os::Linux => LINUX,
            Os::Windows => WINDOWS,
            Os::Macos => MACOS,
            Os::FreeBsd => FREEBSD,
        }
    }

    /// `s` if it is one of `os`'s names, else [`Error::Unsupported`] listing them.
    pub(crate) fn parse_on(s: &str, os: Os) -> Result<MemType> {
        let names = MemType::on(os);
        names
            .iter()
            .copied()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                let list: Vec<&str> = names.iter().map(|t| t.as_str()).collect();
                Error::Unsupported(format!(
                    "memory type {s:?} (expected one of {})",
                    list.join(" ")
                ))
            })
    }

    /// `Ok` if this build's OS has the figure, else [`Error::Unsupported`]: a backend checks
    /// before it picks the field, so another OS's variant never reads as a wrong field.
    pub(crate) fn check_on(self, os: Os) -> Result<()> {
        if MemType::on(os).contains(&self) {
            Ok(())
        } else {
            Err(Error::Unsupported(format!(
                "memory type {:?} on this OS",
                self.as_str()
            )))
        }
    }
}

/// psutil's `memory_percent` arithmetic, every OS: `value / total × 100`, unrounded; a total of
/// 0 (psutil raises `ValueError`) is [`Error::Unsupported`].
pub(crate) fn percent_of_ram(value: u64, total: u64) -> Result<f64> {
    if total == 0 {
        return Err(Error::Unsupported("total RAM reads 0".to_string()));
    }
    Ok(value as f64 / total as f64 * 100.0)
}

impl std::str::FromStr for MemType {
    type Err = Error;

    /// Parses psutil 8's names for this OS (see the table on [`MemType`]).
    fn from_str(s: &str) -> Result<MemType> {
        MemType::parse_on(s, Os::HERE)
    }
}

impl std::fmt::Display for MemType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_os_parses_its_names_and_refuses_the_others() {
        for os in [Os::Linux, Os::Windows, Os::Macos, Os::FreeBsd] {
            for &t in MemType::on(os) {
                assert_eq!(MemType::parse_on(t.as_str(), os).ok(), Some(t));
                assert!(t.check_on(os).is_ok());
            }
        }
        assert!(MemType::parse_on("pss", Os::Macos).is_err());
        assert!(MemType::Pss.check_on(Os::Windows).is_err());
        assert!(matches!(
            MemType::parse_on("uss", Os::FreeBsd),
            Err(Error::Unsupported(_))
        ));
    }

    #[test]
    fn the_error_lists_the_os_names_in_psutils_order() {
        let e = MemType::parse_on("?!?", Os::FreeBsd)
            .err()
            .map(|e| e.to_string());
        let e = e.unwrap_or_default();
        assert!(
            e.contains("expected one of rss vms text data stack peak_rss)"),
            "{e}"
        );
    }

    #[test]
    fn percent_of_ram_is_unrounded_and_refuses_no_ram() {
        assert_eq!(percent_of_ram(1, 3).ok(), Some(1.0 / 3.0 * 100.0));
        assert_eq!(percent_of_ram(1, 8).ok(), Some(12.5));
        assert!(matches!(percent_of_ram(1, 0), Err(Error::Unsupported(_))));
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serialises_as_the_name() {
        for &t in LINUX.iter().chain(WINDOWS).chain(MACOS).chain(FREEBSD) {
            let json = serde_json::to_string(&t).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
        }
    }
}
