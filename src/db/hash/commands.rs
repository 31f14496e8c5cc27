//! The hash commands on fields and counters: HSET, HMSET, HSETNX, HGET,
//! HMGET, HDEL, HEXISTS, HLEN, HSTRLEN, HKEYS, HVALS, HGETALL, HINCRBY,
//! HINCRBYFLOAT. Each is a typed method on [`Db`] plus a parser (`cmd_*`).

use super::Hash;
use crate::db::args;
use crate::db::notify::EventClass;
use crate::db::string::{LongDouble, Number, parse_long_double};
use crate::db::{Db, DbError, DbResult, Reply, Value};

/// The hash in `slot`, created empty when the key is absent (an empty hash
/// left behind is deleted by the keyspace layer); WRONGTYPE, with the slot
/// untouched, for another type.
pub(super) fn hash_or_new(slot: &mut Option<Value>) -> DbResult<&mut Hash> {
    match slot.get_or_insert_with(|| Value::Hash(Box::default())) {
        Value::Hash(h) => Ok(h),
        _ => Err(DbError::WrongType),
    }
}

impl Db {
    /// Runs `f` on the hash at `key`: `None` if the key is absent,
    /// WRONGTYPE if it holds another type.
    pub(super) fn read_hash<R>(&self, key: &[u8], f: impl FnOnce(&Hash) -> R) -> DbResult<Option<R>> {
        self.read(key, |v| match v {
            Value::Hash(h) => Ok(f(h)),
            _ => Err(DbError::WrongType),
        })
        .transpose()
    }

    /// HSET (and HMSET): sets each `(field, value)`, creating the hash if
    /// needed; returns how many fields are new. Keeps the key's TTL.
    pub fn hset(&self, key: &[u8], pairs: &[(&[u8], &[u8])]) -> DbResult<usize> {
        self.tx_grow(&[key], |tx| {
            let created = tx.write_members(key, pairs.iter().map(|(f, _)| *f), |slot, _| {
                let h = hash_or_new(slot)?;
                let mut created = 0;
                for (f, v) in pairs {
                    created += usize::from(h.insert(f, v));
                }
                Ok(created)
            })?;
            if !pairs.is_empty() {
                tx.event(EventClass::Hash, "hset", key);
            }
            Ok(created)
        })
    }

    /// HSETNX: sets `field` only if it does not exist; returns whether it did.
    pub fn hsetnx(&self, key: &[u8], field: &[u8], value: &[u8]) -> DbResult<bool> {
        self.tx_grow(&[key], |tx| {
            let set = tx.write_members(key, [field], |slot, _| {
                let h = hash_or_new(slot)?;
                Ok(h.get(field).is_none() && h.insert(field, value))
            })?;
            if set {
                tx.event(EventClass::Hash, "hset", key);
            }
            Ok(set)
        })
    }

    /// HGET: the value of `field`.
    pub fn hget(&self, key: &[u8], field: &[u8]) -> DbResult<Option<Vec<u8>>> {
        Ok(self.read_hash(key, |h| h.get(field).map(<[u8]>::to_vec))?.flatten())
    }

    /// HMGET: the value of each field (`None` where absent).
    pub fn hmget(&self, key: &[u8], fields: &[&[u8]]) -> DbResult<Vec<Option<Vec<u8>>>> {
        let values = self.read_hash(key, |h| fields.iter().map(|f| h.get(f).map(<[u8]>::to_vec)).collect())?;
        Ok(values.unwrap_or_else(|| vec![None; fields.len()]))
    }

    /// HDEL: removes `fields`; returns how many existed. Deletes the key
    /// when no field is left.
    pub fn hdel(&self, key: &[u8], fields: &[&[u8]]) -> DbResult<usize> {
        self.tx(&[key], |tx| {
            let (removed, emptied) = tx.write_members(key, fields.iter().copied(), |slot, _| match slot {
                None => Ok((0, false)),
                Some(Value::Hash(h)) => {
                    let removed = fields.iter().filter(|f| h.remove(f).is_some()).count();
                    Ok((removed, h.is_empty()))
                }
                Some(_) => Err(DbError::WrongType),
            })?;
            if removed > 0 {
                tx.event(EventClass::Hash, "hdel", key);
            }
            if emptied {
                tx.event(EventClass::Generic, "del", key);
            }
            Ok(removed)
        })
    }

    /// HEXISTS: whether `field` exists.
    pub fn hexists(&self, key: &[u8], field: &[u8]) -> DbResult<bool> {
        Ok(self.read_hash(key, |h| h.get(field).is_some())?.unwrap_or(false))
    }

    /// HLEN: the number of fields.
    pub fn hlen(&self, key: &[u8]) -> DbResult<usize> {
        Ok(self.read_hash(key, Hash::len)?.unwrap_or(0))
    }

    /// HSTRLEN: the length of `field`'s value (0 if absent).
    pub fn hstrlen(&self, key: &[u8], field: &[u8]) -> DbResult<usize> {
        Ok(self.read_hash(key, |h| h.get(field).map_or(0, <[u8]>::len))?.unwrap_or(0))
    }

    /// HKEYS: every field, in no particular order.
    pub fn hkeys(&self, key: &[u8]) -> DbResult<Vec<Vec<u8>>> {
        Ok(self.read_hash(key, |h| h.iter().map(|(f, _)| f.to_vec()).collect())?.unwrap_or_default())
    }

    /// HVALS: every value, in no particular order.
    pub fn hvals(&self, key: &[u8]) -> DbResult<Vec<Vec<u8>>> {
        Ok(self.read_hash(key, |h| h.iter().map(|(_, v)| v.to_vec()).collect())?.unwrap_or_default())
    }

    /// HGETALL: every `(field, value)`, in no particular order.
    pub fn hgetall(&self, key: &[u8]) -> DbResult<Vec<(Vec<u8>, Vec<u8>)>> {
        Ok(self.read_hash(key, |h| h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect())?.unwrap_or_default())
    }

    /// HINCRBY: adds `by` to the integer in `field` (0 if absent); returns
    /// the new value.
    pub fn hincrby(&self, key: &[u8], field: &[u8], by: i64) -> DbResult<i64> {
        self.tx_grow(&[key], |tx| {
            let n = tx.write_members(key, [field], |slot, _| {
                let h = hash_or_new(slot)?;
                let old = match h.get(field) {
                    Some(v) => args::parse_i64(v).ok_or(DbError::HashNotInteger)?,
                    None => 0,
                };
                let n = old.checked_add(by).ok_or(DbError::Overflow)?;
                h.insert(field, n.to_string().as_bytes());
                Ok(n)
            })?;
            tx.event(EventClass::Hash, "hincrby", key);
            Ok(n)
        })
    }

    /// HINCRBYFLOAT: adds `by` to the number in `field` (0 if absent);
    /// returns the new value. Computed and stored as Redis does, as
    /// INCRBYFLOAT: in 80-bit extended precision, stored as fixed-point
    /// text with at most 17 decimals; `by` counts as the decimal number it
    /// prints as.
    pub fn hincrbyfloat(&self, key: &[u8], field: &[u8], by: f64) -> DbResult<f64> {
        if !by.is_finite() {
            return Err(DbError::Invalid("value is NaN or Infinity"));
        }
        let by = LongDouble::parse(&format!("{by:e}")).unwrap_or(Number::Infinite);
        self.hincr_float(key, field, by).map(|(sum, _)| sum.to_f64())
    }

    /// HINCRBYFLOAT by a parsed increment: the sum and its stored text.
    fn hincr_float(&self, key: &[u8], field: &[u8], by: Number) -> DbResult<(LongDouble, String)> {
        let Number::Finite(by) = by else { return Err(DbError::Invalid("value is NaN or Infinity")) };
        self.tx_grow(&[key], |tx| {
            let out = tx.write_members(key, [field], |slot, _| {
                let h = hash_or_new(slot)?;
                let old = match h.get(field) {
                    Some(v) => match parse_long_double(v) {
                        Some(Number::Finite(old)) => old,
                        // An infinite stored value: the sum is infinite too.
                        Some(Number::Infinite) => return Err(DbError::NanOrInfinity),
                        None => return Err(DbError::HashNotFloat),
                    },
                    None => LongDouble::ZERO,
                };
                let sum = old.add(by).ok_or(DbError::NanOrInfinity)?;
                let text = sum.to_human();
                h.insert(field, text.as_bytes());
                Ok((sum, text))
            })?;
            tx.event(EventClass::Hash, "hincrbyfloat", key);
            Ok(out)
        })
    }
}

/// The `(field, value)` pairs of HSET/HMSET, or Redis's arity error for an
/// odd count.
fn pairs<'a>(a: &[&'a [u8]]) -> DbResult<Vec<(&'a [u8], &'a [u8])>> {
    let rest = a.get(2..).unwrap_or_default();
    if rest.len() % 2 != 0 {
        let name = a.first().map_or_else(String::new, |n| String::from_utf8_lossy(n).to_ascii_lowercase());
        return Err(DbError::WrongArity(name));
    }
    Ok(rest.chunks_exact(2).map(|p| (p[0], p[1])).collect())
}

pub(super) fn cmd_hset(db: &Db, a: &[&[u8]]) -> Reply {
    match pairs(a) {
        Ok(p) => db.hset(a[1], &p).map(Reply::count).into(),
        Err(e) => e.into(),
    }
}

pub(super) fn cmd_hmset(db: &Db, a: &[&[u8]]) -> Reply {
    match pairs(a) {
        Ok(p) => db.hset(a[1], &p).map(|_| ()).into(),
        Err(e) => e.into(),
    }
}

pub(super) fn cmd_hsetnx(db: &Db, a: &[&[u8]]) -> Reply {
    db.hsetnx(a[1], a[2], a[3]).into()
}

pub(super) fn cmd_hget(db: &Db, a: &[&[u8]]) -> Reply {
    db.hget(a[1], a[2]).into()
}

pub(super) fn cmd_hmget(db: &Db, a: &[&[u8]]) -> Reply {
    db.hmget(a[1], &a[2..]).map(|vs| Reply::Array(vs.into_iter().map(Reply::from).collect())).into()
}

pub(super) fn cmd_hdel(db: &Db, a: &[&[u8]]) -> Reply {
    db.hdel(a[1], &a[2..]).map(Reply::count).into()
}

pub(super) fn cmd_hexists(db: &Db, a: &[&[u8]]) -> Reply {
    db.hexists(a[1], a[2]).into()
}

pub(super) fn cmd_hlen(db: &Db, a: &[&[u8]]) -> Reply {
    db.hlen(a[1]).map(Reply::count).into()
}

pub(super) fn cmd_hstrlen(db: &Db, a: &[&[u8]]) -> Reply {
    db.hstrlen(a[1], a[2]).map(Reply::count).into()
}

pub(super) fn cmd_hkeys(db: &Db, a: &[&[u8]]) -> Reply {
    db.hkeys(a[1]).map(Reply::bulks).into()
}

pub(super) fn cmd_hvals(db: &Db, a: &[&[u8]]) -> Reply {
    db.hvals(a[1]).map(Reply::bulks).into()
}

pub(super) fn cmd_hgetall(db: &Db, a: &[&[u8]]) -> Reply {
    db.hgetall(a[1])
        .map(|fv| Reply::Map(fv.into_iter().map(|(f, v)| (Reply::Bulk(f), Reply::Bulk(v))).collect()))
        .into()
}

pub(super) fn cmd_hincrby(db: &Db, a: &[&[u8]]) -> Reply {
    match args::int(a[3]) {
        Ok(by) => db.hincrby(a[1], a[2], by).into(),
        Err(e) => e.into(),
    }
}

/// `HINCRBYFLOAT key field increment`: replies with the stored text. The
/// increment is read (as `strtold`) before the key's type is checked.
pub(super) fn cmd_hincrbyfloat(db: &Db, a: &[&[u8]]) -> Reply {
    match parse_long_double(a[3]) {
        Some(by) => db.hincr_float(a[1], a[2], by).map(|(_, text)| Reply::Bulk(text.into_bytes())).into(),
        None => DbError::NotFloat.into(),
    }
}
