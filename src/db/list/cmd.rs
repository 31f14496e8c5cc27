//! The parsers of the list commands: Redis's argument order and checks,
//! then a call to the typed method and its reply in Redis's shape.
//!
//! ```text
//! LPUSH key element [element ...]          RPUSH, LPUSHX, RPUSHX alike
//! LPOP key [count]                         RPOP alike
//! LRANGE key start stop
//! LINDEX key index
//! LSET key index element
//! LLEN key
//! LREM key count element
//! LTRIM key start stop
//! LINSERT key BEFORE|AFTER pivot element
//! LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
//! LMOVE source destination LEFT|RIGHT LEFT|RIGHT
//! RPOPLPUSH source destination
//! LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]
//! BLPOP key [key ...] timeout              BRPOP alike
//! BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout
//! BRPOPLPUSH source destination timeout
//! BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
//! ```

use super::ops::{COUNT_ZERO, NOT_LONG_MIN, NUMKEYS_ZERO, Popped, RANK_ZERO, read_list};
use super::{End, InsertPosition, LposOptions};
use crate::db::args::{self, is, parse_i64};
use crate::db::blocking::parse_timeout;
use crate::db::{Db, DbError, DbResult, Reply, ReplyBuilder, ReplyOut};

/// The reply of `r`, built by `ok` on success.
fn reply<T>(r: DbResult<T>, ok: impl FnOnce(T) -> Reply) -> Reply {
    r.map_or_else(Reply::from, ok)
}

/// `?` for parsers: the reply of an error.
macro_rules! check {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Reply::from(e),
        }
    };
}

/// `LEFT` or `RIGHT`, any case.
fn parse_end(arg: &[u8]) -> DbResult<End> {
    if is(arg, "LEFT") {
        Ok(End::Left)
    } else if is(arg, "RIGHT") {
        Ok(End::Right)
    } else {
        Err(DbError::Syntax)
    }
}

/// An integer Redis reads as a C `long` in `-LONG_MAX..=LONG_MAX`.
fn parse_long_no_min(arg: &[u8]) -> DbResult<i64> {
    match args::int(arg)? {
        i64::MIN => Err(NOT_LONG_MIN),
        n => Ok(n),
    }
}

/// An option value that must be `>= 0`, with `msg` for anything else.
fn non_negative(arg: &[u8], msg: DbError) -> DbResult<usize> {
    let n = parse_i64(arg).filter(|&n| n >= 0).ok_or(msg)?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// An integer that must be `>= 1`, with `msg` for anything else.
fn positive(arg: &[u8], msg: DbError) -> DbResult<usize> {
    let n = parse_i64(arg).filter(|&n| n >= 1).ok_or(msg)?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// An index argument read after the key lookup (LINDEX, LSET): a bad index
/// only counts when the key holds a list; otherwise the lookup's reply
/// (`absent`, or WRONGTYPE) comes first.
fn index_after_lookup(db: &Db, key: &[u8], arg: &[u8], absent: Reply) -> Result<i64, Reply> {
    match parse_i64(arg) {
        Some(i) => Ok(i),
        None => Err(match read_list(db, key, |_| ()) {
            Ok(None) => absent,
            Ok(Some(())) => DbError::NotInteger.into(),
            Err(e) => e.into(),
        }),
    }
}

fn items_reply(items: Vec<Vec<u8>>) -> Reply {
    Reply::Array(items.into_iter().map(Reply::Bulk).collect())
}

fn popped_reply(popped: Option<Popped>) -> Reply {
    match popped {
        Some((key, items)) => Reply::Array(vec![Reply::Bulk(key), items_reply(items)]),
        None => Reply::NullArray,
    }
}

pub(super) fn lpush(db: &Db, a: &[&[u8]]) -> Reply {
    reply(db.lpush(a[1], &a[2..]), Reply::count)
}

pub(super) fn rpush(db: &Db, a: &[&[u8]]) -> Reply {
    reply(db.rpush(a[1], &a[2..]), Reply::count)
}

pub(super) fn lpushx(db: &Db, a: &[&[u8]]) -> Reply {
    reply(db.lpushx(a[1], &a[2..]), Reply::count)
}

pub(super) fn rpushx(db: &Db, a: &[&[u8]]) -> Reply {
    reply(db.rpushx(a[1], &a[2..]), Reply::count)
}

fn pop(db: &Db, a: &[&[u8]], end: End) -> Reply {
    let count = match a {
        [_, _] => None,
        [_, _, n] => Some(check!(args::count(n))),
        _ => return DbError::WrongArity(if end == End::Left { "lpop" } else { "rpop" }.into()).into(),
    };
    let popped = if end == End::Left { db.lpop(a[1], count) } else { db.rpop(a[1], count) };
    reply(popped, |items| match (items, count) {
        (Some(items), Some(_)) => items_reply(items),
        (Some(items), None) => Reply::bulk_or_null(items.into_iter().next()),
        (None, Some(_)) => Reply::NullArray,
        (None, None) => Reply::Null,
    })
}

pub(super) fn lpop(db: &Db, a: &[&[u8]]) -> Reply {
    pop(db, a, End::Left)
}

pub(super) fn rpop(db: &Db, a: &[&[u8]]) -> Reply {
    pop(db, a, End::Right)
}

pub(super) fn lrange(db: &Db, a: &[&[u8]]) -> Reply {
    ReplyBuilder::build(|out| lrange_to(db, a, out))
}

/// LRANGE written as the list is read (see `Command::stream`).
pub(super) fn lrange_to(db: &Db, a: &[&[u8]], out: &mut dyn ReplyOut) {
    let range = args::int(a[2]).and_then(|start| Ok((start, args::int(a[3])?)));
    let written = range.and_then(|(start, stop)| {
        db.lrange_with(a[1], start, stop, |items| {
            out.array(items.len());
            items.for_each(|item| out.bulk(item));
        })
    });
    if let Err(e) = written {
        out.reply(e.into());
    }
}

pub(super) fn lindex(db: &Db, a: &[&[u8]]) -> Reply {
    let index = match index_after_lookup(db, a[1], a[2], Reply::Null) {
        Ok(i) => i,
        Err(r) => return r,
    };
    db.lindex(a[1], index).into()
}

pub(super) fn lset(db: &Db, a: &[&[u8]]) -> Reply {
    let index = match index_after_lookup(db, a[1], a[2], DbError::NoSuchKey.into()) {
        Ok(i) => i,
        Err(r) => return r,
    };
    db.lset(a[1], index, a[3]).into()
}

pub(super) fn llen(db: &Db, a: &[&[u8]]) -> Reply {
    reply(db.llen(a[1]), Reply::count)
}

pub(super) fn lrem(db: &Db, a: &[&[u8]]) -> Reply {
    let count = check!(parse_long_no_min(a[2]));
    reply(db.lrem(a[1], count, a[3]), Reply::count)
}

pub(super) fn ltrim(db: &Db, a: &[&[u8]]) -> Reply {
    let start = check!(args::int(a[2]));
    let stop = check!(args::int(a[3]));
    db.ltrim(a[1], start, stop).into()
}

pub(super) fn linsert(db: &Db, a: &[&[u8]]) -> Reply {
    let at = if is(a[2], "BEFORE") {
        InsertPosition::Before
    } else if is(a[2], "AFTER") {
        InsertPosition::After
    } else {
        return DbError::Syntax.into();
    };
    db.linsert(a[1], at, a[3], a[4]).into()
}

pub(super) fn lpos(db: &Db, a: &[&[u8]]) -> Reply {
    let mut opts = LposOptions::default();
    let mut j = 3;
    while j < a.len() {
        let (kw, value) = match a.get(j + 1) {
            Some(&v) => (a[j], v),
            None => return DbError::Syntax.into(),
        };
        if is(kw, "RANK") {
            opts.rank = check!(parse_long_no_min(value));
            if opts.rank == 0 {
                return RANK_ZERO.into();
            }
        } else if is(kw, "COUNT") {
            opts.count = Some(check!(non_negative(value, DbError::Invalid("COUNT can't be negative"))));
        } else if is(kw, "MAXLEN") {
            opts.maxlen = check!(non_negative(value, DbError::Invalid("MAXLEN can't be negative")));
        } else {
            return DbError::Syntax.into();
        }
        j += 2;
    }
    reply(db.lpos(a[1], a[2], opts), |found| match opts.count {
        Some(_) => Reply::Array(found.into_iter().map(Reply::count).collect()),
        None => found.first().map_or(Reply::Null, |&i| Reply::count(i)),
    })
}

pub(super) fn lmove(db: &Db, a: &[&[u8]]) -> Reply {
    let from = check!(parse_end(a[3]));
    let to = check!(parse_end(a[4]));
    db.lmove(a[1], a[2], from, to).into()
}

pub(super) fn rpoplpush(db: &Db, a: &[&[u8]]) -> Reply {
    db.rpoplpush(a[1], a[2]).into()
}

/// `numkeys key [key ...] LEFT|RIGHT [COUNT count]` from `a[at]` on.
fn parse_mpop<'a>(a: &[&'a [u8]], at: usize) -> DbResult<(Vec<&'a [u8]>, End, usize)> {
    let numkeys = positive(a[at], NUMKEYS_ZERO)?;
    let end_at = numkeys.checked_add(at + 1).filter(|&i| i < a.len()).ok_or(DbError::Syntax)?;
    let end = parse_end(a[end_at])?;
    let mut count = None;
    let mut j = end_at + 1;
    while j < a.len() {
        match a.get(j + 1) {
            Some(n) if count.is_none() && is(a[j], "COUNT") => count = Some(positive(n, COUNT_ZERO)?),
            _ => return Err(DbError::Syntax),
        }
        j += 2;
    }
    Ok((a[at + 1..end_at].to_vec(), end, count.unwrap_or(1)))
}

pub(super) fn lmpop(db: &Db, a: &[&[u8]]) -> Reply {
    let (keys, end, count) = check!(parse_mpop(a, 1));
    reply(db.lmpop(&keys, end, count), popped_reply)
}

fn bpop(db: &Db, a: &[&[u8]], end: End) -> Reply {
    let (last, keys) = match a.split_last() {
        Some((last, rest)) => (*last, rest.get(1..).unwrap_or_default()),
        None => return DbError::Syntax.into(),
    };
    let timeout = check!(parse_timeout(db, last));
    let popped = if end == End::Left { db.blpop(keys, timeout) } else { db.brpop(keys, timeout) };
    reply(popped, |p| match p {
        Some((key, item)) => Reply::Array(vec![Reply::Bulk(key), Reply::Bulk(item)]),
        None => Reply::NullArray,
    })
}

pub(super) fn blpop(db: &Db, a: &[&[u8]]) -> Reply {
    bpop(db, a, End::Left)
}

pub(super) fn brpop(db: &Db, a: &[&[u8]]) -> Reply {
    bpop(db, a, End::Right)
}

/// The reply of a blocking move: the item, or a null array on timeout
/// (Redis answers every timed-out list wait with `*-1`).
fn moved_reply(item: Option<Vec<u8>>) -> Reply {
    item.map_or(Reply::NullArray, Reply::Bulk)
}

pub(super) fn blmove(db: &Db, a: &[&[u8]]) -> Reply {
    let from = check!(parse_end(a[3]));
    let to = check!(parse_end(a[4]));
    let timeout = check!(parse_timeout(db, a[5]));
    reply(db.blmove(a[1], a[2], from, to, timeout), moved_reply)
}

pub(super) fn brpoplpush(db: &Db, a: &[&[u8]]) -> Reply {
    let timeout = check!(parse_timeout(db, a[3]));
    reply(db.brpoplpush(a[1], a[2], timeout), moved_reply)
}

pub(super) fn blmpop(db: &Db, a: &[&[u8]]) -> Reply {
    let (keys, end, count) = check!(parse_mpop(a, 2));
    let timeout = check!(parse_timeout(db, a[1]));
    reply(db.blmpop(&keys, end, count, timeout), popped_reply)
}
