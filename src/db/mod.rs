//! The Redis face: [`Db`], a keyspace of byte keys whose values are Redis
//! types ([`Value`]) with Redis's semantics, built on the same engine as
//! `Cache` (shards, timing wheel, eviction policies, weights).
//!
//! Every command has a typed method (`db.set(…)`, `db.zadd(…)`, …) and is
//! also reachable through [`Db::execute`], which parses Redis-style
//! arguments exactly as Redis does and answers a protocol-neutral
//! [`Reply`]; both run the same code.
//!
//! - Each command is atomic. Commands on one key are linearizable;
//!   multi-key commands lock their keys' shards in shard order (no
//!   deadlock) and are atomic too.
//! - Expiry is Redis's: an expired key is never seen (lazy, to the
//!   millisecond) and is reclaimed by the wheel without being read.
//! - Every value's weight is its heap footprint, kept current as it grows
//!   and shrinks; with `maxmemory` set, Redis's `maxmemory-policy` applies.
//!
//! Layout: one file per command family (`string`, `bitmap`, `hll`, `list`,
//! `blocking`, `hash`, `set`, `zset/`, `keys`), the access layer
//! (`keyspace`), argument parsing ([`args`]), the command table
//! ([`command`]), the command catalog with Redis's `COMMAND INFO` metadata
//! and key positions ([`catalog`]), replies, errors, keyspace notifications
//! and pub/sub.

pub mod args;
mod bitmap;
mod blocking;
mod builder;
pub mod catalog;
pub mod command;
mod cursor;
mod error;
pub(crate) mod glob;
mod hash;
mod hll;
// Items are only used by the `server` feature's Memcached protocol (and tests).
#[cfg_attr(not(feature = "server"), allow(dead_code))]
pub(crate) mod item;
mod keys;
pub(crate) mod keyspace;
mod list;
mod memory_group;
pub mod notify;
pub(crate) mod observe;
mod packed;
mod persist;
pub mod pubsub;
mod reply;
mod set;
mod string;
mod value;
pub mod zset;

pub use bitmap::{BitField, BitFieldOp, BitFieldOverflow, BitOp, BitPosRange, BitRange, BitUnit};
pub use blocking::BlockCancel;
pub use builder::{DbBuilder, MaxMemoryPolicy};
pub use error::{DbError, DbResult};
pub use hash::Hash;
pub use hash::random::{FieldValue, ItemScanOptions, MAX_PICKS_BYTES};
pub use keys::CopyOptions;
pub use keys::expire::{ExpireCondition, KeyTtl};
pub use keys::scan::ScanOptions;
pub use list::{End, InsertPosition, List, LposOptions};
pub use persist::backups::{BackupOptions, BackupStats, Backups, RecoveryReport};
pub use reply::{Reply, format_double};
pub(crate) use reply::{ReplyBuilder, ReplyOut};
pub use set::Set;
pub use string::{Expiration, GetExOption, SetCondition, SetOptions, SetOutcome};
pub use value::Value;
pub use zset::ZSet;

use crate::engine::Engine;
use crate::engine::direct::VictimRule;
use keyspace::{Key, Stored, Tx};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// An in-process Redis keyspace. A cheap handle: clones share the data.
///
/// ```
/// use embercache::Db;
/// use embercache::db::Reply;
///
/// let db = Db::new();
/// db.execute(&["SET", "greeting", "hello"]);
/// assert_eq!(db.execute(&["GET", "greeting"]), Reply::bulk("hello"));
/// assert_eq!(db.get(b"greeting")?, Some(b"hello".to_vec()));
/// # Ok::<(), embercache::db::DbError>(())
/// ```
#[derive(Clone)]
pub struct Db {
    pub(crate) inner: Arc<Shared>,
}

/// The state behind every handle of one `Db`.
pub(crate) struct Shared {
    pub(crate) engine: Engine<Key, Stored, ahash::RandomState>,
    /// Unix time (ms) at engine time 0.
    pub(crate) unix_origin_ms: i64,
    pub(crate) maxmemory: AtomicU64,
    pub(crate) policy: MaxMemoryPolicy,
    pub(crate) notify: notify::Notifier,
    pub(crate) pubsub: Arc<pubsub::Hub>,
    /// Who is told of every key change (the server's WATCH and tracking).
    pub(crate) observers: observe::Observers,
    pub(crate) blocking: blocking::Blocking,
    /// The clock's second as of the latest write or upkeep: what reads
    /// record as their access time (Redis's cached LRU clock), so a read
    /// never has to read the clock itself.
    coarse_secs: std::sync::atomic::AtomicU32,
    /// Where the next eviction pass starts (shards taken in turn).
    evict_cursor: AtomicUsize,
    /// Dropping this (with the last handle) stops the housekeeper thread.
    pub(crate) housekeeper: parking_lot::Mutex<Option<std::sync::mpsc::Sender<()>>>,
    /// The other databases this one's housekeeper also reclaims (see
    /// [`DbBuilder::share_housekeeper`](builder::DbBuilder::share_housekeeper)).
    pub(crate) kept: parking_lot::Mutex<Vec<std::sync::Weak<Shared>>>,
    /// The journal every write is appended to, once backups are opened.
    pub(crate) journal: std::sync::OnceLock<Arc<crate::persist::journal::Journal>>,
    /// The backups directory's state (its schedule stops when this goes).
    pub(crate) backups: std::sync::OnceLock<Arc<persist::backups::Inner>>,
    /// The last Memcached CAS unique drawn (see `item`).
    pub(crate) cas_counter: AtomicU64,
    /// The databases this one shares its memory bound with, if any (see
    /// `memory_group`).
    pub(crate) memory: std::sync::OnceLock<Arc<memory_group::MemoryGroup>>,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db")
            .field("keys", &self.inner.engine.len())
            .field("used_memory", &self.used_memory())
            .field("maxmemory", &self.inner.maxmemory.load(Ordering::Relaxed))
            .field("policy", &self.inner.policy)
            .finish_non_exhaustive()
    }
}

impl Default for Db {
    fn default() -> Self {
        Self::new()
    }
}

/// Most victims evicted from one shard before moving to the next.
const EVICT_BATCH: usize = 16;

impl Db {
    /// An unbounded keyspace with the default settings.
    pub fn new() -> Self {
        DbBuilder::new().build().unwrap_or_else(|e| unreachable!("the default configuration is valid: {e}"))
    }

    /// A builder for every setting.
    pub fn builder() -> DbBuilder {
        DbBuilder::new()
    }

    /// Bytes counted against `maxmemory`: the weights of all values (their
    /// footprints plus keys and per-entry overhead).
    pub fn used_memory(&self) -> u64 {
        self.inner.engine.weighted_size()
    }

    /// The memory bound in bytes (0: none).
    pub fn maxmemory(&self) -> u64 {
        self.inner.maxmemory.load(Ordering::Relaxed)
    }

    /// Changes the memory bound (0: none). Takes effect on the next write.
    pub fn set_maxmemory(&self, bytes: u64) {
        self.inner.maxmemory.store(bytes, Ordering::Relaxed);
    }

    /// The eviction policy.
    pub fn maxmemory_policy(&self) -> MaxMemoryPolicy {
        self.inner.policy
    }

    /// Reclaims every expired key now, publishing their `expired` events
    /// (writes also reclaim what is due in the shards they lock, and the
    /// optional housekeeper thread does this periodically: Redis's active
    /// expiry).
    pub fn run_pending_tasks(&self) {
        self.inner.run_pending_tasks();
    }

    /// Subscribes to keyspace events of `classes`, queueing at most
    /// `capacity` of them (later ones are dropped and counted).
    pub fn subscribe_keyspace(&self, classes: &[notify::EventClass], capacity: usize) -> notify::KeyspaceEvents {
        self.inner.notify.subscribe(classes, capacity)
    }

    /// Publishes keyspace events on Redis's channels
    /// (`__keyspace@<index>__:<key>`, `__keyevent@<index>__:<event>`) as
    /// `events` says: Redis's `notify-keyspace-events`, with `index` the
    /// database number in the channel names.
    ///
    /// ```
    /// use embercache::Db;
    /// use embercache::db::notify::ChannelEvents;
    ///
    /// let db = Db::new();
    /// db.set_notify_keyspace_events(ChannelEvents::parse("KEA").unwrap(), 0);
    /// let sub = db.subscribe(&[b"__keyevent@0__:set"], 16);
    /// db.execute(&["SET", "k", "v"]);
    /// assert_eq!(&*sub.try_recv().unwrap().payload, b"k");
    /// assert_eq!(db.notify_keyspace_events().to_flags(), "AKE");
    /// ```
    pub fn set_notify_keyspace_events(&self, events: notify::ChannelEvents, index: u32) {
        self.inner.notify.set_channels(events, index);
    }

    /// What is published on the keyspace channels.
    pub fn notify_keyspace_events(&self) -> notify::ChannelEvents {
        self.inner.notify.channels()
    }

    /// Registers `observer` for every key change, until it is dropped.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn observe(&self, observer: &Arc<dyn observe::Observer>) {
        self.inner.observers.add(observer);
    }

    /// Runs `f` on the live value of `key` under its shard's read lock,
    /// counting the access for the eviction policy.
    pub(crate) fn read<R>(&self, key: &[u8], f: impl FnOnce(&Value) -> R) -> Option<R> {
        let secs = self.inner.coarse_secs.load(Ordering::Relaxed);
        self.inner.engine.lookup_with(key, true, true, crate::engine::prefetch::value, |_, e, _, _| {
            e.value.touch_secs(secs);
            f(&e.value.value)
        })
    }

    /// Runs `f` with the write locks of `keys`' shards.
    pub(crate) fn tx<R>(&self, keys: &[&[u8]], f: impl FnOnce(&mut Tx<'_>) -> R) -> R {
        let mut tx = Tx::new(&self.inner, keys);
        let r = f(&mut tx);
        tx.finish();
        r
    }

    /// Like [`Db::tx`] for a command that may grow memory: first makes room
    /// under `maxmemory` as the policy says, or fails with Redis's OOM error.
    pub(crate) fn tx_grow<R>(&self, keys: &[&[u8]], f: impl FnOnce(&mut Tx<'_>) -> DbResult<R>) -> DbResult<R> {
        self.make_room()?;
        self.tx(keys, f)
    }

    /// Whether `other` is a handle of this same database.
    #[cfg(feature = "server")]
    pub(crate) fn same(&self, other: &Db) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// From now on, bounds this database's memory together with `other`'s,
    /// as [`DbBuilder::share_memory`](builder::DbBuilder::share_memory)
    /// does at build time: for databases already in use (a server that
    /// gets a `maxmemory` at run time). Each database's locks are taken in
    /// turn while it joins, so that no write is counted twice or missed.
    /// A database already in a group stays in it.
    pub fn share_memory_with(&self, other: &Db) {
        let group = {
            let _locked = Tx::all(&other.inner);
            memory_group::MemoryGroup::of(&other.inner)
        };
        let _locked = Tx::all(&self.inner);
        group.join(&self.inner);
    }

    /// Evicts until memory is within `maxmemory`, before a write (as Redis
    /// does before each command that may grow memory). In a group sharing
    /// the bound, the group's total counts, and the members are evicted
    /// from the largest first (see `memory_group`).
    pub(crate) fn make_room(&self) -> DbResult<()> {
        let max = self.inner.maxmemory.load(Ordering::Relaxed);
        if max == 0 {
            return Ok(());
        }
        let engine = &self.inner.engine;
        let used = || engine.pooled_size().unwrap_or_else(|| engine.weighted_size());
        if used() <= max {
            return Ok(());
        }
        let evicted = match self.inner.memory.get() {
            None => self.inner.evict_down(max, &used),
            Some(group) => group.by_size().iter().any(|member| member.evict_down(max, &used)),
        };
        if evicted { Ok(()) } else { Err(DbError::OutOfMemory) }
    }

    /// Checks the engine's invariants and that every entry's weight is its
    /// key and value's footprint (debug builds and fuzzing only; for tests).
    #[doc(hidden)]
    #[cfg(any(test, fuzzing, debug_assertions))]
    pub fn validate(&self) {
        self.inner.engine.validate();
        self.inner.engine.for_each_shard(|s| {
            for (_, e) in s.slab.iter() {
                assert_eq!(e.weight, value::weigh(&e.key, &e.value.value), "weight of a key is its footprint");
                assert!(!e.value.value.is_empty_aggregate(), "empty aggregates are deleted");
            }
        });
    }

    /// The backup directory, if one was opened ([`Backups::open`] or
    /// [`DbBuilder::backups`]).
    pub fn backups(&self) -> Option<Backups> {
        self.inner.backups.get().map(|inner| Backups::from_inner(Arc::clone(inner)))
    }

    /// Unix time in milliseconds by this keyspace's clock (what deadlines,
    /// snapshots and journal entries are stamped with).
    pub fn unix_time_ms(&self) -> i64 {
        self.inner.unix_ms(self.now())
    }

    /// Engine milliseconds now.
    pub(crate) fn now(&self) -> u64 {
        self.inner.engine.now()
    }
}

impl Shared {
    /// Advances the coarse clock reads use to engine time `now_ms`.
    pub(crate) fn tick(&self, now_ms: u64) {
        let s = keyspace::secs(now_ms);
        if self.coarse_secs.load(Ordering::Relaxed) < s {
            self.coarse_secs.store(s, Ordering::Relaxed);
        }
    }

    /// Reclaims every expired key, shard by shard.
    pub(crate) fn run_pending_tasks(&self) {
        for i in (0..self.engine.shard_count()).filter(|&i| !self.engine.shard_is_empty(i)) {
            let mut tx = Tx::for_shard(self, i);
            tx.reclaim_expired();
            tx.finish();
        }
    }

    /// Evicts from this database, by its policy, until `used()` is within
    /// `max`; `false` if it ran out of what the policy may evict first.
    fn evict_down(&self, max: u64, used: &dyn Fn() -> u64) -> bool {
        let Some(rule) = self.policy.victim_rule() else { return false };
        let n = self.engine.shard_count();
        let mut idle = 0;
        let mut now = used();
        while now > max {
            let shard = self.evict_cursor.fetch_add(1, Ordering::Relaxed) % n;
            let mut tx = Tx::for_shard(self, shard);
            let freed = tx.evict(rule, now - max, EVICT_BATCH);
            tx.finish();
            if freed == 0 {
                idle += 1;
                if idle >= n {
                    return false;
                }
            } else {
                idle = 0;
            }
            now = used();
        }
        true
    }

    /// The housekeeper's round: this database, then the ones it keeps
    /// (forgetting those that are gone).
    fn housekeeping(&self) {
        self.run_pending_tasks();
        let kept: Vec<Arc<Shared>> = {
            let mut kept = self.kept.lock();
            kept.retain(|w| w.strong_count() > 0);
            kept.iter().filter_map(std::sync::Weak::upgrade).collect()
        };
        for other in kept {
            other.run_pending_tasks();
        }
    }

    /// The journal position: the sequence number the next journaled write
    /// will get (0 without a journal).
    pub(crate) fn journal_position(&self) -> u64 {
        self.journal.get().map_or(0, |j| j.position())
    }

    /// Unix milliseconds of engine time `ms`.
    pub(crate) fn unix_ms(&self, ms: u64) -> i64 {
        self.unix_origin_ms.saturating_add(i64::try_from(ms).unwrap_or(i64::MAX)).saturating_sub(1)
    }

    /// Engine milliseconds of unix time `unix_ms` (0 if before the origin).
    pub(crate) fn engine_ms(&self, unix_ms: i64) -> u64 {
        u64::try_from(unix_ms.saturating_sub(self.unix_origin_ms).saturating_add(1)).unwrap_or(0)
    }
}

impl MaxMemoryPolicy {
    fn victim_rule(self) -> Option<VictimRule> {
        match self {
            MaxMemoryPolicy::NoEviction => None,
            MaxMemoryPolicy::AllKeysLru
            | MaxMemoryPolicy::AllKeysLfu
            | MaxMemoryPolicy::AllKeysRandom
            | MaxMemoryPolicy::AllKeysAdaptive => Some(VictimRule::AnyEntry),
            MaxMemoryPolicy::VolatileLru | MaxMemoryPolicy::VolatileLfu | MaxMemoryPolicy::VolatileRandom => {
                Some(VictimRule::WithDeadline)
            }
            MaxMemoryPolicy::VolatileTtl => Some(VictimRule::SoonestDeadline),
        }
    }
}

#[cfg(test)]
mod tests;
