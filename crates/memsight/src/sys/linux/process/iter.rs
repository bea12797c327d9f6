//! Listing processes: `pids()` and `process_iter()`.

use std::fs;

use crate::error::{Error, Result};
use crate::sys::process::Process;
use crate::sys::procfs::ProcFs;
use crate::sys::procfs::text::parse_u64;

/// The ids of every process, in ascending order: the numeric entries of `/proc` (threads are not
/// listed there, only thread-group leaders).
pub fn pids() -> Result<Vec<u32>> {
    ProcFs::default().pids()
}

/// Every process, as a [`Process`] handle, in pid order. Pids that exit between the listing and
/// the opening are skipped (never reported); other errors (an unreadable `/proc`) are yielded.
///
/// ```
/// let me = std::process::id();
/// let found = memsight::process_iter().filter_map(Result::ok).any(|p| p.pid() == me);
/// assert!(found);
/// ```
pub fn process_iter() -> impl Iterator<Item = Result<Process>> {
    ProcFs::default().process_iter().map(|p| p.map(|p| p.inner))
}

impl ProcFs {
    /// The ids of every process under this procfs root, ascending (see [`pids`](crate::pids)).
    pub fn pids(&self) -> Result<Vec<u32>> {
        let root = self.proc_root();
        let entries = fs::read_dir(root).map_err(|e| Error::from_io(None, root, e))?;
        let mut pids: Vec<u32> = entries
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let name = entry.file_name();
                u32::try_from(parse_u64(name.as_encoded_bytes())?).ok()
            })
            .collect();
        pids.sort_unstable();
        Ok(pids)
    }

    /// Every process under this procfs root, in pid order (see [`process_iter`](crate::process_iter)).
    pub fn process_iter(&self) -> impl Iterator<Item = Result<crate::Process>> + use<> {
        let procfs = self.clone();
        let (pids, error) = match self.pids() {
            Ok(pids) => (pids, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        error
            .map(Err)
            .into_iter()
            .chain(
                pids.into_iter()
                    .filter_map(move |pid| match procfs.process(pid) {
                        Err(Error::NoSuchProcess { .. }) => None,
                        other => Some(other),
                    }),
            )
    }
}
