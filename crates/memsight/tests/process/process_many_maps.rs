//! A process with 60,000 mappings (any user can make one) is read whole and
//! correctly. Its speed against `pmap -x` is measured by `scripts/bench-maps.sh`, not here.
#![cfg(target_os = "linux")] // /proc, ptrace modes, psutil oracles: see windows.rs for Windows
#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the test failing

use memsight_test_support as support;

use support::spawn_python_ready;

#[test]
fn memory_maps_of_60000_mappings_reads_every_line_of_proc_pid_maps() {
    // Alternating protections keep the kernel from merging neighbouring pages into one mapping.
    let kid = spawn_python_ready(
        "import mmap, time\n\
         keep = [mmap.mmap(-1, 4096, flags=mmap.MAP_PRIVATE,\n\
                           prot=mmap.PROT_READ if i % 2 else mmap.PROT_READ | mmap.PROT_WRITE)\n\
                 for i in range(60000)]\n\
         print('ready', flush=True)\n\
         time.sleep(600)\n",
    );
    let p = memsight::Process::new(kid.pid()).unwrap();
    let maps = p.memory_maps(false).unwrap();
    let lines = std::fs::read(format!("/proc/{}/maps", kid.pid()))
        .unwrap()
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    assert!(
        lines > 60_000,
        "only {lines} mappings: did the kernel merge them?"
    );
    assert_eq!(maps.len(), lines);
    let anon_pages = maps
        .iter()
        .filter(|m| m.path == "[anon]" && m.size == 4096)
        .count();
    // A few pages may merge with the interpreter's own neighbouring anonymous mappings.
    assert!(anon_pages >= 59_000, "{anon_pages} one-page anonymous maps");
    let grouped = p.memory_maps(true).unwrap();
    let anon = grouped.iter().find(|m| m.path == "[anon]").unwrap();
    assert!(anon.size >= 60_000 * 4096, "{anon:?}");
}
