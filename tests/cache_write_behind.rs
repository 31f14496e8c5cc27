//! `WriteBehind` through its public API: coalescing, batching, the bounded
//! queue, flushes (explicit, on shutdown, on drop, by interval), failures
//! with retries and the error callback, and reads that miss the cache.

use embercache::Cache;
use embercache::cache::write::{FullQueue, RetryPolicy, WriteBehind, WriteBehindError, WriteFailure, Writer};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

type Batch = Vec<(u32, Option<u64>)>;

/// Where a gated database tells of a call starting, and waits to go on.
struct Gate {
    started: Mutex<Sender<()>>,
    go: Mutex<Receiver<()>>,
}

/// A toy database that records each batch. It can fail its first
/// `fail_first` calls (or panic instead), and hold each call at a gate.
#[derive(Default)]
struct Db {
    table: Mutex<HashMap<u32, u64>>,
    batches: Mutex<Vec<Batch>>,
    fail_first: AtomicU32,
    panic: bool,
    /// Told of each call as it starts, then waits for a go-ahead.
    gate: Option<Gate>,
    /// Told of each successful batch.
    written: Option<Mutex<Sender<()>>>,
}

#[derive(Clone, Default)]
struct Handle(Arc<Db>);

#[derive(Debug, PartialEq)]
struct DbDown;

impl Writer<u32, u64> for Handle {
    type Error = DbDown;
    fn write(&self, key: &u32, value: &u64) -> Result<(), DbDown> {
        self.0.table.lock().unwrap().insert(*key, *value);
        Ok(())
    }
    fn delete(&self, key: &u32) -> Result<(), DbDown> {
        self.0.table.lock().unwrap().remove(key);
        Ok(())
    }
    fn write_many(&self, batch: &[(u32, Option<u64>)]) -> Result<(), DbDown> {
        let db = &self.0;
        if let Some(Gate { started, go }) = &db.gate {
            started.lock().unwrap().send(()).unwrap();
            // Bounded, so that a failed test ends instead of hanging.
            let _ = go.lock().unwrap().recv_timeout(Duration::from_secs(10));
        }
        let failing = db.fail_first.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
        if failing {
            assert!(!db.panic, "the database panics");
            return Err(DbDown);
        }
        for (k, v) in batch {
            match v {
                Some(v) => self.write(k, v)?,
                None => self.delete(k)?,
            }
        }
        db.batches.lock().unwrap().push(batch.to_vec());
        if let Some(tx) = &db.written {
            let _ = tx.lock().unwrap().send(());
        }
        Ok(())
    }
}

impl Handle {
    fn get(&self, key: u32) -> Option<u64> {
        self.0.table.lock().unwrap().get(&key).copied()
    }
    fn batches(&self) -> Vec<Batch> {
        self.0.batches.lock().unwrap().clone()
    }
}

/// A database whose calls wait at a gate: returns it, a receiver told when
/// a call starts, and the sender that lets one call through.
fn gated() -> (Handle, Receiver<()>, Sender<()>) {
    let (started_tx, started_rx) = channel();
    let (go_tx, go_rx) = channel();
    let db = Db { gate: Some(Gate { started: Mutex::new(started_tx), go: Mutex::new(go_rx) }), ..Db::default() };
    (Handle(Arc::new(db)), started_rx, go_tx)
}

/// Nothing is written before an explicit flush (unless a batch fills up).
const LONG: Duration = Duration::from_secs(3600);

#[test]
fn a_hundred_puts_to_one_key_make_one_write_of_the_last_value() {
    let db = Handle::default();
    let wb = WriteBehind::builder(Cache::new(100), db.clone()).interval(LONG).build().unwrap();
    for n in 1..=100 {
        wb.put(7, n).unwrap();
        assert_eq!(wb.cache().peek(&7), Some(n));
    }
    wb.flush().unwrap();
    assert_eq!(db.batches(), vec![vec![(7, Some(100))]]);
    let s = wb.stats();
    assert_eq!((s.queued, s.coalesced, s.written, s.batches, s.pending), (100, 99, 1, 1, 0));
}

#[test]
fn writes_go_in_batches_of_at_most_batch_size_and_deletes_too() {
    let db = Handle::default();
    let wb = WriteBehind::builder(Cache::new(100), db.clone()).batch_size(10).interval(LONG).build().unwrap();
    for k in 0..35 {
        wb.put(k, u64::from(k)).unwrap();
    }
    wb.remove(3).unwrap();
    assert_eq!(wb.cache().peek(&3), None);
    wb.flush().unwrap();
    let batches = db.batches();
    assert!(batches.iter().all(|b| !b.is_empty() && b.len() <= 10), "{batches:?}");
    // The first full batch goes out in the background: if it left before
    // the remove, key 3's put was written and its delete is one more
    // write; if not, the delete replaced the queued put.
    let writes_of_3: Vec<Option<u64>> = batches.iter().flatten().filter(|w| w.0 == 3).map(|w| w.1).collect();
    assert!(writes_of_3 == [None] || writes_of_3 == [Some(3), None], "{writes_of_3:?}");
    let expected = 34 + writes_of_3.len();
    assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), expected);
    assert_eq!(db.get(3), None);
    assert_eq!(db.get(34), Some(34));
    assert_eq!(wb.stats().written, expected as u64);
}

#[test]
fn a_full_queue_rejects_new_keys_but_takes_queued_ones() {
    let (db, started, go) = gated();
    let wb = WriteBehind::builder(Cache::new(100), db.clone())
        .capacity(4)
        .when_full(FullQueue::Reject)
        .interval(LONG)
        .build()
        .unwrap();
    for k in 0..4 {
        wb.put(k, 1).unwrap();
    }
    // A full queue wakes the flusher, which takes the four and waits at the gate.
    started.recv().unwrap();
    for k in 4..8 {
        wb.put(k, 1).unwrap();
    }
    assert_eq!(wb.put(8, 1).unwrap_err().to_string(), "the write-behind queue is full (waited 0ns)");
    assert_eq!(wb.cache().peek(&8), None, "a refused write changes nothing");
    wb.put(5, 2).unwrap();
    go.send(()).unwrap();
    go.send(()).unwrap();
    wb.flush().unwrap();
    assert_eq!((0..8).map(|k| db.get(k)).collect::<Vec<_>>(), [1, 1, 1, 1, 1, 2, 1, 1].map(Some));
}

#[test]
fn a_full_queue_blocks_until_room_or_timeout() {
    let (db, started, go) = gated();
    let wb = WriteBehind::builder(Cache::new(100), db.clone())
        .capacity(2)
        .when_full(FullQueue::Block(Duration::from_millis(20)))
        .interval(LONG)
        .build()
        .unwrap();
    wb.put(0, 0).unwrap();
    wb.put(1, 1).unwrap();
    started.recv().unwrap();
    wb.put(2, 2).unwrap();
    wb.put(3, 3).unwrap();
    match wb.put(4, 4) {
        Err(WriteBehindError::QueueFull { waited }) => assert!(waited >= Duration::from_millis(20)),
        other => panic!("expected a full queue, got {other:?}"),
    }
    // With a long timeout, the put waits until the flusher takes the queue.
    let wb = Arc::new(wb);
    let blocked = {
        let wb = Arc::clone(&wb);
        thread::spawn(move || wb.put(4, 4))
    };
    go.send(()).unwrap(); // the first batch is written; the flusher takes 2 and 3
    started.recv().unwrap();
    go.send(()).unwrap();
    // The blocked put either got room now or times out: retry until in.
    let mut r = blocked.join().unwrap();
    while r.is_err() {
        r = wb.put(4, 4);
    }
    go.send(()).unwrap();
    wb.flush().unwrap();
    assert_eq!(db.get(4), Some(4));
}

#[test]
fn drop_and_shutdown_flush_everything() {
    let db = Handle::default();
    let wb = WriteBehind::builder(Cache::new(10_000), db.clone()).interval(LONG).batch_size(64).build().unwrap();
    for k in 0..1_000 {
        wb.put(k, u64::from(k) * 2).unwrap();
    }
    drop(wb);
    assert!((0..1_000).all(|k| db.get(k) == Some(u64::from(k) * 2)));

    let db = Handle::default();
    let wb = WriteBehind::builder(Cache::new(100), db.clone()).interval(LONG).build().unwrap();
    wb.put(1, 1).unwrap();
    wb.shutdown();
    assert_eq!(db.get(1), Some(1));
    assert!(matches!(wb.put(2, 2), Err(WriteBehindError::ShutDown)));
    assert!(matches!(wb.remove(1), Err(WriteBehindError::ShutDown)));
    wb.flush().unwrap();
    wb.shutdown();
}

#[test]
fn the_interval_flushes_without_being_asked() {
    let (tx, rx) = channel();
    let db = Handle(Arc::new(Db { written: Some(Mutex::new(tx)), ..Db::default() }));
    let wb = WriteBehind::builder(Cache::new(100), db.clone()).interval(Duration::from_millis(5)).build().unwrap();
    wb.put(1, 1).unwrap();
    rx.recv_timeout(Duration::from_secs(10)).expect("the interval's batch");
    assert_eq!(db.get(1), Some(1));
}

#[test]
fn a_failing_batch_is_retried_then_reported_and_uncached() {
    let db = Handle(Arc::new(Db { fail_first: AtomicU32::new(u32::MAX), ..Db::default() }));
    let reports = Arc::new(Mutex::new(Vec::new()));
    let wb = {
        let reports = Arc::clone(&reports);
        WriteBehind::builder(Cache::new(100), db.clone())
            .interval(LONG)
            .retry(RetryPolicy { max_retries: 2, backoff: Duration::ZERO })
            .on_error(move |f| {
                let error = matches!(f.failure, WriteFailure::Writer(DbDown));
                reports.lock().unwrap().push((f.entries.to_vec(), f.attempts, error));
            })
            .build()
            .unwrap()
    };
    wb.put(1, 10).unwrap();
    wb.flush().unwrap();
    assert_eq!(*reports.lock().unwrap(), vec![(vec![(1, Some(10))], 3, true)]);
    let s = wb.stats();
    assert_eq!((s.failures, s.retries, s.dropped, s.written), (1, 2, 1, 0));
    assert_eq!(wb.cache().peek(&1), None, "the database never got it");
}

#[test]
fn a_retry_that_succeeds_is_counted_and_not_reported() {
    let db = Handle(Arc::new(Db { fail_first: AtomicU32::new(2), ..Db::default() }));
    let wb = WriteBehind::builder(Cache::new(100), db.clone())
        .interval(LONG)
        .retry(RetryPolicy { max_retries: 3, backoff: Duration::from_millis(1) })
        .on_error(|_| panic!("no batch fails for good"))
        .build()
        .unwrap();
    wb.put(1, 10).unwrap();
    wb.flush().unwrap();
    let s = wb.stats();
    assert_eq!((s.failures, s.retries, s.written), (0, 2, 1));
    assert_eq!((db.get(1), wb.cache().peek(&1)), (Some(10), Some(10)));
}

#[test]
fn a_panicking_writer_and_callback_do_not_stop_the_flusher() {
    let db = Handle(Arc::new(Db { fail_first: AtomicU32::new(1), panic: true, ..Db::default() }));
    let panicked = Arc::new(AtomicU32::new(0));
    let wb = {
        let panicked = Arc::clone(&panicked);
        WriteBehind::builder(Cache::new(100), db.clone())
            .interval(LONG)
            .retry(RetryPolicy { max_retries: 0, backoff: Duration::ZERO })
            .on_error(move |f| {
                if matches!(f.failure, WriteFailure::Panicked) {
                    panicked.fetch_add(1, Ordering::SeqCst);
                }
                panic!("the callback panics too");
            })
            .build()
            .unwrap()
    };
    wb.put(1, 1).unwrap();
    wb.flush().unwrap();
    assert_eq!(panicked.load(Ordering::SeqCst), 1);
    wb.put(2, 2).unwrap();
    wb.flush().unwrap();
    assert_eq!(db.get(2), Some(2));
}

#[test]
fn a_miss_is_answered_from_the_queue_before_the_database() {
    let (db, started, go) = gated();
    let wb = WriteBehind::builder(Cache::new(100), db.clone()).interval(LONG).capacity(1).build().unwrap();
    let load = |k: &u32| Ok::<_, DbDown>(db.get(*k));
    wb.put(1, 1).unwrap(); // taken by the flusher at once (capacity 1), held at the gate
    started.recv().unwrap();
    wb.remove(2).unwrap(); // queued
    wb.cache().remove(&1); // as if evicted
    assert_eq!(wb.get_or_load(&1, load), Ok(Some(1)), "from the batch in flight");
    wb.cache().insert(2, 5); // a stray value; the queued delete wins below
    wb.cache().remove(&2);
    assert_eq!(wb.get_or_load(&2, load), Ok(None), "from the queue");
    go.send(()).unwrap();
    go.send(()).unwrap();
    wb.flush().unwrap();
    // Now from the database, and cached.
    wb.cache().remove(&1);
    assert_eq!(wb.get_or_load(&1, load), Ok(Some(1)));
    assert_eq!(wb.cache().peek(&1), Some(1));
}

#[test]
fn bad_settings_are_refused() {
    let build = |b: embercache::cache::write::WriteBehindBuilder<u32, u64, Handle>| b.build().map(drop);
    let new = || WriteBehind::builder(Cache::new(10), Handle::default());
    assert_eq!(build(new().batch_size(0)).unwrap_err().to_string(), "batch_size must be at least 1");
    assert_eq!(build(new().capacity(0)).unwrap_err().to_string(), "capacity must be at least 1");
    assert_eq!(build(new().interval(Duration::ZERO)).unwrap_err().to_string(), "interval must be longer than zero");
}
