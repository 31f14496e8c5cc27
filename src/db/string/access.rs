//! Whole-value reads and writes: GET, SET, SETNX, SETEX, PSETEX, GETSET,
//! GETDEL, GETEX, MGET, MSET, MSETNX.

use super::{Expiration, Extended, GetExOption, SetCondition, SetOptions, SetOutcome, as_string};
use crate::db::args::parse_i64;
use crate::db::notify::EventClass;
use crate::db::{Db, DbError, DbResult, Reply, Value};

impl Db {
    /// GET: the string at `key`.
    pub fn get(&self, key: &[u8]) -> DbResult<Option<Vec<u8>>> {
        self.read(key, |v| match v {
            Value::String(s) => Ok(s.clone()),
            _ => Err(DbError::WrongType),
        })
        .transpose()
    }

    /// SET with options (see [`SetOptions`]). Without `keep_ttl` the key's
    /// old time to live is replaced by `expiration` (none: persistent).
    pub fn set(&self, key: &[u8], value: &[u8], opts: SetOptions) -> DbResult<SetOutcome> {
        self.set_as(key, value, opts, "set")
    }

    /// SET as command `command` (named in its invalid-expire error).
    fn set_as(&self, key: &[u8], value: &[u8], opts: SetOptions, command: &'static str) -> DbResult<SetOutcome> {
        if opts.keep_ttl && opts.expiration.is_some() {
            return Err(DbError::Syntax);
        }
        let value = value.to_vec();
        self.tx_grow(&[key], |tx| {
            let deadline = opts.expiration.map(|e| e.deadline(tx, command)).transpose()?;
            let out = tx.write(key, |slot, ttl| {
                let old = if opts.get { as_string(slot)?.cloned() } else { None };
                let stored = match opts.condition {
                    Some(SetCondition::IfAbsent) => slot.is_none(),
                    Some(SetCondition::IfPresent) => slot.is_some(),
                    None => true,
                };
                if stored {
                    *slot = Some(Value::String(value));
                    if !opts.keep_ttl {
                        *ttl = deadline;
                    }
                }
                Ok(SetOutcome { stored, old })
            })?;
            if out.stored {
                tx.event(EventClass::String, "set", key);
                if deadline.is_some() {
                    tx.event(EventClass::Generic, "expire", key);
                }
            }
            Ok(out)
        })
    }

    /// SETNX: sets `key` only if it does not exist; whether it did.
    pub fn setnx(&self, key: &[u8], value: &[u8]) -> DbResult<bool> {
        let opts = SetOptions { condition: Some(SetCondition::IfAbsent), ..SetOptions::default() };
        Ok(self.set_as(key, value, opts, "setnx")?.stored)
    }

    /// SETEX: sets `key` to expire in `seconds` (which must be positive).
    pub fn setex(&self, key: &[u8], seconds: i64, value: &[u8]) -> DbResult<()> {
        let opts = SetOptions { expiration: Some(Expiration::Seconds(seconds)), ..SetOptions::default() };
        self.set_as(key, value, opts, "setex").map(drop)
    }

    /// PSETEX: sets `key` to expire in `millis` milliseconds (positive).
    pub fn psetex(&self, key: &[u8], millis: i64, value: &[u8]) -> DbResult<()> {
        let opts = SetOptions { expiration: Some(Expiration::Millis(millis)), ..SetOptions::default() };
        self.set_as(key, value, opts, "psetex").map(drop)
    }

    /// GETSET: sets `key` (clearing its time to live) and returns the old
    /// string.
    pub fn getset(&self, key: &[u8], value: &[u8]) -> DbResult<Option<Vec<u8>>> {
        let opts = SetOptions { get: true, ..SetOptions::default() };
        Ok(self.set_as(key, value, opts, "getset")?.old)
    }

    /// GETDEL: removes `key` if it holds a string, returning the string.
    pub fn getdel(&self, key: &[u8]) -> DbResult<Option<Vec<u8>>> {
        self.tx(&[key], |tx| {
            let old = tx.write(key, |slot, _| {
                if as_string(slot)?.is_none() {
                    return Ok(None);
                }
                Ok(match slot.take() {
                    Some(Value::String(s)) => Some(s),
                    _ => None,
                })
            })?;
            if old.is_some() {
                tx.event(EventClass::Generic, "del", key);
            }
            Ok(old)
        })
    }

    /// GETEX: the string at `key`, changing its time to live as `option`
    /// says (none: leave it alone, as GET).
    pub fn getex(&self, key: &[u8], option: Option<GetExOption>) -> DbResult<Option<Vec<u8>>> {
        self.tx(&[key], |tx| {
            let now = tx.now();
            // Checked now, reported only once the key is known to hold a
            // string (Redis's order: missing key, type, then the time).
            let deadline = match option {
                Some(GetExOption::Expire(e)) => Some(e.deadline(tx, "getex")),
                _ => None,
            };
            let (value, effect) = tx.write(key, |slot, ttl| {
                let Some(value) = as_string(slot)?.cloned() else { return Ok((None, None)) };
                let effect = match (option, deadline) {
                    (_, Some(deadline)) => {
                        let deadline = deadline?;
                        if deadline <= now {
                            *slot = None;
                            Some("del")
                        } else {
                            *ttl = Some(deadline);
                            Some("expire")
                        }
                    }
                    (Some(GetExOption::Persist), None) => ttl.take().map(|_| "persist"),
                    _ => None,
                };
                Ok((Some(value), effect))
            })?;
            if let Some(name) = effect {
                tx.event(EventClass::Generic, name, key);
            }
            Ok(value)
        })
    }

    /// MGET: the string at each key (`None` for a missing key or another
    /// type), read atomically.
    pub fn mget(&self, keys: &[&[u8]]) -> Vec<Option<Vec<u8>>> {
        // Their misses overlap here rather than one after another under
        // the locks (see `engine::prefetch`).
        self.item_warm(keys);
        self.tx(keys, |tx| {
            keys.iter()
                .map(|k| {
                    tx.read(k, |v, _| match v {
                        Value::String(s) => Some(s.clone()),
                        _ => None,
                    })
                    .flatten()
                })
                .collect()
        })
    }

    /// MSET: sets every pair atomically (later pairs win), clearing the
    /// keys' times to live.
    pub fn mset(&self, pairs: &[(&[u8], &[u8])]) -> DbResult<()> {
        self.mset_inner(pairs, false).map(drop)
    }

    /// MSETNX: sets every pair only if none of the keys exists; whether it
    /// did. Atomic over all the keys.
    pub fn msetnx(&self, pairs: &[(&[u8], &[u8])]) -> DbResult<bool> {
        self.mset_inner(pairs, true)
    }

    fn mset_inner(&self, pairs: &[(&[u8], &[u8])], only_new: bool) -> DbResult<bool> {
        let keys: Vec<&[u8]> = pairs.iter().map(|&(k, _)| k).collect();
        self.tx_grow(&keys, |tx| {
            if only_new && keys.iter().any(|k| tx.exists(k)) {
                return Ok(false);
            }
            for &(key, value) in pairs {
                tx.put(key, Value::String(value.to_vec()), None);
                tx.event(EventClass::String, "set", key);
            }
            Ok(true)
        })
    }
}

pub(super) fn cmd_get(db: &Db, a: &[&[u8]]) -> Reply {
    db.get(a[1]).into()
}

/// ```text
/// SET key value [NX | XX] [GET] [EX seconds | PX milliseconds |
///     EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]
/// ```
pub(super) fn cmd_set(db: &Db, a: &[&[u8]]) -> Reply {
    let parsed = Extended::parse(&a[3..], true).and_then(|o| {
        let condition = match (o.nx, o.xx) {
            (true, _) => Some(SetCondition::IfAbsent),
            (_, true) => Some(SetCondition::IfPresent),
            _ => None,
        };
        Ok(SetOptions { expiration: o.expiration()?, condition, keep_ttl: o.keep_ttl, get: o.get })
    });
    let opts = match parsed {
        Ok(opts) => opts,
        Err(e) => return e.into(),
    };
    match db.set(a[1], a[2], opts) {
        Err(e) => e.into(),
        Ok(out) if opts.get => Reply::from(out.old),
        Ok(out) if out.stored => Reply::OK,
        Ok(_) => Reply::Null,
    }
}

pub(super) fn cmd_setnx(db: &Db, a: &[&[u8]]) -> Reply {
    db.setnx(a[1], a[2]).into()
}

/// `SETEX key seconds value`
pub(super) fn cmd_setex(db: &Db, a: &[&[u8]]) -> Reply {
    crate::db::args::int(a[2]).and_then(|n| db.setex(a[1], n, a[3])).into()
}

/// `PSETEX key milliseconds value`
pub(super) fn cmd_psetex(db: &Db, a: &[&[u8]]) -> Reply {
    crate::db::args::int(a[2]).and_then(|n| db.psetex(a[1], n, a[3])).into()
}

pub(super) fn cmd_getset(db: &Db, a: &[&[u8]]) -> Reply {
    db.getset(a[1], a[2]).into()
}

pub(super) fn cmd_getdel(db: &Db, a: &[&[u8]]) -> Reply {
    db.getdel(a[1]).into()
}

/// ```text
/// GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds |
///     PXAT unix-time-milliseconds | PERSIST]
/// ```
pub(super) fn cmd_getex(db: &Db, a: &[&[u8]]) -> Reply {
    let o = match Extended::parse(&a[2..], false) {
        Ok(o) => o,
        Err(e) => return e.into(),
    };
    let option = match o.expire {
        Some((kind, n)) => match parse_i64(n) {
            Some(n) => Some(GetExOption::Expire(kind.make(n))),
            // Redis reads the number after looking the key up: a missing
            // key answers nil and another type WRONGTYPE first.
            None => {
                return match db.get(a[1]) {
                    Ok(Some(_)) => DbError::NotInteger.into(),
                    other => other.into(),
                };
            }
        },
        None if o.persist => Some(GetExOption::Persist),
        None => None,
    };
    db.getex(a[1], option).into()
}

pub(super) fn cmd_mget(db: &Db, a: &[&[u8]]) -> Reply {
    Reply::Array(db.mget(&a[1..]).into_iter().map(Reply::from).collect())
}

/// `MSET key value [key value ...]`
pub(super) fn cmd_mset(db: &Db, a: &[&[u8]]) -> Reply {
    match pairs(a) {
        Ok(p) => db.mset(&p).into(),
        Err(e) => e.into(),
    }
}

/// `MSETNX key value [key value ...]`
pub(super) fn cmd_msetnx(db: &Db, a: &[&[u8]]) -> Reply {
    match pairs(a) {
        Ok(p) => db.msetnx(&p).into(),
        Err(e) => e.into(),
    }
}

/// The key/value pairs of MSET and MSETNX (an odd count is an arity error).
fn pairs<'a>(a: &[&'a [u8]]) -> DbResult<Vec<(&'a [u8], &'a [u8])>> {
    let rest = &a[1..];
    if !rest.len().is_multiple_of(2) {
        let name = String::from_utf8_lossy(a[0]).to_lowercase();
        return Err(DbError::WrongArity(name));
    }
    Ok(rest.chunks_exact(2).map(|p| (p[0], p[1])).collect())
}
