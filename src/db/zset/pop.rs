//! Pops: ZPOPMIN, ZPOPMAX, ZMPOP, and the blocking BZPOPMIN, BZPOPMAX and
//! BZMPOP (which wait through `Db::block_on` until a key gains members).

use super::{Pairs, pairs_reply};
use crate::db::args::{self, is};
use crate::db::blocking::parse_timeout;
use crate::db::keyspace::Tx;
use crate::db::notify::EventClass;
use crate::db::persist::effects::Detail;
use crate::db::{Db, DbError, DbResult, Reply, Value};
use std::time::Duration;

/// Which end of a sorted set a pop takes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZEnd {
    /// `MIN`: lowest scores first.
    Min,
    /// `MAX`: highest scores first.
    Max,
}

impl ZEnd {
    fn event(self) -> &'static str {
        match self {
            ZEnd::Min => "zpopmin",
            ZEnd::Max => "zpopmax",
        }
    }
}

/// A key and the members popped from it.
pub type Popped = (Vec<u8>, Pairs);

/// What BZPOPMIN/BZPOPMAX pop: the key, the member and its score.
pub type PoppedOne = (Vec<u8>, Vec<u8>, f64);

/// Pops up to `count` members from the first of `keys` that exists (an
/// existing key of another type is an error, or skipped if `skip_wrong`).
fn pop_first(tx: &mut Tx<'_>, keys: &[&[u8]], end: ZEnd, count: usize, skip_wrong: bool) -> DbResult<Option<Popped>> {
    for &key in keys {
        let popped = tx.write_members(key, [], |slot, _| {
            let z = match slot {
                None => return Ok(None),
                Some(Value::ZSet(z)) => z,
                Some(_) if skip_wrong => return Ok(None),
                Some(_) => return Err(DbError::WrongType),
            };
            let mut out = Vec::with_capacity(count.min(z.len()));
            while out.len() < count
                && let Some(p) = z.pop_end(end)
            {
                out.push(p);
            }
            Ok(Some((out, z.is_empty())))
        })?;
        if let Some((pairs, emptied)) = popped {
            if !pairs.is_empty() {
                tx.detail(key, || Detail::Members(pairs.iter().map(|(m, _)| m.as_slice().into()).collect()));
                tx.event(EventClass::ZSet, end.event(), key);
                if emptied {
                    tx.event(EventClass::Generic, "del", key);
                }
            }
            return Ok(Some((key.to_vec(), pairs)));
        }
    }
    Ok(None)
}

impl Db {
    /// ZPOPMIN: removes and returns up to `count` (default 1) members with
    /// the lowest scores, lowest first.
    pub fn zpopmin(&self, key: &[u8], count: Option<usize>) -> DbResult<Pairs> {
        self.zpop(key, ZEnd::Min, count)
    }

    /// ZPOPMAX: removes and returns up to `count` (default 1) members with
    /// the highest scores, highest first.
    pub fn zpopmax(&self, key: &[u8], count: Option<usize>) -> DbResult<Pairs> {
        self.zpop(key, ZEnd::Max, count)
    }

    fn zpop(&self, key: &[u8], end: ZEnd, count: Option<usize>) -> DbResult<Pairs> {
        let popped = self.tx(&[key], |tx| pop_first(tx, &[key], end, count.unwrap_or(1), false))?;
        Ok(popped.map(|(_, pairs)| pairs).unwrap_or_default())
    }

    /// ZMPOP: pops up to `count` members from the first non-empty sorted set
    /// of `keys`; returns its name and the members, or `None` if all are empty.
    pub fn zmpop(&self, keys: &[&[u8]], end: ZEnd, count: usize) -> DbResult<Option<Popped>> {
        check_mpop(keys, count)?;
        self.tx(keys, |tx| pop_first(tx, keys, end, count, false))
    }

    /// BZPOPMIN: like ZPOPMIN on the first non-empty key of `keys`, waiting
    /// up to `timeout` (`None`: forever) for one to gain members. Returns
    /// the key, member and score, or `None` on timeout.
    pub fn bzpopmin(&self, keys: &[&[u8]], timeout: Option<Duration>) -> DbResult<Option<PoppedOne>> {
        self.bzpop(keys, ZEnd::Min, timeout)
    }

    /// BZPOPMAX: the blocking ZPOPMAX (see [`Db::bzpopmin`]).
    pub fn bzpopmax(&self, keys: &[&[u8]], timeout: Option<Duration>) -> DbResult<Option<PoppedOne>> {
        self.bzpop(keys, ZEnd::Max, timeout)
    }

    fn bzpop(&self, keys: &[&[u8]], end: ZEnd, timeout: Option<Duration>) -> DbResult<Option<PoppedOne>> {
        let popped = self.block_pop(keys, end, 1, timeout)?;
        Ok(popped.and_then(|(key, pairs)| pairs.into_iter().next().map(|(m, s)| (key, m, s))))
    }

    /// BZMPOP: the blocking ZMPOP, waiting up to `timeout` (`None`: forever).
    pub fn bzmpop(
        &self,
        keys: &[&[u8]],
        end: ZEnd,
        count: usize,
        timeout: Option<Duration>,
    ) -> DbResult<Option<Popped>> {
        check_mpop(keys, count)?;
        self.block_pop(keys, end, count, timeout)
    }

    fn block_pop(
        &self,
        keys: &[&[u8]],
        end: ZEnd,
        count: usize,
        timeout: Option<Duration>,
    ) -> DbResult<Option<Popped>> {
        // The first try reports a key of the wrong type, as Redis does when
        // the command arrives; later tries (after a wake-up) pass over it,
        // as Redis only serves a blocked client from keys that got data.
        let mut first = true;
        self.block_on(keys, timeout, |db| {
            let skip_wrong = !std::mem::replace(&mut first, false);
            db.tx(keys, |tx| pop_first(tx, keys, end, count, skip_wrong))
        })
    }
}

fn check_mpop(keys: &[&[u8]], count: usize) -> DbResult<()> {
    if keys.is_empty() {
        return Err(DbError::Invalid("numkeys should be greater than 0"));
    }
    if count == 0 {
        return Err(DbError::Invalid("count should be greater than 0"));
    }
    Ok(())
}

/// Parses `numkeys key... MIN|MAX [COUNT count]` with `numkeys` at `a[at]`.
fn parse_mpop<'a>(a: &[&'a [u8]], at: usize) -> DbResult<(Vec<&'a [u8]>, ZEnd, usize)> {
    let numkeys =
        args::parse_i64(a[at]).filter(|&n| n >= 1).ok_or(DbError::Invalid("numkeys should be greater than 0"))?;
    let where_at = at.saturating_add(usize::try_from(numkeys).unwrap_or(usize::MAX)).saturating_add(1);
    let end = match a.get(where_at) {
        Some(w) if is(w, "MIN") => ZEnd::Min,
        Some(w) if is(w, "MAX") => ZEnd::Max,
        _ => return Err(DbError::Syntax),
    };
    let mut count = None;
    let mut j = where_at + 1;
    while let Some(&kw) = a.get(j) {
        match a.get(j + 1) {
            Some(v) if count.is_none() && is(kw, "COUNT") => {
                let n = args::parse_i64(v).filter(|&c| c >= 1);
                count = Some(n.ok_or(DbError::Invalid("count should be greater than 0"))?);
            }
            _ => return Err(DbError::Syntax),
        }
        j += 2;
    }
    let count = usize::try_from(count.unwrap_or(1)).unwrap_or(usize::MAX);
    Ok((a[at + 1..where_at].to_vec(), end, count))
}

/// `[key, [[member, score], …]]`, or a null array.
fn mpop_reply(popped: Option<Popped>) -> Reply {
    match popped {
        Some((key, pairs)) => {
            let items = pairs.into_iter().map(|(m, s)| Reply::Array(vec![Reply::Bulk(m), Reply::Double(s)]));
            Reply::Array(vec![Reply::Bulk(key), Reply::Array(items.collect())])
        }
        None => Reply::NullArray,
    }
}

fn zpop_reply(db: &Db, a: &[&[u8]], end: ZEnd) -> Reply {
    if a.len() > 3 {
        return DbError::Syntax.into();
    }
    let count = match a.get(2).map(|c| args::count(c)).transpose() {
        Ok(count) => count,
        Err(e) => return e.into(),
    };
    match db.zpop(a[1], end, count) {
        // With a count, member/score pairs (nested in RESP3); without one,
        // a flat `[member, score]` (or `[]`) in both protocols.
        Ok(pairs) if count.is_some() => pairs_reply(pairs, true),
        Ok(pairs) => Reply::Array(pairs.into_iter().flat_map(|(m, s)| [Reply::Bulk(m), Reply::Double(s)]).collect()),
        Err(e) => e.into(),
    }
}

pub(super) fn cmd_zpopmin(db: &Db, a: &[&[u8]]) -> Reply {
    zpop_reply(db, a, ZEnd::Min)
}

pub(super) fn cmd_zpopmax(db: &Db, a: &[&[u8]]) -> Reply {
    zpop_reply(db, a, ZEnd::Max)
}

pub(super) fn cmd_zmpop(db: &Db, a: &[&[u8]]) -> Reply {
    match parse_mpop(a, 1).and_then(|(keys, end, count)| db.zmpop(&keys, end, count)) {
        Ok(popped) => mpop_reply(popped),
        Err(e) => e.into(),
    }
}

pub(super) fn cmd_bzmpop(db: &Db, a: &[&[u8]]) -> Reply {
    let popped = parse_mpop(a, 2)
        .and_then(|(keys, end, count)| Ok((keys, end, count, parse_timeout(db, a[1])?)))
        .and_then(|(keys, end, count, timeout)| db.bzmpop(&keys, end, count, timeout));
    match popped {
        Ok(popped) => mpop_reply(popped),
        Err(e) => e.into(),
    }
}

fn bzpop_reply(db: &Db, a: &[&[u8]], end: ZEnd) -> Reply {
    let (keys, timeout) = a[1..].split_at(a.len() - 2);
    match parse_timeout(db, timeout[0]).and_then(|t| db.bzpop(keys, end, t)) {
        Ok(Some((key, member, score))) => {
            Reply::Array(vec![Reply::Bulk(key), Reply::Bulk(member), Reply::Double(score)])
        }
        Ok(None) => Reply::NullArray,
        Err(e) => e.into(),
    }
}

pub(super) fn cmd_bzpopmin(db: &Db, a: &[&[u8]]) -> Reply {
    bzpop_reply(db, a, ZEnd::Min)
}

pub(super) fn cmd_bzpopmax(db: &Db, a: &[&[u8]]) -> Reply {
    bzpop_reply(db, a, ZEnd::Max)
}
