//! Code the Unix backends share: the same libc calls, one copy (the user database for Linux,
//! macOS and FreeBSD; `sysctl` for macOS and FreeBSD).

#[cfg(any(target_os = "macos", target_os = "freebsd"))]
pub(crate) mod sysctl;
pub(crate) mod user;
