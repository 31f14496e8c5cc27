//! `WriteThrough` through its public API: real threads racing writes,
//! deletes and loads over a toy database, with and without failures.

use embercache::Cache;
use embercache::cache::write::{WriteThrough, Writer};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// A toy database. With `fail_every = n > 0`, every n-th write fails,
/// half of those after reaching the table (a lost acknowledgement).
#[derive(Default)]
struct Db {
    table: Mutex<HashMap<u32, u64>>,
    calls: AtomicU64,
    fail_every: u64,
}

#[derive(Debug, PartialEq)]
struct DbDown;

impl Db {
    fn failing(every: u64) -> Self {
        Db { fail_every: every, ..Db::default() }
    }

    fn read(&self, key: &u32) -> Option<u64> {
        let v = self.table.lock().unwrap().get(key).copied();
        // A round trip's worth of delay, to widen the race windows.
        thread::yield_now();
        v
    }

    /// Decides this call's fate: `Ok` applies, `Err(true)` applies and
    /// fails, `Err(false)` fails without applying.
    fn fate(&self) -> Result<(), bool> {
        let n = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        if self.fail_every == 0 || !n.is_multiple_of(self.fail_every) {
            Ok(())
        } else {
            Err(n.is_multiple_of(2 * self.fail_every))
        }
    }

    fn apply(&self, f: impl FnOnce(&mut HashMap<u32, u64>)) -> Result<(), DbDown> {
        thread::yield_now();
        let fate = self.fate();
        thread::yield_now();
        match fate {
            Ok(()) => {
                f(&mut self.table.lock().unwrap());
                thread::yield_now();
                Ok(())
            }
            Err(applied) => {
                if applied {
                    f(&mut self.table.lock().unwrap());
                }
                Err(DbDown)
            }
        }
    }
}

impl Writer<u32, u64> for Db {
    type Error = DbDown;
    fn write(&self, key: &u32, value: &u64) -> Result<(), DbDown> {
        self.apply(|t| {
            t.insert(*key, *value);
        })
    }
    fn delete(&self, key: &u32) -> Result<(), DbDown> {
        self.apply(|t| {
            t.remove(key);
        })
    }
}

fn assert_cache_matches_db(wt: &WriteThrough<u32, u64, Db>, keys: u32) {
    for k in 0..keys {
        let cached = wt.cache().peek(&k);
        assert!(
            cached.is_none() || cached == wt.writer().read(&k),
            "key {k}: cache {cached:?}, db {:?}",
            wt.writer().read(&k)
        );
    }
}

/// Many threads put, remove and load a few hot keys, in rounds, checked
/// after each round; each value is unique (thread, round and counter), so
/// a stale value cannot pass for a fresh one.
fn race(db: Db, invalidate_on_write: bool) -> (WriteThrough<u32, u64, Db>, u64) {
    const KEYS: u32 = 4;
    const THREADS: u64 = 8;
    const ROUNDS: u64 = 60;
    const OPS: u64 = 50;
    let wt = Arc::new(WriteThrough::new(Cache::new(1_000), db).invalidate_on_write(invalidate_on_write));
    let errors = Arc::new(AtomicU64::new(0));
    for round in 0..ROUNDS {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (wt, errors) = (Arc::clone(&wt), Arc::clone(&errors));
                thread::spawn(move || {
                    for i in 0..OPS {
                        let key = ((i * 7 + t * 3) % u64::from(KEYS)) as u32;
                        let r = match (i + t) % 5 {
                            0 => wt.remove(&key),
                            1 | 2 => wt.put(key, t << 48 | round << 24 | i),
                            _ => wt.get_or_load(&key, |k| Ok(wt.writer().read(k))).map(|_| ()),
                        };
                        if r.is_err() {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_cache_matches_db(&wt, KEYS);
    }
    let wt = Arc::try_unwrap(wt).unwrap_or_else(|_| unreachable!("every thread joined"));
    (wt, errors.load(Ordering::Relaxed))
}

#[test]
fn stress_writers_and_loaders_leave_the_cache_equal_to_the_database() {
    let (wt, errors) = race(Db::default(), false);
    assert_eq!(errors, 0);
    // The races did not simply empty the cache: quiet writes and loads store.
    assert!(wt.cache().stats().hits > 0, "{:?}", wt.cache().stats());
}

#[test]
fn stress_with_invalidate_on_write() {
    let (_, errors) = race(Db::default(), true);
    assert_eq!(errors, 0);
}

#[test]
fn stress_with_failing_writes_leaves_no_stale_value_and_returns_the_errors() {
    let (wt, errors) = race(Db::failing(7), false);
    assert!(errors > 0);
    assert_eq!(errors, wt.writer().calls.load(Ordering::Relaxed) / 7);
}

#[test]
fn a_failed_write_removes_the_key_whether_or_not_it_reached_the_database() {
    let wt = WriteThrough::new(Cache::new(100), Db::failing(1));
    for (applied, value) in [(false, 5), (true, 6)] {
        wt.cache().insert(1, 4);
        assert_eq!(wt.put(1, value), Err(DbDown));
        assert_eq!(wt.cache().peek(&1), None, "applied = {applied}");
    }
    // The next read loads what the database really holds.
    let v = wt.get_or_load(&1, |k| Ok::<_, DbDown>(wt.writer().read(k))).unwrap();
    assert_eq!(v, Some(6));
    assert_eq!(wt.cache().peek(&1), Some(6));
}

#[test]
fn put_stores_remove_invalidates_and_loads_cache() {
    let wt = WriteThrough::new(Cache::new(100), Db::default());
    wt.put(1, 10).unwrap();
    assert_eq!((wt.cache().peek(&1), wt.writer().read(&1)), (Some(10), Some(10)));
    wt.remove(&1).unwrap();
    assert_eq!((wt.cache().peek(&1), wt.writer().read(&1)), (None, None));
    // Absent from the database: nothing cached.
    assert_eq!(wt.get_or_load(&1, |k| Ok::<_, DbDown>(wt.writer().read(k))), Ok(None));
    assert_eq!(wt.cache().peek(&1), None);
    // A failed load is returned and caches nothing.
    assert_eq!(wt.get_or_load(&1, |_| Err(DbDown)), Err(DbDown));
    wt.writer().table.lock().unwrap().insert(1, 11);
    assert_eq!(wt.get_or_load(&1, |k| Ok::<_, DbDown>(wt.writer().read(k))), Ok(Some(11)));
    assert_eq!(wt.get_or_load(&1, |_| -> Result<_, DbDown> { unreachable!("a hit") }), Ok(Some(11)));
}

#[test]
fn invalidate_on_write_leaves_the_next_read_to_load() {
    let wt = WriteThrough::new(Cache::new(100), Db::default()).invalidate_on_write(true);
    wt.cache().insert(1, 1);
    wt.put(1, 2).unwrap();
    assert_eq!((wt.cache().peek(&1), wt.writer().read(&1)), (None, Some(2)));
}

#[test]
fn a_panicking_writer_leaves_the_key_uncached_and_the_handshake_usable() {
    struct Panics;
    impl Writer<u32, u64> for Panics {
        type Error = DbDown;
        fn write(&self, _: &u32, v: &u64) -> Result<(), DbDown> {
            assert!(*v != 0, "the writer panics on zero");
            Ok(())
        }
        fn delete(&self, _: &u32) -> Result<(), DbDown> {
            Ok(())
        }
    }
    let wt = WriteThrough::new(Cache::new(100), Panics);
    wt.cache().insert(1, 1);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| wt.put(1, 0)));
    assert!(r.is_err());
    assert_eq!(wt.cache().peek(&1), None);
    // The stripe is not left counting a write in progress: the next one stores.
    wt.put(1, 2).unwrap();
    assert_eq!(wt.cache().peek(&1), Some(2));
}
