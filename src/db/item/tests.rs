//! The item layer's rules, below any protocol: CAS words, flags kept or
//! reset by Redis writes, exptimes, counters, and the size cost.

use super::write::parse_counter;
use super::*;
use crate::db::keyspace::Stored;
use crate::db::{DbError, Reply};

/// Stores `value` with `flags` as Memcached's `set` does; its CAS unique.
pub(crate) fn set(db: &Db, key: &[u8], value: &[u8], flags: u32) -> u64 {
    let store = Store {
        mode: StoreMode::Set,
        value,
        flags,
        exptime: Exptime::Never,
        cas: None,
        invalidate: false,
        max_size: 1 << 20,
    };
    match db.item_store(key, &store) {
        Ok(StoreOutcome::Stored { cas }) => cas,
        other => panic!("{other:?}"),
    }
}

/// The item's (value, flags, unique), drawing a unique if needed.
fn get(db: &Db, key: &[u8]) -> Option<(Vec<u8>, u32, u64)> {
    let fetch = Fetch { cas: true, bump: true, ..Fetch::default() };
    db.item_fetch(key, fetch, |i| (i.value.to_vec(), i.flags, i.cas))
}

#[test]
fn size_of_stored() {
    // The client flags fill padding; the CAS word is the only growth.
    assert_eq!(std::mem::size_of::<Value>(), 48);
    assert_eq!(std::mem::size_of::<Stored>(), 64);
}

#[test]
fn exptime_rules() {
    assert_eq!(Exptime::from_secs(0), Exptime::Never);
    assert_eq!(Exptime::from_secs(-1), Exptime::Past);
    assert_eq!(Exptime::from_secs(MAX_RELATIVE_EXPTIME), Exptime::In(2_592_000));
    assert_eq!(Exptime::from_secs(MAX_RELATIVE_EXPTIME + 1), Exptime::At(2_592_001));
    assert_eq!(ttl_secs(None), -1);
    assert_eq!(ttl_secs(Some(1)), 1);
    assert_eq!(ttl_secs(Some(1000)), 1);
    assert_eq!(ttl_secs(Some(1001)), 2);
}

#[test]
fn counters_parse_as_memcached() {
    assert_eq!(parse_counter(b"12"), Some(12));
    assert_eq!(parse_counter(b" 12"), Some(12));
    assert_eq!(parse_counter(b"12 "), Some(12));
    assert_eq!(parse_counter(b"12 junk"), Some(12));
    assert_eq!(parse_counter(b"+7"), Some(7));
    assert_eq!(parse_counter(b"18446744073709551615"), Some(u64::MAX));
    for bad in [&b""[..], b" ", b"-1", b"12x", b"18446744073709551616", b"+", b"x1"] {
        assert_eq!(parse_counter(bad), None, "{bad:?}");
    }
}

#[test]
fn uniques_change_with_every_write() {
    let db = Db::new();
    let c1 = set(&db, b"k", b"v", 7);
    assert_eq!(get(&db, b"k"), Some((b"v".to_vec(), 7, c1)));
    let c2 = set(&db, b"k", b"v", 7);
    assert!(c2 > c1);
    // Redis writes reset the word; the next reader draws a new unique.
    db.execute(&["APPEND", "k", "w"]);
    let (value, flags, c3) = get(&db, b"k").unwrap();
    assert_eq!((value.as_slice(), flags), (&b"vw"[..], 0), "a longer value resets the flags");
    assert!(c3 > c2);
    assert_eq!(get(&db, b"k").unwrap().2, c3, "stable while unchanged");
    set(&db, b"k", b"12", 9);
    db.execute(&["INCR", "k"]);
    let (value, flags, c4) = get(&db, b"k").unwrap();
    assert_eq!((value.as_slice(), flags), (&b"13"[..], 9), "an in-place edit of the same length keeps them");
    assert!(c4 > c3);
    db.execute(&["PERSIST", "k"]);
    db.execute(&["GETEX", "k"]);
    assert_eq!(get(&db, b"k").unwrap().1, 9);
    db.execute(&["SET", "k", "x"]);
    assert_eq!(get(&db, b"k").unwrap().1, 0);
    db.validate();
}

#[test]
fn cas_store_compares_under_the_lock() {
    let db = Db::new();
    let store = |cas: Option<u64>, invalidate: bool| Store {
        mode: StoreMode::Set,
        value: b"new",
        flags: 1,
        exptime: Exptime::Never,
        cas,
        invalidate,
        max_size: 100,
    };
    assert_eq!(db.item_store(b"k", &store(Some(1), false)), Ok(StoreOutcome::NotFound));
    db.execute(&["SET", "k", "redis"]);
    // No reader drew a unique yet: no client can hold the right one.
    assert_eq!(db.item_store(b"k", &store(Some(1), false)), Ok(StoreOutcome::Exists));
    let (_, _, c) = get(&db, b"k").unwrap();
    assert!(matches!(db.item_store(b"k", &store(Some(c), false)), Ok(StoreOutcome::Stored { .. })));
    assert_eq!(db.item_store(b"k", &store(Some(c), false)), Ok(StoreOutcome::Exists));
    // With invalidate, an older unique still stores, marking the item stale.
    let older = c;
    let Ok(StoreOutcome::Stored { cas: now }) = db.item_store(b"k", &store(Some(older), true)) else { panic!() };
    assert!(now > older);
    let stale = db.item_fetch(b"k", Fetch { bump: true, ..Fetch::default() }, |i| (i.stale, i.won)).unwrap();
    assert_eq!(stale, (true, true));
}

#[test]
fn arith_and_delete() {
    let db = Db::new();
    let op = |incr, delta| Arith { incr, delta, vivify: None, cas: None, touch: None };
    assert_eq!(db.item_arith(b"n", &op(true, 1)), Ok(ArithOutcome::NotFound));
    set(&db, b"n", b"18446744073709551615", 4);
    assert!(matches!(db.item_arith(b"n", &op(true, 2)), Ok(ArithOutcome::Value { value: 1, .. })));
    assert!(matches!(db.item_arith(b"n", &op(false, 5)), Ok(ArithOutcome::Value { value: 0, .. })));
    assert_eq!(get(&db, b"n").map(|(v, f, _)| (v, f)), Some((b"0".to_vec(), 4)), "flags kept");
    set(&db, b"s", b"abc", 0);
    assert_eq!(db.item_arith(b"s", &op(true, 1)), Ok(ArithOutcome::NonNumeric));
    let viv = Arith { vivify: Some((Exptime::In(10), 5)), ..op(true, 3) };
    assert!(matches!(db.item_arith(b"v", &viv), Ok(ArithOutcome::Value { value: 5, ttl_ms: Some(10_000), .. })));
    db.execute(&["HSET", "h", "f", "1"]);
    assert_eq!(db.item_arith(b"h", &op(true, 1)), Err(DbError::WrongType));
    assert_eq!(db.item_delete(b"h", &Delete { invalidate: true, ..Delete::default() }), Err(DbError::WrongType));
    assert_eq!(db.item_delete(b"h", &Delete::default()), Ok(DeleteOutcome::Deleted));
    assert_eq!(db.execute(&["EXISTS", "h"]), Reply::Integer(0));
    assert_eq!(db.item_delete(b"h", &Delete::default()), Ok(DeleteOutcome::NotFound));
    assert_eq!(db.item_touch(b"n", Exptime::Past), Ok(true));
    assert_eq!(get(&db, b"n"), None);
    db.validate();
}

#[test]
fn items_are_redis_strings() {
    let db = Db::new();
    set(&db, b"a", b"1", 3);
    db.item_touch(b"a", Exptime::In(100)).unwrap();
    assert!(matches!(db.execute(&["TTL", "a"]), Reply::Integer(99 | 100)));
    assert_eq!(db.execute(&["GET", "a"]), Reply::bulk("1"));
}

/// The lookups that prefetch the value before comparing the key
/// (`engine::prefetch::value`, behind `item_fetch` and `Db::read`) answer and
/// count as plain ones: a hit per key found (whatever its type), a miss
/// per key absent, and the value read whole.
#[test]
fn warmed_lookups_answer_and_count_as_plain_ones() {
    let db = Db::new();
    let long = vec![b'v'; 5000];
    set(&db, b"s", &long, 3);
    db.execute(&[&b"RPUSH"[..], b"list", b"x"]);
    let before = db.inner.engine.stats();
    assert_eq!(get(&db, b"s").map(|(v, f, _)| (v, f)), Some((long.clone(), 3)));
    assert_eq!(get(&db, b"absent"), None);
    assert_eq!(get(&db, b"list"), None, "not a string: no item");
    assert_eq!(db.get(b"s").unwrap(), Some(long));
    assert!(db.get(b"list").is_err(), "WRONGTYPE through Db::read");
    assert_eq!(db.get(b"absent").unwrap(), None);
    let after = db.inner.engine.stats();
    assert_eq!((after.hits - before.hits, after.misses - before.misses), (4, 2));
}

#[test]
fn warming_changes_nothing() {
    let db = Db::new();
    let keys: Vec<Vec<u8>> = (0..40).map(|i| format!("key:{i}").into_bytes()).collect();
    for (i, k) in keys.iter().enumerate().step_by(2) {
        set(&db, k, format!("value {i}").as_bytes(), 7);
    }
    db.execute(&[&b"RPUSH"[..], b"list", b"x"]);
    let before = db.inner.engine.stats();
    let debug = |k: &[u8]| db.item_debug(k).map(|d| (d.cas, d.fetched));
    let words: Vec<_> = keys.iter().map(|k| debug(k)).collect();
    // Present, absent, another type, duplicates, and more keys than one batch.
    let mut batch: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    batch.extend([&b"list"[..], b"key:0", b"key:0"]);
    db.item_warm(&batch);
    db.item_warm(&[]);
    db.item_warm(&[b"key:0"]);
    assert_eq!(db.inner.engine.stats(), before, "no hit or miss counted");
    let after: Vec<_> = keys.iter().map(|k| debug(k)).collect();
    assert_eq!(after, words, "no CAS word marked, nothing marked fetched");
    for (i, k) in keys.iter().enumerate() {
        let want = (i % 2 == 0).then(|| (format!("value {i}").into_bytes(), 7));
        assert_eq!(get(&db, k).map(|(v, f, _)| (v, f)), want);
    }
}
