//! Snapshots of a [`Cache<K, V>`]: save its live entries to a file (or any
//! writer) and load them back, into the same process or a later one.
//!
//! ```
//! use std::time::Duration;
//! use embercache::Cache;
//! use embercache::persist::SnapshotOptions;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = std::env::temp_dir().join(format!("embercache-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! let path = dir.join("sessions.snap");
//! let cache: Cache<String, Vec<u8>> = Cache::new(10_000);
//! cache.insert("alice".into(), b"token-a".to_vec());
//! cache.insert_with_ttl("bob".into(), b"token-b".to_vec(), Duration::from_secs(600));
//! let saved = cache.save_snapshot(&path, &SnapshotOptions::new().compress(true))?;
//! assert_eq!(saved.keys, 2);
//!
//! // Later (another process, say): start a cache warm from the file.
//! let warm: Cache<String, Vec<u8>> =
//!     Cache::builder().max_capacity(10_000).load_snapshot(&path, &SnapshotOptions::new()).build()?;
//! assert_eq!(warm.get("alice"), Some(b"token-a".to_vec()));
//! // bob's time-to-live kept counting: at most ten minutes are left.
//! let left = warm.entry_info("bob").and_then(|i| i.time_to_live);
//! assert!(left.is_some_and(|t| t <= Duration::from_secs(600)));
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```
//!
//! # Record layout
//!
//! A cache snapshot is a [`persist`](crate::persist) snapshot file whose
//! header says "typed Cache" and whose journal positions are both 0 (a
//! typed cache has no journal). Each entry is one record, the tuple
//!
//! ```text
//! (key: K, value: V, expires_at_unix_ms: Option<i64>)
//! ```
//!
//! encoded by serde with bincode 2's standard configuration, one record per
//! key (so the footer's record and key counts are equal).
//! `expires_at_unix_ms` is the entry's deadline as absolute unix time in
//! milliseconds, or `None` for an entry without one. A deadline is saved as
//! wall time, `unix_now + (deadline - cache_clock_now)`, so a time-to-live
//! keeps counting while the file sits on disk.
//!
//! # What loading does
//!
//! Loading reads and checks the *whole* file first, decoding every record
//! into memory, and changes nothing if any of it is damaged. Then it
//! inserts the entries, as [`Cache::insert`] would (the weigher weighs
//! them, the bound evicts, the listener hears of replaced values, the
//! statistics count inserts):
//!
//! - an entry already expired is dropped;
//! - an entry with a deadline is inserted with the time it has left
//!   (further capped by the target cache's time-to-live and time-to-idle;
//!   its [`Expiry`](crate::Expiry) policy, if any, is not asked, as for
//!   [`Cache::insert_with_ttl`]);
//! - an entry without one is inserted like a plain `insert`, so the target
//!   cache's own time-to-live or [`Expiry`](crate::Expiry) applies.
//!
//! Entries already in the cache stay, unless the snapshot holds the same
//! key, whose saved value then replaces them: loading *warms up* a cache,
//! it does not reset it (call [`Cache::clear`] first for that).
//!
//! # Saving while others write
//!
//! Saving walks each shard in slices of at most 256 entries, encoding
//! each entry straight from the cache's `&K` and `&V` (nothing is cloned)
//! under the shard's read lock, then releases the lock before writing the
//! frame out. Writers of a shard wait at most for one slice, never for the
//! I/O. The snapshot is weakly consistent, like [`Cache::iter`]: each entry
//! present (and not rewritten) for the whole save is in it once; entries
//! written meanwhile may or may not be, and a key removed and written again
//! during the save may be in it twice. Its records are then in the order
//! they were read, so loading keeps the later, newer one (the footer's
//! `keys` counts records, duplicates included). `K` and `V`'s `Serialize` impls run under the read lock:
//! they must not write to the same cache.

use super::Cache;
use super::builder::CacheBuilder;
use crate::engine::shard::Ttl;
use crate::engine::slab::NEVER;
use crate::persist::file::write_atomically;
use crate::persist::format::Content;
use crate::persist::snapshot::{SnapshotReader, SnapshotWriter, encode_record};
use crate::persist::{PersistResult, SnapshotOptions, SnapshotSummary, unix_now_ms};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fs::File;
use std::hash::{BuildHasher, Hash};
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

/// Most entries encoded per acquisition of a shard's read lock (a slice
/// also ends after four times as many slab slots, and once a frame's worth
/// of bytes is ready).
const SLICE: usize = 256;

/// A snapshot's records, decoded and checked, not yet applied.
pub(crate) struct Staged<K, V> {
    entries: Vec<(K, V, Option<i64>)>,
    summary: SnapshotSummary,
}

/// Reads a whole snapshot into memory.
pub(crate) type StageFn<K, V> = fn(&Path, &SnapshotOptions) -> PersistResult<Staged<K, V>>;

/// Appends one entry's record (key, value, deadline in unix ms) to a block.
pub(crate) type EncodeFn<K, V> = fn(&K, &V, Option<i64>, &mut Vec<u8>) -> PersistResult<()>;

/// The [`EncodeFn`] of serde types.
pub(crate) fn encode_entry<K: Serialize, V: Serialize>(
    key: &K,
    value: &V,
    expires: Option<i64>,
    block: &mut Vec<u8>,
) -> PersistResult<()> {
    encode_record(&(key, value, expires), block)
}

/// The snapshot a [`CacheBuilder`] was told to start from.
pub(crate) struct SnapshotSource<K, V> {
    path: PathBuf,
    opts: SnapshotOptions,
    /// Instantiated where `K` and `V` are known to be serde types, so that
    /// `build()` itself needs no serde bounds.
    stage: StageFn<K, V>,
}

impl<K, V> SnapshotSource<K, V> {
    /// Loads the snapshot into `cache`.
    pub(crate) fn load_into<S>(self, cache: &Cache<K, V, S>) -> PersistResult<SnapshotSummary>
    where
        K: Hash + Eq,
        S: BuildHasher,
    {
        let staged = (self.stage)(&self.path, &self.opts)?;
        Ok(cache.apply(staged))
    }

    /// The snapshot file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

/// Reads and checks the whole snapshot at `path`.
pub(crate) fn stage_file<K, V>(path: &Path, opts: &SnapshotOptions) -> PersistResult<Staged<K, V>>
where
    K: DeserializeOwned,
    V: DeserializeOwned,
{
    stage(BufReader::with_capacity(1 << 16, File::open(path)?), opts)
}

/// Reads and checks a whole snapshot from `r`.
fn stage<K, V>(r: impl Read, opts: &SnapshotOptions) -> PersistResult<Staged<K, V>>
where
    K: DeserializeOwned,
    V: DeserializeOwned,
{
    let mut reader = SnapshotReader::open(r, Content::TypedCache, opts)?;
    let mut entries = Vec::new();
    while let Some(rec) = reader.next::<(K, V, Option<i64>)>(|_| true)? {
        entries.push(rec);
    }
    // `next` returns `None` only once the footer has been read and checked.
    let summary = reader.summary().unwrap_or_default();
    Ok(Staged { entries, summary })
}

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq,
    S: BuildHasher,
{
    /// Inserts staged entries: expired ones are dropped, timed ones get the
    /// time they have left.
    pub(crate) fn apply(&self, staged: Staged<K, V>) -> SnapshotSummary {
        let engine = &self.inner.engine;
        for (key, value, expires) in staged.entries {
            let ttl = match expires {
                None => Ttl::Policy,
                Some(at) => match at.checked_sub(unix_now_ms()) {
                    Some(left) if left > 0 => Ttl::Fixed(left.unsigned_abs()),
                    _ => continue,
                },
            };
            engine.insert(key, value, ttl);
        }
        staged.summary
    }
}

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq + Serialize,
    V: Serialize,
    S: BuildHasher,
{
    /// Saves a snapshot of the live entries to `path`, crash-safely: the
    /// file is written beside it, synced, then renamed over it, so a crash
    /// or an error leaves the previous file at `path` (if any) intact.
    ///
    /// Returns the summary written in the file's footer. See the
    /// [module documentation](crate::cache::persist) for the format and for
    /// what concurrent writers see.
    pub fn save_snapshot(&self, path: impl AsRef<Path>, opts: &SnapshotOptions) -> PersistResult<SnapshotSummary> {
        write_atomically(path.as_ref(), |w| self.write_snapshot(w, opts))
    }

    /// Writes a snapshot of the live entries to `w` (flushed, not synced).
    /// [`save_snapshot`](Self::save_snapshot) is this to a file, safely
    /// replaced.
    pub fn write_snapshot(&self, w: impl Write, opts: &SnapshotOptions) -> PersistResult<SnapshotSummary> {
        self.write_entries(w, opts, encode_entry::<K, V>)
    }
}

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq,
    S: BuildHasher,
{
    /// [`write_snapshot`](Self::write_snapshot) with the records encoded by
    /// `encode` (so that code without serde bounds, given an [`EncodeFn`],
    /// can save too).
    pub(crate) fn write_entries(
        &self,
        w: impl Write,
        opts: &SnapshotOptions,
        encode: impl Fn(&K, &V, Option<i64>, &mut Vec<u8>) -> PersistResult<()>,
    ) -> PersistResult<SnapshotSummary> {
        let engine = &self.inner.engine;
        let mut out = SnapshotWriter::start(w, Content::TypedCache, unix_now_ms(), 0, opts)?;
        // The engine's clock and the wall clock, read together: a deadline
        // is moved from one to the other by its distance from now.
        let unix_now = unix_now_ms();
        let engine_now = engine.now();
        engine.walk_live(
            &mut out,
            SLICE,
            |out, e, deadline, now| {
                let expires = (deadline != NEVER).then(|| {
                    let left = i64::try_from(deadline.saturating_sub(now)).unwrap_or(i64::MAX);
                    let elapsed = i64::try_from(now.saturating_sub(engine_now)).unwrap_or(i64::MAX);
                    unix_now.saturating_add(elapsed).saturating_add(left)
                });
                out.record_with(true, |block| encode(&e.key, &e.value, expires, block))?;
                Ok(!out.block_full())
            },
            // The frame goes out with no lock held.
            |out| if out.block_full() { out.flush_block() } else { Ok(()) },
        )?;
        let (_, summary) = out.finish(0, unix_now_ms())?;
        Ok(summary)
    }
}

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq + DeserializeOwned,
    V: DeserializeOwned,
    S: BuildHasher,
{
    /// Loads the snapshot at `path` into this cache.
    ///
    /// The whole file is read and checked before the cache is touched: a
    /// missing, damaged or truncated file, or one of other types, is an
    /// error and changes nothing. Then its live entries are inserted,
    /// replacing the values of keys the cache already holds and keeping the
    /// cache's other entries; entries already expired are dropped, the
    /// others keep the time they had left. Returns the file's summary. See
    /// the [module documentation](crate::cache::persist).
    ///
    /// The decoded entries are held in memory until they are inserted.
    pub fn load_snapshot(&self, path: impl AsRef<Path>, opts: &SnapshotOptions) -> PersistResult<SnapshotSummary> {
        let staged = stage_file(path.as_ref(), opts)?;
        Ok(self.apply(staged))
    }

    /// Reads a snapshot from `r` into this cache, as
    /// [`load_snapshot`](Self::load_snapshot) does from a file: all of it
    /// is checked before anything is inserted. `r` is read in small pieces;
    /// wrap unbuffered sources in a [`BufReader`].
    pub fn read_snapshot(&self, r: impl Read, opts: &SnapshotOptions) -> PersistResult<SnapshotSummary> {
        let staged = stage(r, opts)?;
        Ok(self.apply(staged))
    }
}

impl<K, V, S> CacheBuilder<K, V, S>
where
    K: DeserializeOwned,
    V: DeserializeOwned,
{
    /// Starts the cache from the snapshot at `path` (as saved by
    /// [`Cache::save_snapshot`]): [`build`](Self::build) loads it as
    /// [`Cache::load_snapshot`] does and fails with
    /// [`ConfigError::Snapshot`](crate::ConfigError::Snapshot) if it cannot,
    /// so a damaged file never yields a half-filled cache. Setting it again
    /// replaces the path.
    ///
    /// A missing file is an error too; to start empty when there is no
    /// snapshot yet, check first that `path` exists. Ignored when
    /// [`backups`](Self::backups) is set: the backup directory then decides
    /// what to load.
    pub fn load_snapshot(mut self, path: impl AsRef<Path>, opts: &SnapshotOptions) -> Self {
        self.snapshot =
            Some(SnapshotSource { path: path.as_ref().to_path_buf(), opts: opts.clone(), stage: stage_file::<K, V> });
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ConfigError;
    use crate::persist::PersistError;
    use crate::time::ManualClock;
    use std::time::Duration;

    fn bytes_of(c: &Cache<u64, String>, opts: &SnapshotOptions) -> Vec<u8> {
        let mut buf = Vec::new();
        c.write_snapshot(&mut buf, opts).unwrap();
        buf
    }

    fn entries(c: &Cache<u64, String>) -> Vec<(u64, String)> {
        let mut v: Vec<_> = c.iter().collect();
        v.sort();
        v
    }

    /// A snapshot written record by record, for deadlines no live cache
    /// would save.
    fn handmade(records: &[(u64, &str, Option<i64>)]) -> Vec<u8> {
        let opts = SnapshotOptions::new();
        let mut w = SnapshotWriter::start(Vec::new(), Content::TypedCache, unix_now_ms(), 0, &opts).unwrap();
        for (k, v, e) in records {
            w.record(&(k, *v, e), true).unwrap();
        }
        w.finish(0, unix_now_ms()).unwrap().0
    }

    #[test]
    fn round_trip_through_memory() {
        let c: Cache<u64, String> = Cache::builder().shards(4).build().unwrap();
        for k in 0..1_000 {
            c.insert(k, format!("v{k}"));
        }
        let opts = SnapshotOptions::new();
        let buf = bytes_of(&c, &opts);
        let d: Cache<u64, String> = Cache::builder().shards(3).build().unwrap();
        let sum = d.read_snapshot(&buf[..], &opts).unwrap();
        assert_eq!((sum.records, sum.keys, sum.start_position, sum.end_position), (1_000, 1_000, 0, 0));
        assert_eq!(entries(&c), entries(&d));
        d.validate();
    }

    #[test]
    fn slices_are_bounded_and_frames_flushed_between_them() {
        // Values big enough that a 64 KiB block fills within one slice.
        let c: Cache<u64, String> = Cache::builder().shards(1).build().unwrap();
        for k in 0..2_000 {
            c.insert(k, "x".repeat(1_000));
        }
        let frames = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let f = frames.clone();
        let opts = SnapshotOptions::new().progress(move |p| f.lock().unwrap().push(p.records));
        let buf = bytes_of(&c, &opts);
        let seen = frames.lock().unwrap().clone();
        // About 65 records per 64 KiB block: many frames, growing counts.
        assert!(seen.len() > 20, "{seen:?}");
        assert!(seen.windows(2).all(|w| w[0] < w[1]));
        assert!(buf.len() < 2_000 * 1_010 + 64 * 1_024);
        let d: Cache<u64, String> = Cache::builder().build().unwrap();
        d.read_snapshot(&buf[..], &SnapshotOptions::new()).unwrap();
        assert_eq!(d.len(), 2_000);
    }

    #[test]
    fn deadlines_move_between_clocks() {
        // The source's clock is far from the wall clock: only the distance
        // to the deadline matters.
        let clock = ManualClock::new();
        clock.advance(Duration::from_secs(1_000_000));
        let c: Cache<u64, String> = Cache::builder().clock(clock.clone()).build().unwrap();
        c.insert_with_ttl(1, "a".into(), Duration::from_secs(100));
        c.insert(2, "b".into());
        c.insert_with_ttl(3, "c".into(), Duration::from_millis(5));
        clock.advance(Duration::from_millis(10));
        let buf = bytes_of(&c, &SnapshotOptions::new());
        let target_clock = ManualClock::new();
        let d: Cache<u64, String> = Cache::builder().clock(target_clock.clone()).build().unwrap();
        let sum = d.read_snapshot(&buf[..], &SnapshotOptions::new()).unwrap();
        assert_eq!(sum.keys, 2, "the expired entry is not saved");
        let ttl = d.entry_info(&1).and_then(|i| i.time_to_live).unwrap();
        assert!(ttl <= Duration::from_millis(99_990) && ttl > Duration::from_secs(90), "{ttl:?}");
        assert_eq!(d.entry_info(&2).and_then(|i| i.time_to_live), None);
        target_clock.advance(Duration::from_secs(101));
        assert_eq!(d.get(&1), None, "the remaining time-to-live counts on");
        assert_eq!(d.get(&2).as_deref(), Some("b"));
    }

    #[test]
    fn expired_records_are_dropped_and_others_keep_their_time() {
        let now = unix_now_ms();
        let buf = handmade(&[(1, "gone", Some(now - 1_000)), (2, "left", Some(now + 60_000)), (3, "never", None)]);
        let d: Cache<u64, String> = Cache::new(100);
        d.insert(1, "kept".into());
        d.insert(4, "other".into());
        let sum = d.read_snapshot(&buf[..], &SnapshotOptions::new()).unwrap();
        assert_eq!(sum.records, 3);
        assert_eq!(d.get(&1).as_deref(), Some("kept"), "an expired record does not replace a live entry");
        assert_eq!(d.get(&2).as_deref(), Some("left"));
        assert_eq!(d.get(&3).as_deref(), Some("never"));
        assert_eq!(d.get(&4).as_deref(), Some("other"), "entries not in the snapshot stay");
        let ttl = d.entry_info(&2).and_then(|i| i.time_to_live).unwrap();
        assert!(ttl <= Duration::from_secs(60) && ttl > Duration::from_secs(50), "{ttl:?}");
    }

    #[test]
    fn entries_without_deadline_take_the_target_time_to_live() {
        let buf = handmade(&[(1, "a", None)]);
        let d: Cache<u64, String> = Cache::builder().time_to_live(Duration::from_secs(30)).build().unwrap();
        d.read_snapshot(&buf[..], &SnapshotOptions::new()).unwrap();
        let ttl = d.entry_info(&1).and_then(|i| i.time_to_live).unwrap();
        assert!(ttl <= Duration::from_secs(30));
    }

    #[test]
    fn weights_come_from_the_target_weigher() {
        let c: Cache<u64, String> = Cache::new(100);
        c.insert(1, "abcd".into());
        let buf = bytes_of(&c, &SnapshotOptions::new());
        let d: Cache<u64, String> =
            Cache::builder().max_weight(1_000).weigher(|_, v: &String| v.len() as u32).build().unwrap();
        d.read_snapshot(&buf[..], &SnapshotOptions::new()).unwrap();
        assert_eq!(d.weighted_size(), 4);
    }

    #[test]
    fn wrong_types_or_content_change_nothing() {
        let c: Cache<u64, String> = Cache::new(100);
        c.insert(1, "one".into());
        let buf = bytes_of(&c, &SnapshotOptions::new());
        // The records do not decode as `(String, u64, Option<i64>)`.
        let d: Cache<String, u64> = Cache::new(100);
        d.insert("x".into(), 7);
        assert!(d.read_snapshot(&buf[..], &SnapshotOptions::new()).is_err());
        assert_eq!(d.len(), 1);
        // A keyspace snapshot is refused by its header.
        let opts = SnapshotOptions::new();
        let w = SnapshotWriter::start(Vec::new(), Content::Keyspace, 0, 0, &opts).unwrap();
        let other = w.finish(0, 0).unwrap().0;
        let e = c.read_snapshot(&other[..], &opts).unwrap_err();
        assert!(matches!(e, PersistError::WrongContent { .. }), "{e}");
    }

    #[test]
    fn builder_loads_or_fails() {
        let dir = std::env::temp_dir().join(format!("embercache-cache-persist-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.snap");
        let c: Cache<u64, String> = Cache::new(100);
        c.insert(5, "five".into());
        c.save_snapshot(&path, &SnapshotOptions::new()).unwrap();
        let opts = SnapshotOptions::new();
        let d = Cache::<u64, String>::builder().max_capacity(10).load_snapshot(&path, &opts).build().unwrap();
        assert_eq!(d.get(&5).as_deref(), Some("five"));
        // Keeps the source through a change of hasher.
        let d = Cache::<u64, String>::builder()
            .load_snapshot(&path, &opts)
            .hasher(std::collections::hash_map::RandomState::new())
            .build()
            .unwrap();
        assert_eq!(d.get(&5).as_deref(), Some("five"));
        let missing = dir.join("missing.snap");
        let e = Cache::<u64, String>::builder().load_snapshot(&missing, &opts).build().unwrap_err();
        match &e {
            ConfigError::Snapshot(s) => {
                assert_eq!(s.path(), missing);
                assert!(matches!(s.error(), PersistError::Io(_)));
                assert_eq!(e.clone(), e, "equal to its clones");
            }
            other => panic!("{other}"),
        }
        assert!(e.to_string().contains("missing.snap"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
