//! `memsight maps PID`: a process's memory mappings, laid out like `pmap -x` (sizes in KiB, a
//! total line), or psutil's `memory_maps()` records with `--json`, on every OS.
//!
//! The layout is one; the size columns are each OS's ([`columns`]): Linux has smaps' size, RSS,
//! PSS, dirty and swap per mapping; Windows the regions that map a file (`VirtualQueryEx` and
//! `GetMappedFileNameW`), each with its size; macOS (`proc_pidinfo` regions) and FreeBSD
//! (`kern.proc.vmmap`) every mapping, its size from the `start-end` address range and its resident
//! size. The JSON keeps each OS's own keys (grouped records have no `addr` or `perms`).

use std::io::Write;

use memsight::{MemoryMap, Process};

use crate::Host;
use crate::output::{self, sanitize};

/// Options of `memsight maps`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The process id.
    pid: u32,
    /// One line per mapped path, sizes summed (psutil's `memory_maps(grouped=True)`).
    #[arg(long)]
    grouped: bool,
    /// Print the list of psutil `memory_maps` records (sizes in bytes; grouped records have no
    /// `addr` or `perms`).
    #[arg(long)]
    json: bool,
}

/// One size column: its header and its figure in bytes.
type Column = (&'static str, fn(&MemoryMap) -> u64);

/// The size columns Linux has: pmap `-x`'s per mapping, smem's per path.
#[cfg(target_os = "linux")]
fn columns(grouped: bool) -> &'static [Column] {
    fn dirty(m: &MemoryMap) -> u64 {
        m.shared_dirty.saturating_add(m.private_dirty)
    }
    if grouped {
        &[
            ("Kbytes", |m| m.size),
            ("RSS", |m| m.rss),
            ("PSS", |m| m.pss),
            ("Dirty", dirty),
            ("Swap", |m| m.swap),
        ]
    } else {
        &[("Kbytes", |m| m.size), ("RSS", |m| m.rss), ("Dirty", dirty)]
    }
}

/// The size column Windows has: the region's (or the path's) size.
#[cfg(windows)]
fn columns(_grouped: bool) -> &'static [Column] {
    &[("Kbytes", |m| m.rss)]
}

/// The size columns macOS and FreeBSD have: the size from the address range and the resident
/// size per mapping; the resident size per path (a grouped record has no range).
#[cfg(any(target_os = "macos", target_os = "freebsd"))]
fn columns(grouped: bool) -> &'static [Column] {
    if grouped {
        &[("RSS", |m| m.rss)]
    } else {
        &[("Kbytes", |m| range(&m.addr).1), ("RSS", |m| m.rss)]
    }
}

/// The mappings and the command line of one process.
fn read(p: &Process, grouped: bool) -> memsight::Result<(Vec<MemoryMap>, String)> {
    let maps = p.memory_maps(grouped)?;
    let cmdline = match p.cmdline() {
        Ok(args) if !args.is_empty() => args.join(" "),
        _ => format!("[{}]", p.name().unwrap_or_default()),
    };
    Ok((maps, cmdline))
}

/// Runs `memsight maps`.
pub fn run(args: &Args, host: &Host, out: &mut impl Write) -> anyhow::Result<()> {
    let p = host.process(args.pid)?;
    // One reading of the process where the OS offers a cached scope for it.
    #[cfg(not(target_os = "macos"))]
    let (maps, cmdline) = p.oneshot(|p| read(p, args.grouped))?;
    #[cfg(target_os = "macos")]
    let (maps, cmdline) = read(&p, args.grouped)?;
    if args.json {
        output::write_json(out, &maps, false)?;
        return Ok(());
    }
    writeln!(out, "{}:   {}", args.pid, sanitize(&cmdline))?;
    write_table(out, &maps, args.grouped)?;
    Ok(())
}

/// pmap `-x`'s layout with this OS's size columns: per mapping the start address, the sizes
/// (KiB), the mode and the path; per path (grouped) the sizes and the path; then the totals.
fn write_table(out: &mut dyn Write, maps: &[MemoryMap], grouped: bool) -> std::io::Result<()> {
    let columns = columns(grouped);
    let kb = |n: u64| n / 1024;
    let totals: Vec<u64> = columns
        .iter()
        .map(|(_, of)| kb(maps.iter().map(of).fold(0, u64::saturating_add)))
        .collect();
    let cells = |width: usize, values: &mut dyn Iterator<Item = String>| {
        values
            .map(|v| format!("{v:>width$}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    if grouped {
        let header = cells(9, &mut columns.iter().map(|(title, _)| title.to_string()));
        writeln!(out, "{header}  Mapping")?;
        for m in maps {
            let sizes = cells(9, &mut columns.iter().map(|(_, of)| kb(of(m)).to_string()));
            writeln!(out, "{sizes}  {}", sanitize(&m.path))?;
        }
        writeln!(out, "{} ", vec!["---------"; columns.len()].join(" "))?;
        let sums = cells(9, &mut totals.iter().map(u64::to_string));
        return writeln!(out, "{sums}  total kB");
    }
    let header = cells(7, &mut columns.iter().map(|(title, _)| title.to_string()));
    writeln!(out, "{:<16} {header} {:<5} Mapping", "Address", "Mode")?;
    for m in maps {
        let sizes = cells(7, &mut columns.iter().map(|(_, of)| kb(of(m)).to_string()));
        writeln!(
            out,
            "{:0>16} {sizes} {:<5} {}",
            range(&m.addr).0,
            mode(&m.perms),
            sanitize(&m.path)
        )?;
    }
    writeln!(out, "----------------{} ", " -------".repeat(columns.len()))?;
    let sums = cells(7, &mut totals.iter().map(u64::to_string));
    writeln!(out, "{:<16} {sums}", "total kB")
}

/// pmap's five-letter mode from Linux's `rwxp`: `r`, `w`, `x`, then `s` for a shared mapping,
/// then `-`.
#[cfg(target_os = "linux")]
fn mode(perms: &str) -> String {
    let mut chars = perms.chars();
    let mut mode: String = chars.by_ref().take(3).collect();
    mode.push(if chars.next() == Some('s') { 's' } else { '-' });
    mode.push('-');
    mode
}

/// The protection as the OS's record spells it (psutil's `perms`).
#[cfg(not(target_os = "linux"))]
fn mode(perms: &str) -> String {
    perms.to_owned()
}

/// The start (hex digits, no `0x`) and the size in bytes of an address range (`START-END`, in
/// hex, with or without `0x`; Windows gives the start alone); size 0 when the range does not
/// parse or ends before it starts.
fn range(addr: &str) -> (&str, u64) {
    let (start, end) = addr.split_once('-').unwrap_or((addr, ""));
    let (start, end) = (start.trim_start_matches("0x"), end.trim_start_matches("0x"));
    let size = match (u64::from_str_radix(start, 16), u64::from_str_radix(end, 16)) {
        (Ok(s), Ok(e)) => e.saturating_sub(s),
        _ => 0,
    };
    (start, size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_ranges_give_the_start_and_size() {
        assert_eq!(range("0x800200000-0x800219000"), ("800200000", 0x19000));
        assert_eq!(
            range("7f00aa000000-7f00aa021000"),
            ("7f00aa000000", 0x21000)
        );
        assert_eq!(range("0x1000-0x800"), ("1000", 0));
        assert_eq!(range("0x140000000"), ("140000000", 0));
        assert_eq!(range("garbage"), ("garbage", 0));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn pmaps_mode_marks_shared_mappings() {
        assert_eq!(mode("rw-p"), "rw---");
        assert_eq!(mode("r-xs"), "r-xs-");
    }

    #[cfg(windows)]
    #[test]
    fn regions_and_groups_in_pmaps_layout() {
        let map = |addr: &str, perms: &str, path: &str, rss: u64| MemoryMap {
            addr: addr.into(),
            perms: perms.into(),
            path: path.into(),
            rss,
        };
        let maps = [
            map("0x140000000", "r", "\\Device\\HarddiskVolume1\\a.exe", 4096),
            map(
                "0x140001000",
                "xr",
                "\\Device\\HarddiskVolume1\\a.exe",
                8192,
            ),
        ];
        let mut out = Vec::new();
        write_table(&mut out, &maps, false).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Address           Kbytes Mode  Mapping\n\
             0000000140000000       4 r     \\Device\\HarddiskVolume1\\a.exe\n\
             0000000140001000       8 xr    \\Device\\HarddiskVolume1\\a.exe\n\
             ---------------- ------- \n\
             total kB              12\n"
        );
        let mut out = Vec::new();
        write_table(&mut out, &maps[..1], true).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "   Kbytes  Mapping\n        4  \\Device\\HarddiskVolume1\\a.exe\n--------- \n        4  total kB\n"
        );
    }
}
