//! embercache as the near cache (L1) in front of a real Redis or Valkey
//! (L2): a standalone server, a primary behind Redis Sentinel, or a Redis
//! Cluster (feature `tiered`, through the `redis` crate).
//!
//! ```no_run
//! # async fn demo() -> Result<(), embercache::tiered::TieredError> {
//! use embercache::tiered::{TieredBuilder, TieredCache};
//! let users: TieredCache<u64, String> =
//!     TieredBuilder::standalone("redis://127.0.0.1:6379").prefix("user:").l1_capacity(100_000).build().await?;
//! users.insert(&42, "Ada".to_string()).await?; // to Redis, then L1 forgets the key
//! assert_eq!(users.get(&42).await?, Some("Ada".to_string())); // from Redis, now in L1
//! assert_eq!(users.get(&42).await?, Some("Ada".to_string())); // from L1
//! # Ok(()) }
//! ```
//!
//! [`TieredCache`] is typed (keys are written with `Display` after a
//! prefix, values with serde in bincode's format); [`TieredDb`] is the
//! same engine for Redis's own strings and hashes, byte for byte, so it
//! shares keys with every other client of the server.
//!
//! # Reads and writes
//!
//! A read is answered by L1 when it holds a *fresh* entry; otherwise it
//! goes to L2 (`GET` and `PTTL` pipelined, or `HGETALL` and `PTTL`), and
//! the answer fills L1 with the key's remaining TTL in L2 (shortened by the
//! round trip, and capped by [`Options::max_l1_ttl`]). An absent key is
//! remembered as absent. Concurrent misses of one key share a single L2
//! read; multi-key reads and writes go out as one pipeline. A write goes to
//! L2 and, once it is acknowledged (or has failed in a way that leaves it
//! unknown), L1 forgets the key; the next read fetches it.
//!
//! # Consistency
//!
//! L1 learns of changes made by *any* client of L2 through Redis's
//! server-assisted client-side caching ([`Invalidation`]): RESP3 `CLIENT
//! TRACKING` in default mode for a single server (the server remembers
//! the keys this client read), `BCAST` with prefixes in a cluster, or a
//! pub/sub channel (or keyspace notifications) for servers without
//! tracking. The guarantee, while the link is up: **a read returns a value
//! L2 held at some moment after the last invalidation of that key that
//! reached this process**, and this process's own acknowledged writes are
//! seen by its next reads. An invalidation takes one network hop: another
//! client's write becomes visible here within that delay (tested to be
//! well under a second on loopback).
//!
//! When the link is lost (a disconnection, a failed heartbeat, a changed
//! set of cluster primaries), invalidations may have been missed, so L1 is
//! **fenced** before anything else: no entry is served as current again.
//! The entries that were current when the link fell stay only to keep
//! serving reads for a bounded time ([`Options::stale_if_error`], 5 s by
//! default, counted in [`TieredStats::stale_served`]): if L2 is down,
//! nothing can change them; if it is alive but unreachable, this is the
//! staleness traded for availability, and `stale_if_error: None` makes such
//! reads fail with [`TieredError::Unavailable`] instead. When the link is
//! back, L1 starts empty. So after recovery no read returns a value changed
//! while invalidations could not arrive.
//!
//! # Faults
//!
//! Every L2 command has a timeout ([`Options::command_timeout`]); a
//! [circuit breaker](BreakerState) opens after consecutive failures, so a
//! dead L2 is not hammered and callers fail at once, and lets a probe
//! through after [`Options::breaker_open_for`]. Writes while L2 is
//! unavailable fail fast or are queued and replayed in order
//! ([`WriteFailure`]). The link reconnects by itself (asking the sentinels
//! again after a failover), with a backoff up to one second.
//!
//! In a cluster, reads go through the `redis` crate's cluster client
//! (slot routing, MOVED and ASK) and invalidations come from one RESP3
//! connection per primary in `BCAST` mode (default-mode tracking needs the
//! reads on the connection that receives the invalidations, which a
//! cluster client does not offer); a change in the set of primaries
//! fences L1 like a disconnection.

mod breaker;
mod cache;
mod coherence;
mod core;
mod db;
mod link;
mod options;
mod stats;

pub use breaker::BreakerState;
pub use cache::TieredCache;
pub use db::TieredDb;
pub use options::{Invalidation, Options, Topology, WriteFailure};
pub use stats::TieredStats;

use std::time::Duration;

/// Why a tiered operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TieredError {
    /// L2 could not be reached (or the link is down).
    #[error("L2 is unavailable: {0}")]
    Unavailable(String),
    /// L2 did not answer in time.
    #[error("L2 did not answer within {0:?}")]
    Timeout(Duration),
    /// The circuit breaker is open: L2 failed repeatedly and is left alone
    /// for a while.
    #[error("L2 is failing: the circuit breaker is open")]
    CircuitOpen,
    /// L2 refused the command (a key of another type, an out-of-memory
    /// server, …).
    #[error("L2 refused the command: {0}")]
    Redis(String),
    /// A value in L2 could not be decoded as the cache's value type.
    #[error("the value of {key} in L2 does not decode: {reason}")]
    Decode {
        /// The key, as written to L2.
        key: String,
        /// What the decoder said.
        reason: String,
    },
    /// A value could not be encoded.
    #[error("the value does not encode: {0}")]
    Encode(String),
    /// L2 is unavailable and the write queue is full.
    #[error("L2 is unavailable and the write queue is full ({0} writes)")]
    QueueFull(usize),
    /// The cache cannot be built as configured.
    #[error("tiered cache configuration: {0}")]
    Config(String),
}

/// Builds a [`TieredCache`] or a [`TieredDb`].
#[derive(Debug, Clone)]
pub struct TieredBuilder {
    topology: Topology,
    invalidation: Option<Invalidation>,
    options: Options,
    l1_capacity: u64,
    prefix: Vec<u8>,
}

impl TieredBuilder {
    /// In front of `topology`.
    pub fn new(topology: Topology) -> Self {
        TieredBuilder {
            topology,
            invalidation: None,
            options: Options::default(),
            l1_capacity: 10_000,
            prefix: Vec::new(),
        }
    }

    /// In front of one server (`redis://host:port/db`).
    pub fn standalone(url: impl Into<String>) -> Self {
        Self::new(Topology::Standalone(url.into()))
    }

    /// In front of the primary the sentinels name `service`.
    pub fn sentinel(sentinels: impl IntoIterator<Item = impl Into<String>>, service: impl Into<String>) -> Self {
        Self::new(Topology::Sentinel {
            sentinels: sentinels.into_iter().map(Into::into).collect(),
            service: service.into(),
            password: None,
        })
    }

    /// In front of a Redis Cluster reached through any of `nodes`.
    pub fn cluster(nodes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self::new(Topology::Cluster(nodes.into_iter().map(Into::into).collect()))
    }

    /// How L1 learns of changes (default: [`Invalidation::Tracking`]; in a
    /// cluster, [`Invalidation::Broadcast`] of the prefix).
    pub fn invalidation(mut self, invalidation: Invalidation) -> Self {
        self.invalidation = Some(invalidation);
        self
    }

    /// Timeouts, fallbacks and the breaker.
    pub fn options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// The most entries L1 keeps (10 000 by default).
    pub fn l1_capacity(mut self, entries: u64) -> Self {
        self.l1_capacity = entries;
        self
    }

    /// A prefix before every key a [`TieredCache`] writes (`"user:"`).
    pub fn prefix(mut self, prefix: impl AsRef<[u8]>) -> Self {
        self.prefix = prefix.as_ref().to_vec();
        self
    }

    /// The invalidation mode: as asked, or the topology's default.
    fn invalidation_mode(&self) -> Invalidation {
        let cluster = matches!(self.topology, Topology::Cluster(_));
        match &self.invalidation {
            Some(Invalidation::Tracking) | None if cluster => {
                let prefixes = if self.prefix.is_empty() { Vec::new() } else { vec![self.prefix.clone()] };
                Invalidation::Broadcast(prefixes)
            }
            Some(i) => i.clone(),
            None => Invalidation::Tracking,
        }
    }

    /// Connects and builds a typed cache; fails if L2 cannot be reached
    /// within twice the connect timeout. Needs a tokio runtime.
    pub async fn build<K, V>(self) -> Result<TieredCache<K, V>, TieredError>
    where
        K: std::fmt::Display,
        V: serde::Serialize + serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
    {
        let mode = self.invalidation_mode();
        let core = core::Core::start(self.topology, mode, self.options, self.l1_capacity).await?;
        Ok(TieredCache::new(core, self.prefix))
    }

    /// Connects and builds the byte-level string and hash API.
    pub async fn build_db(self) -> Result<TieredDb, TieredError> {
        let mode = self.invalidation_mode();
        let core = core::Core::start(self.topology, mode, self.options, self.l1_capacity).await?;
        Ok(TieredDb::new(core))
    }
}

/// Runs the parsers of what L2 and other clients send on `data`: the
/// primaries of a `CLUSTER NODES` reply, the key of a keyspace-notification
/// channel, a stored value as a typed cache decodes it, a string or hash
/// reply as `TieredDb` keeps it. None may panic. For the `tiered_parse`
/// fuzz target.
#[doc(hidden)]
pub fn fuzz_parsers(data: &[u8]) {
    let _ = link::parse_primaries(&String::from_utf8_lossy(data));
    let _ = link::keyspace_key(data);
    let _ = cache::decode::<Vec<(String, u64, Option<Vec<u8>>)>>(b"k", Some(data.to_vec()));
    let _ = cache::decode::<String>(b"k", Some(data.to_vec()));
    let pairs = data.chunks(3).map(|c| redis::Value::BulkString(c.to_vec())).collect();
    let _ = db::cached(redis::Value::Array(pairs), true);
    let _ = db::cached(redis::Value::BulkString(data.to_vec()), false);
}

/// A `PTTL` reply as a TTL: `None` for no expiry (-1) or no key (-2).
fn pttl(ms: i64) -> Option<Duration> {
    u64::try_from(ms).ok().map(Duration::from_millis)
}
