//! The real-Redis harness (`support/redis.rs`) against real servers: a
//! standalone server killed and restarted on its port.
//!
//! Needs `redis-server` and `redis-cli` on `PATH` (or `$REDIS_SERVER`,
//! `$REDIS_CLI`); without them the tests are skipped loudly, except under
//! `CI=true`, where they fail.

#[path = "support/redis.rs"]
mod redis_support;

use redis_support::{Standalone, skip_unless_available};

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
