//! The typed methods of the non-blocking list commands.

use super::{End, InsertPosition, List, LposOptions};
use crate::db::args::index_range;
use crate::db::keyspace::Tx;
use crate::db::notify::EventClass;
use crate::db::persist::effects::{Detail, ListOp};
use crate::db::{Db, DbError, DbResult, Value};

/// Redis's reply to an integer option of `LONG_MIN`, where it accepts
/// `-LONG_MAX..=LONG_MAX` (LPOS RANK, LREM count).
pub(super) const NOT_LONG_MIN: DbError =
    DbError::Invalid("value is out of range, value must between -9223372036854775807 and 9223372036854775807");
/// LPOS with `RANK 0`.
pub(super) const RANK_ZERO: DbError = DbError::Invalid(
    "RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
);
/// LMPOP/BLMPOP with no keys.
pub(super) const NUMKEYS_ZERO: DbError = DbError::Invalid("numkeys should be greater than 0");
/// LMPOP/BLMPOP with `COUNT 0`.
pub(super) const COUNT_ZERO: DbError = DbError::Invalid("count should be greater than 0");

/// What LMPOP and BLMPOP return: the key popped from and its items.
pub(crate) type Popped = (Vec<u8>, Vec<Vec<u8>>);

/// Runs `f` on the list at `key`: `Ok(None)` when the key is absent, a
/// wrong-type error when it holds something else.
pub(super) fn read_list<R>(db: &Db, key: &[u8], f: impl FnOnce(&List) -> R) -> DbResult<Option<R>> {
    db.read(key, |v| match v {
        Value::List(l) => Ok(f(l)),
        _ => Err(DbError::WrongType),
    })
    .transpose()
}

/// Runs `f` on the list at `key` inside `tx` (creating an empty one first
/// when absent and `create`), returning its result and the length after:
/// `Ok(None)` when the key is absent, a wrong-type error (value untouched)
/// when it holds something else. A list left empty is deleted by the layer.
fn edit_list<R>(
    tx: &mut Tx<'_>,
    key: &[u8],
    create: bool,
    f: impl FnOnce(&mut List) -> R,
) -> DbResult<Option<(R, usize)>> {
    tx.write(key, |slot, _| {
        if slot.is_none() && create {
            *slot = Some(Value::List(List::new()));
        }
        match slot {
            None => Ok(None),
            Some(Value::List(l)) => {
                let r = f(l);
                Ok(Some((r, l.len())))
            }
            Some(_) => Err(DbError::WrongType),
        }
    })
}

/// Publishes a pop at `end` of `key`, and `del` when that emptied it.
fn popped(tx: &mut Tx<'_>, key: &[u8], end: End, left: usize) {
    tx.event(EventClass::List, end.pop_event(), key);
    if left == 0 {
        tx.event(EventClass::Generic, "del", key);
    }
}

/// Publishes a push at `end` of `key` and wakes whoever waits on it.
fn pushed(tx: &mut Tx<'_>, key: &[u8], end: End) {
    tx.event(EventClass::List, end.push_event(), key);
    tx.signal_ready(key);
}

/// Pops up to `n` items at `end`.
fn pop_n(l: &mut List, end: End, n: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(n.min(l.len()));
    while out.len() < n
        && let Some(item) = l.pop(end)
    {
        out.push(item.into_vec());
    }
    out
}

/// The position of Redis index `index` (negative from the tail) in a list
/// of `len` items, if inside it.
fn list_index(index: i64, len: usize) -> Option<usize> {
    let i = if index < 0 { i64::try_from(len).ok()?.checked_add(index)? } else { index };
    usize::try_from(i).ok().filter(|&i| i < len)
}

/// Whether `key` holds a list (`None`: absent).
fn is_list(tx: &mut Tx<'_>, key: &[u8]) -> Option<bool> {
    tx.read(key, |v, _| matches!(v, Value::List(_)))
}

impl Db {
    /// LPUSH: pushes `items` at the head, one after the other (so the last
    /// ends first), creating the list if needed. Returns the new length.
    pub fn lpush(&self, key: &[u8], items: &[&[u8]]) -> DbResult<usize> {
        self.push(key, items, End::Left, true)
    }

    /// RPUSH: pushes `items` at the tail, creating the list if needed.
    /// Returns the new length.
    pub fn rpush(&self, key: &[u8], items: &[&[u8]]) -> DbResult<usize> {
        self.push(key, items, End::Right, true)
    }

    /// LPUSHX: LPUSH only if the list exists. Returns the new length (0 when
    /// the key is absent).
    pub fn lpushx(&self, key: &[u8], items: &[&[u8]]) -> DbResult<usize> {
        self.push(key, items, End::Left, false)
    }

    /// RPUSHX: RPUSH only if the list exists. Returns the new length (0 when
    /// the key is absent).
    pub fn rpushx(&self, key: &[u8], items: &[&[u8]]) -> DbResult<usize> {
        self.push(key, items, End::Right, false)
    }

    fn push(&self, key: &[u8], items: &[&[u8]], end: End, create: bool) -> DbResult<usize> {
        self.tx_grow(&[key], |tx| {
            tx.detail(key, || Detail::List(vec![ListOp::push(end, items)]));
            let Some(((), len)) = edit_list(tx, key, create, |l| items.iter().for_each(|i| l.push(end, i)))? else {
                return Ok(0);
            };
            if !items.is_empty() {
                pushed(tx, key, end);
            }
            Ok(len)
        })
    }

    /// LPOP: removes and returns items from the head: one without `count`,
    /// up to `count` with it (`Some(0)`: none, but the key is still
    /// checked). `None` when the key is absent.
    pub fn lpop(&self, key: &[u8], count: Option<usize>) -> DbResult<Option<Vec<Vec<u8>>>> {
        self.pop(key, End::Left, count)
    }

    /// RPOP: as [`Db::lpop`], from the tail.
    pub fn rpop(&self, key: &[u8], count: Option<usize>) -> DbResult<Option<Vec<Vec<u8>>>> {
        self.pop(key, End::Right, count)
    }

    fn pop(&self, key: &[u8], end: End, count: Option<usize>) -> DbResult<Option<Vec<Vec<u8>>>> {
        self.tx(&[key], |tx| {
            tx.detail(key, || Detail::List(Vec::new()));
            let Some((items, left)) = edit_list(tx, key, false, |l| pop_n(l, end, count.unwrap_or(1)))? else {
                return Ok(None);
            };
            if !items.is_empty() {
                tx.detail(key, || Detail::List(vec![ListOp::pop(end, items.len())]));
                popped(tx, key, end, left);
            }
            Ok(Some(items))
        })
    }

    /// LRANGE: the items from `start` to `stop` inclusive (negative indexes
    /// count from the tail; out-of-range ones are clamped).
    pub fn lrange(&self, key: &[u8], start: i64, stop: i64) -> DbResult<Vec<Vec<u8>>> {
        self.lrange_with(key, start, stop, |items| items.map(<[u8]>::to_vec).collect())
    }

    /// LRANGE handing the items, as they lie in the list, to `f` under the
    /// shard's read lock (no items for an absent key).
    pub(crate) fn lrange_with<R>(
        &self,
        key: &[u8],
        start: i64,
        stop: i64,
        mut f: impl FnMut(&mut dyn ExactSizeIterator<Item = &[u8]>) -> R,
    ) -> DbResult<R> {
        let found = read_list(self, key, |l| f(&mut l.range(index_range(start, stop, l.len()).unwrap_or(0..0))))?;
        // Absent: no items.
        Ok(found.unwrap_or_else(|| f(&mut std::iter::empty())))
    }

    /// LINDEX: the item at `index` (negative from the tail), `None` when out
    /// of range or the key is absent.
    pub fn lindex(&self, key: &[u8], index: i64) -> DbResult<Option<Vec<u8>>> {
        let item = read_list(self, key, |l| list_index(index, l.len()).and_then(|i| l.get(i)).map(<[u8]>::to_vec))?;
        Ok(item.flatten())
    }

    /// LSET: replaces the item at `index` (negative from the tail). Fails
    /// with `ERR no such key` or `ERR index out of range`.
    pub fn lset(&self, key: &[u8], index: i64, item: &[u8]) -> DbResult<()> {
        self.tx_grow(&[key], |tx| {
            let set = edit_list(tx, key, false, |l| list_index(index, l.len()).is_some_and(|i| l.set(i, item)))?;
            match set {
                None => Err(DbError::NoSuchKey),
                Some((false, _)) => Err(DbError::IndexOutOfRange),
                Some((true, _)) => {
                    tx.event(EventClass::List, "lset", key);
                    Ok(())
                }
            }
        })
    }

    /// LLEN: the number of items (0 when the key is absent).
    pub fn llen(&self, key: &[u8]) -> DbResult<usize> {
        Ok(read_list(self, key, List::len)?.unwrap_or(0))
    }

    /// LREM: removes items equal to `item`: the first `count` from the head
    /// when positive, the last `-count` when negative, all when 0. Returns
    /// how many were removed.
    pub fn lrem(&self, key: &[u8], count: i64, item: &[u8]) -> DbResult<usize> {
        let limit = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
        self.tx(&[key], |tx| {
            let Some((removed, left)) = edit_list(tx, key, false, |l| l.remove_matches(item, limit, count < 0))? else {
                return Ok(0);
            };
            if removed > 0 {
                tx.event(EventClass::List, "lrem", key);
                if left == 0 {
                    tx.event(EventClass::Generic, "del", key);
                }
            }
            Ok(removed)
        })
    }

    /// LTRIM: keeps only the items from `start` to `stop` inclusive (as
    /// LRANGE reads them); an empty range deletes the key.
    pub fn ltrim(&self, key: &[u8], start: i64, stop: i64) -> DbResult<()> {
        self.tx(&[key], |tx| {
            let trimmed = edit_list(tx, key, false, |l| {
                let keep = index_range(start, stop, l.len()).unwrap_or(0..0);
                l.keep_range(keep);
            })?;
            if let Some(((), left)) = trimmed {
                tx.event(EventClass::List, "ltrim", key);
                if left == 0 {
                    tx.event(EventClass::Generic, "del", key);
                }
            }
            Ok(())
        })
    }

    /// LINSERT: inserts `item` before or after the first item equal to
    /// `pivot`. Returns the new length, -1 when the pivot is missing, 0 when
    /// the key is absent.
    pub fn linsert(&self, key: &[u8], at: InsertPosition, pivot: &[u8], item: &[u8]) -> DbResult<i64> {
        self.tx_grow(&[key], |tx| {
            let inserted = edit_list(tx, key, false, |l| {
                let i = l.position(pivot)?;
                l.insert(if at == InsertPosition::Before { i } else { i + 1 }, item);
                Some(())
            })?;
            match inserted {
                None => Ok(0),
                Some((None, _)) => Ok(-1),
                Some((Some(()), len)) => {
                    tx.event(EventClass::List, "linsert", key);
                    tx.signal_ready(key);
                    Ok(i64::try_from(len).unwrap_or(i64::MAX))
                }
            }
        })
    }

    /// LPOS: the indexes of the items equal to `item`, as the options say
    /// (see [`LposOptions`]); without `count`, at most one.
    pub fn lpos(&self, key: &[u8], item: &[u8], opts: LposOptions) -> DbResult<Vec<usize>> {
        match opts.rank {
            0 => return Err(RANK_ZERO),
            i64::MIN => return Err(NOT_LONG_MIN),
            _ => {}
        }
        let skip = usize::try_from(opts.rank.unsigned_abs() - 1).unwrap_or(usize::MAX);
        let want = match opts.count {
            None => 1,
            Some(0) => usize::MAX,
            Some(n) => n,
        };
        let found = read_list(self, key, |l| {
            let scan = if opts.maxlen == 0 { l.len() } else { opts.maxlen.min(l.len()) };
            let is_match = |&(_, x): &(usize, &[u8])| x == item;
            let found: Box<dyn Iterator<Item = (usize, &[u8])>> = if opts.rank > 0 {
                Box::new(l.iter().enumerate().take(scan))
            } else {
                Box::new(l.iter().enumerate().rev().take(scan))
            };
            found.filter(is_match).skip(skip).take(want).map(|(i, _)| i).collect()
        })?;
        Ok(found.unwrap_or_default())
    }

    /// LMOVE: pops an item at `from` of `src` and pushes it at `to` of `dst`
    /// (the same key rotates the list). Returns the item, `None` when `src`
    /// is absent.
    pub fn lmove(&self, src: &[u8], dst: &[u8], from: End, to: End) -> DbResult<Option<Vec<u8>>> {
        self.tx_grow(&[src, dst], |tx| {
            tx.detail(src, || Detail::List(Vec::new()));
            tx.detail(dst, || Detail::List(Vec::new()));
            let item = if src == dst {
                let moved = edit_list(tx, src, false, |l| {
                    let item = l.pop(from)?;
                    l.push(to, &item);
                    Some(item)
                })?;
                let Some((Some(item), left)) = moved else { return Ok(None) };
                tx.detail(src, || Detail::List(vec![ListOp::pop(from, 1), ListOp::push(to, &[&item])]));
                pushed(tx, dst, to);
                popped(tx, src, from, left);
                item
            } else {
                // Redis checks the source, then the destination, then moves.
                match is_list(tx, src) {
                    None => return Ok(None),
                    Some(false) => return Err(DbError::WrongType),
                    Some(true) if is_list(tx, dst) == Some(false) => return Err(DbError::WrongType),
                    Some(true) => {}
                }
                let Some((Some(item), left)) = edit_list(tx, src, false, |l| l.pop(from))? else { return Ok(None) };
                edit_list(tx, dst, true, |l| l.push(to, &item))?;
                tx.detail(src, || Detail::List(vec![ListOp::pop(from, 1)]));
                tx.detail(dst, || Detail::List(vec![ListOp::push(to, &[&item])]));
                pushed(tx, dst, to);
                popped(tx, src, from, left);
                item
            };
            Ok(Some(item.into_vec()))
        })
    }

    /// RPOPLPUSH: `LMOVE src dst RIGHT LEFT`.
    pub fn rpoplpush(&self, src: &[u8], dst: &[u8]) -> DbResult<Option<Vec<u8>>> {
        self.lmove(src, dst, End::Right, End::Left)
    }

    /// LMPOP: pops up to `count` items at `end` of the first non-empty list
    /// among `keys`. Returns that key and its items, `None` when every key
    /// is absent. `keys` must not be empty nor `count` 0 (Redis's errors).
    pub fn lmpop(&self, keys: &[&[u8]], end: End, count: usize) -> DbResult<Option<Popped>> {
        if keys.is_empty() {
            return Err(NUMKEYS_ZERO);
        }
        if count == 0 {
            return Err(COUNT_ZERO);
        }
        self.tx(keys, |tx| {
            for &key in keys {
                tx.detail(key, || Detail::List(Vec::new()));
                if let Some((items, left)) = edit_list(tx, key, false, |l| pop_n(l, end, count))? {
                    tx.detail(key, || Detail::List(vec![ListOp::pop(end, items.len())]));
                    popped(tx, key, end, left);
                    return Ok(Some((key.to_vec(), items)));
                }
            }
            Ok(None)
        })
    }
}
