//! A stored response and the values of the layer's cache.

use super::body::CacheBody;
use super::key::{self, Index, Selected, Slot};
use super::policy::Storable;
use ::http::header::{AGE, HeaderMap, HeaderName, HeaderValue};
use ::http::response::Parts;
use ::http::{Response, StatusCode, Version};
use bytes::Bytes;
use http_body::Body;
use std::sync::Arc;
use std::time::Duration;

/// `X-Cache`: whether a response came from the cache (`HIT`) or from the
/// inner service (`MISS`).
pub const X_CACHE: HeaderName = HeaderName::from_static("x-cache");

/// Fixed cost charged per slot on top of its bytes (the entry's structs,
/// the header map's tables, the engine's slot), so that many tiny entries
/// still count against the budget.
const OVERHEAD: usize = 256;

/// A response kept to be served again.
#[derive(Debug)]
pub(crate) struct Stored {
    pub(crate) status: StatusCode,
    pub(crate) version: Version,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) trailers: Option<HeaderMap>,
    /// The request's values of the headers named by `Vary`.
    pub(crate) selected: Selected,
    /// When it was stored, by the layer's clock.
    pub(crate) stored_at: Duration,
    /// Its `Age` when it reached us, in seconds.
    pub(crate) initial_age: u64,
    /// Its freshness from `stored_at`.
    pub(crate) ttl: Duration,
}

impl Stored {
    /// Keeps `parts` and the buffered body, stored `now` for `ttl`.
    pub(crate) fn new(parts: &Parts, body: Bytes, trailers: Option<HeaderMap>, selected: Selected) -> Self {
        Stored {
            status: parts.status,
            version: parts.version,
            headers: parts.headers.clone(),
            body,
            trailers,
            selected,
            stored_at: Duration::ZERO,
            initial_age: 0,
            ttl: Duration::ZERO,
        }
    }

    /// Sets when it was stored and its freshness.
    pub(crate) fn fresh(mut self, now: Duration, storable: &Storable) -> Self {
        self.stored_at = now;
        self.initial_age = storable.initial_age;
        self.ttl = storable.ttl;
        self
    }

    /// Its current age in seconds (RFC 9111 §4.2.3, with no clock skew to
    /// correct: the inner service is in the same process).
    pub(crate) fn age(&self, now: Duration) -> u64 {
        self.initial_age.saturating_add(now.saturating_sub(self.stored_at).as_secs())
    }

    /// A response replaying this one, with `Age` and `X-Cache: HIT`.
    pub(crate) fn hit<B: Body>(&self, now: Duration) -> Response<CacheBody<B>> {
        let mut response = Response::new(CacheBody::full(self.body.clone(), self.trailers.clone()));
        *response.status_mut() = self.status;
        *response.version_mut() = self.version;
        *response.headers_mut() = self.headers.clone();
        let headers = response.headers_mut();
        headers.insert(AGE, HeaderValue::from(self.age(now)));
        headers.insert(X_CACHE, HeaderValue::from_static("HIT"));
        response
    }

    fn size(&self) -> usize {
        let headers = |h: &HeaderMap| h.iter().map(|(n, v)| n.as_str().len() + v.len()).sum::<usize>();
        self.body.len()
            + headers(&self.headers)
            + self.trailers.as_ref().map_or(0, headers)
            + key::selected_size(&self.selected)
    }
}

/// A value of the layer's cache.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    /// In an index slot.
    Index(Arc<Index>),
    /// In an entry slot.
    Entry(Arc<Stored>),
}

/// The weigher: bytes held by a slot and its value, plus [`OVERHEAD`].
pub(crate) fn weigh(slot: &Slot, value: &Value) -> u32 {
    let key = match slot {
        Slot::Index(target) => target.size(),
        Slot::Entry { target, selected, .. } => target.size() + key::selected_size(selected),
    };
    let value = match value {
        Value::Index(index) => index.vary.iter().map(|n| n.as_str().len()).sum(),
        Value::Entry(stored) => stored.size(),
    };
    u32::try_from(OVERHEAD.saturating_add(key).saturating_add(value)).unwrap_or(u32::MAX)
}
