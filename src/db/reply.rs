//! [`Reply`]: what a command answers, independent of any wire protocol. The
//! server turns it into RESP2 or RESP3; in-process callers match on it.

use super::error::DbError;

/// A command's answer, with the shapes RESP3 distinguishes. In RESP2,
/// `Double` is sent as a bulk string, `Map` as a flat array, `Set` as an
/// array, and both nulls as RESP2's null bulk or null array.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A status line such as `OK` or `PONG`.
    Simple(&'static str),
    /// An error line, prefix included (`ERR …`, `WRONGTYPE …`).
    Error(String),
    /// An integer.
    Integer(i64),
    /// A binary-safe string.
    Bulk(Vec<u8>),
    /// A floating-point number (scores, INCRBYFLOAT results in RESP3).
    Double(f64),
    /// No value (a missing key): RESP2 `$-1`, RESP3 `_`.
    Null,
    /// No array (a blocking pop that timed out): RESP2 `*-1`, RESP3 `_`.
    NullArray,
    /// An ordered list of replies.
    Array(Vec<Reply>),
    /// Key/value pairs (HGETALL, …).
    Map(Vec<(Reply, Reply)>),
    /// An unordered collection of distinct replies (SMEMBERS, …).
    Set(Vec<Reply>),
}

impl Reply {
    /// `+OK`.
    pub const OK: Reply = Reply::Simple("OK");

    /// A bulk reply of `bytes`.
    pub fn bulk(bytes: impl AsRef<[u8]>) -> Reply {
        Reply::Bulk(bytes.as_ref().to_vec())
    }

    /// A bulk reply, or null for `None`.
    pub fn bulk_or_null<B: AsRef<[u8]>>(bytes: Option<B>) -> Reply {
        bytes.map_or(Reply::Null, Reply::bulk)
    }

    /// An array of bulk replies.
    pub fn bulks<B: AsRef<[u8]>>(items: impl IntoIterator<Item = B>) -> Reply {
        Reply::Array(items.into_iter().map(Reply::bulk).collect())
    }

    /// An integer reply from a count (saturating at `i64::MAX`).
    pub fn count(n: usize) -> Reply {
        Reply::Integer(i64::try_from(n).unwrap_or(i64::MAX))
    }

    /// Whether this is an error reply.
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    /// The bytes of a bulk or simple reply.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Reply::Bulk(b) => Some(b),
            Reply::Simple(s) => Some(s.as_bytes()),
            _ => None,
        }
    }

    /// The value of an integer reply.
    pub fn as_integer(&self) -> Option<i64> {
        match self {
            Reply::Integer(n) => Some(*n),
            _ => None,
        }
    }
}

impl From<DbError> for Reply {
    fn from(e: DbError) -> Self {
        Reply::Error(e.to_string())
    }
}

impl<T: Into<Reply>> From<Result<T, DbError>> for Reply {
    fn from(r: Result<T, DbError>) -> Self {
        r.map_or_else(Reply::from, Into::into)
    }
}

impl From<i64> for Reply {
    fn from(n: i64) -> Self {
        Reply::Integer(n)
    }
}

impl From<bool> for Reply {
    fn from(b: bool) -> Self {
        Reply::Integer(i64::from(b))
    }
}

impl From<Vec<u8>> for Reply {
    fn from(b: Vec<u8>) -> Self {
        Reply::Bulk(b)
    }
}

impl From<Option<Vec<u8>>> for Reply {
    fn from(b: Option<Vec<u8>>) -> Self {
        b.map_or(Reply::Null, Reply::Bulk)
    }
}

impl From<()> for Reply {
    fn from((): ()) -> Self {
        Reply::OK
    }
}

/// Formats a score or float the way Redis 7.2 does: integral values without
/// a fraction, others in the shortest form that reads back to the same
/// number, `inf`/`-inf` for infinities, exponent form for very large or
/// small magnitudes.
pub fn format_double(f: f64) -> String {
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if f.is_nan() {
        return "nan".into();
    }
    if f == f.trunc() && f.abs() < 1e17 {
        // Integral: print without a fraction.
        return format!("{}", f as i64);
    }
    let a = f.abs();
    if !(1e-5..1e17).contains(&a) {
        // Exponent form: Rust prints `1e300`, Redis `1e+300`.
        let s = format!("{f:e}");
        return match s.split_once('e') {
            Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
            _ => s,
        };
    }
    format!("{f}")
}

/// Formats a float as INCRBYFLOAT and HINCRBYFLOAT store it: fixed point,
/// shortest digits that read back to the same number, no exponent.
pub(crate) fn format_float_fixed(f: f64) -> String {
    if f == f.trunc() && f.abs() < 1e17 {
        return format!("{}", f as i64);
    }
    format!("{f}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_as_redis_does() {
        assert_eq!(format_double(1.0), "1");
        assert_eq!(format_double(-3.0), "-3");
        assert_eq!(format_double(1.5), "1.5");
        assert_eq!(format_double(0.1), "0.1");
        assert_eq!(format_double(f64::INFINITY), "inf");
        assert_eq!(format_double(f64::NEG_INFINITY), "-inf");
        assert_eq!(format_double(1e300), "1e+300");
        assert_eq!(format_double(1.5e-7), "1.5e-7");
        assert_eq!(format_float_fixed(10.5 + 0.1), "10.6");
        assert_eq!(format_float_fixed(3.0), "3");
        assert_eq!(format_float_fixed(1e20), "100000000000000000000");
    }
}
