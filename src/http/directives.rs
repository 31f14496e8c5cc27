//! Parsing of the headers that decide caching: `Cache-Control` (request and
//! response), `Pragma`, `Vary`, `Age`, `Expires` and `Date`.
//!
//! Parsers work on raw header bytes and never fail: a directive they do not
//! understand is ignored, a malformed freshness value is remembered as
//! [`Seconds::Invalid`] (RFC 9111 §4.2.1: such a response is stale, so it is
//! not stored), and an undecodable `Vary` makes the response uncacheable.

use ::http::header::{AGE, CACHE_CONTROL, DATE, EXPIRES, HeaderMap, HeaderName, PRAGMA, VARY};
use std::time::SystemTime;

/// A `delta-seconds` value (`max-age=N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seconds {
    /// A valid count, saturated at `u64::MAX`.
    Valid(u64),
    /// Present but not a number (or given twice with different values).
    Invalid,
}

/// The `Cache-Control` directives this layer acts on; every header line
/// named `Cache-Control` is read, as if joined by commas.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CacheControl {
    pub(crate) no_store: bool,
    pub(crate) no_cache: bool,
    pub(crate) private: bool,
    pub(crate) public: bool,
    /// `must-revalidate` or `proxy-revalidate`.
    pub(crate) must_revalidate: bool,
    pub(crate) max_age: Option<Seconds>,
    pub(crate) s_maxage: Option<Seconds>,
}

impl CacheControl {
    /// Parses every `Cache-Control` line of `headers`.
    pub(crate) fn parse(headers: &HeaderMap) -> Self {
        let mut cc = CacheControl::default();
        for line in headers.get_all(CACHE_CONTROL) {
            for directive in split_list(line.as_bytes()) {
                cc.apply(directive);
            }
        }
        cc
    }

    /// A request's directives; `Pragma: no-cache` counts as `no-cache`
    /// when the request has no `Cache-Control` (RFC 9111 §5.4).
    pub(crate) fn parse_request(headers: &HeaderMap) -> Self {
        let mut cc = Self::parse(headers);
        if !headers.contains_key(CACHE_CONTROL) {
            let pragma = headers.get_all(PRAGMA).iter().flat_map(|v| split_list(v.as_bytes()));
            cc.no_cache |= pragma.into_iter().any(|d| d.eq_ignore_ascii_case(b"no-cache"));
        }
        cc
    }

    fn apply(&mut self, directive: &[u8]) {
        let (name, value) = match directive.iter().position(|&b| b == b'=') {
            Some(i) => (trim(&directive[..i]), Some(unquote(trim(&directive[i + 1..])))),
            None => (directive, None),
        };
        let is = |s: &str| name.eq_ignore_ascii_case(s.as_bytes());
        // `no-cache="field"` and `private="field"` qualify only some
        // headers; treating them as the unqualified form is the safe reading.
        if is("no-store") {
            self.no_store = true;
        } else if is("no-cache") {
            self.no_cache = true;
        } else if is("private") {
            self.private = true;
        } else if is("public") {
            self.public = true;
        } else if is("must-revalidate") || is("proxy-revalidate") {
            self.must_revalidate = true;
        } else if is("max-age") {
            self.max_age = Some(merge(self.max_age, value));
        } else if is("s-maxage") {
            self.s_maxage = Some(merge(self.s_maxage, value));
        }
    }
}

/// A directive given twice must agree with itself, or it is invalid.
fn merge(old: Option<Seconds>, value: Option<&[u8]>) -> Seconds {
    let new = value.map_or(Seconds::Invalid, parse_seconds);
    match old {
        None => new,
        Some(old) if old == new => new,
        Some(_) => Seconds::Invalid,
    }
}

/// `1*DIGIT`, saturating (RFC 9111 §1.2.2: a too-large value means "a very
/// long time").
pub(crate) fn parse_seconds(v: &[u8]) -> Seconds {
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return Seconds::Invalid;
    }
    let n = v.iter().fold(0u64, |n, &d| n.saturating_mul(10).saturating_add(u64::from(d - b'0')));
    Seconds::Valid(n)
}

/// The response's `Age` in seconds; a missing or malformed one counts as 0.
pub(crate) fn age(headers: &HeaderMap) -> u64 {
    match headers.get(AGE).map(|v| parse_seconds(trim(v.as_bytes()))) {
        Some(Seconds::Valid(n)) => n,
        _ => 0,
    }
}

/// The freshness lifetime `Expires` gives, from the response's `Date` (or
/// now, without one): RFC 9111 §4.2.1. An invalid `Expires` (such as `0`)
/// means already expired; `None` when there is no `Expires`.
pub(crate) fn expires(headers: &HeaderMap) -> Option<Seconds> {
    let date = |v: &::http::HeaderValue| v.to_str().ok().and_then(|s| httpdate::parse_http_date(s).ok());
    let expires = headers.get(EXPIRES).map(date)?;
    let base = headers.get(DATE).and_then(date).unwrap_or_else(SystemTime::now);
    let lifetime = expires.and_then(|e| e.duration_since(base).ok()).map_or(0, |d| d.as_secs());
    Some(Seconds::Valid(lifetime))
}

/// What a response's `Vary` says about the request headers that select it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Vary {
    /// These headers (lowercase, sorted, without duplicates; empty when the
    /// response has no `Vary`).
    Headers(Vec<HeaderName>),
    /// `Vary: *` or a name that is not a valid header name: the response
    /// cannot be selected by request headers, so it is not stored.
    Unusable,
}

impl Vary {
    /// Parses every `Vary` line of a response.
    pub(crate) fn parse(headers: &HeaderMap) -> Self {
        let mut names = Vec::new();
        for line in headers.get_all(VARY) {
            for token in split_list(line.as_bytes()) {
                match HeaderName::from_bytes(token) {
                    Ok(name) if token != b"*" => names.push(name),
                    _ => return Vary::Unusable,
                }
            }
        }
        names.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
        names.dedup();
        Vary::Headers(names)
    }
}

/// The non-empty, trimmed elements of a comma-separated header list; commas
/// inside a quoted string do not split.
fn split_list(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = line;
    std::iter::from_fn(move || {
        while !rest.is_empty() {
            let end = element_end(rest);
            let element = trim(&rest[..end]);
            rest = rest.get(end + 1..).unwrap_or_default();
            if !element.is_empty() {
                return Some(element);
            }
        }
        None
    })
}

/// Index of the first comma outside a quoted string (or the length).
fn element_end(s: &[u8]) -> usize {
    let (mut quoted, mut escaped) = (false, false);
    for (i, &b) in s.iter().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b',' if !quoted => return i,
            _ => {}
        }
    }
    s.len()
}

fn trim(s: &[u8]) -> &[u8] {
    s.trim_ascii()
}

fn unquote(s: &[u8]) -> &[u8] {
    match s {
        [b'"', inner @ .., b'"'] => inner,
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn parses_response_directives() {
        let cc = CacheControl::parse(&headers(&[
            ("cache-control", "Public, MAX-AGE=60"),
            ("cache-control", "s-maxage=\"5\""),
        ]));
        assert!(cc.public && !cc.private && !cc.no_store);
        assert_eq!(cc.max_age, Some(Seconds::Valid(60)));
        assert_eq!(cc.s_maxage, Some(Seconds::Valid(5)));
        let cc = CacheControl::parse(&headers(&[("cache-control", "private=\"set-cookie, x\", no-cache, no-store")]));
        assert!(cc.private && cc.no_cache && cc.no_store);
    }

    #[test]
    fn malformed_freshness_is_invalid_not_a_panic() {
        for v in ["max-age=", "max-age=-1", "max-age=1e3", "max-age", "max-age=5, max-age=6"] {
            let cc = CacheControl::parse(&headers(&[("cache-control", v)]));
            assert_eq!(cc.max_age, Some(Seconds::Invalid), "{v}");
        }
        let cc = CacheControl::parse(&headers(&[("cache-control", "max-age=99999999999999999999999")]));
        assert_eq!(cc.max_age, Some(Seconds::Valid(u64::MAX)));
        let mut h = HeaderMap::new();
        h.insert(CACHE_CONTROL, HeaderValue::from_bytes(b"max-age=\xff\xfe, ,,\"").unwrap());
        assert_eq!(CacheControl::parse(&h).max_age, Some(Seconds::Invalid));
    }

    #[test]
    fn pragma_counts_only_without_cache_control() {
        assert!(CacheControl::parse_request(&headers(&[("pragma", "no-cache")])).no_cache);
        assert!(
            !CacheControl::parse_request(&headers(&[("pragma", "no-cache"), ("cache-control", "max-age=5")])).no_cache
        );
    }

    #[test]
    fn expires_counts_from_date() {
        let date = "Wed, 21 Oct 2015 07:28:00 GMT";
        assert_eq!(
            expires(&headers(&[("date", date), ("expires", "Wed, 21 Oct 2015 07:29:30 GMT")])),
            Some(Seconds::Valid(90))
        );
        assert_eq!(
            expires(&headers(&[("date", date), ("expires", "Wed, 21 Oct 2015 07:00:00 GMT")])),
            Some(Seconds::Valid(0))
        );
        assert_eq!(expires(&headers(&[("date", date), ("expires", "0")])), Some(Seconds::Valid(0)));
        assert_eq!(expires(&headers(&[("expires", "Thu, 01 Jan 1970 00:00:00 GMT")])), Some(Seconds::Valid(0)));
        assert_eq!(expires(&headers(&[("date", date)])), None);
    }

    #[test]
    fn parses_vary_and_age() {
        let v = Vary::parse(&headers(&[("vary", "Accept-Encoding, accept"), ("vary", "accept-encoding")]));
        assert_eq!(
            v,
            Vary::Headers(vec![HeaderName::from_static("accept"), HeaderName::from_static("accept-encoding")])
        );
        assert_eq!(Vary::parse(&headers(&[("vary", "accept, *")])), Vary::Unusable);
        assert_eq!(Vary::parse(&headers(&[("vary", "a b")])), Vary::Unusable);
        assert_eq!(Vary::parse(&HeaderMap::new()), Vary::Headers(vec![]));
        assert_eq!(age(&headers(&[("age", " 42 ")])), 42);
        assert_eq!(age(&headers(&[("age", "soon")])), 0);
    }
}
