//! Unit tests of the keyspace layer and the command table.

use super::*;
use crate::time::ManualClock;
use std::time::Duration;

/// Redis's WRONGTYPE error text.
pub(crate) const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

/// Runs one command.
pub(crate) fn run(db: &Db, args: &[&str]) -> Reply {
    db.execute(args)
}

/// An error reply with this text.
pub(crate) fn err(text: &str) -> Reply {
    Reply::Error(text.to_string())
}

/// An integer reply.
pub(crate) fn int(n: i64) -> Reply {
    Reply::Integer(n)
}

/// A bulk reply.
pub(crate) fn bulk(s: &str) -> Reply {
    Reply::bulk(s)
}

pub(crate) fn manual_db() -> (Db, ManualClock) {
    let clock = ManualClock::new();
    let db = Db::builder().clock(clock.clone()).shards(4).build().unwrap();
    (db, clock)
}

#[test]
fn set_get_and_expiry_to_the_millisecond() {
    let (db, clock) = manual_db();
    assert_eq!(db.execute(&["SET", "k", "v", "PX", "100"]), Reply::OK);
    assert_eq!(db.execute(&["GET", "k"]), Reply::bulk("v"));
    clock.advance(Duration::from_millis(99));
    assert_eq!(db.execute(&["GET", "k"]), Reply::bulk("v"));
    clock.advance(Duration::from_millis(1));
    assert_eq!(db.execute(&["GET", "k"]), Reply::Null);
    db.run_pending_tasks();
    assert_eq!(db.used_memory(), 0, "the expired key's memory is reclaimed");
}

#[test]
fn set_options_follow_redis() {
    let (db, _) = manual_db();
    assert_eq!(db.execute(&["SET", "k", "1", "NX"]), Reply::OK);
    assert_eq!(db.execute(&["SET", "k", "2", "NX"]), Reply::Null);
    assert_eq!(db.execute(&["SET", "k", "3", "XX", "GET"]), Reply::bulk("1"));
    assert_eq!(db.execute(&["SET", "nope", "3", "XX"]), Reply::Null);
    assert_eq!(db.execute(&["SET", "k", "v", "NX", "XX"]), Reply::from(DbError::Syntax));
    assert_eq!(
        db.execute(&["SET", "k", "v", "EX", "0"]),
        Reply::Error("ERR invalid expire time in 'set' command".into())
    );
    assert_eq!(db.execute(&["SET", "k", "v", "EX", "x"]), Reply::from(DbError::NotInteger));
    assert_eq!(db.execute(&["SET", "k", "v", "KEEPTTL", "EX", "1"]), Reply::from(DbError::Syntax));
    assert_eq!(db.execute(&["set", "k"]), Reply::Error("ERR wrong number of arguments for 'set' command".into()));
    assert_eq!(
        db.execute(&["FOO", "a", "b"]),
        Reply::Error("ERR unknown command 'FOO', with args beginning with: 'a' 'b' ".into())
    );
}

#[test]
fn weights_follow_values_and_removal_frees_them() {
    let (db, _) = manual_db();
    assert_eq!(db.used_memory(), 0);
    db.execute(&["SET", "k", "x".repeat(1000).as_str()]);
    let one = db.used_memory();
    assert!(one >= 1000, "{one}");
    db.execute(&["SET", "k", "x"]);
    assert!(db.used_memory() < one);
}

#[test]
fn noeviction_refuses_writes_over_the_bound() {
    let db = Db::builder().maxmemory(10_000).shards(2).build().unwrap();
    let big = "x".repeat(4000);
    let mut refused = false;
    for i in 0..10 {
        let r = db.execute(&["SET", &format!("k{i}"), &big]);
        if r == Reply::from(DbError::OutOfMemory) {
            refused = true;
            break;
        }
    }
    assert!(refused);
    assert_eq!(db.execute(&["GET", "k0"]), Reply::bulk(&big));
}

#[test]
fn allkeys_lru_evicts_the_coldest_to_stay_under_the_bound() {
    let db = Db::builder().maxmemory(20_000).maxmemory_policy(MaxMemoryPolicy::AllKeysLru).shards(1).build().unwrap();
    let big = "x".repeat(1000);
    for i in 0..100 {
        assert_eq!(db.execute(&["SET", &format!("k{i}"), &big]), Reply::OK);
        db.execute(&["GET", "k0"]);
    }
    assert!(db.used_memory() <= 20_000 + 1200, "{}", db.used_memory());
    assert_eq!(db.execute(&["GET", "k0"]), Reply::bulk(&big), "hot key kept");
    assert_eq!(db.execute(&["GET", "k1"]), Reply::Null, "cold key evicted");
}

#[test]
fn volatile_policies_only_evict_keys_with_a_deadline() {
    for policy in [
        MaxMemoryPolicy::VolatileLru,
        MaxMemoryPolicy::VolatileTtl,
        MaxMemoryPolicy::VolatileRandom,
        MaxMemoryPolicy::VolatileLfu,
    ] {
        let db = Db::builder().maxmemory(20_000).maxmemory_policy(policy).shards(2).build().unwrap();
        let big = "x".repeat(1000);
        for i in 0..10 {
            db.execute(&["SET", &format!("p{i}"), &big]);
        }
        for i in 0..30 {
            let r = db.execute(&["SET", &format!("v{i}"), &big, "EX", "1000"]);
            assert_eq!(r, Reply::OK, "{policy}");
        }
        for i in 0..10 {
            assert_eq!(db.execute(&["GET", &format!("p{i}")]), Reply::bulk(&big), "{policy}: persistent key kept");
        }
        // With only persistent keys left to evict, writes are refused.
        let db = Db::builder().maxmemory(5_000).maxmemory_policy(policy).shards(2).build().unwrap();
        let mut refused = false;
        for i in 0..20 {
            if db.execute(&["SET", &format!("p{i}"), &big]).is_error() {
                refused = true;
            }
        }
        assert!(refused, "{policy}");
    }
}

#[test]
fn expired_keys_are_reclaimed_without_being_read_and_announced() {
    let (db, clock) = manual_db();
    let events = db.subscribe_keyspace(&[notify::EventClass::Expired, notify::EventClass::String], 1000);
    for i in 0..100 {
        db.execute(&["SET", &format!("k{i}"), "v", "PX", "50"]);
    }
    db.execute(&["SET", "keep", "v"]);
    assert_eq!(events.try_recv().map(|e| e.name), Some("set"));
    let before = db.used_memory();
    clock.advance(Duration::from_millis(60));
    db.run_pending_tasks();
    assert!(db.used_memory() < before / 10, "{} of {before}", db.used_memory());
    assert_eq!(db.inner.engine.len(), 1);
    let expired = std::iter::from_fn(|| events.try_recv()).filter(|e| e.name == "expired").count();
    assert_eq!(expired, 100);
    db.validate();
}

#[test]
fn a_shared_housekeeper_reclaims_every_database_it_keeps() {
    let clock = ManualClock::new();
    let keeper = Db::builder().clock(clock.clone()).housekeeper(Duration::from_millis(5)).build().unwrap();
    let mut kept: Vec<Db> =
        (0..3).map(|_| Db::builder().clock(clock.clone()).share_housekeeper(&keeper).build().unwrap()).collect();
    for db in &kept {
        db.execute(&["SET", "k", "v", "PX", "10"]);
        db.execute(&["SET", "stays", "v"]);
    }
    clock.advance(Duration::from_millis(20));
    let start = std::time::Instant::now();
    while kept.iter().any(|d| d.inner.engine.len() > 1) && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(5));
    }
    // Nothing read the expired keys: the keeper's thread reclaimed them.
    assert!(kept.iter().all(|d| d.inner.engine.len() == 1));
    // A kept database that is dropped is forgotten, the others kept.
    drop(kept.remove(0));
    let start = std::time::Instant::now();
    while keeper.inner.kept.lock().len() > 2 && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(keeper.inner.kept.lock().len(), 2);
    assert_eq!(kept.len(), 2);
}

#[test]
fn the_housekeeper_reclaims_in_the_background() {
    let clock = ManualClock::new();
    let db = Db::builder().clock(clock.clone()).housekeeper(Duration::from_millis(5)).build().unwrap();
    db.execute(&["SET", "k", "v", "PX", "10"]);
    clock.advance(Duration::from_millis(20));
    let start = std::time::Instant::now();
    while db.inner.engine.len() > 0 && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(db.inner.engine.len(), 0);
    assert!(Db::builder().housekeeper(Duration::ZERO).build().is_err());
}

#[test]
fn every_allkeys_policy_holds_the_bound_across_types() {
    for policy in [
        MaxMemoryPolicy::AllKeysLru,
        MaxMemoryPolicy::AllKeysLfu,
        MaxMemoryPolicy::AllKeysRandom,
        MaxMemoryPolicy::AllKeysAdaptive,
    ] {
        let max = 200_000;
        let db = Db::builder().maxmemory(max).maxmemory_policy(policy).shards(4).build().unwrap();
        for i in 0..2_000 {
            let k = format!("k{i}");
            let r = match i % 5 {
                0 => db.execute(&["SET", &k, &"v".repeat(100)]),
                1 => db.execute(&["RPUSH", &k, "a", "b", "c", "d"]),
                2 => db.execute(&["HSET", &k, "f1", "v1", "f2", "v2"]),
                3 => db.execute(&["SADD", &k, "m1", "m2", "m3"]),
                _ => db.execute(&["ZADD", &k, "1", "a", "2", "b"]),
            };
            assert!(!r.is_error(), "{policy}: {r:?}");
            // Redis evicts before each write, so after it memory may exceed
            // the bound by at most what that write added.
            assert!(db.used_memory() <= max + 1_000, "{policy}: {}", db.used_memory());
        }
        assert!(db.dbsize() < 2_000, "{policy}: something was evicted");
        db.validate();
    }
}

#[test]
fn every_scan_reads_its_cursor_as_strtoul() {
    // Found by the differential test: SSCAN/HSCAN/ZSCAN refused the
    // cursors "" and "-0", which Redis's strtoul reads as 0 (SCAN did not).
    let (db, _) = manual_db();
    run(&db, &["SADD", "s", "a"]);
    run(&db, &["HSET", "h", "f", "v"]);
    run(&db, &["ZADD", "z", "1", "m"]);
    run(&db, &["SET", "str", "v"]);
    let empty = Reply::Array(vec![bulk("0"), Reply::Array(vec![])]);
    for cursor in ["", "-0", "+0"] {
        assert_eq!(run(&db, &["SSCAN", "s", cursor]), Reply::Array(vec![bulk("0"), Reply::Array(vec![bulk("a")])]));
        assert_eq!(run(&db, &["HSCAN", "nokey", cursor]), empty);
        assert_eq!(run(&db, &["ZSCAN", "str", cursor]), err(WRONGTYPE));
        assert!(!run(&db, &["SCAN", cursor, "MATCH", "nothing"]).is_error());
    }
    for cmd in ["SSCAN", "HSCAN", "ZSCAN"] {
        assert_eq!(run(&db, &[cmd, "s", " 0"]), err("ERR invalid cursor"), "{cmd}");
        assert_eq!(run(&db, &[cmd, "s", "x"]), err("ERR invalid cursor"), "{cmd}");
    }
}
