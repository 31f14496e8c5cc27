//! The optional background thread that does a store's periodic upkeep
//! (reclaiming expired entries): `Cache`'s `run_pending_tasks`, `Db`'s
//! active expiry.

use std::sync::mpsc::{RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Starts a thread that calls `work` on `target` every `interval`. It holds
/// only a weak reference and ends as soon as the target is dropped, or the
/// returned sender is (keep it inside the target). `None` if the thread
/// could not be started.
pub(crate) fn spawn<T: Send + Sync + 'static>(target: &Arc<T>, interval: Duration, work: fn(&T)) -> Option<Sender<()>> {
    let (tx, rx) = channel::<()>();
    let weak: Weak<T> = Arc::downgrade(target);
    let spawned = std::thread::Builder::new().name("embercache-housekeeper".into()).spawn(move || {
        loop {
            match rx.recv_timeout(interval) {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            }
            let Some(target) = weak.upgrade() else { return };
            work(&target);
        }
    });
    spawned.ok().map(|_| tx)
}
