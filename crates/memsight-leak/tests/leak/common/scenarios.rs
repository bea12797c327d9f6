//! The leak and clean scenarios, shared by the integration tests, `examples/scenarios.rs` and
//! `scripts/bench-leak-vs-psleak.sh`: leaks that must be caught and clean functions that must pass.
#![allow(unsafe_code)]

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::OnceLock;

use super::clib::CLib;

/// Whether a scenario leaks (must be caught) or not (must pass).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Leak,
    Clean,
}

/// Names and expectations, in the order the bench script prints them.
pub const ALL: &[(&str, Expect)] = &[
    ("rust_box_leak_16", Expect::Leak),
    ("c_malloc_16", Expect::Leak),
    ("c_malloc_1_every_10", Expect::Leak),
    ("c_malloc_1_every_100", Expect::Leak),
    ("c_malloc_1024_every_64", Expect::Leak),
    ("c_mmap_4k", Expect::Leak),
    ("c_mmap_1m_touched", Expect::Leak),
    ("c_fd", Expect::Leak),
    ("c_thread", Expect::Leak),
    ("c_worker_thread_malloc_64", Expect::Leak),
    ("rust_worker_thread_leak", Expect::Leak),
    ("rust_vec_string_hashmap", Expect::Clean),
    ("c_malloc_free_64", Expect::Clean),
    ("c_malloc_free_1m", Expect::Clean),
    ("c_open_close", Expect::Clean),
    ("rust_file_open_close", Expect::Clean),
    ("c_spawn_join", Expect::Clean),
    ("rust_spawn_join", Expect::Clean),
    ("rust_bounded_cache_1000", Expect::Clean),
    ("rust_oncelock_lazy_init", Expect::Clean),
];

/// A fresh closure for scenario `name` (each has its own state: counters, caches).
pub fn make(name: &str, c: &'static CLib) -> Option<Box<dyn FnMut()>> {
    // SAFETY (all `unsafe` blocks below): the C functions take plain integers, touch only memory
    // they allocate themselves, and are safe to call from any thread.
    Some(match name {
        "rust_box_leak_16" => Box::new(|| {
            black_box(Box::leak(Box::new([0u8; 16])));
        }),
        "c_malloc_16" => Box::new(move || unsafe { (c.leak_malloc)(16) }),
        "c_malloc_1_every_10" => Box::new(move || unsafe { (c.leak_every)(1, 10) }),
        "c_malloc_1_every_100" => Box::new(move || unsafe { (c.leak_every)(1, 100) }),
        "c_malloc_1024_every_64" => Box::new(move || unsafe { (c.leak_every)(1024, 64) }),
        "c_mmap_4k" => Box::new(move || unsafe { (c.leak_mmap)(4096) }),
        "c_mmap_1m_touched" => Box::new(move || unsafe { (c.leak_mmap_touched)(1 << 20) }),
        "c_fd" => Box::new(move || {
            black_box(unsafe { (c.leak_fd)() });
        }),
        "c_thread" => Box::new(move || unsafe { (c.leak_thread)() }),
        "c_worker_thread_malloc_64" => Box::new(move || unsafe { (c.leak_on_worker)() }),
        "rust_worker_thread_leak" => {
            // A long-lived worker that leaks 24 bytes per job; the caller only sends and waits.
            let (tx, rx) = std::sync::mpsc::channel::<std::sync::mpsc::SyncSender<()>>();
            std::thread::Builder::new()
                .name("leaky-worker".into())
                .spawn(move || {
                    for done in rx {
                        black_box(Box::leak(Box::new([1u64; 3])));
                        let _ = done.send(());
                    }
                })
                .unwrap();
            let (dtx, drx) = std::sync::mpsc::sync_channel(1);
            Box::new(move || {
                tx.send(dtx.clone()).unwrap();
                drx.recv().unwrap();
            })
        }
        "rust_vec_string_hashmap" => Box::new(|| {
            let v: Vec<u64> = (0..100).collect();
            let s = format!("{:?}", &v[..10]);
            let mut m = HashMap::new();
            for (i, x) in v.iter().enumerate() {
                m.insert(*x, i);
            }
            black_box((v, s, m));
        }),
        "c_malloc_free_64" => Box::new(move || unsafe { (c.malloc_free)(64) }),
        "c_malloc_free_1m" => Box::new(move || unsafe { (c.malloc_free)(1 << 20) }),
        "c_open_close" => Box::new(move || unsafe { (c.open_close)() }),
        "rust_file_open_close" => Box::new(|| {
            let f = std::fs::File::open("/etc/hostname").unwrap();
            black_box(f.metadata().unwrap().len());
        }),
        "c_spawn_join" => Box::new(move || unsafe { (c.spawn_join)() }),
        "rust_spawn_join" => Box::new(|| {
            black_box(std::thread::spawn(|| black_box(1 + 1)).join().unwrap());
        }),
        "rust_bounded_cache_1000" => {
            // Grows by one 64-byte entry per call for 1,000 calls, then stops.
            let mut cache: HashMap<u64, [u8; 64]> = HashMap::new();
            let mut i = 0u64;
            Box::new(move || {
                if cache.len() < 1000 {
                    cache.insert(i, [0; 64]);
                }
                i += 1;
                black_box(&cache);
            })
        }
        "rust_oncelock_lazy_init" => Box::new(|| {
            static TABLE: OnceLock<Vec<String>> = OnceLock::new();
            let t = TABLE.get_or_init(|| (0..100).map(|i| i.to_string()).collect());
            black_box(t.len());
        }),
        _ => return None,
    })
}
