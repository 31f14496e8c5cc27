//! What can go wrong in write-behind: [`WriteBehindError`] for the
//! caller, [`FailedBatch`] for the error callback.

use crate::ConfigError;
use std::sync::Arc;
use std::time::Duration;

/// An error of [`WriteBehind`](super::WriteBehind) itself (the database's
/// errors go to the error callback, see [`FailedBatch`]).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum WriteBehindError {
    /// The builder's configuration cannot work.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The flusher thread could not be started.
    #[error("cannot start the write-behind flusher thread: {0}")]
    Spawn(#[source] Arc<std::io::Error>),
    /// The queue was full and stayed full for `waited` (zero with
    /// [`FullQueue::Reject`](super::FullQueue::Reject)); nothing changed.
    #[error("the write-behind queue is full (waited {waited:?})")]
    QueueFull {
        /// How long the call waited for room.
        waited: Duration,
    },
    /// [`shutdown`](super::WriteBehind::shutdown) was called: no more
    /// writes are taken.
    #[error("the write-behind queue is shut down")]
    ShutDown,
    /// The flusher thread stopped (a panic outside the writer, such as in
    /// the cache's eviction listener): queued writes will not be written.
    #[error("the write-behind flusher thread stopped")]
    Stopped,
}

/// Why a batch failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum WriteFailure<E> {
    /// [`Writer::write_many`](super::super::Writer::write_many) returned this error.
    Writer(E),
    /// [`Writer::write_many`](super::super::Writer::write_many) panicked.
    Panicked,
}

/// A batch that could not be written after every retry, handed to the
/// error callback. Its entries are dropped from the queue, and each key
/// without a newer queued write is removed from the cache, so that reads
/// fall back to what the database holds.
#[derive(Debug)]
#[non_exhaustive]
pub struct FailedBatch<'a, K, V, E> {
    /// The writes of the batch: `Some` to write, `None` to delete.
    pub entries: &'a [(K, Option<V>)],
    /// The last attempt's failure.
    pub failure: WriteFailure<E>,
    /// How many times the batch was tried.
    pub attempts: u32,
}
