//! ZADD, ZINCRBY, ZREM, ZSCORE, ZMSCORE, ZCARD, ZRANK, ZREVRANK,
//! ZRANDMEMBER and ZSCAN: typed methods on [`Db`] and their parsers.

use super::{Pairs, ZSet, as_zset, pairs_reply, random_below, score_reply, to_pairs, zset_mut};
use crate::db::args::{self, is};
use crate::db::cursor::{item_position, scan_items};
use crate::db::glob;
use crate::db::hash::random::{COUNT_RANGE, repeated_picks};
use crate::db::notify::EventClass;
use crate::db::{Db, DbError, DbResult, Reply, format_double};

/// The options of ZADD (and ZINCRBY, which is ZADD with `incr`).
///
/// ```text
/// ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ZAddOptions {
    /// `NX`: only add new members, never update.
    pub nx: bool,
    /// `XX`: only update existing members, never add.
    pub xx: bool,
    /// `GT`: update an existing member only if the new score is greater.
    pub gt: bool,
    /// `LT`: update an existing member only if the new score is less.
    pub lt: bool,
    /// `CH`: count updated members too in the reply.
    pub ch: bool,
    /// `INCR`: add the score to the member's (one pair only); reply with
    /// the new score.
    pub incr: bool,
}

impl ZAddOptions {
    /// Redis's checks of the option combination, for `pairs` pairs.
    fn check(&self, pairs: usize) -> DbResult<()> {
        if self.nx && self.xx {
            return Err(DbError::Invalid("XX and NX options at the same time are not compatible"));
        }
        if (self.gt || self.lt) && self.nx || self.gt && self.lt {
            return Err(DbError::Invalid("GT, LT, and/or NX options at the same time are not compatible"));
        }
        if self.incr && pairs > 1 {
            return Err(DbError::Invalid("INCR option supports a single increment-element pair"));
        }
        Ok(())
    }
}

/// What ZADD did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ZAddOutcome {
    /// Members added.
    pub added: usize,
    /// Existing members whose score changed.
    pub updated: usize,
    /// With `incr`: the member's new score, `None` when NX/XX/GT/LT
    /// prevented the operation.
    pub score: Option<f64>,
}

/// The options of ZSCAN.
///
/// ```text
/// ZSCAN key cursor [MATCH pattern] [COUNT count]
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZScanOptions {
    /// `MATCH`: only members matching this glob pattern.
    pub pattern: Option<Vec<u8>>,
    /// `COUNT`: about how many members to visit per call (default 10).
    pub count: usize,
}

impl Default for ZScanOptions {
    fn default() -> Self {
        ZScanOptions { pattern: None, count: 10 }
    }
}

/// Applies one ZADD pair to `z` (Redis's `zsetAdd`): returns whether it
/// added, updated, or was processed at all, and the resulting score.
fn add_one(z: &mut ZSet, score: f64, member: &[u8], o: ZAddOptions, out: &mut ZAddOutcome) -> DbResult<()> {
    let (h, found) = z.probe(member);
    match found {
        Some(id) => {
            if o.nx {
                return Ok(());
            }
            let cur = z.tree.score(id);
            let new = if o.incr { cur + score } else { score };
            if new.is_nan() {
                return Err(DbError::ScoreNan);
            }
            if (o.lt && new >= cur) || (o.gt && new <= cur) {
                return Ok(());
            }
            if new != cur {
                z.set_score(id, new);
                out.updated += 1;
            }
            out.score = Some(new);
        }
        None if o.xx => {}
        None => {
            z.insert_new(h, member, score);
            out.added += 1;
            out.score = Some(score);
        }
    }
    Ok(())
}

impl Db {
    /// ZADD: adds members or updates their scores, as `opts` says.
    pub fn zadd(&self, key: &[u8], pairs: &[(f64, &[u8])], opts: ZAddOptions) -> DbResult<ZAddOutcome> {
        if pairs.is_empty() {
            return Err(DbError::Syntax);
        }
        opts.check(pairs.len())?;
        if pairs.iter().any(|(s, _)| s.is_nan()) {
            return Err(DbError::ScoreNan);
        }
        self.tx_grow(&[key], |tx| {
            let out = tx.write_members(key, pairs.iter().map(|(_, m)| *m), |slot, _| {
                let mut out = ZAddOutcome::default();
                if let Some(z) = zset_mut(slot, !opts.xx)? {
                    for &(score, member) in pairs {
                        add_one(z, score, member, opts, &mut out)?;
                    }
                }
                if !opts.incr {
                    out.score = None;
                }
                Ok::<_, DbError>(out)
            })?;
            if out.added + out.updated > 0 {
                tx.event(EventClass::ZSet, if opts.incr { "zincr" } else { "zadd" }, key);
            }
            if out.added > 0 {
                tx.signal_ready(key);
            }
            Ok(out)
        })
    }

    /// ZINCRBY: adds `increment` to `member`'s score (0 if absent); returns
    /// the new score.
    pub fn zincrby(&self, key: &[u8], increment: f64, member: &[u8]) -> DbResult<f64> {
        let opts = ZAddOptions { incr: true, ..ZAddOptions::default() };
        let out = self.zadd(key, &[(increment, member)], opts)?;
        Ok(out.score.unwrap_or(increment))
    }

    /// ZREM: removes members; returns how many were there.
    pub fn zrem(&self, key: &[u8], members: &[&[u8]]) -> DbResult<usize> {
        self.tx(&[key], |tx| {
            let (removed, emptied) = tx.write_members(key, members.iter().copied(), |slot, _| {
                let Some(z) = zset_mut(slot, false)? else { return Ok((0, false)) };
                let removed = members.iter().filter(|m| z.remove(m).is_some()).count();
                Ok::<_, DbError>((removed, z.is_empty()))
            })?;
            if removed > 0 {
                tx.event(EventClass::ZSet, "zrem", key);
                if emptied {
                    tx.event(EventClass::Generic, "del", key);
                }
            }
            Ok(removed)
        })
    }

    /// ZSCORE: the score of `member`.
    pub fn zscore(&self, key: &[u8], member: &[u8]) -> DbResult<Option<f64>> {
        Ok(self.read(key, |v| as_zset(v).map(|z| z.score(member))).transpose()?.flatten())
    }

    /// ZMSCORE: the score of each member (`None` when absent).
    pub fn zmscore(&self, key: &[u8], members: &[&[u8]]) -> DbResult<Vec<Option<f64>>> {
        let scores = self.read(key, |v| as_zset(v).map(|z| members.iter().map(|m| z.score(m)).collect()));
        Ok(scores.transpose()?.unwrap_or_else(|| vec![None; members.len()]))
    }

    /// ZCARD: the number of members.
    pub fn zcard(&self, key: &[u8]) -> DbResult<usize> {
        Ok(self.read(key, |v| as_zset(v).map(ZSet::len)).transpose()?.unwrap_or(0))
    }

    /// ZRANK: `member`'s rank (lowest score first) and score.
    pub fn zrank(&self, key: &[u8], member: &[u8]) -> DbResult<Option<(usize, f64)>> {
        self.rank_of(key, member, false)
    }

    /// ZREVRANK: `member`'s rank (highest score first) and score.
    pub fn zrevrank(&self, key: &[u8], member: &[u8]) -> DbResult<Option<(usize, f64)>> {
        self.rank_of(key, member, true)
    }

    fn rank_of(&self, key: &[u8], member: &[u8], rev: bool) -> DbResult<Option<(usize, f64)>> {
        let found = self.read(key, |v| as_zset(v).map(|z| z.rank_score(member, rev)));
        Ok(found.transpose()?.flatten())
    }

    /// ZRANDMEMBER without a count: a random member.
    pub fn zrandmember(&self, key: &[u8]) -> DbResult<Option<Vec<u8>>> {
        let m = self.read(key, |v| as_zset(v).map(|z| z.random().map(|(m, _)| m.to_vec())));
        Ok(m.transpose()?.flatten())
    }

    /// ZRANDMEMBER with a count: `count > 0` distinct random members (all
    /// of them if fewer, highest first as Redis returns them), or `-count`
    /// members drawn independently (repeats possible), with their scores.
    /// A negative count whose picks would pass
    /// [`MAX_PICKS_BYTES`](crate::db::MAX_PICKS_BYTES) is
    /// refused with [`DbError::ReplyTooLarge`].
    pub fn zrandmember_count(&self, key: &[u8], count: i64) -> DbResult<Pairs> {
        let picked = self.read(key, |v| {
            let z = as_zset(v)?;
            let n = z.len();
            if count < 0 {
                if n == 0 {
                    return Ok(Vec::new());
                }
                return repeated_picks(count.unsigned_abs(), || z.random().map(|(m, s)| (m.to_vec(), s)));
            }
            let want = usize::try_from(count).unwrap_or(usize::MAX);
            if want >= n {
                return Ok(to_pairs(z.iter().rev()));
            }
            // Floyd's sampling of `want` distinct ranks out of `n`.
            let mut ranks = hashbrown::HashSet::with_capacity_and_hasher(want, ahash::RandomState::new());
            for j in n - want..n {
                let r = random_below(j + 1);
                if !ranks.insert(r) {
                    ranks.insert(j);
                }
            }
            Ok(ranks.into_iter().filter_map(|r| z.get_by_rank(r).map(|(m, s)| (m.to_vec(), s))).collect())
        });
        Ok(picked.transpose()?.unwrap_or_default())
    }

    /// ZSCAN: one step of a cursor over the members; returns the next
    /// cursor (0 when done) and members with scores. A member present for
    /// the whole scan is returned at least once.
    pub fn zscan(&self, key: &[u8], cursor: u64, opts: &ZScanOptions) -> DbResult<(u64, Pairs)> {
        let step = self.read(key, |v| {
            let z = as_zset(v)?;
            let (next, items) = scan_items(z.iter(), |(m, _)| item_position(*m), cursor, opts.count, z.len());
            let items = items.into_iter().filter(|(m, _)| opts.pattern.as_ref().is_none_or(|p| glob::matches(p, m)));
            Ok((next, to_pairs(items)))
        });
        Ok(step.transpose()?.unwrap_or((0, Vec::new())))
    }
}

pub(super) fn cmd_zadd(db: &Db, a: &[&[u8]]) -> Reply {
    let mut opts = ZAddOptions::default();
    let mut i = 2;
    while let Some(&kw) = a.get(i) {
        match () {
            () if is(kw, "NX") => opts.nx = true,
            () if is(kw, "XX") => opts.xx = true,
            () if is(kw, "GT") => opts.gt = true,
            () if is(kw, "LT") => opts.lt = true,
            () if is(kw, "CH") => opts.ch = true,
            () if is(kw, "INCR") => opts.incr = true,
            () => break,
        }
        i += 1;
    }
    let rest = a.get(i..).unwrap_or_default();
    if rest.is_empty() || rest.len() % 2 != 0 {
        return DbError::Syntax.into();
    }
    if let Err(e) = opts.check(rest.len() / 2) {
        return e.into();
    }
    let pairs: DbResult<Vec<(f64, &[u8])>> = rest.chunks_exact(2).map(|p| Ok((args::float(p[0])?, p[1]))).collect();
    let out = match pairs.and_then(|pairs| db.zadd(a[1], &pairs, opts)) {
        Ok(out) => out,
        Err(e) => return e.into(),
    };
    if opts.incr {
        score_reply(out.score)
    } else {
        Reply::count(if opts.ch { out.added + out.updated } else { out.added })
    }
}

pub(super) fn cmd_zincrby(db: &Db, a: &[&[u8]]) -> Reply {
    match args::float(a[2]).and_then(|incr| db.zincrby(a[1], incr, a[3])) {
        Ok(s) => Reply::Double(s),
        Err(e) => e.into(),
    }
}

pub(super) fn cmd_zrem(db: &Db, a: &[&[u8]]) -> Reply {
    db.zrem(a[1], &a[2..]).map(Reply::count).into()
}

pub(super) fn cmd_zscore(db: &Db, a: &[&[u8]]) -> Reply {
    db.zscore(a[1], a[2]).map(score_reply).into()
}

pub(super) fn cmd_zmscore(db: &Db, a: &[&[u8]]) -> Reply {
    db.zmscore(a[1], &a[2..]).map(|s| Reply::Array(s.into_iter().map(score_reply).collect())).into()
}

pub(super) fn cmd_zcard(db: &Db, a: &[&[u8]]) -> Reply {
    db.zcard(a[1]).map(Reply::count).into()
}

pub(super) fn cmd_zrank(db: &Db, a: &[&[u8]]) -> Reply {
    rank_reply(db, a, false)
}

pub(super) fn cmd_zrevrank(db: &Db, a: &[&[u8]]) -> Reply {
    rank_reply(db, a, true)
}

/// `Z[REV]RANK key member [WITHSCORE]`.
fn rank_reply(db: &Db, a: &[&[u8]], rev: bool) -> Reply {
    if a.len() > 4 {
        return DbError::WrongArity(if rev { "zrevrank" } else { "zrank" }.into()).into();
    }
    let withscore = match a.get(3) {
        Some(kw) if is(kw, "WITHSCORE") => true,
        Some(_) => return DbError::Syntax.into(),
        None => false,
    };
    match db.rank_of(a[1], a[2], rev) {
        Err(e) => e.into(),
        Ok(Some((r, s))) if withscore => Reply::Array(vec![Reply::count(r), Reply::Double(s)]),
        Ok(Some((r, _))) => Reply::count(r),
        Ok(None) if withscore => Reply::NullArray,
        Ok(None) => Reply::Null,
    }
}

pub(super) fn cmd_zrandmember(db: &Db, a: &[&[u8]]) -> Reply {
    let Some(count) = a.get(2) else { return db.zrandmember(a[1]).into() };
    let count = match args::int(count) {
        Ok(i64::MIN) => return COUNT_RANGE.into(),
        Ok(n) => n,
        Err(e) => return e.into(),
    };
    let withscores = match a.get(3) {
        _ if a.len() > 4 => return DbError::Syntax.into(),
        Some(kw) if is(kw, "WITHSCORES") => true,
        Some(_) => return DbError::Syntax.into(),
        None => false,
    };
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return DbError::OutOfRange("value is out of range").into();
    }
    match db.zrandmember_count(a[1], count) {
        Ok(pairs) => pairs_reply(pairs, withscores),
        Err(e) => e.into(),
    }
}

pub(super) fn cmd_zscan(db: &Db, a: &[&[u8]]) -> Reply {
    let cursor = match args::cursor(a[2]) {
        Ok(c) => c,
        Err(e) => return e.into(),
    };
    let opts = parse_scan_options(a.get(3..).unwrap_or_default());
    let opts = match opts {
        Ok(o) => o,
        // Redis looks the key up before reading the options.
        Err(e) => {
            return match db.zcard(a[1]) {
                Ok(0) => scan_reply(0, Vec::new()),
                Ok(_) => e.into(),
                Err(wrong) => wrong.into(),
            };
        }
    };
    match db.zscan(a[1], cursor, &opts) {
        Ok((next, pairs)) => scan_reply(next, pairs),
        Err(e) => e.into(),
    }
}

fn parse_scan_options(a: &[&[u8]]) -> DbResult<ZScanOptions> {
    let mut opts = ZScanOptions::default();
    let mut i = 0;
    while let Some(&kw) = a.get(i) {
        let value = a.get(i + 1);
        match value {
            Some(v) if is(kw, "COUNT") => {
                opts.count = usize::try_from(args::int(v)?).ok().filter(|&c| c >= 1).ok_or(DbError::Syntax)?;
            }
            Some(v) if is(kw, "MATCH") => opts.pattern = Some(v.to_vec()),
            _ if is(kw, "NOVALUES") => return Err(DbError::Invalid("NOVALUES option can only be used in HSCAN")),
            _ => return Err(DbError::Syntax),
        }
        i += 2;
    }
    Ok(opts)
}

/// `[cursor, [member, score, …]]`, scores as bulk strings as ZSCAN sends them.
fn scan_reply(next: u64, pairs: Pairs) -> Reply {
    let mut items = Vec::with_capacity(pairs.len() * 2);
    for (m, s) in pairs {
        items.push(Reply::Bulk(m));
        items.push(Reply::Bulk(format_double(s).into_bytes()));
    }
    Reply::Array(vec![Reply::Bulk(next.to_string().into_bytes()), Reply::Array(items)])
}
