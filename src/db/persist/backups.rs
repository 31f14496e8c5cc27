//! [`Backups`]: a directory of snapshots and journal segments kept for a
//! `Db`: recovery at start (newest good snapshot, then the journal from
//! its position), rewrites without stopping writers, pruning, restore to
//! any point in time the directory covers, and a schedule on a background
//! thread that never stops the store when it fails.
//!
//! Files: `snapshot-<seq>.ember` (a snapshot whose journal position is at
//! least `<seq>`) and `journal-<seq>.ember` (entries from `<seq>` on).

use super::effects;
use super::read_keys;
use crate::db::{Db, Shared};
use crate::housekeeper;
use crate::persist::format::Content;
use crate::persist::journal::{self, Ending, FsyncPolicy, Journal};
use crate::persist::schedule::{self, Plan, Recorder};
use crate::persist::{PersistError, PersistResult, SnapshotOptions, SnapshotSummary};
use parking_lot::Mutex;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// How a [`Backups`] directory is kept.
#[derive(Clone)]
pub struct BackupOptions {
    pub(crate) fsync: FsyncPolicy,
    pub(crate) recover_to_corruption: bool,
    /// What every backup directory has: keep, every, files, on_error.
    pub(crate) plan: Plan,
}

impl Default for BackupOptions {
    fn default() -> Self {
        BackupOptions { fsync: FsyncPolicy::EverySecond, recover_to_corruption: false, plan: Plan::default() }
    }
}

impl fmt::Debug for BackupOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("BackupOptions");
        d.field("fsync", &self.fsync).field("recover_to_corruption", &self.recover_to_corruption);
        self.plan.debug_fields(&mut d);
        d.finish()
    }
}

impl BackupOptions {
    /// Defaults: fsync every second, keep 3 snapshots, no schedule.
    pub fn new() -> Self {
        Self::default()
    }

    /// When journal writes reach the disk.
    pub fn fsync(mut self, policy: FsyncPolicy) -> Self {
        self.fsync = policy;
        self
    }

    /// Snapshots kept (at least 1); the journal is kept from the oldest
    /// one on, so any moment since it can be restored.
    pub fn keep(mut self, snapshots: usize) -> Self {
        self.plan.keep = snapshots.max(1);
        self
    }

    /// Takes a snapshot every `interval` on a background thread (and
    /// prunes old ones).
    pub fn every(mut self, interval: Duration) -> Self {
        self.plan.every = Some(interval);
        self
    }

    /// Options of the files written (compression, encryption) and read.
    pub fn files(mut self, opts: SnapshotOptions) -> Self {
        self.plan.files = opts;
        self
    }

    /// At recovery, keeps what precedes damage in the middle of the
    /// journal instead of refusing to start (a fresh snapshot is then
    /// taken at once, so the damage is not met again).
    pub fn recover_to_corruption(mut self, on: bool) -> Self {
        self.recover_to_corruption = on;
        self
    }

    /// Called with every failure of a scheduled backup or journal write.
    pub fn on_error(mut self, f: impl Fn(&PersistError) + Send + Sync + 'static) -> Self {
        self.plan.on_error = Some(Arc::new(f));
        self
    }
}

/// What recovery found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The snapshot loaded, if any.
    pub snapshot: Option<SnapshotSummary>,
    /// Snapshots that failed to load (newer than the one used), with why.
    pub skipped_snapshots: Vec<(PathBuf, String)>,
    /// Journal entries replayed.
    pub entries_replayed: u64,
    /// A torn last entry dropped: the segment and the offset it was cut at.
    pub torn_tail: Option<(PathBuf, u64)>,
    /// Damage in the middle of the journal that recovery stopped at (only
    /// with [`BackupOptions::recover_to_corruption`]).
    pub stopped_at_corruption: Option<String>,
    /// Keys in the store after recovery.
    pub keys: u64,
}

/// Counters of a [`Backups`] directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackupStats {
    /// Snapshots written by this process.
    pub snapshots: u64,
    /// Failed snapshots and journal writes.
    pub failures: u64,
    /// Unix ms when the latest snapshot finished.
    pub last_snapshot_unix_ms: Option<i64>,
    /// The latest failure's message.
    pub last_error: Option<String>,
    /// The journal's next sequence number.
    pub journal_position: u64,
    /// Journal bytes written by this process.
    pub journal_bytes: u64,
}

/// Backups of one `Db` in one directory (see the module docs). Dropping
/// it stops the schedule; the journal stays attached to the `Db`.
#[derive(Clone)]
pub struct Backups {
    inner: Arc<Inner>,
}

impl fmt::Debug for Backups {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backups").field("dir", &self.inner.dir).field("stats", &self.stats()).finish()
    }
}

pub(crate) struct Inner {
    dir: PathBuf,
    opts: BackupOptions,
    db: Weak<Shared>,
    journal: Arc<Journal>,
    recorder: Recorder,
    /// One rewrite, prune or restore at a time.
    busy: Mutex<()>,
    recovery: RecoveryReport,
    stop: Mutex<Option<Sender<()>>>,
    /// A journal write failed: the journal misses an effect until the next
    /// snapshot, which the thread takes at its next tick.
    heal: std::sync::atomic::AtomicBool,
}

impl Backups {
    /// Opens (or creates) the backup directory `dir` for `db`, which must
    /// be empty: recovers the store from the newest snapshot that loads
    /// and the journal after it, then journals every write from here on.
    /// A `Db` has at most one backup directory.
    pub fn open(db: &Db, dir: impl AsRef<Path>, opts: BackupOptions) -> PersistResult<Backups> {
        if opts.plan.every.is_some_and(|e| e.is_zero()) {
            return Err(PersistError::Config("the backup interval must be longer than zero".into()));
        }
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir)?;
        if db.inner.journal.get().is_some() {
            return Err(PersistError::Config("this Db already has a backup directory".into()));
        }
        if db.inner.engine.len() != 0 {
            return Err(PersistError::Config("backups open on an empty Db (recovery replaces its contents)".into()));
        }
        let (mut recovery, next) = recover(db, &dir, &opts, None).inspect_err(|_| db.replace_all(Vec::new()))?;
        recovery.keys = db.inner.engine.len();
        let now = db.inner.unix_ms(db.now());
        let journal =
            Arc::new(Journal::create(&dir, Content::Keyspace, next, opts.fsync, opts.plan.files.clone(), now)?);
        if db.inner.journal.set(Arc::clone(&journal)).is_err() {
            return Err(PersistError::Config("this Db already has a backup directory".into()));
        }
        let rewrite_now = recovery.stopped_at_corruption.is_some();
        let backups = Backups {
            inner: Arc::new(Inner {
                dir,
                recorder: Recorder::new(&opts.plan),
                opts,
                db: Arc::downgrade(&db.inner),
                journal,
                busy: Mutex::new(()),
                recovery,
                stop: Mutex::new(None),
                heal: Default::default(),
            }),
        };
        let _ = db.inner.backups.set(Arc::clone(&backups.inner));
        if rewrite_now {
            backups.snapshot_now()?;
        }
        backups.start_thread();
        Ok(backups)
    }

    pub(crate) fn from_inner(inner: Arc<Inner>) -> Backups {
        Backups { inner }
    }

    /// What recovery found when the directory was opened.
    pub fn recovery(&self) -> &RecoveryReport {
        &self.inner.recovery
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The counters.
    pub fn stats(&self) -> BackupStats {
        let t = self.inner.recorder.tally();
        BackupStats {
            snapshots: t.snapshots,
            failures: t.failures,
            last_snapshot_unix_ms: t.last_snapshot_unix_ms,
            last_error: t.last_error,
            journal_position: self.inner.journal.position(),
            journal_bytes: self.inner.journal.bytes(),
        }
    }

    /// Rewrites now: starts a new journal segment, writes a snapshot while
    /// writes go on (consistent once the journal from its position is
    /// replayed), then prunes snapshots beyond the kept number and the
    /// journal segments only they needed.
    pub fn snapshot_now(&self) -> PersistResult<SnapshotSummary> {
        let r = self.rewrite();
        self.inner.recorder.record(&r);
        r
    }

    fn rewrite(&self) -> PersistResult<SnapshotSummary> {
        let inner = &self.inner;
        let _busy = inner.busy.lock();
        let db = Db { inner: inner.db.upgrade().ok_or_else(|| PersistError::Config("the Db is gone".into()))? };
        let seq = inner.journal.rotate(db.inner.unix_ms(db.now()))?;
        let path = inner.dir.join(schedule::snapshot_name(seq));
        let summary = db.save_snapshot(&path, &inner.opts.plan.files)?;
        self.prune()?;
        Ok(summary)
    }

    /// Removes snapshots beyond the kept number, and journal segments that
    /// end before the oldest kept snapshot starts.
    fn prune(&self) -> PersistResult<()> {
        let dir = &self.inner.dir;
        let Some(oldest) = schedule::prune_snapshots(dir, self.inner.opts.plan.keep)? else { return Ok(()) };
        let segs = journal::segments(dir)?;
        for w in segs.windows(2) {
            if w[1].0 <= oldest {
                std::fs::remove_file(&w[0].1)?;
            }
        }
        Ok(())
    }

    /// Rebuilds into `target` (which it empties first) the store as it was
    /// at unix time `at_unix_ms`: the newest snapshot finished by then, and
    /// the journal entries after it up to that moment. Any moment from the
    /// oldest kept snapshot's end until now can be restored.
    pub fn restore_to(&self, at_unix_ms: i64, target: &Db) -> PersistResult<RecoveryReport> {
        let _busy = self.inner.busy.lock();
        self.inner.journal.sync_all()?;
        let (mut report, _) = recover(target, &self.inner.dir, &self.inner.opts, Some(at_unix_ms))
            .inspect_err(|_| target.replace_all(Vec::new()))?;
        report.keys = target.inner.engine.len();
        Ok(report)
    }

    /// Starts the thread that syncs the journal every second and takes the
    /// scheduled snapshots; it stops when `Inner` goes.
    fn start_thread(&self) {
        let every = self.inner.opts.plan.every;
        let tick = every.map_or(Duration::from_secs(1), |e| e.min(Duration::from_secs(1)));
        let mut next_snapshot = every.map(|e| Instant::now() + e);
        let spawned = housekeeper::spawn("embercache-backups", &self.inner, tick, move |inner| {
            if let Err(e) = inner.journal.sync() {
                inner.recorder.failed(&e);
            }
            let heal = inner.heal.swap(false, std::sync::atomic::Ordering::Relaxed);
            if heal || next_snapshot.is_some_and(|at| Instant::now() >= at) {
                let _ = Backups { inner: Arc::clone(inner) }.snapshot_now();
                next_snapshot = every.map(|e| Instant::now() + e);
            }
        });
        match spawned {
            Ok(stop) => *self.inner.stop.lock() = Some(stop),
            Err(e) => self.inner.recorder.failed(&e.into()),
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop.lock().take();
    }
}

impl Shared {
    /// Counts a failed journal write (the command itself has happened).
    pub(crate) fn journal_failed(&self, e: &PersistError) {
        if let Some(b) = self.backups.get() {
            b.recorder.failed(&PersistError::Config(format!("journal write failed: {e}")));
            b.heal.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// After recovery stopped at damage at byte `good` of segment `path`: keeps
/// a copy of the segment as `<name>.damaged`, cuts the segment to what was
/// replayed, and renames the later segments to `<name>.damaged` too, so the
/// journal continues from the recovered state and nothing is deleted.
fn set_aside(path: &Path, good: u64, later: &[(u64, PathBuf)]) -> PersistResult<()> {
    let damaged = |p: &Path| {
        let mut name = p.as_os_str().to_os_string();
        name.push(".damaged");
        PathBuf::from(name)
    };
    std::fs::copy(path, damaged(path))?;
    journal::truncate_segment(path, good)?;
    for (_, p) in later {
        std::fs::rename(p, damaged(p))?;
    }
    crate::persist::file::sync_dir(path)?;
    Ok(())
}

/// Loads the newest usable snapshot of `dir` into `db` and replays the
/// journal after it, up to `until` (unix ms) if given. Returns the report
/// and the next sequence number.
fn recover(db: &Db, dir: &Path, opts: &BackupOptions, until: Option<i64>) -> PersistResult<(RecoveryReport, u64)> {
    let mut report = RecoveryReport::default();
    let segs = journal::segments(dir)?;
    // The newest snapshot that loads and, for a restore, was finished by then.
    let loaded = schedule::newest_snapshot(dir, &mut report.skipped_snapshots, |path| {
        let file = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
        let (keys, summary) = read_keys(file, &opts.plan.files)?;
        Ok(until.is_none_or(|t| summary.finished_unix_ms <= t).then_some((keys, summary)))
    })?;
    let start = match loaded {
        Some((keys, summary)) => {
            db.replace_all(keys);
            report.snapshot = Some(summary);
            summary.start_position
        }
        // No snapshot: the journal must reach back to the very beginning.
        None if segs.first().is_none_or(|(first, _)| *first == 0) => {
            db.replace_all(Vec::new());
            0
        }
        None => {
            let why = match until {
                Some(t) => format!("no snapshot finished by unix ms {t}"),
                None => "no snapshot loads and the journal does not start at the beginning".into(),
            };
            return Err(PersistError::NotCovered(why));
        }
    };
    let mut next = start;
    let last = segs.len().saturating_sub(1);
    'segments: for (n, (first, path)) in segs.iter().enumerate() {
        if segs.get(n + 1).is_some_and(|(f, _)| *f <= start) || *first > next {
            if *first > next {
                return Err(PersistError::JournalCorrupt {
                    file: path.display().to_string(),
                    offset: 0,
                    reason: format!("entries {next} to {} are missing", first - 1),
                });
            }
            continue;
        }
        let mut past_target = false;
        let (ending, good) = journal::read_segment(path, Content::Keyspace, &opts.plan.files, |e| {
            if past_target || e.seq < next {
                return Ok(());
            }
            if until.is_some_and(|t| e.unix_ms > t) {
                past_target = true;
                return Ok(());
            }
            if e.seq != next {
                return Err(PersistError::JournalCorrupt {
                    file: path.display().to_string(),
                    offset: 0,
                    reason: format!("entry {} follows entry {}", e.seq, next.wrapping_sub(1)),
                });
            }
            effects::apply(db, &e.body, e.seq)?;
            report.entries_replayed += 1;
            next += 1;
            Ok(())
        })?;
        match ending {
            Ending::Clean => {}
            Ending::Torn(at) if n == last => {
                if until.is_none() {
                    if at == 0 {
                        std::fs::remove_file(path)?;
                    } else {
                        journal::truncate_segment(path, good)?;
                    }
                }
                report.torn_tail = Some((path.clone(), at));
            }
            Ending::Torn(at) | Ending::Corrupt(at, _) => {
                let reason = match &ending {
                    Ending::Corrupt(_, r) => r.clone(),
                    _ => "a damaged entry before the last segment".into(),
                };
                if opts.recover_to_corruption || until.is_some() {
                    report.stopped_at_corruption = Some(format!("{} at byte {at}: {reason}", path.display()));
                    if until.is_none() {
                        set_aside(path, good, &segs[n + 1..])?;
                    }
                    break 'segments;
                }
                return Err(PersistError::JournalCorrupt { file: path.display().to_string(), offset: at, reason });
            }
        }
        if past_target {
            break;
        }
    }
    Ok((report, next))
}
