//! Snapshots of a `Db`: round trips of every value type (proptest, against
//! a canonical dump of the store), big aggregates split across records,
//! TTLs kept as absolute time, and damaged files refused by name without
//! touching the store.

mod support;

use embercache::Db;
use embercache::persist::{FailPoint, PersistError, SnapshotOptions, set_fail_point};
use proptest::prelude::*;
use support::{assert_same, dump, run, tempdir, write_command};

fn snapshot(db: &Db, opts: &SnapshotOptions) -> Vec<u8> {
    let mut buf = Vec::new();
    db.write_snapshot(&mut buf, opts).expect("save");
    buf
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn round_trip_of_every_type(cmds in prop::collection::vec(write_command(), 0..60), compress: bool) {
        let db = Db::new();
        for c in &cmds {
            run(&db, c);
        }
        let opts = SnapshotOptions::new().compress(compress);
        let bytes = snapshot(&db, &opts);
        let back = Db::new();
        back.execute(&["SET", "stale", "gone after load"]);
        let summary = back.read_snapshot(&bytes[..], &opts).expect("load");
        prop_assert_eq!(summary.keys, db.keys(b"*").len() as u64);
        assert_same(&dump(&db), &dump(&back), 1000);
        back.validate();
    }
}

#[test]
fn big_aggregates_span_many_records_and_keep_their_encoding() {
    let db = Db::new();
    for i in 0..5000 {
        let m = format!("m{i}");
        db.execute(&["ZADD", "z", &(i % 97).to_string(), &m]);
        db.execute(&["SADD", "s", &m]);
        db.execute(&["HSET", "h", &m, &i.to_string()]);
        db.execute(&["RPUSH", "l", &m]);
    }
    db.execute(&["HSET", "small", "f", "v"]);
    let bytes = snapshot(&db, &SnapshotOptions::new());
    let back = Db::new();
    let summary = back.read_snapshot(&bytes[..], &SnapshotOptions::new()).unwrap();
    assert_eq!(summary.keys, 5);
    assert!(summary.records > 5 * 4, "aggregates are chunked: {summary:?}");
    assert_same(&dump(&db), &dump(&back), 1000);
    for (k, enc) in [("h", "hashtable"), ("small", "listpack"), ("z", "skiplist")] {
        assert_eq!(back.execute(&["OBJECT", "ENCODING", k]), embercache::Reply::bulk(enc), "{k}");
    }
    back.validate();
}

#[test]
fn ttls_are_absolute_and_expired_keys_are_dropped_at_load() {
    let db = Db::new();
    db.execute(&["SET", "short", "v", "PX", "30"]);
    db.execute(&["SET", "long", "v", "EX", "1000"]);
    db.execute(&["SET", "forever", "v"]);
    let bytes = snapshot(&db, &SnapshotOptions::new());
    std::thread::sleep(std::time::Duration::from_millis(60));
    let back = Db::new();
    let summary = back.read_snapshot(&bytes[..], &SnapshotOptions::new()).unwrap();
    assert_eq!(summary.keys, 3, "the file holds all three");
    assert_eq!(back.keys(b"*").len(), 2, "the expired one is dropped");
    let ttl = back.execute(&["PTTL", "long"]).as_integer().unwrap();
    assert!(ttl <= 1_000_000 - 60 && ttl > 900_000, "the TTL kept counting while down: {ttl}");
    assert_eq!(back.execute(&["PEXPIRETIME", "long"]), db.execute(&["PEXPIRETIME", "long"]));
    assert_eq!(back.execute(&["TTL", "forever"]).as_integer(), Some(-1));
}

fn sample_db() -> Db {
    let db = Db::new();
    db.execute(&["SET", "a", "1"]);
    db.execute(&["RPUSH", "l", "x", "y"]);
    db.execute(&["ZADD", "z", "1", "m", "2", "n"]);
    db.execute(&["HSET", "h", "f", "v"]);
    db.execute(&["SADD", "s", "p", "q"]);
    db
}

#[test]
fn every_truncation_and_every_flipped_byte_fails_and_changes_nothing() {
    let bytes = snapshot(&sample_db(), &SnapshotOptions::new());
    let target = Db::new();
    target.execute(&["SET", "keep", "me"]);
    let before = dump(&target);
    for cut in 0..bytes.len() {
        assert!(target.read_snapshot(&bytes[..cut], &SnapshotOptions::new()).is_err(), "cut at {cut}");
    }
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x10;
        assert!(target.read_snapshot(&b[..], &SnapshotOptions::new()).is_err(), "flipped byte {i}");
    }
    let mut longer = bytes.clone();
    longer.extend_from_slice(b"junk after the footer");
    assert!(target.read_snapshot(&longer[..], &SnapshotOptions::new()).is_err());
    assert_eq!(dump(&target), before, "failed loads leave the store as it was");
}

#[test]
fn wrong_magic_future_version_and_wrong_content_are_named() {
    let bytes = snapshot(&sample_db(), &SnapshotOptions::new());
    let db = Db::new();
    let mut b = bytes.clone();
    b[0] = b'X';
    assert!(matches!(db.read_snapshot(&b[..], &SnapshotOptions::new()), Err(PersistError::BadMagic { .. })));
    let mut b = bytes.clone();
    b[8] = 2;
    let err = db.read_snapshot(&b[..], &SnapshotOptions::new()).unwrap_err();
    assert!(matches!(err, PersistError::UnsupportedVersion { found: 2, supported: 1 }), "{err}");
    assert!(err.to_string().contains("version 2"));
}

#[test]
fn a_failed_save_at_any_stage_keeps_the_previous_snapshot() {
    let dir = tempdir("db-snap-crash");
    let path = dir.join("dump.ember");
    let old = sample_db();
    old.save_snapshot(&path, &SnapshotOptions::new()).unwrap();
    let newer = sample_db();
    for i in 0..2000 {
        newer.execute(&["SET", &format!("k{i}"), "v"]);
    }
    let size = std::fs::metadata(&path).unwrap().len();
    let mut points: Vec<FailPoint> = (0..8).map(|i| FailPoint::AfterBytes(i * size / 3)).collect();
    points.extend([FailPoint::Sync, FailPoint::Rename]);
    for p in points {
        set_fail_point(Some(p));
        assert!(newer.save_snapshot(&path, &SnapshotOptions::new()).is_err(), "{p:?}");
        set_fail_point(None);
        let back = Db::new();
        back.load_snapshot(&path, &SnapshotOptions::new()).unwrap();
        assert_same(&dump(&old), &dump(&back), 1000);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no temporary left by {p:?}");
    }
    newer.save_snapshot(&path, &SnapshotOptions::new()).unwrap();
    let back = Db::new();
    back.load_snapshot(&path, &SnapshotOptions::new()).unwrap();
    assert_eq!(back.keys(b"*").len(), 2005);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn progress_is_reported_while_saving_and_loading() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let db = Db::new();
    for i in 0..20_000 {
        db.execute(&["SET", &format!("key:{i}"), "some value"]);
    }
    let calls = Arc::new(AtomicU64::new(0));
    let last = Arc::new(AtomicU64::new(0));
    let (c, l) = (calls.clone(), last.clone());
    let opts = SnapshotOptions::new().progress(move |p| {
        c.fetch_add(1, Ordering::Relaxed);
        assert!(p.records >= l.swap(p.records, Ordering::Relaxed), "records only grow");
    });
    let bytes = snapshot(&db, &opts);
    assert!(calls.load(Ordering::Relaxed) > 3);
    assert_eq!(last.load(Ordering::Relaxed), 20_000);
    calls.store(0, Ordering::Relaxed);
    last.store(0, Ordering::Relaxed);
    Db::new().read_snapshot(&bytes[..], &opts).unwrap();
    assert!(calls.load(Ordering::Relaxed) > 3);
    assert_eq!(last.load(Ordering::Relaxed), 20_000);
}
