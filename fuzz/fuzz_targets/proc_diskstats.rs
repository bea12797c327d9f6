//! Fuzzes memsight's `proc_diskstats` parser (see `memsight::fuzzing::PARSERS`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| memsight::fuzzing::run("proc_diskstats", data));
