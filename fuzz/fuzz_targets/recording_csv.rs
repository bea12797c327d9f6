//! Fuzzes `memsight plot`'s CSV recording reader (`recording::read_csv` of the memsight-cli binary,
//! compiled here from its source: the binary has no library to link). Any bytes must give a
//! recording or an error naming the line, never a panic or a hang.
#![no_main]

#[allow(dead_code)] // the writers and the file opener are the command's, not fuzzed here
#[path = "../../crates/memsight-cli/src/recording.rs"]
mod recording;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = recording::read_csv(data);
});
