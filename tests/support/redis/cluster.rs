//! A Redis Cluster of three primaries (no replicas), created with
//! `redis-cli --cluster create`, and one-slot migration done the way
//! `redis-cli --cluster reshard` does it, so that a test can reshard while
//! its clients run.

use super::{Binaries, Launch, RedisProc, SLOTS, info_field, query, query_cmd, skip_unless_available, wait_for};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

/// How long the cluster gets to reach `cluster_state:ok` on every node.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// Keys moved by one `MIGRATE`, as `redis-cli`'s default `--cluster-pipeline`.
const MIGRATE_BATCH: usize = 10;
/// `MIGRATE`'s timeout, in milliseconds.
const MIGRATE_TIMEOUT_MS: u32 = 5_000;

/// Three primaries (`--cluster-enabled yes`, node timeout 2000 ms), each in
/// its own directory, on ports whose bus port (+10000) was free. Killed on
/// drop.
#[derive(Debug)]
pub(crate) struct Cluster {
    nodes: Vec<RedisProc>,
}

/// One line of `CLUSTER NODES`.
#[derive(Debug)]
struct NodeLine {
    id: String,
    addr: SocketAddr,
    /// Owned slot ranges (inclusive); migration markers left out.
    slots: Vec<(u16, u16)>,
}

impl NodeLine {
    fn owns(&self, slot: u16) -> bool {
        self.slots.iter().any(|&(lo, hi)| (lo..=hi).contains(&slot))
    }
}

/// `CLUSTER NODES`' text as lines: `<id> <ip:port@bus[,host]> <flags>
/// <primary> <ping> <pong> <epoch> <link> <slot or range>...`.
fn parse_nodes(text: &str) -> Vec<NodeLine> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let Some(addr) = fields.get(1).and_then(|a| a.split('@').next()).and_then(|a| a.parse().ok()) else {
            continue;
        };
        let slots = fields
            .iter()
            .skip(8)
            .filter(|s| !s.starts_with('['))
            .filter_map(|s| match s.split_once('-') {
                Some((lo, hi)) => Some((lo.parse().ok()?, hi.parse().ok()?)),
                None => s.parse().ok().map(|n| (n, n)),
            })
            .collect();
        out.push(NodeLine { id: fields[0].to_owned(), addr, slots });
    }
    out
}

/// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), the checksum
/// Redis Cluster hashes keys with.
fn crc16(data: &[u8]) -> u16 {
    let mut crc = 0u16;
    for &byte in data {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 == 0 { crc << 1 } else { (crc << 1) ^ 0x1021 };
        }
    }
    crc
}

impl Cluster {
    /// Starts one, or `None` (skipped) without `redis-server` or `redis-cli`.
    pub(crate) fn start(test: &str) -> Option<Cluster> {
        skip_unless_available(test, true).map(|b| Cluster::with(&b))
    }

    /// Starts three nodes from `bins`, joins them with `redis-cli --cluster
    /// create` and waits until every node says `cluster_state:ok`.
    pub(crate) fn with(bins: &Binaries) -> Cluster {
        let cli = bins.cli.as_ref().expect("a cluster is created with redis-cli");
        let args = [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes-{port}.conf",
            "--cluster-node-timeout",
            "2000",
        ];
        let nodes: Vec<RedisProc> =
            (0..3).map(|_| Launch::new(&bins.server).cluster_bus().args(&args).start()).collect();
        let out = Command::new(cli)
            .arg("--cluster")
            .arg("create")
            .args(nodes.iter().map(|n| n.addr().to_string()))
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", cli.display()));
        assert!(
            out.status.success(),
            "redis-cli --cluster create: {}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let cluster = Cluster { nodes };
        for node in &cluster.nodes {
            wait_for("cluster_state:ok", READY_TIMEOUT, |last| {
                *last = node.query::<String>(&["CLUSTER", "INFO"]).unwrap_or_else(|e| e.to_string());
                let ok = info_field(last, "cluster_state") == Some("ok");
                (ok && info_field(last, "cluster_known_nodes") == Some("3")).then_some(())
            });
        }
        cluster
    }

    /// The three nodes.
    pub(crate) fn nodes(&self) -> &[RedisProc] {
        &self.nodes
    }

    /// The nodes, to kill or restart one (no replicas: its slots are down
    /// meanwhile).
    pub(crate) fn nodes_mut(&mut self) -> &mut [RedisProc] {
        &mut self.nodes
    }

    /// The slot of `key`: CRC16 of the key, or of its hash tag (the bytes
    /// between the first `{` and the next `}`, when not empty), mod 16384.
    pub(crate) fn slot_of(key: &[u8]) -> u16 {
        let tagged = key.iter().position(|&b| b == b'{').and_then(|open| {
            let rest = &key[open + 1..];
            rest.iter().position(|&b| b == b'}').filter(|&close| close > 0).map(|close| &rest[..close])
        });
        crc16(tagged.unwrap_or(key)) % SLOTS
    }

    /// The node that owns `slot`, as the first node that answers sees it.
    pub(crate) fn node_for_slot(&self, slot: u16) -> &RedisProc {
        let view = self.view();
        let owner = view.iter().find(|n| n.owns(slot)).unwrap_or_else(|| panic!("no node owns slot {slot}"));
        self.node_at(owner.addr)
    }

    /// The node that owns `key`'s slot.
    pub(crate) fn node_for_key(&self, key: &[u8]) -> &RedisProc {
        self.node_for_slot(Cluster::slot_of(key))
    }

    /// Moves `slot` and its keys to the node at `to`, as `redis-cli --cluster
    /// reshard` does: `CLUSTER SETSLOT IMPORTING` on the target, `MIGRATING`
    /// on the source, `MIGRATE` of the keys `CLUSTER GETKEYSINSLOT` lists
    /// (in batches) until none is left, then `SETSLOT NODE` on the target,
    /// the source and the others. Clients meanwhile get `ASK` redirects, and
    /// `MOVED` after. Returns the number of keys moved (0 when `to` already
    /// owns it).
    pub(crate) fn migrate_slot(&self, slot: u16, to: SocketAddr) -> usize {
        let view = self.view();
        let src = view.iter().find(|n| n.owns(slot)).unwrap_or_else(|| panic!("no node owns slot {slot}"));
        let dst = view.iter().find(|n| n.addr == to).unwrap_or_else(|| panic!("no cluster node at {to}"));
        if src.addr == dst.addr {
            return 0;
        }
        let slot_arg = slot.to_string();
        let setslot = |at: SocketAddr, args: &[&str]| {
            let mut cmd = vec!["CLUSTER", "SETSLOT", &slot_arg];
            cmd.extend_from_slice(args);
            query::<()>(at, &cmd).unwrap_or_else(|e| panic!("{cmd:?} on {at}: {e}"));
        };
        setslot(dst.addr, &["IMPORTING", &src.id]);
        setslot(src.addr, &["MIGRATING", &dst.id]);
        let mut moved = 0;
        loop {
            let batch = MIGRATE_BATCH.to_string();
            let keys: Vec<Vec<u8>> = query(src.addr, &["CLUSTER", "GETKEYSINSLOT", &slot_arg, &batch])
                .unwrap_or_else(|e| panic!("CLUSTER GETKEYSINSLOT on {}: {e}", src.addr));
            if keys.is_empty() {
                break;
            }
            let mut migrate = redis::cmd("MIGRATE");
            migrate.arg("127.0.0.1").arg(dst.addr.port()).arg("").arg(0).arg(MIGRATE_TIMEOUT_MS).arg("KEYS").arg(&keys);
            query_cmd::<()>(src.addr, &migrate).unwrap_or_else(|e| panic!("MIGRATE from {}: {e}", src.addr));
            moved += keys.len();
        }
        // The target first: from then on it serves the slot (with a bumped
        // epoch the others accept), and the source answers MOVED.
        setslot(dst.addr, &["NODE", &dst.id]);
        setslot(src.addr, &["NODE", &dst.id]);
        for other in view.iter().filter(|n| n.addr != src.addr && n.addr != dst.addr) {
            setslot(other.addr, &["NODE", &dst.id]);
        }
        moved
    }

    /// Our node at `addr`.
    fn node_at(&self, addr: SocketAddr) -> &RedisProc {
        self.nodes.iter().find(|n| n.addr() == addr).unwrap_or_else(|| panic!("{addr} is not one of our nodes"))
    }

    /// `CLUSTER NODES` from the first node that answers.
    fn view(&self) -> Vec<NodeLine> {
        let text: String = self
            .nodes
            .iter()
            .find_map(|n| n.query(&["CLUSTER", "NODES"]).ok())
            .expect("no cluster node answers CLUSTER NODES");
        parse_nodes(&text)
    }
}
