//! A primary, one replica and three sentinels (`redis-server sentinel.conf
//! --sentinel`) watching them, with timeouts short enough for a failover in
//! a few seconds.

use super::{Binaries, Launch, RedisProc, info_field, query, skip_unless_available, wait_for};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

/// The name the sentinels monitor the primary under.
const SERVICE: &str = "embercache";
/// How long the set gets to be ready (replica in sync, sentinels know it
/// and each other).
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// A primary, its replica (`--replicaof`) and three sentinels with quorum 2,
/// `down-after-milliseconds` 1000 and `failover-timeout` 3000. Everything is
/// killed on drop.
#[derive(Debug)]
pub(crate) struct SentinelSet {
    /// The two data servers: started as primary and as replica (roles swap
    /// on a failover).
    data: Vec<RedisProc>,
    sentinels: Vec<RedisProc>,
    /// The primary as last known: at the start, or after a failover.
    primary: SocketAddr,
}

impl SentinelSet {
    /// Starts one, or `None` (skipped) without `redis-server`.
    pub(crate) fn start(test: &str) -> Option<SentinelSet> {
        skip_unless_available(test, false).map(|b| SentinelSet::with(&b))
    }

    /// Starts one from `bins` and waits until every sentinel sees the
    /// replica and the two other sentinels (so that a failover can happen).
    pub(crate) fn with(bins: &Binaries) -> SentinelSet {
        // The replica's first sync at once (diskless sync waits 5 s by
        // default for more replicas to join).
        let primary = RedisProc::start(&bins.server, &["--repl-diskless-sync-delay", "0"]);
        let port = primary.port().to_string();
        let replica = RedisProc::start(&bins.server, &["--replicaof", "127.0.0.1", &port]);
        wait_for("replica in sync", READY_TIMEOUT, |last| {
            *last = replica.query::<String>(&["INFO", "replication"]).unwrap_or_else(|e| e.to_string());
            (info_field(last, "master_link_status") == Some("up")).then_some(())
        });
        let config = format!(
            "sentinel resolve-hostnames no\n\
             sentinel monitor {SERVICE} 127.0.0.1 {port} 2\n\
             sentinel down-after-milliseconds {SERVICE} 1000\n\
             sentinel failover-timeout {SERVICE} 3000\n\
             sentinel parallel-syncs {SERVICE} 1\n"
        );
        let sentinels =
            (0..3).map(|_| Launch::new(&bins.server).config(&config).args(&["--sentinel"]).start()).collect();
        let set = SentinelSet { primary: primary.addr(), data: vec![primary, replica], sentinels };
        for s in &set.sentinels {
            wait_for("sentinel sees the replica and the other sentinels", READY_TIMEOUT, |last| {
                let replicas = query::<Vec<HashMap<String, String>>>(s.addr(), &["SENTINEL", "REPLICAS", SERVICE]);
                let peers = query::<Vec<HashMap<String, String>>>(s.addr(), &["SENTINEL", "SENTINELS", SERVICE]);
                *last = format!("{}: replicas {replicas:?}, sentinels {peers:?}", s.addr());
                let up = |n: &HashMap<String, String>| {
                    n.get("flags").is_some_and(|f| !f.contains("s_down") && !f.contains("disconnected"))
                };
                let replica_up = replicas.ok()?.iter().filter(|r| up(r)).count() == 1;
                let peers_up = peers.ok()?.iter().filter(|p| up(p)).count() == 2;
                (replica_up && peers_up).then_some(())
            });
        }
        set
    }

    /// The name the primary is monitored under (`SENTINEL
    /// get-master-addr-by-name <name>`).
    pub(crate) fn service_name(&self) -> &str {
        SERVICE
    }

    /// The three sentinels' addresses.
    pub(crate) fn sentinel_addrs(&self) -> Vec<SocketAddr> {
        self.sentinels.iter().map(RedisProc::addr).collect()
    }

    /// The sentinels, to kill or restart one.
    pub(crate) fn sentinels_mut(&mut self) -> &mut [RedisProc] {
        &mut self.sentinels
    }

    /// The data server at `addr` (primary or replica), to kill or restart it.
    pub(crate) fn data_node_mut(&mut self, addr: SocketAddr) -> Option<&mut RedisProc> {
        self.data.iter_mut().find(|n| n.addr() == addr)
    }

    /// The primary's address as the first sentinel that answers reports it.
    pub(crate) fn primary_addr(&self) -> SocketAddr {
        self.sentinels
            .iter()
            .find_map(|s| reported_primary(s.addr()))
            .expect("no sentinel reports the primary's address")
    }

    /// The data server the sentinels do not report as primary.
    pub(crate) fn replica_addr(&self) -> SocketAddr {
        let primary = self.primary_addr();
        self.data.iter().map(RedisProc::addr).find(|a| *a != primary).expect("two data servers")
    }

    /// Kills (SIGKILL) the server the sentinels report as primary, and
    /// returns its address.
    pub(crate) fn kill_primary(&mut self) -> SocketAddr {
        let addr = self.primary_addr();
        self.primary = addr;
        self.data_node_mut(addr).expect("the primary is one of ours").kill();
        addr
    }

    /// Waits until every sentinel that answers (at least two) reports a
    /// primary other than the last known one, and that server says
    /// `role:master`; returns its address. Panics after `timeout`.
    pub(crate) fn wait_for_failover(&mut self, timeout: Duration) -> SocketAddr {
        let old = self.primary;
        let new = wait_for("failover", timeout, |last| {
            let reports: Vec<SocketAddr> = self.sentinels.iter().filter_map(|s| reported_primary(s.addr())).collect();
            *last = format!("sentinels report {reports:?} (old primary {old})");
            let first = *reports.first()?;
            if first == old || reports.len() < 2 || reports.iter().any(|a| *a != first) {
                return None;
            }
            let info = query::<String>(first, &["INFO", "replication"]).ok()?;
            (info_field(&info, "role") == Some("master")).then_some(first)
        });
        self.primary = new;
        new
    }
}

/// What the sentinel at `sentinel` reports as the primary's address.
fn reported_primary(sentinel: SocketAddr) -> Option<SocketAddr> {
    let reply = query::<Option<(String, u16)>>(sentinel, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE]);
    let (ip, port) = reply.ok()??;
    Some(SocketAddr::new(ip.parse().ok()?, port))
}
