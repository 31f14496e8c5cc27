//! The single-key set commands and SMOVE: SADD, SREM, SMEMBERS, SISMEMBER,
//! SMISMEMBER, SCARD, SPOP, SRANDMEMBER, SMOVE, SSCAN. Each is a typed
//! method on [`Db`] plus a parser (`cmd_*`).

use super::Set;
use crate::db::args;
use crate::db::hash::random::{COUNT_RANGE, ItemScanOptions, parse_scan, random_picks, scan_reply, scan_table};
use crate::db::notify::EventClass;
use crate::db::persist::effects::Detail;
use crate::db::{Db, DbError, DbResult, Reply, Value};

/// The set in `slot`, created empty when the key is absent (an empty set
/// left behind is deleted by the keyspace layer); WRONGTYPE, with the slot
/// untouched, for another type.
fn set_or_new(slot: &mut Option<Value>) -> DbResult<&mut Set> {
    match slot.get_or_insert_with(|| Value::Set(Box::default())) {
        Value::Set(s) => Ok(s),
        _ => Err(DbError::WrongType),
    }
}

/// A RESP3 set of bulk strings.
pub(super) fn set_reply(members: Vec<Vec<u8>>) -> Reply {
    Reply::Set(members.into_iter().map(Reply::Bulk).collect())
}

impl Db {
    /// Runs `f` on the set at `key`: `None` if the key is absent,
    /// WRONGTYPE if it holds another type.
    fn read_set<R>(&self, key: &[u8], f: impl FnOnce(&Set) -> R) -> DbResult<Option<R>> {
        self.read(key, |v| match v {
            Value::Set(s) => Ok(f(s)),
            _ => Err(DbError::WrongType),
        })
        .transpose()
    }

    /// SADD: adds `members`, creating the set if needed; returns how many
    /// are new. Keeps the key's TTL.
    pub fn sadd(&self, key: &[u8], members: &[&[u8]]) -> DbResult<usize> {
        self.tx_grow(&[key], |tx| {
            let added = tx.write_members(key, members.iter().copied(), |slot, _| {
                let s = set_or_new(slot)?;
                Ok(members.iter().filter(|m| s.insert(m)).count())
            })?;
            if added > 0 {
                tx.event(EventClass::Set, "sadd", key);
            }
            Ok(added)
        })
    }

    /// SREM: removes `members`; returns how many were there. Deletes the
    /// key when no member is left.
    pub fn srem(&self, key: &[u8], members: &[&[u8]]) -> DbResult<usize> {
        self.tx(&[key], |tx| {
            let (removed, emptied) = tx.write_members(key, members.iter().copied(), |slot, _| match slot {
                None => Ok((0, false)),
                Some(Value::Set(s)) => {
                    let removed = members.iter().filter(|m| s.remove(m)).count();
                    Ok((removed, s.is_empty()))
                }
                Some(_) => Err(DbError::WrongType),
            })?;
            if removed > 0 {
                tx.event(EventClass::Set, "srem", key);
            }
            if emptied {
                tx.event(EventClass::Generic, "del", key);
            }
            Ok(removed)
        })
    }

    /// SMEMBERS: every member, in no particular order.
    pub fn smembers(&self, key: &[u8]) -> DbResult<Vec<Vec<u8>>> {
        Ok(self.read_set(key, |s| s.iter().map(<[u8]>::to_vec).collect())?.unwrap_or_default())
    }

    /// SISMEMBER: whether `member` is in the set.
    pub fn sismember(&self, key: &[u8], member: &[u8]) -> DbResult<bool> {
        Ok(self.read_set(key, |s| s.contains(member))?.unwrap_or(false))
    }

    /// SMISMEMBER: whether each of `members` is in the set.
    pub fn smismember(&self, key: &[u8], members: &[&[u8]]) -> DbResult<Vec<bool>> {
        let found = self.read_set(key, |s| members.iter().map(|m| s.contains(m)).collect())?;
        Ok(found.unwrap_or_else(|| vec![false; members.len()]))
    }

    /// SCARD: the number of members.
    pub fn scard(&self, key: &[u8]) -> DbResult<usize> {
        Ok(self.read_set(key, Set::len)?.unwrap_or(0))
    }

    /// SPOP: removes and returns up to `count` random members (all of them
    /// when the set is smaller, deleting the key).
    pub fn spop(&self, key: &[u8], count: usize) -> DbResult<Vec<Vec<u8>>> {
        self.tx(&[key], |tx| {
            let (popped, emptied) = tx.write_members(key, [], |slot, _| {
                let s = match slot {
                    None => return Ok((Vec::new(), false)),
                    Some(Value::Set(s)) => s,
                    Some(_) => return Err(DbError::WrongType),
                };
                let popped: Vec<Vec<u8>> = if count >= s.len() {
                    std::mem::take(s).iter().map(<[u8]>::to_vec).collect()
                } else {
                    (0..count).filter_map(|_| s.pop_random()).map(Vec::from).collect()
                };
                Ok((popped, s.is_empty()))
            })?;
            if !popped.is_empty() {
                tx.detail(key, || Detail::Members(popped.iter().map(|m| m.as_slice().into()).collect()));
                tx.event(EventClass::Set, "spop", key);
            }
            if emptied {
                tx.event(EventClass::Generic, "del", key);
            }
            Ok(popped)
        })
    }

    /// SRANDMEMBER with a count: for `count >= 0`, up to `count` distinct
    /// members; for `count < 0`, `|count|` members that may repeat.
    /// `count` must not be `i64::MIN` (Redis's bound); a negative count
    /// whose picks would pass [`MAX_PICKS_BYTES`](crate::db::MAX_PICKS_BYTES)
    /// is refused with [`DbError::ReplyTooLarge`].
    pub fn srandmember(&self, key: &[u8], count: i64) -> DbResult<Vec<Vec<u8>>> {
        if count == i64::MIN {
            return Err(COUNT_RANGE);
        }
        Ok(self.read_set(key, |s| random_picks(s.table(), count, |m| m.to_vec()))?.transpose()?.unwrap_or_default())
    }

    /// SMOVE: moves `member` from the set at `src` to the set at `dst`
    /// (created if needed), atomically; returns whether it was in `src`.
    /// WRONGTYPE (nothing moved) if either key holds another type, except
    /// that an absent `src` answers `false` first, as in Redis.
    pub fn smove(&self, src: &[u8], dst: &[u8], member: &[u8]) -> DbResult<bool> {
        self.tx(&[src, dst], |tx| {
            let is_set = |v: &Value, _: Option<u64>| match v {
                Value::Set(s) => Ok(s.contains(member)),
                _ => Err(DbError::WrongType),
            };
            let Some(found) = tx.read(src, is_set).transpose()? else { return Ok(false) };
            tx.read(dst, is_set).transpose()?;
            if src == dst || !found {
                return Ok(found);
            }
            let emptied = tx.write(src, |slot, _| match slot {
                Some(Value::Set(s)) => s.remove(member) && s.is_empty(),
                _ => false,
            });
            tx.event(EventClass::Set, "srem", src);
            if emptied {
                tx.event(EventClass::Generic, "del", src);
            }
            if tx.write(dst, |slot, _| set_or_new(slot).is_ok_and(|s| s.insert(member))) {
                tx.event(EventClass::Set, "sadd", dst);
            }
            Ok(true)
        })
    }

    /// SSCAN: one step of a cursor over the members of `key` (start with
    /// 0; a returned cursor of 0 ends the scan). Every member present for
    /// the whole scan is returned at least once. `opts.no_values` is
    /// refused, as Redis refuses NOVALUES outside HSCAN.
    pub fn sscan(&self, key: &[u8], cursor: u64, opts: &ItemScanOptions) -> DbResult<(u64, Vec<Vec<u8>>)> {
        if opts.no_values {
            return Err(DbError::Invalid("NOVALUES option can only be used in HSCAN"));
        }
        let page = self.read_set(key, |s| {
            let (next, items) = scan_table(s.table(), cursor, opts);
            (next, items.into_iter().map(|m| m.to_vec()).collect())
        })?;
        Ok(page.unwrap_or_default())
    }
}

pub(super) fn cmd_sadd(db: &Db, a: &[&[u8]]) -> Reply {
    db.sadd(a[1], &a[2..]).map(Reply::count).into()
}

pub(super) fn cmd_srem(db: &Db, a: &[&[u8]]) -> Reply {
    db.srem(a[1], &a[2..]).map(Reply::count).into()
}

pub(super) fn cmd_smembers(db: &Db, a: &[&[u8]]) -> Reply {
    db.smembers(a[1]).map(set_reply).into()
}

pub(super) fn cmd_sismember(db: &Db, a: &[&[u8]]) -> Reply {
    db.sismember(a[1], a[2]).into()
}

pub(super) fn cmd_smismember(db: &Db, a: &[&[u8]]) -> Reply {
    db.smismember(a[1], &a[2..]).map(|f| Reply::Array(f.into_iter().map(Reply::from).collect())).into()
}

pub(super) fn cmd_scard(db: &Db, a: &[&[u8]]) -> Reply {
    db.scard(a[1]).map(Reply::count).into()
}

pub(super) fn cmd_spop(db: &Db, a: &[&[u8]]) -> Reply {
    match a.get(2..).unwrap_or_default() {
        [] => db.spop(a[1], 1).map(|mut p| Reply::from(p.pop())).into(),
        [count] => match args::count(count) {
            Ok(n) => db.spop(a[1], n).map(set_reply).into(),
            Err(e) => e.into(),
        },
        _ => DbError::Syntax.into(),
    }
}

pub(super) fn cmd_srandmember(db: &Db, a: &[&[u8]]) -> Reply {
    match a.get(2..).unwrap_or_default() {
        [] => db.srandmember(a[1], 1).map(|mut p| Reply::from(p.pop())).into(),
        [count] => match args::int(count) {
            Ok(n) => db.srandmember(a[1], n).map(Reply::bulks).into(),
            Err(e) => e.into(),
        },
        _ => DbError::Syntax.into(),
    }
}

pub(super) fn cmd_smove(db: &Db, a: &[&[u8]]) -> Reply {
    db.smove(a[1], a[2], a[3]).into()
}

pub(super) fn cmd_sscan(db: &Db, a: &[&[u8]]) -> Reply {
    let (cursor, opts) = match parse_scan(db, a, |v| matches!(v, Value::Set(_)), false) {
        Ok(parsed) => parsed,
        Err(reply) => return reply,
    };
    match db.sscan(a[1], cursor, &opts) {
        Ok((next, members)) => scan_reply(next, members.into_iter().map(Reply::Bulk).collect()),
        Err(e) => e.into(),
    }
}
