//! Whether a response may be stored, and for how long (shared-cache rules
//! of RFC 9111, simplified: nothing is ever served stale or revalidated).

use super::directives::{self, CacheControl, Seconds, Vary};
use super::options::CacheOptions;
use ::http::header::{HeaderName, SET_COOKIE};
use ::http::{HeaderMap, StatusCode};
use std::time::Duration;

/// A response that may be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Storable {
    /// How long it stays fresh from now.
    pub(crate) ttl: Duration,
    /// Its `Age` when it reached us, in seconds.
    pub(crate) initial_age: u64,
    /// The request headers that select it.
    pub(crate) vary: Vec<HeaderName>,
}

/// Decides from the response head alone (the body is read only when this
/// says yes). `authorized`: the request carried `Authorization`.
pub(crate) fn storable(
    status: StatusCode,
    headers: &HeaderMap,
    authorized: bool,
    options: &CacheOptions,
) -> Option<Storable> {
    if !options.statuses.contains(&status) {
        return None;
    }
    let cc = CacheControl::parse(headers);
    // `no-cache` allows storing only to revalidate before each use; a cache
    // that does not revalidate stores nothing.
    if cc.no_store || cc.private || cc.no_cache {
        return None;
    }
    // RFC 9111 §3.5: a shared cache keeps a response to an authorized
    // request only when the response says it may.
    if authorized && !(cc.public || cc.must_revalidate || cc.s_maxage.is_some()) {
        return None;
    }
    // A stored Set-Cookie would hand one user's cookie to every other.
    if headers.contains_key(SET_COOKIE) {
        return None;
    }
    let Vary::Headers(vary) = Vary::parse(headers) else { return None };
    let lifetime = match cc.s_maxage.or(cc.max_age).or_else(|| directives::expires(headers)) {
        Some(Seconds::Valid(n)) => Duration::from_secs(n),
        Some(Seconds::Invalid) => return None,
        None => options.default_ttl?,
    };
    let initial_age = directives::age(headers);
    let ttl = lifetime.saturating_sub(Duration::from_secs(initial_age)).min(options.max_ttl);
    (!ttl.is_zero()).then_some(Storable { ttl, initial_age, vary })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::http::HeaderValue;

    fn decide(status: u16, pairs: &[(&'static str, &'static str)], authorized: bool) -> Option<Storable> {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        let options = CacheOptions::new();
        storable(StatusCode::from_u16(status).unwrap(), &h, authorized, &options)
    }

    fn ttl(pairs: &[(&'static str, &'static str)]) -> Option<u64> {
        decide(200, pairs, false).map(|s| s.ttl.as_secs())
    }

    #[test]
    fn freshness_comes_from_s_maxage_then_max_age_minus_age() {
        assert_eq!(ttl(&[("cache-control", "max-age=60")]), Some(60));
        assert_eq!(ttl(&[("cache-control", "max-age=60, s-maxage=10")]), Some(10));
        assert_eq!(ttl(&[("cache-control", "max-age=60"), ("age", "15")]), Some(45));
        assert_eq!(ttl(&[("cache-control", "max-age=60"), ("age", "60")]), None);
        assert_eq!(ttl(&[("cache-control", "max-age=0")]), None);
        assert_eq!(ttl(&[("cache-control", "s-maxage=0, max-age=60")]), None);
        assert_eq!(ttl(&[("cache-control", "max-age=x")]), None);
        assert_eq!(ttl(&[]), None, "no explicit freshness and no default");
        let date = ("date", "Wed, 21 Oct 2015 07:28:00 GMT");
        assert_eq!(ttl(&[date, ("expires", "Wed, 21 Oct 2015 07:28:40 GMT")]), Some(40));
        assert_eq!(ttl(&[date, ("expires", "0")]), None);
        assert_eq!(ttl(&[date, ("expires", "Wed, 21 Oct 2015 07:28:40 GMT"), ("cache-control", "max-age=5")]), Some(5));
        assert_eq!(ttl(&[("cache-control", "max-age=99999999999")]), Some(DEFAULT_MAX_TTL_SECS));
    }

    const DEFAULT_MAX_TTL_SECS: u64 = super::super::options::DEFAULT_MAX_TTL.as_secs();

    #[test]
    fn directives_that_forbid_storing() {
        for cc in ["no-store, max-age=60", "private, max-age=60", "no-cache, max-age=60", "no-cache=\"x\", max-age=9"] {
            assert_eq!(ttl(&[("cache-control", cc)]), None, "{cc}");
        }
        assert_eq!(ttl(&[("cache-control", "max-age=60"), ("vary", "*")]), None);
        assert_eq!(ttl(&[("cache-control", "max-age=60"), ("set-cookie", "a=b")]), None);
        assert_eq!(decide(404, &[("cache-control", "max-age=60")], false), None);
    }

    #[test]
    fn authorized_requests_need_explicit_permission() {
        assert_eq!(decide(200, &[("cache-control", "max-age=60")], true), None);
        for cc in ["public, max-age=60", "s-maxage=60", "must-revalidate, max-age=60"] {
            assert!(decide(200, &[("cache-control", cc)], true).is_some(), "{cc}");
        }
    }

    #[test]
    fn options_change_the_defaults() {
        let options = CacheOptions::new()
            .default_ttl(Duration::from_secs(7))
            .max_ttl(Duration::from_secs(30))
            .cacheable_statuses([StatusCode::OK, StatusCode::NOT_FOUND]);
        let h = HeaderMap::new();
        assert_eq!(storable(StatusCode::NOT_FOUND, &h, false, &options).map(|s| s.ttl), Some(Duration::from_secs(7)));
        let mut h = HeaderMap::new();
        h.insert("cache-control", HeaderValue::from_static("max-age=3600"));
        assert_eq!(storable(StatusCode::OK, &h, false, &options).map(|s| s.ttl), Some(Duration::from_secs(30)));
    }
}
