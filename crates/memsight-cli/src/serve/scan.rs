//! Shared scans: every scrape that arrives while a scan is running waits for that scan instead of
//! walking /proc again, so N concurrent scrapes cost one scan, and at most one scan runs at a time.
//!
//! Memory stays bounded: the scanner holds at most the in-flight scan's channel; each finished
//! scan's rendered bodies are reference-counted [`Bytes`] shared by the responses
//! that use them and freed when the last one is sent.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::watch;

use super::collect::{self, Options, Snapshot};
use super::exposition::{self, Rendered, Totals};
use super::gzip;

/// The result of one scan, as served.
#[derive(Debug)]
pub struct Scrape {
    /// Both renderings of the scan.
    pub rendered: Rendered,
    /// The gzip of each rendering (text, OpenMetrics), made by the first scrape that accepts it
    /// and shared by the others.
    gzipped: [OnceLock<Bytes>; 2],
}

impl Scrape {
    /// A scrape serving `rendered`.
    pub fn new(rendered: Rendered) -> Scrape {
        Scrape {
            rendered,
            gzipped: Default::default(),
        }
    }

    /// The body in OpenMetrics or in the text format.
    pub fn body(&self, openmetrics: bool) -> Bytes {
        if openmetrics {
            self.rendered.openmetrics.clone()
        } else {
            self.rendered.text.clone()
        }
    }

    /// [`Scrape::body`] gzip-compressed, compressed on the blocking pool the first time (a
    /// `--top all` body on a big host is megabytes) and kept for the scan's other scrapes.
    pub async fn gzipped(&self, openmetrics: bool) -> Bytes {
        let cell = &self.gzipped[usize::from(openmetrics)];
        if let Some(gz) = cell.get() {
            return gz.clone();
        }
        let body = self.body(openmetrics);
        let gz = tokio::task::spawn_blocking(move || gzip::compress(&body))
            .await
            // The pool only fails at runtime shutdown; compress here then.
            .unwrap_or_else(|_| gzip::compress(&self.body(openmetrics)));
        cell.get_or_init(|| gz).clone()
    }
}

type Slot = watch::Receiver<Option<Arc<Scrape>>>;

#[derive(Debug, Default)]
struct State {
    /// The scan being run now, if any: scrapes arriving meanwhile subscribe to it.
    in_flight: Option<Slot>,
    /// The last finished scan and when it finished, served again while younger than `max_age`.
    last: Option<(Instant, Arc<Scrape>)>,
    /// Counters across scans.
    totals: Totals,
}

/// Runs scans on the blocking pool and hands their results to every scrape that asked meanwhile.
#[derive(Debug, Clone)]
pub struct Scanner {
    options: Arc<Options>,
    state: Arc<Mutex<State>>,
}

impl Scanner {
    /// A scanner for `options`; nothing is scanned until the first scrape.
    pub fn new(options: Options) -> Scanner {
        Scanner {
            options: Arc::new(options),
            state: Arc::default(),
        }
    }

    /// The last scan's result if it finished less than `max_age` ago, else the result of the
    /// running scan if there is one, else of a new scan started now.
    /// `None` only if the scan task died (a bug), so the caller can answer 500.
    pub async fn scrape(&self) -> Option<Arc<Scrape>> {
        if let Some((finished, scrape)) = &self.lock().last
            && finished.elapsed() < self.options.max_age
        {
            return Some(scrape.clone());
        }
        let mut slot = self.subscribe();
        let result = slot.wait_for(Option::is_some).await.ok()?;
        result.clone()
    }

    /// Scans run so far (for tests and the benchmark's coalescing check).
    #[cfg(test)]
    pub fn scans(&self) -> u64 {
        self.lock().totals.scans
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn subscribe(&self) -> Slot {
        let mut state = self.lock();
        if let Some(slot) = &state.in_flight {
            return slot.clone();
        }
        let (tx, rx) = watch::channel(None);
        state.in_flight = Some(rx.clone());
        drop(state);
        let this = self.clone();
        // A detached task, so the scan finishes and is shared even if the scrape that started it
        // gives up (client gone, timeout).
        tokio::spawn(async move {
            let options = this.options.clone();
            let snap = tokio::task::spawn_blocking(move || collect::scan(&options))
                .await
                .unwrap_or_else(|_| {
                    // The scan panicked: serve an empty snapshot counting one system error.
                    let mut snap = Snapshot::default();
                    snap.errors.add(collect::ErrorKind::System);
                    snap
                });
            let totals = {
                let mut state = this.lock();
                state.totals.scans += 1;
                state.totals.errors.absorb(&snap.errors);
                state.totals
            };
            let options = this.options.clone();
            let rendered = tokio::task::spawn_blocking(move || {
                exposition::render(Arc::new(snap), &options, totals)
            })
            .await;
            // Publish and retire the slot under the lock: a scrape either subscribed before
            // (and gets this result) or after (and starts a fresh scan).
            let mut state = this.lock();
            state.in_flight = None;
            if let Ok(rendered) = rendered {
                let scrape = Arc::new(Scrape::new(rendered));
                state.last = Some((Instant::now(), scrape.clone()));
                let _ = tx.send(Some(scrape));
            }
        });
        rx
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::{GroupBy, Top};

    fn scanner() -> Scanner {
        scanner_with_max_age(std::time::Duration::ZERO)
    }

    fn scanner_with_max_age(max_age: std::time::Duration) -> Scanner {
        Scanner::new(Options {
            group_by: GroupBy::Name,
            top: Top::Count(5),
            cmdline: false,
            procfs: memsight::linux::ProcFs::default(),
            max_age,
            cgroups: crate::serve::cgroups::CgroupArgs {
                cgroup_depth: 0,
                cgroup_match: None,
                cgroup_max: 0,
            },
        })
    }

    #[test]
    fn concurrent_scrapes_share_one_scan_and_later_ones_get_a_fresh_one() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let s = scanner();
            let handles: Vec<_> = (0..16)
                .map(|_| {
                    let s = s.clone();
                    tokio::spawn(async move { s.scrape().await.unwrap() })
                })
                .collect();
            let mut results = Vec::new();
            for h in handles {
                results.push(h.await.unwrap());
            }
            // All 16 were subscribed before the single-threaded runtime let the scan finish.
            assert_eq!(s.scans(), 1);
            assert!(results.iter().all(|r| Arc::ptr_eq(r, &results[0])));
            let later = s.scrape().await.unwrap();
            assert_eq!(s.scans(), 2);
            assert!(!Arc::ptr_eq(&later, &results[0]));
            let text = std::str::from_utf8(&later.rendered.text).unwrap();
            assert!(text.contains("memsight_scans_total 2\n"), "{text}");
        });
    }

    #[test]
    fn a_recent_scan_is_served_again_until_it_is_max_age_old() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let s = scanner_with_max_age(std::time::Duration::from_millis(300));
            let first = s.scrape().await.unwrap();
            let again = s.scrape().await.unwrap();
            assert_eq!(s.scans(), 1);
            assert!(Arc::ptr_eq(&first, &again));
            tokio::time::sleep(std::time::Duration::from_millis(350)).await;
            let fresh = s.scrape().await.unwrap();
            assert_eq!(s.scans(), 2);
            assert!(!Arc::ptr_eq(&first, &fresh));
        });
    }
}
