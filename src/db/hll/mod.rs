//! HyperLogLog over strings: PFADD, PFCOUNT, PFMERGE.
//!
//! A HyperLogLog is a string (`TYPE` says `string`) in Redis's own format
//! (see `sketch`), so GET/SET copy it and values from Redis work here. A
//! string that is not a sketch answers `WRONGTYPE Key is not a valid
//! HyperLogLog string value.`; a sketch whose sparse runs are broken
//! answers `INVALIDOBJ Corrupted HLL object detected`. PFADD and PFMERGE
//! keep the key's time to live.

mod sketch;
#[cfg(test)]
mod tests;

use super::command::{Command, DENYOOM, WRITE};
use super::notify::EventClass;
use super::string::string_of;
use super::{Db, DbError, DbResult, Reply, Value};
use sketch::Encoding;

pub(super) const COMMANDS: &[Command] = &[
    Command { name: "pfadd", arity: -2, flags: WRITE | DENYOOM, run: cmd_pfadd, stream: None },
    Command { name: "pfcount", arity: -2, flags: 0, run: cmd_pfcount, stream: None },
    Command { name: "pfmerge", arity: -2, flags: WRITE | DENYOOM, run: cmd_pfmerge, stream: None },
];

impl Db {
    /// PFADD: adds `elements` to the HyperLogLog at `key` (creating it,
    /// even with no elements); whether its estimate may have changed.
    pub fn pfadd(&self, key: &[u8], elements: &[&[u8]]) -> DbResult<bool> {
        self.tx_grow(&[key], |tx| {
            let updated = tx.write(key, |slot, _| add(slot, elements))?;
            if updated {
                tx.event(EventClass::String, "pfadd", key);
            }
            Ok(updated)
        })
    }

    /// PFCOUNT: the estimated number of distinct elements added to the
    /// HyperLogLog at `key`, or to the union of several (which are left
    /// unchanged); missing keys count as empty. A single key's estimate is
    /// cached in the sketch, as Redis does.
    pub fn pfcount(&self, keys: &[&[u8]]) -> DbResult<u64> {
        match keys {
            [] => Ok(0),
            [key] => self.pfcount_one(key),
            _ => self.tx(keys, |tx| {
                let mut union = sketch::zeroed();
                for key in keys {
                    tx.read(key, |v, _| merge_value(&mut union, v)).transpose()?;
                }
                Ok(sketch::count(&union))
            }),
        }
    }

    fn pfcount_one(&self, key: &[u8]) -> DbResult<u64> {
        // Under the read lock: the cached estimate, if still valid.
        let cached = self.read(key, |v| {
            let s = string_of(v)?;
            sketch::encoding(s)?;
            Ok(sketch::cached(s))
        });
        match cached.transpose()? {
            None => return Ok(0),
            Some(Some(n)) => return Ok(n),
            Some(None) => {}
        }
        self.tx(&[key], |tx| {
            tx.write(key, |slot, _| match slot {
                None => Ok(0),
                Some(Value::String(s)) => {
                    let enc = sketch::encoding(s)?;
                    if let Some(n) = sketch::cached(s) {
                        return Ok(n);
                    }
                    let n = sketch::count_of(s, enc)?;
                    sketch::set_cached(s, n);
                    Ok(n)
                }
                Some(_) => Err(DbError::WrongType),
            })
        })
    }

    /// PFMERGE: stores at `dest` the union of its own HyperLogLog (if any)
    /// and those at `sources` (missing ones count as empty).
    pub fn pfmerge(&self, dest: &[u8], sources: &[&[u8]]) -> DbResult<()> {
        let keys: Vec<&[u8]> = std::iter::once(dest).chain(sources.iter().copied()).collect();
        self.tx_grow(&keys, |tx| {
            let mut union = sketch::zeroed();
            let mut dense = false;
            for key in &keys {
                if let Some(enc) = tx.read(key, |v, _| merge_value(&mut union, v)).transpose()? {
                    dense |= enc == Encoding::Dense;
                }
            }
            // Dense stays dense, as in Redis: the result is dense if any
            // input (the destination included) was.
            tx.write(dest, |slot, _| {
                let old = match slot {
                    Some(Value::String(s)) => Some(s.as_slice()),
                    _ => None,
                };
                let merged = sketch::encode(&union, !dense, old);
                *slot = Some(Value::String(merged));
            });
            tx.event(EventClass::String, "pfadd", dest);
            Ok(())
        })
    }
}

/// PFADD on one slot.
fn add(slot: &mut Option<Value>, elements: &[&[u8]]) -> DbResult<bool> {
    let s = match slot {
        None => {
            let mut regs = sketch::zeroed();
            elements.iter().for_each(|e| _ = sketch::raise(&mut regs, sketch::hash(e)));
            // Created with a stale cached estimate, as Redis's PFADD leaves it.
            *slot = Some(Value::String(sketch::encode(&regs, true, None)));
            return Ok(true);
        }
        Some(Value::String(s)) => s,
        Some(_) => return Err(DbError::WrongType),
    };
    let enc = sketch::encoding(s)?;
    if elements.is_empty() {
        return Ok(false);
    }
    let changed = match enc {
        Encoding::Dense => elements.iter().fold(false, |changed, e| sketch::dense_add(s, e) | changed),
        Encoding::Sparse => {
            let mut regs = sketch::decode(s, enc)?;
            let changed = elements.iter().fold(false, |changed, e| sketch::raise(&mut regs, sketch::hash(e)) | changed);
            if changed {
                *s = sketch::encode(&regs, true, Some(s));
            }
            changed
        }
    };
    if changed && enc == Encoding::Dense {
        sketch::invalidate(s);
    }
    Ok(changed)
}

/// Raises `union` to the sketch in `v`; its encoding.
fn merge_value(union: &mut sketch::Registers, v: &Value) -> DbResult<Encoding> {
    let s = string_of(v)?;
    let enc = sketch::encoding(s)?;
    sketch::merge_into(union, s, enc)?;
    Ok(enc)
}

/// `PFADD key [element ...]`
fn cmd_pfadd(db: &Db, a: &[&[u8]]) -> Reply {
    db.pfadd(a[1], &a[2..]).into()
}

/// `PFCOUNT key [key ...]`
fn cmd_pfcount(db: &Db, a: &[&[u8]]) -> Reply {
    db.pfcount(&a[1..]).map(|n| Reply::Integer(i64::try_from(n).unwrap_or(i64::MAX))).into()
}

/// `PFMERGE destkey [sourcekey ...]`
fn cmd_pfmerge(db: &Db, a: &[&[u8]]) -> Reply {
    db.pfmerge(a[1], &a[2..]).into()
}
