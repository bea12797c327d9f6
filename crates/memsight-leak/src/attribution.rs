//! Leak attribution: where the leaked Rust-heap blocks were allocated, from stacks recorded by
//! [`memsight::heap::CountingAlloc`] over a few extra calls after a leak verdict.

use std::panic::{AssertUnwindSafe, catch_unwind};

use memsight::heap::CountingAlloc;

use crate::AllocationSite;

/// Extra calls made with allocation stacks recorded, after a Rust-heap leak verdict.
pub(crate) const ATTRIBUTION_CALLS: u64 = 32;

/// Calls `f` `n` more times with allocation stacks recorded and groups the blocks still live by
/// stack. Tracking ends on every path (the guard drops on unwinding too); a panicking call ends
/// the calls early and says so in the returned note, and the sites found so far are kept.
pub(crate) fn attribute(
    n: u64,
    f: &mut dyn FnMut() -> bool,
) -> (Vec<AllocationSite>, Option<String>) {
    let tracking = CountingAlloc::start_tracking(4096);
    let mut note = None;
    for call in 1..=n {
        // The verdict is already in: a panic here must not lose the report.
        if catch_unwind(AssertUnwindSafe(&mut *f)).is_err() {
            note = Some(format!(
                "allocation sites from {} extra call(s) only: call {call} of the attribution \
                 calls panicked",
                call - 1
            ));
            break;
        }
    }
    let live = tracking.stop();
    (allocation_sites(live), note)
}

/// Frames of the allocator, the standard library and the harness, skipped in allocation stacks.
const PLUMBING: [&str; 13] = [
    "backtrace::",
    "memsight::heap::",
    "<memsight::heap::",
    "std::",
    "<std::",
    "core::",
    "<core::",
    "alloc::",
    "<alloc::",
    "__rust",
    "__rdl",
    "rust_begin_unwind",
    "<F as",
];

/// Groups tracked allocations by stack (innermost non-plumbing frames), most blocks first.
fn allocation_sites(live: Vec<memsight::heap::TrackedAlloc>) -> Vec<AllocationSite> {
    let mut sites: Vec<AllocationSite> = Vec::new();
    for t in live {
        let mut stack = Vec::new();
        for sym in t.symbols() {
            let func = sym.function.as_deref().unwrap_or("");
            let at = sym
                .file
                .as_deref()
                .map(|file| match (sym.line, sym.column) {
                    (Some(l), Some(c)) => format!("{file}:{l}:{c}"),
                    (Some(l), None) => format!("{file}:{l}"),
                    _ => file.to_owned(),
                });
            let loc = at.as_deref().unwrap_or("");
            if func.starts_with("memsight_leak::") || loc.contains("memsight-leak/src/driver.rs") {
                break; // the harness calling the function: the stack above is the user's
            }
            // Optimised builds name inlined frames without their path (`{closure#0}`), so the
            // source location decides too: the standard library's and memsight's allocator.
            let plumbing = func.is_empty()
                || PLUMBING.iter().any(|p| func.starts_with(p))
                || loc.starts_with("/rustc/")
                || loc.contains("/library/std/")
                || loc.contains("/library/alloc/")
                || loc.contains("/library/core/")
                || loc.contains("src/heap/counting.rs")
                || loc.contains("/.cargo/registry/");
            if plumbing {
                continue;
            }
            stack.push(match at {
                Some(at) => format!("{func} at {at}"),
                None => func.to_owned(),
            });
            if stack.len() == 6 {
                break;
            }
        }
        match sites.iter_mut().find(|s| s.stack == stack) {
            Some(site) => {
                site.blocks += 1;
                site.bytes += t.size;
            }
            None => sites.push(AllocationSite {
                blocks: 1,
                bytes: t.size,
                stack,
            }),
        }
    }
    sites.sort_by(|a, b| b.blocks.cmp(&a.blocks).then(b.bytes.cmp(&a.bytes)));
    sites.truncate(3);
    sites
}
