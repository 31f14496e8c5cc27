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
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn add(&self, observer: &Arc<dyn Observer>) {
        let mut list = self.list.write();
        list.retain(|o| o.strong_count() > 0);
        list.push(Arc::downgrade(observer));
    }

    /// Forgets `observer` (registered with [`Observers::add`]).
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn remove(&self, observer: &Arc<dyn Observer>) {
        let target = Arc::as_ptr(observer).cast::<()>();
        self.list.write().retain(|o| o.strong_count() > 0 && o.as_ptr().cast::<()>() != target);
    }

    /// An observer starts (`true`) or stops (`false`) wanting changes; calls
    /// must pair up.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;
    use parking_lot::Mutex;

    #[derive(Default)]
    struct Log(Mutex<Vec<Vec<u8>>>, Mutex<usize>);

    impl Observer for Log {
        fn modified(&self, key: &[u8]) {
            self.0.lock().push(key.to_vec());
        }
        fn flushed(&self) {
            *self.1.lock() += 1;
        }
    }

    /// Every write command that changes a key reports it (what WATCH and
    /// tracking rely on); a write that changes nothing reports nothing.
    #[test]
    fn every_change_is_reported() {
        let db = Db::new();
        let log = Arc::new(Log::default());
        let o: Arc<dyn Observer> = log.clone();
        db.observe(&o);
        db.inner.observers.interest(true);
        let setup: &[&[&str]] = &[
            &["SET", "s", "1"],
            &["RPUSH", "l", "a", "b"],
            &["HSET", "h", "f", "v"],
            &["SADD", "set", "m"],
            &["ZADD", "z", "1", "m"],
            &["SET", "src", "x"],
        ];
        let changes: &[(&[&str], &str)] = &[
            (&["SET", "s", "2"], "s"),
            (&["GETSET", "s", "3"], "s"),
            (&["APPEND", "s", "x"], "s"),
            (&["SETRANGE", "s", "0", "y"], "s"),
            (&["INCRBY", "n", "2"], "n"),
            (&["INCRBYFLOAT", "f", "1.5"], "f"),
            (&["SETBIT", "b", "3", "1"], "b"),
            (&["PFADD", "hll", "a"], "hll"),
            (&["MSET", "m1", "1"], "m1"),
            (&["GETEX", "s", "EX", "100"], "s"),
            (&["PERSIST", "s"], "s"),
            (&["EXPIRE", "s", "100"], "s"),
            (&["GETDEL", "s"], "s"),
            (&["LPUSH", "l", "c"], "l"),
            (&["LSET", "l", "0", "z"], "l"),
            (&["LINSERT", "l", "BEFORE", "z", "y"], "l"),
            (&["LREM", "l", "1", "y"], "l"),
            (&["LTRIM", "l", "0", "5"], "l"),
            (&["LMOVE", "l", "l2", "LEFT", "RIGHT"], "l2"),
            (&["RPOP", "l"], "l"),
            (&["HSET", "h", "f", "w"], "h"),
            (&["HINCRBY", "h", "n", "1"], "h"),
            (&["HDEL", "h", "f"], "h"),
            (&["SADD", "set", "m2"], "set"),
            (&["SREM", "set", "m"], "set"),
            (&["SMOVE", "set", "set2", "m2"], "set2"),
            (&["ZADD", "z", "2", "m"], "z"),
            (&["ZINCRBY", "z", "1", "m"], "z"),
            (&["ZPOPMIN", "z"], "z"),
            (&["SUNIONSTORE", "u", "set2"], "u"),
            (&["RENAME", "src", "dst"], "dst"),
            (&["COPY", "dst", "cp"], "cp"),
            (&["DEL", "cp"], "cp"),
        ];
        for cmd in setup {
            assert!(!db.execute(cmd).is_error());
        }
        for (cmd, key) in changes {
            log.0.lock().clear();
            let reply = db.execute(cmd);
            assert!(!reply.is_error(), "{cmd:?}: {reply:?}");
            assert!(log.0.lock().iter().any(|k| k == key.as_bytes()), "{cmd:?} did not report {key}");
        }
        let no_ops: &[&[&str]] =
            &[&["SADD", "set2", "m2"], &["SET", "dst", "x", "NX"], &["HDEL", "h", "nope"], &["GET", "dst"]];
        for cmd in no_ops {
            log.0.lock().clear();
            db.execute(cmd);
            assert!(log.0.lock().is_empty(), "{cmd:?} reported a change it did not make");
        }
        db.execute(&["FLUSHDB"]);
        assert_eq!(*log.1.lock(), 1);
        db.inner.observers.interest(false);
        log.0.lock().clear();
        db.execute(&["SET", "quiet", "1"]);
        assert!(log.0.lock().is_empty(), "without interest, observers are not called");
    }
}
