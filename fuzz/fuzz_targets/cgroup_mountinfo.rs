//! Fuzzes memsight's `cgroup_mountinfo` parser (see `memsight::fuzzing::PARSERS`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| memsight::fuzzing::run("cgroup_mountinfo", data));
