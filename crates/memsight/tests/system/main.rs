//! System-wide figures: memory and swap from fixtures and from this machine, counters that must
//! saturate rather than wrap, disk and network counters. One test binary for the topic (each file
//! a module): every binary links the whole library with its debug info.

mod info_disk_net;
mod overflow_saturates;
mod system_fixtures;
mod system_live;
