//! Cache keys.
//!
//! One cache holds two kinds of slot, so one memory budget bounds both:
//!
//! - an *index* slot per target (method, host, path and query) holding the
//!   target's [`Index`]: its generation, the `Vary` header names its
//!   responses were last seen with, and whether its last response could not
//!   be stored;
//! - an *entry* slot per variant: the target, the generation, and the
//!   request's values of those headers.
//!
//! A lookup reads the index (creating it on first use) to build the variant
//! key. Invalidating a target removes its index: the next request gets a new
//! generation, so the old variants can no longer be reached and age out.

use ::http::header::{HOST, HeaderMap, HeaderName, HeaderValue};
use ::http::{Method, Request};
use std::sync::Arc;

/// What a request is about: method (GET or HEAD), host, path and query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Target {
    head: bool,
    /// Path and query, a space, then the host (a request target never
    /// contains a space, so the split is unambiguous).
    uri: Arc<[u8]>,
}

impl Target {
    /// The target of `req` as fetched with `method` (GET or HEAD).
    pub(crate) fn new<B>(req: &Request<B>, method: &Method) -> Self {
        let target = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
        let host = match req.uri().authority() {
            Some(authority) => authority.as_str().as_bytes(),
            None => req.headers().get(HOST).map_or(&b""[..], HeaderValue::as_bytes),
        };
        let uri = [target.as_bytes(), b" ", host].concat();
        Target { head: method == Method::HEAD, uri: uri.into() }
    }

    /// Bytes held by this key, for the weigher.
    pub(crate) fn size(&self) -> usize {
        self.uri.len()
    }
}

/// A target's index: see the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Index {
    pub(crate) generation: u64,
    pub(crate) vary: Arc<[HeaderName]>,
    /// The last response fetched for the target could not be stored, so
    /// misses are not coalesced: waiting for a response that cannot be
    /// shared would only delay them (Varnish's "hit-for-miss"). The next
    /// storable response clears it.
    pub(crate) uncacheable: bool,
}

/// The request's values of the headers a response varies on, in the order
/// of the names (each with all its lines, in order).
pub(crate) type Selected = Vec<(HeaderName, Vec<HeaderValue>)>;

/// Picks the values of `names` from a request's headers.
pub(crate) fn select(headers: &HeaderMap, names: &[HeaderName]) -> Selected {
    names.iter().map(|n| (n.clone(), headers.get_all(n).iter().cloned().collect())).collect()
}

/// Bytes held by selected header values, for the weigher.
pub(crate) fn selected_size(selected: &Selected) -> usize {
    selected.iter().map(|(n, vs)| n.as_str().len() + vs.iter().map(HeaderValue::len).sum::<usize>()).sum()
}

/// A key of the layer's cache.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Slot {
    /// A target's [`Index`].
    Index(Target),
    /// One stored variant of a target.
    Entry { target: Target, generation: u64, selected: Selected },
}
