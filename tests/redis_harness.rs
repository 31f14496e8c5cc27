//! The real-Redis harness (`support/redis.rs`) against real servers: a
//! standalone server killed and restarted on its port, a Sentinel failover,
//! and a cluster that moves a slot with its keys.
//!
//! Needs `redis-server` and `redis-cli` on `PATH` (or `$REDIS_SERVER`,
//! `$REDIS_CLI`); without them the tests are skipped loudly, except under
//! `CI=true`, where they fail.

#[path = "support/redis.rs"]
mod redis_support;

use redis::ErrorKind;
use redis_support::{Cluster, SentinelSet, Standalone, connect, info_field, query, skip_unless_available};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[test]
fn standalone_kill_and_restart_keep_the_port() {
    let Some(bins) = skip_unless_available("standalone_kill_and_restart_keep_the_port", true) else { return };
    let mut server = Standalone::with(&bins);
    let port = server.port();
    assert_eq!(server.url(), format!("redis://127.0.0.1:{port}/"));
    let mut con = server.connection();
    redis::cmd("SET").arg("k").arg("v").query::<()>(&mut con).unwrap();
    assert_eq!(server.cli(&["GET", "k"]), "v");
    assert_eq!(server.version().split('.').next().map(|m| m.parse::<u32>().is_ok()), Some(true));

    // A crash cuts the clients; the restarted server answers on the same
    // port, empty (no persistence).
    server.kill();
    assert!(!server.is_running());
    assert!(redis::cmd("GET").arg("k").query::<Option<String>>(&mut con).is_err());
    assert!(server.query::<String>(&["PING"]).is_err());
    server.restart();
    assert_eq!(server.port(), port);
    assert!(server.is_running());
    assert_eq!(server.query::<String>(&["PING"]).unwrap(), "PONG");
    assert_eq!(server.query::<Option<String>>(&["GET", "k"]).unwrap(), None);

    // A clean stop, and a restart from it.
    server.stop();
    assert!(!server.is_running());
    server.restart();
    assert_eq!(server.cli(&["PING"]), "PONG");

    // The guard removes its directory.
    let dir = server.dir().to_owned();
    assert!(dir.is_dir());
    drop(server);
    assert!(!dir.exists());
}

#[test]
fn sentinel_failover_promotes_the_replica() {
    let started = Instant::now();
    let Some(mut set) = SentinelSet::start("sentinel_failover_promotes_the_replica") else { return };
    let ready = started.elapsed();
    assert_eq!(set.sentinel_addrs().len(), 3);
    let primary = set.primary_addr();
    let replica = set.replica_addr();
    assert_ne!(primary, replica);
    let master =
        query::<(String, u16)>(set.sentinel_addrs()[1], &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", set.service_name()]);
    assert_eq!(master.unwrap(), (primary.ip().to_string(), primary.port()));

    // A write the replica has (WAIT: acknowledged by one replica).
    query::<()>(primary, &["SET", "k", "v"]).unwrap();
    assert_eq!(query::<i64>(primary, &["WAIT", "1", "5000"]).unwrap(), 1);

    let failing = Instant::now();
    assert_eq!(set.kill_primary(), primary);
    let new = set.wait_for_failover(Duration::from_secs(15));
    eprintln!("sentinel set ready in {ready:?}, failover in {:?}", failing.elapsed());
    assert_eq!(new, replica);
    assert_eq!(set.primary_addr(), new);
    for sentinel in set.sentinel_addrs() {
        let reported = query::<(String, u16)>(sentinel, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "embercache"]);
        assert_eq!(reported.unwrap().1, new.port(), "sentinel {sentinel}");
    }
    let info = query::<String>(new, &["INFO", "replication"]).unwrap();
    assert_eq!(info_field(&info, "role"), Some("master"));
    assert_eq!(query::<String>(new, &["GET", "k"]).unwrap(), "v");
    query::<()>(new, &["SET", "k", "w"]).unwrap();
}

#[test]
fn cluster_moves_a_slot_with_its_keys() {
    let started = Instant::now();
    let Some(cluster) = Cluster::start("cluster_moves_a_slot_with_its_keys") else { return };
    let ready = started.elapsed();
    assert_eq!(cluster.nodes().len(), 3);
    for node in cluster.nodes() {
        assert!(node.port() <= 65_535 - 10_000, "bus port of {}", node.port());
        let info = node.query::<String>(&["CLUSTER", "INFO"]).unwrap();
        assert_eq!(info_field(&info, "cluster_state"), Some("ok"));
    }

    // Slots as the server computes them, hash tags included.
    // The check value of CRC16/XMODEM (0x31c3, below 16384).
    assert_eq!(Cluster::slot_of(b"123456789"), 0x31c3);
    for key in ["foo", "bar", "{user1000}.following", "{user1000}.followers", "foo{}{bar}", "foo{{bar}}zap", "{}", ""] {
        let expected = cluster.nodes()[0].query::<u16>(&["CLUSTER", "KEYSLOT", key]).unwrap();
        assert_eq!(Cluster::slot_of(key.as_bytes()), expected, "slot of {key:?}");
    }

    // Keys of one slot, written through its owner; another node redirects.
    let keys: Vec<String> = (0..5).map(|i| format!("{{tiered}}k{i}")).collect();
    let slot = Cluster::slot_of(keys[0].as_bytes());
    let owner = cluster.node_for_slot(slot);
    assert_eq!(cluster.node_for_key(keys[3].as_bytes()).addr(), owner.addr());
    for (i, k) in keys.iter().enumerate() {
        owner.query::<()>(&["SET", k, &i.to_string()]).unwrap();
    }
    let from = owner.addr();
    let to = cluster.nodes().iter().map(|n| n.addr()).find(|a| *a != from).unwrap();
    let moved = query::<String>(to, &["GET", &keys[0]]).unwrap_err();
    assert_eq!(moved.kind(), ErrorKind::Moved);
    assert_eq!(moved.redirect_node(), Some((from.to_string().as_str(), slot)));

    // Moved: the new owner serves them, the old one redirects there.
    let migrating = Instant::now();
    assert_eq!(cluster.migrate_slot(slot, to), keys.len());
    eprintln!("cluster ready in {ready:?}, slot moved in {:?}", migrating.elapsed());
    assert_eq!(cluster.node_for_slot(slot).addr(), to);
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(query::<String>(to, &["GET", k]).unwrap(), i.to_string());
    }
    let moved = query::<String>(from, &["GET", &keys[0]]).unwrap_err();
    assert_eq!(moved.kind(), ErrorKind::Moved);
    assert_eq!(moved.redirect_node(), Some((to.to_string().as_str(), slot)));
    for node in cluster.nodes() {
        let count = node.query::<u64>(&["CLUSTER", "COUNTKEYSINSLOT", &slot.to_string()]).unwrap();
        assert_eq!(count, if node.addr() == to { 5 } else { 0 }, "keys of slot {slot} on {}", node.addr());
    }
    // Moving it where it is does nothing.
    assert_eq!(cluster.migrate_slot(slot, to), 0);
}

/// `GET key` from `addr`, following `MOVED` and `ASK` (with `ASKING`) as a
/// cluster client does; returns the value and whether it came after `ASK`.
fn get_redirected(mut addr: SocketAddr, key: &str) -> (String, bool) {
    let mut asking = false;
    for _ in 0..5 {
        let mut con = connect(addr).unwrap();
        if asking {
            redis::cmd("ASKING").query::<()>(&mut con).unwrap();
        }
        match redis::cmd("GET").arg(key).query::<String>(&mut con) {
            Ok(v) => return (v, asking),
            Err(e) if matches!(e.kind(), ErrorKind::Moved | ErrorKind::Ask) => {
                asking = e.kind() == ErrorKind::Ask;
                addr = e.redirect_node().unwrap().0.parse().unwrap();
            }
            Err(e) => panic!("GET {key} on {addr}: {e}"),
        }
    }
    panic!("GET {key}: more than 5 redirects");
}

#[test]
fn cluster_slot_moves_while_a_client_reads() {
    let Some(cluster) = Cluster::start("cluster_slot_moves_while_a_client_reads") else { return };
    let keys: Vec<String> = (0..300).map(|i| format!("{{busy}}{i}")).collect();
    let slot = Cluster::slot_of(keys[0].as_bytes());
    let from = cluster.node_for_slot(slot).addr();
    for (i, k) in keys.iter().enumerate() {
        query::<()>(from, &["SET", k, &i.to_string()]).unwrap();
    }
    let to = cluster.nodes().iter().map(|n| n.addr()).find(|a| *a != from).unwrap();
    let done = AtomicBool::new(false);
    let (reads, asked) = std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let (mut reads, mut asked) = (0, 0);
            // Every key once at least, then until the move is over.
            while reads < keys.len() || !done.load(Ordering::Relaxed) {
                let i = reads % keys.len();
                let (value, ask) = get_redirected(from, &keys[i]);
                assert_eq!(value, i.to_string(), "{}", keys[i]);
                reads += 1;
                asked += usize::from(ask);
            }
            (reads, asked)
        });
        assert_eq!(cluster.migrate_slot(slot, to), keys.len());
        done.store(true, Ordering::Relaxed);
        reader.join().unwrap()
    });
    eprintln!("{reads} reads during and after the move, {asked} of them answered after ASK");
    assert_eq!(query::<String>(to, &["GET", &keys[299]]).unwrap(), "299");
}
