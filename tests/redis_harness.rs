//! The real-Redis harness (`support/redis.rs`) against real servers: a
//! standalone server killed and restarted on its port, and a Sentinel
//! failover.
//!
//! Needs `redis-server` and `redis-cli` on `PATH` (or `$REDIS_SERVER`,
//! `$REDIS_CLI`); without them the tests are skipped loudly, except under
//! `CI=true`, where they fail.

#[path = "support/redis.rs"]
mod redis_support;

use redis_support::{SentinelSet, Standalone, info_field, query, skip_unless_available};
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
