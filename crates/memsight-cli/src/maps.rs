//! `memsight maps PID`: a process's memory mappings, laid out like `pmap -x` (sizes in KiB, a
//! total line), or psutil's `memory_maps()` records with `--json`.

use std::io::Write;

use memsight::{MemoryMap, Process};

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

/// Runs `memsight maps`.
pub fn run(args: &Args, out: &mut impl Write) -> anyhow::Result<()> {
    let p = Process::new(args.pid)?;
    let (maps, cmdline) = p.oneshot(|p| -> memsight::Result<_> {
        let maps = p.memory_maps(args.grouped)?;
        let cmdline = match p.cmdline() {
            Ok(args) if !args.is_empty() => args.join(" "),
            _ => format!("[{}]", p.name().unwrap_or_default()),
        };
        Ok((maps, cmdline))
    })?;
    if args.json {
        serde_json::to_writer(&mut *out, &maps)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(out, "{}:   {cmdline}", args.pid)?;
    let kb = |n: u64| n / 1024;
    let dirty = |m: &MemoryMap| m.shared_dirty.saturating_add(m.private_dirty);
    if args.grouped {
        writeln!(
            out,
            "{:>9} {:>9} {:>9} {:>9} {:>9}  Mapping",
            "Kbytes", "RSS", "PSS", "Dirty", "Swap"
        )?;
        for m in &maps {
            writeln!(
                out,
                "{:>9} {:>9} {:>9} {:>9} {:>9}  {}",
                kb(m.size),
                kb(m.rss),
                kb(m.pss),
                kb(dirty(m)),
                kb(m.swap),
                m.path
            )?;
        }
        writeln!(out, "{} ", ["---------"; 5].join(" "))?;
        writeln!(
            out,
            "{:>9} {:>9} {:>9} {:>9} {:>9}  total kB",
            kb(maps.iter().map(|m| m.size).fold(0, u64::saturating_add)),
            kb(maps.iter().map(|m| m.rss).fold(0, u64::saturating_add)),
            kb(maps.iter().map(|m| m.pss).fold(0, u64::saturating_add)),
            kb(maps.iter().map(dirty).fold(0, u64::saturating_add)),
            kb(maps.iter().map(|m| m.swap).fold(0, u64::saturating_add)),
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<16} {:>7} {:>7} {:>7} {:<5} Mapping",
        "Address", "Kbytes", "RSS", "Dirty", "Mode"
    )?;
    for m in &maps {
        let start = m.addr.split_once('-').map_or(&m.addr[..], |(s, _)| s);
        writeln!(
            out,
            "{:0>16} {:>7} {:>7} {:>7} {:<5} {}",
            start,
            kb(m.size),
            kb(m.rss),
            kb(dirty(m)),
            mode(&m.perms),
            m.path
        )?;
    }
    writeln!(out, "---------------- ------- ------- ------- ")?;
    writeln!(
        out,
        "total kB         {:>7} {:>7} {:>7}",
        kb(maps.iter().map(|m| m.size).fold(0, u64::saturating_add)),
        kb(maps.iter().map(|m| m.rss).fold(0, u64::saturating_add)),
        kb(maps.iter().map(dirty).fold(0, u64::saturating_add)),
    )?;
    Ok(())
}

/// pmap's five-letter mode: `r`, `w`, `x`, then `s` for a shared mapping, then `-`.
fn mode(perms: &str) -> String {
    let mut chars = perms.chars();
    let mut mode: String = chars.by_ref().take(3).collect();
    mode.push(if chars.next() == Some('s') { 's' } else { '-' });
    mode.push('-');
    mode
}
