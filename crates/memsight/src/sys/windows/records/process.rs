//! Process records (psutil 8's Windows fields) and the pure readers behind them: the
//! `SystemProcessInformation` snapshot, thread states, the environment block and the command line.

use std::collections::BTreeMap;

use crate::neutral::ProcessStatus;

use super::filetime_secs;
use crate::neutral::maps::GroupableMap;

/// Memory figures of a process, in bytes: psutil 8's `pmem` on Windows, from
/// `GetProcessMemoryInfo` (`PROCESS_MEMORY_COUNTERS_EX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MemoryInfo {
    /// The working set (`WorkingSetSize`): pages resident in RAM.
    pub rss: u64,
    /// Private committed bytes (`PrivateUsage`, "private bytes" in Task Manager).
    pub vms: u64,
    /// The largest working set so far (`PeakWorkingSetSize`).
    pub peak_rss: u64,
    /// The largest private commit so far (`PeakPagefileUsage`).
    pub peak_vms: u64,
}

/// [`MemoryInfo`] plus psutil 8's `memory_info_ex` Windows fields, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MemoryInfoEx {
    /// The [`MemoryInfo`] figures, flattened: their keys come first in JSON, and `ex.rss` reads
    /// them through `Deref`.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub memory: MemoryInfo,
    /// Reserved address space (`VirtualSize` of the `SystemProcessInformation` snapshot).
    pub r#virtual: u64,
    /// The largest reserved address space so far (`PeakVirtualSize` of the snapshot).
    pub peak_virtual: u64,
    /// Paged pool charged to the process (`QuotaPagedPoolUsage`).
    pub paged_pool: u64,
    /// Non-paged pool charged to the process (`QuotaNonPagedPoolUsage`).
    pub nonpaged_pool: u64,
    /// The peak of `paged_pool` (`QuotaPeakPagedPoolUsage`).
    pub peak_paged_pool: u64,
    /// The peak of `nonpaged_pool` (`QuotaPeakNonPagedPoolUsage`).
    pub peak_nonpaged_pool: u64,
}

/// [`MemoryInfo`] plus USS, in bytes: psutil's `pfullmem` on Windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MemoryFullInfo {
    /// The [`MemoryInfo`] figures, flattened: their keys come first in JSON, and `full.rss`
    /// reads them through `Deref`.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub memory: MemoryInfo,
    /// Private working-set pages × the page size (`QueryWorkingSet`).
    pub uss: u64,
}

crate::process::extends_memory_info!(MemoryInfoEx, MemoryFullInfo);

/// One region of a process's address space that maps a file (`VirtualQueryEx` +
/// `GetMappedFileNameW`): psutil's `pmmap_ext` on Windows.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MemoryMap {
    /// The region's base address, `0x...`; empty when grouped by path.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "String::is_empty"))]
    pub addr: String,
    /// The protection in psutil's letters (`r`, `rw`, `wc`, `x`, `xr`, `xrw`, `xwc`, `?`);
    /// empty when grouped by path.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "String::is_empty"))]
    pub perms: String,
    /// The mapped file, as the NT device path `GetMappedFileNameW` gives.
    pub path: String,
    /// The region's resident bytes: its pages in the process's working set (`QueryWorkingSetEx`,
    /// `Valid` bit) × the page size, shared pages included; at most the region size. psutil
    /// reports the region size here (`RegionSize`, truncated to 32 bits); so does memsight, full
    /// 64 bits, where `QueryWorkingSetEx` refuses the process (Wine, for every process but the
    /// caller).
    pub rss: u64,
}

impl GroupableMap for MemoryMap {
    type Key = String;

    fn group_key(&self) -> &String {
        &self.path
    }

    fn add(&mut self, m: &MemoryMap) {
        self.rss = self.rss.saturating_add(m.rss);
    }

    fn forget_address(&mut self) {
        self.addr.clear();
        self.perms.clear();
    }
}

/// Seconds a process spent on the CPU (`GetProcessTimes`). psutil's `pcputimes` on Windows.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CpuTimes {
    /// Time in user mode (`lpUserTime`), seconds.
    pub user: f64,
    /// Time in kernel mode (`lpKernelTime`), seconds.
    pub system: f64,
    /// Always 0: Windows does not add children's times.
    pub children_user: f64,
    /// Always 0.
    pub children_system: f64,
}

/// I/O operations and bytes of a process since it started (`GetProcessIoCounters`). psutil's
/// `pio` on Windows: every read and write, not only storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct IoCounters {
    /// Read operations (`ReadOperationCount`).
    pub read_count: u64,
    /// Write operations (`WriteOperationCount`).
    pub write_count: u64,
    /// Bytes read (`ReadTransferCount`).
    pub read_bytes: u64,
    /// Bytes written (`WriteTransferCount`).
    pub write_bytes: u64,
    /// Other operations (`OtherOperationCount`).
    pub other_count: u64,
    /// Bytes of other operations (`OtherTransferCount`).
    pub other_bytes: u64,
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

#[cfg(test)]
mod tests {
    use super::super::{EPOCH_DIFFERENCE, filetime_to_unix};
    use super::*;
    use crate::neutral::{MemType, Os};

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
}
