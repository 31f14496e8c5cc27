//! Snapshots of a [`Db`]: saving streams the keyspace shard by shard, a
//! bounded slice at a time; loading reads and checks the whole file before
//! it touches the keyspace.
//!
//! Record layout: see [`wire`]. Deadlines are unix milliseconds, so a key's
//! TTL keeps counting while the store is down; keys already expired when
//! the snapshot is loaded are dropped.

pub(crate) mod backups;
pub(crate) mod effects;
mod load;
mod save;
pub(crate) mod wire;

pub(crate) use save::encode_key;

use super::Db;
use super::keyspace::Tx;
use crate::engine::slab::NEVER;
use crate::persist::file::write_atomically;
use crate::persist::format::Content;
use crate::persist::snapshot::{SnapshotReader, SnapshotWriter};
use crate::persist::{PersistResult, SnapshotOptions, SnapshotSummary};
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::Path;

/// Most keys encoded per hold of a shard's read lock (the slice also ends
/// once a frame's worth of bytes is ready).
const SLICE: usize = 256;

impl Db {
    /// Saves a snapshot to `path`, replacing it atomically: a crash at any
    /// point leaves the previous file intact. Writers are held up for at
    /// most one slice of one shard at a time (a key larger than a slice is
    /// copied whole).
    ///
    /// ```
    /// use embercache::Db;
    /// use embercache::persist::SnapshotOptions;
    ///
    /// let dir = std::env::temp_dir().join(format!("embercache-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("dump.ember");
    /// let db = Db::new();
    /// db.execute(&["SET", "k", "v"]);
    /// db.save_snapshot(&path, &SnapshotOptions::new())?;
    ///
    /// let restored = Db::new();
    /// let summary = restored.load_snapshot(&path, &SnapshotOptions::new())?;
    /// assert_eq!(summary.keys, 1);
    /// assert_eq!(restored.get(b"k")?, Some(b"v".to_vec()));
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn save_snapshot(&self, path: impl AsRef<Path>, opts: &SnapshotOptions) -> PersistResult<SnapshotSummary> {
        write_atomically(path.as_ref(), |w| self.write_snapshot(w, opts))
    }

    /// Writes a snapshot to `w` (streamed: never the whole store in memory).
    pub fn write_snapshot(&self, w: impl Write, opts: &SnapshotOptions) -> PersistResult<SnapshotSummary> {
        let inner = &self.inner;
        let engine = &inner.engine;
        let start = inner.journal_position();
        let mut out = SnapshotWriter::start(w, Content::Keyspace, inner.unix_ms(self.now()), start, opts)?;
        engine.walk_live(
            &mut out,
            SLICE,
            |out, e, d, _| {
                let at = (d != NEVER).then(|| inner.unix_ms(d));
                encode_key(out, &e.key, at, &e.value.value)?;
                Ok(!out.block_full())
            },
            |out| if out.block_full() { out.flush_block() } else { Ok(()) },
        )?;
        let end = inner.journal_position();
        let (_, summary) = out.finish(end, inner.unix_ms(self.now()))?;
        Ok(summary)
    }

    /// Loads the snapshot at `path`, replacing the keyspace's contents.
    /// The whole file is read and checked first: on any error the keyspace
    /// is unchanged.
    pub fn load_snapshot(&self, path: impl AsRef<Path>, opts: &SnapshotOptions) -> PersistResult<SnapshotSummary> {
        let file = File::open(path.as_ref())?;
        self.read_snapshot(BufReader::with_capacity(1 << 20, file), opts)
    }

    /// Reads a snapshot from `r`, replacing the keyspace's contents once
    /// the whole stream has been checked (on any error nothing changes).
    pub fn read_snapshot(&self, r: impl Read, opts: &SnapshotOptions) -> PersistResult<SnapshotSummary> {
        let (keys, summary) = read_keys(r, opts)?;
        self.replace_all(keys);
        Ok(summary)
    }

    /// Replaces every key with `keys` (deadlines in unix ms; those already
    /// passed are dropped), atomically for readers.
    pub(crate) fn replace_all(&self, keys: Vec<load::Loaded>) {
        let engine = &self.inner.engine;
        let now = self.now();
        let keys: Vec<_> = keys
            .into_iter()
            .filter_map(|(key, value, at)| {
                let deadline = at.map(|u| self.inner.engine_ms(u));
                if deadline.is_some_and(|d| d <= now) {
                    return None;
                }
                Some((engine.hash(&*key), key, value, deadline))
            })
            .collect();
        let mut tx = Tx::all(&self.inner);
        tx.clear();
        tx.load_all(keys);
        tx.finish();
    }
}

/// Reads and checks a whole snapshot stream.
pub(crate) fn read_keys(r: impl Read, opts: &SnapshotOptions) -> PersistResult<(Vec<load::Loaded>, SnapshotSummary)> {
    let mut reader = SnapshotReader::open(r, Content::Keyspace, opts)?;
    let mut staging = load::Staging::default();
    while let Some(rec) = reader.next::<wire::Record>(wire::Record::starts_key)? {
        staging.push(rec, reader.frame_offset())?;
    }
    let summary = reader.summary().unwrap_or_default();
    Ok((staging.finish(reader.frame_offset())?, summary))
}
