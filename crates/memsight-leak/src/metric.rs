//! What the harness watches.

use std::fmt;

/// One figure the harness samples before and after every batch of calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Metric {
    /// Live bytes of the Rust heap, exact, by requested size. Needs
    /// [`memsight::heap::CountingAlloc`] as the global allocator; blocks are reported alongside.
    RustHeap,
    /// glibc `mallinfo2().uordblks`: bytes in allocated chunks of every arena (C and Rust
    /// allocations alike, in chunk sizes). Windows: bytes of busy blocks in every process heap
    /// (`HeapWalk`: `HeapAlloc`, and Rust's `System` allocator, which uses it).
    HeapUsed,
    /// glibc `mallinfo2().hblkhd`: bytes in chunks malloc mmapped itself (>= 128 KiB). Windows:
    /// committed private read-write regions outside the heaps (`VirtualAlloc`).
    MmapUsed,
    /// Windows only: the process's heaps (`GetProcessHeaps`), one more for each `HeapCreate`
    /// not yet destroyed. A resource, judged like [`Metric::Fds`].
    #[cfg(windows)]
    HeapCount,
    /// Unique set size, dirty part: `Private_Dirty + Private_Hugetlb` of
    /// `/proc/self/smaps_rollup`, bytes. psutil's USS also adds `Private_Clean`, but clean file
    /// pages flip between private and shared as other processes mapping the same binary start
    /// and exit (parallel test processes do), while leaked memory is always dirty. Linux only: on
    /// Windows it needs a walk of the whole working set, and [`Metric::Rss`] and [`Metric::Vms`]
    /// (working set, private bytes) already watch the process's memory there.
    Uss,
    /// Resident set size from `/proc/self/statm`, bytes. Windows: the working set
    /// (`GetProcessMemoryInfo` `WorkingSetSize`).
    Rss,
    /// Virtual memory size from `/proc/self/statm`, bytes. Windows: private bytes
    /// (`GetProcessMemoryInfo` `PrivateUsage`), psutil's `vms` there.
    Vms,
    /// Number of lines of `/proc/self/maps`. Linux only: not checked on Windows (VirtualAlloc'd
    /// regions show in [`Metric::MmapUsed`]).
    Maps,
    /// Bytes in anonymous mappings of `/proc/self/maps` (raw `mmap()` leaks, invisible to malloc).
    /// Linux only, like [`Metric::Maps`].
    MapsAnon,
    /// Open file descriptors (`/proc/self/fd`), compared after a short settle. Windows: open
    /// handles (`GetProcessHandleCount`), named `handles` in reports.
    Fds,
    /// Threads (`/proc/self/task`), compared after a short settle. Windows: a Toolhelp snapshot's
    /// threads of this process.
    Threads,
    /// Child processes not yet waited for, zombies included (`/proc/self/task/*/children`),
    /// compared after a short settle: a function that forks and never waits leaks them.
    /// Windows: running processes whose parent is this one (a Toolhelp snapshot).
    Children,
    /// A figure read by a [`Probe`](crate::Probe) added with
    /// [`LeakTest::probe`](crate::LeakTest::probe) (a front end's own: Python's allocated blocks,
    /// gc garbage, Python threads).
    Probe(ProbeMetric),
}

/// The built-in metrics.
pub(crate) const N: usize = if cfg!(windows) { 12 } else { 11 };
/// At most this many [`Probe`](crate::Probe)s per check.
pub(crate) const MAX_PROBES: usize = 4;
/// Room for every metric of a check: the built-in ones, then the probes'.
pub(crate) const SLOTS: usize = N + MAX_PROBES;

/// How a [`Probe`](crate::Probe)'s figure is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProbeKind {
    /// Bytes, exact: judged batch by batch with no noise floor, like the Rust heap.
    Bytes,
    /// A count, exact: judged batch by batch with no noise floor (e.g. Python's allocated blocks).
    Count,
    /// A resource count (e.g. live Python threads, gc garbage): compared after a settle in
    /// one-call windows and over batches, like fds and threads; a leak ends the check with
    /// [`LeakError::Unclosed`](crate::LeakError::Unclosed).
    Resource,
}

/// A [`Probe`](crate::Probe)'s metric: its name, kind and place in the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProbeMetric {
    pub(crate) slot: u8,
    pub(crate) name: &'static str,
    pub(crate) kind: ProbeKind,
}

impl ProbeMetric {
    /// How the figure is judged.
    pub fn kind(&self) -> ProbeKind {
        self.kind
    }
}

impl Metric {
    /// Every metric, in report order.
    pub const ALL: [Metric; N] = [
        Metric::RustHeap,
        Metric::HeapUsed,
        Metric::MmapUsed,
        #[cfg(windows)]
        Metric::HeapCount,
        Metric::Uss,
        Metric::Rss,
        Metric::Vms,
        Metric::Maps,
        Metric::MapsAnon,
        Metric::Fds,
        Metric::Threads,
        Metric::Children,
    ];

    /// The metric's place in a [`Batch`](crate::Batch)'s deltas.
    pub(crate) fn index(self) -> usize {
        match self {
            Metric::RustHeap => 0,
            Metric::HeapUsed => 1,
            Metric::MmapUsed => 2,
            Metric::Uss => 3,
            Metric::Rss => 4,
            Metric::Vms => 5,
            Metric::Maps => 6,
            Metric::MapsAnon => 7,
            Metric::Fds => 8,
            Metric::Threads => 9,
            Metric::Children => 10,
            #[cfg(windows)]
            Metric::HeapCount => 11,
            Metric::Probe(p) => N + usize::from(p.slot),
        }
    }

    /// The short name used in reports (psleak's keys where it has one: `heap`, `mmap`, `uss`,
    /// `rss`, `vms`). Windows: `handles` for [`Metric::Fds`], `heaps` for the heap count.
    pub fn name(self) -> &'static str {
        match self {
            Metric::RustHeap => "rust_heap",
            Metric::HeapUsed => "heap",
            Metric::MmapUsed => "mmap",
            #[cfg(windows)]
            Metric::HeapCount => "heaps",
            Metric::Uss => "uss",
            Metric::Rss => "rss",
            Metric::Vms => "vms",
            Metric::Maps => "maps",
            Metric::MapsAnon => "maps_anon",
            #[cfg(not(windows))]
            Metric::Fds => "fds",
            #[cfg(windows)]
            Metric::Fds => "handles",
            Metric::Threads => "threads",
            Metric::Children => "children",
            Metric::Probe(p) => p.name,
        }
    }

    /// Whether the figure is in bytes (otherwise it is a count).
    pub fn is_bytes(self) -> bool {
        match self {
            Metric::Maps | Metric::Fds | Metric::Threads | Metric::Children => false,
            #[cfg(windows)]
            Metric::HeapCount => false,
            Metric::Probe(p) => p.kind == ProbeKind::Bytes,
            _ => true,
        }
    }

    /// RSS and USS: page-granular figures that also move for reasons outside the function (a
    /// stack page touched deeper, page reclaim, transparent huge pages, sibling processes).
    /// They can establish a leak (growth in 7 of 8 batches) and they hold back a pass when they
    /// grew in every one of the clean batches, but a one-off page does not reset the count.
    pub fn is_page_granular(self) -> bool {
        matches!(self, Metric::Rss | Metric::Uss)
    }

    /// Whether a leak on this metric is followed by the native allocation-site phase
    /// ([`crate::sites`]): the native heap, mmap, USS, RSS, VMS, anonymous mappings and byte or
    /// count probes. Not the Rust heap (its sites come from `CountingAlloc`'s own tracking) nor
    /// resources (named by their items).
    pub fn has_sites(self) -> bool {
        match self {
            Metric::HeapUsed
            | Metric::MmapUsed
            | Metric::Uss
            | Metric::Rss
            | Metric::Vms
            | Metric::MapsAnon => true,
            Metric::Probe(p) => p.kind != ProbeKind::Resource,
            _ => false,
        }
    }

    /// Fds, threads, child processes and [`ProbeKind::Resource`] probes: resources compared
    /// with a settle, reported by name on failure.
    pub fn is_resource(self) -> bool {
        match self {
            Metric::Fds | Metric::Threads | Metric::Children => true,
            #[cfg(windows)]
            Metric::HeapCount => true,
            Metric::Probe(p) => p.kind == ProbeKind::Resource,
            _ => false,
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of [`Metric`]s to check (psleak's `Checkers`). The default is every built-in metric;
/// a probe's metric is checked whenever its probe is added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkers(u16);

impl Default for Checkers {
    fn default() -> Self {
        Checkers::all()
    }
}

impl Checkers {
    /// Every built-in metric.
    pub const fn all() -> Checkers {
        Checkers((1 << N) - 1)
    }

    /// No metric.
    pub const fn none() -> Checkers {
        Checkers(0)
    }

    /// Only these metrics.
    pub fn only(metrics: &[Metric]) -> Checkers {
        metrics.iter().fold(Checkers::none(), |c, &m| c.with(m))
    }

    /// Every metric except these.
    pub fn exclude(metrics: &[Metric]) -> Checkers {
        metrics.iter().fold(Checkers::all(), |c, &m| c.without(m))
    }

    /// This set plus `m`.
    pub fn with(self, m: Metric) -> Checkers {
        Checkers(self.0 | 1 << m.index())
    }

    /// This set minus `m`.
    pub fn without(self, m: Metric) -> Checkers {
        Checkers(self.0 & !(1 << m.index()))
    }

    /// Whether `m` is in the set.
    pub fn contains(self, m: Metric) -> bool {
        self.0 & (1 << m.index()) != 0
    }

    /// The built-in metrics in the set, in report order.
    pub fn iter(self) -> impl Iterator<Item = Metric> {
        Metric::ALL.into_iter().filter(move |&m| self.contains(m))
    }
}

/// Which threads' Rust-heap allocations count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Threads {
    /// Every thread of the process (the default): catches leaks made on worker threads. Right
    /// under cargo-nextest (one process per test) or `cargo test -- --test-threads=1`.
    #[default]
    All,
    /// Only the calling thread's net Rust-heap allocations ([`memsight::heap::CountingAlloc`]
    /// `thread_stats`). For `cargo test`'s parallel thread-per-test runner, where other tests
    /// allocate at the same time. Process-wide metrics (native heap, RSS, fds, ...) cannot be
    /// attributed to a thread, so unless [`LeakTest::checkers`](crate::LeakTest::checkers) is set
    /// explicitly only [`Metric::RustHeap`] is checked in this mode.
    Calling,
}
