//! The optional background thread that runs `run_pending_tasks`.

use super::Cache;
use std::hash::{BuildHasher, Hash};
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Starts the thread. It holds only a weak reference, and ends as soon as
/// the last handle to the cache is dropped (the sender lives in the cache).
pub(super) fn spawn<K, V, S>(cache: &Cache<K, V, S>, interval: Duration)
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher + Send + Sync + 'static,
{
    let (tx, rx) = channel::<()>();
    let weak: Weak<_> = Arc::downgrade(&cache.inner);
    let spawned = std::thread::Builder::new().name("embercache-housekeeper".into()).spawn(move || {
        loop {
            match rx.recv_timeout(interval) {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            }
            let Some(inner) = weak.upgrade() else { return };
            inner.engine.run_pending_tasks();
        }
    });
    if spawned.is_ok() {
        *cache.inner.housekeeper.lock() = Some(tx);
    }
}
