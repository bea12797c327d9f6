//! Every process's RSS and VMS through `process_iter()` + `memory_info()`, the most common call,
//! for counting its system calls per process:
//! `strace -f -c cargo run --release -p memsight --example rss_all` (or `-e trace=%file,read,close`).
//! Prints the number of processes read and their total RSS.

fn main() -> memsight::Result<()> {
    let (mut count, mut rss) = (0u64, 0u64);
    for process in memsight::process_iter() {
        if let Ok(info) = process?.memory_info() {
            count += 1;
            rss += info.rss;
        }
    }
    println!("{count} processes, {rss} bytes resident");
    Ok(())
}
