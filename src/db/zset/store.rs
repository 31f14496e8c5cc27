//! Set algebra over sorted sets (and plain sets, whose members score 1):
//! ZUNION, ZINTER, ZDIFF, their STORE forms, and ZINTERCARD, with Redis's
//! WEIGHTS, AGGREGATE and float conventions (`inf + -inf` and `0 × inf`
//! count as 0 where Redis says so).

use super::{Pairs, ZSet, cmp_entries, pairs_reply, store_result};
use crate::db::args::{self, is};
use crate::db::keyspace::Tx;
use crate::db::set::Set;
use crate::db::{Db, DbError, DbResult, Reply, Value};

/// How ZUNION/ZINTER combine the scores of a member found in several inputs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Aggregate {
    /// `SUM` (the default); `inf + -inf` gives 0.
    #[default]
    Sum,
    /// `MIN`.
    Min,
    /// `MAX`.
    Max,
}

impl Aggregate {
    /// Folds `value` into `acc` as Redis's `zunionInterAggregate` does.
    #[inline]
    fn fold(self, acc: &mut f64, value: f64) {
        match self {
            Aggregate::Sum => {
                *acc += value;
                if acc.is_nan() {
                    *acc = 0.0;
                }
            }
            Aggregate::Min => {
                if value < *acc {
                    *acc = value;
                }
            }
            Aggregate::Max => {
                if value > *acc {
                    *acc = value;
                }
            }
        }
    }
}

/// The options of ZUNION and ZINTER (and their STORE forms).
///
/// ```text
/// ZUNION numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ZCombineOptions {
    /// `WEIGHTS`: one factor per input key (default 1 each).
    pub weights: Option<Vec<f64>>,
    /// `AGGREGATE`.
    pub aggregate: Aggregate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Inter,
    Diff,
}

/// One input: a sorted set or a set (members score 1).
enum Input<'a> {
    Z(&'a ZSet),
    S(&'a Set),
}

impl<'a> Input<'a> {
    fn of(v: &'a Value) -> DbResult<Input<'a>> {
        match v {
            Value::ZSet(z) => Ok(Input::Z(z)),
            Value::Set(s) => Ok(Input::S(s)),
            _ => Err(DbError::WrongType),
        }
    }

    fn len(&self) -> usize {
        match self {
            Input::Z(z) => z.len(),
            Input::S(s) => s.len(),
        }
    }

    fn for_each(&self, mut f: impl FnMut(&[u8], f64)) {
        match self {
            Input::Z(z) => z.iter().for_each(|(m, s)| f(m, s)),
            Input::S(s) => s.iter().for_each(|m| f(m, 1.0)),
        }
    }

    fn get(&self, member: &[u8]) -> Option<f64> {
        match self {
            Input::Z(z) => z.score(member),
            Input::S(s) => s.contains(member).then_some(1.0),
        }
    }
}

/// The member → score results of a combination.
type Acc = Vec<(Box<[u8]>, f64)>;

/// Combines the inputs at `keys` (with `weights`, same length) as Redis's
/// `zunionInterDiffGenericCommand`: union and intersection visit inputs
/// from the smallest (ties in argument order), so float sums come out as
/// Redis's do. `limit` stops an intersection early (ZINTERCARD; 0: none).
fn combine(tx: &mut Tx<'_>, op: Op, keys: &[&[u8]], weights: &[f64], agg: Aggregate, limit: usize) -> DbResult<Acc> {
    // Types and sizes first: any wrong type is an error before any work.
    let mut inputs = Vec::with_capacity(keys.len());
    for (i, &key) in keys.iter().enumerate() {
        let len = tx.read(key, |v, _| Input::of(v).map(|s| s.len())).transpose()?.unwrap_or(0);
        inputs.push((key, weights.get(i).copied().unwrap_or(1.0), len));
    }
    if op != Op::Diff {
        inputs.sort_by_key(|&(_, _, len)| len);
    }
    let Some(&(first, w0, len0)) = inputs.first() else { return Ok(Vec::new()) };
    if len0 == 0 && op != Op::Union {
        return Ok(Vec::new());
    }
    match op {
        Op::Union => {
            let mut at: hashbrown::HashMap<Box<[u8]>, usize, _> =
                hashbrown::HashMap::with_hasher(ahash::RandomState::new());
            let mut acc: Acc = Vec::new();
            for &(key, w, _) in &inputs {
                tx.read(key, |v, _| {
                    let Ok(input) = Input::of(v) else { return };
                    at.reserve(input.len());
                    input.for_each(|m, s| {
                        let score = weighted(w, s);
                        match at.get(m) {
                            Some(&i) => agg.fold(&mut acc[i].1, score),
                            None => {
                                at.insert(m.into(), acc.len());
                                acc.push((m.into(), score));
                            }
                        }
                    });
                });
            }
            Ok(acc)
        }
        Op::Inter | Op::Diff => {
            let mut acc: Acc = Vec::new();
            let w0 = if op == Op::Diff { 1.0 } else { w0 };
            tx.read(first, |v, _| {
                if let Ok(input) = Input::of(v) {
                    acc.reserve(input.len());
                    input.for_each(|m, s| acc.push((m.into(), if op == Op::Diff { s } else { weighted(w0, s) })));
                }
            });
            for &(key, w, _) in &inputs[1..] {
                if acc.is_empty() {
                    break;
                }
                tx.read(key, |v, _| {
                    let Ok(input) = Input::of(v) else { return };
                    acc.retain_mut(|(m, score)| match (op, input.get(m)) {
                        // Redis multiplies without the NaN fix here.
                        (Op::Inter, Some(s)) => {
                            agg.fold(score, s * w);
                            true
                        }
                        (Op::Inter, None) => false,
                        (_, found) => found.is_none(),
                    });
                });
            }
            if limit > 0 {
                acc.truncate(limit);
            }
            Ok(acc)
        }
    }
}

/// `weight × score`, with Redis's NaN (0 × inf) taken as 0.
#[inline]
fn weighted(w: f64, s: f64) -> f64 {
    let x = w * s;
    if x.is_nan() { 0.0 } else { x }
}

/// Redis's error for `numkeys` < 1, which names the command.
fn no_keys(op: Op, store: bool) -> DbError {
    DbError::Invalid(match (op, store) {
        (Op::Union, false) => "at least 1 input key is needed for 'zunion' command",
        (Op::Union, true) => "at least 1 input key is needed for 'zunionstore' command",
        (Op::Inter, false) => "at least 1 input key is needed for 'zinter' command",
        (Op::Inter, true) => "at least 1 input key is needed for 'zinterstore' command",
        (Op::Diff, false) => "at least 1 input key is needed for 'zdiff' command",
        (Op::Diff, true) => "at least 1 input key is needed for 'zdiffstore' command",
    })
}

fn check(op: Op, store: bool, keys: &[&[u8]], opts: &ZCombineOptions) -> DbResult<Vec<f64>> {
    if keys.is_empty() {
        return Err(no_keys(op, store));
    }
    match &opts.weights {
        Some(w) if w.len() != keys.len() => Err(DbError::Syntax),
        Some(w) if w.iter().any(|w| w.is_nan()) => Err(DbError::WeightNotFloat),
        Some(w) => Ok(w.clone()),
        None => Ok(Vec::new()),
    }
}

impl Db {
    /// ZUNION: every member of the inputs (sorted sets, or sets scoring 1),
    /// scores weighted and aggregated; in order.
    pub fn zunion(&self, keys: &[&[u8]], opts: &ZCombineOptions) -> DbResult<Pairs> {
        self.combined(Op::Union, keys, opts)
    }

    /// ZINTER: the members found in every input, scores weighted and
    /// aggregated; in order.
    pub fn zinter(&self, keys: &[&[u8]], opts: &ZCombineOptions) -> DbResult<Pairs> {
        self.combined(Op::Inter, keys, opts)
    }

    /// ZDIFF: the members of the first input found in no other, with their
    /// scores; in order.
    pub fn zdiff(&self, keys: &[&[u8]]) -> DbResult<Pairs> {
        self.combined(Op::Diff, keys, &ZCombineOptions::default())
    }

    fn combined(&self, op: Op, keys: &[&[u8]], opts: &ZCombineOptions) -> DbResult<Pairs> {
        let weights = check(op, false, keys, opts)?;
        let mut acc = self.tx(keys, |tx| combine(tx, op, keys, &weights, opts.aggregate, 0))?;
        acc.sort_unstable_by(|a, b| cmp_entries((&a.0, a.1), (&b.0, b.1)));
        Ok(acc.into_iter().map(|(m, s)| (m.into_vec(), s)).collect())
    }

    /// ZUNIONSTORE: stores [`Db::zunion`]'s result at `dst` (replacing it,
    /// TTL cleared; deleting it when empty); returns its size.
    pub fn zunionstore(&self, dst: &[u8], keys: &[&[u8]], opts: &ZCombineOptions) -> DbResult<usize> {
        self.combine_store(Op::Union, dst, keys, opts)
    }

    /// ZINTERSTORE: stores [`Db::zinter`]'s result at `dst`; returns its size.
    pub fn zinterstore(&self, dst: &[u8], keys: &[&[u8]], opts: &ZCombineOptions) -> DbResult<usize> {
        self.combine_store(Op::Inter, dst, keys, opts)
    }

    /// ZDIFFSTORE: stores [`Db::zdiff`]'s result at `dst`; returns its size.
    pub fn zdiffstore(&self, dst: &[u8], keys: &[&[u8]]) -> DbResult<usize> {
        self.combine_store(Op::Diff, dst, keys, &ZCombineOptions::default())
    }

    fn combine_store(&self, op: Op, dst: &[u8], keys: &[&[u8]], opts: &ZCombineOptions) -> DbResult<usize> {
        let weights = check(op, true, keys, opts)?;
        let mut all = Vec::with_capacity(keys.len() + 1);
        all.push(dst);
        all.extend_from_slice(keys);
        let event = match op {
            Op::Union => "zunionstore",
            Op::Inter => "zinterstore",
            Op::Diff => "zdiffstore",
        };
        self.tx_grow(&all, |tx| {
            let acc = combine(tx, op, keys, &weights, opts.aggregate, 0)?;
            Ok(store_result(tx, dst, ZSet::from_distinct(acc), event))
        })
    }

    /// ZINTERCARD: the size of [`Db::zinter`]'s result, counting at most
    /// to `limit` (0: no limit).
    pub fn zintercard(&self, keys: &[&[u8]], limit: usize) -> DbResult<usize> {
        if keys.is_empty() {
            return Err(DbError::Invalid("at least 1 input key is needed for 'zintercard' command"));
        }
        Ok(self.tx(keys, |tx| combine(tx, Op::Inter, keys, &[], Aggregate::Sum, limit))?.len())
    }

    /// Whether every key is absent or a sorted set or set (WRONGTYPE
    /// otherwise): Redis checks the inputs before it reads the options.
    fn check_inputs(&self, keys: &[&[u8]]) -> DbResult<()> {
        for key in keys {
            if let Some(Err(e)) = self.read(key, |v| Input::of(v).map(|_| ())) {
                return Err(e);
            }
        }
        Ok(())
    }
}

/// What the parser read.
struct Parsed<'a> {
    keys: Vec<&'a [u8]>,
    opts: ZCombineOptions,
    withscores: bool,
    limit: usize,
}

/// Parses `numkeys key... [options]` with `numkeys` at `a[at]`, as Redis
/// does: `numkeys`, then the key types, then the options.
fn parse<'a>(db: &Db, a: &[&'a [u8]], at: usize, op: Op, store: bool, card: bool) -> DbResult<Parsed<'a>> {
    let numkeys = args::int(a[at])?;
    if numkeys < 1 {
        return Err(if card {
            DbError::Invalid("at least 1 input key is needed for 'zintercard' command")
        } else {
            no_keys(op, store)
        });
    }
    let n = usize::try_from(numkeys).unwrap_or(usize::MAX);
    if n > a.len() - at - 1 {
        return Err(DbError::Syntax);
    }
    let keys = a[at + 1..at + 1 + n].to_vec();
    let rest = &a[at + 1 + n..];
    parse_options(rest, n, op, store, card)
        .map_err(|e| db.check_inputs(&keys).err().unwrap_or(e))
        .map(|(opts, withscores, limit)| Parsed { keys, opts, withscores, limit })
}

fn parse_options(
    rest: &[&[u8]],
    n: usize,
    op: Op,
    store: bool,
    card: bool,
) -> DbResult<(ZCombineOptions, bool, usize)> {
    let (mut opts, mut withscores, mut limit, mut agg_set) = (ZCombineOptions::default(), false, None, false);
    let mut j = 0;
    while let Some(&kw) = rest.get(j) {
        let remaining = rest.len() - j;
        let combinable = op != Op::Diff && !card;
        if combinable && opts.weights.is_none() && remaining > n && is(kw, "WEIGHTS") {
            let w: DbResult<Vec<f64>> =
                rest[j + 1..j + 1 + n].iter().map(|w| args::parse_f64(w).ok_or(DbError::WeightNotFloat)).collect();
            opts.weights = Some(w?);
            j += 1 + n;
        } else if combinable && !agg_set && remaining >= 2 && is(kw, "AGGREGATE") {
            let v = rest[j + 1];
            opts.aggregate = match () {
                () if is(v, "SUM") => Aggregate::Sum,
                () if is(v, "MIN") => Aggregate::Min,
                () if is(v, "MAX") => Aggregate::Max,
                () => return Err(DbError::Syntax),
            };
            agg_set = true;
            j += 2;
        } else if !withscores && !store && !card && is(kw, "WITHSCORES") {
            withscores = true;
            j += 1;
        } else if limit.is_none() && card && remaining >= 2 && is(kw, "LIMIT") {
            let l = args::parse_i64(rest[j + 1]).and_then(|l| usize::try_from(l).ok());
            limit = Some(l.ok_or(DbError::Invalid("LIMIT can't be negative"))?);
            j += 2;
        } else {
            return Err(DbError::Syntax);
        }
    }
    Ok((opts, withscores, limit.unwrap_or(0)))
}

fn combine_reply(db: &Db, a: &[&[u8]], op: Op) -> Reply {
    let pairs = parse(db, a, 1, op, false, false).and_then(|p| {
        let pairs = match op {
            Op::Union => db.zunion(&p.keys, &p.opts),
            Op::Inter => db.zinter(&p.keys, &p.opts),
            Op::Diff => db.zdiff(&p.keys),
        };
        Ok((pairs?, p.withscores))
    });
    match pairs {
        Ok((pairs, withscores)) => pairs_reply(pairs, withscores),
        Err(e) => e.into(),
    }
}

fn store_reply(db: &Db, a: &[&[u8]], op: Op) -> Reply {
    let n = parse(db, a, 2, op, true, false).and_then(|p| match op {
        Op::Union => db.zunionstore(a[1], &p.keys, &p.opts),
        Op::Inter => db.zinterstore(a[1], &p.keys, &p.opts),
        Op::Diff => db.zdiffstore(a[1], &p.keys),
    });
    n.map(Reply::count).into()
}

pub(super) fn cmd_zunion(db: &Db, a: &[&[u8]]) -> Reply {
    combine_reply(db, a, Op::Union)
}

pub(super) fn cmd_zinter(db: &Db, a: &[&[u8]]) -> Reply {
    combine_reply(db, a, Op::Inter)
}

pub(super) fn cmd_zdiff(db: &Db, a: &[&[u8]]) -> Reply {
    combine_reply(db, a, Op::Diff)
}

pub(super) fn cmd_zunionstore(db: &Db, a: &[&[u8]]) -> Reply {
    store_reply(db, a, Op::Union)
}

pub(super) fn cmd_zinterstore(db: &Db, a: &[&[u8]]) -> Reply {
    store_reply(db, a, Op::Inter)
}

pub(super) fn cmd_zdiffstore(db: &Db, a: &[&[u8]]) -> Reply {
    store_reply(db, a, Op::Diff)
}

pub(super) fn cmd_zintercard(db: &Db, a: &[&[u8]]) -> Reply {
    parse(db, a, 1, Op::Inter, false, true).and_then(|p| db.zintercard(&p.keys, p.limit)).map(Reply::count).into()
}
