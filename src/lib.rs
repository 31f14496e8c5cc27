//! embercache: an in-process, Redis/Memcached-class cache.
//!
//! Two faces over one engine:
//!
//! - [`Cache<K, V>`], the typed face: a concurrent, sharded, bounded cache
//!   with time-to-live and time-to-idle, a hierarchical timing wheel that
//!   reclaims expired entries, and eviction by an adaptive W-TinyLFU policy
//!   (or LRU, LFU, random) under an entry-count or weight bound;
//! - [`Db`], the Redis face: a keyspace of byte keys holding strings,
//!   lists, hashes, sets and sorted sets (plus bitmaps and HyperLogLogs),
//!   each command with Redis's semantics and error replies, reachable as
//!   typed methods or through [`Db::execute`]; expiry as Redis's, a memory
//!   bound with Redis's `maxmemory-policy`, keyspace notifications, pub/sub
//!   and blocking pops, all in process.
//!
//! ```
//! use std::time::Duration;
//! use embercache::Cache;
//!
//! let cache: Cache<String, String> = Cache::builder()
//!     .max_capacity(10_000)
//!     .time_to_live(Duration::from_secs(60))
//!     .build()?;
//! cache.insert("user:1".into(), "Ada".into());
//! assert_eq!(cache.get("user:1").as_deref(), Some("Ada"));
//! let v = cache.get_or_insert_with("user:2".into(), || "Grace".into());
//! assert_eq!(v, "Grace");
//! # Ok::<(), embercache::Error>(())
//! ```
//!
//! # Layout
//!
//! - [`time`] holds the [`Clock`] trait, [`time::SystemClock`] and [`time::ManualClock`].
//! - `engine` (internal) holds the shards (`hashbrown` table + slab), the timing
//!   wheel (`engine::expire`) and the eviction policies (`engine::evict`).
//!   It depends on nothing above it.
//! - [`cache`] holds [`Cache`], [`CacheBuilder`], loaders, iteration and
//!   inspection; [`cache::loading`] holds [`LoadingCache`], a cache that loads
//!   its own misses; [`cache::write`] the write paths to a database
//!   (write-through, write-behind).
//! - [`db`] holds [`Db`], [`DbBuilder`], [`Value`], [`Reply`], one module per
//!   command family, the command table, keyspace events and pub/sub.
//! - [`persist`] holds the snapshot and journal file format, crash-safe
//!   file replacement, [`persist::SnapshotOptions`] and (feature
//!   `encryption`) [`persist::crypt`]; `Db` and `Cache` snapshots and the
//!   `Db`'s backup directory ([`db::Backups`]) are built on it.
//! - [`stats`] holds [`stats::CacheStats`].
//! - `http` (feature `tower`) holds `CacheLayer`, a tower layer that caches
//!   HTTP responses in a [`Cache`].
//! - `server` (feature `server`) serves a [`Db`] over the Redis protocol
//!   and the Memcached text and meta protocols: `server::resp` is the RESP
//!   codec (no I/O), `server::memcache` the Memcached protocols (`Session`,
//!   no I/O), `Server` the tokio runtime,
//!   `server::tls` (feature `tls`) the TLS listener's certificates.
//! - `cached` (feature `macros`) holds the registry of
//!   [`#[cached]`](macro@cached) functions' caches: their stats by name.
//! - [`acl`] holds Redis's access control: [`acl::Acl`] (users, rules,
//!   ACL files and log), [`acl::Session`] and [`acl::CheckedDb`] (a `Db`
//!   limited to one user's commands and keys). The command catalog it
//!   checks against (`COMMAND INFO` metadata, key positions) is
//!   [`db::catalog`].
//! - [`error`] holds [`Error`] and [`ConfigError`].
//!
//! # Cargo features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `macros` | no | [`#[cached]`](macro@cached) memoizes a function in a static [`Cache`], with per-function stats by name ([`cached::stats`]) |
//! | `encryption` | no | snapshots and journals encrypted at rest (AES-256-GCM or ChaCha20-Poly1305 from RustCrypto, envelope keys, [`persist::crypt::KeyProvider`]) |
//! | `tower` | no | `http`: a tower layer caching HTTP responses (`Cache-Control`, `Vary`, coalesced misses, bounded bodies), built on `http` 1 and `http-body` 1 |
//! | `server` | no | `server`: serve a [`Db`] over the Redis protocol (RESP2 and RESP3, pipelining, inline commands, Redis's protocol errors and limits) and, on a port of its own, the Memcached text and meta protocols,, AUTH and ACLs, COMMAND, on tokio |
//! | `tls` | no | `server::tls`: a TLS listener for the server (rustls with the `ring` provider, certificates from PEM files, mutual TLS, handshake timeout); implies `server` |
//!
//! # Consistency model
//!
//! - Each key's operations are linearizable: they run under its shard's lock
//!   (reads under the read lock, writes under the write lock).
//! - An expired entry is never returned: lookups compare the entry's deadline
//!   with the clock, to the millisecond. Its memory is reclaimed by the
//!   timing wheel on later writes (at most about a second late), by
//!   [`Cache::run_pending_tasks`] (exactly), or by the optional housekeeper
//!   thread.
//! - The bound holds after every write: eviction happens in the write that
//!   went over, in the same shard. Each shard holds its share of the bound.
//! - `len`, `weighted_size`, `stats` and `iter` are weakly consistent:
//!   exact when nothing runs concurrently.
//! - Lookups do not reorder the policy's queues; their effect is recorded in
//!   atomics (or a lossy buffer, for LRU) and applied by writers, so under
//!   heavy concurrent reads the policy sees most but not necessarily all
//!   accesses.

pub mod acl;
pub mod cache;
#[cfg(feature = "macros")]
pub mod cached;
pub mod db;
mod engine;
pub mod error;
mod housekeeper;
#[cfg(feature = "tower")]
pub mod http;
pub mod persist;
#[cfg(feature = "server")]
pub mod server;
pub mod stats;
mod sync;
#[cfg(feature = "tiered")]
pub mod tiered;
pub mod time;

pub use cache::loading::LoadingCache;
pub use cache::{Cache, CacheBuilder};
pub use db::{Db, DbBuilder, Reply, Value};
pub use engine::evict::EvictionPolicy;
pub use engine::expire::Expiry;
pub use engine::{CompResult, Op, RemovalCause};
pub use error::{ConfigError, Error, Result};
pub use time::Clock;

/// Memoizes a function in a static, bounded, expiring [`Cache`] keyed by
/// its arguments (feature `macros`).
///
/// Concurrent calls with equal arguments run the body once; `ttl`,
/// `max_capacity`, `key`, `result`, `option`, `name` and `clock` configure
/// it (see [`embercache_macros`](https://docs.rs/embercache-macros) for the
/// full table and what it refuses at compile time); the function's stats
/// are reachable by name through [`cached::stats`].
///
/// A function may call itself with *other* arguments (a memoized
/// recursion such as Fibonacci works), but a call with the same arguments
/// from inside its own body waits for itself forever: the inner call joins
/// the outer call's load of that key.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
///
/// static RUNS: AtomicU32 = AtomicU32::new(0);
///
/// #[embercache::cached(ttl = "60s", max_capacity = 10_000)]
/// fn greeting(name: &str, excited: bool) -> String {
///     RUNS.fetch_add(1, Ordering::Relaxed);
///     format!("Hello, {name}{}", if excited { "!" } else { "." })
/// }
///
/// assert_eq!(greeting("Ada", true), "Hello, Ada!");
/// assert_eq!(greeting("Ada", true), "Hello, Ada!");
/// assert_eq!(greeting("Ada", false), "Hello, Ada.");
/// assert_eq!(RUNS.load(Ordering::Relaxed), 2, "the second call was a hit");
///
/// // Only `Ok` is cached; an error goes back to its caller as it is.
/// #[embercache::cached(result = true)]
/// fn parse_port(s: &str) -> Result<u16, std::num::ParseIntError> {
///     s.parse()
/// }
///
/// assert_eq!(parse_port("8080"), Ok(8080));
/// assert!(parse_port("http").is_err());
/// let stats = embercache::cached::stats("parse_port").unwrap();
/// assert_eq!(stats.totals.entries, 1);
/// ```
#[cfg(feature = "macros")]
pub use embercache_macros::cached;

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
struct ReadmeDoctests;
