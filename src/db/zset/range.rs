//! Ranges: ZRANGE (by rank, score or lex, REV, LIMIT, WITHSCORES) and its
//! older forms, ZRANGESTORE, ZCOUNT, ZLEXCOUNT and ZREMRANGEBY{RANK,SCORE,LEX}.
//! Every range costs O(log n + m): ranks of the ends by descent, then steps
//! (lexicographic ranges over a packed set, at most 128 members, walk it as
//! Redis walks its listpack: O(n)).

use super::{Pairs, ZSet, as_zset, pairs_reply, store_result, to_pairs, zset_mut};
use crate::db::args::{self, LexBound, ScoreBound, is};
use crate::db::notify::EventClass;
use crate::db::{Db, DbError, DbResult, Reply};
use std::ops::Range;

const LIMIT_NEEDS_BY: &str = "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX";
const WITHSCORES_BYLEX: &str = "syntax error, WITHSCORES not supported in combination with BYLEX";

/// How a ZRANGE selects members.
#[derive(Debug, Clone, PartialEq)]
pub enum ZRangeBy {
    /// By rank, `start..=stop`, negative indexes counting from the end
    /// (with `rev`, rank 0 is the highest score).
    Rank {
        /// First rank.
        start: i64,
        /// Last rank (inclusive).
        stop: i64,
    },
    /// `BYSCORE`: the members with scores in `min..=max`.
    Score {
        /// Lowest score.
        min: ScoreBound,
        /// Highest score.
        max: ScoreBound,
    },
    /// `BYLEX`: the members in `min..=max` by bytes (for members that
    /// share one score, as Redis documents).
    Lex {
        /// Lowest member.
        min: LexBound,
        /// Highest member.
        max: LexBound,
    },
}

/// A ZRANGE query.
///
/// ```text
/// ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
/// ```
///
/// `min`/`max` are given in order whatever `rev` says (the parser swaps the
/// arguments of `REV BYSCORE`/`REV BYLEX` as Redis reads them).
#[derive(Debug, Clone, PartialEq)]
pub struct ZRangeSpec {
    /// What to select.
    pub by: ZRangeBy,
    /// `REV`: highest score first.
    pub rev: bool,
    /// `LIMIT offset count` (BYSCORE/BYLEX only): skip `offset` members of
    /// the selection (a negative offset selects nothing), then return at
    /// most `count` (negative: all).
    pub limit: Option<(i64, i64)>,
}

impl ZRangeSpec {
    /// Members of ranks `start..=stop`.
    pub fn rank(start: i64, stop: i64) -> Self {
        ZRangeSpec { by: ZRangeBy::Rank { start, stop }, rev: false, limit: None }
    }

    /// Members with scores in `min..=max`.
    pub fn score(min: ScoreBound, max: ScoreBound) -> Self {
        ZRangeSpec { by: ZRangeBy::Score { min, max }, rev: false, limit: None }
    }

    /// Members in `min..=max` by bytes.
    pub fn lex(min: LexBound, max: LexBound) -> Self {
        ZRangeSpec { by: ZRangeBy::Lex { min, max }, rev: false, limit: None }
    }

    /// The same selection, highest first.
    pub fn rev(self) -> Self {
        ZRangeSpec { rev: true, ..self }
    }

    /// The same selection with `LIMIT offset count`.
    pub fn limit(self, offset: i64, count: i64) -> Self {
        ZRangeSpec { limit: Some((offset, count)), ..self }
    }

    /// Redis refuses LIMIT with a rank range, unless its count is -1 (the
    /// value meaning "no limit", which Redis cannot tell from no LIMIT).
    fn check(&self) -> DbResult<()> {
        if self.limit.is_some_and(|(_, count)| count != -1) && matches!(self.by, ZRangeBy::Rank { .. }) {
            return Err(DbError::Invalid(LIMIT_NEEDS_BY));
        }
        Ok(())
    }

    /// The ranks (lowest first) this query selects from `z`.
    fn ranks(&self, z: &ZSet) -> Range<usize> {
        let n = z.len();
        let r = match &self.by {
            ZRangeBy::Rank { start, stop } => {
                return match args::index_range(*start, *stop, n) {
                    Some(r) if self.rev => n - r.end..n - r.start,
                    Some(r) => r,
                    None => 0..0,
                };
            }
            ZRangeBy::Score { min, max } => z.score_ranks(min, max),
            ZRangeBy::Lex { min, max } if z.is_packed() => {
                // Redis's listpack walk, its LIMIT included (see `lex_walk`).
                let (offset, count) = match self.limit {
                    None => (0, None),
                    Some((offset, count)) => match usize::try_from(offset) {
                        Ok(offset) => (offset, usize::try_from(count).ok()),
                        Err(_) => return 0..0,
                    },
                };
                return z.lex_walk(min, max, self.rev, offset, count);
            }
            ZRangeBy::Lex { min, max } => z.lex_ranks(min, max),
        };
        let Some((offset, count)) = self.limit else { return r };
        let len = r.len();
        let Some(offset) = usize::try_from(offset).ok().filter(|&o| o < len) else { return r.start..r.start };
        let take = usize::try_from(count).map_or(len - offset, |c| c.min(len - offset));
        if self.rev { r.end - offset - take..r.end - offset } else { r.start + offset..r.start + offset + take }
    }

    /// The selected members in the query's order.
    fn select(&self, z: &ZSet) -> Pairs {
        let it = z.range(self.ranks(z));
        if self.rev { to_pairs(it.rev()) } else { to_pairs(it) }
    }
}

impl Db {
    /// ZRANGE (and ZRANGEBYSCORE, ZRANGEBYLEX, their REV forms): the
    /// selected members with their scores, in the query's order.
    pub fn zrange(&self, key: &[u8], spec: &ZRangeSpec) -> DbResult<Pairs> {
        spec.check()?;
        Ok(self.read(key, |v| as_zset(v).map(|z| spec.select(z))).transpose()?.unwrap_or_default())
    }

    /// ZRANGESTORE: stores the members `spec` selects from `src` at `dst`
    /// (replacing it, TTL cleared; deleting it when nothing is selected).
    /// Returns the number stored.
    pub fn zrangestore(&self, dst: &[u8], src: &[u8], spec: &ZRangeSpec) -> DbResult<usize> {
        spec.check()?;
        self.tx_grow(&[dst, src], |tx| {
            let picked = tx.read(src, |v, _| {
                as_zset(v).map(|z| z.range(spec.ranks(z)).map(|(m, s)| (Box::<[u8]>::from(m), s)).collect())
            });
            let picked = picked.transpose()?.unwrap_or_default();
            Ok(store_result(tx, dst, ZSet::from_distinct(picked), "zrangestore"))
        })
    }

    /// ZCOUNT: the number of members with scores in `min..=max`.
    pub fn zcount(&self, key: &[u8], min: ScoreBound, max: ScoreBound) -> DbResult<usize> {
        self.count_in(key, |z| z.score_ranks(&min, &max))
    }

    /// ZLEXCOUNT: the number of members in `min..=max` by bytes.
    pub fn zlexcount(&self, key: &[u8], min: &LexBound, max: &LexBound) -> DbResult<usize> {
        self.count_in(key, |z| z.lex_ranks(min, max))
    }

    fn count_in(&self, key: &[u8], pick: impl FnOnce(&ZSet) -> Range<usize>) -> DbResult<usize> {
        Ok(self.read(key, |v| as_zset(v).map(|z| pick(z).len())).transpose()?.unwrap_or(0))
    }

    /// ZREMRANGEBYRANK: removes the members of ranks `start..=stop`
    /// (negative from the end); returns how many.
    pub fn zremrangebyrank(&self, key: &[u8], start: i64, stop: i64) -> DbResult<usize> {
        self.remove_in(key, "zremrangebyrank", |z| args::index_range(start, stop, z.len()).unwrap_or(0..0))
    }

    /// ZREMRANGEBYSCORE: removes the members with scores in `min..=max`.
    pub fn zremrangebyscore(&self, key: &[u8], min: ScoreBound, max: ScoreBound) -> DbResult<usize> {
        self.remove_in(key, "zremrangebyscore", |z| z.score_ranks(&min, &max))
    }

    /// ZREMRANGEBYLEX: removes the members in `min..=max` by bytes.
    pub fn zremrangebylex(&self, key: &[u8], min: &LexBound, max: &LexBound) -> DbResult<usize> {
        self.remove_in(key, "zremrangebylex", |z| z.lex_ranks(min, max))
    }

    fn remove_in(&self, key: &[u8], event: &'static str, pick: impl FnOnce(&ZSet) -> Range<usize>) -> DbResult<usize> {
        self.tx(&[key], |tx| {
            let (removed, emptied) = tx.write(key, |slot, _| {
                let Some(z) = zset_mut(slot, false)? else { return Ok((0, false)) };
                let ranks = pick(z);
                let removed = z.remove_ranks(ranks);
                Ok::<_, DbError>((removed, z.is_empty()))
            })?;
            if removed > 0 {
                tx.event(EventClass::ZSet, event, key);
                if emptied {
                    tx.event(EventClass::Generic, "del", key);
                }
            }
            Ok(removed)
        })
    }
}

/// The range kind a command fixes, or `Auto` for ZRANGE's keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum By {
    Auto,
    Rank,
    Score,
    Lex,
}

/// Parses `src min max [options]` from `a[at]` on, as Redis's
/// `zrangeGenericCommand`: `by`/`rev` are fixed by the older commands
/// (then their keywords are syntax errors). Returns the query and WITHSCORES.
fn parse_range(a: &[&[u8]], at: usize, store: bool, mut by: By, mut rev: Option<bool>) -> DbResult<(ZRangeSpec, bool)> {
    let (mut withscores, mut limit) = (false, None);
    let mut j = at + 3;
    while let Some(&kw) = a.get(j) {
        if !store && is(kw, "WITHSCORES") {
            withscores = true;
        } else if is(kw, "LIMIT")
            && let (Some(offset), Some(count)) = (a.get(j + 1), a.get(j + 2))
        {
            limit = Some((args::int(offset)?, args::int(count)?));
            j += 2;
        } else if rev.is_none() && is(kw, "REV") {
            rev = Some(true);
        } else if by == By::Auto && is(kw, "BYLEX") {
            by = By::Lex;
        } else if by == By::Auto && is(kw, "BYSCORE") {
            by = By::Score;
        } else {
            return Err(DbError::Syntax);
        }
        j += 1;
    }
    let rev = rev.unwrap_or(false);
    if limit.is_some_and(|(_, count)| count != -1) && matches!(by, By::Auto | By::Rank) {
        return Err(DbError::Invalid(LIMIT_NEEDS_BY));
    }
    if withscores && by == By::Lex {
        return Err(DbError::Invalid(WITHSCORES_BYLEX));
    }
    let (mut lo, mut hi) = (a[at + 1], a[at + 2]);
    if rev && matches!(by, By::Score | By::Lex) {
        std::mem::swap(&mut lo, &mut hi);
    }
    let by = match by {
        By::Auto | By::Rank => ZRangeBy::Rank { start: args::int(lo)?, stop: args::int(hi)? },
        By::Score => ZRangeBy::Score { min: ScoreBound::parse(lo)?, max: ScoreBound::parse(hi)? },
        By::Lex => ZRangeBy::Lex { min: LexBound::parse(lo)?, max: LexBound::parse(hi)? },
    };
    Ok((ZRangeSpec { by, rev, limit }, withscores))
}

fn range_reply(db: &Db, a: &[&[u8]], by: By, rev: Option<bool>) -> Reply {
    match parse_range(a, 1, false, by, rev).and_then(|(spec, ws)| Ok((db.zrange(a[1], &spec)?, ws))) {
        Ok((pairs, withscores)) => pairs_reply(pairs, withscores),
        Err(e) => e.into(),
    }
}

pub(super) fn cmd_zrange(db: &Db, a: &[&[u8]]) -> Reply {
    range_reply(db, a, By::Auto, None)
}

pub(super) fn cmd_zrevrange(db: &Db, a: &[&[u8]]) -> Reply {
    range_reply(db, a, By::Rank, Some(true))
}

pub(super) fn cmd_zrangebyscore(db: &Db, a: &[&[u8]]) -> Reply {
    range_reply(db, a, By::Score, Some(false))
}

pub(super) fn cmd_zrevrangebyscore(db: &Db, a: &[&[u8]]) -> Reply {
    range_reply(db, a, By::Score, Some(true))
}

pub(super) fn cmd_zrangebylex(db: &Db, a: &[&[u8]]) -> Reply {
    range_reply(db, a, By::Lex, Some(false))
}

pub(super) fn cmd_zrevrangebylex(db: &Db, a: &[&[u8]]) -> Reply {
    range_reply(db, a, By::Lex, Some(true))
}

pub(super) fn cmd_zrangestore(db: &Db, a: &[&[u8]]) -> Reply {
    parse_range(a, 2, true, By::Auto, None)
        .and_then(|(spec, _)| db.zrangestore(a[1], a[2], &spec))
        .map(Reply::count)
        .into()
}

pub(super) fn cmd_zcount(db: &Db, a: &[&[u8]]) -> Reply {
    let count = ScoreBound::parse(a[2])
        .and_then(|min| Ok((min, ScoreBound::parse(a[3])?)))
        .and_then(|(min, max)| db.zcount(a[1], min, max));
    count.map(Reply::count).into()
}

pub(super) fn cmd_zlexcount(db: &Db, a: &[&[u8]]) -> Reply {
    let count = LexBound::parse(a[2])
        .and_then(|min| Ok((min, LexBound::parse(a[3])?)))
        .and_then(|(min, max)| db.zlexcount(a[1], &min, &max));
    count.map(Reply::count).into()
}

pub(super) fn cmd_zremrangebyrank(db: &Db, a: &[&[u8]]) -> Reply {
    let n = args::int(a[2]).and_then(|s| Ok((s, args::int(a[3])?))).and_then(|(s, e)| db.zremrangebyrank(a[1], s, e));
    n.map(Reply::count).into()
}

pub(super) fn cmd_zremrangebyscore(db: &Db, a: &[&[u8]]) -> Reply {
    let n = ScoreBound::parse(a[2])
        .and_then(|min| Ok((min, ScoreBound::parse(a[3])?)))
        .and_then(|(min, max)| db.zremrangebyscore(a[1], min, max));
    n.map(Reply::count).into()
}

pub(super) fn cmd_zremrangebylex(db: &Db, a: &[&[u8]]) -> Reply {
    let n = LexBound::parse(a[2])
        .and_then(|min| Ok((min, LexBound::parse(a[3])?)))
        .and_then(|(min, max)| db.zremrangebylex(a[1], &min, &max));
    n.map(Reply::count).into()
}
