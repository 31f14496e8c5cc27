//! Snapshots of `Cache<K, V>`: round trips (proptest), deadlines across a
//! save and a load, damaged files, crashes while saving, progress reports,
//! compression, starting a cache from a snapshot, and saving while others
//! write.

use embercache::persist::{FailPoint, PersistError, SnapshotOptions, set_fail_point};
use embercache::{Cache, ConfigError};
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt::Debug;
use std::hash::Hash;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Profile {
    name: String,
    age: u32,
    tags: Vec<String>,
    score: Option<f64>,
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Kind {
    Guest,
    Member { since: i64 },
}

/// A fresh directory under the system temporary directory.
fn tempdir(name: &str) -> PathBuf {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let d = std::env::temp_dir().join(format!(
        "embercache-cache-snapshot-{name}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn contents<K, V>(c: &Cache<K, V>) -> HashMap<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    c.iter().collect()
}

/// Inserts `entries` (TTLs in whole minutes, long enough never to run out
/// during a test), saves, loads into a fresh cache, and checks the live
/// entries and which of them have a deadline.
fn round_trip<K, V>(entries: Vec<(K, V, Option<u8>)>, compress: bool) -> Result<(), TestCaseError>
where
    K: Hash + Eq + Clone + Debug + Serialize + DeserializeOwned + Send + Sync + 'static,
    V: Clone + PartialEq + Debug + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    let src: Cache<K, V> = Cache::builder().shards(4).build().unwrap();
    let mut ttls = HashMap::new();
    for (k, v, ttl) in entries {
        match ttl {
            Some(m) => src.insert_with_ttl(k.clone(), v, Duration::from_secs(60 * (u64::from(m) + 10))),
            None => src.insert(k.clone(), v),
        };
        ttls.insert(k, ttl);
    }
    let opts = SnapshotOptions::new().compress(compress);
    let mut buf = Vec::new();
    let saved = src.write_snapshot(&mut buf, &opts).unwrap();
    prop_assert_eq!(saved.keys, src.len());
    prop_assert_eq!(saved.records, saved.keys);

    let dst: Cache<K, V> = Cache::builder().shards(3).build().unwrap();
    let loaded = dst.read_snapshot(&buf[..], &opts).unwrap();
    prop_assert_eq!(loaded, saved);
    prop_assert_eq!(contents(&dst), contents(&src));
    for (k, ttl) in &ttls {
        let info = dst.entry_info(k).unwrap();
        match ttl {
            None => prop_assert_eq!(info.time_to_live, None),
            Some(m) => {
                let left = info.time_to_live.unwrap();
                prop_assert!(left <= Duration::from_secs(60 * (u64::from(*m) + 10)), "{:?}", left);
                prop_assert!(left > Duration::from_secs(60 * (u64::from(*m) + 9)), "{:?}", left);
            }
        }
    }
    Ok(())
}

fn profile() -> impl Strategy<Value = Profile> {
    (
        ".{0,12}",
        any::<u32>(),
        prop::collection::vec("[a-z]{0,6}", 0..4),
        prop::option::of(-1_000_000i32..1_000_000),
        prop::option::of(any::<i64>()),
    )
        .prop_map(|(name, age, tags, score, since)| Profile {
            name,
            age,
            tags,
            score: score.map(|s| f64::from(s) / 8.0),
            kind: since.map_or(Kind::Guest, |since| Kind::Member { since }),
        })
}

fn ttl() -> impl Strategy<Value = Option<u8>> {
    prop::option::weighted(0.3, any::<u8>())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn u64_keys_and_byte_values_round_trip(
        entries in prop::collection::vec((any::<u64>(), prop::collection::vec(any::<u8>(), 0..64), ttl()), 0..300),
        compress in any::<bool>(),
    ) {
        round_trip(entries, compress)?;
    }

    #[test]
    fn string_keys_and_string_values_round_trip(
        entries in prop::collection::vec((".{0,16}", ".{0,40}", ttl()), 0..300),
        compress in any::<bool>(),
    ) {
        round_trip(entries, compress)?;
    }

    #[test]
    fn string_keys_and_struct_values_round_trip(
        entries in prop::collection::vec(("[a-z]{1,8}", profile(), ttl()), 0..200),
        compress in any::<bool>(),
    ) {
        round_trip(entries, compress)?;
    }
}

#[test]
fn file_round_trip_plain_and_compressed() {
    let dir = tempdir("file");
    let src: Cache<u64, String> = Cache::new(100_000);
    for k in 0..5_000u64 {
        src.insert(k, format!("value number {k} ").repeat(4));
    }
    let mut sizes = Vec::new();
    for compress in [false, true] {
        let path = dir.join(format!("c-{compress}.snap"));
        let opts = SnapshotOptions::new().compress(compress);
        let saved = src.save_snapshot(&path, &opts).unwrap();
        assert_eq!(saved.keys, 5_000);
        sizes.push(std::fs::metadata(&path).unwrap().len());
        let dst: Cache<u64, String> = Cache::new(100_000);
        // The reader needs no option to read a compressed file.
        let loaded = dst.load_snapshot(&path, &SnapshotOptions::new()).unwrap();
        assert_eq!(loaded, saved);
        assert_eq!(contents(&dst), contents(&src));
    }
    assert!(sizes[1] * 2 < sizes[0], "compression shrinks repetitive values: {sizes:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn expired_entries_are_dropped_and_remaining_ttl_is_kept() {
    let src: Cache<u64, String> = Cache::new(100);
    src.insert_with_ttl(1, "short".into(), Duration::from_millis(40));
    src.insert_with_ttl(2, "long".into(), Duration::from_secs(3_600));
    src.insert(3, "forever".into());
    let mut buf = Vec::new();
    let saved = src.write_snapshot(&mut buf, &SnapshotOptions::new()).unwrap();
    assert_eq!(saved.keys, 3, "all three were live when saved");
    // The short entry's deadline passes while the snapshot sits unread.
    std::thread::sleep(Duration::from_millis(80));

    let dst: Cache<u64, String> = Cache::new(100);
    dst.read_snapshot(&buf[..], &SnapshotOptions::new()).unwrap();
    assert_eq!(dst.get(&1), None, "expired at load: dropped");
    assert!(!dst.contains_key(&1));
    assert_eq!(dst.len(), 2, "the expired entry is not inserted at all");
    let left = dst.entry_info(&2).and_then(|i| i.time_to_live).unwrap();
    assert!(left < Duration::from_secs(3_600), "the time spent on disk counts: {left:?}");
    assert!(left > Duration::from_secs(3_500), "{left:?}");
    assert_eq!(dst.entry_info(&3).unwrap().time_to_live, None, "no deadline stays no deadline");
    assert_eq!(dst.get(&3).as_deref(), Some("forever"));
}

#[test]
fn loading_warms_up_without_clearing() {
    let src: Cache<u64, String> = Cache::new(100);
    src.insert(1, "from snapshot".into());
    src.insert(2, "from snapshot".into());
    let mut buf = Vec::new();
    src.write_snapshot(&mut buf, &SnapshotOptions::new()).unwrap();
    let dst: Cache<u64, String> = Cache::new(100);
    dst.insert(2, "already here".into());
    dst.insert(3, "already here".into());
    dst.read_snapshot(&buf[..], &SnapshotOptions::new()).unwrap();
    assert_eq!(dst.get(&1).as_deref(), Some("from snapshot"));
    assert_eq!(dst.get(&2).as_deref(), Some("from snapshot"), "the snapshot's value wins for its keys");
    assert_eq!(dst.get(&3).as_deref(), Some("already here"), "other entries stay");
}

/// A small snapshot and a target cache that holds other entries.
fn small_snapshot(compress: bool) -> Vec<u8> {
    let src: Cache<u64, String> = Cache::new(100);
    for k in 0..6u64 {
        src.insert(k, format!("v{k}"));
    }
    src.insert_with_ttl(9, "timed".into(), Duration::from_secs(600));
    let mut buf = Vec::new();
    src.write_snapshot(&mut buf, &SnapshotOptions::new().compress(compress)).unwrap();
    buf
}

fn target() -> (Cache<u64, String>, HashMap<u64, String>) {
    let c: Cache<u64, String> = Cache::new(100);
    c.insert(1, "mine".into());
    c.insert(100, "mine too".into());
    let before = contents(&c);
    (c, before)
}

#[test]
fn every_truncation_is_an_error_and_changes_nothing() {
    for compress in [false, true] {
        let bytes = small_snapshot(compress);
        let (c, before) = target();
        for cut in 0..bytes.len() {
            let r = c.read_snapshot(&bytes[..cut], &SnapshotOptions::new());
            assert!(r.is_err(), "a cut at {cut} of {} is detected", bytes.len());
            assert_eq!(contents(&c), before, "a cut at {cut} changes nothing");
        }
        c.read_snapshot(&bytes[..], &SnapshotOptions::new()).unwrap();
        assert_eq!(c.get(&1).as_deref(), Some("v1"));
    }
}

#[test]
fn every_flipped_byte_is_an_error_and_changes_nothing() {
    for compress in [false, true] {
        let bytes = small_snapshot(compress);
        let (c, before) = target();
        for i in 0..bytes.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] ^= flip;
                let r = c.read_snapshot(&b[..], &SnapshotOptions::new());
                assert!(r.is_err(), "flipping {flip:#x} at byte {i} is detected");
            }
            assert_eq!(contents(&c), before, "damage at byte {i} changes nothing");
        }
        // Data after the footer is refused too.
        let mut b = bytes.clone();
        b.extend_from_slice(&bytes[bytes.len() - 12..]);
        assert!(c.read_snapshot(&b[..], &SnapshotOptions::new()).is_err());
        assert_eq!(contents(&c), before);
    }
}

#[test]
fn a_damaged_file_on_disk_changes_nothing() {
    let dir = tempdir("damaged");
    let path = dir.join("c.snap");
    let src: Cache<u64, String> = Cache::new(100);
    src.insert(1, "saved".into());
    src.save_snapshot(&path, &SnapshotOptions::new()).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n - 20] ^= 0x10;
    std::fs::write(&path, &bytes).unwrap();
    let (c, before) = target();
    let e = c.load_snapshot(&path, &SnapshotOptions::new()).unwrap_err();
    assert!(!matches!(e, PersistError::Io(_)), "named as damage: {e}");
    assert_eq!(contents(&c), before);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn load(path: &Path) -> HashMap<u64, String> {
    let c: Cache<u64, String> = Cache::new(100_000);
    c.load_snapshot(path, &SnapshotOptions::new()).unwrap();
    contents(&c)
}

#[test]
fn a_crash_while_saving_keeps_the_previous_snapshot() {
    let dir = tempdir("crash");
    let path = dir.join("c.snap");
    let cache: Cache<u64, String> = Cache::new(100_000);
    for k in 0..2_000u64 {
        cache.insert(k, format!("old {k}"));
    }
    cache.save_snapshot(&path, &SnapshotOptions::new()).unwrap();
    let old = contents(&cache);
    assert_eq!(load(&path), old);

    for k in 0..3_000u64 {
        cache.insert(k, format!("new {k}"));
    }
    for compress in [false, true] {
        let opts = SnapshotOptions::new().compress(compress);
        // The size of the new snapshot, to fail in its middle and at its end.
        let mut probe = Vec::new();
        cache.write_snapshot(&mut probe, &opts).unwrap();
        let size = probe.len() as u64;
        let points = [
            FailPoint::AfterBytes(0),
            FailPoint::AfterBytes(10),
            FailPoint::AfterBytes(size / 2),
            FailPoint::AfterBytes(size - 1),
            FailPoint::Sync,
            FailPoint::Rename,
        ];
        for point in points {
            set_fail_point(Some(point));
            let r = cache.save_snapshot(&path, &opts);
            set_fail_point(None);
            assert!(r.is_err(), "{point:?} fails the save (compress: {compress})");
            assert_eq!(load(&path), old, "{point:?}: the previous snapshot still loads, unchanged");
            let files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
            assert_eq!(files.len(), 1, "{point:?} leaves no temporary file: {files:?}");
        }
    }
    // Past the rename the new snapshot is in place (its durability unknown).
    set_fail_point(Some(FailPoint::DirSync));
    assert!(cache.save_snapshot(&path, &SnapshotOptions::new()).is_err());
    set_fail_point(None);
    assert_eq!(load(&path), contents(&cache));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn progress_reports_growing_record_counts() {
    let cache: Cache<u64, u64> = Cache::builder().shards(8).build().unwrap();
    for k in 0..100_000u64 {
        cache.insert(k, k * 3);
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    let opts = SnapshotOptions::new().progress(move |p| s.lock().unwrap().push((p.records, p.bytes)));
    let mut buf = Vec::new();
    let saved = cache.write_snapshot(&mut buf, &opts).unwrap();
    assert_eq!(saved.keys, 100_000);
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    assert!(seen.len() >= 10, "a report per frame: {}", seen.len());
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1), "counts grow");
    assert_eq!(seen.last().map(|p| p.0), Some(100_000));

    // Loading reports too.
    let reads = Arc::new(AtomicU64::new(0));
    let r = Arc::clone(&reads);
    let opts = SnapshotOptions::new().progress(move |p| {
        r.fetch_max(p.records, Ordering::Relaxed);
    });
    let dst: Cache<u64, u64> = Cache::builder().build().unwrap();
    dst.read_snapshot(&buf[..], &opts).unwrap();
    assert_eq!(reads.load(Ordering::Relaxed), 100_000);
    assert_eq!(dst.len(), 100_000);
    assert_eq!(dst.get(&77_777), Some(77_777 * 3));
}

#[test]
fn builder_starts_from_a_snapshot_or_fails() {
    let dir = tempdir("builder");
    let path = dir.join("c.snap");
    let src: Cache<String, Profile> = Cache::new(100);
    let p = Profile { name: "Ada".into(), age: 36, tags: vec!["math".into()], score: Some(1.5), kind: Kind::Guest };
    src.insert("ada".into(), p.clone());
    src.save_snapshot(&path, &SnapshotOptions::new().compress(true)).unwrap();

    let opts = SnapshotOptions::new();
    let warm: Cache<String, Profile> = Cache::builder().max_capacity(100).load_snapshot(&path, &opts).build().unwrap();
    assert_eq!(warm.get("ada"), Some(p));

    // Damaged: no cache, and the error says which file and why.
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    bytes.truncate(n - 3);
    std::fs::write(&path, &bytes).unwrap();
    let e = Cache::<String, Profile>::builder().load_snapshot(&path, &opts).build().unwrap_err();
    let ConfigError::Snapshot(s) = &e else { panic!("{e}") };
    assert_eq!(s.path(), path);
    assert!(matches!(s.error(), PersistError::Truncated { .. }), "{e}");
    assert!(std::error::Error::source(&e).is_some());
    // Other configuration errors come first.
    let e = Cache::<String, Profile>::builder().shards(0).load_snapshot(&path, &opts).build().unwrap_err();
    assert_eq!(e, ConfigError::Shards(0));
    // Of other types: refused.
    std::fs::write(&path, small_snapshot(false)).unwrap();
    let e = Cache::<String, Profile>::builder().load_snapshot(&path, &opts).build().unwrap_err();
    assert!(matches!(e, ConfigError::Snapshot(_)), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn saving_while_others_write() {
    let cache: Cache<u64, Vec<u8>> = Cache::builder().shards(4).build().unwrap();
    for k in 0..20_000u64 {
        cache.insert(k, k.to_le_bytes().to_vec());
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let cache = cache.clone();
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let k = 1_000_000 + n % 5_000;
                if n.is_multiple_of(3) {
                    cache.remove(&k);
                } else {
                    cache.insert(k, vec![1; 16]);
                }
                n += 1;
            }
            n
        })
    };
    let mut buf = Vec::new();
    let saved = cache.write_snapshot(&mut buf, &SnapshotOptions::new()).unwrap();
    stop.store(true, Ordering::Relaxed);
    assert!(writer.join().unwrap() > 0);
    let dst: Cache<u64, Vec<u8>> = Cache::builder().build().unwrap();
    assert_eq!(dst.read_snapshot(&buf[..], &SnapshotOptions::new()).unwrap(), saved);
    // Every entry present throughout the save is in the snapshot.
    for k in 0..20_000u64 {
        assert_eq!(dst.get(&k), Some(k.to_le_bytes().to_vec()), "{k}");
    }
    // A key removed and written again into a slot not yet visited can be
    // saved twice; the later record (read later) wins on load.
    assert!(dst.len() <= saved.keys && dst.len() >= 20_000, "{} of {}", dst.len(), saved.keys);
    dst.validate();
}
