//! Set algebra: SINTER, SINTERCARD, SUNION, SDIFF and their STORE forms.
//! Each runs in one transaction over all its keys: every key is checked to
//! hold a set (or nothing) before anything is computed, and a STORE
//! replaces the destination (whatever its type, clearing its TTL) or
//! deletes it when the result is empty.

use super::Set;
use super::commands::set_reply;
use crate::db::keyspace::Tx;
use crate::db::notify::EventClass;
use crate::db::{Db, DbError, DbResult, Reply, Value, args};

/// The size of the set at each key (`None`: absent), or WRONGTYPE if one
/// holds another type.
fn sizes(tx: &mut Tx<'_>, keys: &[&[u8]]) -> DbResult<Vec<Option<usize>>> {
    keys.iter()
        .map(|k| {
            tx.read(k, |v, _| match v {
                Value::Set(s) => Ok(s.len()),
                _ => Err(DbError::WrongType),
            })
            .transpose()
        })
        .collect()
}

/// Runs `f` on the set at `key`, if there is one.
fn with_set(tx: &mut Tx<'_>, key: &[u8], f: impl FnOnce(&Set)) {
    tx.read(key, |v, _| {
        if let Value::Set(s) = v {
            f(s);
        }
    });
}

/// The intersection of the sets at `keys` (an absent key is an empty set):
/// the smallest set, filtered by each of the others.
fn inter(tx: &mut Tx<'_>, keys: &[&[u8]]) -> DbResult<Vec<Box<[u8]>>> {
    let sizes = sizes(tx, keys)?;
    let mut smallest = None;
    for (i, size) in sizes.iter().enumerate() {
        match size {
            None => return Ok(Vec::new()),
            Some(n) if smallest.is_none_or(|(_, m)| n < m) => smallest = Some((i, n)),
            Some(_) => {}
        }
    }
    let Some((first, _)) = smallest else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    with_set(tx, keys[first], |s| out = s.table().entries().to_vec());
    for k in keys {
        if out.is_empty() {
            break;
        }
        if *k != keys[first] {
            with_set(tx, k, |s| out.retain(|m| s.contains(m)));
        }
    }
    Ok(out)
}

/// The union of the sets at `keys`.
fn union(tx: &mut Tx<'_>, keys: &[&[u8]]) -> DbResult<Set> {
    sizes(tx, keys)?;
    let mut out = Set::new();
    for k in keys {
        with_set(tx, k, |s| {
            if out.is_empty() {
                out = s.clone();
            } else {
                for m in s.iter() {
                    out.insert(m);
                }
            }
        });
    }
    Ok(out)
}

/// The members of the first set at `keys` that are in none of the others.
fn diff(tx: &mut Tx<'_>, keys: &[&[u8]]) -> DbResult<Set> {
    sizes(tx, keys)?;
    let Some((&first, rest)) = keys.split_first() else { return Ok(Set::new()) };
    if rest.contains(&first) {
        return Ok(Set::new());
    }
    let mut out = Set::new();
    with_set(tx, first, |s| out = s.clone());
    for k in rest {
        if out.is_empty() {
            break;
        }
        with_set(tx, k, |s| {
            if s.len() < out.len() {
                for m in s.iter() {
                    out.remove(m);
                }
            } else {
                out.retain(|m| !s.contains(m));
            }
        });
    }
    Ok(out)
}

/// Which operation a STORE form computes.
#[derive(Clone, Copy)]
enum Op {
    Inter,
    Union,
    Diff,
}

fn owned(members: Vec<Box<[u8]>>) -> Vec<Vec<u8>> {
    members.into_iter().map(Vec::from).collect()
}

impl Db {
    /// SINTER: the members common to every set at `keys` (an absent key is
    /// an empty set).
    pub fn sinter(&self, keys: &[&[u8]]) -> DbResult<Vec<Vec<u8>>> {
        self.tx(keys, |tx| inter(tx, keys)).map(owned)
    }

    /// SINTERCARD: the size of the intersection, counting at most `limit`
    /// members (0: no limit).
    pub fn sintercard(&self, keys: &[&[u8]], limit: usize) -> DbResult<usize> {
        let n = self.tx(keys, |tx| inter(tx, keys))?.len();
        Ok(if limit > 0 { n.min(limit) } else { n })
    }

    /// SUNION: the members of any set at `keys`.
    pub fn sunion(&self, keys: &[&[u8]]) -> DbResult<Vec<Vec<u8>>> {
        self.tx(keys, |tx| union(tx, keys)).map(|s| owned(s.into_members()))
    }

    /// SDIFF: the members of the first set that are in none of the others.
    pub fn sdiff(&self, keys: &[&[u8]]) -> DbResult<Vec<Vec<u8>>> {
        self.tx(keys, |tx| diff(tx, keys)).map(|s| owned(s.into_members()))
    }

    /// SINTERSTORE: stores the intersection at `dst`; returns its size.
    pub fn sinterstore(&self, dst: &[u8], keys: &[&[u8]]) -> DbResult<usize> {
        self.store(dst, keys, Op::Inter)
    }

    /// SUNIONSTORE: stores the union at `dst`; returns its size.
    pub fn sunionstore(&self, dst: &[u8], keys: &[&[u8]]) -> DbResult<usize> {
        self.store(dst, keys, Op::Union)
    }

    /// SDIFFSTORE: stores the difference at `dst`; returns its size.
    pub fn sdiffstore(&self, dst: &[u8], keys: &[&[u8]]) -> DbResult<usize> {
        self.store(dst, keys, Op::Diff)
    }

    /// The STORE forms: one transaction over `dst` and `keys`; the result
    /// replaces `dst` (any type, TTL cleared), or deletes it when empty.
    fn store(&self, dst: &[u8], keys: &[&[u8]], op: Op) -> DbResult<usize> {
        let mut all = Vec::with_capacity(keys.len() + 1);
        all.push(dst);
        all.extend_from_slice(keys);
        self.tx_grow(&all, |tx| {
            let (result, event) = match op {
                Op::Inter => {
                    let mut s = Set::new();
                    for m in inter(tx, keys)? {
                        s.insert_owned(m);
                    }
                    (s, "sinterstore")
                }
                Op::Union => (union(tx, keys)?, "sunionstore"),
                Op::Diff => (diff(tx, keys)?, "sdiffstore"),
            };
            let n = result.len();
            if n == 0 {
                if tx.take(dst).is_some() {
                    tx.event(EventClass::Generic, "del", dst);
                }
            } else {
                tx.put(dst, Value::Set(Box::new(result)), None);
                tx.event(EventClass::Set, event, dst);
            }
            Ok(n)
        })
    }
}

pub(super) fn cmd_sinter(db: &Db, a: &[&[u8]]) -> Reply {
    db.sinter(&a[1..]).map(set_reply).into()
}

pub(super) fn cmd_sunion(db: &Db, a: &[&[u8]]) -> Reply {
    db.sunion(&a[1..]).map(set_reply).into()
}

pub(super) fn cmd_sdiff(db: &Db, a: &[&[u8]]) -> Reply {
    db.sdiff(&a[1..]).map(set_reply).into()
}

pub(super) fn cmd_sinterstore(db: &Db, a: &[&[u8]]) -> Reply {
    db.sinterstore(a[1], &a[2..]).map(Reply::count).into()
}

pub(super) fn cmd_sunionstore(db: &Db, a: &[&[u8]]) -> Reply {
    db.sunionstore(a[1], &a[2..]).map(Reply::count).into()
}

pub(super) fn cmd_sdiffstore(db: &Db, a: &[&[u8]]) -> Reply {
    db.sdiffstore(a[1], &a[2..]).map(Reply::count).into()
}

/// `SINTERCARD numkeys key [key ...] [LIMIT limit]`, checked in Redis's
/// order and words.
pub(super) fn cmd_sintercard(db: &Db, a: &[&[u8]]) -> Reply {
    let numkeys = match args::parse_i64(a[1]) {
        Some(n) if n >= 1 => n,
        _ => return DbError::Invalid("numkeys should be greater than 0").into(),
    };
    let keys = match usize::try_from(numkeys).ok().and_then(|n| a.get(2..n.checked_add(2)?)) {
        Some(keys) => keys,
        None => return DbError::Invalid("Number of keys can't be greater than number of args").into(),
    };
    let mut limit = 0;
    let mut rest = a.get(2 + keys.len()..).unwrap_or_default();
    while let Some((&kw, tail)) = rest.split_first() {
        match tail.split_first() {
            Some((&n, tail)) if args::is(kw, "LIMIT") => {
                limit = match args::parse_i64(n).and_then(|n| usize::try_from(n).ok()) {
                    Some(n) => n,
                    None => return DbError::Invalid("LIMIT can't be negative").into(),
                };
                rest = tail;
            }
            _ => return DbError::Syntax.into(),
        }
    }
    db.sintercard(keys, limit).map(Reply::count).into()
}
