//! System-wide figures.

/// The size of a memory page in bytes, from `sysconf(_SC_PAGESIZE)`.
pub fn page_size() -> u64 {
    rustix::param::page_size() as u64
}
