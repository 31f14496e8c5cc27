//! What a tiered cache is built from: where L2 is ([`Topology`]), how L1
//! learns of changes ([`Invalidation`]), and what happens when L2 is slow
//! or gone ([`Options`]).

use std::time::Duration;

/// Where L2 runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topology {
    /// One server (`redis://host:port/db`, `rediss://…` needs the `redis`
    /// crate's TLS features, which this crate does not turn on).
    Standalone(String),
    /// A primary found through Redis Sentinel: the sentinels' addresses
    /// (`redis://host:port`) and the monitored service's name. After a
    /// failover the link asks the sentinels again and follows the new
    /// primary.
    Sentinel {
        /// Sentinel addresses.
        sentinels: Vec<String>,
        /// The name in `sentinel monitor <name> …`.
        service: String,
        /// Password of the data nodes (not of the sentinels), if any.
        password: Option<String>,
    },
    /// A Redis Cluster, from any of its nodes (`redis://host:port`). Slots
    /// are routed, and MOVED/ASK followed, by the `redis` crate's cluster
    /// client.
    Cluster(Vec<String>),
}

/// How L1 hears that a key changed in L2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalidation {
    /// RESP3 `CLIENT TRACKING ON`, default mode: the server remembers the
    /// keys this client read and sends an invalidation when any client
    /// changes one of them. The default for a standalone server and
    /// Sentinel. (In a cluster, reads and invalidations travel on
    /// different connections, so a cluster uses [`Invalidation::Broadcast`]
    /// with the same prefixes instead; see the module docs.)
    Tracking,
    /// RESP3 `CLIENT TRACKING ON BCAST PREFIX …`: every change of a key
    /// under one of the prefixes (all keys when empty) is announced, read
    /// or not. More messages, no server memory per key. The default for a
    /// cluster.
    Broadcast(Vec<Vec<u8>>),
    /// For servers (or proxies, or ACL users) that refuse `CLIENT
    /// TRACKING`: tiered caches publish the keys they write on this pub/sub
    /// channel and drop those keys from L1 when they hear them. Changes
    /// made by other Redis clients are not seen: they must publish too (or
    /// use [`Invalidation::KeyspaceEvents`]). The link still speaks RESP3
    /// (the messages arrive as pushes on the connection that reads), so a
    /// server older than Redis 6 is not supported.
    Channel(String),
    /// Keyspace notifications (`__keyspace@<db>__:<key>`): every change by
    /// any client, on a server with `notify-keyspace-events` including `K`
    /// and the classes of the commands used (`KA` for all). The link does
    /// not turn them on: the server's configuration is the operator's.
    KeyspaceEvents,
}

/// What a write does while L2 cannot take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteFailure {
    /// Fail at once with [`TieredError::Unavailable`](super::TieredError):
    /// the caller knows the write did not happen.
    FailFast,
    /// Keep up to `max` writes in memory and replay them, in order, when
    /// L2 is back, before reads resume. The write returns `Ok` when
    /// queued: it is not acknowledged by L2 and is lost if the process
    /// ends first. A full queue fails the write.
    Queue {
        /// The most writes kept.
        max: usize,
    },
}

/// The tuning of a tiered cache. The defaults suit a server on the same
/// network: commands time out after 1 s, the link is probed every 500 ms.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long one L2 command (or pipeline) may take before it counts as
    /// a failure.
    pub command_timeout: Duration,
    /// How long to wait for a connection.
    pub connect_timeout: Duration,
    /// How often the link checks that L2 answers (a PING). A link that
    /// fails the check is dropped and L1 fenced, as on a disconnection.
    pub heartbeat: Duration,
    /// While the link to L2 is lost, keep serving the L1 entries that were
    /// current when it was lost, for at most this long after (5 s by
    /// default: a Sentinel failover or a server restart); `None` never
    /// serves them (a read fails with `Unavailable`). L2 may have changed
    /// meanwhile if it was alive but unreachable: this is the bounded
    /// staleness traded for availability. Once the link is back, L1 starts
    /// empty.
    pub stale_if_error: Option<Duration>,
    /// What writes do while L2 is unavailable.
    pub write_failure: WriteFailure,
    /// Consecutive failures that open the circuit breaker.
    pub breaker_failures: u32,
    /// How long an open breaker refuses commands before letting one
    /// through to probe L2.
    pub breaker_open_for: Duration,
    /// Read each missed key's TTL (`PTTL`, pipelined with the read) so
    /// that L1 drops the entry when L2 expires it (the default). Off, a
    /// miss costs L2 one command instead of two, and an entry with a TTL in
    /// L2 leaves L1 when the server's invalidation of the expired key
    /// arrives (Redis sends one when it deletes it: on access, or by its
    /// active expiry cycle, usually well within a second) or at
    /// `max_l1_ttl`: for keys without TTLs, or where that lag is fine.
    pub read_ttl: bool,
    /// The longest an entry stays in L1, whatever its TTL in L2 (a bound
    /// on staleness should an invalidation be lost without the link
    /// noticing).
    pub max_l1_ttl: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            command_timeout: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(1),
            heartbeat: Duration::from_millis(500),
            stale_if_error: Some(Duration::from_secs(5)),
            write_failure: WriteFailure::FailFast,
            breaker_failures: 5,
            breaker_open_for: Duration::from_secs(1),
            read_ttl: true,
            max_l1_ttl: Some(Duration::from_secs(300)),
        }
    }
}
