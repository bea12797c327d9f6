//! Parent and children, with psutil's create-time check so a reused pid is never taken for a
//! relative.

use std::collections::HashMap;

use crate::error::Result;
use crate::sys::process::Process;
use crate::sys::procfs::{self, pid_stat};

impl Process {
    /// Backs [`crate::Process::parent`], where it is documented with every OS's source.
    pub fn parent(&self) -> Result<Option<Process>> {
        let ppid = self.ppid()?;
        if ppid == 0 {
            return Ok(None);
        }
        match Process::open_in(self.procfs(), ppid) {
            Ok(parent)
                if matches!(
                    (parent.start_ticks(), self.start_ticks()),
                    (Ok(p), Ok(s)) if p <= s
                ) =>
            {
                Ok(Some(parent))
            }
            _ => Ok(None),
        }
    }

    /// Backs [`crate::Process::children`], where it is documented with every OS's source.
    pub fn children(&self, recursive: bool) -> Result<Vec<Process>> {
        let ppids = self.ppid_map()?;
        let mut by_parent: HashMap<u32, Vec<u32>> = HashMap::new();
        for (&pid, &ppid) in &ppids {
            by_parent.entry(ppid).or_default().push(pid);
        }
        let mut out = Vec::new();
        let mut queue = vec![(self.pid(), self.start_ticks()?)];
        let mut seen = std::collections::HashSet::new();
        while let Some((parent, parent_start)) = queue.pop() {
            for &pid in by_parent.get(&parent).into_iter().flatten() {
                if !seen.insert(pid) {
                    continue;
                }
                let Ok(child) = Process::open_in(self.procfs(), pid) else {
                    continue;
                };
                let Ok(child_start) = child.start_ticks() else {
                    continue;
                };
                if child_start < parent_start {
                    continue;
                }
                if recursive {
                    queue.push((pid, child_start));
                }
                out.push(child);
            }
        }
        out.sort_by_key(Process::pid);
        Ok(out)
    }

    /// pid -> ppid for every process (`/proc/*/stat` field 4), psutil's `ppid_map`.
    fn ppid_map(&self) -> Result<HashMap<u32, u32>> {
        let root = self.procfs().proc_root();
        let entries =
            std::fs::read_dir(root).map_err(|e| crate::error::Error::from_io(None, root, e))?;
        let mut map = HashMap::new();
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            let path = entry.path().join("stat");
            let ppid = procfs::with_buffer(|buf| {
                std::fs::File::open(&path)
                    .and_then(|mut f| procfs::read_to_buffer(&mut f, buf))
                    .ok()
                    .and_then(|()| pid_stat::parse(buf).ok())
                    .map(|s| s.ppid)
            });
            if let Some(ppid) = ppid {
                map.insert(pid, ppid);
            }
        }
        Ok(map)
    }
}
