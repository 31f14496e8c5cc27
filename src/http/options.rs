//! [`CacheOptions`]: the layer's configuration, checked when the layer is
//! built.

use crate::time::{Clock, SystemClock};
use ::http::StatusCode;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Default [`CacheOptions::max_body_bytes`]: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;
/// Default [`CacheOptions::max_weight`]: 64 MiB of bodies, headers and keys.
pub const DEFAULT_MAX_WEIGHT: u64 = 64 << 20;
/// Default [`CacheOptions::max_ttl`]: one year, the longest freshness
/// RFC 9111 §1.2.2 expects anyone to mean.
pub const DEFAULT_MAX_TTL: Duration = Duration::from_secs(365 * 24 * 3600);

/// Configuration of a [`CacheLayer`](super::CacheLayer); by-value builder.
///
/// ```
/// use std::time::Duration;
/// use embercache::http::{CacheLayer, CacheOptions};
///
/// let layer = CacheLayer::new(
///     CacheOptions::new()
///         .max_weight(16 << 20)
///         .max_body_bytes(256 << 10)
///         .default_ttl(Duration::from_secs(5)),
/// )?;
/// # let _ = layer;
/// # Ok::<(), embercache::ConfigError>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct CacheOptions {
    pub(crate) max_body_bytes: usize,
    pub(crate) max_weight: u64,
    pub(crate) default_ttl: Option<Duration>,
    pub(crate) max_ttl: Duration,
    pub(crate) statuses: Vec<StatusCode>,
    pub(crate) clock: Arc<dyn Clock>,
}

impl CacheOptions {
    /// The defaults: bodies up to [`DEFAULT_MAX_BODY_BYTES`], a budget of
    /// [`DEFAULT_MAX_WEIGHT`], only status 200 stored, no default TTL
    /// (a response without `s-maxage`, `max-age` or `Expires` is not stored),
    /// freshness capped at [`DEFAULT_MAX_TTL`], the system clock.
    pub fn new() -> Self {
        CacheOptions {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_weight: DEFAULT_MAX_WEIGHT,
            default_ttl: None,
            max_ttl: DEFAULT_MAX_TTL,
            statuses: vec![StatusCode::OK],
            clock: Arc::new(SystemClock::new()),
        }
    }

    /// Largest body stored. A longer response is passed through as it
    /// streams: at most this much of it is copied into a buffer first (the
    /// frame that crosses the limit is passed on as it came).
    pub fn max_body_bytes(mut self, n: usize) -> Self {
        self.max_body_bytes = n;
        self
    }

    /// Memory budget of the whole cache in bytes: stored bodies, headers
    /// and keys, plus a fixed overhead per entry. Least valuable entries
    /// are evicted to stay under it.
    pub fn max_weight(mut self, bytes: u64) -> Self {
        self.max_weight = bytes;
        self
    }

    /// Freshness given to a cacheable response that states none (no
    /// `s-maxage`, `max-age` or `Expires`). Without it, such responses are
    /// not stored.
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.default_ttl = Some(ttl);
        self
    }

    /// Upper bound on any entry's time to live.
    pub fn max_ttl(mut self, ttl: Duration) -> Self {
        self.max_ttl = ttl;
        self
    }

    /// The response statuses that may be stored (default: 200 only).
    pub fn cacheable_statuses(mut self, statuses: impl IntoIterator<Item = StatusCode>) -> Self {
        self.statuses = statuses.into_iter().collect();
        self
    }

    /// The clock used for expiry and `Age` (tests use a
    /// [`ManualClock`](crate::time::ManualClock)).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }
}

impl Default for CacheOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for CacheOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheOptions")
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_weight", &self.max_weight)
            .field("default_ttl", &self.default_ttl)
            .field("max_ttl", &self.max_ttl)
            .field("statuses", &self.statuses)
            .finish_non_exhaustive()
    }
}

/// The clock shared by the layer and its cache.
#[derive(Debug, Clone)]
pub(crate) struct SharedClock(pub(crate) Arc<dyn Clock>);

impl Clock for SharedClock {
    fn now(&self) -> Duration {
        self.0.now()
    }
}
