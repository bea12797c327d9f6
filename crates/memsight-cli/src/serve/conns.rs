//! The connection table: at most `--max-connections` clients at once, and no client can lock the
//! others out by holding connections open.
//!
//! Each connection is either *serving* (a request of its is being answered) or *waiting* (idle
//! between keep-alive requests, or still sending its request head). When a client connects and
//! the table is full, the connection that has been waiting longest is closed to make room; only
//! when every connection is being served at that instant is the newcomer refused. A holder that
//! sends a tiny request now and then therefore keeps its slot only until someone else needs it,
//! while a scrape in progress is never cut. A freshly accepted connection counts as waiting since
//! its accept, so it is the last candidate, not the first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use tokio::sync::Notify;

/// The table, shared by the accept loop and every connection task.
#[derive(Debug)]
pub struct Connections {
    limit: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    next_id: u64,
    entries: HashMap<u64, Entry>,
}

#[derive(Debug)]
struct Entry {
    /// `None` while serving; else since when the connection has been waiting.
    waiting_since: Option<Instant>,
    /// Notified when the connection is evicted; its task then drops it (closing the socket).
    evict: Arc<Notify>,
}

impl Connections {
    /// An empty table holding at most `limit` connections.
    pub fn new(limit: usize) -> Arc<Connections> {
        Arc::new(Connections {
            limit,
            inner: Mutex::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes room for a new connection (evicting the one waiting longest if the table is full)
    /// and registers it; `None` when every connection is being served.
    pub fn admit(self: &Arc<Self>) -> Option<Slot> {
        let mut inner = self.lock();
        if inner.entries.len() >= self.limit {
            let oldest = inner
                .entries
                .iter()
                .filter_map(|(id, e)| e.waiting_since.map(|since| (since, *id)))
                .min()
                .map(|(_, id)| id)?;
            if let Some(evicted) = inner.entries.remove(&oldest) {
                evicted.evict.notify_one();
            }
        }
        let id = inner.next_id;
        inner.next_id += 1;
        let evict = Arc::new(Notify::new());
        inner.entries.insert(
            id,
            Entry {
                waiting_since: Some(Instant::now()),
                evict: evict.clone(),
            },
        );
        Some(Slot {
            handle: Handle {
                table: self.clone(),
                id,
            },
            evict,
        })
    }

    /// Connections in the table now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

/// One admitted connection's place in the table; dropping it frees the place.
#[derive(Debug)]
pub struct Slot {
    handle: Handle,
    evict: Arc<Notify>,
}

impl Slot {
    /// Completes when the connection has been evicted to make room for another.
    pub async fn evicted(&self) {
        self.evict.notified().await;
    }

    /// A handle for the request service, to mark the connection serving.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.handle.table.lock().entries.remove(&self.handle.id);
    }
}

/// Marks a connection serving while a request is answered.
#[derive(Debug, Clone)]
pub struct Handle {
    table: Arc<Connections>,
    id: u64,
}

impl Handle {
    /// Marks the connection serving until the returned guard is dropped (the response is ready),
    /// when it is waiting again.
    pub fn serving(&self) -> Serving {
        self.set_waiting(None);
        Serving(self.clone())
    }

    fn set_waiting(&self, since: Option<Instant>) {
        if let Some(entry) = self.table.lock().entries.get_mut(&self.id) {
            entry.waiting_since = since;
        }
    }
}

/// See [`Handle::serving`].
#[derive(Debug)]
pub struct Serving(Handle);

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.set_waiting(Some(Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_table_evicts_the_longest_waiting_and_never_one_serving() {
        let table = Connections::new(3);
        let a = table.admit().unwrap();
        let b = table.admit().unwrap();
        let c = table.admit().unwrap();
        let _busy_a = a.handle().serving();
        // b waits longest (a is serving): b goes.
        let d = table.admit().unwrap();
        assert_eq!(table.len(), 3);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(1), b.evicted())
                .await
                .expect("b was told to close");
        });
        drop(b);
        assert_eq!(table.len(), 3);
        let _busy_c = c.handle().serving();
        let busy_d = d.handle().serving();
        // Everyone is serving: the newcomer is refused.
        assert!(table.admit().is_none());
        drop(busy_d);
        // d waits again: it makes room for e.
        let _e = table.admit().unwrap();
        assert_eq!(table.len(), 3);
        drop(a);
        assert_eq!(table.len(), 2);
    }
}
