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
    /// allocations alike, in chunk sizes).
    HeapUsed,
    /// glibc `mallinfo2().hblkhd`: bytes in chunks malloc mmapped itself (>= 128 KiB).
    MmapUsed,
    /// Unique set size, dirty part: `Private_Dirty + Private_Hugetlb` of
    /// `/proc/self/smaps_rollup`, bytes. psutil's USS also adds `Private_Clean`, but clean file
    /// pages flip between private and shared as other processes mapping the same binary start
    /// and exit (parallel test processes do), while leaked memory is always dirty.
    Uss,
    /// Resident set size from `/proc/self/statm`, bytes.
    Rss,
    /// Virtual memory size from `/proc/self/statm`, bytes.
    Vms,
    /// Number of lines of `/proc/self/maps`.
    Maps,
    /// Bytes in anonymous mappings of `/proc/self/maps` (raw `mmap()` leaks, invisible to malloc).
    MapsAnon,
    /// Open file descriptors (`/proc/self/fd`), compared after a short settle.
    Fds,
    /// Threads (`/proc/self/task`), compared after a short settle.
    Threads,
}

pub(crate) const N: usize = 10;

impl Metric {
    /// Every metric, in report order.
    pub const ALL: [Metric; N] = [
        Metric::RustHeap,
        Metric::HeapUsed,
        Metric::MmapUsed,
        Metric::Uss,
        Metric::Rss,
        Metric::Vms,
        Metric::Maps,
        Metric::MapsAnon,
        Metric::Fds,
        Metric::Threads,
    ];

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The short name used in reports (psleak's keys where it has one: `heap`, `mmap`, `uss`,
    /// `rss`, `vms`).
    pub fn name(self) -> &'static str {
        match self {
            Metric::RustHeap => "rust_heap",
            Metric::HeapUsed => "heap",
            Metric::MmapUsed => "mmap",
            Metric::Uss => "uss",
            Metric::Rss => "rss",
            Metric::Vms => "vms",
            Metric::Maps => "maps",
            Metric::MapsAnon => "maps_anon",
            Metric::Fds => "fds",
            Metric::Threads => "threads",
        }
    }

    /// Whether the figure is in bytes (otherwise it is a count).
    pub fn is_bytes(self) -> bool {
        !matches!(self, Metric::Maps | Metric::Fds | Metric::Threads)
    }

    /// RSS and USS: page-granular figures that also move for reasons outside the function (a
    /// stack page touched deeper, page reclaim, transparent huge pages, sibling processes).
    /// They can establish a leak (growth in 7 of 8 batches) and they hold back a pass when they
    /// grew in every one of the clean batches, but a one-off page does not reset the count.
    pub fn is_page_granular(self) -> bool {
        matches!(self, Metric::Rss | Metric::Uss)
    }

    /// Fds and threads: resources compared with a settle, reported by name on failure.
    pub fn is_resource(self) -> bool {
        matches!(self, Metric::Fds | Metric::Threads)
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of [`Metric`]s to check (psleak's `Checkers`). The default is every metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkers(u16);

impl Default for Checkers {
    fn default() -> Self {
        Checkers::all()
    }
}

impl Checkers {
    /// Every metric.
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
    pub const fn with(self, m: Metric) -> Checkers {
        Checkers(self.0 | 1 << m as u16)
    }

    /// This set minus `m`.
    pub const fn without(self, m: Metric) -> Checkers {
        Checkers(self.0 & !(1 << m as u16))
    }

    /// Whether `m` is in the set.
    pub const fn contains(self, m: Metric) -> bool {
        self.0 & (1 << m as u16) != 0
    }

    /// The metrics in the set, in report order.
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
