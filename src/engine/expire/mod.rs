//! Expiry: when entries stop being visible and when their memory is taken
//! back.
//!
//! An entry's deadline is the earliest of the cache-wide time-to-live (from
//! the last write), the cache-wide time-to-idle (from the last read or write)
//! and a per-entry time-to-live (from [`insert_with_ttl`] or an [`Expiry`]
//! policy). Lookups compare the deadline with the clock, so an expired entry
//! is never returned; the [`wheel`] reclaims expired entries without anyone
//! reading them.
//!
//! [`insert_with_ttl`]: crate::Cache::insert_with_ttl

pub(crate) mod wheel;

use std::time::Duration;

/// A per-entry expiry policy, consulted on create, update and read (after
/// moka's `Expiry`).
///
/// Each method returns the entry's new time-to-live from now, or `None` for
/// "no per-entry limit" (cache-wide time-to-live and time-to-idle still
/// apply). `current` is the time the entry had left before this event.
///
/// The methods run while the entry's shard is locked: keep them short, and do
/// not call back into the cache.
pub trait Expiry<K, V>: Send + Sync {
    /// Time-to-live of a newly inserted entry. Default: none.
    fn expire_after_create(&self, key: &K, value: &V) -> Option<Duration> {
        let _ = (key, value);
        None
    }

    /// Time-to-live after the entry's value is replaced. Default: unchanged.
    fn expire_after_update(&self, key: &K, value: &V, current: Option<Duration>) -> Option<Duration> {
        let _ = (key, value);
        current
    }

    /// Time-to-live after the entry is read. Default: unchanged.
    ///
    /// Returning something other than `current` on every read costs a clock
    /// read per lookup; the default costs nothing.
    fn expire_after_read(&self, key: &K, value: &V, current: Option<Duration>) -> Option<Duration> {
        let _ = (key, value);
        current
    }

    /// Whether [`Expiry::expire_after_read`] is implemented. Return `true`
    /// when you override it, so lookups call it.
    fn reads_matter(&self) -> bool {
        false
    }
}
