//! Model check of the write-through handshake under `shuttle`: the real
//! [`Through`] logic, with the stripe lock and the toy database's lock
//! replaced by `shuttle`'s mutex so that its scheduler explores the
//! interleavings of database calls and handshake steps (random schedules,
//! and PCT schedules that favour rare orderings).
//!
//! At the end of every schedule the cache must hold the database's value
//! or nothing. With the checks switched off the same test must fail,
//! which shows the schedules do reach the races.

use crate::Cache;
use crate::cache::write::Writer;
use crate::cache::write::handshake::{Stripe, StripeLock};
use crate::cache::write::through::Through;
use shuttle::sync::Mutex;
use shuttle::thread;
use std::collections::HashMap;
use std::sync::Arc;

/// Schedules per test: thousands, and still well under a second each.
const ITERATIONS: usize = 3_000;

struct ShuttleStripe(Mutex<Stripe>);

impl StripeLock for ShuttleStripe {
    fn new() -> Self {
        ShuttleStripe(Mutex::new(Stripe::default()))
    }

    fn with<R>(&self, f: impl FnOnce(&mut Stripe) -> R) -> R {
        let mut guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }
}

/// The toy database: a map behind a (scheduled) lock. Writing a multiple
/// of 3 reaches the table and still reports an error, as a write whose
/// acknowledgement was lost.
#[derive(Clone, Default)]
struct Db(Arc<Mutex<HashMap<u8, u32>>>);

#[derive(Debug, PartialEq)]
struct Lost;

impl Db {
    fn read(&self, key: &u8) -> Option<u32> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).get(key).copied()
    }
}

impl Writer<u8, u32> for Db {
    type Error = Lost;

    fn write(&self, key: &u8, value: &u32) -> Result<(), Lost> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).insert(*key, *value);
        if value.is_multiple_of(3) { Err(Lost) } else { Ok(()) }
    }

    fn delete(&self, key: &u8) -> Result<(), Lost> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
        Ok(())
    }
}

type Model = Through<u8, u32, Db, ShuttleStripe>;

const KEY: u8 = 1;

fn model(checked: bool) -> Arc<Model> {
    let cache = Cache::builder().max_capacity(100).shards(1).build().expect("a valid configuration");
    let db = Db::default();
    db.write(&KEY, &10).expect("10 is written");
    let through = Through::new(cache, db);
    Arc::new(if checked { through } else { through.unchecked() })
}

fn assert_coherent(m: &Model) {
    let cached = m.cache.peek(&KEY);
    let stored = m.writer.read(&KEY);
    assert!(cached.is_none() || cached == stored, "cache holds {cached:?}, the database {stored:?}");
}

/// Runs `f` on a new (scheduled) thread.
fn on(m: &Arc<Model>, f: impl FnOnce(&Model) + Send + 'static) -> thread::JoinHandle<()> {
    let m = Arc::clone(m);
    thread::spawn(move || f(&m))
}

fn load(m: &Model) {
    let db = m.writer.clone();
    let _ = m.get_or_load(&KEY, |k| Ok::<_, Lost>(db.read(k)));
}

/// Two writers of one key and a loader that starts on a miss.
fn writers_and_loader(checked: bool) -> impl Fn() + Send + Sync + 'static {
    move || {
        let m = model(checked);
        let handles = [
            on(&m, |m| assert_eq!(m.put(KEY, 1), Ok(()))),
            on(&m, |m| assert_eq!(m.put(KEY, 2), Ok(()))),
            on(&m, load),
        ];
        for h in handles {
            h.join().expect("no thread panics");
        }
        assert_coherent(&m);
    }
}

/// A loader, a write that fails after reaching the database, a write that
/// succeeds and a delete, from a cache that starts warm.
fn failures_and_deletes(checked: bool) -> impl Fn() + Send + Sync + 'static {
    move || {
        let m = model(checked);
        m.cache.insert(KEY, 10);
        let handles = [
            on(&m, |m| assert_eq!(m.put(KEY, 3), Err(Lost))),
            on(&m, |m| {
                let _ = m.put(KEY, 4);
                load(m);
            }),
            on(&m, |m| {
                let _ = m.remove(&KEY);
                load(m);
            }),
        ];
        for h in handles {
            h.join().expect("no thread panics");
        }
        assert_coherent(&m);
    }
}

#[test]
fn writers_and_loader_random_schedules() {
    shuttle::check_random(writers_and_loader(true), ITERATIONS);
}

#[test]
fn writers_and_loader_pct_schedules() {
    shuttle::check_pct(writers_and_loader(true), ITERATIONS, 3);
}

#[test]
fn failures_and_deletes_random_schedules() {
    shuttle::check_random(failures_and_deletes(true), ITERATIONS);
}

#[test]
fn failures_and_deletes_pct_schedules() {
    shuttle::check_pct(failures_and_deletes(true), ITERATIONS, 3);
}

#[test]
#[should_panic(expected = "cache holds")]
fn without_the_checks_writers_and_loader_go_stale() {
    shuttle::check_random(writers_and_loader(false), ITERATIONS);
}

#[test]
#[should_panic(expected = "cache holds")]
fn without_the_checks_failures_go_stale() {
    shuttle::check_pct(failures_and_deletes(false), ITERATIONS, 3);
}
