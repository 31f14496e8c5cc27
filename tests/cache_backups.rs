//! Backups of a typed `Cache`: the schedule takes snapshots and prunes
//! them, a new cache starts warm from the newest one that loads, failures
//! are counted and reported without stopping the cache, and dropping the
//! cache stops the schedule.

mod support;

use embercache::cache::{CacheBackupOptions, CacheBackups};
use embercache::{Cache, ConfigError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use support::tempdir;

fn snapshots(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|p: &PathBuf| p.file_name().unwrap().to_str().unwrap().starts_with("snapshot-"))
        .collect();
    v.sort();
    v
}

fn open(dir: &Path, opts: CacheBackupOptions) -> Cache<u64, String> {
    Cache::builder().max_capacity(10_000).backups(dir, opts).build().expect("backups open")
}

/// Waits (at most 1.5 s) until `done` holds.
fn wait_for(b: &CacheBackups, done: impl Fn(&CacheBackups) -> bool) {
    let deadline = Instant::now() + Duration::from_millis(1_500);
    while !done(b) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(done(b), "{b:?}");
}

#[test]
fn the_schedule_takes_snapshots_and_prunes_to_the_kept_number() {
    let dir = tempdir("cache-backups-schedule");
    let cache = open(&dir, CacheBackupOptions::new().every(Duration::from_millis(100)).keep(2));
    let b = cache.backups().expect("configured");
    assert_eq!(b.dir(), dir);
    assert_eq!(b.recovery().snapshot, None, "a new directory holds nothing");
    for k in 0..100 {
        cache.insert(k, format!("v{k}"));
    }
    wait_for(&b, |b| b.stats().snapshots >= 4);
    let stats = b.stats();
    assert_eq!(stats.failures, 0, "{stats:?}");
    assert!(stats.last_snapshot_unix_ms.is_some());
    let files = snapshots(&dir);
    assert!(files.len() <= 2, "pruned to 2: {files:?}");
    assert!(files[0] < files[1], "numbers increase");
    drop(cache);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_new_cache_on_the_same_directory_starts_warm() {
    let dir = tempdir("cache-backups-warm");
    {
        let cache = open(&dir, CacheBackupOptions::new());
        for k in 0..500 {
            cache.insert(k, format!("v{k}"));
        }
        cache.insert_with_ttl(1_000, "short".into(), Duration::from_secs(600));
        let summary = cache.backups().unwrap().snapshot_now().unwrap();
        assert_eq!(summary.keys, 501);
    }
    let warm = open(&dir, CacheBackupOptions::new());
    assert_eq!(warm.len(), 501);
    assert_eq!(warm.get(&7).as_deref(), Some("v7"));
    let ttl = warm.entry_info(&1_000).and_then(|i| i.time_to_live).unwrap();
    assert!(ttl <= Duration::from_secs(600), "the time-to-live kept counting: {ttl:?}");
    let recovery = warm.backups().unwrap().recovery().clone();
    assert_eq!(recovery.snapshot.map(|s| s.keys), Some(501));
    assert_eq!(recovery.file, snapshots(&dir).last().cloned());
    assert!(recovery.skipped_snapshots.is_empty());
    // `load_snapshot` is ignored when backups are set.
    let c: Cache<u64, String> = Cache::builder()
        .load_snapshot(dir.join("missing"), &Default::default())
        .backups(&dir, CacheBackupOptions::new())
        .build()
        .unwrap();
    assert_eq!(c.len(), 501);
    drop((warm, c));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_damaged_newest_snapshot_falls_back_to_the_previous_one() {
    let dir = tempdir("cache-backups-damaged");
    {
        let cache = open(&dir, CacheBackupOptions::new());
        let b = cache.backups().unwrap();
        cache.insert(1, "old".into());
        b.snapshot_now().unwrap();
        cache.insert(1, "new".into());
        cache.insert(2, "two".into());
        b.snapshot_now().unwrap();
    }
    let files = snapshots(&dir);
    assert_eq!(files.len(), 2);
    let newest = files[1].clone();
    let mut bytes = std::fs::read(&newest).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&newest, bytes).unwrap();
    let cache = open(&dir, CacheBackupOptions::new());
    assert_eq!(cache.get(&1).as_deref(), Some("old"));
    assert_eq!(cache.get(&2), None);
    let recovery = cache.backups().unwrap().recovery().clone();
    assert_eq!(recovery.file.as_ref(), Some(&files[0]));
    assert_eq!(recovery.skipped_snapshots.len(), 1);
    assert_eq!(recovery.skipped_snapshots[0].0, newest);
    // The next snapshot is numbered past the damaged one, which pruning
    // removes in its turn.
    let b = cache.backups().unwrap();
    for _ in 0..3 {
        b.snapshot_now().unwrap();
    }
    let now = snapshots(&dir);
    assert_eq!(now.len(), 3, "{now:?}");
    assert!(!now.contains(&newest));
    // Snapshots of other types are skipped too, and with none left the
    // cache starts empty.
    drop(cache);
    let other: Cache<String, u64> =
        Cache::builder().backups(&dir, CacheBackupOptions::new()).build().expect("starts empty");
    assert!(other.is_empty());
    assert_eq!(other.backups().unwrap().recovery().skipped_snapshots.len(), 3);
    drop(other);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn failures_are_counted_and_reported_while_the_cache_keeps_working() {
    let dir = tempdir("cache-backups-failures");
    let errors = Arc::new(AtomicU64::new(0));
    let e2 = errors.clone();
    let opts = CacheBackupOptions::new().every(Duration::from_millis(100)).on_error(move |_| {
        e2.fetch_add(1, Ordering::Relaxed);
    });
    let cache = open(&dir, opts);
    cache.insert(1, "one".into());
    let b = cache.backups().unwrap();
    wait_for(&b, |b| b.stats().snapshots >= 1);
    std::fs::remove_dir_all(&dir).unwrap();
    wait_for(&b, |b| b.stats().failures >= 2);
    assert!(errors.load(Ordering::Relaxed) >= 2);
    assert!(b.stats().last_error.is_some());
    assert!(b.snapshot_now().is_err(), "the directory is not created again");
    cache.insert(2, "two".into());
    assert_eq!(cache.get(&2).as_deref(), Some("two"));
    // Once the directory is back, the schedule succeeds again.
    std::fs::create_dir_all(&dir).unwrap();
    let before = b.stats().snapshots;
    wait_for(&b, |b| b.stats().snapshots > before);
    drop(cache);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn dropping_the_cache_stops_the_schedule() {
    let dir = tempdir("cache-backups-drop");
    let cache = open(&dir, CacheBackupOptions::new().every(Duration::from_millis(50)).keep(100));
    cache.insert(1, "one".into());
    let b = cache.backups().unwrap();
    wait_for(&b, |b| b.stats().snapshots >= 2);
    drop(cache);
    // A snapshot under way when the cache went may still finish.
    std::thread::sleep(Duration::from_millis(60));
    let after_drop = snapshots(&dir).len();
    let taken = b.stats().snapshots;
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(snapshots(&dir).len(), after_drop, "no new files after the drop");
    assert_eq!(b.stats().snapshots, taken);
    // The handle outlives the cache; taking a snapshot then fails.
    let e = b.snapshot_now().unwrap_err();
    assert!(e.to_string().contains("dropped"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_configurations_fail_the_build() {
    let dir = tempdir("cache-backups-config");
    let e = Cache::<u64, String>::builder()
        .backups(&dir, CacheBackupOptions::new().every(Duration::ZERO))
        .build()
        .unwrap_err();
    assert_eq!(e, ConfigError::ZeroDuration("backup interval"));
    // A file where the directory should be.
    let file = dir.join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    match Cache::<u64, String>::builder().backups(&file, CacheBackupOptions::new()).build().unwrap_err() {
        ConfigError::Snapshot(s) => assert_eq!(s.path(), file),
        other => panic!("{other}"),
    }
    // Without backups there is no handle.
    assert!(Cache::<u64, String>::new(10).backups().is_none());
    std::fs::remove_dir_all(&dir).unwrap();
}
