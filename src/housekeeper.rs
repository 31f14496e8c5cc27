//! Background threads of a store: the optional periodic upkeep
//! (reclaiming expired entries: `Cache`'s `run_pending_tasks`, `Db`'s
//! active expiry) and the backup schedules, all run by [`spawn`].

use std::sync::mpsc::{RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Starts a thread named `name` that calls `work` on `target` every
/// `interval`. It holds only a weak reference and ends as soon as the
/// target is dropped, or the returned sender is (keep it inside the
/// target, so that dropping the target stops the thread at once).
pub(crate) fn spawn<T: Send + Sync + 'static>(
    name: &str,
    target: &Arc<T>,
    interval: Duration,
    mut work: impl FnMut(&Arc<T>) + Send + 'static,
) -> std::io::Result<Sender<()>> {
    let (tx, rx) = channel::<()>();
    let weak: Weak<T> = Arc::downgrade(target);
    std::thread::Builder::new().name(name.into()).spawn(move || {
        loop {
            match rx.recv_timeout(interval) {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            }
            let Some(target) = weak.upgrade() else { return };
            work(&target);
        }
    })?;
    Ok(tx)
}
