//! Leak attribution: where the leaked Rust-heap blocks were allocated, from stacks recorded by
//! [`memsight::heap::CountingAlloc`] over a few extra calls after a leak verdict.

/// Extra calls made with allocation stacks recorded, after a Rust-heap leak verdict.
pub(crate) const ATTRIBUTION_CALLS: u64 = 32;

/// Frames of the allocator, the standard library and the harness, skipped in allocation stacks.
const PLUMBING: [&str; 12] = [
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
pub(crate) fn allocation_sites(
    live: Vec<memsight::heap::TrackedAlloc>,
) -> Vec<crate::AllocationSite> {
    let mut sites: Vec<crate::AllocationSite> = Vec::new();
    for t in live {
        let text = t.backtrace.to_string();
        let mut stack = Vec::new();
        let mut lines = text.lines().peekable();
        while let Some(line) = lines.next() {
            let trimmed = line.trim();
            let Some((num, func)) = trimmed.split_once(": ") else {
                continue;
            };
            if !num.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            let at = lines
                .peek()
                .and_then(|l| l.trim().strip_prefix("at "))
                .map(str::to_owned);
            let loc = at.as_deref().unwrap_or("");
            if func.starts_with("memsight_leak::") || loc.contains("memsight-leak/src/driver.rs") {
                break; // the harness calling the function: the stack above is the user's
            }
            // Optimised builds name inlined frames without their path (`{closure#0}`), so the
            // source location decides too: the standard library's and memsight's allocator.
            let plumbing = PLUMBING.iter().any(|p| func.starts_with(p))
                || loc.starts_with("/rustc/")
                || loc.contains("/library/std/")
                || loc.contains("/library/alloc/")
                || loc.contains("/library/core/")
                || loc.contains("src/heap/counting.rs");
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
            None => sites.push(crate::AllocationSite {
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
