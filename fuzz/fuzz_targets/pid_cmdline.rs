//! Fuzzes memsight's `pid_cmdline` parser (see `memsight::fuzzing::PARSERS`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| memsight::fuzzing::run("pid_cmdline", data));
