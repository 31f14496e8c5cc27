//! [`Reply`]: what a command answers, independent of any wire protocol. The
//! server turns it into RESP2 or RESP3; in-process callers match on it.

use super::error::DbError;

/// A command's answer, with the shapes RESP3 distinguishes. In RESP2,
/// `Double` is sent as a bulk string, `Map` and `Pairs` as flat arrays,
/// `Set` as an array, and both nulls as RESP2's null bulk or null array.
/// [`Reply::into_resp2_shape`] and [`Reply::into_resp3_shape`] resolve
/// `Pairs` into the arrays each protocol sends.
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
    /// Pairs such as member/score: RESP2 sends them as one flat array,
    /// RESP3 as an array of two-element arrays (ZRANGE … WITHSCORES,
    /// HRANDFIELD … WITHVALUES, …).
    Pairs(Vec<(Reply, Reply)>),
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

    /// This reply as RESP2 shapes it: every [`Reply::Pairs`], however deep,
    /// becomes one flat array `[a1, b1, a2, b2, …]`. Other variants keep
    /// their shape (with their elements converted).
    pub fn into_resp2_shape(self) -> Reply {
        match self {
            Reply::Pairs(pairs) => {
                let mut out = Vec::with_capacity(pairs.len().saturating_mul(2));
                for (a, b) in pairs {
                    out.push(a.into_resp2_shape());
                    out.push(b.into_resp2_shape());
                }
                Reply::Array(out)
            }
            other => other.map_elements(Reply::into_resp2_shape),
        }
    }

    /// This reply as RESP3 shapes it: every [`Reply::Pairs`], however deep,
    /// becomes an array of two-element arrays `[[a1, b1], [a2, b2], …]`.
    /// Other variants keep their shape (with their elements converted).
    pub fn into_resp3_shape(self) -> Reply {
        match self {
            Reply::Pairs(pairs) => Reply::Array(
                pairs
                    .into_iter()
                    .map(|(a, b)| Reply::Array(vec![a.into_resp3_shape(), b.into_resp3_shape()]))
                    .collect(),
            ),
            other => other.map_elements(Reply::into_resp3_shape),
        }
    }

    /// Applies `f` to the elements of an aggregate reply (pairs included),
    /// keeping its variant; scalars are returned as they are.
    fn map_elements(self, f: fn(Reply) -> Reply) -> Reply {
        match self {
            Reply::Array(items) => Reply::Array(items.into_iter().map(f).collect()),
            Reply::Set(items) => Reply::Set(items.into_iter().map(f).collect()),
            Reply::Map(pairs) => Reply::Map(pairs.into_iter().map(|(k, v)| (f(k), f(v))).collect()),
            Reply::Pairs(pairs) => Reply::Pairs(pairs.into_iter().map(|(a, b)| (f(a), f(b))).collect()),
            scalar => scalar,
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
    if f == 0.0 && f.is_sign_negative() {
        return "-0".into();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_as_redis_does() {
        assert_eq!(format_double(1.0), "1");
        assert_eq!(format_double(-3.0), "-3");
        assert_eq!(format_double(-0.0), "-0");
        assert_eq!(format_double(0.0), "0");
        assert_eq!(format_double(1.5), "1.5");
        assert_eq!(format_double(0.1), "0.1");
        assert_eq!(format_double(f64::INFINITY), "inf");
        assert_eq!(format_double(f64::NEG_INFINITY), "-inf");
        assert_eq!(format_double(1e300), "1e+300");
        assert_eq!(format_double(1.5e-7), "1.5e-7");
    }

    fn scored(items: &[(&str, f64)]) -> Reply {
        Reply::Pairs(items.iter().map(|(m, s)| (Reply::bulk(m), Reply::Double(*s))).collect())
    }

    #[test]
    fn pairs_flatten_in_resp2() {
        let r = scored(&[("a", 1.0), ("b", 2.5)]);
        let flat = Reply::Array(vec![Reply::bulk("a"), Reply::Double(1.0), Reply::bulk("b"), Reply::Double(2.5)]);
        assert_eq!(r.into_resp2_shape(), flat);
        assert_eq!(Reply::Pairs(vec![]).into_resp2_shape(), Reply::Array(vec![]));
        // Nested inside aggregates, and pairs of pairs.
        let deep = Reply::Array(vec![
            Reply::Integer(7),
            Reply::Map(vec![(Reply::bulk("k"), scored(&[("x", 3.0)]))]),
            Reply::Set(vec![scored(&[("y", 4.0)])]),
            Reply::Pairs(vec![(Reply::bulk("p"), scored(&[("z", 5.0)]))]),
        ]);
        let want = Reply::Array(vec![
            Reply::Integer(7),
            Reply::Map(vec![(Reply::bulk("k"), Reply::Array(vec![Reply::bulk("x"), Reply::Double(3.0)]))]),
            Reply::Set(vec![Reply::Array(vec![Reply::bulk("y"), Reply::Double(4.0)])]),
            Reply::Array(vec![Reply::bulk("p"), Reply::Array(vec![Reply::bulk("z"), Reply::Double(5.0)])]),
        ]);
        assert_eq!(deep.into_resp2_shape(), want);
        // Everything else is left alone.
        for r in [Reply::OK, Reply::Null, Reply::NullArray, Reply::Integer(1), Reply::bulks(["a", "b"])] {
            assert_eq!(r.clone().into_resp2_shape(), r);
        }
    }

    #[test]
    fn pairs_nest_in_resp3() {
        let pair = |m: &str, s: f64| Reply::Array(vec![Reply::bulk(m), Reply::Double(s)]);
        let r = scored(&[("a", 1.0), ("b", 2.5)]);
        assert_eq!(r.into_resp3_shape(), Reply::Array(vec![pair("a", 1.0), pair("b", 2.5)]));
        assert_eq!(Reply::Pairs(vec![]).into_resp3_shape(), Reply::Array(vec![]));
        let deep = Reply::Array(vec![
            Reply::Map(vec![(Reply::bulk("k"), scored(&[("x", 3.0)]))]),
            Reply::Set(vec![scored(&[("y", 4.0)])]),
            Reply::Pairs(vec![(Reply::bulk("p"), scored(&[("z", 5.0)]))]),
        ]);
        let want = Reply::Array(vec![
            Reply::Map(vec![(Reply::bulk("k"), Reply::Array(vec![pair("x", 3.0)]))]),
            Reply::Set(vec![Reply::Array(vec![pair("y", 4.0)])]),
            Reply::Array(vec![Reply::Array(vec![Reply::bulk("p"), Reply::Array(vec![pair("z", 5.0)])])]),
        ]);
        assert_eq!(deep.into_resp3_shape(), want);
        for r in [Reply::OK, Reply::Null, Reply::NullArray, Reply::Double(1.5), Reply::bulks(["a", "b"])] {
            assert_eq!(r.clone().into_resp3_shape(), r);
        }
    }
}

/// Where a streamed command writes its reply (see
/// [`Command::stream`](super::command::Command::stream)): a server's output
/// buffer, or a [`ReplyBuilder`]. The calls describe one reply: an array
/// announces its length, then that many elements follow.
pub(crate) trait ReplyOut {
    /// An array of `len` elements follows.
    fn array(&mut self, len: usize);
    /// A bulk string.
    fn bulk(&mut self, bytes: &[u8]);
    /// Any other reply (or element).
    fn reply(&mut self, reply: Reply);
}

/// A [`ReplyOut`] that builds the [`Reply`].
#[derive(Debug, Default)]
pub(crate) struct ReplyBuilder {
    /// Arrays being filled: the length announced, the elements so far.
    open: Vec<(usize, Vec<Reply>)>,
    done: Option<Reply>,
}

impl ReplyBuilder {
    /// The reply `write` describes.
    pub(crate) fn build(write: impl FnOnce(&mut dyn ReplyOut)) -> Reply {
        let mut b = ReplyBuilder::default();
        write(&mut b);
        match (b.done, b.open.is_empty()) {
            (Some(reply), true) => reply,
            _ => Reply::Error("ERR internal error: a reply was left incomplete".into()),
        }
    }

    fn push(&mut self, mut reply: Reply) {
        loop {
            let Some((want, items)) = self.open.last_mut() else {
                self.done = Some(reply);
                return;
            };
            items.push(reply);
            if items.len() < *want {
                return;
            }
            let Some((_, items)) = self.open.pop() else { return };
            reply = Reply::Array(items);
        }
    }
}

impl ReplyOut for ReplyBuilder {
    fn array(&mut self, len: usize) {
        if len == 0 {
            self.push(Reply::Array(Vec::new()));
        } else {
            // Capacity grows with what arrives, not with what was announced.
            self.open.push((len, Vec::with_capacity(len.min(1024))));
        }
    }

    fn bulk(&mut self, bytes: &[u8]) {
        self.push(Reply::Bulk(bytes.to_vec()));
    }

    fn reply(&mut self, reply: Reply) {
        self.push(reply);
    }
}

#[cfg(test)]
mod builder_tests {
    use super::*;

    #[test]
    fn builds_nested_arrays_as_announced() {
        let reply = ReplyBuilder::build(|o| {
            o.array(3);
            o.bulk(b"a");
            o.array(2);
            o.reply(Reply::Integer(1));
            o.array(0);
            o.reply(Reply::Null);
        });
        let want = Reply::Array(vec![
            Reply::bulk("a"),
            Reply::Array(vec![Reply::Integer(1), Reply::Array(vec![])]),
            Reply::Null,
        ]);
        assert_eq!(reply, want);
        assert_eq!(ReplyBuilder::build(|o| o.bulk(b"x")), Reply::bulk("x"));
        // An array short of its elements is an error, not a panic.
        assert!(ReplyBuilder::build(|o| o.array(2)).is_error());
        assert!(ReplyBuilder::build(|_| {}).is_error());
    }
}
