//! The link to L2: connections, kept up by a supervisor task, and the
//! invalidation messages they carry.
//!
//! For a standalone server or a Sentinel-managed primary there is one
//! RESP3 connection: reads and writes go over it, and so do the
//! invalidations (`CLIENT TRACKING` in default mode remembers the keys read
//! *on that connection*). For a cluster, commands go through the `redis`
//! crate's cluster client, and one RESP3 connection per primary carries the
//! invalidations ([`Invalidation::Broadcast`] or the channels).
//!
//! The supervisor's cycle: connect (asking the sentinels for the primary
//! first, if any), turn invalidations on, replay queued writes, then
//! declare L1 usable ([`Coherence::connected`]: a new epoch, L1 emptied).
//! While up it applies invalidations and checks every `heartbeat` that L2
//! answers. On a disconnection, a failed check or a change of the
//! cluster's primaries, it fences L1 ([`Coherence::fence`]) *before*
//! anything else, then starts over after a backoff.

use super::coherence::Coherence;
use super::options::{Invalidation, Options, Topology};
use parking_lot::{Mutex, RwLock};
use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Cmd, Pipeline, ProtocolVersion, PushInfo, PushKind, RedisFuture, Value};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// A connection to L2 (one server, or the cluster); cheap to clone.
#[derive(Clone)]
pub(crate) enum L2Conn {
    Single(MultiplexedConnection),
    Cluster(redis::cluster_async::ClusterConnection),
}

impl ConnectionLike for L2Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            L2Conn::Single(c) => c.req_packed_command(cmd),
            L2Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            L2Conn::Single(c) => c.req_packed_commands(cmd, offset, count),
            L2Conn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            L2Conn::Single(c) => c.get_db(),
            L2Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// Counters of the link's life.
#[derive(Debug, Default)]
pub(crate) struct LinkCounters {
    pub(crate) connects: AtomicU64,
    pub(crate) disconnects: AtomicU64,
    pub(crate) queued_replayed: AtomicU64,
    pub(crate) queued_failed: AtomicU64,
}

/// The shared state of the link.
pub(crate) struct Link {
    conn: RwLock<Option<L2Conn>>,
    pub(crate) coherence: Arc<Coherence>,
    pub(crate) counters: LinkCounters,
    /// Writes waiting for L2 ([`WriteFailure::Queue`](super::WriteFailure)).
    pub(crate) queue: Mutex<VecDeque<Pipeline>>,
    last_error: Mutex<Option<String>>,
    stop: watch::Sender<bool>,
    topology: Topology,
    invalidation: Invalidation,
    options: Options,
}

impl Link {
    /// The link (down), and the supervisor to spawn.
    pub(crate) fn new(
        topology: Topology,
        invalidation: Invalidation,
        options: Options,
        coherence: Arc<Coherence>,
    ) -> Arc<Link> {
        let (stop, _) = watch::channel(false);
        Arc::new(Link {
            conn: RwLock::new(None),
            coherence,
            counters: LinkCounters::default(),
            queue: Mutex::new(VecDeque::new()),
            last_error: Mutex::new(None),
            stop,
            topology,
            invalidation,
            options,
        })
    }

    /// The current connection, if the link is up.
    pub(crate) fn conn(&self) -> Option<L2Conn> {
        self.conn.read().clone()
    }

    pub(crate) fn last_error(&self) -> Option<String> {
        self.last_error.lock().clone()
    }

    /// Stops the supervisor (the connections close with it).
    pub(crate) fn close(&self) {
        let _ = self.stop.send(true);
        *self.conn.write() = None;
        self.coherence.fence();
    }

    /// Waits until the link is up, at most `timeout`; `true` if it is.
    pub(crate) async fn wait_up(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.coherence.is_up() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }

    /// The channel this link's writes are announced on, in channel mode.
    pub(crate) fn channel(&self) -> Option<&str> {
        match &self.invalidation {
            Invalidation::Channel(c) => Some(c),
            _ => None,
        }
    }

    pub(crate) fn options(&self) -> &Options {
        &self.options
    }

    /// The supervisor: runs until [`Link::close`].
    pub(crate) async fn supervise(self: Arc<Self>) {
        let mut stop = self.stop.subscribe();
        let mut backoff = Duration::from_millis(20);
        loop {
            if *stop.borrow_and_update() {
                return;
            }
            let (tx, mut pushes) = mpsc::unbounded_channel::<PushInfo>();
            let session = tokio::select! {
                s = self.open(tx) => s,
                _ = stop.changed() => return,
            };
            match session {
                Ok(session) => {
                    backoff = Duration::from_millis(20);
                    *self.conn.write() = Some(session.commands.clone());
                    self.counters.connects.fetch_add(1, Ordering::Relaxed);
                    self.coherence.connected();
                    let reason = tokio::select! {
                        r = self.serve(&session, &mut pushes) => r,
                        _ = stop.changed() => return,
                    };
                    // Fence first: from here nothing in L1 is current.
                    self.coherence.fence();
                    *self.conn.write() = None;
                    self.counters.disconnects.fetch_add(1, Ordering::Relaxed);
                    *self.last_error.lock() = Some(reason);
                }
                Err(e) => *self.last_error.lock() = Some(e),
            }
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                _ = stop.changed() => return,
            }
            backoff = (backoff * 2).min(Duration::from_secs(1));
        }
    }

    /// Connects, turns invalidations on, replays queued writes.
    async fn open(&self, tx: mpsc::UnboundedSender<PushInfo>) -> Result<Session, String> {
        let session = match &self.topology {
            Topology::Standalone(_) | Topology::Sentinel { .. } => {
                let conn = self.single(&self.topology, tx).await?;
                Session { commands: L2Conn::Single(conn.clone()), watchers: vec![conn], primaries: Vec::new() }
            }
            Topology::Cluster(nodes) => self.cluster(nodes, tx).await?,
        };
        self.replay(&session.commands).await?;
        Ok(session)
    }

    /// A RESP3 connection to the server (or the Sentinel's primary) with
    /// invalidations on.
    async fn single(
        &self,
        topology: &Topology,
        tx: mpsc::UnboundedSender<PushInfo>,
    ) -> Result<MultiplexedConnection, String> {
        let client = match topology {
            Topology::Standalone(url) => resp3_client(url)?,
            Topology::Sentinel { sentinels, service, password } => {
                let mut sentinel = redis::sentinel::Sentinel::build(sentinels.clone()).map_err(|e| e.to_string())?;
                let node = redis::sentinel::SentinelNodeConnectionInfo {
                    tls_mode: None,
                    redis_connection_info: Some(redis::RedisConnectionInfo {
                        protocol: ProtocolVersion::RESP3,
                        password: password.clone(),
                        ..Default::default()
                    }),
                };
                let found = sentinel.async_master_for(service, Some(&node));
                tokio::time::timeout(self.options.connect_timeout * 2, found)
                    .await
                    .map_err(|_| "the sentinels did not answer in time".to_string())?
                    .map_err(|e| format!("sentinel: {e}"))?
            }
            Topology::Cluster(_) => return Err("not a single-server topology".into()),
        };
        self.watcher(&client, tx).await
    }

    /// A RESP3 connection of `client` carrying invalidations to `tx`.
    async fn watcher(
        &self,
        client: &redis::Client,
        tx: mpsc::UnboundedSender<PushInfo>,
    ) -> Result<MultiplexedConnection, String> {
        let config = AsyncConnectionConfig::new()
            .set_push_sender(tx)
            .set_connection_timeout(self.options.connect_timeout)
            .set_response_timeout(self.options.command_timeout);
        let connect = client.get_multiplexed_async_connection_with_config(&config);
        let mut conn = tokio::time::timeout(self.options.connect_timeout, connect)
            .await
            .map_err(|_| "connecting timed out".to_string())?
            .map_err(|e| format!("connecting: {e}"))?;
        let db = client.get_connection_info().redis.db;
        let cluster = matches!(self.topology, Topology::Cluster(_));
        let on = match &self.invalidation {
            // Default tracking needs the reads on this connection: a
            // cluster's reads are not, so it broadcasts everything.
            Invalidation::Tracking if cluster => tracking(&[], true).query_async::<()>(&mut conn).await,
            Invalidation::Tracking => tracking(&[], false).query_async::<()>(&mut conn).await,
            Invalidation::Broadcast(prefixes) => tracking(prefixes, true).query_async::<()>(&mut conn).await,
            Invalidation::Channel(channel) => conn.subscribe(channel).await,
            Invalidation::KeyspaceEvents => conn.psubscribe(format!("__keyspace@{db}__:*")).await,
        };
        on.map_err(|e| format!("turning invalidations on: {e}"))?;
        Ok(conn)
    }

    /// The cluster client, and one watching connection per primary.
    async fn cluster(&self, nodes: &[String], tx: mpsc::UnboundedSender<PushInfo>) -> Result<Session, String> {
        let client = redis::cluster::ClusterClientBuilder::new(nodes.to_vec())
            .connection_timeout(self.options.connect_timeout)
            .response_timeout(self.options.command_timeout)
            .build()
            .map_err(|e| e.to_string())?;
        let connect = client.get_async_connection();
        let mut commands = tokio::time::timeout(self.options.connect_timeout * 2, connect)
            .await
            .map_err(|_| "connecting to the cluster timed out".to_string())?
            .map_err(|e| format!("cluster: {e}"))?;
        let primaries = cluster_primaries(&mut commands, self.options.command_timeout).await?;
        let mut watchers = Vec::with_capacity(primaries.len());
        for addr in &primaries {
            let client = resp3_client(&format!("redis://{addr}"))?;
            watchers.push(self.watcher(&client, tx.clone()).await?);
        }
        Ok(Session { commands: L2Conn::Cluster(commands), watchers, primaries })
    }

    /// Replays the writes queued while L2 was away, in order; a write the
    /// server refuses is dropped (and counted), one that cannot reach it
    /// stays at the head of the queue and the connection is given up.
    async fn replay(&self, conn: &L2Conn) -> Result<(), String> {
        loop {
            let Some(next) = self.queue.lock().front().cloned() else { return Ok(()) };
            let mut conn = conn.clone();
            let sent = tokio::time::timeout(self.options.command_timeout, next.query_async::<()>(&mut conn)).await;
            match sent {
                Ok(Ok(())) => self.counters.queued_replayed.fetch_add(1, Ordering::Relaxed),
                Ok(Err(e)) if !unreachable(&e) => self.counters.queued_failed.fetch_add(1, Ordering::Relaxed),
                Ok(Err(e)) => return Err(format!("replaying queued writes: {e}")),
                Err(_) => return Err("replaying queued writes timed out".into()),
            };
            self.queue.lock().pop_front();
        }
    }

    /// Applies invalidations and checks liveness until the session ends;
    /// returns why it ended.
    async fn serve(&self, session: &Session, pushes: &mut mpsc::UnboundedReceiver<PushInfo>) -> String {
        let mut beat = tokio::time::interval(self.options.heartbeat);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        beat.tick().await;
        loop {
            tokio::select! {
                push = pushes.recv() => match push {
                    None => return "the connection closed".into(),
                    Some(p) if p.kind == PushKind::Disconnection => return "disconnected".into(),
                    Some(p) => self.apply(p),
                },
                _ = beat.tick() => {
                    // Writes queued while the breaker was open go out too.
                    if let Err(e) = self.check(session).await.and(self.replay(&session.commands).await) {
                        return e;
                    }
                }
            }
        }
    }

    /// Every watching connection answers, and (for a cluster) the
    /// primaries are the ones watched.
    async fn check(&self, session: &Session) -> Result<(), String> {
        let limit = self.options.command_timeout;
        for conn in &session.watchers {
            let mut conn = conn.clone();
            match tokio::time::timeout(limit, redis::cmd("PING").query_async::<()>(&mut conn)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(format!("heartbeat: {e}")),
                Err(_) => return Err("heartbeat timed out".into()),
            }
        }
        if let L2Conn::Cluster(c) = &session.commands {
            let now = cluster_primaries(&mut c.clone(), limit).await?;
            if now != session.primaries {
                return Err(format!("the cluster's primaries changed: {:?} -> {now:?}", session.primaries));
            }
        }
        Ok(())
    }

    /// One push message.
    fn apply(&self, push: PushInfo) {
        let c = &self.coherence;
        match (push.kind, push.data.as_slice()) {
            // After FLUSHDB/FLUSHALL the server sends a null.
            (PushKind::Invalidate, [Value::Nil]) => c.invalidate_all(),
            (PushKind::Invalidate, [Value::Array(keys)]) => keys.iter().filter_map(bytes).for_each(|k| c.invalidate(k)),
            (PushKind::Message, [_, key]) => match bytes(key) {
                Some(b"*") => c.invalidate_all(),
                Some(k) => c.invalidate(k),
                None => {}
            },
            (PushKind::PMessage, [_, channel, _event]) => {
                if let Some(key) = bytes(channel).and_then(keyspace_key) {
                    c.invalidate(key);
                }
            }
            _ => {}
        }
    }
}

/// The connections of one life of the link.
struct Session {
    /// Where commands go.
    commands: L2Conn,
    /// The connections carrying invalidations.
    watchers: Vec<MultiplexedConnection>,
    /// A cluster's primaries (`host:port`, sorted) when the session began.
    primaries: Vec<String>,
}

/// Whether an error means L2 could not be reached (rather than a refusal).
pub(crate) fn unreachable(e: &redis::RedisError) -> bool {
    e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal()
}

fn resp3_client(url: &str) -> Result<redis::Client, String> {
    let mut info = redis::IntoConnectionInfo::into_connection_info(url).map_err(|e| format!("{url}: {e}"))?;
    info.redis.protocol = ProtocolVersion::RESP3;
    redis::Client::open(info).map_err(|e| e.to_string())
}

fn tracking(prefixes: &[Vec<u8>], bcast: bool) -> Cmd {
    let mut cmd = redis::cmd("CLIENT");
    cmd.arg("TRACKING").arg("ON");
    if bcast {
        cmd.arg("BCAST");
        for p in prefixes {
            cmd.arg("PREFIX").arg(p.as_slice());
        }
    }
    cmd
}

fn bytes(v: &Value) -> Option<&[u8]> {
    match v {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        _ => None,
    }
}

/// The key of a keyspace notification's channel (`__keyspace@0__:key`).
pub(super) fn keyspace_key(channel: &[u8]) -> Option<&[u8]> {
    let rest = channel.strip_prefix(b"__keyspace@")?;
    let at = rest.windows(3).position(|w| w == b"__:")?;
    rest.get(at + 3..)
}

/// The cluster's primaries that serve slots (`host:port`, sorted), from
/// `CLUSTER NODES`.
async fn cluster_primaries(
    conn: &mut redis::cluster_async::ClusterConnection,
    limit: Duration,
) -> Result<Vec<String>, String> {
    let nodes: String = tokio::time::timeout(limit, redis::cmd("CLUSTER").arg("NODES").query_async(conn))
        .await
        .map_err(|_| "CLUSTER NODES timed out".to_string())?
        .map_err(|e| format!("CLUSTER NODES: {e}"))?;
    let mut primaries = parse_primaries(&nodes);
    primaries.sort();
    if primaries.is_empty() {
        return Err("the cluster has no primary serving slots".into());
    }
    Ok(primaries)
}

/// `CLUSTER NODES` lines: `<id> <ip:port@cport[,host]> <flags> <primary>
/// <ping> <pong> <epoch> <state> <slot>…`; a primary not failed that
/// serves at least one slot.
pub(super) fn parse_primaries(nodes: &str) -> Vec<String> {
    nodes
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let flags = f.get(2)?;
            let serving = f.len() > 8;
            let primary = flags.split(',').any(|x| x == "master") && !flags.contains("fail") && serving;
            let addr = f.get(1)?.split('@').next()?;
            primary.then(|| addr.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_keyspace_channels_and_cluster_nodes() {
        assert_eq!(keyspace_key(b"__keyspace@0__:user:1"), Some(&b"user:1"[..]));
        assert_eq!(keyspace_key(b"__keyspace@12__:a__:b"), Some(&b"a__:b"[..]));
        assert_eq!(keyspace_key(b"__keyevent@0__:set"), None);
        let nodes = "\
07c3 127.0.0.1:30001@40001 myself,master - 0 0 1 connected 0-5460
67ed 127.0.0.1:30002@40002 master - 0 1426238316232 2 connected 5461-10922
292f 127.0.0.1:30003@40003 master,fail - 0 1426238316232 3 connected 10923-16383
6ec2 127.0.0.1:30004@40004 slave 07c3 0 1426238317239 4 connected
824f 127.0.0.1:30005@40005,host.example master - 0 1426238316232 5 connected
";
        assert_eq!(parse_primaries(nodes), ["127.0.0.1:30001", "127.0.0.1:30002"]);
    }
}
