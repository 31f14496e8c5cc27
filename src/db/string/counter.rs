//! Counters: INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT. The value stays a
//! string (decimal text); the key's time to live is kept.

use super::as_string;
use crate::db::args::{int, parse_i64};
use crate::db::notify::EventClass;
use crate::db::reply::format_float_fixed;
use crate::db::{Db, DbError, DbResult, Reply, Value};
use std::io::Write as _;

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
                match slot {
                    Some(Value::String(s)) => {
                        s.clear();
                        // Writing to a Vec cannot fail.
                        let _ = write!(s, "{n}");
                    }
                    _ => *slot = Some(Value::String(n.to_string().into_bytes())),
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
    /// result, stored as fixed-point text (`10.5`, `3`, no exponent). A
    /// NaN or infinite result is refused.
    pub fn incrbyfloat(&self, key: &[u8], by: f64) -> DbResult<f64> {
        self.tx_grow(&[key], |tx| {
            let n = tx.write(key, |slot, _| {
                let old = match as_string(slot)? {
                    None => 0.0,
                    Some(s) => parse_long_double(s).ok_or(DbError::NotFloat)?,
                };
                let n = old + by;
                if !n.is_finite() {
                    return Err(DbError::NanOrInfinity);
                }
                *slot = Some(Value::String(format_float_fixed(n).into_bytes()));
                Ok(n)
            })?;
            tx.event(EventClass::String, "incrbyfloat", key);
            Ok(n)
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
        Some(by) => db.incrbyfloat(a[1], by).map(|n| Reply::Bulk(format_float_fixed(n).into_bytes())).into(),
        // Redis checks the key's type before reading the increment.
        None => match db.read(a[1], |v| matches!(v, Value::String(_))) {
            Some(false) => DbError::WrongType.into(),
            _ => DbError::NotFloat.into(),
        },
    }
}

/// Redis's `MAX_LONG_DOUBLE_CHARS`: longer texts are not floats.
const MAX_FLOAT_CHARS: usize = 5 * 1024;

/// Reads a number as Redis's `string2ld` (C's `strtold` over the whole
/// text): an optional sign, then decimal digits with an optional point and
/// exponent, or a hexadecimal float (`0x1.8p3`), or `inf`/`infinity` in any
/// case; no surrounding spaces, no NaN, fewer than 5120 bytes.
///
/// The value is an `f64` where Redis keeps a `long double`: magnitudes past
/// `f64`'s range read as infinities (and then fail as NaN or Infinity) and
/// tiny ones as zero.
pub(crate) fn parse_long_double(text: &[u8]) -> Option<f64> {
    let first = *text.first()?;
    // C's isspace: space, \t, \n, \v, \f, \r.
    if text.len() >= MAX_FLOAT_CHARS || matches!(first, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        return None;
    }
    let s = std::str::from_utf8(text).ok()?;
    let (negative, body) = match first {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let v = if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        parse_hex_float(hex)?
    } else if body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity") {
        f64::INFINITY
    } else if body.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        body.parse::<f64>().ok()?
    } else {
        return None;
    };
    Some(if negative { -v } else { v })
}

/// The part of a C hexadecimal float after `0x`: hex digits with an
/// optional point, then an optional binary exponent `p[+-]digits`.
fn parse_hex_float(hex: &str) -> Option<f64> {
    let (mantissa, exp) = match hex.find(['p', 'P']) {
        Some(i) => (&hex[..i], parse_exponent(&hex[i + 1..])?),
        None => (hex, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut m: u64 = 0;
    let mut exp2 = exp;
    let mut inexact = false;
    for (c, fraction) in int_part.chars().map(|c| (c, false)).chain(frac_part.chars().map(|c| (c, true))) {
        let d = u64::from(c.to_digit(16)?);
        if m >> 60 == 0 {
            m = m << 4 | d;
            exp2 = exp2.saturating_sub(if fraction { 4 } else { 0 });
        } else {
            // Digits past 60 bits only decide the rounding: keep them as
            // a sticky bit far below the 53 bits an f64 keeps.
            inexact |= d != 0;
            exp2 = exp2.saturating_add(if fraction { 0 } else { 4 });
        }
    }
    let m = if inexact { m | 1 } else { m };
    Some(scale_by_power_of_two(m as f64, exp2))
}

/// A decimal exponent: optional sign and at least one digit (saturating).
fn parse_exponent(e: &str) -> Option<i64> {
    let (negative, digits) = match e.as_bytes().first() {
        Some(b'-') => (true, &e[1..]),
        Some(b'+') => (false, &e[1..]),
        _ => (false, e),
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let n = digits.bytes().fold(0i64, |n, c| n.saturating_mul(10).saturating_add(i64::from(c - b'0')));
    Some(if negative { -n } else { n })
}

/// `x * 2^e`, exact while the result is a normal number.
fn scale_by_power_of_two(mut x: f64, e: i64) -> f64 {
    let mut e = e.clamp(-4000, 4000);
    while e != 0 {
        let step = e.clamp(-1000, 1000);
        x *= 2f64.powi(step as i32);
        e -= step;
    }
    x
}

#[cfg(test)]
mod tests {
    use super::parse_long_double as ld;

    #[test]
    fn floats_read_as_strtold() {
        assert_eq!(ld(b"10.5"), Some(10.5));
        assert_eq!(ld(b"+1.5"), Some(1.5));
        assert_eq!(ld(b"-.5"), Some(-0.5));
        assert_eq!(ld(b"5."), Some(5.0));
        assert_eq!(ld(b"007"), Some(7.0));
        assert_eq!(ld(b"1e3"), Some(1000.0));
        assert_eq!(ld(b"1E-2"), Some(0.01));
        assert_eq!(ld(b"0x10"), Some(16.0));
        assert_eq!(ld(b"0X1.8p1"), Some(3.0));
        assert_eq!(ld(b"-0x.8"), Some(-0.5));
        assert_eq!(ld(b"0x1p-2"), Some(0.25));
        assert_eq!(ld(b"0x123456789abcdef0123"), Some(0x123456789abcdef0123u128 as f64));
        assert_eq!(ld(b"inf"), Some(f64::INFINITY));
        assert_eq!(ld(b"-Infinity"), Some(f64::NEG_INFINITY));
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
        ] {
            assert_eq!(ld(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(ld("1".repeat(5119).as_bytes()).map(f64::is_finite), Some(false));
        assert_eq!(ld("1".repeat(5120).as_bytes()), None);
    }
}
