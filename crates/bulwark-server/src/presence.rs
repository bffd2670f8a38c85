//! Per-replica state about agents that is too hot for the database: heartbeat times, kept in
//! memory and written in one batch every few seconds (a host row is never rewritten per
//! beat), and wake-ups for agents long-polling for jobs on this replica.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bulwark_store::Store;
use tokio::sync::Notify;

#[derive(Default)]
pub struct Presence {
    seen: Mutex<HashMap<String, i64>>,
    waiters: Mutex<HashMap<String, Arc<Notify>>>,
}

impl Presence {
    pub fn beat(&self, host_id: &str, at: i64) {
        let mut seen = self.seen.lock().expect("presence lock");
        let entry = seen.entry(host_id.to_owned()).or_insert(at);
        *entry = (*entry).max(at);
    }

    /// Writes the buffered heartbeat times. On failure they are put back for the next try.
    pub async fn flush(&self, store: &dyn Store) -> bulwark_store::Result<usize> {
        // Taken rather than drained: a map that grew for a burst of agents gives its memory
        // back instead of keeping that capacity for the life of the process.
        let batch: Vec<(String, i64)> = {
            let mut seen = self.seen.lock().expect("presence lock");
            std::mem::take(&mut *seen).into_iter().collect()
        };
        if let Err(e) = store.record_seen(&batch).await {
            for (host, at) in batch {
                self.beat(&host, at);
            }
            return Err(e);
        }
        Ok(batch.len())
    }

    /// The handle a long-poll for `host_id` waits on.
    pub fn waiter(&self, host_id: &str) -> Arc<Notify> {
        self.waiters
            .lock()
            .expect("presence lock")
            .entry(host_id.to_owned())
            .or_default()
            .clone()
    }

    /// Drops the handle when no long-poll holds it any more.
    pub fn release(&self, host_id: &str, handle: Arc<Notify>) {
        let mut waiters = self.waiters.lock().expect("presence lock");
        drop(handle);
        if waiters
            .get(host_id)
            .is_some_and(|n| Arc::strong_count(n) == 1)
        {
            waiters.remove(host_id);
            shrink_after_burst(&mut waiters);
        }
    }

    /// Whether a long poll of `host_id` is waiting on this replica.
    pub fn is_waiting(&self, host_id: &str) -> bool {
        self.waiters
            .lock()
            .expect("presence lock")
            .contains_key(host_id)
    }

    /// Wakes a long-poll of `host_id` on this replica (jobs made on another replica are
    /// found by the agent's next poll).
    pub fn jobs_ready(&self, host_id: &str) {
        if let Some(n) = self.waiters.lock().expect("presence lock").get(host_id) {
            n.notify_one();
        }
    }
}

/// Gives back most of a map's memory once a burst has passed (a few thousand long polls at
/// once leave capacity for all of them), keeping headroom so steady use does not reallocate.
fn shrink_after_burst<V>(map: &mut HashMap<String, V>) {
    if map.capacity() > 1024 && map.len() < map.capacity() / 4 {
        map.shrink_to(map.len() * 2);
    }
}

/// Flushes heartbeat times every `every` and prunes spent nonces every minute, until the
/// process ends.
pub async fn run(store: Arc<dyn Store>, presence: Arc<Presence>, every: Duration) {
    let mut interval = tokio::time::interval(every);
    let mut last_prune = 0;
    loop {
        interval.tick().await;
        if let Err(e) = presence.flush(store.as_ref()).await {
            tracing::warn!(error = %e, "writing heartbeat times failed; retrying");
        }
        let now = bulwark_store::now();
        if now - last_prune >= 60 {
            last_prune = now;
            if let Err(e) = store.prune_nonces(now).await {
                tracing::warn!(error = %e, "pruning request nonces failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn buffers_that_grew_for_a_burst_give_their_memory_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = bulwark_store::testing::sqlite(dir.path()).await.unwrap();
        let presence = Presence::default();
        for i in 0..20_000 {
            presence.beat(&format!("host-{i}"), 1);
        }
        // Unknown hosts are skipped by the store; what matters is the buffer afterwards.
        let _ = presence.flush(store.as_ref()).await;
        assert_eq!(presence.seen.lock().unwrap().capacity(), 0);

        let handles: Vec<_> = (0..20_000)
            .map(|i| (format!("host-{i}"), presence.waiter(&format!("host-{i}"))))
            .collect();
        assert!(presence.waiters.lock().unwrap().capacity() >= 20_000);
        for (host, handle) in handles {
            presence.release(&host, handle);
        }
        let waiters = presence.waiters.lock().unwrap();
        assert!(waiters.is_empty());
        assert!(waiters.capacity() <= 1024 * 2, "{}", waiters.capacity());
    }
}
