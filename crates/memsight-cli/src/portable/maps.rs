//! `memsight maps PID` outside Linux: a process's mappings in pmap's layout, or psutil's
//! `memory_maps()` records with `--json` (grouped records have no `addr` or `perms`). Windows:
//! the regions that map a file (`VirtualQueryEx` and `GetMappedFileNameW`), each with its size;
//! macOS (`proc_pidinfo` regions) and FreeBSD (`kern.proc.vmmap`): every mapping, its size from
//! the `start-end` address range and its resident size. The JSON keeps each OS's own keys
//! (macOS: `size`, `private`, `swap`, ...; FreeBSD: `private`, `ref_count`, ...). No OS here gives
//! per-mapping PSS or dirty figures, so those columns are left out.

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
    /// Print the list of psutil `memory_maps` records (sizes in bytes).
    #[arg(long)]
    json: bool,
}

/// Runs `memsight maps`.
pub fn run(args: &Args, _host: &Host, out: &mut impl Write) -> anyhow::Result<()> {
    let p = Process::new(args.pid)?;
    let maps = p.memory_maps(args.grouped)?;
    if args.json {
        output::write_json(out, &maps, false)?;
        return Ok(());
    }
    let cmdline = match p.cmdline() {
        Ok(args) if !args.is_empty() => args.join(" "),
        _ => format!("[{}]", p.name().unwrap_or_default()),
    };
    writeln!(out, "{}:   {}", args.pid, sanitize(&cmdline))?;
    write_table(out, &maps, args.grouped)?;
    Ok(())
}

/// pmap's layout with the columns Windows has: address, KiB and protection per region (or KiB
/// per path when grouped), then the total.
#[cfg(windows)]
fn write_table(out: &mut dyn Write, maps: &[MemoryMap], grouped: bool) -> std::io::Result<()> {
    let kb = |n: u64| n / 1024;
    let total = kb(maps.iter().map(|m| m.rss).fold(0, u64::saturating_add));
    if grouped {
        writeln!(out, "{:>9}  Mapping", "Kbytes")?;
        for m in maps {
            writeln!(out, "{:>9}  {}", kb(m.rss), sanitize(&m.path))?;
        }
        writeln!(out, "---------")?;
        return writeln!(out, "{total:>9}  total kB");
    }
    writeln!(
        out,
        "{:<16} {:>7} {:<5} Mapping",
        "Address", "Kbytes", "Mode"
    )?;
    for m in maps {
        let addr = m.addr.trim_start_matches("0x");
        writeln!(
            out,
            "{addr:0>16} {:>7} {:<5} {}",
            kb(m.rss),
            m.perms,
            sanitize(&m.path)
        )?;
    }
    writeln!(out, "---------------- -------")?;
    writeln!(out, "total kB         {total:>7}")
}

/// pmap `-x`'s layout with the columns macOS and FreeBSD have: start address, size (KiB, from
/// the address range), RSS (KiB) and protection per mapping (RSS per path when grouped), then the
/// totals.
#[cfg(not(windows))]
fn write_table(out: &mut dyn Write, maps: &[MemoryMap], grouped: bool) -> std::io::Result<()> {
    let kb = |n: u64| n / 1024;
    let rss = kb(maps.iter().map(|m| m.rss).fold(0, u64::saturating_add));
    if grouped {
        writeln!(out, "{:>9}  Mapping", "RSS")?;
        for m in maps {
            writeln!(out, "{:>9}  {}", kb(m.rss), sanitize(&m.path))?;
        }
        writeln!(out, "---------")?;
        return writeln!(out, "{rss:>9}  total kB");
    }
    writeln!(
        out,
        "{:<16} {:>7} {:>7} {:<5} Mapping",
        "Address", "Kbytes", "RSS", "Mode"
    )?;
    let mut size = 0u64;
    for m in maps {
        let (start, bytes) = range(&m.addr);
        size = size.saturating_add(bytes);
        writeln!(
            out,
            "{start:0>16} {:>7} {:>7} {:<5} {}",
            kb(bytes),
            kb(m.rss),
            m.perms,
            sanitize(&m.path)
        )?;
    }
    writeln!(out, "---------------- ------- -------")?;
    writeln!(out, "total kB         {:>7} {rss:>7}", kb(size))
}

/// The start (hex digits, no `0x`) and the size in bytes of psutil's `0xSTART-0xEND` address
/// range; size 0 when the range does not parse or ends before it starts.
#[cfg(not(windows))]
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
             ---------------- -------\n\
             total kB              12\n"
        );
        let mut out = Vec::new();
        write_table(&mut out, &maps[..1], true).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "   Kbytes  Mapping\n        4  \\Device\\HarddiskVolume1\\a.exe\n---------\n        4  total kB\n"
        );
    }

    #[cfg(not(windows))]
    #[test]
    fn address_ranges_give_the_start_and_size() {
        assert_eq!(range("0x800200000-0x800219000"), ("800200000", 0x19000));
        assert_eq!(range("0x1000-0x800"), ("1000", 0));
        assert_eq!(range("garbage"), ("garbage", 0));
    }
}
