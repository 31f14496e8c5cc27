//! Backups of a `Db`: the journal replayed over the newest snapshot equals
//! the live store (also for snapshots taken while writers run), torn and
//! damaged journals, point-in-time restore, pruning and the schedule.

mod support;

use embercache::Db;
use embercache::db::{BackupOptions, Backups};
use embercache::persist::{FsyncPolicy, PersistError};
use embercache::time::ManualClock;
use proptest::prelude::*;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use support::{assert_same, dump, run, tempdir, write_command};

fn reopen(dir: &Path, opts: BackupOptions) -> (Db, Backups) {
    let db = Db::new();
    let b = Backups::open(&db, dir, opts).expect("recovery");
    (db, b)
}

fn segments(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with("journal-"))
        .collect();
    v.sort();
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Replaying the journal (with a snapshot somewhere in the middle) gives
    /// exactly the store that was live.
    #[test]
    fn recovery_equals_the_live_store(
        before in prop::collection::vec(write_command(), 0..40),
        after in prop::collection::vec(write_command(), 0..40),
        snapshot: bool,
        fsync in prop::sample::select(vec![FsyncPolicy::Always, FsyncPolicy::EverySecond, FsyncPolicy::Os]),
    ) {
        let dir = tempdir("backups-model");
        let opts = BackupOptions::new().fsync(fsync);
        let expected = {
            let (db, b) = reopen(&dir, opts.clone());
            for c in &before { run(&db, c); }
            if snapshot { b.snapshot_now().unwrap(); }
            for c in &after { run(&db, c); }
            dump(&db)
        };
        let (db, b) = reopen(&dir, opts);
        prop_assert_eq!(b.recovery().snapshot.is_some(), snapshot);
        assert_same(&expected, &dump(&db), 0);
        db.validate();
        drop((db, b));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn a_snapshot_taken_while_writers_run_is_made_consistent_by_the_journal() {
    let dir = tempdir("backups-concurrent");
    let live = {
        let (db, b) = reopen(&dir, BackupOptions::new());
        for i in 0..3000 {
            db.execute(&["SET", &format!("k{i}"), "0"]);
            db.execute(&["HSET", "h", &format!("f{i}"), "0"]);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let writes = Arc::new(AtomicU64::new(0));
        let writers: Vec<_> = (0..2)
            .map(|t| {
                let (db, stop, writes) = (db.clone(), stop.clone(), writes.clone());
                std::thread::spawn(move || {
                    let mut i = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let k = format!("k{}", (i * 7 + t) % 3000);
                        db.execute(&["INCR", &k]);
                        db.execute(&["HINCRBY", "h", &format!("f{}", i % 3000), "1"]);
                        db.execute(&["ZINCRBY", "z", "1", &format!("m{}", i % 50)]);
                        db.execute(&["RPUSH", "l", &i.to_string()]);
                        if i.is_multiple_of(3) {
                            db.execute(&["LPOP", "l"]);
                            db.execute(&["DEL", &format!("k{}", (i * 13) % 3000)]);
                        }
                        i += 1;
                        writes.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        let mut during = 0;
        for _ in 0..3 {
            let w0 = writes.load(Ordering::Relaxed);
            b.snapshot_now().unwrap();
            during += writes.load(Ordering::Relaxed) - w0;
        }
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.join().unwrap();
        }
        assert!(during > 0, "writes went on while the snapshots were taken");
        dump(&db)
    };
    let (db, b) = reopen(&dir, BackupOptions::new());
    assert!(b.recovery().snapshot.is_some());
    assert!(b.recovery().entries_replayed > 0, "{:?}", b.recovery());
    assert_same(&live, &dump(&db), 0);
    drop((db, b));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_torn_last_entry_is_dropped_and_reported() {
    let dir = tempdir("backups-torn");
    {
        let (db, _b) = reopen(&dir, BackupOptions::new().fsync(FsyncPolicy::Always));
        db.execute(&["SET", "a", "1"]);
        db.execute(&["SET", "b", "2"]);
    }
    let seg = segments(&dir).pop().unwrap();
    let len = std::fs::metadata(&seg).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
    f.set_len(len - 3).unwrap();
    drop(f);
    let (db, b) = reopen(&dir, BackupOptions::new());
    assert_eq!(b.recovery().torn_tail.as_ref().map(|t| &t.0), Some(&seg));
    assert_eq!(db.get(b"a").unwrap(), Some(b"1".to_vec()));
    assert_eq!(db.get(b"b").unwrap(), None, "the torn write is dropped");
    db.execute(&["SET", "c", "3"]);
    drop((db, b));
    // The torn bytes were cut off: the next recovery is clean.
    let (db, b) = reopen(&dir, BackupOptions::new());
    assert_eq!(b.recovery().torn_tail, None);
    assert_eq!(db.keys(b"*").len(), 2);
    drop((db, b));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn damage_in_the_middle_is_an_error_unless_recovery_up_to_it_is_asked() {
    let dir = tempdir("backups-corrupt");
    {
        let (db, _b) = reopen(&dir, BackupOptions::new().fsync(FsyncPolicy::Always));
        for i in 0..20 {
            db.execute(&["SET", &format!("k{i}"), &"v".repeat(20)]);
        }
    }
    let seg = segments(&dir).pop().unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&seg, &bytes).unwrap();
    let db = Db::new();
    let err = Backups::open(&db, &dir, BackupOptions::new()).unwrap_err();
    assert!(matches!(err, PersistError::JournalCorrupt { .. }), "{err}");
    assert_eq!(db.keys(b"*").len(), 0);
    let (db, b) = reopen(&dir, BackupOptions::new().recover_to_corruption(true));
    let kept = db.keys(b"*").len();
    assert!((5..20).contains(&kept), "keeps what precedes the damage: {kept}");
    assert!(b.recovery().stopped_at_corruption.is_some());
    let damaged = std::fs::read(format!("{}.damaged", seg.display())).expect("a copy of the damaged segment is kept");
    assert_eq!(damaged, bytes, "the copy is the segment as it was");
    db.execute(&["SET", "after", "1"]);
    drop((db, b));
    // A snapshot was taken at once, so the damage is not met again.
    let (db, b) = reopen(&dir, BackupOptions::new());
    assert_eq!(db.keys(b"*").len(), kept + 1);
    drop((db, b));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn restore_to_any_point_in_time_between_snapshots() {
    let dir = tempdir("backups-pitr");
    let clock = ManualClock::new();
    let db = Db::builder().clock(clock.clone()).build().unwrap();
    let b = Backups::open(&db, &dir, BackupOptions::new().keep(10)).unwrap();
    let mut marks = Vec::new();
    for step in 0..12u32 {
        clock.advance(Duration::from_millis(1000));
        db.execute(&["SET", "step", &step.to_string()]);
        db.execute(&["INCRBY", "sum", &step.to_string()]);
        db.execute(&["RPUSH", "log", &step.to_string()]);
        if step.is_multiple_of(2) {
            db.execute(&["ZADD", "z", &step.to_string(), &format!("m{}", step % 5)]);
        }
        if step % 4 == 1 {
            b.snapshot_now().unwrap();
        }
        marks.push((dump(&db), db.unix_time_ms()));
    }
    for (expected, at) in &marks[1..] {
        let target = Db::new();
        b.restore_to(*at, &target).unwrap();
        assert_same(expected, &dump(&target), 0);
    }
    let target = Db::new();
    // Before the oldest kept snapshot, the journal that led to it is pruned.
    target.execute(&["SET", "x", "y"]);
    let err = b.restore_to(marks[0].1, &target).unwrap_err();
    assert!(matches!(err, PersistError::NotCovered(_)), "{err}");
    assert_eq!(target.keys(b"*").len(), 0, "a failed restore leaves nothing half-loaded");
    drop((db, b));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn old_snapshots_and_the_journal_only_they_need_are_pruned() {
    let dir = tempdir("backups-prune");
    let (db, b) = reopen(&dir, BackupOptions::new().keep(2));
    for i in 0..6 {
        db.execute(&["SET", "k", &i.to_string()]);
        b.snapshot_now().unwrap();
    }
    let names: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(names.iter().filter(|n| n.starts_with("snapshot-")).count(), 2, "{names:?}");
    assert!(names.iter().filter(|n| n.starts_with("journal-")).count() <= 3, "{names:?}");
    assert_eq!(b.stats().snapshots, 6);
    drop((db, b));
    let (db, _b) = reopen(&dir, BackupOptions::new());
    assert_eq!(db.get(b"k").unwrap(), Some(b"5".to_vec()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_schedule_takes_snapshots_and_reports_failures_without_stopping_the_store() {
    let dir = tempdir("backups-schedule");
    let errors = Arc::new(AtomicU64::new(0));
    let e2 = errors.clone();
    let opts = BackupOptions::new().every(Duration::from_millis(100)).on_error(move |_| {
        e2.fetch_add(1, Ordering::Relaxed);
    });
    let (db, b) = reopen(&dir, opts);
    db.execute(&["SET", "k", "v"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while b.stats().snapshots < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(b.stats().snapshots >= 2, "{:?}", b.stats());
    // Take the directory away: scheduled snapshots fail, are counted and
    // reported, and the store keeps serving.
    std::fs::remove_dir_all(&dir).unwrap();
    while b.stats().failures < 1 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(b.stats().failures >= 1);
    assert!(errors.load(Ordering::Relaxed) >= 1);
    assert!(b.stats().last_error.is_some());
    assert_eq!(db.execute(&["SET", "still", "works"]), embercache::Reply::Simple("OK"));
    drop((db, b));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_zero_interval_is_refused() {
    let dir = tempdir("backups-zero");
    let err = Backups::open(&Db::new(), &dir, BackupOptions::new().every(Duration::ZERO)).unwrap_err();
    assert!(matches!(err, PersistError::Config(_)), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_failed_journal_write_is_reported_and_healed_by_a_snapshot() {
    use embercache::persist::{FailPoint, set_fail_point};
    let dir = tempdir("backups-heal");
    {
        let (db, b) = reopen(&dir, BackupOptions::new());
        db.execute(&["SET", "before", "1"]);
        set_fail_point(Some(FailPoint::JournalAppend));
        db.execute(&["SET", "lost", "from the journal"]);
        set_fail_point(None);
        assert_eq!(db.get(b"lost").unwrap(), Some(b"from the journal".to_vec()), "the command itself happened");
        assert_eq!(b.stats().failures, 1);
        assert!(b.stats().last_error.unwrap().contains("journal write failed"));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while b.stats().snapshots == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(b.stats().snapshots, 1, "the thread took a snapshot to heal the journal");
        db.execute(&["SET", "after", "1"]);
    }
    let (db, _b) = reopen(&dir, BackupOptions::new());
    assert_eq!(db.keys(b"*").len(), 3, "nothing is missing after recovery");
    drop(db);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn loading_a_snapshot_into_a_journaled_db_is_journaled_too() {
    let dir = tempdir("backups-load");
    let source = Db::new();
    for i in 0..500 {
        source.execute(&["HSET", &format!("h{i}"), "f", &i.to_string()]);
    }
    let mut bytes = Vec::new();
    source.write_snapshot(&mut bytes, &embercache::persist::SnapshotOptions::new()).unwrap();
    {
        let (db, _b) = reopen(&dir, BackupOptions::new());
        db.execute(&["SET", "replaced", "by the load"]);
        db.read_snapshot(&bytes[..], &embercache::persist::SnapshotOptions::new()).unwrap();
        db.execute(&["SET", "after", "the load"]);
    }
    let (db, _b) = reopen(&dir, BackupOptions::new());
    let mut expected = dump(&source);
    expected.extend(dump(&{
        let d = Db::new();
        d.execute(&["SET", "after", "the load"]);
        d
    }));
    assert_same(&expected, &dump(&db), 0);
    drop(db);
    std::fs::remove_dir_all(&dir).unwrap();
}
