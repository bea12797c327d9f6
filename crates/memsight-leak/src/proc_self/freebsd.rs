//! The process's own figures on FreeBSD, through memsight's FreeBSD backend: descriptors from the
//! file table (`kern.proc.filedesc`), threads from `ki_numthreads`, mappings from
//! `kern.proc.vmmap`, children from `kern.proc.proc`. The same interface as the Linux
//! `/proc/self` readers; unlike them each read allocates a sysctl buffer and frees it before
//! returning, so the counting allocator sees no live bytes from it.

use std::io;

/// Figures read from the mappings in one pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Maps {
    /// Number of mappings.
    pub count: i64,
    /// Bytes in anonymous mappings (no backing file: `[default]` and `[swap]` objects), where a
    /// raw `mmap()` leak shows.
    pub anon_bytes: i64,
}

/// The harness's own descriptor was closed or replaced (never on FreeBSD, which holds none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FdLost {
    /// The descriptor number.
    pub(crate) fd: i32,
    /// What became of it.
    pub(crate) now: String,
}

pub(crate) struct ProcSelf {
    me: memsight::Process,
}

fn io_err(e: memsight::Error) -> io::Error {
    match e {
        memsight::Error::Unsupported(m) => io::Error::new(io::ErrorKind::Unsupported, m),
        e => io::Error::other(e),
    }
}

/// The size of a `start-end` hex range as memsight's FreeBSD maps print it; 0 if unreadable.
fn range_size(addr: &str) -> i64 {
    let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok();
    match addr.split_once('-').map(|(a, b)| (hex(a), hex(b))) {
        Some((Some(a), Some(b))) => i64::try_from(b.saturating_sub(a)).unwrap_or(i64::MAX),
        _ => 0,
    }
}

impl ProcSelf {
    pub(crate) fn new() -> io::Result<ProcSelf> {
        Ok(ProcSelf {
            me: memsight::Process::current().map_err(io_err)?,
        })
    }

    /// Nothing to check: no descriptor is held.
    pub(crate) fn verify(&mut self) -> Result<(), FdLost> {
        Ok(())
    }

    /// Open file descriptors (`kf_fd >= 0` entries of the file table).
    pub(crate) fn fds(&mut self) -> io::Result<i64> {
        Ok(self.me.num_fds().map_err(io_err)? as i64)
    }

    /// Threads (`ki_numthreads`).
    pub(crate) fn threads(&mut self) -> io::Result<i64> {
        Ok(self.me.num_threads().map_err(io_err)? as i64)
    }

    /// Child processes, zombies included.
    pub(crate) fn children(&mut self) -> io::Result<i64> {
        Ok(self.me.children(false).map_err(io_err)?.len() as i64)
    }

    /// The child pids, for failure reports.
    pub(crate) fn child_pids(&mut self) -> Vec<i32> {
        self.me
            .children(false)
            .map(|c| c.iter().map(|p| p.pid() as i32).collect())
            .unwrap_or_default()
    }

    /// FreeBSD has no per-process USS: always an `Unsupported` error, so the harness goes on
    /// without it.
    pub(crate) fn uss(&mut self) -> io::Result<i64> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "FreeBSD gives no per-process USS",
        ))
    }

    /// Mapping count and anonymous bytes (`kern.proc.vmmap`).
    pub(crate) fn maps(&mut self) -> io::Result<Maps> {
        let maps = self.me.memory_maps(false).map_err(io_err)?;
        Ok(Maps {
            count: maps.len() as i64,
            anon_bytes: maps
                .iter()
                .filter(|m| m.path == "[default]" || m.path == "[swap]")
                .map(|m| range_size(&m.addr))
                .sum(),
        })
    }

    /// `(fd, path)` of every open regular file, for failure reports.
    pub(crate) fn fd_targets(&mut self) -> Vec<(i32, String)> {
        self.me
            .open_files()
            .map(|files| {
                files
                    .into_iter()
                    .map(|f| (f.fd as i32, f.path.display().to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Thread names are not read on FreeBSD: an empty list.
    pub(crate) fn thread_names(&mut self) -> Vec<(u32, String)> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_sizes() {
        assert_eq!(range_size("0x800200000-0x800219000"), 0x19000);
        assert_eq!(range_size("0-0x1000"), 0x1000);
        assert_eq!(range_size("junk"), 0);
    }
}
