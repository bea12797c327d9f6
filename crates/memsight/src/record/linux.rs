//! The sampler's Linux reads: an exec noticed through `/proc/PID/comm` (one small read a
//! sample), children through `/proc/PID/task/TID/children` (no scan of every process), and the
//! figures from `statm` and `smaps_rollup`.

use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use super::Figures;
use super::sampler::{Followed, discover_by_scan, follow, is_followed};
use crate::process::Process;

/// `/proc/PID/comm` as last read, newline included (empty when unreadable).
pub(super) type ExecMark = Vec<u8>;

/// Scratch space for finding children, reused from sample to sample.
#[derive(Debug, Default)]
pub(super) struct Scratch {
    /// One `children` file.
    text: Vec<u8>,
    /// The pids found under one parent.
    found: Vec<u32>,
    /// The `task/TID/children` paths.
    path: PathBuf,
}

/// Reads the kernel command name into `mark`.
pub(super) fn mark_exec(p: &Process, mark: &mut ExecMark) {
    mark.clear();
    let read = p.inner.read_file("comm", |d| {
        mark.extend_from_slice(d);
        Ok(())
    });
    if read.is_err() {
        mark.clear();
    }
}

/// Whether the kernel command name changed since `mark` was read (an exec).
pub(super) fn exec_seen(p: &Process, mark: &ExecMark) -> bool {
    let same = p.inner.read_file("comm", |d| Ok(d == mark.as_slice()));
    same.is_ok_and(|same| !same)
}

/// The name ([`Process::name_os`]), lossy, with its exact bytes when they are not UTF-8.
pub(super) fn name(p: &Process) -> Option<(String, Option<Vec<u8>>)> {
    let name = p.name_os().ok()?;
    let bytes = name.to_str().is_none().then(|| name.as_bytes().to_vec());
    Some((name.to_string_lossy().into_owned(), bytes))
}

/// RSS and VMS from `statm`, and unless `fast` USS, PSS and swap from `smaps_rollup`; `None`
/// when the process is gone, unreadable, or a zombie (whose statm reads as zeros, as a kernel
/// thread's does: no memory left to follow).
pub(super) fn figures(p: &Process, fast: bool) -> Option<Figures> {
    let f = if fast {
        let m = p.memory_info().ok()?;
        Figures {
            rss: m.rss,
            vms: m.vms,
            ..Figures::default()
        }
    } else {
        let m = p.memory_full_info().ok()?;
        Figures {
            rss: m.rss,
            vms: m.vms,
            uss: Some(m.uss),
            pss: Some(m.pss),
            swap: Some(m.swap),
        }
    };
    (f.vms != 0).then_some(f)
}

/// Adds the not-yet-followed children of every followed process (and theirs, transitively).
pub(super) fn discover(root: &Process, followed: &mut Vec<Followed>, s: &mut Scratch) {
    let mut i = 0;
    loop {
        let parent = match i {
            0 => root,
            _ => match followed.get(i - 1) {
                Some(f) => &f.process,
                None => break,
            },
        };
        i += 1;
        s.found.clear();
        if children_of(parent, &mut s.path, &mut s.text, &mut s.found).is_err() {
            // No `children` file on this kernel: one full scan for the whole tree.
            discover_by_scan(root, followed);
            return;
        }
        for k in 0..s.found.len() {
            let pid = s.found[k];
            if is_followed(root, followed, pid) {
                continue;
            }
            if let Ok(child) = root.procfs().process(pid) {
                follow(root, followed, child);
            }
        }
    }
}

/// Appends the pids in `/proc/PID/task/*/children` of `parent` to `found`. Fails only when the
/// kernel has no such file (CONFIG_PROC_CHILDREN off); a process gone meanwhile gives none.
fn children_of(
    parent: &Process,
    path: &mut PathBuf,
    text: &mut Vec<u8>,
    found: &mut Vec<u32>,
) -> std::io::Result<()> {
    path.clear();
    path.push(parent.procfs().proc_root());
    path.push(parent.pid().to_string());
    path.push("task");
    let Ok(tasks) = std::fs::read_dir(&*path) else {
        return Ok(());
    };
    let mut any = false;
    let mut missing = false;
    for task in tasks.flatten() {
        path.push(task.file_name());
        path.push("children");
        text.clear();
        match std::fs::File::open(&*path).and_then(|mut f| f.read_to_end(text)) {
            Ok(_) => {
                any = true;
                parse_children(text, found);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => missing = true,
            Err(_) => {}
        }
        path.pop();
        path.pop();
    }
    if missing && !any {
        return Err(std::io::Error::from(std::io::ErrorKind::NotFound));
    }
    Ok(())
}

/// Parses a `/proc/PID/task/TID/children` file: pids separated by spaces. Anything that is not
/// a pid is skipped.
fn parse_children(text: &[u8], found: &mut Vec<u32>) {
    for word in text.split(|b| b.is_ascii_whitespace()) {
        if let Some(pid) = std::str::from_utf8(word)
            .ok()
            .and_then(|w| w.parse::<u32>().ok())
        {
            found.push(pid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Sample, Sampler};

    #[test]
    fn children_file_parses() {
        let mut found = Vec::new();
        parse_children(b"12 345 6789 ", &mut found);
        parse_children(b"", &mut found);
        parse_children(b"x 7\n", &mut found);
        assert_eq!(found, [12, 345, 6789, 7]);
    }

    #[test]
    fn sampler_reads_itself_and_a_child() {
        let Ok(me) = Process::current() else {
            return;
        };
        let mut sampler = Sampler::new(me).children(true);
        let Ok(mut child) = std::process::Command::new("sleep").arg("5").spawn() else {
            return;
        };
        let mut s = Sample::default();
        sampler.sample(&mut s);
        let _ = child.kill();
        let _ = child.wait();
        assert!(sampler.root_running());
        assert!(s.processes.iter().any(|p| p.pid == child.id()));
        assert!(s.total.uss.is_some_and(|u| u > 0));
        sampler.sample(&mut s);
        assert!(!s.processes.iter().any(|p| p.pid == child.id()));
    }
}
