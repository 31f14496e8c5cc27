//! Argument parsing with Redis's rules: integers as `string2ll` reads them
//! (no sign but `-`, no spaces, no leading zeros), floats as `strtod` with
//! `inf`/`-inf` and no NaN, option keywords in any case, and the range
//! bounds of sorted sets (`(` exclusive scores, `[`/`(`/`-`/`+` lex bounds).

use super::error::{DbError, DbResult};

/// Whether `arg` is the keyword `kw` (ASCII, any case).
#[inline]
pub(crate) fn is(arg: &[u8], kw: &str) -> bool {
    arg.eq_ignore_ascii_case(kw.as_bytes())
}

/// Parses a 64-bit integer exactly as Redis's `string2ll`.
pub(crate) fn parse_i64(arg: &[u8]) -> Option<i64> {
    let (neg, digits) = match arg {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, arg),
    };
    if digits.is_empty() || digits.len() > 20 {
        return None;
    }
    if digits[0] == b'0' {
        return (digits.len() == 1 && !neg).then_some(0);
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if neg {
        if v == 1 << 63 { Some(i64::MIN) } else { i64::try_from(v).ok().map(|x| -x) }
    } else {
        i64::try_from(v).ok()
    }
}

/// An integer argument, or Redis's "not an integer" error.
pub(crate) fn int(arg: &[u8]) -> DbResult<i64> {
    parse_i64(arg).ok_or(DbError::NotInteger)
}

/// A non-negative integer argument that fits `usize`.
pub(crate) fn count(arg: &[u8]) -> DbResult<usize> {
    let n = int(arg)?;
    usize::try_from(n).map_err(|_| DbError::OutOfRange("value is out of range, must be positive"))
}

/// Parses a float as Redis's `strtold`-based readers: decimal or exponent
/// form, `inf`/`+inf`/`-inf` (any case, also `infinity`); no surrounding
/// spaces, no NaN.
pub(crate) fn parse_f64(arg: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(arg).ok()?;
    if s.is_empty() || s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return None;
    }
    let body = s.trim_start_matches(['+', '-']);
    if body.eq_ignore_ascii_case("nan") || s.len() - body.len() > 1 {
        return None;
    }
    // Rust accepts "inf", "infinity" and "nan" in any case; NaN is refused above
    // and hex floats are refused by Rust as by Redis's `strtod` check.
    let f: f64 = s.parse().ok()?;
    // `strtod` reports overflow (`1e400`) as ERANGE, which Redis refuses;
    // only a spelled-out infinity is infinite.
    if f.is_infinite() && !body.to_ascii_lowercase().starts_with("inf") {
        return None;
    }
    (!f.is_nan()).then_some(f)
}

/// A float argument, or Redis's "not a valid float" error.
pub(crate) fn float(arg: &[u8]) -> DbResult<f64> {
    parse_f64(arg).ok_or(DbError::NotFloat)
}

/// One end of a score range: `1.5`, `(1.5` (exclusive), `-inf`, `+inf`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreBound {
    /// The score.
    pub value: f64,
    /// Whether the bound itself is excluded.
    pub exclusive: bool,
}

impl ScoreBound {
    /// Parses a ZRANGEBYSCORE-style bound.
    pub fn parse(arg: &[u8]) -> DbResult<ScoreBound> {
        let (exclusive, rest) = match arg {
            [b'(', rest @ ..] => (true, rest),
            _ => (false, arg),
        };
        let value = parse_f64(rest).ok_or(DbError::MinMaxNotFloat)?;
        Ok(ScoreBound { value, exclusive })
    }

    /// An inclusive bound at `value`.
    pub fn inclusive(value: f64) -> ScoreBound {
        ScoreBound { value, exclusive: false }
    }

    /// Whether `score` is at or above this bound taken as a minimum.
    pub fn below(&self, score: f64) -> bool {
        if self.exclusive { score > self.value } else { score >= self.value }
    }

    /// Whether `score` is at or below this bound taken as a maximum.
    pub fn above(&self, score: f64) -> bool {
        if self.exclusive { score < self.value } else { score <= self.value }
    }
}

/// One end of a lexicographic range: `[a` (inclusive), `(a` (exclusive),
/// `-` (before everything), `+` (after everything).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexBound {
    /// Before every member.
    Min,
    /// After every member.
    Max,
    /// At this member, included.
    Inclusive(Vec<u8>),
    /// At this member, excluded.
    Exclusive(Vec<u8>),
}

impl LexBound {
    /// Parses a ZRANGEBYLEX-style bound.
    pub fn parse(arg: &[u8]) -> DbResult<LexBound> {
        match arg {
            b"-" => Ok(LexBound::Min),
            b"+" => Ok(LexBound::Max),
            [b'[', rest @ ..] => Ok(LexBound::Inclusive(rest.to_vec())),
            [b'(', rest @ ..] => Ok(LexBound::Exclusive(rest.to_vec())),
            _ => Err(DbError::MinMaxNotLex),
        }
    }

    /// Whether `member` is at or after this bound taken as a minimum.
    pub fn below(&self, member: &[u8]) -> bool {
        match self {
            LexBound::Min => true,
            LexBound::Max => false,
            LexBound::Inclusive(b) => member >= b.as_slice(),
            LexBound::Exclusive(b) => member > b.as_slice(),
        }
    }

    /// Whether `member` is at or before this bound taken as a maximum.
    pub fn above(&self, member: &[u8]) -> bool {
        match self {
            LexBound::Min => false,
            LexBound::Max => true,
            LexBound::Inclusive(b) => member <= b.as_slice(),
            LexBound::Exclusive(b) => member < b.as_slice(),
        }
    }
}

/// Converts Redis's start/stop indexes (negative from the end) over a
/// sequence of `len` items into a half-open range, or `None` when empty.
pub(crate) fn index_range(start: i64, stop: i64, len: usize) -> Option<std::ops::Range<usize>> {
    let len_i = i64::try_from(len).unwrap_or(i64::MAX);
    let norm = |i: i64| if i < 0 { i.saturating_add(len_i) } else { i };
    let (start, stop) = (norm(start).max(0), norm(stop));
    if start > stop || start >= len_i {
        return None;
    }
    let stop = stop.min(len_i - 1);
    Some(usize::try_from(start).ok()?..usize::try_from(stop).ok()? + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_parse_as_string2ll() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-12"), Some(-12));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [&b""[..], b"-", b"+1", b" 1", b"1 ", b"01", b"-0", b"9223372036854775808", b"1.0", b"0x10"] {
            assert_eq!(parse_i64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn floats_parse_as_strtod() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b"1e3"), Some(1000.0));
        assert_eq!(parse_f64(b".5"), Some(0.5));
        assert_eq!(parse_f64(b"-Infinity"), Some(f64::NEG_INFINITY));
        for bad in [&b""[..], b"nan", b" 1", b"1x", b"--1", b"abc", b"1e400", b"-1e400"] {
            assert_eq!(parse_f64(bad), None);
        }
    }

    #[test]
    fn bounds_parse() {
        assert_eq!(ScoreBound::parse(b"(1").unwrap(), ScoreBound { value: 1.0, exclusive: true });
        assert_eq!(ScoreBound::parse(b"x"), Err(DbError::MinMaxNotFloat));
        assert_eq!(LexBound::parse(b"[a").unwrap(), LexBound::Inclusive(b"a".to_vec()));
        assert_eq!(LexBound::parse(b"a"), Err(DbError::MinMaxNotLex));
    }

    #[test]
    fn index_ranges_follow_redis() {
        assert_eq!(index_range(0, -1, 3), Some(0..3));
        assert_eq!(index_range(-2, -1, 3), Some(1..3));
        assert_eq!(index_range(-100, 100, 3), Some(0..3));
        assert_eq!(index_range(2, 1, 3), None);
        assert_eq!(index_range(5, 10, 3), None);
        assert_eq!(index_range(0, 0, 0), None);
    }
}
