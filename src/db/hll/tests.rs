//! Unit tests of HyperLogLog: Redis's bytes and counts, accuracy, the
//! sparse and dense forms, errors, caching, TTLs and events.

use super::sketch::{self, Encoding, REGISTERS};
use crate::db::notify::EventClass;
use crate::db::string::SetOptions;
use crate::db::string::tests::{give_ttl, put_list, table, ttl_of};
use crate::db::tests::manual_db;
use crate::db::tests::{WRONGTYPE, int};
use crate::db::{Db, DbError, Reply};

fn err(text: &str) -> Reply {
    Reply::Error(text.into())
}

const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
const CORRUPT: &str = "INVALIDOBJ Corrupted HLL object detected";
/// Adds `prefix0..prefix{n-1}` to `key` in batches of 1000.
fn add_range(db: &Db, key: &str, prefix: &str, n: usize) {
    let names: Vec<String> = (0..n).map(|i| format!("{prefix}{i}")).collect();
    for batch in names.chunks(1000) {
        let elements: Vec<&[u8]> = batch.iter().map(|s| s.as_bytes()).collect();
        db.pfadd(key.as_bytes(), &elements).unwrap();
    }
}

fn set_raw(db: &Db, key: &str, bytes: &[u8]) {
    db.set(key.as_bytes(), bytes, SetOptions::default()).unwrap();
}

fn raw(db: &Db, key: &str) -> Vec<u8> {
    db.get(key.as_bytes()).unwrap().unwrap_or_default()
}

#[test]
fn values_and_counts_are_redis_s() {
    // Captured from Redis 7.0: `PFADD k a b c` then `GET k`.
    let (db, _) = manual_db();
    assert_eq!(db.execute(&["PFADD", "k", "a", "b", "c"]), int(1));
    assert_eq!(raw(&db, "k"), b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80`\xf3\x80P\xb1\x84K\xfb\x80BZ");
    let xs: Vec<String> = (0..10).map(|i| format!("x{i}")).collect();
    let mut args = vec!["PFADD", "x"];
    args.extend(xs.iter().map(String::as_str));
    db.execute(&args);
    let want =
        b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80Cr\x94B\xa3\x84H+\x84B\x95\xb4D\x12\x80H\xf4\x8cNW\x8cG>\x84-\x88K\xed\x88@a";
    assert_eq!(raw(&db, "x"), want);
    // Redis's answers for e0..e999 and e0..e19999 added 1000 at a time.
    add_range(&db, "e1k", "e", 1000);
    assert_eq!(db.execute(&["PFCOUNT", "e1k"]), int(1008));
    add_range(&db, "e20k", "e", 20_000);
    assert_eq!(db.execute(&["PFCOUNT", "e20k"]), int(19901));
    assert_eq!(raw(&db, "e20k")[4], 0, "dense by then");
}

#[test]
fn counts_100k_distinct_elements_within_2_percent() {
    let (db, _) = manual_db();
    add_range(&db, "h", "element:", 100_000);
    let n = db.pfcount(&[b"h"]).unwrap();
    assert!((98_000..=102_000).contains(&n), "{n}");
    // Adding them again changes nothing.
    let before = raw(&db, "h");
    assert_eq!(db.pfadd(b"h", &[b"element:7", b"element:99999"]), Ok(false));
    assert_eq!(raw(&db, "h"), before);
}

#[test]
fn sparse_turns_dense_and_both_count_alike() {
    let (db, _) = manual_db();
    add_range(&db, "h", "a", 200);
    let sparse = raw(&db, "h");
    assert_eq!(sparse[4], 1, "small sketches stay sparse");
    assert!(sparse.len() < 3000);
    let regs = sketch::decode(&sparse, Encoding::Sparse).unwrap();
    let dense = sketch::encode(&regs, false, None);
    assert_eq!(dense.len(), 16 + REGISTERS * 6 / 8);
    assert_eq!(sketch::decode(&dense, Encoding::Dense).unwrap(), regs);
    let n = sketch::count(&regs);
    assert_eq!(sketch::count_of(&sparse, Encoding::Sparse), Ok(n));
    assert_eq!(sketch::count_of(&dense, Encoding::Dense), Ok(n));
    add_range(&db, "h", "b", 3000);
    assert_eq!(raw(&db, "h")[4], 0, "past 3000 bytes the sketch is dense");
    // A register above 32 also forces the dense form.
    let mut regs = sketch::zeroed();
    regs[5] = 33;
    assert_eq!(sketch::encode(&regs, true, None)[4], 0);
    regs[5] = 32;
    assert_eq!(sketch::encode(&regs, true, None)[4], 1);
}

#[test]
fn errors_follow_redis() {
    let (db, _) = manual_db();
    put_list(&db, "l");
    db.execute(&["SET", "s", "not a sketch"]);
    db.execute(&["SET", "short", "HYLL"]);
    set_raw(&db, "baddense", b"HYLL\0\0\0\0\0\0\0\0\0\0\0\x80");
    set_raw(&db, "badenc", b"HYLL\x02\0\0\0\0\0\0\0\0\0\0\x80\x7f\xff");
    // Sparse runs covering 16383 registers, and 16385.
    set_raw(&db, "short_run", b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x7f\xfe");
    set_raw(&db, "long_run", b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x7f\xff\x00");
    db.execute(&["PFADD", "h", "a"]);
    table(
        &db,
        &[
            (&["PFADD", "l", "a"], err(WRONGTYPE)),
            (&["PFCOUNT", "l"], err(WRONGTYPE)),
            (&["PFMERGE", "l", "h"], err(WRONGTYPE)),
            (&["PFMERGE", "h", "l"], err(WRONGTYPE)),
            (&["PFADD", "s", "a"], err(NOT_HLL)),
            (&["PFADD", "s"], err(NOT_HLL)),
            (&["PFADD", "short", "a"], err(NOT_HLL)),
            (&["PFADD", "baddense", "a"], err(NOT_HLL)),
            (&["PFADD", "badenc", "a"], err(NOT_HLL)),
            (&["PFCOUNT", "h", "s"], err(NOT_HLL)),
            (&["PFCOUNT", "s"], err(NOT_HLL)),
            (&["PFMERGE", "h", "s"], err(NOT_HLL)),
            (&["PFMERGE", "s", "h"], err(NOT_HLL)),
            (&["PFCOUNT", "short_run"], err(CORRUPT)),
            (&["PFCOUNT", "long_run", "h"], err(CORRUPT)),
            (&["PFADD", "long_run", "a"], err(CORRUPT)),
            (&["PFMERGE", "h", "short_run"], err(CORRUPT)),
            (&["PFCOUNT"], err("ERR wrong number of arguments for 'pfcount' command")),
            (&["PFMERGE"], err("ERR wrong number of arguments for 'pfmerge' command")),
        ],
    );
    assert_eq!(db.pfcount(&[b"h"]), Ok(1), "failed merges left h alone");
    assert_eq!(db.pfcount(&[]), Ok(0));
}

#[test]
fn pfadd_pfcount_pfmerge_follow_redis() {
    let (db, _) = manual_db();
    table(
        &db,
        &[
            (&["PFADD", "h"], int(1)),
            (&["PFADD", "h"], int(0)),
            (&["PFCOUNT", "h"], int(0)),
            (&["PFADD", "h", "a", "b", "c"], int(1)),
            (&["PFADD", "h", "a", "b"], int(0)),
            (&["PFADD", "g", "c", "d"], int(1)),
            (&["PFCOUNT", "h"], int(3)),
            (&["PFCOUNT", "h", "g", "missing"], int(4)),
            (&["PFCOUNT", "missing"], int(0)),
            (&["PFMERGE", "m", "h", "g", "missing"], Reply::OK),
            (&["PFCOUNT", "m"], int(4)),
            (&["PFMERGE", "h", "g"], Reply::OK),
            (&["PFCOUNT", "h"], int(4)),
            (&["PFMERGE", "alone"], Reply::OK),
            (&["PFCOUNT", "alone"], int(0)),
        ],
    );
    assert_eq!(db.read(b"alone", |v| v.type_name()), Some("string"));
    // The union count leaves the keys' bytes alone; a single count caches.
    let (h, g) = (raw(&db, "g"), raw(&db, "h"));
    db.execute(&["PFCOUNT", "g", "h"]);
    assert_eq!((raw(&db, "g"), raw(&db, "h")), (h, g));
    db.execute(&["PFADD", "c", "x", "y"]);
    assert_eq!(sketch::cached(&raw(&db, "c")), None);
    assert_eq!(db.execute(&["PFCOUNT", "c"]), int(2));
    assert_eq!(sketch::cached(&raw(&db, "c")), Some(2));
    assert_eq!(db.execute(&["PFCOUNT", "c"]), int(2));
    db.execute(&["PFADD", "c", "z"]);
    assert_eq!(sketch::cached(&raw(&db, "c")), None);
    assert_eq!(db.execute(&["PFCOUNT", "c"]), int(3));
}

#[test]
fn merging_dense_and_sparse_keeps_dense() {
    let (db, _) = manual_db();
    add_range(&db, "big", "b", 5000);
    add_range(&db, "small", "s", 10);
    assert_eq!(db.pfmerge(b"small", &[b"big"]), Ok(()));
    assert_eq!(raw(&db, "small")[4], 0);
    let union = db.pfcount(&[b"big", b"small"]).unwrap();
    assert_eq!(db.pfcount(&[b"small"]), Ok(union));
    add_range(&db, "s2", "t", 10);
    assert_eq!(db.pfmerge(b"s2", &[b"missing"]), Ok(()));
    assert_eq!(raw(&db, "s2")[4], 1, "sparse inputs stay sparse");
    assert_eq!(db.pfcount(&[b"s2"]), Ok(10));
}

#[test]
fn ttls_and_events_follow_redis() {
    let (db, _) = manual_db();
    let events = db.subscribe_keyspace(&[EventClass::String], 16);
    let names = || std::iter::from_fn(|| events.try_recv()).map(|e| e.name).collect::<Vec<_>>();
    db.execute(&["PFADD", "h", "a"]);
    assert_eq!(names(), ["pfadd"]);
    db.execute(&["PFADD", "h", "a"]);
    assert_eq!(names(), Vec::<&str>::new());
    db.execute(&["PFCOUNT", "h"]);
    assert_eq!(names(), Vec::<&str>::new());
    let at = give_ttl(&db, "h");
    db.execute(&["PFADD", "h", "b"]);
    db.execute(&["PFCOUNT", "h"]);
    db.execute(&["PFMERGE", "h", "other"]);
    assert_eq!(names(), ["pfadd", "pfadd"]);
    assert_eq!(ttl_of(&db, "h"), Some(at));
    assert_eq!(db.pfmerge(b"h", &[]), Ok(()));
    assert_eq!(names(), ["pfadd"]);
    set_raw(&db, "s", b"x");
    assert_eq!(db.pfadd(b"s", &[b"x"]), Err(DbError::NotHll));
}

#[test]
fn murmur64a_hashes_every_tail_length() {
    // (Redis's own bytes and counts above pin the hash down; this covers
    // the empty input and each tail length.)
    assert_eq!(sketch::murmur64a(b"", 0), 0);
    let data = b"0123456789abcdef";
    let hashes: Vec<u64> = (0..=data.len()).map(|n| sketch::murmur64a(&data[..n], 0xadc8_3b19)).collect();
    let mut unique = hashes.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), hashes.len());
}
