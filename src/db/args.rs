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

/// A SCAN cursor (SCAN, SSCAN, HSCAN, ZSCAN), read as Redis's
/// `parseScanCursorOrReply` does with C's `strtoul`: decimal, an optional
/// sign (`-n` wraps around, as in C; `-0` is 0), no leading space, at most
/// 2^64-1; an empty text is cursor 0.
pub(crate) fn cursor(arg: &[u8]) -> DbResult<u64> {
    let bad = || DbError::Invalid("invalid cursor");
    if arg.is_empty() {
        return Ok(0);
    }
    let (neg, digits) = match arg {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, arg),
    };
    if digits.is_empty() {
        return Err(bad());
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return Err(bad());
        }
        v = v.checked_mul(10).and_then(|v| v.checked_add(u64::from(c - b'0'))).ok_or_else(bad)?;
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// A non-negative integer argument that fits `usize` (the count of
/// LPOP/RPOP, SPOP, ZPOPMIN/ZPOPMAX): Redis's `getPositiveLongFromObjectOrReply`,
/// whose one error covers a non-integer too.
pub(crate) fn count(arg: &[u8]) -> DbResult<usize> {
    parse_i64(arg)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or(DbError::OutOfRange("value is out of range, must be positive"))
}

/// Parses a float as Redis's `strtod`-based readers (`string2d`): decimal
/// or exponent form, C99 hex floats (`0x10`, `0x1.8p3`), `inf`/`+inf`/
/// `-inf` (any case, also `infinity`); no surrounding spaces, no NaN, and
/// nothing `strtod` flags `ERANGE` with an infinite or zero result
/// (`1e400`, `1e-400`).
pub(crate) fn parse_f64(arg: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(arg).ok()?;
    if s.is_empty() || s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return None;
    }
    let body = s.trim_start_matches(['+', '-']);
    if body.eq_ignore_ascii_case("nan") || s.len() - body.len() > 1 {
        return None;
    }
    if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        return parse_hex_f64(hex).map(|f| if s.starts_with('-') { -f } else { f });
    }
    // Rust accepts "inf", "infinity" and "nan" in any case; NaN is refused above.
    let f: f64 = s.parse().ok()?;
    // `strtod` reports overflow (`1e400`) as ERANGE, which Redis refuses;
    // only a spelled-out infinity is infinite.
    if f.is_infinite() && !body.to_ascii_lowercase().starts_with("inf") {
        return None;
    }
    // Underflow to zero (`1e-400`) is ERANGE too; a written zero is not.
    let mantissa = body.split(['e', 'E']).next().unwrap_or("");
    if f == 0.0 && mantissa.bytes().any(|b| matches!(b, b'1'..=b'9')) {
        return None;
    }
    (!f.is_nan()).then_some(f)
}

/// The digits of a hex float after `0x` (`1.8p3`), correctly rounded (ties
/// to even) as `strtod` does; `None` if malformed, if it overflows or if
/// it underflows to zero.
fn parse_hex_f64(hex: &str) -> Option<f64> {
    let (mantissa, exp) = match hex.find(['p', 'P']) {
        Some(at) => {
            let e = &hex[at + 1..];
            let digits = e.trim_start_matches(['+', '-']);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || e.len() - digits.len() > 1 {
                return None;
            }
            // Saturate: anything this large over- or underflows anyway.
            let n = digits.parse::<i64>().unwrap_or(i64::MAX / 4).min(i64::MAX / 4);
            (&hex[..at], if e.starts_with('-') { -n } else { n })
        }
        None => (hex, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    // value = m × 2^exp, keeping the first 64 significant bits of the digits
    // in `m` and whether any later one is set in `sticky`.
    let (mut m, mut exp, mut sticky) = (0u64, exp, false);
    for (i, c) in int.chars().chain(frac.chars()).enumerate() {
        let d = u64::from(c.to_digit(16)?);
        let in_fraction = i >= int.len();
        if m >> 60 == 0 {
            m = m << 4 | d;
            if in_fraction {
                exp -= 4;
            }
        } else {
            sticky |= d != 0;
            if !in_fraction {
                exp += 4;
            }
        }
    }
    if m == 0 {
        return Some(0.0);
    }
    let lead = i64::from(m.leading_zeros());
    m <<= lead;
    exp -= lead;
    // The top bit of m is worth 2^(exp + 63).
    let top = exp + 63;
    if top > 1023 {
        return None;
    }
    // Significant bits the result keeps: 53, fewer for subnormals.
    let keep = if top >= -1022 { 53 } else { 53 - (-1022 - top) };
    if keep < 0 {
        return None;
    }
    let drop = 64 - keep;
    let (kept, rest) = if drop >= 64 { (0, m) } else { (m >> drop, m & ((1u64 << drop) - 1)) };
    let half = 1u64 << (drop - 1);
    let up = rest > half || (rest == half && (sticky || kept & 1 == 1));
    let kept = kept + u64::from(up);
    if kept == 0 {
        return None;
    }
    // kept × 2^(exp + drop), exact: scale in two steps to stay normal.
    let e = exp + drop;
    let pow2 = |e: i64| f64::from_bits(u64::try_from(e + 1023).unwrap_or(0) << 52);
    // Exact: at most 53 significant bits (a carry makes a power of two).
    let x = kept as f64;
    let f = if e < -1000 { x * pow2(e + 128) * pow2(-128) } else { x * pow2(e) };
    f.is_finite().then_some(f)
}

/// Reads the longest prefix of `s` that C's `strtod` converts (after
/// leading white space), returning the value and the unread rest; no
/// conversion leaves all of `s` unread and reads 0.
fn strtod_prefix(s: &str) -> (f64, &str) {
    let t = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let b = t.as_bytes();
    let sign = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let neg = b.first() == Some(&b'-');
    let rest = &t[sign..];
    for word in ["infinity", "inf", "nan"] {
        if rest.len() >= word.len() && rest[..word.len()].eq_ignore_ascii_case(word) {
            let v = if word == "nan" { f64::NAN } else { f64::INFINITY };
            return (if neg { -v } else { v }, &rest[word.len()..]);
        }
    }
    let digits_end = |t: &str, hex: bool| {
        t.find(|c: char| !(c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()))).unwrap_or(t.len())
    };
    let hex = rest.len() > 2 && rest[..2].eq_ignore_ascii_case("0x") && {
        let r = &rest[2..];
        r.starts_with(|c: char| c.is_ascii_hexdigit())
            || (r.starts_with('.') && r[1..].starts_with(|c: char| c.is_ascii_hexdigit()))
    };
    let start = if hex { 2 } else { 0 };
    // Mantissa: digits, optionally a point and more digits; at least one digit.
    let int_len = digits_end(&rest[start..], hex);
    let mut end = start + int_len;
    let mut any_digit = int_len > 0;
    if rest[end..].starts_with('.') {
        let f = digits_end(&rest[end + 1..], hex);
        any_digit |= f > 0;
        end += 1 + f;
    }
    if !any_digit {
        return (0.0, s);
    }
    // An exponent only if it has digits.
    let marker = if hex { ['p', 'P'] } else { ['e', 'E'] };
    if rest[end..].starts_with(marker) {
        let e = &rest[end + 1..];
        let signed = usize::from(e.starts_with(['+', '-']));
        let n = digits_end(&e[signed..], false);
        if n > 0 {
            end += 1 + signed + n;
        }
    }
    let text = &t[..sign + end];
    let v = if hex {
        let h = &rest[2..end];
        let f = parse_hex_f64(h).unwrap_or_else(|| {
            // Out of range: infinity on overflow, zero on underflow.
            let top_exp = h.find(['p', 'P']).map_or(0, |at| h[at + 1..].parse::<i64>().unwrap_or(0));
            if top_exp > 0 { f64::INFINITY } else { 0.0 }
        });
        if neg { -f } else { f }
    } else {
        text.parse().unwrap_or(0.0)
    };
    (v, &rest[end..])
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
    /// Parses a ZRANGEBYSCORE-style bound as Redis's `zslParseRange`:
    /// plain `strtod`, which the whole text must be, NaN refused. Looser
    /// than a score: leading white space, out-of-range values (`1e400` is
    /// infinite) and an empty text (zero: `(` is `(0`) are accepted.
    pub fn parse(arg: &[u8]) -> DbResult<ScoreBound> {
        let (exclusive, rest) = match arg {
            [b'(', rest @ ..] => (true, rest),
            _ => (false, arg),
        };
        let text = std::str::from_utf8(rest).map_err(|_| DbError::MinMaxNotFloat)?;
        let (value, unread) = strtod_prefix(text);
        if !unread.is_empty() || value.is_nan() {
            return Err(DbError::MinMaxNotFloat);
        }
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
    fn cursors_parse_as_strtoul() {
        assert_eq!(cursor(b"0"), Ok(0));
        assert_eq!(cursor(b""), Ok(0));
        assert_eq!(cursor(b"-0"), Ok(0));
        assert_eq!(cursor(b"+7"), Ok(7));
        assert_eq!(cursor(b"-1"), Ok(u64::MAX));
        assert_eq!(cursor(b"18446744073709551615"), Ok(u64::MAX));
        for bad in [&b"18446744073709551616"[..], b" 1", b"1 ", b"-", b"x", b"0x10", b"1.5"] {
            assert_eq!(cursor(bad), Err(DbError::Invalid("invalid cursor")), "{bad:?}");
        }
    }

    #[test]
    fn counts_have_one_error() {
        // Found by the differential test: `LPOP k x` is "out of range,
        // must be positive" in Redis, not "not an integer".
        let positive = Err(DbError::OutOfRange("value is out of range, must be positive"));
        assert_eq!(count(b"3"), Ok(3));
        assert_eq!(count(b"-1"), positive);
        assert_eq!(count(b"x"), positive);
        assert_eq!(count(b"9223372036854775808"), positive);
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
    fn floats_parse_hex_and_refuse_underflow_as_strtod() {
        // Found by the differential test: Redis's strtod reads hex floats
        // (`ZADD z 0x10 m` scores 16) and refuses an underflow to zero.
        assert_eq!(parse_f64(b"0x10"), Some(16.0));
        assert_eq!(parse_f64(b"-0X1.8p1"), Some(-3.0));
        assert_eq!(parse_f64(b"0x.8"), Some(0.5));
        assert_eq!(parse_f64(b"0x1p-1074"), Some(f64::from_bits(1)));
        assert_eq!(parse_f64(b"0x1.fffffffffffff8p0"), Some(2.0), "ties to even, up");
        assert_eq!(parse_f64(b"0x1.00000000000008p0"), Some(1.0), "ties to even, down");
        assert_eq!(parse_f64(b"0x1.000000000000081p0"), Some(1.0 + f64::EPSILON), "above the tie");
        assert_eq!(parse_f64(b"0x1.fffffffffffffp1023"), Some(f64::MAX));
        assert_eq!(parse_f64(b"0x0p99999"), Some(0.0));
        assert_eq!(parse_f64(b"1e-310"), Some(1e-310), "a subnormal is not refused");
        assert_eq!(parse_f64(b"0e-400"), Some(0.0), "a written zero is not an underflow");
        for bad in [&b"0x"[..], b"0x1p", b"0xg", b"0x1p+", b"0x1p1024", b"0x1p-1076", b"1e-400", b"0x1.0.0", b"0x1 "] {
            assert_eq!(parse_f64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn score_bounds_parse_as_zsl_parse_range() {
        // Found by the differential test: Redis reads range bounds with a
        // bare strtod, so "", "(" (zero), " 1" and "1e400" are bounds.
        let b = |s: &str| ScoreBound::parse(s.as_bytes());
        assert_eq!(b(""), Ok(ScoreBound { value: 0.0, exclusive: false }));
        assert_eq!(b("("), Ok(ScoreBound { value: 0.0, exclusive: true }));
        assert_eq!(b(" 1"), Ok(ScoreBound { value: 1.0, exclusive: false }));
        assert_eq!(b("(\t-2.5"), Ok(ScoreBound { value: -2.5, exclusive: true }));
        assert_eq!(b("1e400"), Ok(ScoreBound { value: f64::INFINITY, exclusive: false }));
        assert_eq!(b("-1e-400").map(|s| s.value), Ok(0.0));
        assert_eq!(b("0x10"), Ok(ScoreBound { value: 16.0, exclusive: false }));
        assert_eq!(b("1e"), Err(DbError::MinMaxNotFloat), "the exponent without digits is left unread");
        assert_eq!(b("5."), Ok(ScoreBound { value: 5.0, exclusive: false }));
        for bad in [" ", "1 ", "((1", "[1", "nan", "x", "(nan", "0x", "1e+", "."] {
            assert_eq!(b(bad), Err(DbError::MinMaxNotFloat), "{bad:?}");
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
