//! Automated backups of a typed [`Cache`]: a directory of snapshots that
//! the cache starts warm from, and a schedule that adds one every interval
//! and prunes the oldest, on a background thread.
//!
//! ```
//! use std::time::Duration;
//! use embercache::Cache;
//! use embercache::cache::CacheBackupOptions;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = std::env::temp_dir().join(format!("embercache-doc-backups-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! let opts = CacheBackupOptions::new()
//!     .every(Duration::from_secs(5 * 60))
//!     .keep(3)
//!     .on_error(|e| eprintln!("cache backup failed: {e}"));
//! let cache: Cache<String, u64> = Cache::builder().max_capacity(10_000).backups(&dir, opts.clone()).build()?;
//! cache.insert("visits".into(), 42);
//! // The schedule would take one in five minutes; take one now.
//! let backups = cache.backups().expect("configured in the builder");
//! backups.snapshot_now()?;
//! assert_eq!(backups.stats().snapshots, 1);
//! drop(cache);
//!
//! // After a restart: the new cache starts from the newest snapshot.
//! let warm: Cache<String, u64> = Cache::builder().max_capacity(10_000).backups(&dir, opts).build()?;
//! assert_eq!(warm.get("visits"), Some(42));
//! assert!(warm.backups().unwrap().recovery().snapshot.is_some());
//! # drop(warm);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```
//!
//! The files are `snapshot-<n>.ember`, cache snapshots as
//! [`Cache::save_snapshot`] writes them (atomically replaced, so a crash
//! mid-save leaves no partial file under that name), numbered one past
//! the newest in the directory. A typed cache has no journal: what was
//! written since the newest snapshot is lost with the process.
//!
//! A failed snapshot (a full disk, a removed directory, an entry whose
//! `Serialize` fails) is counted in [`CacheBackups::stats`] and passed to
//! [`CacheBackupOptions::on_error`]; the cache itself is never affected,
//! and the schedule tries again at the next interval. The schedule's
//! thread holds only a weak reference to the cache and ends when the last
//! `Cache` handle is dropped, even if [`CacheBackups`] handles remain
//! (their [`snapshot_now`](CacheBackups::snapshot_now) then fails).

use super::persist::{EncodeFn, StageFn, encode_entry, stage_file};
use super::{Cache, CacheBuilder, Inner};
use crate::housekeeper;
use crate::persist::file::write_atomically;
use crate::persist::schedule::{self, Plan, Recorder};
use crate::persist::{PersistError, PersistResult, SnapshotOptions, SnapshotSummary};
use parking_lot::Mutex;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How a cache's backup directory is kept: how many snapshots, how often,
/// in what files, and who hears of failures. Given to
/// [`CacheBuilder::backups`].
#[derive(Clone, Default)]
pub struct CacheBackupOptions {
    plan: Plan,
}

impl fmt::Debug for CacheBackupOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("CacheBackupOptions");
        self.plan.debug_fields(&mut d);
        d.finish()
    }
}

impl CacheBackupOptions {
    /// Defaults: keep 3 snapshots, no schedule (snapshots only on
    /// [`CacheBackups::snapshot_now`]), plain files, no error callback.
    pub fn new() -> Self {
        Self::default()
    }

    /// Snapshots kept (at least 1); each new one prunes the oldest beyond
    /// this number.
    pub fn keep(mut self, snapshots: usize) -> Self {
        self.plan.keep = snapshots.max(1);
        self
    }

    /// Takes a snapshot every `interval` on a background thread. A zero
    /// interval makes [`CacheBuilder::build`] fail.
    pub fn every(mut self, interval: Duration) -> Self {
        self.plan.every = Some(interval);
        self
    }

    /// Options of the snapshots written (compression, encryption) and read.
    pub fn files(mut self, opts: SnapshotOptions) -> Self {
        self.plan.files = opts;
        self
    }

    /// Called with every failed snapshot (scheduled or not), on the thread
    /// that took it.
    pub fn on_error(mut self, f: impl Fn(&PersistError) + Send + Sync + 'static) -> Self {
        self.plan.on_error = Some(Arc::new(f));
        self
    }
}

/// Counters of a cache's backups, since the cache was built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheBackupStats {
    /// Snapshots written.
    pub snapshots: u64,
    /// Snapshots that failed.
    pub failures: u64,
    /// Unix ms when the latest snapshot finished.
    pub last_snapshot_unix_ms: Option<i64>,
    /// The latest failure's message.
    pub last_error: Option<String>,
}

/// What [`CacheBuilder::build`] found in the backup directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheRecovery {
    /// The summary of the snapshot the cache started from, if any.
    pub snapshot: Option<SnapshotSummary>,
    /// That snapshot's file.
    pub file: Option<PathBuf>,
    /// Newer snapshots that failed to load (damaged, truncated, of other
    /// types, undecryptable), with why; the cache started from an older one.
    pub skipped_snapshots: Vec<(PathBuf, String)>,
}

/// Saves the cache to a path; erases the cache's types.
type SaveFn = Box<dyn Fn(&Path, &SnapshotOptions) -> PersistResult<SnapshotSummary> + Send + Sync>;

/// The backups of one cache (see the [module documentation](self)), from
/// [`Cache::backups`]. A cheap handle: clones share the directory and the
/// counters.
#[derive(Clone)]
pub struct CacheBackups {
    inner: Arc<State>,
}

struct State {
    dir: PathBuf,
    plan: Plan,
    recorder: Recorder,
    /// One snapshot (numbering, saving, pruning) at a time.
    busy: Mutex<()>,
    recovery: CacheRecovery,
    /// Holds the cache weakly: the cache holds this state.
    save: SaveFn,
}

impl fmt::Debug for CacheBackups {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheBackups").field("dir", &self.inner.dir).field("stats", &self.stats()).finish()
    }
}

impl CacheBackups {
    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The counters.
    pub fn stats(&self) -> CacheBackupStats {
        let t = self.inner.recorder.tally();
        CacheBackupStats {
            snapshots: t.snapshots,
            failures: t.failures,
            last_snapshot_unix_ms: t.last_snapshot_unix_ms,
            last_error: t.last_error,
        }
    }

    /// What the cache started from.
    pub fn recovery(&self) -> &CacheRecovery {
        &self.inner.recovery
    }

    /// Takes a snapshot now, as the schedule does: saves the cache to the
    /// next `snapshot-<n>.ember` (the cache keeps serving meanwhile; see
    /// [`Cache::save_snapshot`]), then prunes the oldest beyond the kept
    /// number. The outcome is counted in [`stats`](Self::stats), and a
    /// failure also goes to the error callback. Fails if the directory is
    /// gone (it is not created again) or the cache was dropped.
    pub fn snapshot_now(&self) -> PersistResult<SnapshotSummary> {
        let r = self.save_and_prune();
        self.inner.recorder.record(&r);
        r
    }

    fn save_and_prune(&self) -> PersistResult<SnapshotSummary> {
        let s = &self.inner;
        let _busy = s.busy.lock();
        let next = schedule::snapshots(&s.dir)?.last().map_or(1, |&(n, _)| n + 1);
        let summary = (s.save)(&s.dir.join(schedule::snapshot_name(next)), &s.plan.files)?;
        schedule::prune_snapshots(&s.dir, s.plan.keep)?;
        Ok(summary)
    }
}

/// The backup directory a [`CacheBuilder`] was given, with the serde
/// functions of its `K` and `V` (so that `build()` needs no serde bounds).
pub(crate) struct BackupSource<K, V> {
    dir: PathBuf,
    opts: CacheBackupOptions,
    stage: StageFn<K, V>,
    encode: EncodeFn<K, V>,
}

impl<K, V> BackupSource<K, V> {
    /// The directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The schedule's interval.
    pub(crate) fn every(&self) -> Option<Duration> {
        self.opts.plan.every
    }

    /// Opens the directory for `cache` (at build): creates it if need be,
    /// loads the newest snapshot that loads, and starts the schedule.
    pub(crate) fn attach<S>(self, cache: &Cache<K, V, S>) -> PersistResult<()>
    where
        K: Hash + Eq + Send + Sync + 'static,
        V: Send + Sync + 'static,
        S: BuildHasher + Send + Sync + 'static,
    {
        let BackupSource { dir, opts: CacheBackupOptions { plan }, stage, encode } = self;
        std::fs::create_dir_all(&dir)?;
        let mut recovery = CacheRecovery::default();
        let newest = schedule::newest_snapshot(&dir, &mut recovery.skipped_snapshots, |path| {
            Ok(Some((path.to_path_buf(), stage(path, &plan.files)?)))
        })?;
        if let Some((file, staged)) = newest {
            recovery.snapshot = Some(cache.apply(staged));
            recovery.file = Some(file);
        }
        let weak = Arc::downgrade(&cache.inner);
        let save: SaveFn = Box::new(move |path, files| {
            let inner = weak.upgrade().ok_or_else(|| PersistError::Config("the cache was dropped".into()))?;
            let cache = Cache { inner };
            write_atomically(path, |w| cache.write_entries(w, files, encode))
        });
        let every = plan.every;
        let state = State { dir, recorder: Recorder::new(&plan), plan, busy: Mutex::new(()), recovery, save };
        let backups = CacheBackups { inner: Arc::new(state) };
        if cache.inner.backups.set(backups.clone()).is_err() {
            return Err(PersistError::Config("this cache already has a backup directory".into()));
        }
        if let Some(every) = every {
            let work = |inner: &Arc<Inner<K, V, S>>| {
                if let Some(b) = inner.backups.get() {
                    // Counted and reported by `snapshot_now`.
                    let _ = b.snapshot_now();
                }
            };
            match housekeeper::spawn("embercache-cache-backups", &cache.inner, every, work) {
                Ok(stop) => cache.inner.threads.lock().push(stop),
                Err(e) => backups.inner.recorder.failed(&e.into()),
            }
        }
        Ok(())
    }
}

impl<K, V, S> CacheBuilder<K, V, S>
where
    K: Serialize + DeserializeOwned,
    V: Serialize + DeserializeOwned,
{
    /// Keeps backups of the cache in `dir` (see the
    /// [module documentation](self)): [`build`](Self::build) creates the
    /// directory if need be and starts the cache from the newest snapshot
    /// in it that loads (damaged ones are skipped and listed in
    /// [`CacheBackups::recovery`]; with none, the cache starts empty), then
    /// takes a snapshot every [`every`](CacheBackupOptions::every), keeping
    /// the newest [`keep`](CacheBackupOptions::keep). The handle is
    /// [`Cache::backups`].
    ///
    /// `build` fails with [`ConfigError::Snapshot`](crate::ConfigError::Snapshot)
    /// (naming `dir`) if the directory cannot be created or read, and with
    /// [`ConfigError::ZeroDuration`](crate::ConfigError::ZeroDuration) for
    /// a zero interval. When set, [`load_snapshot`](Self::load_snapshot) is
    /// ignored. Setting it again replaces the directory.
    pub fn backups(mut self, dir: impl Into<PathBuf>, opts: CacheBackupOptions) -> Self {
        self.backups =
            Some(BackupSource { dir: dir.into(), opts, stage: stage_file::<K, V>, encode: encode_entry::<K, V> });
        self
    }
}

impl<K, V, S> Cache<K, V, S> {
    /// The backups of this cache, if the builder was given a directory
    /// ([`CacheBuilder::backups`]).
    pub fn backups(&self) -> Option<CacheBackups> {
        self.inner.backups.get().cloned()
    }
}
