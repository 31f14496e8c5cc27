//! The keyspace's access layer: [`Tx`], the write locks of the shards a
//! command touches, and the rules every command shares: lazy expiry of the
//! keys it meets, weights kept equal to the values' footprints, deadlines
//! kept or cleared as the command says, empty aggregates deleted, and, when
//! the locks are released, keyspace events published and blocked clients
//! served.

use super::Shared;
use super::notify::{Event, EventClass};
use super::persist::effects::{DeltaRef, Detail, EffectBuf, Journaled};
use super::persist::encode_key;
use super::value::{Value, weigh};
use crate::engine::direct::{Locked, VictimRule};
use crate::engine::shard::{Ctx, Shard};
use crate::engine::slab::NEVER;
use crate::engine::{RemovalCause, Removed};
use smallvec::SmallVec;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// A key of the keyspace.
pub(crate) type Key = Box<[u8]>;

/// What the engine stores for a key: the value; for `OBJECT IDLETIME`, the
/// second of its last access; and what the Memcached protocols keep with an
/// item (see [`ItemMeta`]). The client flags sit in what was padding after
/// `touched`; the CAS word costs 8 bytes (56 → 64 per entry).
#[derive(Debug)]
pub(crate) struct Stored {
    pub(crate) value: Value,
    touched: AtomicU32,
    /// Memcached client flags (0 for values Redis commands wrote).
    flags: u32,
    /// Memcached CAS word (see [`ItemMeta::cas`]). An atomic so that a
    /// reader holding only the shard's read lock can give the item its
    /// unique and mark it fetched or won; writers, holding the write lock,
    /// store it plainly.
    pub(crate) cas: AtomicU64,
}

/// What the Memcached protocols keep with an item besides its value and
/// deadline. Every write through [`Tx::write`] resets `cas` to 0 (a new
/// unique is then drawn by the first reader that needs one, so the unique
/// changes on every modification without an atomic on Redis's write path)
/// and `flags` to 0 unless the value was left in place (see
/// [`Tx::write`]); [`Tx::write_item`] lets the Memcached commands set both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ItemMeta {
    /// Client flags.
    pub(crate) flags: u32,
    /// The CAS word: the unique in the low bits (0: none drawn yet) and
    /// the state bits of `db::item` (fetched, recache token sent, stale).
    pub(crate) cas: u64,
    /// Seconds since the item's last access before this command (read
    /// only: ignored when written back; 0 for a new item).
    pub(crate) idle_secs: u64,
}

impl Stored {
    pub(crate) fn new(value: Value, now_ms: u64) -> Self {
        Stored { value, touched: AtomicU32::new(secs(now_ms)), flags: 0, cas: AtomicU64::new(0) }
    }

    /// The item's client flags.
    pub(crate) fn flags(&self) -> u32 {
        self.flags
    }

    /// Records an access at `now_ms` (writes the line only when the second changed).
    pub(crate) fn touch(&self, now_ms: u64) {
        self.touch_secs(secs(now_ms));
    }

    /// Records an access at second `s` of the clock.
    pub(crate) fn touch_secs(&self, s: u32) {
        if s != 0 && self.touched.load(Ordering::Relaxed) != s {
            self.touched.store(s, Ordering::Relaxed);
        }
    }

    /// Seconds since the last access.
    pub(crate) fn idle_secs(&self, now_ms: u64) -> u64 {
        u64::from(secs(now_ms).saturating_sub(self.touched.load(Ordering::Relaxed)))
    }
}

impl crate::engine::prefetch::Warm for Stored {
    /// A string's first two lines (the hardware prefetcher follows a copy
    /// from there); other types are read element by element.
    #[inline]
    fn warm(&self) {
        if let Value::String(s) = &self.value {
            crate::engine::prefetch::line(s.as_ptr());
            crate::engine::prefetch::line(s.as_ptr().wrapping_add(64));
        }
    }
}

pub(crate) fn secs(ms: u64) -> u32 {
    u32::try_from(ms / 1000).unwrap_or(u32::MAX)
}

/// A key's deadline as commands see it: engine milliseconds, `None` for a
/// key that does not expire.
pub(crate) type Deadline = Option<u64>;

/// The write locks of the shards of a command's keys. Dropping it (or
/// [`Tx::finish`]) releases them and publishes what happened.
pub(crate) struct Tx<'a> {
    db: &'a Shared,
    locked: Option<Locked<'a, Key, Stored, ahash::RandomState>>,
    events: Vec<(EventClass, &'static str, Key)>,
    ready: Vec<Key>,
    /// Keys written, for the journal (only when one is attached).
    journaled: Option<SmallVec<[Written; 2]>>,
    /// Whether the command emptied the locked shards (for the journal).
    flushed: bool,
    /// What commands said they changed of a key, for the journal (`None`:
    /// details that do not combine, so the whole value is journaled).
    details: Vec<(Key, Option<Detail>)>,
    /// Keys this command changed, for the observers (only when there are some).
    observed: Vec<Key>,
    /// The first key locked and its hash: most commands name one key, and
    /// its accesses reuse the hash (see [`Tx::hash`]).
    first: Option<(&'a [u8], u64)>,
}

impl<'a> Tx<'a> {
    /// Locks the shards of `keys`.
    #[inline]
    pub(crate) fn new(db: &'a Shared, keys: &[&'a [u8]]) -> Self {
        let hashes: SmallVec<[u64; 4]> = keys.iter().map(|k| db.engine.hash(*k)).collect();
        let mut tx = Self::locked(db, db.engine.lock(&hashes));
        tx.first = keys.first().copied().zip(hashes.first().copied());
        tx
    }

    /// `key`'s engine hash: the one computed when it was locked if it is
    /// the first key, by address (borrowed for the whole command, so the
    /// same address and length are the same bytes).
    #[inline]
    fn hash(&self, key: &[u8]) -> u64 {
        match self.first {
            Some((first, hash)) if std::ptr::eq(first, key) => hash,
            _ => self.db.engine.hash(key),
        }
    }

    #[inline]
    fn locked(db: &'a Shared, locked: Locked<'a, Key, Stored, ahash::RandomState>) -> Self {
        db.tick(locked.now);
        let journaled = db.journal.get().map(|_| SmallVec::new());
        Tx {
            db,
            locked: Some(locked),
            events: Vec::new(),
            ready: Vec::new(),
            journaled,
            flushed: false,
            details: Vec::new(),
            observed: Vec::new(),
            first: None,
        }
    }

    /// Locks every shard (FLUSHDB, RANDOMKEY, KEYS, …).
    pub(crate) fn all(db: &'a Shared) -> Self {
        let idx: Vec<usize> = (0..db.engine.shard_count()).collect();
        Self::locked(db, db.engine.lock_indices(&idx))
    }

    /// Locks shard `index` alone (eviction passes).
    pub(crate) fn for_shard(db: &'a Shared, index: usize) -> Self {
        Self::locked(db, db.engine.lock_indices(&[index]))
    }

    /// Evicts up to `max_victims` entries chosen by `rule` from the locked
    /// shards, stopping once `need` bytes are freed. Returns the bytes freed.
    pub(crate) fn evict(&mut self, rule: VictimRule, need: u64, max_victims: usize) -> u64 {
        let Some(locked) = self.locked.as_mut() else { return 0 };
        let mut freed = 0;
        locked.for_each(|shard, ctx, out| {
            for _ in 0..max_victims {
                let before = shard.weight;
                if freed >= need || !shard.evict_one(ctx, rule, out) {
                    break;
                }
                freed += before - shard.weight;
                if let (Some(j), Some((key, _, _))) = (self.journaled.as_mut(), out.last()) {
                    j.push(((ctx.hash_of)(key), (**key).into()));
                }
            }
        });
        freed
    }

    /// Removes every key of the locked shards (their values are dropped
    /// after the locks are released).
    pub(crate) fn clear(&mut self) {
        if let Some(locked) = self.locked.as_mut() {
            locked.for_each(|shard, ctx, out| shard.clear(ctx.now, out));
            self.flushed = true;
            if let Some(j) = self.journaled.as_mut() {
                j.clear();
            }
        }
    }

    /// Reclaims every expired entry of the locked shards (their `expired`
    /// events are published on release).
    pub(crate) fn reclaim_expired(&mut self) {
        if let Some(locked) = self.locked.as_mut() {
            locked.for_each(|shard, ctx, out| shard.maintain(ctx, out));
        }
    }

    /// The time of this command, in engine milliseconds.
    pub(crate) fn now(&self) -> u64 {
        self.locked.as_ref().map_or(0, |l| l.now)
    }

    /// The database this command runs on.
    pub(crate) fn db(&self) -> &'a Shared {
        self.db
    }

    /// Runs `f` on the live value of `key` and its deadline, if it exists.
    pub(crate) fn read<R>(&mut self, key: &[u8], f: impl FnOnce(&Value, Deadline) -> R) -> Option<R> {
        self.read_item(key, |value, deadline, _| f(value, deadline))
    }

    /// [`Tx::read`] that also gives the item's Memcached client flags.
    pub(crate) fn read_item<R>(&mut self, key: &[u8], f: impl FnOnce(&Value, Deadline, u32) -> R) -> Option<R> {
        let hash = self.hash(key);
        let locked = self.locked.as_mut()?;
        locked
            .with_shard(hash, |shard, ctx, out| {
                let i = shard.find_live(hash, key, ctx.now, out)?;
                let deadline = Some(shard.deadline_at(i)).filter(|&d| d != NEVER);
                let e = shard.entry(i)?;
                e.value.touch(ctx.now);
                Some(f(&e.value.value, deadline, e.value.flags))
            })
            .flatten()
    }

    /// Whether `key` exists (live). Not an access.
    pub(crate) fn exists(&mut self, key: &[u8]) -> bool {
        let hash = self.hash(key);
        let Some(locked) = self.locked.as_mut() else { return false };
        locked.with_shard(hash, |shard, ctx, out| shard.find_live(hash, key, ctx.now, out).is_some()).unwrap_or(false)
    }

    /// Runs `f` on `key`'s slot: the value (`None` if absent) and deadline,
    /// both of which `f` may change. Afterwards a `None` value (or an empty
    /// aggregate) deletes the key, a new value creates it, a changed one is
    /// reweighed, and a deadline already passed deletes the key.
    ///
    /// The key's Memcached CAS unique is reset (the next reader that needs
    /// one draws a new one), and so are its client flags unless the value
    /// is still the same string buffer of the same length: a write that
    /// only changed the deadline (EXPIRE, PERSIST, GETEX), failed, or
    /// edited the string in place without changing its length keeps them;
    /// one that replaced, grew or shrank it does not.
    pub(crate) fn write<R>(&mut self, key: &[u8], f: impl FnOnce(&mut Option<Value>, &mut Deadline) -> R) -> R {
        self.write_item(key, |value, deadline, meta| {
            let before = string_identity(value);
            let r = f(value, deadline);
            if before.is_none() || string_identity(value) != before {
                meta.flags = 0;
            }
            meta.cas = 0;
            r
        })
    }

    /// [`Tx::write`] for the Memcached commands: `f` also gets the item's
    /// [`ItemMeta`] (defaults for an absent key) and what it leaves there is
    /// stored with the value.
    pub(crate) fn write_item<R>(
        &mut self,
        key: &[u8],
        f: impl FnOnce(&mut Option<Value>, &mut Deadline, &mut ItemMeta) -> R,
    ) -> R {
        let hash = self.hash(key);
        let Some(locked) = self.locked.as_mut() else {
            return f(&mut None, &mut None, &mut ItemMeta::default());
        };
        let mut f = Some(f);
        let mut created = false;
        let r = locked.with_shard(hash, |shard, ctx, out| {
            let found = shard.find_live(hash, key, ctx.now, out);
            let mut meta = ItemMeta::default();
            let (mut value, mut deadline) = match found.and_then(|i| Some((i, shard.value_mut(i)?))) {
                Some((i, stored)) => {
                    meta = ItemMeta {
                        flags: stored.flags,
                        cas: *stored.cas.get_mut(),
                        idle_secs: stored.idle_secs(ctx.now),
                    };
                    let v = std::mem::replace(&mut stored.value, Value::String(Vec::new()));
                    (Some(v), Some(shard.deadline_at(i)).filter(|&d| d != NEVER))
                }
                None => (None, None),
            };
            let before = deadline;
            let r = f.take().map(|f| f(&mut value, &mut deadline, &mut meta));
            let value = value.filter(|v| !v.is_empty_aggregate());
            let gone = deadline.is_some_and(|d| d <= ctx.now);
            match (found, value) {
                (Some(i), Some(v)) if !gone => {
                    let weight = weigh(key, &v);
                    if let Some(stored) = shard.value_mut(i) {
                        stored.value = v;
                        stored.touch(ctx.now);
                        stored.flags = meta.flags;
                        *stored.cas.get_mut() = meta.cas;
                    }
                    if deadline != before {
                        shard.set_deadline(i, deadline.unwrap_or(NEVER), ctx.now);
                    }
                    shard.reweigh(i, hash, weight);
                }
                (Some(i), _) => {
                    shard.remove_at(i, hash, RemovalCause::Explicit, out);
                    out.pop();
                }
                (None, Some(v)) if !gone => {
                    let weight = weigh(key, &v);
                    let mut stored = Stored::new(v, ctx.now);
                    stored.flags = meta.flags;
                    *stored.cas.get_mut() = meta.cas;
                    created =
                        shard.insert_new(ctx, hash, key.into(), stored, weight, deadline.unwrap_or(NEVER)).is_some();
                }
                (None, _) => {}
            }
            r
        });
        if created {
            self.event(EventClass::New, "new", key);
        }
        if let Some(j) = self.journaled.as_mut()
            && !j.iter().any(|(_, k)| &**k == key)
        {
            j.push((hash, key.into()));
        }
        match r.flatten() {
            Some(r) => r,
            // The key's shard is not locked: a bug in the caller's key list.
            // Treat the key as absent rather than panic.
            None => match f.take() {
                Some(f) => f(&mut None, &mut None, &mut ItemMeta::default()),
                None => unreachable!("the closure ran, so `with_shard` returned its result"),
            },
        }
    }

    /// Removes `key`, returning its value and deadline.
    pub(crate) fn take(&mut self, key: &[u8]) -> Option<(Value, Deadline)> {
        self.write(key, |v, d| Some((v.take()?, *d)))
    }

    /// Stores every `(hash, key, value, deadline)` of `keys` as
    /// [`Tx::load`] does, with room made in each shard first and the shards
    /// filled on several threads (the keys' shards must be locked).
    pub(crate) fn load_all(&mut self, keys: Vec<(u64, Key, Value, Deadline)>) {
        let engine = &self.db.engine;
        if self.journaling() {
            for (hash, key, value, deadline) in keys {
                self.load(hash, key, value, deadline);
            }
            return;
        }
        let Some(locked) = self.locked.as_mut() else { return };
        let mut per_shard: Vec<Vec<(u64, Key, Value, Deadline)>> =
            (0..engine.shard_count()).map(|_| Vec::new()).collect();
        for k in keys {
            if let Some(v) = per_shard.get_mut(engine.shard_of(k.0)) {
                v.push(k);
            }
        }
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(LOAD_THREADS);
        locked.par_each(threads, per_shard, |keys, shard, ctx, out| {
            shard.reserve(ctx, keys.len());
            for (hash, key, value, deadline) in keys {
                insert_loaded(shard, ctx, out, hash, key, value, deadline);
            }
        });
    }

    /// Stores `value` at `key` (whose engine hash is `hash`) with
    /// `deadline`, replacing what was there; the key is moved in, not
    /// copied (bulk loads).
    pub(crate) fn load(&mut self, hash: u64, key: Key, value: Value, deadline: Deadline) {
        let Some(locked) = self.locked.as_mut() else { return };
        if let Some(j) = self.journaled.as_mut() {
            j.push((hash, (*key).into()));
        }
        locked.with_shard(hash, |shard, ctx, out| insert_loaded(shard, ctx, out, hash, key, value, deadline));
    }

    /// Stores `value` at `key` with `deadline`, replacing what was there.
    pub(crate) fn put(&mut self, key: &[u8], value: Value, deadline: Deadline) {
        self.write(key, |v, d| {
            *v = Some(value);
            *d = deadline;
        });
    }

    /// Whether writes are journaled (commands build [`Detail`]s only then).
    pub(crate) fn journaling(&self) -> bool {
        self.journaled.is_some()
    }

    /// Tells the journal what of `key` this command changed, when that is
    /// less than the whole value. A command that gives a detail for a key
    /// gives every change it makes to it.
    pub(crate) fn detail(&mut self, key: &[u8], detail: impl FnOnce() -> Detail) {
        if !self.journaling() {
            return;
        }
        let detail = detail();
        match self.details.iter_mut().find(|(k, _)| &**k == key) {
            Some((_, d)) => *d = d.take().and_then(|old| old.merge(detail)),
            None => self.details.push((key.into(), Some(detail))),
        }
    }

    /// [`Tx::write`] by a command that changes only `members` (fields) of a
    /// hash, set or sorted set (for the journal).
    pub(crate) fn write_members<'m, R>(
        &mut self,
        key: &[u8],
        members: impl IntoIterator<Item = &'m [u8]>,
        f: impl FnOnce(&mut Option<Value>, &mut Deadline) -> R,
    ) -> R {
        self.detail(key, || Detail::Members(members.into_iter().map(Box::from).collect()));
        self.write(key, f)
    }

    /// Queues a keyspace event, published when the locks are released.
    pub(crate) fn event(&mut self, class: EventClass, name: &'static str, key: &[u8]) {
        if self.db.observers.active() && class != EventClass::New && !self.observed.iter().any(|k| &**k == key) {
            self.observed.push(key.into());
        }
        if self.db.notify.wants(class) {
            self.events.push((class, name, key.into()));
        }
    }

    /// Marks `key` as possibly able to serve blocked clients (a list or
    /// sorted set gained members).
    pub(crate) fn signal_ready(&mut self, key: &[u8]) {
        if self.db.blocking.has_waiters() && !self.ready.iter().any(|k| &**k == key) {
            self.ready.push(key.into());
        }
    }

    /// Runs `f` on every live entry of the locked shards.
    pub(crate) fn for_each_live(&mut self, mut f: impl FnMut(&[u8], &Value, Deadline)) {
        let Some(locked) = self.locked.as_mut() else { return };
        locked.for_each(|shard, ctx, _| {
            for (i, e) in shard.slab.iter() {
                if !shard.is_expired(i, e, ctx.now) {
                    let d = Some(shard.deadline_of(i, e)).filter(|&d| d != NEVER);
                    f(&e.key, &e.value.value, d);
                }
            }
        });
    }

    /// Releases the locks, then publishes events and serves blocked clients.
    #[inline]
    pub(crate) fn finish(&mut self) {
        self.release();
    }

    fn release(&mut self) {
        // Worked on in place: a command's `Tx` is large, and moving its
        // parts out costs copies on every write.
        let Some(locked) = self.locked.as_mut() else { return };
        if let Some(journal) = self.db.journal.get() {
            let keys = self.journaled.take().unwrap_or_default();
            if !keys.is_empty() || self.flushed {
                let details = std::mem::take(&mut self.details);
                journal_effects(self.db, journal, &keys, &details, self.flushed, locked);
            }
        }
        locked.for_each(|shard, ctx, out| shard.expire_some(ctx, out));
        let removed = locked.finish();
        self.locked = None;
        if let Some(removed) = removed {
            for (key, _, cause) in &removed {
                match cause {
                    RemovalCause::Expired => self.event(EventClass::Expired, "expired", key),
                    RemovalCause::Size => self.event(EventClass::Evicted, "evicted", key),
                    _ => {}
                }
            }
            self.db.engine.deliver(removed);
        }
        if self.db.observers.active() {
            if self.flushed {
                self.db.observers.flushed();
            }
            self.db.observers.modified(self.observed.iter().map(|k| &**k));
        }
        for (class, name, key) in self.events.drain(..) {
            self.db.notify.publish_channels(&self.db.pubsub, class, name, &key);
            self.db.notify.publish(Event { class, name, key: key.into_vec() });
        }
        if !self.ready.is_empty() {
            let ready = std::mem::take(&mut self.ready);
            self.db.blocking.serve(self.db, &ready);
        }
    }
}

/// Where a string value's bytes live and how many there are (`None` for
/// no value or another type): equal before and after a write when the
/// write left the string in place (see [`Tx::write`]).
fn string_identity(value: &Option<Value>) -> Option<(*const u8, usize)> {
    match value {
        Some(Value::String(s)) => Some((s.as_ptr(), s.len())),
        _ => None,
    }
}

/// A key a command wrote, for the journal: its engine hash and its bytes
/// (inline when short, so journaling a write allocates nothing for it).
type Written = (u64, SmallVec<[u8; 32]>);

/// Most threads a bulk load fills shards on.
const LOAD_THREADS: usize = 4;

/// Stores a loaded key in `shard`, replacing an entry of the same key (a
/// snapshot taken while writes went on may hold a key twice: the later
/// record wins).
fn insert_loaded(
    shard: &mut Shard<Key, Stored>,
    ctx: &Ctx<'_, Key, Stored>,
    out: &mut Removed<Key, Stored>,
    hash: u64,
    key: Key,
    value: Value,
    deadline: Deadline,
) {
    if let Some(i) = shard.find_live(hash, &*key, ctx.now, out) {
        shard.remove_at(i, hash, RemovalCause::Replaced, out);
    }
    let weight = weigh(&key, &value);
    let stored = Stored::new(value, ctx.now);
    shard.insert_new(ctx, hash, key, stored, weight, deadline.unwrap_or(NEVER));
}

/// Appends a command's effects to the journal, while its locks are still
/// held (so entries are numbered in the order of their effects): each
/// written key's resulting value or the part of it the command changed
/// (`details`), or its deletion; `flushed` first if it emptied the shards.
fn journal_effects<'a>(
    db: &'a Shared,
    journal: &crate::persist::journal::Journal,
    keys: &[Written],
    details: &[(Key, Option<Detail>)],
    flushed: bool,
    locked: &mut Locked<'a, Key, Stored, ahash::RandomState>,
) {
    let result = journal.append_with(db.unix_ms(locked.now), |seq, bytes| {
        let mut buf = EffectBuf { bytes };
        if flushed {
            buf.flush()?;
        }
        for (hash, key) in keys {
            let (hash, key) = (*hash, &**key);
            let detail = details.iter().find(|(k, _)| **k == *key).and_then(|(_, d)| d.as_ref());
            locked
                .with_shard(hash, |shard, ctx, out| {
                    let Some(i) = shard.find_live(hash, key, ctx.now, out) else { return buf.del(key) };
                    let at = Some(shard.deadline_at(i)).filter(|&d| d != NEVER).map(|d| db.unix_ms(d));
                    let Some(stored) = shard.value_mut(i) else { return buf.del(key) };
                    if let Value::List(l) = &mut stored.value {
                        // Entry `seq` is in this list (0 means none).
                        l.seq = seq + 1;
                    }
                    match DeltaRef::of(key, &stored.value, at, detail) {
                        Journaled::Delta(delta) => buf.delta(&delta),
                        Journaled::Whole => encode_key(&mut buf, key, at, &stored.value),
                        Journaled::Unchanged => Ok(()),
                    }
                })
                .unwrap_or(Ok(()))?;
        }
        Ok(())
    });
    if let Err(e) = result {
        db.journal_failed(&e);
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        self.release();
    }
}
