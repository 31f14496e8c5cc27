//! Errors. Each layer has its own enum; all convert into [`Error`].

use crate::persist::PersistError;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A cache configuration that cannot work, reported by `build()` (which
/// also reports, as [`ConfigError::Snapshot`], a snapshot the builder was
/// told to start from and could not load).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Both `max_capacity` and `max_weight` were set.
    #[error("max_capacity and max_weight are exclusive: bound the cache by entry count or by weight, not both")]
    CapacityAndWeight,
    /// `max_weight` was set without a weigher.
    #[error("max_weight needs a weigher: without one every entry weighs 1, so use max_capacity instead")]
    WeightWithoutWeigher,
    /// A weigher was set without `max_weight`.
    #[error("a weigher only matters with max_weight: set max_weight, or drop the weigher")]
    WeigherWithoutWeight,
    /// The shard count is out of range.
    #[error("shards must be between 1 and 65536, got {0}")]
    Shards(usize),
    /// A duration that must be positive was zero.
    #[error("{0} must be longer than zero")]
    ZeroDuration(&'static str),
    /// A size or count that must be positive was zero.
    #[error("{0} must be at least 1")]
    ZeroSize(&'static str),
    /// A [`LoadingCache`](crate::LoadingCache) was built without a loader.
    #[error("a LoadingCache needs a loader: call loader, loader_fn, async_loader or async_loader_fn")]
    MissingLoader,
    /// An option was set without another one it needs.
    #[error("{option} needs {needs}")]
    Requires {
        /// The option set.
        option: &'static str,
        /// What it needs.
        needs: &'static str,
    },
    /// An option's value is out of its range.
    #[error("{option} must be {range}")]
    OutOfRange {
        /// The option.
        option: &'static str,
        /// Its range, in words.
        range: &'static str,
    },
    /// The snapshot given to
    /// [`CacheBuilder::load_snapshot`](crate::CacheBuilder::load_snapshot) or
    /// a `DbBuilder`'s snapshot or backup directory
    /// could not be loaded (missing, damaged, or of other types); no cache
    /// was built.
    #[error(transparent)]
    Snapshot(SnapshotLoadError),
}

/// Why the snapshot a [`CacheBuilder`](crate::CacheBuilder) was told to
/// start from could not be loaded: the file and the [`PersistError`].
///
/// Cheap to clone (the error is shared). Two values are equal when they
/// name the same file and share the same error (clones of one another):
/// a [`PersistError`] itself has no equality, as it may hold an I/O error.
#[derive(Debug, Clone)]
pub struct SnapshotLoadError {
    path: PathBuf,
    error: Arc<PersistError>,
}

impl SnapshotLoadError {
    pub(crate) fn new(path: PathBuf, error: PersistError) -> Self {
        SnapshotLoadError { path, error: Arc::new(error) }
    }

    /// The snapshot file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What went wrong loading it.
    pub fn error(&self) -> &PersistError {
        &self.error
    }
}

impl PartialEq for SnapshotLoadError {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path && Arc::ptr_eq(&self.error, &other.error)
    }
}

impl Eq for SnapshotLoadError {}

impl fmt::Display for SnapshotLoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot load the snapshot {}: {}", self.path.display(), self.error)
    }
}

impl std::error::Error for SnapshotLoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.error)
    }
}

/// Any error of this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An invalid configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
