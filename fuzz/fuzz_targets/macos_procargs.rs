//! Fuzzes memsight's `macos_procargs` parser (see `memsight::fuzzing::PARSERS`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| memsight::fuzzing::run("macos_procargs", data));
