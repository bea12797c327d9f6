//! Code the three Unix backends (Linux, macOS, FreeBSD) share: the same libc calls, one copy.

pub(crate) mod user;
