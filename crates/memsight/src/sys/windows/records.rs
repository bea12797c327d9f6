//! The Windows records (psutil 8's Windows fields) and the pure conversions that fill them from raw
//! API values. No FFI here: this module is also compiled into the Linux unit tests.

use crate::neutral::numbers::{percent, round1};
use std::collections::BTreeMap;

/// System memory, in bytes: psutil 8's `virtual_memory()` on Windows, from
/// `GetPerformanceInfo` (page counts × `PageSize`).
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct VirtualMemory {
    /// Physical memory (`PhysicalTotal`).
    pub total: u64,
    /// Memory available without paging out (`PhysicalAvailable`).
    pub available: u64,
    /// `used / total × 100`, rounded to one decimal.
    pub percent: f64,
    /// `total - available`.
    pub used: u64,
    /// The same as `available` (Windows has no separate figure; psutil's choice).
    pub free: u64,
    /// The system file cache (`SystemCache`).
    pub cached: u64,
    /// Non-paged kernel memory (`KernelNonpaged`), which can never be paged out.
    pub wired: u64,
}

/// Swap (the page files), in bytes: psutil 8's `swap_memory()` on Windows.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SwapMemory {
    /// `CommitLimit - PhysicalTotal` (`GetPerformanceInfo`): the page files' size.
    pub total: u64,
    /// `percent × total / 100`.
    pub used: u64,
    /// `total - used`.
    pub free: u64,
    /// The PDH counter `\Paging File(_Total)\% Usage`, rounded to one decimal; 0 when the counter
    /// cannot be read (no page file, counters disabled).
    pub percent: f64,
    /// Always 0: Windows does not count swap-ins.
    pub sin: u64,
    /// Always 0: Windows does not count swap-outs.
    pub sout: u64,
}

/// The `PERFORMANCE_INFORMATION` values psutil uses: page counts and the page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct PerfPages {
    pub page_size: u64,
    pub physical_total: u64,
    pub physical_available: u64,
    pub system_cache: u64,
    pub kernel_nonpaged: u64,
    pub commit_limit: u64,
}

/// psutil 8's `virtual_memory()` formulas.
pub(crate) fn virtual_memory(p: &PerfPages) -> VirtualMemory {
    let ps = p.page_size;
    let total = p.physical_total.saturating_mul(ps);
    let available = p.physical_available.saturating_mul(ps).min(total);
    let used = total - available;
    VirtualMemory {
        total,
        available,
        percent: percent(used, total),
        used,
        free: available,
        cached: p.system_cache.saturating_mul(ps),
        wired: p.kernel_nonpaged.saturating_mul(ps),
    }
}

/// psutil 8's `swap_memory()` formulas, `usage_percent` being the PDH counter's value.
pub(crate) fn swap_memory(p: &PerfPages, usage_percent: f64) -> SwapMemory {
    let total = p
        .commit_limit
        .saturating_mul(p.page_size)
        .saturating_sub(p.physical_total.saturating_mul(p.page_size));
    let (pct, used) = if total > 0 {
        let pct = usage_percent.clamp(0.0, 100.0);
        (pct, (0.01 * pct * total as f64) as u64)
    } else {
        (0.0, 0)
    };
    SwapMemory {
        total,
        used,
        free: total - used.min(total),
        percent: round1(pct),
        sin: 0,
        sout: 0,
    }
}

pub use crate::neutral::{MemType, ProcessStatus};

/// 100 ns intervals between 1601-01-01 (FILETIME's epoch) and 1970-01-01.
const EPOCH_DIFFERENCE: u64 = 116_444_736_000_000_000;

/// A FILETIME point in time as seconds since the Unix epoch (psutil's `create_time`).
pub(crate) fn filetime_to_unix(ft: u64) -> f64 {
    (ft as f64 - EPOCH_DIFFERENCE as f64) / 1e7
}

/// A FILETIME duration (100 ns units) in seconds.
pub(crate) fn filetime_secs(ft: u64) -> f64 {
    ft as f64 * 1e-7
}

/// The two halves of a `FILETIME` as one number.
pub(crate) fn filetime(low: u32, high: u32) -> u64 {
    (u64::from(high) << 32) | u64::from(low)
}

/// USS from a working-set walk (`PSAPI_WORKING_SET_BLOCK`s: `Protection:5 | ShareCount:3 |
/// Shared:1 | ...`): pages that are not shared, or shared by one process only, × the page size.
pub(crate) fn working_set_uss(blocks: &[usize], page_size: u64) -> u64 {
    let private = blocks
        .iter()
        .filter(|&&e| (e >> 8) & 1 == 0 || (e >> 5) & 7 <= 1)
        .count() as u64;
    private.saturating_mul(page_size)
}

/// USS from `QueryWorkingSetEx` attributes (`PSAPI_WORKING_SET_EX_BLOCK`: `Valid:1 |
/// ShareCount:3 | Win32Protection:11 | Shared:1 | ...`): resident pages not shared, or shared by one
/// process only, × the page size. The fallback where the working-set list cannot be read (Wine).
pub(crate) fn working_set_ex_uss(attributes: &[usize], page_size: u64) -> u64 {
    let private = attributes
        .iter()
        .filter(|&&a| a & 1 == 1 && ((a >> 15) & 1 == 0 || (a >> 1) & 7 <= 1))
        .count() as u64;
    private.saturating_mul(page_size)
}

/// Resident bytes from `QueryWorkingSetEx` attributes (`PSAPI_WORKING_SET_EX_BLOCK`, bit 0
/// `Valid`: the page is in the process's working set): the valid pages × the page size, shared
/// or not. A `memory_maps` region's `rss`.
pub(crate) fn working_set_ex_resident(
    attributes: impl IntoIterator<Item = usize>,
    page_size: u64,
) -> u64 {
    let valid = attributes.into_iter().filter(|&a| a & 1 == 1).count() as u64;
    valid.saturating_mul(page_size)
}

/// psutil's `prot()` letters for a `PAGE_*` protection.
pub(crate) fn prot(protect: u32) -> &'static str {
    match protect & 0xff {
        0x01 => "",
        0x02 => "r",
        0x04 => "rw",
        0x08 => "wc",
        0x10 => "x",
        0x20 => "xr",
        0x40 => "xrw",
        0x80 => "xwc",
        _ => "?",
    }
}

/// Whether a `MEMORY_BASIC_INFORMATION` region counts as `mmap_used` in psutil's `heap_info`:
/// committed, private, read-write at allocation, and not part of a heap.
pub(crate) fn is_virtual_alloc_region(
    state: u32,
    kind: u32,
    allocation_protect: u32,
    allocation_base: usize,
    heaps: &[usize],
) -> bool {
    const MEM_COMMIT: u32 = 0x1000;
    const MEM_PRIVATE: u32 = 0x2_0000;
    const PAGE_READWRITE: u32 = 0x04;
    state == MEM_COMMIT
        && kind == MEM_PRIVATE
        && allocation_protect & PAGE_READWRITE != 0
        && !heaps.contains(&allocation_base)
}

/// One process of a `SystemProcessInformation` snapshot, with the fields memsight reads.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct SnapshotProcess {
    pub pid: u32,
    pub ppid: u32,
    pub num_threads: u32,
    pub handle_count: u32,
    pub create_time: u64,
    pub virtual_size: u64,
    pub peak_virtual_size: u64,
    /// `(ThreadState, WaitReason)` of each thread.
    pub threads: Vec<(u32, u32)>,
    /// Each thread's id and times.
    pub thread_times: Vec<Thread>,
}

/// One thread of a process and the CPU time it used, in seconds. psutil's `pthread` on Windows,
/// from the `SYSTEM_THREAD_INFORMATION` entries of the process snapshot (the `UserTime` and
/// `KernelTime` that psutil reads with `GetThreadTimes`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Thread {
    /// The thread id (`ClientId.UniqueThread`).
    pub id: u32,
    /// Time in user mode (`UserTime`, 100 ns units), seconds.
    pub user_time: f64,
    /// Time in kernel mode (`KernelTime`), seconds.
    pub system_time: f64,
}

/// Reads a little-endian integer of `N` bytes at `at`.
fn le<const N: usize>(buf: &[u8], at: usize) -> Option<[u8; N]> {
    buf.get(at..at.checked_add(N)?)?.try_into().ok()
}

fn u32_at(buf: &[u8], at: usize) -> Option<u32> {
    le::<4>(buf, at).map(u32::from_le_bytes)
}

fn u64_at(buf: &[u8], at: usize) -> Option<u64> {
    le::<8>(buf, at).map(u64::from_le_bytes)
}

/// Byte offsets in the x64 (phnt) `SYSTEM_PROCESS_INFORMATION` and `SYSTEM_THREAD_INFORMATION`.
mod spi {
    pub const NEXT_ENTRY_OFFSET: usize = 0;
    pub const NUMBER_OF_THREADS: usize = 4;
    pub const CREATE_TIME: usize = 32;
    pub const UNIQUE_PROCESS_ID: usize = 80;
    pub const INHERITED_FROM: usize = 88;
    pub const HANDLE_COUNT: usize = 96;
    pub const PEAK_VIRTUAL_SIZE: usize = 112;
    pub const VIRTUAL_SIZE: usize = 120;
    pub const THREADS: usize = 256;
    pub const THREAD_SIZE: usize = 80;
    pub const THREAD_KERNEL_TIME: usize = 0;
    pub const THREAD_USER_TIME: usize = 8;
    pub const THREAD_UNIQUE_THREAD: usize = 48;
    pub const THREAD_STATE: usize = 68;
    pub const WAIT_REASON: usize = 72;
}

/// Walks a `NtQuerySystemInformation(SystemProcessInformation)` buffer by `NextEntryOffset`
/// (0 ends it). A truncated entry ends the walk instead of reading past the buffer.
pub(crate) fn parse_snapshot(buf: &[u8]) -> Vec<SnapshotProcess> {
    let mut out = Vec::new();
    let mut at = 0usize;
    loop {
        let entry = || -> Option<(SnapshotProcess, u32)> {
            let next = u32_at(buf, at + spi::NEXT_ENTRY_OFFSET)?;
            let num_threads = u32_at(buf, at + spi::NUMBER_OF_THREADS)?;
            let mut threads = Vec::new();
            let mut thread_times = Vec::new();
            for i in 0..num_threads as usize {
                let t = at + spi::THREADS + i * spi::THREAD_SIZE;
                threads.push((
                    u32_at(buf, t + spi::THREAD_STATE)?,
                    u32_at(buf, t + spi::WAIT_REASON)?,
                ));
                thread_times.push(Thread {
                    id: u64_at(buf, t + spi::THREAD_UNIQUE_THREAD)? as u32,
                    user_time: filetime_secs(u64_at(buf, t + spi::THREAD_USER_TIME)?),
                    system_time: filetime_secs(u64_at(buf, t + spi::THREAD_KERNEL_TIME)?),
                });
            }
            let p = SnapshotProcess {
                pid: u64_at(buf, at + spi::UNIQUE_PROCESS_ID)? as u32,
                ppid: u64_at(buf, at + spi::INHERITED_FROM)? as u32,
                num_threads,
                handle_count: u32_at(buf, at + spi::HANDLE_COUNT)?,
                create_time: u64_at(buf, at + spi::CREATE_TIME)?,
                virtual_size: u64_at(buf, at + spi::VIRTUAL_SIZE)?,
                peak_virtual_size: u64_at(buf, at + spi::PEAK_VIRTUAL_SIZE)?,
                threads,
                thread_times,
            };
            Some((p, next))
        }();
        let Some((p, next)) = entry else { break };
        out.push(p);
        if next == 0 {
            break;
        }
        at += next as usize;
    }
    out
}

/// psutil's status rule: STOPPED when every thread waits (state 5) for reason Suspended (5),
/// which includes a process with no threads; RUNNING otherwise.
pub(crate) fn status_from_threads(threads: &[(u32, u32)]) -> ProcessStatus {
    if threads
        .iter()
        .all(|&(state, reason)| state == 5 && reason == 5)
    {
        ProcessStatus::Stopped
    } else {
        ProcessStatus::Running
    }
}

/// psutil's `parse_environ_block`: `KEY=value` strings separated by NUL, ended by an empty one;
/// keys upper-cased (Windows variables are case-insensitive); `=C:`-style entries dropped.
pub(crate) fn parse_environ_block(block: &[u16]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for entry in block.split(|&c| c == 0) {
        if entry.is_empty() {
            break;
        }
        let entry = String::from_utf16_lossy(entry);
        // `=C:=C:\dir` entries start with '=': the search for '=' starts after the first char.
        let Some(eq) = entry.char_indices().skip(1).find(|&(_, c)| c == '=') else {
            continue;
        };
        if entry.starts_with('=') {
            continue;
        }
        out.insert(entry[..eq.0].to_uppercase(), entry[eq.0 + 1..].to_string());
    }
    out
}

/// Splits a command line as `CommandLineToArgvW` does: the program name runs to the next space,
/// or between quotes without escapes; then, in each argument, `2n` backslashes before a quote
/// give `n` backslashes and toggle quoting, `2n+1` give `n` and a literal quote, and `""` inside
/// quotes gives a literal quote.
pub(crate) fn split_command_line(line: &str) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    // The program name.
    let mut name = String::new();
    if chars.first() == Some(&'"') {
        i = 1;
        while i < chars.len() && chars[i] != '"' {
            name.push(chars[i]);
            i += 1;
        }
        i += 1;
    } else {
        while i < chars.len() && chars[i] != ' ' && chars[i] != '\t' {
            name.push(chars[i]);
            i += 1;
        }
    }
    out.push(name);
    loop {
        while i < chars.len() && (chars[i] == ' ' || chars[i] == '\t') {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let mut arg = String::new();
        let mut quoted = false;
        while i < chars.len() {
            let c = chars[i];
            if c == '\\' {
                let start = i;
                while i < chars.len() && chars[i] == '\\' {
                    i += 1;
                }
                let n = i - start;
                if i < chars.len() && chars[i] == '"' {
                    arg.extend(std::iter::repeat_n('\\', n / 2));
                    if n % 2 == 1 {
                        arg.push('"');
                        i += 1;
                    }
                } else {
                    arg.extend(std::iter::repeat_n('\\', n));
                }
                continue;
            }
            if c == '"' {
                if quoted && chars.get(i + 1) == Some(&'"') {
                    arg.push('"');
                    i += 2;
                    continue;
                }
                quoted = !quoted;
                i += 1;
                continue;
            }
            if !quoted && (c == ' ' || c == '\t') {
                break;
            }
            arg.push(c);
            i += 1;
        }
        out.push(arg);
    }
    out
}

/// The last component of a Windows path (after `\` or `/`).
pub(crate) fn basename(path: &str) -> &str {
    path.rsplit(['\\', '/']).next().unwrap_or(path)
}

/// I/O counters of one physical drive, or of all summed, since boot. psutil's `sdiskio` on
/// Windows, from `IOCTL_DISK_PERFORMANCE` (`DISK_PERFORMANCE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DiskIo {
    /// Reads completed (`ReadCount`, a 32-bit counter: `nowrap` keeps it growing).
    pub read_count: u64,
    /// Writes completed (`WriteCount`, 32-bit).
    pub write_count: u64,
    /// Bytes read (`BytesRead`).
    pub read_bytes: u64,
    /// Bytes written (`BytesWritten`).
    pub write_bytes: u64,
    /// Time spent reading, in milliseconds (`ReadTime`, 100 ns units).
    pub read_time: u64,
    /// Time spent writing, in milliseconds (`WriteTime`).
    pub write_time: u64,
}

impl DiskIo {
    /// The record of one `DISK_PERFORMANCE`'s values; negative 64-bit figures count as 0.
    pub(crate) fn from_performance(
        read_count: u32,
        write_count: u32,
        bytes: (i64, i64),
        times_100ns: (i64, i64),
    ) -> DiskIo {
        let non_negative = |v: i64| u64::try_from(v).unwrap_or(0);
        DiskIo {
            read_count: u64::from(read_count),
            write_count: u64::from(write_count),
            read_bytes: non_negative(bytes.0),
            write_bytes: non_negative(bytes.1),
            read_time: non_negative(times_100ns.0) / 10_000,
            write_time: non_negative(times_100ns.1) / 10_000,
        }
    }

    pub(crate) fn to_array(self) -> [u64; 6] {
        [
            self.read_count,
            self.write_count,
            self.read_bytes,
            self.write_bytes,
            self.read_time,
            self.write_time,
        ]
    }

    pub(crate) fn from_array(a: [u64; 6]) -> DiskIo {
        let [
            read_count,
            write_count,
            read_bytes,
            write_bytes,
            read_time,
            write_time,
        ] = a;
        DiskIo {
            read_count,
            write_count,
            read_bytes,
            write_bytes,
            read_time,
            write_time,
        }
    }
}

/// An address family of [`NicAddr`], serialized as psutil's number for it on Windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressFamily {
    /// `AF_INET` (2).
    Inet,
    /// `AF_INET6` (23 on Windows).
    Inet6,
    /// psutil's `AF_LINK` for the MAC address: -1 on Windows, which has no such family
    /// ([`AF_LINK`](crate::constants::AF_LINK)).
    Link,
}

impl AddressFamily {
    /// The number psutil gives this family on Windows.
    pub fn number(self) -> i32 {
        match self {
            AddressFamily::Inet => 2,
            AddressFamily::Inet6 => 23,
            // psutil's AF_LINK on Windows (`constants::AF_LINK` there); a literal, because this
            // module is also compiled into the Linux unit tests.
            AddressFamily::Link => -1,
        }
    }

    /// The constant's name, as Python prints it (`AF_INET`).
    pub fn name(self) -> &'static str {
        match self {
            AddressFamily::Inet => "AF_INET",
            AddressFamily::Inet6 => "AF_INET6",
            AddressFamily::Link => "AF_LINK",
        }
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for AddressFamily {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_i32(self.number())
    }
}

/// One address of a network adapter (`GetAdaptersAddresses`). psutil's `snicaddr` on Windows,
/// where broadcast and point-to-point addresses are never given.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct NicAddr {
    /// `AF_INET`, `AF_INET6`, or psutil's `AF_LINK` for the MAC address.
    pub family: AddressFamily,
    /// Dotted IPv4, IPv6 as `inet_ntop` writes it, or the MAC as upper-case hex octets joined by
    /// `-` (`00-15-5D-01-02-03`), psutil's Windows form.
    pub address: String,
    /// The netmask from the address's `OnLinkPrefixLength`, in the address's notation; `None` for
    /// the MAC.
    pub netmask: Option<String>,
    /// Always `None` on Windows (psutil's too).
    pub broadcast: Option<String>,
    /// Always `None` on Windows.
    pub ptp: Option<String>,
}

impl NicAddr {
    /// The MAC record: psutil's Windows text, each octet as two upper-case hex digits joined by
    /// `-`, and no netmask.
    pub(crate) fn mac(octets: &[u8]) -> NicAddr {
        let address = octets
            .iter()
            .map(|o| format!("{o:02X}"))
            .collect::<Vec<_>>()
            .join("-");
        NicAddr {
            family: AddressFamily::Link,
            address,
            netmask: None,
            broadcast: None,
            ptp: None,
        }
    }

    /// An IP address's record, with the netmask of its prefix length.
    pub(crate) fn ip(ip: std::net::IpAddr, prefix: u8) -> NicAddr {
        let (family, netmask) = match ip {
            std::net::IpAddr::V4(_) => (AddressFamily::Inet, ipv4_netmask(prefix).to_string()),
            std::net::IpAddr::V6(_) => (AddressFamily::Inet6, ipv6_netmask(prefix).to_string()),
        };
        NicAddr {
            family,
            address: ip.to_string(),
            netmask: Some(netmask),
            broadcast: None,
            ptp: None,
        }
    }
}

/// The IPv4 netmask of a prefix length (`ConvertLengthToIpv4Mask`): 24 gives `255.255.255.0`;
/// lengths above 32 count as 32.
pub(crate) fn ipv4_netmask(prefix: u8) -> std::net::Ipv4Addr {
    let bits = u32::from(prefix.min(32));
    std::net::Ipv4Addr::from(u32::MAX.checked_shl(32 - bits).unwrap_or(0))
}

/// The IPv6 netmask of a prefix length: 64 gives `ffff:ffff:ffff:ffff::`; above 128 counts as 128.
pub(crate) fn ipv6_netmask(prefix: u8) -> std::net::Ipv6Addr {
    let bits = u32::from(prefix.min(128));
    std::net::Ipv6Addr::from(u128::MAX.checked_shl(128 - bits).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neutral::Os;

    fn perf() -> PerfPages {
        PerfPages {
            page_size: 4096,
            physical_total: 1000,
            physical_available: 250,
            system_cache: 100,
            kernel_nonpaged: 10,
            commit_limit: 1500,
        }
    }

    #[test]
    fn virtual_memory_follows_psutil() {
        let m = virtual_memory(&perf());
        assert_eq!(m.total, 4_096_000);
        assert_eq!(m.available, 1_024_000);
        assert_eq!(m.free, m.available);
        assert_eq!(m.used, 3_072_000);
        assert_eq!(m.percent, 75.0);
        assert_eq!(m.cached, 409_600);
        assert_eq!(m.wired, 40_960);
        assert_eq!(virtual_memory(&PerfPages::default()).percent, 0.0);
    }

    #[test]
    fn swap_is_commit_limit_minus_ram_with_pdh_percent() {
        let s = swap_memory(&perf(), 12.34);
        assert_eq!(s.total, 500 * 4096);
        assert_eq!(s.used, (0.01 * 12.34 * (500.0 * 4096.0)) as u64);
        assert_eq!(s.free, s.total - s.used);
        assert_eq!(s.percent, 12.3);
        let none = swap_memory(
            &PerfPages {
                commit_limit: 1000,
                ..perf()
            },
            50.0,
        );
        assert_eq!((none.total, none.used, none.percent), (0, 0, 0.0));
    }

    #[test]
    fn filetimes() {
        assert_eq!(filetime_to_unix(EPOCH_DIFFERENCE), 0.0);
        assert_eq!(filetime_to_unix(EPOCH_DIFFERENCE + 15_000_000), 1.5);
        assert_eq!(filetime_secs(25_000_000), 2.5);
        assert_eq!(filetime(1, 2), (2 << 32) | 1);
    }

    #[test]
    fn uss_counts_unshared_and_singly_shared_pages() {
        let private = 0x1000;
        let shared_by_one = 0x2000 | (1 << 8) | (1 << 5);
        let shared_by_three = 0x3000 | (1 << 8) | (3 << 5);
        let blocks = [private, shared_by_one, shared_by_three];
        assert_eq!(working_set_uss(&blocks, 4096), 2 * 4096);
    }

    #[test]
    fn uss_from_working_set_ex_counts_valid_private_pages() {
        let private = 1;
        let not_resident = 0;
        let shared_by_one = 1 | (1 << 15) | (1 << 1);
        let shared_by_two = 1 | (1 << 15) | (2 << 1);
        let attrs = [private, not_resident, shared_by_one, shared_by_two];
        assert_eq!(working_set_ex_uss(&attrs, 4096), 2 * 4096);
    }

    #[test]
    fn resident_counts_valid_pages_shared_or_not() {
        let private = 1;
        let not_resident = 0;
        // Valid | ShareCount 3 | Shared: a DLL page shared with others is still resident.
        let shared_by_three = 1 | (3 << 1) | (1 << 15);
        // Shared but not valid: paged out.
        let shared_paged_out = (1 << 15) | (2 << 1);
        let attrs = [private, not_resident, shared_by_three, shared_paged_out];
        assert_eq!(working_set_ex_resident(attrs, 4096), 2 * 4096);
        assert_eq!(working_set_ex_resident([], 4096), 0);
        assert_eq!(working_set_ex_resident([1, 1, 1], 65536), 3 * 65536);
        assert_eq!(working_set_ex_resident([1, 1], u64::MAX), u64::MAX);
    }

    #[test]
    fn prot_letters() {
        assert_eq!(prot(0x01), "");
        assert_eq!(prot(0x04), "rw");
        assert_eq!(prot(0x20 | 0x100), "xr");
        assert_eq!(prot(0x80), "xwc");
        assert_eq!(prot(0x03), "?");
    }

    #[test]
    fn virtual_alloc_regions_exclude_heaps_and_images() {
        assert!(is_virtual_alloc_region(
            0x1000,
            0x2_0000,
            0x04,
            0x5000,
            &[0x1000]
        ));
        assert!(!is_virtual_alloc_region(
            0x1000,
            0x2_0000,
            0x04,
            0x1000,
            &[0x1000]
        ));
        assert!(!is_virtual_alloc_region(
            0x2000,
            0x2_0000,
            0x04,
            0x5000,
            &[]
        ));
        assert!(!is_virtual_alloc_region(
            0x1000,
            0x100_0000,
            0x04,
            0x5000,
            &[]
        ));
        assert!(!is_virtual_alloc_region(
            0x1000,
            0x2_0000,
            0x02,
            0x5000,
            &[]
        ));
    }

    fn snapshot_entry(pid: u64, ppid: u64, threads: &[(u32, u32)], last: bool) -> Vec<u8> {
        let len = spi::THREADS + threads.len() * spi::THREAD_SIZE;
        let mut b = vec![0u8; len];
        let next = if last { 0 } else { len as u32 };
        b[0..4].copy_from_slice(&next.to_le_bytes());
        b[4..8].copy_from_slice(&(threads.len() as u32).to_le_bytes());
        b[32..40].copy_from_slice(&(EPOCH_DIFFERENCE + 10_000_000).to_le_bytes());
        b[80..88].copy_from_slice(&pid.to_le_bytes());
        b[88..96].copy_from_slice(&ppid.to_le_bytes());
        b[96..100].copy_from_slice(&7u32.to_le_bytes());
        b[112..120].copy_from_slice(&(1u64 << 33).to_le_bytes());
        b[120..128].copy_from_slice(&(1u64 << 32).to_le_bytes());
        for (i, (state, reason)) in threads.iter().enumerate() {
            let t = spi::THREADS + i * spi::THREAD_SIZE;
            b[t + 68..t + 72].copy_from_slice(&state.to_le_bytes());
            b[t + 72..t + 76].copy_from_slice(&reason.to_le_bytes());
            // Thread 1000 + i: 2.5 s in the kernel, 0.5 s × (i + 1) in user mode.
            b[t..t + 8].copy_from_slice(&25_000_000u64.to_le_bytes());
            b[t + 8..t + 16].copy_from_slice(&(5_000_000 * (i as u64 + 1)).to_le_bytes());
            b[t + 48..t + 56].copy_from_slice(&(1000 + i as u64).to_le_bytes());
        }
        b
    }

    #[test]
    fn snapshot_walk_reads_each_entry_and_stops_at_truncation() {
        let mut buf = snapshot_entry(4, 0, &[(2, 0)], false);
        buf.extend(snapshot_entry(500, 4, &[(5, 5), (5, 5)], true));
        let procs = parse_snapshot(&buf);
        assert_eq!(procs.len(), 2);
        assert_eq!(procs[1].pid, 500);
        assert_eq!(procs[1].ppid, 4);
        assert_eq!(procs[1].num_threads, 2);
        assert_eq!(procs[1].handle_count, 7);
        assert_eq!(procs[1].virtual_size, 1 << 32);
        assert_eq!(procs[1].peak_virtual_size, 1 << 33);
        assert_eq!(filetime_to_unix(procs[1].create_time), 1.0);
        assert_eq!(
            status_from_threads(&procs[1].threads),
            ProcessStatus::Stopped
        );
        assert_eq!(
            status_from_threads(&procs[0].threads),
            ProcessStatus::Running
        );
        assert_eq!(status_from_threads(&[]), ProcessStatus::Stopped);
        let t = &procs[1].thread_times;
        assert_eq!(
            (t[0].id, t[0].user_time, t[0].system_time),
            (1000, 0.5, 2.5)
        );
        assert_eq!((t[1].id, t[1].user_time), (1001, 1.0));
        // An entry cut short is dropped, not read past the end.
        let cut = &buf[..buf.len() - 10];
        assert_eq!(parse_snapshot(cut).len(), 1);
        assert!(parse_snapshot(&[]).is_empty());
    }

    #[test]
    fn environ_block_uppercases_keys_and_drops_drive_entries() {
        let text = "=C:=C:\\dir\0Path=C:\\bin\0memsight_Test=a=b\0\0junk\0";
        let block: Vec<u16> = text.encode_utf16().collect();
        let env = parse_environ_block(&block);
        assert_eq!(env.len(), 2);
        assert_eq!(env["PATH"], "C:\\bin");
        assert_eq!(env["MEMSIGHT_TEST"], "a=b");
    }

    #[test]
    fn command_line_splits_like_command_line_to_argv() {
        let split = split_command_line;
        assert_eq!(
            split(r#""C:\Program Files\x.exe" a b"#),
            [r"C:\Program Files\x.exe", "a", "b"]
        );
        assert_eq!(split(r#"x.exe "a b" c\d"#), ["x.exe", "a b", r"c\d"]);
        assert_eq!(
            split(r#"x.exe a\\\"b "c\\" d"#),
            ["x.exe", r#"a\"b"#, r"c\", "d"]
        );
        assert_eq!(split(r#"x.exe "a""b""#), ["x.exe", r#"a"b"#]);
        assert_eq!(split("x.exe  "), ["x.exe"]);
        assert_eq!(split(""), [""]);
    }

    #[test]
    fn basename_takes_either_separator() {
        assert_eq!(basename(r"C:\Windows\notepad.exe"), "notepad.exe");
        assert_eq!(basename("a/b.exe"), "b.exe");
        assert_eq!(basename("b.exe"), "b.exe");
    }

    #[test]
    fn memtype_parses_psutil_windows_names() {
        for name in [
            "rss",
            "vms",
            "peak_rss",
            "peak_vms",
            "virtual",
            "peak_virtual",
            "paged_pool",
            "nonpaged_pool",
            "peak_paged_pool",
            "peak_nonpaged_pool",
            "uss",
        ] {
            assert!(MemType::parse_on(name, Os::Windows).is_ok(), "{name}");
        }
        assert!(MemType::parse_on("pss", Os::Windows).is_err());
    }

    #[test]
    fn status_names() {
        assert_eq!(ProcessStatus::Running.as_str(), "running");
        assert_eq!(ProcessStatus::Stopped.as_str(), "stopped");
    }

    #[test]
    fn netmasks_and_macs_as_psutil_writes_them() {
        assert_eq!(ipv4_netmask(24).to_string(), "255.255.255.0");
        assert_eq!(ipv4_netmask(8).to_string(), "255.0.0.0");
        assert_eq!(ipv4_netmask(0).to_string(), "0.0.0.0");
        assert_eq!(ipv4_netmask(32).to_string(), "255.255.255.255");
        assert_eq!(ipv4_netmask(200).to_string(), "255.255.255.255");
        assert_eq!(ipv4_netmask(20).to_string(), "255.255.240.0");
        assert_eq!(ipv6_netmask(64).to_string(), "ffff:ffff:ffff:ffff::");
        assert_eq!(
            ipv6_netmask(128).to_string(),
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
        );
        assert_eq!(ipv6_netmask(0).to_string(), "::");
        assert_eq!(ipv6_netmask(10).to_string(), "ffc0::");
        let mac = NicAddr::mac(&[0, 0x15, 0x5d, 1, 0xab, 0xff]);
        assert_eq!(
            (mac.family, mac.address.as_str(), mac.netmask),
            (AddressFamily::Link, "00-15-5D-01-AB-FF", None)
        );
        let v4 = NicAddr::ip([192, 0, 2, 2].into(), 24);
        assert_eq!(v4.family, AddressFamily::Inet);
        assert_eq!(
            (v4.address.as_str(), v4.netmask.as_deref()),
            ("192.0.2.2", Some("255.255.255.0"))
        );
        let v6 = NicAddr::ip("fe80::1".parse().unwrap(), 64);
        assert_eq!(v6.family, AddressFamily::Inet6);
        assert_eq!(v6.netmask.as_deref(), Some("ffff:ffff:ffff:ffff::"));
        assert_eq!(AddressFamily::Link.number(), -1);
        assert_eq!([v4.family, v6.family].map(AddressFamily::number), [2, 23]);
        assert_eq!(AddressFamily::Inet6.name(), "AF_INET6");
    }

    #[test]
    fn disk_performance_to_bytes_and_milliseconds() {
        // 1.5 s reading (15,000,000 × 100 ns), 20 ms writing.
        let d = DiskIo::from_performance(7, u32::MAX, (4096, -1), (15_000_000, 200_000));
        assert_eq!(d.to_array(), [7, u64::from(u32::MAX), 4096, 0, 1500, 20]);
        assert_eq!(DiskIo::from_array(d.to_array()), d);
    }
}
