//! The sampler's reads outside Linux, through the neutral [`Process`] API only: descendants from
//! one [`Process::children`] scan of the root, names every second or so (no cheap exec mark),
//! RSS and VMS from [`Process::memory_info`], USS from [`Process::memory_footprint`] where the OS
//! has it (Windows, macOS).

use super::Figures;
use super::sampler::{Followed, discover_by_scan};
use crate::process::Process;

/// No cheap way to tell an exec: names are read about once a second instead.
pub(super) type ExecMark = ();

/// Nothing to reuse: the scan allocates its own list.
pub(super) type Scratch = ();

/// Nothing to read.
pub(super) fn mark_exec(_p: &Process, _mark: &mut ExecMark) {}

/// Never known: the sampler's once-a-second read catches an exec.
pub(super) fn exec_seen(_p: &Process, _mark: &ExecMark) -> bool {
    false
}

/// The name ([`Process::name`]); never raw bytes outside Linux.
pub(super) fn name(p: &Process) -> Option<(String, Option<Vec<u8>>)> {
    Some((p.name().ok()?, None))
}

/// RSS and VMS, and unless `fast` USS where it can be read (`None` on FreeBSD, and on Windows
/// where the working set cannot be queried); `None` when the process is gone: its figures
/// cannot be read, or its virtual size reads zero (a Unix zombie; a Windows process being torn
/// down, whose private bytes and working set read zero before its handle is signalled, as seen
/// under Wine), or on Windows its handle is signalled.
pub(super) fn figures(p: &Process, fast: bool) -> Option<Figures> {
    #[cfg(windows)]
    if !p.is_running() {
        return None;
    }
    let m = p.memory_info().ok()?;
    if m.vms == 0 {
        return None;
    }
    let uss = if fast || cfg!(target_os = "freebsd") {
        None
    } else {
        p.memory_footprint().ok().map(|f| f.uss)
    };
    Some(Figures {
        rss: m.rss,
        vms: m.vms,
        uss,
        pss: None,
        swap: None,
    })
}

/// Adds the not-yet-followed descendants of the root, from one scan.
pub(super) fn discover(root: &Process, followed: &mut Vec<Followed>, _scratch: &mut Scratch) {
    discover_by_scan(root, followed);
}
