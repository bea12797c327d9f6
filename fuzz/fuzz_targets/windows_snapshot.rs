//! Fuzzes memsight's `windows_snapshot` parser (see `memsight::fuzzing::PARSERS`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| memsight::fuzzing::run("windows_snapshot", data));
