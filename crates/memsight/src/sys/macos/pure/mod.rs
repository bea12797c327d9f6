//! The pure half of the macOS backend: the records, the structs memsight declares itself, and
//! every conversion from raw kernel values to a record. No FFI here: this module is also compiled
//! into the Linux unit tests (`sys/mod.rs`), so each conversion is tested on every machine.
// There, the records no test builds (and helpers only the FFI side calls) are unused.
#![cfg_attr(not(target_os = "macos"), allow(dead_code))]

pub(crate) mod errors;
pub(crate) mod kinfo;
pub(crate) mod layout;
pub(crate) mod procargs;
pub(crate) mod records;
pub(crate) mod system;
pub(crate) mod uss;
