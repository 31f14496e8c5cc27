//! A [`tower`](https://docs.rs/tower) layer that caches HTTP responses in
//! an embercache [`Cache`] (feature `tower`).
//!
//! [`CacheLayer`] wraps any `Service<http::Request<B>>` whose responses are
//! `http::Response<ResBody>` (axum, hyper, tonic-style stacks); the wrapped
//! [`CacheService`] answers with [`CacheBody<ResBody>`]. It behaves as a
//! *shared* cache (RFC 9111) that never serves stale responses and never
//! revalidates: a response is either fresh and served from memory, or
//! fetched again from the inner service.
//!
//! ```
//! use embercache::http::{CacheLayer, CacheOptions};
//! use tower::Layer;
//!
//! let layer = CacheLayer::new(CacheOptions::new())?;
//! let service = layer.layer(tower::service_fn(|_req: http::Request<()>| async {
//!     let response = http::Response::builder()
//!         .header("cache-control", "public, max-age=30")
//!         .body(http_body_util::Full::new(bytes::Bytes::from("hello")))
//!         .expect("a valid response");
//!     Ok::<_, std::convert::Infallible>(response)
//! }));
//! # let _ = service;
//! # Ok::<(), embercache::ConfigError>(())
//! ```
//!
//! # What is cached
//!
//! - Only `GET` and `HEAD` requests are looked up and stored (separately:
//!   a `HEAD` is not answered from a stored `GET`). The key is the method,
//!   the host (the URI's authority, else the `Host` header), the path and
//!   query, and the request's values of the headers the response's `Vary`
//!   names (the names are remembered per target; every line of each header,
//!   compared byte for byte).
//! - Any other method goes to the inner service untouched. An *unsafe* one
//!   (anything but `OPTIONS` and `TRACE`) whose response is not a 4xx or 5xx
//!   invalidates every stored variant of `GET` and `HEAD` for the same
//!   target (`Location` and `Content-Location` are not followed).
//! - A response is stored only if all of these hold:
//!   its status is one of [`CacheOptions::cacheable_statuses`] (default:
//!   200 only); its `Cache-Control` has none of `no-store`, `private`
//!   (`private="…"` included) and `no-cache` (`no-cache="…"` included:
//!   storing it would require revalidating before every use, which this
//!   cache does not do, so it stores nothing); it has no `Set-Cookie`; its
//!   `Vary` is not `*` and names only valid header names; it has explicit
//!   freshness (`s-maxage`, `max-age` or `Expires`) or the layer has a
//!   [`CacheOptions::default_ttl`]; if the
//!   request carried `Authorization`, the response has `public`,
//!   `s-maxage` or `must-revalidate` (RFC 9111 §3.5); its body is at most
//!   [`CacheOptions::max_body_bytes`] long.
//! - Its time to live is `s-maxage` if present, else `max-age`, else
//!   `Expires` minus `Date` (or minus now, without `Date`), else the
//!   layer's default TTL, minus the response's own `Age`, capped at
//!   [`CacheOptions::max_ttl`]; a zero or malformed value (for example
//!   `max-age=soon`, two different `max-age`s, or `Expires: 0`) means not
//!   stored. `public`, `must-revalidate` and `proxy-revalidate` change
//!   nothing else (nothing is served stale).
//! - The request's own `Cache-Control`: `no-store` bypasses the cache
//!   entirely (no lookup, nothing stored); `no-cache` (or `Pragma:
//!   no-cache` without a `Cache-Control`) skips the lookup, fetches, and
//!   stores the new response if it may be stored; `max-age=N` accepts a
//!   stored response only if its age is at most `N` seconds, and otherwise
//!   fetches and stores afresh. Other request directives are ignored.
//!
//! # Responses
//!
//! A hit is a copy of the stored response (status, headers, body,
//! trailers) with `Age` (seconds since it left the origin: its `Age` on
//! arrival plus the time it spent here) and `X-Cache: HIT`. Responses of
//! `GET` and `HEAD` fetched from the inner service carry `X-Cache: MISS`.
//! Errors of the inner service are returned unchanged.
//!
//! # Coalescing and bounds
//!
//! Concurrent misses of one variant make one call to the inner service
//! (the cache's single-flight loader); the others wait and get the stored
//! copy. If that response turns out not to be storable (or the call fails,
//! or its body is too long), each waiter calls the inner service itself: a
//! non-shared response is never handed to another client. A target whose
//! last response could not be stored is remembered as such, and its misses
//! are then not coalesced (they would only wait to call the inner service
//! anyway) until one of its responses is stored again ("hit-for-miss").
//!
//! A body is buffered only when the response head says it may be stored;
//! one longer than `max_body_bytes` (by its size hint, or once reading it
//! passes the limit) is passed through as it streams, after the part
//! already read. An error of the body while buffering reaches the client
//! after the bytes read before it, as it would have without the layer.
//! All entries together, with their keys and a fixed overhead each, stay
//! within [`CacheOptions::max_weight`] bytes.

mod body;
mod directives;
mod key;
mod options;
mod policy;
mod service;
mod stored;
#[cfg(test)]
mod tests;

pub use body::CacheBody;
pub use options::{CacheOptions, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_TTL, DEFAULT_MAX_WEIGHT};
pub use service::{CacheService, ResponseFuture};
pub use stored::X_CACHE;

use crate::error::ConfigError;
use crate::{Cache, Expiry};
use ::http::HeaderName;
use key::{Index, Slot, Target};
use options::SharedClock;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use stored::Value;
use tower_layer::Layer;

/// A tower [`Layer`] that caches the responses of the services it wraps.
///
/// Clones, and all services made by one layer, share one cache.
#[derive(Clone)]
pub struct CacheLayer {
    shared: Arc<Shared>,
}

impl CacheLayer {
    /// A layer with its own cache, configured by `options`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroDuration`] for a zero `max_ttl` or `default_ttl`,
    /// or what building the underlying [`Cache`] reports (a zero
    /// `max_weight`, for instance).
    pub fn new(options: CacheOptions) -> Result<Self, ConfigError> {
        if options.max_ttl.is_zero() {
            return Err(ConfigError::ZeroDuration("max_ttl"));
        }
        if options.default_ttl.is_some_and(|d| d.is_zero()) {
            return Err(ConfigError::ZeroDuration("default_ttl"));
        }
        let cache = Cache::builder()
            .max_weight(options.max_weight)
            .weigher(stored::weigh)
            .expiry(Freshness { max_ttl: options.max_ttl })
            .clock(SharedClock(options.clock.clone()))
            .build()?;
        Ok(CacheLayer { shared: Arc::new(Shared { cache, options, generation: AtomicU64::new(0) }) })
    }

    /// Drops every stored response.
    pub fn clear(&self) {
        self.shared.cache.clear();
    }

    /// Bytes the cache holds, as weighed against
    /// [`CacheOptions::max_weight`].
    pub fn weighted_size(&self) -> u64 {
        self.shared.cache.weighted_size()
    }
}

impl<S> Layer<S> for CacheLayer {
    type Service = CacheService<S>;

    fn layer(&self, inner: S) -> CacheService<S> {
        CacheService::new(inner, self.shared.clone())
    }
}

impl fmt::Debug for CacheLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheLayer").field("options", &self.shared.options).field("cache", &self.shared.cache).finish()
    }
}

/// State shared by a layer and its services.
pub(crate) struct Shared {
    cache: Cache<Slot, Value>,
    options: CacheOptions,
    /// Source of index generations.
    generation: AtomicU64,
}

impl Shared {
    fn now(&self) -> Duration {
        self.options.clock.now()
    }

    fn new_index(&self) -> Arc<Index> {
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        Arc::new(Index { generation, vary: Arc::from([]), uncacheable: false })
    }

    /// `target`'s index, created if it has none.
    fn index(&self, target: &Target) -> Arc<Index> {
        // The hot path only reads; the shard's write lock is for creation.
        let slot = Slot::Index(target.clone());
        if let Some(Value::Index(index)) = self.cache.get(&slot) {
            return index;
        }
        let result = self.cache.compute(slot, |current| match current {
            Some(Value::Index(_)) => crate::Op::Nop,
            _ => crate::Op::Put(Value::Index(self.new_index())),
        });
        match result.into_value() {
            Some(Value::Index(index)) => index,
            // Not kept (a budget smaller than one index): still usable once.
            _ => self.new_index(),
        }
    }

    /// Records in `target`'s index (unless the target was invalidated since
    /// `generation`) the `Vary` names of a response stored for it, or, with
    /// `None`, that its response could not be stored.
    fn learn(&self, target: &Target, generation: u64, stored_vary: Option<&Arc<[HeaderName]>>) {
        self.cache.compute(Slot::Index(target.clone()), |current| {
            let Some(Value::Index(index)) = current else { return crate::Op::Nop };
            let learnt = match stored_vary {
                Some(vary) => Index { generation, vary: vary.clone(), uncacheable: false },
                None => Index { uncacheable: true, ..Index::clone(index) },
            };
            if index.generation != generation || **index == learnt {
                return crate::Op::Nop;
            }
            crate::Op::Put(Value::Index(Arc::new(learnt)))
        });
    }

    /// Makes every stored variant of `target` unreachable.
    fn invalidate(&self, target: &Target) {
        self.cache.remove(&Slot::Index(target.clone()));
    }
}

/// Per-entry time to live: an entry's freshness; an index lives as long
/// as any entry could.
struct Freshness {
    max_ttl: Duration,
}

impl Expiry<Slot, Value> for Freshness {
    fn expire_after_create(&self, _: &Slot, value: &Value) -> Option<Duration> {
        Some(match value {
            Value::Index(_) => self.max_ttl,
            Value::Entry(stored) => stored.ttl,
        })
    }

    fn expire_after_update(&self, slot: &Slot, value: &Value, _: Option<Duration>) -> Option<Duration> {
        self.expire_after_create(slot, value)
    }
}
