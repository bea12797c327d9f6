//! Fuzzes memsight's `freebsd_buffers` parser (see `memsight::fuzzing::PARSERS`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| memsight::fuzzing::run("freebsd_buffers", data));
