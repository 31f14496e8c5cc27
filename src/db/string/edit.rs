//! Parts of strings: APPEND, STRLEN, GETRANGE (alias SUBSTR), SETRANGE.

use super::{as_string_mut, check_len, clamp_range, string_of, string_or_new, to_usize};
use crate::db::args::int;
use crate::db::notify::EventClass;
use crate::db::{Db, DbError, DbResult, Reply, Value};

impl Db {
    /// APPEND: appends `value` to the string at `key` (creating it);
    /// returns the new length. Keeps the key's time to live.
    pub fn append(&self, key: &[u8], value: &[u8]) -> DbResult<usize> {
        self.tx_grow(&[key], |tx| {
            let len = tx.write(key, |slot, _| match as_string_mut(slot)? {
                Some(s) => {
                    check_len(s.len() as u64, value.len() as u64)?;
                    s.extend_from_slice(value);
                    Ok(s.len())
                }
                None => {
                    *slot = Some(Value::String(value.to_vec()));
                    Ok(value.len())
                }
            })?;
            tx.event(EventClass::String, "append", key);
            Ok(len)
        })
    }

    /// STRLEN: the length of the string at `key` (0 if missing).
    pub fn strlen(&self, key: &[u8]) -> DbResult<usize> {
        Ok(self.read(key, |v| string_of(v).map(<[u8]>::len)).transpose()?.unwrap_or(0))
    }

    /// GETRANGE: the bytes of the string at `key` from `start` to `end`
    /// inclusive, negative indexes counting from the end (Redis 7's rules:
    /// both ends clamped into the string; empty if both are negative and
    /// `start > end`).
    pub fn getrange(&self, key: &[u8], start: i64, end: i64) -> DbResult<Vec<u8>> {
        let part = self.read(key, |v| string_of(v).map(|s| substring(s, start, end).to_vec())).transpose()?;
        Ok(part.unwrap_or_default())
    }

    /// SETRANGE: overwrites the string at `key` from byte `offset` with
    /// `value`, zero-padding (and creating the key) as needed; returns the
    /// new length. An empty `value` changes nothing. Keeps the key's time
    /// to live.
    pub fn setrange(&self, key: &[u8], offset: i64, value: &[u8]) -> DbResult<usize> {
        let offset = u64::try_from(offset).map_err(|_| DbError::OutOfRange("offset is out of range"))?;
        self.tx_grow(&[key], |tx| {
            let (len, changed) = tx.write(key, |slot, _| -> DbResult<(usize, bool)> {
                let old_len = as_string_mut(slot)?.map_or(0, |s| s.len());
                if value.is_empty() {
                    return Ok((old_len, false));
                }
                check_len(offset, value.len() as u64)?;
                let start = to_usize(offset)?;
                let end = start + value.len();
                let s = string_or_new(slot, end)?;
                if s.len() < end {
                    s.resize(end, 0);
                }
                if let Some(dst) = s.get_mut(start..end) {
                    dst.copy_from_slice(value);
                }
                Ok((s.len(), true))
            })?;
            if changed {
                tx.event(EventClass::String, "setrange", key);
            }
            Ok(len)
        })
    }
}

/// Redis 7's GETRANGE slice of `s`.
fn substring(s: &[u8], start: i64, end: i64) -> &[u8] {
    if start < 0 && end < 0 && start > end {
        return &[];
    }
    let len = i64::try_from(s.len()).unwrap_or(i64::MAX);
    match clamp_range(start, end, len).map(|(a, b)| (usize::try_from(a), usize::try_from(b))) {
        Some((Ok(start), Ok(end))) => s.get(start..=end).unwrap_or_default(),
        _ => &[],
    }
}

pub(super) fn cmd_append(db: &Db, a: &[&[u8]]) -> Reply {
    db.append(a[1], a[2]).map(Reply::count).into()
}

pub(super) fn cmd_strlen(db: &Db, a: &[&[u8]]) -> Reply {
    db.strlen(a[1]).map(Reply::count).into()
}

/// `GETRANGE key start end` (and `SUBSTR key start end`)
pub(super) fn cmd_getrange(db: &Db, a: &[&[u8]]) -> Reply {
    let range = int(a[2]).and_then(|start| Ok((start, int(a[3])?)));
    range.and_then(|(start, end)| db.getrange(a[1], start, end)).into()
}

/// `SETRANGE key offset value`
pub(super) fn cmd_setrange(db: &Db, a: &[&[u8]]) -> Reply {
    int(a[2]).and_then(|offset| db.setrange(a[1], offset, a[3])).map(Reply::count).into()
}

#[cfg(test)]
mod tests {
    use super::substring;

    #[test]
    fn substring_follows_redis_7() {
        let s = b"Hello World";
        assert_eq!(substring(s, 0, 3), b"Hell");
        assert_eq!(substring(s, -3, -1), b"rld");
        assert_eq!(substring(s, 0, -1), s);
        assert_eq!(substring(s, 10, 100), b"d");
        assert_eq!(substring(s, 5, 3), b"");
        assert_eq!(substring(s, -1, -5), b"");
        // Redis 7 clamps a negative end to 0 (Redis 8 would answer "").
        assert_eq!(substring(s, 0, -100), b"H");
        assert_eq!(substring(s, i64::MIN, i64::MAX), s);
        assert_eq!(substring(b"", 0, -1), b"");
        assert_eq!(substring(b"", 0, 0), b"");
    }
}
