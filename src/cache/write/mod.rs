//! Write paths for cache-aside: keeping a [`Cache`](crate::Cache) in front
//! of a system of record (a database) that the application writes to.
//!
//! The database is reached through a [`Writer`]. Two ways to write:
//!
//! - [`WriteThrough`]: `put` writes the database first and updates the
//!   cache only once that succeeded, under a per-key handshake that keeps
//!   racing writers and loaders from leaving a stale value in the cache
//!   (see [`WriteThrough`]'s `# Guarantees`).
//! - [`WriteBehind`]: `put` updates the cache at once and queues the write;
//!   a background thread batches and coalesces the queued writes into
//!   [`Writer::write_many`] calls, with bounded retries.
//!
//! Neither needs an async runtime: the write-through path runs on the
//! caller's thread, the write-behind flusher on a `std` thread of its own.

mod behind;
mod handshake;
mod through;

#[cfg(test)]
mod tests;

pub use behind::{
    FailedBatch, FullQueue, RetryPolicy, WriteBehind, WriteBehindBuilder, WriteBehindError, WriteBehindStats,
    WriteFailure,
};
pub use through::WriteThrough;

/// The system of record behind a cache: what [`WriteThrough`] and
/// [`WriteBehind`] write to.
///
/// Implementations must be safe to call from several threads at once
/// ([`WriteThrough`] calls them from its callers' threads). A call that
/// returns an error may or may not have changed the database: both write
/// paths assume either.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use embercache::cache::write::Writer;
///
/// /// A toy database.
/// struct Table(Mutex<HashMap<u32, String>>);
///
/// impl Writer<u32, String> for Table {
///     type Error = std::convert::Infallible;
///     fn write(&self, key: &u32, value: &String) -> Result<(), Self::Error> {
///         self.0.lock().unwrap().insert(*key, value.clone());
///         Ok(())
///     }
///     fn delete(&self, key: &u32) -> Result<(), Self::Error> {
///         self.0.lock().unwrap().remove(key);
///         Ok(())
///     }
/// }
/// ```
pub trait Writer<K, V>: Send + Sync + 'static {
    /// The database's error.
    type Error;

    /// Stores `value` as `key`'s value.
    fn write(&self, key: &K, value: &V) -> Result<(), Self::Error>;

    /// Deletes `key` (deleting an absent key is not an error).
    fn delete(&self, key: &K) -> Result<(), Self::Error>;

    /// Applies a batch: `Some(value)` writes, `None` deletes. Each key
    /// appears at most once in a batch handed over by [`WriteBehind`].
    ///
    /// The default calls [`write`](Self::write) and
    /// [`delete`](Self::delete) in order and stops at the first error;
    /// override it with one round trip (a transaction, a pipeline, a
    /// multi-row statement) where the database has one.
    fn write_many(&self, batch: &[(K, Option<V>)]) -> Result<(), Self::Error> {
        for (key, value) in batch {
            match value {
                Some(v) => self.write(key, v)?,
                None => self.delete(key)?,
            }
        }
        Ok(())
    }
}
