//! Counters: INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT. The value stays a
//! string (decimal text); the key's time to live is kept.

use super::as_string;
use super::long_double::{LongDouble, Number};
use crate::db::args::{int, parse_i64};
use crate::db::notify::EventClass;
use crate::db::{Db, DbError, DbResult, Reply, Value};

impl Db {
    /// INCR: adds 1 to the integer at `key` (a missing key counts as 0).
    pub fn incr(&self, key: &[u8]) -> DbResult<i64> {
        self.incrby(key, 1)
    }

    /// DECR: subtracts 1 from the integer at `key`.
    pub fn decr(&self, key: &[u8]) -> DbResult<i64> {
        self.incrby(key, -1)
    }

    /// INCRBY: adds `by` to the integer at `key` and returns the result.
    /// The stored string must read as a 64-bit integer by Redis's rules
    /// (`ERR value is not an integer or out of range` otherwise) and the
    /// sum must not overflow.
    pub fn incrby(&self, key: &[u8], by: i64) -> DbResult<i64> {
        self.tx_grow(&[key], |tx| {
            let n = tx.write(key, |slot, _| {
                let old = match as_string(slot)? {
                    None => 0,
                    Some(s) => parse_i64(s).ok_or(DbError::NotInteger)?,
                };
                let n = old.checked_add(by).ok_or(DbError::Overflow)?;
                let mut digits = itoa::Buffer::new();
                let digits = digits.format(n).as_bytes();
                match slot {
                    Some(Value::String(s)) => {
                        s.clear();
                        s.extend_from_slice(digits);
                    }
                    _ => *slot = Some(Value::String(digits.to_vec())),
                }
                Ok(n)
            })?;
            tx.event(EventClass::String, "incrby", key);
            Ok(n)
        })
    }

    /// DECRBY: subtracts `by` from the integer at `key`.
    pub fn decrby(&self, key: &[u8], by: i64) -> DbResult<i64> {
        let by = by.checked_neg().ok_or(DbError::Invalid("decrement would overflow"))?;
        self.incrby(key, by)
    }

    /// INCRBYFLOAT: adds `by` to the number at `key` and returns the
    /// result, computed and stored as Redis does: in 80-bit extended
    /// precision, stored as fixed-point text with at most 17 decimals
    /// (`10.6`, `5200`, never an exponent). `by` counts as the decimal
    /// number it prints as (`0.1` is one tenth). A NaN or infinite result
    /// is refused.
    pub fn incrbyfloat(&self, key: &[u8], by: f64) -> DbResult<f64> {
        if by.is_nan() {
            return Err(DbError::NanOrInfinity);
        }
        let by = LongDouble::parse(&format!("{by:e}")).unwrap_or(Number::Infinite);
        self.incr_float(key, by).map(|(sum, _)| sum.to_f64())
    }

    /// INCRBYFLOAT by a parsed increment: the sum and its stored text.
    fn incr_float(&self, key: &[u8], by: Number) -> DbResult<(LongDouble, String)> {
        self.tx_grow(&[key], |tx| {
            let out = tx.write(key, |slot, _| {
                let old = match as_string(slot)? {
                    None => Number::Finite(LongDouble::ZERO),
                    Some(s) => parse_long_double(s).ok_or(DbError::NotFloat)?,
                };
                let sum = match (old, by) {
                    (Number::Finite(a), Number::Finite(b)) => a.add(b).ok_or(DbError::NanOrInfinity)?,
                    _ => return Err(DbError::NanOrInfinity),
                };
                let text = sum.to_human();
                *slot = Some(Value::String(text.clone().into_bytes()));
                Ok((sum, text))
            })?;
            tx.event(EventClass::String, "incrbyfloat", key);
            Ok(out)
        })
    }
}

pub(super) fn cmd_incr(db: &Db, a: &[&[u8]]) -> Reply {
    db.incr(a[1]).into()
}

pub(super) fn cmd_decr(db: &Db, a: &[&[u8]]) -> Reply {
    db.decr(a[1]).into()
}

pub(super) fn cmd_incrby(db: &Db, a: &[&[u8]]) -> Reply {
    int(a[2]).and_then(|by| db.incrby(a[1], by)).into()
}

pub(super) fn cmd_decrby(db: &Db, a: &[&[u8]]) -> Reply {
    int(a[2]).and_then(|by| db.decrby(a[1], by)).into()
}

/// `INCRBYFLOAT key increment`: replies with the stored text.
pub(super) fn cmd_incrbyfloat(db: &Db, a: &[&[u8]]) -> Reply {
    match parse_long_double(a[2]) {
        Some(by) => db.incr_float(a[1], by).map(|(_, text)| Reply::Bulk(text.into_bytes())).into(),
        // Redis checks the key's type before reading the increment.
        None => match db.read(a[1], |v| matches!(v, Value::String(_))) {
            Some(false) => DbError::WrongType.into(),
            _ => DbError::NotFloat.into(),
        },
    }
}

/// Redis's `MAX_LONG_DOUBLE_CHARS`: longer texts are not numbers.
const MAX_FLOAT_CHARS: usize = 5 * 1024;

/// Reads a number as Redis's `string2ld`: C's `strtold` over the whole
/// text (an optional sign, then decimal digits with an optional point and
/// exponent, or a hexadecimal float such as `0x1.8p3`, or `inf`/`infinity`
/// in any case), no leading space, no NaN, no overflow or underflow to
/// zero, fewer than 5120 bytes.
pub(crate) fn parse_long_double(text: &[u8]) -> Option<Number> {
    let first = *text.first()?;
    // C's isspace: space, \t, \n, \v, \f, \r.
    if text.len() >= MAX_FLOAT_CHARS || matches!(first, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        return None;
    }
    LongDouble::parse(std::str::from_utf8(text).ok()?)
}

#[cfg(test)]
mod tests {
    use super::{LongDouble, Number, parse_long_double};

    fn ld(text: &[u8]) -> Option<String> {
        match parse_long_double(text)? {
            Number::Finite(v) => Some(v.to_human()),
            Number::Infinite => Some("inf".into()),
        }
    }

    #[test]
    fn floats_read_as_string2ld() {
        let cases: &[(&[u8], &str)] = &[
            (b"10.5", "10.5"),
            (b"+1.5", "1.5"),
            (b"-.5", "-0.5"),
            (b"5.", "5"),
            (b"007", "7"),
            (b"1e3", "1000"),
            (b"1E-2", "0.01"),
            (b"0x10", "16"),
            (b"0X1.8p1", "3"),
            (b"-0x.8", "-0.5"),
            (b"0x1p-2", "0.25"),
            (b"inf", "inf"),
            (b"-Infinity", "inf"),
        ];
        for (text, want) in cases {
            assert_eq!(ld(text).as_deref(), Some(*want), "{:?}", String::from_utf8_lossy(text));
        }
        for bad in [
            &b""[..],
            b" 1",
            b"1 ",
            b"\x0b1",
            b"nan",
            b"-nan",
            b"1e",
            b"e1",
            b".",
            b"0x",
            b"0xg",
            b"0x1p",
            b"+-1",
            b"--1",
            b"1.2.3",
            b"abc",
            b"infin",
            b"1\0",
            b"\xff",
            b"1e5000",
        ] {
            assert_eq!(ld(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(ld("1".repeat(4000).as_bytes()).map(|s| s.len()), Some(4000));
        assert_eq!(ld("1".repeat(5120).as_bytes()), None);
        assert_eq!(LongDouble::parse("1e-30").map(|_| ()), Some(()));
    }
}
