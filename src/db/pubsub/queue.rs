//! Bounded per-subscriber queues, shared by pub/sub and keyspace
//! notifications: the publishing side ([`Outbox`]) never blocks; when a
//! subscriber's queue is full the item is dropped and counted on the
//! subscriber's side ([`Inbox::dropped`]). Once the [`Inbox`] is dropped the
//! outbox reports [`Sent::Gone`] so the registry can forget it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// A queue of at most `capacity` items (at least one).
pub(crate) fn bounded<T>(capacity: usize) -> (Outbox<T>, Inbox<T>) {
    bounded_with_wake(capacity, None)
}

/// Called after an item is queued (or dropped for a full queue), so an
/// asynchronous subscriber can be woken (the server's connections).
pub(crate) type Wake = Arc<dyn Fn() + Send + Sync>;

/// [`bounded`], calling `wake` after each send that reached the queue.
pub(crate) fn bounded_with_wake<T>(capacity: usize, wake: Option<Wake>) -> (Outbox<T>, Inbox<T>) {
    let (tx, rx) = sync_channel(capacity.max(1));
    let dropped = Arc::new(AtomicU64::new(0));
    (Outbox { tx, dropped: Arc::downgrade(&dropped), wake }, Inbox { rx, dropped })
}

/// What became of an item given to [`Outbox::send`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sent {
    /// Queued for the subscriber.
    Queued,
    /// The queue was full: dropped and counted.
    Dropped,
    /// The subscriber is gone.
    Gone,
}

/// The publishing end of a subscriber's queue.
pub(crate) struct Outbox<T> {
    tx: SyncSender<T>,
    /// The inbox's drop counter; dead once the inbox is dropped.
    dropped: Weak<AtomicU64>,
    wake: Option<Wake>,
}

impl<T> Clone for Outbox<T> {
    fn clone(&self) -> Self {
        Outbox { tx: self.tx.clone(), dropped: Weak::clone(&self.dropped), wake: self.wake.clone() }
    }
}

impl<T> std::fmt::Debug for Outbox<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").field("alive", &self.is_alive()).finish()
    }
}

impl<T> Outbox<T> {
    /// Queues `item` without blocking.
    pub(crate) fn send(&self, item: T) -> Sent {
        let sent = self.try_send(item);
        if sent != Sent::Gone
            && let Some(wake) = &self.wake
        {
            wake();
        }
        sent
    }

    fn try_send(&self, item: T) -> Sent {
        match self.tx.try_send(item) {
            Ok(()) => Sent::Queued,
            Err(TrySendError::Full(_)) => match self.dropped.upgrade() {
                Some(d) => {
                    d.fetch_add(1, Ordering::Relaxed);
                    Sent::Dropped
                }
                None => Sent::Gone,
            },
            Err(TrySendError::Disconnected(_)) => Sent::Gone,
        }
    }

    /// Whether the subscriber still holds its inbox.
    pub(crate) fn is_alive(&self) -> bool {
        self.dropped.strong_count() > 0
    }
}

/// The subscriber's end of its queue.
#[derive(Debug)]
pub(crate) struct Inbox<T> {
    rx: Receiver<T>,
    dropped: Arc<AtomicU64>,
}

impl<T> Inbox<T> {
    /// The next item, if one is queued.
    pub(crate) fn try_recv(&self) -> Option<T> {
        self.rx.try_recv().ok()
    }

    /// The next item, waiting up to `timeout`.
    pub(crate) fn recv_timeout(&self, timeout: Duration) -> Option<T> {
        self.rx.recv_timeout(timeout).ok()
    }

    /// The counter of [`Inbox::dropped`], to watch from elsewhere.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn drop_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.dropped)
    }

    /// Items dropped because the queue was full.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_drops_and_counts_and_a_dropped_inbox_is_gone() {
        let (out, inbox) = bounded::<u32>(2);
        assert_eq!(out.send(1), Sent::Queued);
        assert_eq!(out.send(2), Sent::Queued);
        assert_eq!(out.send(3), Sent::Dropped);
        assert_eq!(inbox.dropped(), 1);
        assert_eq!(inbox.try_recv(), Some(1));
        assert_eq!(inbox.recv_timeout(Duration::from_millis(1)), Some(2));
        assert_eq!(inbox.try_recv(), None);
        assert!(out.is_alive());
        drop(inbox);
        assert!(!out.is_alive());
        assert_eq!(out.send(4), Sent::Gone);
    }

    #[test]
    fn capacity_zero_still_holds_one_item() {
        let (out, inbox) = bounded::<u32>(0);
        assert_eq!(out.send(1), Sent::Queued);
        assert_eq!(out.send(2), Sent::Dropped);
        assert_eq!(inbox.try_recv(), Some(1));
    }
}
