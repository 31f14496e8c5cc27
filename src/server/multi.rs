//! MULTI/EXEC/DISCARD/WATCH/UNWATCH with Redis's semantics.
//!
//! - Commands after MULTI are checked (name, arity) and queued; an error in
//!   one makes EXEC fail with `EXECABORT` and run nothing.
//! - EXEC runs the queue with every other client of the server held off
//!   (the server's gate, taken exclusively), so no command of theirs runs
//!   in between. Blocking commands in a transaction do not block.
//! - WATCH makes EXEC fail (a null reply) if any watched key was changed
//!   after the WATCH, by anyone (this client too), including by expiry,
//!   eviction or FLUSHDB/FLUSHALL. Changes are learned from the `Db`'s
//!   observers, so a command that leaves a key unchanged (SADD of a member
//!   already there) does not abort a transaction, as in Redis.
//!
//! In-process callers of the same `Db` are not held off by the gate: their
//! commands may interleave with a transaction's (each one stays atomic),
//! and their changes to watched keys do abort it.

use crate::db::observe::Observer;
use crate::db::{Db, Reply};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

/// Each watched key's watchers (their transactions' dirty flags).
type Watchers = HashMap<Box<[u8]>, Vec<Weak<AtomicBool>>, ahash::RandomState>;

/// The clients watching each key of one database index.
pub(crate) struct WatchRegistry {
    keys: Mutex<Watchers>,
    /// The database at this index (SWAPDB changes it), which this registry
    /// observes.
    db: Mutex<Db>,
    /// Whether `keys` is non-empty: the `Db` tells observers of changes
    /// only while someone is interested.
    interested: AtomicBool,
}

impl WatchRegistry {
    pub(crate) fn new(db: &Db) -> Self {
        WatchRegistry { keys: Mutex::default(), db: Mutex::new(db.clone()), interested: AtomicBool::new(false) }
    }

    fn set_interest(&self, any: bool) {
        if self.interested.swap(any, Ordering::Relaxed) != any {
            self.db.lock().inner.observers.interest(any);
        }
    }

    /// SWAPDB: aborts the transactions watching a key that exists in `a`
    /// or in `b` (the two databases swapped), as Redis 7.0 does; the other
    /// keys stay watched.
    pub(crate) fn touch_existing(&self, a: &Db, b: &Db) {
        let mut keys = self.keys.lock();
        keys.retain(|key, list| {
            let exists = a.exists(&[key]) > 0 || b.exists(&[key]) > 0;
            if exists {
                list.iter().filter_map(Weak::upgrade).for_each(|f| f.store(true, Ordering::Release));
            }
            !exists
        });
        self.set_interest(!keys.is_empty());
    }

    /// SWAPDB: this index now holds `db`; the watched keys are observed
    /// there from now on.
    pub(crate) fn rebind(self: &Arc<Self>, db: &Db) {
        let _keys = self.keys.lock();
        let me: Arc<dyn Observer> = Arc::clone(self) as Arc<dyn Observer>;
        let mut current = self.db.lock();
        current.inner.observers.remove(&me);
        db.observe(&me);
        if self.interested.load(Ordering::Relaxed) {
            current.inner.observers.interest(false);
            db.inner.observers.interest(true);
        }
        *current = db.clone();
    }

    fn watch(&self, key: &[u8], flag: &Arc<AtomicBool>) {
        let mut keys = self.keys.lock();
        let list = keys.entry(key.into()).or_default();
        list.retain(|w| w.strong_count() > 0);
        if !list.iter().any(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(flag))) {
            list.push(Arc::downgrade(flag));
        }
        self.set_interest(true);
    }

    fn unwatch(&self, key: &[u8], flag: &Arc<AtomicBool>) {
        let mut keys = self.keys.lock();
        if let Some(list) = keys.get_mut(key) {
            list.retain(|w| w.strong_count() > 0 && !std::ptr::eq(w.as_ptr(), Arc::as_ptr(flag)));
            if list.is_empty() {
                keys.remove(key);
            }
        }
        self.set_interest(!keys.is_empty());
    }

    /// Keys watched by anyone (for tests and INFO).
    pub(crate) fn watched_keys(&self) -> usize {
        self.keys.lock().len()
    }
}

impl Observer for WatchRegistry {
    fn modified(&self, key: &[u8]) {
        let mut keys = self.keys.lock();
        if let Some(list) = keys.remove(key) {
            list.iter().filter_map(Weak::upgrade).for_each(|f| f.store(true, Ordering::Release));
        }
        self.set_interest(!keys.is_empty());
    }

    fn flushed(&self) {
        let mut keys = self.keys.lock();
        for (_, list) in keys.drain() {
            list.iter().filter_map(Weak::upgrade).for_each(|f| f.store(true, Ordering::Release));
        }
        self.set_interest(false);
    }
}

/// One connection's transaction state.
#[derive(Default)]
pub(crate) struct Transaction {
    /// Commands queued since MULTI (`None`: not in MULTI).
    pub(crate) queued: Option<Vec<Vec<Vec<u8>>>>,
    /// A queued command was refused: EXEC aborts.
    pub(crate) failed: bool,
    /// Set when a watched key changes.
    dirty: Arc<AtomicBool>,
    /// (database, key, whether it existed when watched).
    watched: Vec<(usize, Box<[u8]>, bool)>,
}

impl Transaction {
    pub(crate) fn in_multi(&self) -> bool {
        self.queued.is_some()
    }

    /// WATCH `keys` of database `index`.
    pub(crate) fn watch(&mut self, registries: &[Arc<WatchRegistry>], db: &Db, index: usize, keys: &[Vec<u8>]) {
        let Some(registry) = registries.get(index) else { return };
        for key in keys {
            if self.watched.iter().any(|(i, k, _)| *i == index && **k == **key) {
                continue;
            }
            registry.watch(key, &self.dirty);
            let exists = db.exists(&[key]) > 0;
            self.watched.push((index, key.as_slice().into(), exists));
        }
    }

    /// Forgets every watched key (UNWATCH, EXEC, DISCARD, RESET).
    pub(crate) fn unwatch(&mut self, registries: &[Arc<WatchRegistry>]) {
        for (i, key) in self.watched.drain(..).map(|(i, k, _)| (i, k)) {
            if let Some(r) = registries.get(i) {
                r.unwatch(&key, &self.dirty);
            }
        }
        self.dirty.store(false, Ordering::Release);
    }

    /// Whether EXEC must abort: a watched key changed, or one that existed
    /// when watched has expired since (expiry is lazy, so it may not have
    /// been reported yet) from the database now at its index.
    pub(crate) fn watch_failed(&self, dbs: &[Db]) -> bool {
        self.dirty.load(Ordering::Acquire)
            || self
                .watched
                .iter()
                .any(|(i, k, existed)| *existed && dbs.get(*i).is_some_and(|db| db.exists(&[&**k]) == 0))
    }
}

/// The reply to EXEC after a watched key changed.
pub(crate) fn aborted() -> Reply {
    Reply::NullArray
}
