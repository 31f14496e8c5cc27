//! Observers of key modifications: what the server's WATCH and client-side
//! caching (CLIENT TRACKING) are built on. Every command that changes a key
//! says so with a keyspace event ([`Tx::event`](super::keyspace::Tx)), and
//! expiry, eviction and FLUSHDB are reported too; observers hear of them
//! after the command's locks are released, before its caller gets the reply.
//! With no observer registered, this costs one relaxed load per event.

use parking_lot::RwLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

/// Told of every change to a key of the `Db` it is registered with.
pub(crate) trait Observer: Send + Sync {
    /// `key` was changed (written, deleted, expired or evicted).
    fn modified(&self, key: &[u8]);
    /// Every key was removed (FLUSHDB, FLUSHALL, a snapshot replacing all).
    fn flushed(&self);
}

/// The observers of one `Db`; each is held weakly and forgotten once dropped.
#[derive(Default)]
pub(crate) struct Observers {
    /// Registered observers that want changes now (see [`Observers::interest`]).
    count: AtomicUsize,
    list: RwLock<Vec<Weak<dyn Observer>>>,
}

impl Observers {
    /// Whether anyone observes (the writers' fast check).
    #[inline]
    pub(crate) fn active(&self) -> bool {
        self.count.load(Ordering::Relaxed) != 0
    }

    /// Registers `observer` until it is dropped. It hears of changes while
    /// some observer declared an interest ([`Observers::interest`]), so a
    /// registered observer with nothing to watch costs writers nothing.
    pub(crate) fn add(&self, observer: &Arc<dyn Observer>) {
        let mut list = self.list.write();
        list.retain(|o| o.strong_count() > 0);
        list.push(Arc::downgrade(observer));
    }

    /// An observer starts (`true`) or stops (`false`) wanting changes; calls
    /// must pair up.
    pub(crate) fn interest(&self, on: bool) {
        if on {
            self.count.fetch_add(1, Ordering::Relaxed);
        } else {
            self.count.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Tells every observer that `keys` changed.
    pub(crate) fn modified<'k>(&self, keys: impl IntoIterator<Item = &'k [u8]> + Clone) {
        self.each(|o| keys.clone().into_iter().for_each(|k| o.modified(k)));
    }

    /// Tells every observer that the keyspace was emptied.
    pub(crate) fn flushed(&self) {
        self.each(|o| o.flushed());
    }

    fn each(&self, mut f: impl FnMut(&dyn Observer)) {
        let list: Vec<Arc<dyn Observer>> = self.list.read().iter().filter_map(Weak::upgrade).collect();
        list.iter().for_each(|o| f(&**o));
    }
}
