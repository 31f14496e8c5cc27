//! What operations report back: why an entry left ([`RemovalCause`]) and
//! what an atomic read-modify-write asked for and did ([`Op`],
//! [`CompResult`]).

/// Why an entry left the cache, as told to the eviction listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RemovalCause {
    /// Its deadline passed.
    Expired,
    /// Evicted to keep the cache within its capacity or weight bound (or
    /// rejected for being heavier than the bound).
    Size,
    /// Its value was replaced by a write; the listener gets the old value.
    Replaced,
    /// Removed by the user (`remove`, `retain`, `clear`, ...).
    Explicit,
}

impl RemovalCause {
    /// Whether the cache removed the entry on its own (expiry or size).
    pub fn was_evicted(self) -> bool {
        matches!(self, RemovalCause::Expired | RemovalCause::Size)
    }
}

/// What a [`compute`](crate::Cache::compute) closure asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op<V> {
    /// Leave the entry as it is (or absent).
    Nop,
    /// Store this value (insert or replace).
    Put(V),
    /// Remove the entry.
    Remove,
}

/// What a [`compute`](crate::Cache::compute) call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompResult<V> {
    /// There was no entry and none was stored (also when a `Put` value was
    /// heavier than the cache's whole bound and so could not be kept).
    StillNone,
    /// The entry was left as it is; its current value.
    Unchanged(V),
    /// A new entry was stored with this value.
    Inserted(V),
    /// The entry's value was replaced by this one.
    ReplacedWith(V),
    /// The entry was removed; its last value.
    Removed(V),
}

impl<V> CompResult<V> {
    /// The value the key maps to after the call, if any.
    pub fn into_value(self) -> Option<V> {
        match self {
            CompResult::Unchanged(v) | CompResult::Inserted(v) | CompResult::ReplacedWith(v) => Some(v),
            CompResult::StillNone | CompResult::Removed(_) => None,
        }
    }
}
