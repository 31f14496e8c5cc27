//! Tests of blocking: FIFO service, timeouts, moves between keys, and no
//! lost wake-up or deadlock under concurrent producers and consumers.

use super::*;
use crate::db::tests::manual_db;
use crate::db::{End, Reply};
use std::sync::mpsc;
use std::thread;

/// Waits (yielding) until `n` callers wait on `key`.
fn until_waiting(db: &Db, key: &[u8], n: usize) {
    let start = Instant::now();
    while db.inner.blocking.waiters_on(key) != n {
        assert!(start.elapsed() < Duration::from_secs(10), "waiters never registered");
        thread::yield_now();
    }
}

#[test]
fn one_push_serves_blocked_callers_in_order() {
    let (db, _) = manual_db();
    let mut handles = Vec::new();
    for i in 0..3 {
        let d = db.clone();
        handles.push(thread::spawn(move || d.blpop(&[b"q"], None)));
        until_waiting(&db, b"q", i + 1);
    }
    assert_eq!(db.rpush(b"q", &[b"a", b"b", b"c"]), Ok(3));
    let got: Vec<_> = handles.into_iter().map(|h| h.join().unwrap().unwrap().unwrap().1).collect();
    assert_eq!(got, [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
    assert_eq!(db.llen(b"q"), Ok(0));
    assert!(!db.inner.blocking.has_waiters());
}

#[test]
fn newcomers_queue_behind_waiters() {
    let (db, _) = manual_db();
    let d = db.clone();
    let first = thread::spawn(move || d.brpop(&[b"q", b"r"], None));
    until_waiting(&db, b"r", 1);
    // Data arriving for a key with a waiter goes to that waiter, even
    // when a newcomer asks at the same moment.
    let d = db.clone();
    let second = thread::spawn(move || d.blpop(&[b"r"], Some(Duration::from_secs(10))));
    until_waiting(&db, b"r", 2);
    db.rpush(b"r", &[b"1", b"2"]).unwrap();
    assert_eq!(first.join().unwrap(), Ok(Some((b"r".to_vec(), b"2".to_vec()))));
    assert_eq!(second.join().unwrap(), Ok(Some((b"r".to_vec(), b"1".to_vec()))));
}

#[test]
fn waits_time_out() {
    let (db, _) = manual_db();
    let start = Instant::now();
    assert_eq!(db.blpop(&[b"a", b"b"], Some(Duration::from_millis(30))), Ok(None));
    assert!(start.elapsed() >= Duration::from_millis(30));
    assert_eq!(db.blmove(b"a", b"b", End::Left, End::Left, Some(Duration::ZERO)), Ok(None));
    assert!(!db.inner.blocking.has_waiters(), "timed-out waiters leave");
    assert_eq!(db.inner.blocking.waiters_on(b"a"), 0);
    assert_eq!(db.execute(&["BLMPOP", "0.02", "1", "a", "LEFT"]), Reply::NullArray);
}

#[test]
fn a_timed_out_head_passes_its_turn_on() {
    let (db, _) = manual_db();
    let d = db.clone();
    let short = thread::spawn(move || d.blpop(&[b"q"], Some(Duration::from_millis(20))));
    until_waiting(&db, b"q", 1);
    let d = db.clone();
    let long = thread::spawn(move || d.blpop(&[b"q"], None));
    until_waiting(&db, b"q", 2);
    assert_eq!(short.join().unwrap(), Ok(None));
    db.rpush(b"q", &[b"x"]).unwrap();
    assert_eq!(long.join().unwrap(), Ok(Some((b"q".to_vec(), b"x".to_vec()))));
}

#[test]
fn blmove_chains_between_keys() {
    let (db, _) = manual_db();
    // One caller moves a -> b, another waits on b: one push to a feeds both.
    let d = db.clone();
    let mover = thread::spawn(move || d.blmove(b"a", b"b", End::Left, End::Right, None));
    until_waiting(&db, b"a", 1);
    let d = db.clone();
    let popper = thread::spawn(move || d.brpop(&[b"b"], None));
    until_waiting(&db, b"b", 1);
    db.lpush(b"a", &[b"item"]).unwrap();
    assert_eq!(mover.join().unwrap(), Ok(Some(b"item".to_vec())));
    assert_eq!(popper.join().unwrap(), Ok(Some((b"b".to_vec(), b"item".to_vec()))));
    assert_eq!(db.llen(b"a"), Ok(0));
    assert_eq!(db.llen(b"b"), Ok(0));
}

#[test]
fn a_key_of_another_type_ends_the_wait() {
    let (db, _) = manual_db();
    let d = db.clone();
    let waiter = thread::spawn(move || d.blpop(&[b"s", b"q"], None));
    until_waiting(&db, b"q", 1);
    db.execute(&["SET", "s", "v"]);
    db.rpush(b"q", &[b"x"]).unwrap();
    assert_eq!(waiter.join().unwrap(), Err(DbError::WrongType));
    assert_eq!(db.llen(b"q"), Ok(1));
}

/// Waits for one consumer of the stress test to finish.
fn one_done(done: &mpsc::Receiver<Vec<Vec<u8>>>) -> Vec<Vec<u8>> {
    done.recv_timeout(Duration::from_secs(5)).expect("a consumer sleeps with its stop item there: lost wake-up")
}

#[test]
fn producers_and_consumers_lose_nothing() {
    const PRODUCERS: usize = 3;
    const ITEMS: usize = 300;
    // Consumers 0 and 1 pop (BLPOP, BLMPOP COUNT 2); 2 and 3 move k1 -> k2.
    const CONSUMERS: usize = 4;
    const POPPERS: usize = 2;
    let (db, _) = manual_db();
    let keys: [&[u8]; 3] = [b"k0", b"k1", b"k2"];
    let (done_tx, done_rx) = mpsc::channel();
    for c in 0..CONSUMERS {
        let (db, done) = (db.clone(), done_tx.clone());
        thread::spawn(move || {
            let mut got: Vec<Vec<u8>> = Vec::new();
            loop {
                // What this call took out of the lists (a move takes nothing).
                let (taken, stop) = match c {
                    0 => {
                        let (_, v) = db.blpop(&keys, None).unwrap().expect("no timeout");
                        let stop = v == b"stop";
                        (vec![v], stop)
                    }
                    1 => {
                        let (_, items) = db.blmpop(&keys, End::Right, 2, None).unwrap().expect("no timeout");
                        let stop = items.iter().any(|v| v == b"stop");
                        (items, stop)
                    }
                    _ => {
                        let v = db.blmove(b"k1", b"k2", End::Left, End::Left, None).unwrap().expect("no timeout");
                        (Vec::new(), v == b"stop")
                    }
                };
                got.extend(taken.into_iter().filter(|v| v != b"stop"));
                if stop {
                    break;
                }
            }
            done.send(got).unwrap();
        });
    }
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let db = db.clone();
            thread::spawn(move || {
                for i in 0..ITEMS {
                    let item = format!("{p}-{i}");
                    let key = keys[i % keys.len()];
                    let pushed =
                        if i % 2 == 0 { db.rpush(key, &[item.as_bytes()]) } else { db.lpush(key, &[item.as_bytes()]) };
                    pushed.unwrap();
                }
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    // One stop item at a time, each ending exactly one consumer: first the
    // poppers (on k0, which movers do not touch), then the movers (on k1).
    let mut got = Vec::new();
    for _ in 0..POPPERS {
        db.rpush(b"k0", &[b"stop"]).unwrap();
        got.extend(one_done(&done_rx));
    }
    for _ in POPPERS..CONSUMERS {
        db.rpush(b"k1", &[b"stop"]).unwrap();
        got.extend(one_done(&done_rx));
    }
    // What nobody popped is still in the lists.
    for key in keys {
        got.extend(db.lrange(key, 0, -1).unwrap().into_iter().filter(|v| v != b"stop"));
    }
    got.sort();
    let mut want: Vec<Vec<u8>> =
        (0..PRODUCERS).flat_map(|p| (0..ITEMS).map(move |i| format!("{p}-{i}").into_bytes())).collect();
    want.sort();
    assert_eq!(got, want, "every item exactly once");
    assert!(!db.inner.blocking.has_waiters());
}

#[test]
fn timeouts_parse_as_redis() {
    let (db, _) = manual_db();
    let t = |s: &str| parse_timeout(&db, s.as_bytes());
    assert_eq!(t("0"), Ok(None));
    assert_eq!(t("0.0"), Ok(None));
    assert_eq!(t("1"), Ok(Some(Duration::from_secs(1))));
    assert_eq!(t("0.0001"), Ok(Some(Duration::from_millis(1))), "rounded up");
    assert_eq!(t("1.5"), Ok(Some(Duration::from_millis(1500))));
    // Redis rounds -0.0001 s up to 0 ms: no error, and no timeout.
    assert_eq!(t("-0.0001"), Ok(None));
    // Found by the differential test: in long double, 0.001 × 1000 is
    // just under 1, so -0.001 s rounds up to 0 ms (forever) in Redis, and
    // 0.001 s to 1 ms.
    assert_eq!(t("-0.001"), Ok(None));
    assert_eq!(t("0.001"), Ok(Some(Duration::from_millis(1))));
    assert_eq!(t("-0.002"), Err(DbError::NegativeTimeout));
    assert_eq!(t("0x1p-7"), Ok(Some(Duration::from_millis(8))), "strtold reads hex");
    assert_eq!(t("-inf"), Err(DbError::NegativeTimeout));
    assert_eq!(t("1e400"), Err(DbError::OutOfRange("timeout is out of range")), "a long double, past LLONG_MAX ms");
    assert_eq!(t("-1e400"), Err(DbError::NegativeTimeout));
    assert_eq!(t(" 1"), Err(DbError::Timeout));
    assert_eq!(t("-1"), Err(DbError::NegativeTimeout));
    assert_eq!(t("abc"), Err(DbError::Timeout));
    assert_eq!(t(""), Err(DbError::Timeout));
    assert_eq!(t("inf"), Err(DbError::OutOfRange("timeout is out of range")));
    assert_eq!(t("9223372036854775"), Err(DbError::OutOfRange("timeout is out of range")));
}
