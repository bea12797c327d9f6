//! Fuzzes memsight's `net_unix` parser (see `memsight::fuzzing::PARSERS`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| memsight::fuzzing::run("net_unix", data));
