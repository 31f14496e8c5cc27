//! Item writes: the storage commands (set, add, replace, append, prepend,
//! cas; `ms` and its modes), incr/decr (`ma`), delete and invalidation
//! (`md`), touch and flush. Each is one [`Tx::write_item`] under the key's
//! shard lock, so the CAS compare and the store are one atomic step.

use super::{Exptime, STALE, UNIQUE};
use crate::db::Shared;
use crate::db::keyspace::ItemMeta;
use crate::db::notify::EventClass;
use crate::db::persist::effects::Detail;
use crate::db::{Db, DbError, DbResult, Value};

/// How a store treats the item already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoreMode {
    /// `set`: store whatever is there.
    Set,
    /// `add`: only if the key does not exist.
    Add,
    /// `replace`: only if the item exists.
    Replace,
    /// `append`: add the data after the item's (flags and exptime kept).
    Append,
    /// `prepend`: add the data before the item's.
    Prepend,
}

/// A storage command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Store<'a> {
    pub(crate) mode: StoreMode,
    pub(crate) value: &'a [u8],
    /// Client flags (ignored by append and prepend).
    pub(crate) flags: u32,
    /// Expiry (ignored by append and prepend).
    pub(crate) exptime: Exptime,
    /// Store only if the item's CAS unique is this one (`cas`, `ms C`).
    pub(crate) cas: Option<u64>,
    /// With `cas`: a unique older than the item's still stores, marking
    /// the item stale (`ms I`).
    pub(crate) invalidate: bool,
    /// The largest item (key and value bytes): an append or prepend that
    /// would make it larger is not stored.
    pub(crate) max_size: usize,
}

/// What a store did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoreOutcome {
    /// Stored, with this new CAS unique.
    Stored { cas: u64 },
    /// The mode's condition failed (`NOT_STORED`).
    NotStored,
    /// The CAS unique differs (`EXISTS`).
    Exists,
    /// A CAS store found no item (`NOT_FOUND`).
    NotFound,
}

/// An incr or decr (`incr`, `decr`, `ma`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Arith {
    /// Increment (wrapping at 2^64) or decrement (stopping at 0).
    pub(crate) incr: bool,
    pub(crate) delta: u64,
    /// On a miss, create the item with this exptime and initial value
    /// (`ma N… J…`); the delta is not applied to it.
    pub(crate) vivify: Option<(Exptime, u64)>,
    /// Only if the item's CAS unique is this one.
    pub(crate) cas: Option<u64>,
    /// A new exptime on success (`ma T`).
    pub(crate) touch: Option<Exptime>,
}

/// What an incr or decr did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArithOutcome {
    /// The new value, with the item's new CAS unique and time left.
    Value {
        value: u64,
        cas: u64,
        ttl_ms: Option<u64>,
    },
    NotFound,
    /// The CAS unique differs.
    Exists,
    /// The item is not a decimal 64-bit unsigned number.
    NonNumeric,
}

/// A delete (`delete`, `md`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Delete {
    /// Only if the item's CAS unique is this one.
    pub(crate) cas: Option<u64>,
    /// Instead of removing the item, mark it stale with a new unique.
    pub(crate) invalidate: bool,
    /// With `invalidate`: a new exptime.
    pub(crate) touch: Option<Exptime>,
}

/// What a delete did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeleteOutcome {
    Deleted,
    NotFound,
    Exists,
}

/// Whether `given` is the item's CAS unique, and that unique. An item
/// without one gets one now, which matches nothing: no reader was handed
/// it, and uniques only grow, so it is newer than any a client holds.
fn check_cas(db: &Shared, meta: &mut ItemMeta, given: u64) -> (bool, u64) {
    if meta.cas & UNIQUE == 0 {
        meta.cas |= db.next_cas();
        return (false, meta.cas & UNIQUE);
    }
    let current = meta.cas & UNIQUE;
    (given == current, current)
}

/// memcached's reading of a stored number (`safe_strtoull`): optional
/// leading whitespace and `+`, decimal digits that fit in 64 bits, then
/// the end or whitespace (anything may follow it).
pub(crate) fn parse_counter(s: &[u8]) -> Option<u64> {
    let start = s.iter().position(|b| !is_space(*b))?;
    let s = s.get(start..)?;
    let s = s.strip_prefix(b"+").unwrap_or(s);
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || s.get(digits).is_some_and(|b| !is_space(*b)) {
        return None;
    }
    s.get(..digits)?.iter().try_fold(0u64, |n, &d| n.checked_mul(10)?.checked_add(u64::from(d - b'0')))
}

/// C's `isspace`.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

impl Db {
    /// Runs a storage command on `key`.
    pub(crate) fn item_store(&self, key: &[u8], store: &Store<'_>) -> DbResult<StoreOutcome> {
        self.tx_grow(&[key], |tx| {
            let (db, now) = (tx.db(), tx.now());
            let out = tx.write_item(key, |slot, deadline, meta| {
                let exists = slot.is_some();
                if exists && !matches!(slot, Some(Value::String(_))) {
                    match (store.mode, store.cas) {
                        (StoreMode::Set, None) => {}
                        (StoreMode::Add, None) => return Ok(StoreOutcome::NotStored),
                        _ => return Err(DbError::WrongType),
                    }
                }
                let mut stale = false;
                if let Some(given) = store.cas {
                    if !exists {
                        return Ok(StoreOutcome::NotFound);
                    }
                    let (matches, current) = check_cas(db, meta, given);
                    if !matches {
                        if !(store.invalidate && given < current) {
                            return Ok(StoreOutcome::Exists);
                        }
                        stale = true;
                    }
                }
                let fits = |old: usize| key.len() + old + store.value.len() <= store.max_size;
                match (store.mode, slot.as_mut()) {
                    (StoreMode::Add, Some(_)) => return Ok(StoreOutcome::NotStored),
                    (StoreMode::Replace | StoreMode::Append | StoreMode::Prepend, None) => {
                        return Ok(StoreOutcome::NotStored);
                    }
                    (StoreMode::Append, Some(Value::String(s))) => {
                        if !fits(s.len()) {
                            return Ok(StoreOutcome::NotStored);
                        }
                        s.extend_from_slice(store.value);
                    }
                    (StoreMode::Prepend, Some(Value::String(s))) => {
                        if !fits(s.len()) {
                            return Ok(StoreOutcome::NotStored);
                        }
                        let mut v = Vec::with_capacity(store.value.len() + s.len());
                        v.extend_from_slice(store.value);
                        v.extend_from_slice(s);
                        *s = v;
                    }
                    _ => {
                        *slot = Some(Value::String(store.value.to_vec()));
                        *deadline = store.exptime.deadline(db, now);
                        meta.flags = store.flags;
                    }
                }
                let cas = db.next_cas();
                meta.cas = cas | if stale { STALE } else { 0 };
                Ok(StoreOutcome::Stored { cas })
            })?;
            if let StoreOutcome::Stored { .. } = out {
                let name = match store.mode {
                    StoreMode::Append => "append",
                    StoreMode::Prepend => "prepend",
                    _ => "set",
                };
                tx.event(EventClass::String, name, key);
            }
            Ok(out)
        })
    }

    /// Runs an incr or decr on `key`.
    pub(crate) fn item_arith(&self, key: &[u8], op: &Arith) -> DbResult<ArithOutcome> {
        self.tx_grow(&[key], |tx| {
            let (db, now) = (tx.db(), tx.now());
            let out = tx.write_item(key, |slot, deadline, meta| {
                let ttl = |d: &Option<u64>| d.map(|d| d.saturating_sub(now));
                let s = match slot {
                    Some(Value::String(s)) => s,
                    Some(_) => return Err(DbError::WrongType),
                    None => {
                        let Some((exptime, initial)) = op.vivify else { return Ok(ArithOutcome::NotFound) };
                        *slot = Some(Value::String(initial.to_string().into_bytes()));
                        *deadline = exptime.deadline(db, now);
                        let cas = db.next_cas();
                        *meta = ItemMeta { flags: 0, cas, idle_secs: 0 };
                        return Ok(ArithOutcome::Value { value: initial, cas, ttl_ms: ttl(deadline) });
                    }
                };
                if let Some(given) = op.cas
                    && !check_cas(db, meta, given).0
                {
                    return Ok(ArithOutcome::Exists);
                }
                let Some(old) = parse_counter(s) else { return Ok(ArithOutcome::NonNumeric) };
                let value = if op.incr { old.wrapping_add(op.delta) } else { old.saturating_sub(op.delta) };
                s.clear();
                s.extend_from_slice(value.to_string().as_bytes());
                if let Some(t) = op.touch {
                    *deadline = t.deadline(db, now);
                }
                let cas = db.next_cas();
                meta.cas = cas;
                Ok(ArithOutcome::Value { value, cas, ttl_ms: ttl(deadline) })
            })?;
            if let ArithOutcome::Value { .. } = out {
                tx.event(EventClass::String, if op.incr { "incrby" } else { "decrby" }, key);
            }
            Ok(out)
        })
    }

    /// Deletes (or invalidates) the item at `key`.
    pub(crate) fn item_delete(&self, key: &[u8], op: &Delete) -> DbResult<DeleteOutcome> {
        self.tx(&[key], |tx| {
            let (db, now) = (tx.db(), tx.now());
            let out = tx.write_item(key, |slot, deadline, meta| {
                match slot {
                    None => return Ok(DeleteOutcome::NotFound),
                    Some(Value::String(_)) => {}
                    Some(_) if op.cas.is_none() && !op.invalidate => {
                        *slot = None;
                        return Ok(DeleteOutcome::Deleted);
                    }
                    Some(_) => return Err(DbError::WrongType),
                }
                if let Some(given) = op.cas
                    && !check_cas(db, meta, given).0
                {
                    return Ok(DeleteOutcome::Exists);
                }
                if op.invalidate {
                    meta.cas = db.next_cas() | STALE;
                    if let Some(t) = op.touch {
                        *deadline = t.deadline(db, now);
                    }
                } else {
                    *slot = None;
                }
                Ok(DeleteOutcome::Deleted)
            })?;
            if out == DeleteOutcome::Deleted {
                if op.invalidate {
                    tx.detail(key, || Detail::Deadline);
                } else {
                    tx.event(EventClass::Generic, "del", key);
                }
            }
            Ok(out)
        })
    }

    /// Gives the item at `key` a new exptime; whether it exists.
    pub(crate) fn item_touch(&self, key: &[u8], exptime: Exptime) -> DbResult<bool> {
        self.tx(&[key], |tx| {
            let (db, now) = (tx.db(), tx.now());
            tx.detail(key, || Detail::Deadline);
            let found = tx.write_item(key, |slot, deadline, _| match slot {
                None => Ok(false),
                Some(Value::String(_)) => {
                    *deadline = exptime.deadline(db, now);
                    Ok(true)
                }
                Some(_) => Err(DbError::WrongType),
            })?;
            if found {
                tx.event(EventClass::Generic, "expire", key);
            }
            Ok(found)
        })
    }
}
