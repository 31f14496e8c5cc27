//! Durable backups: snapshots, a journal of effects, point-in-time restore,
//! scheduled backups and (feature `encryption`) encryption at rest.
//!
//! - **Snapshots** ([`SnapshotOptions`], `Db::save_snapshot`,
//!   `Cache::save_snapshot`, and their `load_snapshot`s) stream the store to
//!   a file or any writer in a format of our own ([`format`](mod@format)): magic,
//!   version, codec, flags, creation time and the journal position the
//!   snapshot starts at, then records encoded with serde and bincode 2 in
//!   checksummed frames, then a footer with counts. Saving copies a bounded
//!   slice of one shard at a time; files are replaced atomically (temporary
//!   file, fsync, rename, fsync of the directory). Deadlines are stored as
//!   unix time, so TTLs keep counting across a restart.
//! - **The journal** records each write's *effects* (an INCR as the
//!   resulting value, a relative EXPIRE as an absolute one), numbered and
//!   timestamped, so that replaying it over a snapshot, even one taken
//!   while writes went on, rebuilds the store; see `journal`.
//! - **Backups** (`BackupDir`) keep snapshots and journal segments in one
//!   directory, rewrite them without stopping writers, prune old ones,
//!   restore to any point in time they cover, and run on a schedule. A
//!   typed `Cache`, which has no journal, keeps scheduled snapshots only
//!   (`CacheBuilder::backups`, [`cache::backups`](crate::cache::backups)).
//!
//! Every way a file can be damaged or wrong is a [`PersistError`] naming
//! the problem; loading never panics and never applies half a file.

mod error;
pub mod file;
pub mod format;
pub mod journal;
pub(crate) mod schedule;
pub(crate) mod snapshot;

#[cfg(feature = "encryption")]
pub mod crypt;

pub use error::{PersistError, PersistResult};
pub use file::{FailPoint, set_fail_point};
pub use journal::FsyncPolicy;
pub use snapshot::SnapshotSummary;

use format::{Codec, Header};
use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// How far a long save or load has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Records written or read so far.
    pub records: u64,
    /// Bytes written or read so far.
    pub bytes: u64,
}

/// Options of saving and loading a snapshot (and of the journal's files).
#[derive(Clone, Default)]
pub struct SnapshotOptions {
    pub(crate) compress: bool,
    pub(crate) progress: Option<Arc<dyn Fn(Progress) + Send + Sync>>,
    #[cfg(feature = "encryption")]
    pub(crate) encryption: Option<crypt::Encryption>,
}

impl fmt::Debug for SnapshotOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("SnapshotOptions");
        d.field("compress", &self.compress).field("progress", &self.progress.is_some());
        #[cfg(feature = "encryption")]
        d.field("encryption", &self.encryption);
        d.finish()
    }
}

impl SnapshotOptions {
    /// Default options: uncompressed, unencrypted, no progress callback.
    pub fn new() -> Self {
        Self::default()
    }

    /// Compresses frames with LZ4 (smaller files, a little more CPU).
    pub fn compress(mut self, on: bool) -> Self {
        self.compress = on;
        self
    }

    /// Calls `f` after each frame written or read (about every 64 KiB),
    /// for progress reports on long saves and loads.
    pub fn progress(mut self, f: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// Encrypts what is written, and decrypts what is read, with data keys
    /// wrapped by `encryption`'s key provider.
    #[cfg(feature = "encryption")]
    pub fn encryption(mut self, encryption: crypt::Encryption) -> Self {
        self.encryption = Some(encryption);
        self
    }
}

/// The codec for a new file, recording its envelope in `header`.
pub(crate) fn writer_codec(opts: &SnapshotOptions, header: &mut Header) -> PersistResult<Codec> {
    #[cfg(feature = "encryption")]
    if let Some(enc) = &opts.encryption {
        // The flags the frame writer will record, set first so the cipher
        // binds them.
        header.flags = format::ENCRYPTED | if opts.compress { format::COMPRESSED } else { 0 };
        let cipher = enc.seal_file(header)?;
        return Ok(Codec::new(opts.compress, Some(cipher)));
    }
    let _ = header;
    Ok(Codec::new(opts.compress, None))
}

/// The codec to read a file with `header`.
pub(crate) fn reader_codec(opts: &SnapshotOptions, header: &Header) -> PersistResult<Codec> {
    if !header.encrypted() {
        return Ok(Codec::new(header.compressed(), None));
    }
    #[cfg(feature = "encryption")]
    {
        let Some(enc) = &opts.encryption else {
            return Err(PersistError::Encrypted("no key provider was given to read it"));
        };
        let cipher = enc.open_file(header)?;
        Ok(Codec::new(header.compressed(), Some(cipher)))
    }
    #[cfg(not(feature = "encryption"))]
    {
        let _ = opts;
        Err(PersistError::Encrypted("this build lacks the `encryption` feature"))
    }
}

/// Unix milliseconds now.
pub(crate) fn unix_now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
