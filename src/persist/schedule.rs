//! What the backups of a `Db` and of a typed `Cache` have in common: the
//! plan (how many snapshots to keep, how often to take one, the files'
//! options, who to tell of failures), the counters of what the schedule
//! did, and the directory's `snapshot-<n>.ember` files (listing, finding
//! the newest that loads, pruning). The schedule's thread itself is
//! `housekeeper::spawn`.

use super::journal::numbered;
use super::{PersistError, PersistResult, SnapshotOptions, unix_now_ms};
use parking_lot::Mutex;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// A callback told of every backup failure.
pub(crate) type ErrorCallback = Arc<dyn Fn(&PersistError) + Send + Sync>;

/// How a backup directory is kept, whatever the store.
#[derive(Clone)]
pub(crate) struct Plan {
    /// Snapshots kept (at least 1).
    pub(crate) keep: usize,
    /// The schedule's interval, if any.
    pub(crate) every: Option<Duration>,
    /// Options of the files written and read.
    pub(crate) files: SnapshotOptions,
    pub(crate) on_error: Option<ErrorCallback>,
}

impl Default for Plan {
    fn default() -> Self {
        Plan { keep: 3, every: None, files: SnapshotOptions::default(), on_error: None }
    }
}

impl Plan {
    /// Adds the plan's fields to a `Debug` of the options holding it.
    pub(crate) fn debug_fields(&self, d: &mut fmt::DebugStruct<'_, '_>) {
        d.field("keep", &self.keep)
            .field("every", &self.every)
            .field("files", &self.files)
            .field("on_error", &self.on_error.is_some());
    }
}

/// What a backup schedule did so far.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    pub(crate) snapshots: u64,
    pub(crate) failures: u64,
    pub(crate) last_snapshot_unix_ms: Option<i64>,
    pub(crate) last_error: Option<String>,
}

/// Counts snapshots and failures, and tells the plan's callback of each
/// failure (outside the counters' lock).
pub(crate) struct Recorder {
    tally: Mutex<Tally>,
    on_error: Option<ErrorCallback>,
}

impl Recorder {
    pub(crate) fn new(plan: &Plan) -> Recorder {
        Recorder { tally: Mutex::new(Tally::default()), on_error: plan.on_error.clone() }
    }

    /// Counts `r`: a snapshot taken if it is `Ok`, a failure otherwise.
    pub(crate) fn record<T>(&self, r: &PersistResult<T>) {
        match r {
            Ok(_) => {
                let mut t = self.tally.lock();
                t.snapshots += 1;
                t.last_snapshot_unix_ms = Some(unix_now_ms());
            }
            Err(e) => self.failed(e),
        }
    }

    /// Counts a failure and reports it.
    pub(crate) fn failed(&self, e: &PersistError) {
        {
            let mut t = self.tally.lock();
            t.failures += 1;
            t.last_error = Some(e.to_string());
        }
        if let Some(f) = &self.on_error {
            f(e);
        }
    }

    /// The counters now.
    pub(crate) fn tally(&self) -> Tally {
        self.tally.lock().clone()
    }
}

/// The file name of snapshot number `n`.
pub(crate) fn snapshot_name(n: u64) -> String {
    format!("snapshot-{n:020}.ember")
}

/// The snapshots in `dir`, by number.
pub(crate) fn snapshots(dir: &Path) -> PersistResult<Vec<(u64, PathBuf)>> {
    numbered(dir, "snapshot-")
}

/// Tries the snapshots of `dir`, newest first, with `load`, and returns
/// the first it accepts (`Ok(Some)`). Those it fails on (`Err`) are added
/// to `skipped` with why; those it passes over (`Ok(None)`) are not.
pub(crate) fn newest_snapshot<T>(
    dir: &Path,
    skipped: &mut Vec<(PathBuf, String)>,
    mut load: impl FnMut(&Path) -> PersistResult<Option<T>>,
) -> PersistResult<Option<T>> {
    for (_, path) in snapshots(dir)?.into_iter().rev() {
        match load(&path) {
            Ok(Some(loaded)) => return Ok(Some(loaded)),
            Ok(None) => {}
            Err(e) => skipped.push((path, e.to_string())),
        }
    }
    Ok(None)
}

/// Removes the snapshots of `dir` beyond the newest `keep`; returns the
/// number of the oldest one kept, if any.
pub(crate) fn prune_snapshots(dir: &Path, keep: usize) -> PersistResult<Option<u64>> {
    let snaps = snapshots(dir)?;
    let cut = snaps.len().saturating_sub(keep);
    for (_, p) in &snaps[..cut] {
        std::fs::remove_file(p)?;
    }
    Ok(snaps.get(cut).map(|&(n, _)| n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn prunes_the_oldest_and_finds_the_newest_that_loads() {
        let dir = crate::persist::file::tests::tempdir();
        for n in [3u64, 10, 7, 12] {
            std::fs::write(dir.join(snapshot_name(n)), n.to_string()).unwrap();
        }
        std::fs::write(dir.join("other.ember"), "").unwrap();
        assert_eq!(prune_snapshots(&dir, 3).unwrap(), Some(7));
        let left: Vec<u64> = snapshots(&dir).unwrap().into_iter().map(|(n, _)| n).collect();
        assert_eq!(left, [7, 10, 12]);
        let mut skipped = Vec::new();
        let found = newest_snapshot(&dir, &mut skipped, |p| {
            let n: u64 = std::fs::read_to_string(p)?.parse().unwrap();
            match n {
                12 => Err(PersistError::Config("damaged".into())),
                10 => Ok(None),
                n => Ok(Some(n)),
            }
        })
        .unwrap();
        assert_eq!(found, Some(7));
        assert_eq!(skipped.len(), 1);
        assert!(skipped[0].0.ends_with(snapshot_name(12)) && skipped[0].1.contains("damaged"));
        assert_eq!(prune_snapshots(&dir, 5).unwrap(), Some(7), "nothing to prune");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn records_successes_and_reports_failures() {
        let told = Arc::new(AtomicU64::new(0));
        let t = told.clone();
        let plan = Plan {
            on_error: Some(Arc::new(move |_: &PersistError| {
                t.fetch_add(1, Ordering::Relaxed);
            })),
            ..Plan::default()
        };
        let r = Recorder::new(&plan);
        r.record(&Ok(()));
        r.record::<()>(&Err(PersistError::Config("boom".into())));
        let tally = r.tally();
        assert_eq!((tally.snapshots, tally.failures), (1, 1));
        assert!(tally.last_snapshot_unix_ms.is_some());
        assert!(tally.last_error.unwrap().contains("boom"));
        assert_eq!(told.load(Ordering::Relaxed), 1);
    }
}
