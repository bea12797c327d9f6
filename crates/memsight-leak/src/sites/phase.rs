//! The attribution phase: after a leak verdict, a few more batches of calls with allocations
//! recorded, a snapshot of live bytes per stack after each, and the stacks that grew named.

use std::time::Instant;

use super::{LeakSite, SiteHooksHandle};

/// How much the attribution phase may do.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(
    not(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    )),
    allow(dead_code)
)]
pub(crate) struct Limits {
    /// Calls per batch.
    pub(crate) batch: u64,
    /// Batches measured (the verdict's sign-test window).
    pub(crate) batches: usize,
    /// The most calls in all (the memory and call budgets left).
    pub(crate) max_calls: u64,
    /// The phase stops its batches here.
    pub(crate) deadline: Instant,
    /// Leave out stacks through Rust's global allocator (their sites come from
    /// `CountingAlloc`'s tracking).
    pub(crate) skip_rust: bool,
}

/// What the phase found.
#[derive(Debug, Default)]
#[cfg_attr(
    not(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    )),
    allow(dead_code)
)]
pub(crate) struct Found {
    /// The stacks whose live bytes grew with the calls, most bytes per call first.
    pub(crate) sites: Vec<LeakSite>,
    /// What the report should say about the phase (why no sites, a panic, a full table).
    pub(crate) notes: Vec<String>,
    /// Calls made.
    pub(crate) calls: u64,
}

/// Runs the phase: `f` is the tested function (false: it did not fail when it had to, which
/// ends the phase early like a panic).
pub(crate) fn run(f: &mut dyn FnMut() -> bool, hooks: &[SiteHooksHandle], limits: Limits) -> Found {
    let mut found = Found::default();
    if let Some(why) = super::unsupported() {
        let _ = (hooks, limits);
        found.notes.push(why.to_owned());
        return found;
    }
    imp::run(f, hooks, limits, &mut found);
    found
}

#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
mod imp {
    use super::*;
    pub(super) fn run(
        _: &mut dyn FnMut() -> bool,
        _: &[SiteHooksHandle],
        _: Limits,
        _: &mut Found,
    ) {
    }
}

#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod imp {
    use std::panic::{AssertUnwindSafe, catch_unwind};

    use super::*;
    use crate::sites::record::{self, HIST, Stack};
    use crate::sites::stack::{Symboliser, cut_at_harness, via_rust_allocator};
    use crate::sites::{Domain, FrameKind, rank, session};

    /// Front-end hooks in for as long as this lives: uninstalled on drop (panics included).
    struct FrontEnd<'a> {
        installed: Vec<&'a SiteHooksHandle>,
    }

    impl Drop for FrontEnd<'_> {
        fn drop(&mut self) {
            for h in self.installed.iter().rev() {
                h.uninstall();
            }
        }
    }

    /// Resolves stacks on a thread of its own: reading debug info allocates and frees
    /// megabytes, and glibc gives a new thread its own arena, so the main arena the next
    /// check measures is left as it was (done inline, the fragments it left changed the next
    /// check's `heap` figure by hundreds of bytes in one batch). No frames if no thread starts.
    fn symbolise_apart(stacks: Vec<Vec<usize>>) -> Vec<Vec<crate::sites::SiteFrame>> {
        let work = |stacks: Vec<Vec<usize>>| {
            let mut sym = Symboliser::new();
            stacks
                .iter()
                .map(|ips| ips.iter().flat_map(|&ip| sym.frames(ip)).collect())
                .collect::<Vec<_>>()
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("memsight-sites".to_owned())
            .spawn(move || {
                let _ = tx.send(work(stacks));
            });
        match spawned {
            Ok(h) => {
                let out = rx.recv().unwrap_or_default();
                let _ = h.join();
                out
            }
            Err(_) => Vec::new(),
        }
    }

    pub(super) fn run(
        f: &mut dyn FnMut() -> bool,
        hooks: &[SiteHooksHandle],
        limits: Limits,
        found: &mut Found,
    ) {
        let session = match session::Session::start() {
            Ok(s) => s,
            Err(e) => {
                found
                    .notes
                    .push(format!("allocation sites not recorded: {e}"));
                return;
            }
        };
        let mut front = FrontEnd {
            installed: Vec::new(),
        };
        for h in hooks {
            match h.install() {
                Ok(()) => front.installed.push(h),
                Err(e) => found
                    .notes
                    .push(format!("allocator hooks not installed: {e}")),
            }
        }
        // Stack walks on this thread end here: what is outer is the harness.
        let here = 0u8;
        record::stop_walks_at(std::ptr::from_ref(&here) as usize);
        let batches = limits.batches.min(HIST - 1);
        let mut calls = Vec::with_capacity(batches);
        record::snapshot(0);
        'batches: for b in 0..batches {
            let mut n = 0u64;
            record::arm(true);
            while n < limits.batch {
                if found.calls >= limits.max_calls || Instant::now() >= limits.deadline {
                    break;
                }
                found.calls += 1;
                n += 1;
                if !matches!(catch_unwind(AssertUnwindSafe(&mut *f)), Ok(true)) {
                    record::arm(false);
                    found.notes.push(format!(
                        "allocation sites from {} batch(es) only: call {} of the attribution \
                         phase panicked or failed",
                        b, found.calls
                    ));
                    break 'batches;
                }
            }
            record::arm(false);
            if n == 0 {
                break;
            }
            calls.push(n);
            record::snapshot(b + 1);
            if n < limits.batch {
                break;
            }
        }
        drop(front);
        record::stop_walks_at(0);
        // Judge every stack under the recorder's lock, keeping the 16 growing fastest in an
        // array on this stack: nothing here allocates, so the heap the next check measures
        // is as the phase found it.
        let mut best: [Option<(rank::Judged, Stack)>; 16] = [None; 16];
        let k = calls.len() + 1;
        record::for_each_stack(|st| {
            let mut bytes = [0i64; HIST];
            let mut blocks = [0i64; HIST];
            for (i, h) in st.hist[..k].iter().enumerate() {
                bytes[i] = h[0];
                blocks[i] = h[1];
            }
            let Some(j) = rank::judge(&calls, &bytes[..k], &blocks[..k]) else {
                return;
            };
            // Into a free slot, else over the slowest kept if this one grows faster.
            let slot = best.iter().position(Option::is_none).or_else(|| {
                let (i, slowest) = best
                    .iter()
                    .enumerate()
                    .filter_map(|(i, b)| b.map(|b| (i, b.0.bytes.0)))
                    .min_by(|a, b| a.1.total_cmp(&b.1))?;
                (slowest < j.bytes.0).then_some(i)
            });
            if let Some(i) = slot {
                best[i] = Some((j, *st));
            }
        });
        let mut named: Vec<(rank::Judged, Stack)> = best.iter().flatten().copied().collect();
        let dropped = record::dropped();
        drop(session);
        if dropped > 0 {
            found.notes.push(format!(
                "allocation sites: {dropped} allocation(s) not recorded (the tables were full)"
            ));
        }
        named.sort_by(|a, b| b.0.bytes.0.total_cmp(&a.0.bytes.0));
        let live = |st: &Stack| st.hist[k - 1];
        let total_calls: u64 = calls.iter().sum();
        let stacks: Vec<Vec<usize>> = named
            .iter()
            .map(|(_, st)| st.ips[..st.len as usize].to_vec())
            .collect();
        let resolved = symbolise_apart(stacks);
        // What reading debug info freed goes back to the system (the thread's arena too), so
        // the report's own work does not stay in RSS.
        let _ = memsight::heap::trim();
        let resolve = record::extra_resolve();
        let mut rust_only = 0;
        for ((j, st), mut frames) in named.into_iter().zip(resolved) {
            cut_at_harness(&mut frames);
            if limits.skip_rust && via_rust_allocator(&frames) {
                rust_only += 1;
                continue;
            }
            if let Some(resolve) = resolve {
                for &t in &st.extra[..st.extra_len as usize] {
                    frames.extend(resolve(t));
                }
            }
            let site = frames.iter().position(|f| f.kind == FrameKind::User);
            found.sites.push(LeakSite {
                bytes_per_call: j.bytes.0,
                bytes_per_call_ci: (j.bytes.1, j.bytes.2),
                blocks_per_call: j.blocks,
                grew: j.grew,
                batches: calls.len(),
                calls: total_calls,
                live_bytes: live(&st)[0].max(0) as u64,
                live_blocks: live(&st)[1].max(0) as u64,
                domain: Domain::from_index(st.domain),
                allocator: record::VIA
                    .get(usize::from(st.via))
                    .copied()
                    .unwrap_or("")
                    .to_owned(),
                frames,
                site,
            });
            if found.sites.len() == 10 {
                break;
            }
        }
        if found.sites.is_empty() && rust_only > 0 {
            // Only Rust allocations grew: the Rust-heap sites above already name them.
        } else if found.sites.is_empty() && calls.len() < 3 {
            found.notes.push(format!(
                "allocation sites: not named, {total_calls} attribution call(s) in {} batch(es) \
                 were all the memory and time budgets left (3 batches are needed)",
                calls.len()
            ));
        } else if found.sites.is_empty() {
            found.notes.push(format!(
                "allocation sites: no allocation stack's live bytes grew with the calls over \
                 {total_calls} attribution call(s) in {} batch(es): the growth is not from the \
                 hooked allocators (a statically linked allocator, memory kept inside libc, \
                 pages touched in existing mappings)",
                calls.len()
            ));
        } else if found
            .sites
            .iter()
            .any(|s| s.site_frame().is_some_and(|f| !f.has_line()))
        {
            found.notes.push(
                "allocation sites: some frames have no debug info (built without -g): shown as \
                 function (object+offset)"
                    .to_owned(),
            );
        }
    }
}
