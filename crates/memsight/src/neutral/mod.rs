//! Types and rules every backend shares: one definition, so the four operating systems cannot
//! drift apart and docs.rs shows one type whatever the build.

pub(crate) mod family;
pub(crate) mod maps;
mod memtype;
#[cfg(unix)]
pub(crate) mod name;
pub(crate) mod numbers;
mod status;

pub use memtype::MemType;
pub(crate) use memtype::percent_of_ram;
pub use status::ProcessStatus;

/// The operating systems memsight has a backend for: which [`MemType`] names each accepts is
/// psutil's per-OS table. The pure conversions of every OS are also built into the Linux unit
/// tests, so the tables are chosen by value, not only by `cfg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) enum Os {
    Linux,
    Windows,
    Macos,
    FreeBsd,
}

impl Os {
    /// The system this build runs on.
    #[cfg(target_os = "linux")]
    pub(crate) const HERE: Os = Os::Linux;
    /// The system this build runs on.
    #[cfg(windows)]
    pub(crate) const HERE: Os = Os::Windows;
    /// The system this build runs on.
    #[cfg(target_os = "macos")]
    pub(crate) const HERE: Os = Os::Macos;
    /// The system this build runs on.
    #[cfg(target_os = "freebsd")]
    pub(crate) const HERE: Os = Os::FreeBsd;
}
