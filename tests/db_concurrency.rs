//! Multi-key commands under concurrency: they are atomic (a concurrent
//! multi-key read never sees half of one) and never deadlock, whatever
//! order their keys come in.

use embercache::Db;
use embercache::db::Reply;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Runs `workers` (each looping until told to stop) and `checker` for a
/// while; fails if they do not all finish within a generous deadline
/// (a deadlock).
type Worker = Box<dyn Fn(&Db, usize) + Send>;

fn race(db: &Db, workers: Vec<Worker>, checker: impl Fn(&Db) + Send + 'static) {
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let (done_tx, done_rx) = mpsc::channel();
    let total = workers.len() + 1;
    for (t, w) in workers.into_iter().enumerate() {
        let (db, stop, done) = (db.clone(), stop.clone(), done_tx.clone());
        thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                w(&db, t * 1_000_000 + i);
                i += 1;
            }
            done.send(()).ok();
        });
    }
    {
        let (db, stop, done) = (db.clone(), stop.clone(), done_tx.clone());
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                checker(&db);
            }
            done.send(()).ok();
        });
    }
    thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    for _ in 0..total {
        done_rx.recv_timeout(Duration::from_secs(20)).expect("a thread is stuck: deadlock");
    }
}

fn int(r: Reply) -> i64 {
    r.as_integer().unwrap_or_else(|| panic!("not an integer: {r:?}"))
}

#[test]
fn smove_between_sets_never_loses_or_duplicates_a_member() {
    let db = Db::new();
    for m in 0..64 {
        db.execute(&["SADD", "set:a", &format!("m{m}")]);
    }
    let sets = ["set:a", "set:b", "set:c"];
    let mover = move |db: &Db, i: usize| {
        let (from, to) = (sets[i % 3], sets[(i / 3 + 1 + i % 3) % 3]);
        let member = format!("m{}", (i * 7) % 64);
        let r = db.execute(&["SMOVE", from, to, &member]);
        assert!(!r.is_error(), "{r:?}");
    };
    race(&db, vec![Box::new(mover), Box::new(mover)], move |db| {
        let (Reply::Set(all) | Reply::Array(all)) = db.execute(&["SUNION", "set:a", "set:b", "set:c"]) else {
            panic!("SUNION reply")
        };
        assert_eq!(all.len(), 64, "SUNION saw a member in flight");
        let cards: i64 = sets.iter().map(|s| int(db.execute(&["SCARD", s]))).sum();
        assert!(cards > 0);
    });
    let cards: i64 = sets.iter().map(|s| int(db.execute(&["SCARD", s]))).sum();
    assert_eq!(cards, 64);
    db.validate();
}

#[test]
fn mset_and_mget_are_atomic() {
    let db = Db::new();
    let keys = ["a", "b", "c", "d", "e", "f"];
    let writer = move |db: &Db, i: usize| {
        let v = i.to_string();
        let mut args = vec!["MSET"];
        // Key order varies with `i`, so lock order must not depend on it.
        let rot = i % keys.len();
        for k in keys[rot..].iter().chain(&keys[..rot]) {
            args.push(k);
            args.push(&v);
        }
        assert_eq!(db.execute(&args), Reply::OK);
    };
    race(&db, vec![Box::new(writer), Box::new(writer)], move |db| {
        let mut args = vec!["MGET"];
        args.extend(keys);
        let Reply::Array(vals) = db.execute(&args) else { panic!("MGET reply") };
        let first = &vals[0];
        assert!(vals.iter().all(|v| v == first), "MGET saw a half-applied MSET: {vals:?}");
    });
    db.validate();
}

#[test]
fn rename_ping_pong_keeps_exactly_one_key() {
    let db = Db::new();
    db.execute(&["SET", "x", "payload"]);
    let names = ["x", "y", "z"];
    let renamer = move |db: &Db, i: usize| {
        let (from, to) = (names[i % 3], names[(i + 1 + i / 3 % 2) % 3]);
        let r = db.execute(&["RENAME", from, to]);
        assert!(r == Reply::OK || r.is_error(), "{r:?}");
    };
    race(&db, vec![Box::new(renamer), Box::new(renamer)], move |db| {
        assert_eq!(int(db.execute(&["EXISTS", "x", "y", "z"])), 1, "RENAME seen half done");
    });
    db.validate();
}

#[test]
fn incr_from_many_threads_counts_every_increment() {
    let db = Db::new();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let db = db.clone();
            thread::spawn(move || {
                for _ in 0..2_000 {
                    db.execute(&["INCR", "n"]);
                    db.execute(&["HINCRBY", "h", "f", "1"]);
                    db.execute(&["ZINCRBY", "z", "1", "m"]);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(db.execute(&["GET", "n"]), Reply::bulk("8000"));
    assert_eq!(db.execute(&["HGET", "h", "f"]), Reply::bulk("8000"));
    assert_eq!(db.execute(&["ZSCORE", "z", "m"]), Reply::Double(8000.0));
}

#[test]
fn eviction_races_with_writers_of_every_type_and_keeps_the_bound() {
    use embercache::db::MaxMemoryPolicy;
    for policy in [MaxMemoryPolicy::AllKeysLru, MaxMemoryPolicy::AllKeysLfu, MaxMemoryPolicy::VolatileTtl] {
        let max = 256 * 1024;
        let db = Db::builder().maxmemory(max).maxmemory_policy(policy).shards(8).build().unwrap();
        let writer = move |db: &Db, i: usize| {
            let k = format!("k{}", i % 5_000);
            let v = "x".repeat(i % 200);
            let r = match i % 7 {
                0 => db.execute(&["SET", &k, &v, "EX", "100"]),
                1 => db.execute(&["RPUSH", &k, &v, "b"]),
                2 => db.execute(&["HSET", &k, "f", &v]),
                3 => db.execute(&["ZADD", &k, "1", &v]),
                4 => db.execute(&["SADD", &k, &v]),
                5 => db.execute(&["DEL", &k]),
                _ => db.execute(&["PEXPIRE", &k, "50000"]),
            };
            // Wrong types and, under volatile-ttl with nothing left to
            // evict, OOM are fine; a panic or a hang is not.
            let ok =
                !r.is_error() || matches!(&r, Reply::Error(e) if e.starts_with("WRONGTYPE") || e.starts_with("OOM"));
            assert!(ok, "{r:?}");
        };
        race(&db, vec![Box::new(writer), Box::new(writer), Box::new(writer)], move |db| {
            let _ = db.execute(&["DBSIZE"]);
        });
        // Each thread may overshoot by what its last write added.
        assert!(db.used_memory() <= max + 3 * 8 * 1024, "{policy}: {}", db.used_memory());
        db.validate();
    }
}
