//! Items as the Memcached protocols see them (crate-internal): a string
//! value with 32-bit client flags, a CAS unique and a deadline given in
//! memcached's exptime terms. The server's `memcache` module calls only
//! these methods; writes run through [`Tx`] (so they are journaled, make
//! room under `maxmemory` and publish keyspace events) and plain reads
//! through the engine's read path (a shard read lock, no exclusive lock).
//!
//! # The CAS word
//!
//! [`Stored`](super::keyspace::Stored) keeps one `u64` per key: the CAS
//! unique in the low 61 bits and three state bits above it. Every Redis
//! write resets the word to 0; a reader that needs the unique (`gets`,
//! `mg c`, a `cas` compare) draws a fresh one from the `Db`'s counter and
//! installs it only if the word has none (compare-and-swap), so the unique
//! changes on every modification while Redis's write path pays no atomic.
//! Memcached writes draw their unique at once (`ms … c` returns it).
//!
//! - `FETCHED`: a Memcached read hit the item (`mg h`, `me`);
//! - `WON`: a client was handed the recache token (`mg` answered `W`:
//!   vivified on miss, stale, or under its `R` threshold); later readers
//!   get `Z`;
//! - `STALE`: marked stale by `md … I` or by `ms … I` with an older unique
//!   (readers get `X`).
//!
//! A write resets all three, as memcached's new item would have them.
//!
//! # Keys of other Redis types
//!
//! A key holding a list, hash, set or sorted set is not an item: reads
//! miss and never vivify or touch it; `set` (and `ms` in set mode without a
//! CAS) replaces it as Redis `SET` does; `add` is not stored (the key
//! exists, as `SET NX`); `delete` (and `md` without `C`/`I`) deletes it as
//! `DEL` does; every other write (`replace`, `append`, `prepend`, `cas`,
//! `incr`, `decr`, `touch`, `ma`, `ms`/`md` with a CAS, modes R/A/P or
//! `I`) fails with [`DbError::WrongType`] and changes nothing.
//!
//! Flags and state bits are not persisted: a snapshot or journal restores
//! the values and deadlines, with flags 0.

#[cfg(test)]
pub(crate) mod tests;
mod write;

#[cfg_attr(not(feature = "server"), allow(unused_imports))]
pub(crate) use write::{Arith, ArithOutcome, Delete, DeleteOutcome, Store, StoreMode, StoreOutcome};

use super::Shared;
use super::keyspace::{Deadline, ItemMeta, Tx};
use super::persist::effects::Detail;
use super::{Db, Value};
use crate::engine::prefetch;
use crate::engine::slab::NEVER;
use std::sync::atomic::{AtomicU64, Ordering};

/// CAS word bit: a Memcached read hit the item.
pub(crate) const FETCHED: u64 = 1 << 61;
/// CAS word bit: the recache token was handed out.
pub(crate) const WON: u64 = 1 << 62;
/// CAS word bit: the item is stale.
pub(crate) const STALE: u64 = 1 << 63;
/// The CAS word's unique.
pub(crate) const UNIQUE: u64 = FETCHED - 1;

/// memcached's longest relative exptime (30 days); larger numbers are unix
/// times.
pub(crate) const MAX_RELATIVE_EXPTIME: i64 = 60 * 60 * 24 * 30;

/// When an item expires, in memcached's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exptime {
    /// 0: never.
    Never,
    /// This many seconds from now (at most 30 days).
    In(u64),
    /// At this unix time, in seconds.
    At(i64),
    /// Negative: already expired.
    Past,
}

impl Exptime {
    /// memcached's reading of an exptime number: 0 never, negative already
    /// expired, up to 30 days relative seconds, larger a unix time.
    pub(crate) fn from_secs(n: i64) -> Exptime {
        match n {
            0 => Exptime::Never,
            n if n < 0 => Exptime::Past,
            n if n <= MAX_RELATIVE_EXPTIME => Exptime::In(n.unsigned_abs()),
            n => Exptime::At(n),
        }
    }

    /// The deadline in engine milliseconds at engine time `now` (one not
    /// after `now` makes the write delete the key).
    pub(crate) fn deadline(self, db: &Shared, now: u64) -> Deadline {
        match self {
            Exptime::Never => None,
            Exptime::In(s) => Some(now.saturating_add(s.saturating_mul(1000))),
            Exptime::At(t) => Some(db.engine_ms(t.saturating_mul(1000)).min(u64::MAX - 1)),
            Exptime::Past => Some(now),
        }
    }
}

/// What a read does besides returning the item.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Fetch {
    /// Sets a new exptime on a hit (`gat`, `mg T`).
    pub(crate) touch: Option<Exptime>,
    /// On a miss, creates an empty item with this exptime and hands this
    /// reader the recache token (`mg N`).
    pub(crate) vivify: Option<Exptime>,
    /// Hands out the recache token when fewer than this many seconds are
    /// left (`mg R`).
    pub(crate) recache: Option<u64>,
    /// Reports the CAS unique (drawing one if the item has none).
    pub(crate) cas: bool,
    /// Counts as an access: policy bump, last access time, fetched bit
    /// (`false` for `mg u`).
    pub(crate) bump: bool,
}

/// An item as a read found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ItemView<'a> {
    pub(crate) value: &'a [u8],
    pub(crate) flags: u32,
    /// The CAS unique (0 unless [`Fetch::cas`]).
    pub(crate) cas: u64,
    /// Milliseconds left, `None` for an item that does not expire.
    pub(crate) ttl_ms: Option<u64>,
    /// Seconds since the last access before this read.
    pub(crate) idle_secs: u64,
    /// Whether a Memcached read had hit the item before this one.
    pub(crate) fetched: bool,
    /// This reader got the recache token (`W`).
    pub(crate) won: bool,
    /// The item is stale (`X`).
    pub(crate) stale: bool,
    /// Another reader already has the recache token (`Z`).
    pub(crate) token_sent: bool,
}

impl ItemView<'_> {
    /// Seconds left, rounded up, as memcached's `t` flag shows them (-1:
    /// never expires).
    pub(crate) fn ttl_secs(&self) -> i64 {
        ttl_secs(self.ttl_ms)
    }
}

/// Seconds left of `ttl_ms`, rounded up (-1 for none).
pub(crate) fn ttl_secs(ttl_ms: Option<u64>) -> i64 {
    ttl_ms.map_or(-1, |ms| i64::try_from(ms.div_ceil(1000)).unwrap_or(i64::MAX))
}

/// What `me` shows of an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ItemDebug {
    /// Milliseconds left (`None`: never expires).
    pub(crate) ttl_ms: Option<u64>,
    pub(crate) idle_secs: u64,
    pub(crate) cas: u64,
    pub(crate) fetched: bool,
    /// Bytes the item counts against `maxmemory`.
    pub(crate) size: u32,
}

/// What a read did to the CAS word and saw in it.
#[derive(Debug, Clone, Copy)]
struct ReadMarks {
    cas: u64,
    fetched: bool,
    won: bool,
    stale: bool,
    token_sent: bool,
}

/// The CAS word `w` after a read with `fetch` of an item with `ttl_ms`
/// left, and what the read reports. `fresh` is the unique to install if
/// the word has none and the read needs one.
fn read_word(w: u64, fetch: &Fetch, ttl_ms: Option<u64>, fresh: u64) -> (u64, ReadMarks) {
    let mut n = w;
    if fetch.cas && n & UNIQUE == 0 {
        n |= fresh & UNIQUE;
    }
    if fetch.bump {
        n |= FETCHED;
    }
    let token_sent = w & WON != 0;
    let stale = w & STALE != 0;
    let low = match (fetch.recache, ttl_ms) {
        (Some(r), Some(ms)) => ms < r.saturating_mul(1000),
        _ => false,
    };
    let won = !token_sent && (stale || low);
    if won {
        n |= WON;
    }
    let marks =
        ReadMarks { cas: if fetch.cas { n & UNIQUE } else { 0 }, fetched: w & FETCHED != 0, won, stale, token_sent };
    (n, marks)
}

impl Shared {
    /// A CAS unique never handed out before (never 0).
    pub(crate) fn next_cas(&self) -> u64 {
        let n = self.cas_counter.fetch_add(1, Ordering::Relaxed).wrapping_add(1) & UNIQUE;
        if n == 0 { self.next_cas() } else { n }
    }
}

/// Applies a read's effects to the atomic CAS word of an item read under
/// its shard's read lock.
fn mark_read(word: &AtomicU64, db: &Shared, fetch: &Fetch, ttl_ms: Option<u64>) -> ReadMarks {
    let w = word.load(Ordering::Relaxed);
    let fresh = if fetch.cas && w & UNIQUE == 0 { db.next_cas() } else { 0 };
    let (n, marks) = read_word(w, fetch, ttl_ms, fresh);
    if n == w {
        return marks;
    }
    let mut marks = marks;
    // Other readers may change the word meanwhile: retry on what they left.
    let _ = word.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |w| {
        let (n, m) = read_word(w, fetch, ttl_ms, fresh);
        marks = m;
        (n != w).then_some(n)
    });
    marks
}

impl Db {
    /// Warms the lines that fetching each of `keys` will read (see
    /// `engine::prefetch`): call before fetching them in a row. One key
    /// alone is not warmed: it has no other misses to overlap with.
    pub(crate) fn item_warm(&self, keys: &[&[u8]]) {
        if keys.len() > 1 {
            self.inner.engine.warm(keys.iter().copied());
        }
    }

    /// Reads the string item at `key` and calls `f` on it, doing what
    /// `fetch` says; `None` on a miss (absent, expired or not a string).
    pub(crate) fn item_fetch<R>(&self, key: &[u8], fetch: Fetch, f: impl FnOnce(&ItemView<'_>) -> R) -> Option<R> {
        if fetch.touch.is_some() || fetch.vivify.is_some() {
            return self.item_fetch_write(key, fetch, f);
        }
        let db = &*self.inner;
        let secs = db.coarse_secs.load(Ordering::Relaxed);
        self.inner
            .engine
            .lookup_with(key, fetch.bump, fetch.bump, prefetch::value, |i, e, shard, now| {
                let Value::String(s) = &e.value.value else { return None };
                let d = shard.deadline_of(i, e);
                let ttl_ms = (d != NEVER).then(|| d.saturating_sub(now));
                let idle_secs = e.value.idle_secs(u64::from(secs) * 1000);
                if fetch.bump {
                    e.value.touch_secs(secs);
                }
                let m = mark_read(&e.value.cas, db, &fetch, ttl_ms);
                let view = ItemView {
                    value: s,
                    flags: e.value.flags(),
                    cas: m.cas,
                    ttl_ms,
                    idle_secs,
                    fetched: m.fetched,
                    won: m.won,
                    stale: m.stale,
                    token_sent: m.token_sent,
                };
                Some(f(&view))
            })
            .flatten()
    }

    /// [`Db::item_fetch`] that touches or vivifies: under the write lock.
    fn item_fetch_write<R>(&self, key: &[u8], fetch: Fetch, f: impl FnOnce(&ItemView<'_>) -> R) -> Option<R> {
        let run = |tx: &mut Tx<'_>| {
            let db = tx.db();
            let now = tx.now();
            let mut hit = false;
            let r = tx.write_item(key, |slot, deadline, meta| {
                match slot {
                    Some(Value::String(_)) => hit = true,
                    Some(_) => return None,
                    None => {
                        let vivify = fetch.vivify?;
                        *slot = Some(Value::String(Vec::new()));
                        *deadline = vivify.deadline(db, now);
                        *meta = ItemMeta { flags: 0, cas: db.next_cas() | WON, idle_secs: 0 };
                        let view = ItemView {
                            value: &[],
                            flags: 0,
                            cas: if fetch.cas { meta.cas & UNIQUE } else { 0 },
                            ttl_ms: deadline.map(|d| d.saturating_sub(now)),
                            idle_secs: 0,
                            fetched: false,
                            won: true,
                            stale: false,
                            token_sent: false,
                        };
                        return Some(f(&view));
                    }
                }
                if let Some(t) = fetch.touch {
                    *deadline = t.deadline(db, now);
                }
                let ttl_ms = deadline.map(|d| d.saturating_sub(now));
                let fresh = if fetch.cas && meta.cas & UNIQUE == 0 { db.next_cas() } else { 0 };
                let (word, m) = read_word(meta.cas, &fetch, ttl_ms, fresh);
                meta.cas = word;
                let Some(Value::String(s)) = slot.as_ref() else { return None };
                let view = ItemView {
                    value: s,
                    flags: meta.flags,
                    cas: m.cas,
                    ttl_ms,
                    idle_secs: meta.idle_secs,
                    fetched: m.fetched,
                    won: m.won,
                    stale: m.stale,
                    token_sent: m.token_sent,
                };
                Some(f(&view))
            });
            if hit {
                // The value is the same: only the deadline may have changed.
                tx.detail(key, || Detail::Deadline);
                if fetch.touch.is_some() {
                    tx.event(super::notify::EventClass::Generic, "expire", key);
                }
            }
            r
        };
        if fetch.vivify.is_some() {
            // Vivifying may grow memory; without room it is a plain miss.
            self.tx_grow(&[key], |tx| Ok(run(tx))).ok().flatten()
        } else {
            self.tx(&[key], run)
        }
    }

    /// What `me` shows of the string item at `key` (not an access).
    pub(crate) fn item_debug(&self, key: &[u8]) -> Option<ItemDebug> {
        let db = &*self.inner;
        let secs = db.coarse_secs.load(Ordering::Relaxed);
        self.inner
            .engine
            .read(key, false, |i, e, shard, now| {
                let Value::String(_) = &e.value.value else { return None };
                let d = shard.deadline_of(i, e);
                let w = e.value.cas.load(Ordering::Relaxed);
                Some(ItemDebug {
                    ttl_ms: (d != NEVER).then(|| d.saturating_sub(now)),
                    idle_secs: e.value.idle_secs(u64::from(secs) * 1000),
                    cas: w & UNIQUE,
                    fetched: w & FETCHED != 0,
                    size: e.weight,
                })
            })
            .flatten()
    }

    /// Entries evicted to stay under `maxmemory` since the `Db` was built.
    pub(crate) fn evictions(&self) -> u64 {
        self.inner.engine.stats().evictions
    }
}
