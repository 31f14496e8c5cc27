//! The flusher thread of a [`WriteBehind`](super::WriteBehind): takes
//! batches from the queue, writes them with retries, reports failures.
//!
//! Each round waits (on the queue's lock, released while waiting) until a
//! batch is ready, a flush or shutdown is asked for, or the interval ends;
//! then takes up to `batch_size` keys, or the whole queue for a flush or
//! shutdown, and writes them in `write_many` calls of at most `batch_size`
//! without the lock. The taken batch stays visible to lookups until it is
//! written. The thread ends when shutdown is asked and the queue is empty.

use super::error::{FailedBatch, WriteFailure};
use super::{Batch, Shared, State, bump};
use crate::cache::write::Writer;
use parking_lot::MutexGuard;
use std::hash::Hash;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

/// Starts the flusher thread.
pub(super) fn spawn<K, V, W>(shared: Arc<Shared<K, V, W>>) -> std::io::Result<JoinHandle<()>>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    W: Writer<K, V>,
    W::Error: 'static,
{
    std::thread::Builder::new().name("embercache-write-behind".into()).spawn(move || {
        let _stopped = Stopped(&shared);
        run(&shared);
    })
}

/// Marks the flusher stopped however it ends (a panic included), waking
/// everyone who waits on it.
struct Stopped<'a, K, V, W: Writer<K, V>>(&'a Shared<K, V, W>);

impl<K, V, W: Writer<K, V>> Drop for Stopped<'_, K, V, W> {
    fn drop(&mut self) {
        self.0.state.lock().running = false;
        self.0.flushed.notify_all();
        self.0.room.notify_all();
    }
}

/// One round's work, taken from the queue.
struct Round<K, V> {
    batch: Batch<K, V>,
    /// The flush this round completes, if it took the whole queue.
    flush: Option<u64>,
}

fn run<K, V, W>(shared: &Shared<K, V, W>)
where
    K: Hash + Eq + Clone,
    V: Clone,
    W: Writer<K, V>,
{
    let config = &shared.config;
    let trigger = config.batch_size.min(config.capacity);
    let mut s = shared.state.lock();
    loop {
        let deadline = Instant::now() + config.interval;
        while !(s.closing || s.requested > s.done || s.pending.len() >= trigger) {
            if shared.wake.wait_until(&mut s, deadline).timed_out() {
                break;
            }
        }
        let Some(round) = take(&mut s, config.batch_size) else {
            shared.flushed.notify_all();
            if s.closing {
                return;
            }
            continue;
        };
        shared.room.notify_all();
        drop(s);
        let failed: Vec<_> = round.batch.chunks(config.batch_size).filter(|c| !write(shared, c)).collect();
        s = shared.state.lock();
        s.in_flight = None;
        for (key, _) in failed.into_iter().flatten() {
            if !s.pending.contains_key(key) {
                shared.cache.remove(key);
            }
        }
        if let Some(epoch) = round.flush {
            s.done = epoch;
            shared.flushed.notify_all();
        }
    }
}

/// Takes this round's batch: the whole queue if a flush or shutdown is
/// asked for, else up to `batch_size` keys. `None` if there is nothing to
/// write (a flush asked for then is done at once).
fn take<K: Hash + Eq, V>(s: &mut MutexGuard<'_, State<K, V>>, batch_size: usize) -> Option<Round<K, V>> {
    let whole = s.closing || s.requested > s.done;
    let flush = whole.then_some(s.requested);
    let batch: Arc<[(K, Option<V>)]> =
        if whole { s.pending.drain().collect() } else { s.pending.extract_if(|_, _| true).take(batch_size).collect() };
    if batch.is_empty() {
        if let Some(epoch) = flush {
            s.done = epoch;
        }
        return None;
    }
    s.in_flight = Some(Arc::clone(&batch));
    Some(Round { batch, flush })
}

/// Writes one chunk, retrying as the policy says. Returns whether it was
/// written; reports it to the callback if not.
fn write<K, V, W: Writer<K, V>>(shared: &Shared<K, V, W>, chunk: &[(K, Option<V>)]) -> bool {
    let retry = shared.config.retry;
    let c = &shared.counters;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let failure = match catch_unwind(AssertUnwindSafe(|| shared.writer.write_many(chunk))) {
            Ok(Ok(())) => {
                bump(&c.batches, 1);
                bump(&c.written, chunk.len() as u64);
                return true;
            }
            Ok(Err(e)) => WriteFailure::Writer(e),
            Err(_) => WriteFailure::Panicked,
        };
        if attempts > retry.max_retries {
            bump(&c.failures, 1);
            bump(&c.dropped, chunk.len() as u64);
            if let Some(on_error) = &shared.on_error {
                let report = FailedBatch { entries: chunk, failure, attempts };
                // A panicking callback must not stop the flusher.
                let _ = catch_unwind(AssertUnwindSafe(|| on_error(&report)));
            }
            return false;
        }
        bump(&c.retries, 1);
        std::thread::sleep(retry.delay(attempts));
    }
}
