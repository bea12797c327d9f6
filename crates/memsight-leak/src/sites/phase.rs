//! The attribution phase: after a leak verdict, a few more batches of calls with allocations
//! recorded, a snapshot of live bytes per stack after each, and the stacks that grew named.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use super::{LeakSite, SiteHooksHandle};

/// How much the attribution phase may do.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Calls per batch.
    pub(crate) batch: u64,
    /// Batches measured (the verdict's sign-test window).
    pub(crate) batches: usize,
    /// The most calls in all (the memory and call budgets left).
    pub(crate) max_calls: u64,
    /// The phase stops its batches here.
    pub(crate) deadline: Instant,
}

/// What the phase found.
#[derive(Debug, Default)]
pub(crate) struct Found {
    /// The stacks whose live bytes grew with the calls, most bytes per call first.
    pub(crate) sites: Vec<LeakSite>,
    /// What the report should say about the phase (why no sites, a panic, a full table).
    pub(crate) notes: Vec<String>,
    /// Calls made.
    pub(crate) calls: u64,
}

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

/// Runs the phase: `f` is the tested function (false: it did not fail when it had to, which
/// ends the phase early like a panic).
pub(crate) fn run(f: &mut dyn FnMut() -> bool, hooks: &[SiteHooksHandle], limits: Limits) -> Found {
    let mut found = Found::default();
    if let Some(why) = super::unsupported() {
        found.notes.push(why.to_owned());
        return found;
    }
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
    'batches: for _ in 0..limits.batches {
        for _ in 0..limits.batch {
            if found.calls >= limits.max_calls || Instant::now() >= limits.deadline {
                break 'batches;
            }
            found.calls += 1;
            if !matches!(catch_unwind(AssertUnwindSafe(&mut *f)), Ok(true)) {
                found.notes.push(format!(
                    "allocation sites: call {} of the attribution phase panicked or failed",
                    found.calls
                ));
                break 'batches;
            }
        }
    }
    drop(front);
    found
}
