//! The `tiered` feature against real Redis servers (Debian's
//! `redis-server`, started on free loopback ports by `support/redis.rs`):
//! a standalone server, a Sentinel-managed primary that fails over, and a
//! three-primary Cluster that reshards while clients run. Another client
//! changes keys directly in Redis; L1 must drop them within a bounded time.
//! Servers are killed and restarted mid-load: no stale read after recovery,
//! no lost acknowledged write, no panic.
//!
//! Skipped loudly without `redis-server`/`redis-cli`, except under
//! `CI=true`, where they fail.
#![cfg(feature = "tiered")]

#[path = "support/redis.rs"]
mod redis_support;

use embercache::tiered::{
    BreakerState, Invalidation, Options, TieredBuilder, TieredCache, TieredDb, TieredError, WriteFailure,
};
use redis_support::{Cluster, RedisProc, SentinelSet, Standalone, skip_unless_available};
use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

/// How long another client's change may take to reach L1.
const INVALIDATION_BOUND: Duration = Duration::from_secs(1);

fn encode(v: &str) -> Vec<u8> {
    bincode::serde::encode_to_vec(v, bincode::config::standard()).unwrap()
}

/// Another client: a plain connection to `url`.
fn other(url: &str) -> redis::Connection {
    redis::Client::open(url).unwrap().get_connection_with_timeout(Duration::from_secs(5)).unwrap()
}

fn fast_options() -> Options {
    Options {
        command_timeout: Duration::from_millis(300),
        connect_timeout: Duration::from_millis(500),
        heartbeat: Duration::from_millis(100),
        breaker_failures: 3,
        breaker_open_for: Duration::from_millis(200),
        ..Options::default()
    }
}

/// Polls `f` until it gives `Some`, at most `limit`.
async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_fill_l1_writes_go_to_l2_and_ttls_follow_l2() {
    let Some(bins) = skip_unless_available("reads_fill_l1_writes_go_to_l2_and_ttls_follow_l2", false) else { return };
    let server = Standalone::with(&bins);
    let cache: TieredCache<u64, String> =
        TieredBuilder::standalone(server.url()).prefix("user:").options(fast_options()).build().await.unwrap();

    cache.insert(&1, "Ada".into()).await.unwrap();
    // In L2 under the prefix, in bincode's format.
    let raw: Vec<u8> = server.query(&["GET", "user:1"]).unwrap();
    assert_eq!(raw, encode("Ada"));
    assert_eq!(cache.get(&1).await.unwrap().as_deref(), Some("Ada"));
    let s = cache.stats();
    assert_eq!((s.l1_hits, s.l1_misses, s.l2_reads), (0, 1, 1));
    assert_eq!(cache.get(&1).await.unwrap().as_deref(), Some("Ada"));
    assert_eq!(cache.stats().l1_hits, 1, "the second read is L1's");
    // An absent key is remembered as absent (and tracked like any other).
    assert_eq!(cache.get(&2).await.unwrap(), None);
    assert_eq!(cache.get(&2).await.unwrap(), None);
    assert_eq!(cache.stats().l1_hits, 2);

    // L1 keeps an entry no longer than its TTL in L2.
    cache.insert_with_ttl(&3, "brief".into(), Duration::from_millis(300)).await.unwrap();
    assert_eq!(cache.get(&3).await.unwrap().as_deref(), Some("brief"));
    let pttl: i64 = server.query(&["PTTL", "user:3"]).unwrap();
    assert!((1..=300).contains(&pttl), "{pttl}");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(cache.get(&3).await.unwrap(), None);

    // Removal, and batches: one pipeline each way.
    cache.remove(&1).await.unwrap();
    assert_eq!(cache.get(&1).await.unwrap(), None);
    let items: Vec<(u64, String)> = (10..20).map(|i| (i, format!("v{i}"))).collect();
    cache.insert_many(&items, Some(Duration::from_secs(60))).await.unwrap();
    let reads = cache.stats().l2_reads;
    let got = cache.get_many(&(10..22).collect::<Vec<_>>()).await.unwrap();
    assert_eq!(cache.stats().l2_reads, reads + 1, "the misses went out as one batch");
    let want: Vec<Option<String>> = (10..22).map(|i| (i < 20).then(|| format!("v{i}"))).collect();
    assert_eq!(got, want);
    assert_eq!(cache.get_many(&(10..22).collect::<Vec<_>>()).await.unwrap(), want);
    assert_eq!(cache.stats().l2_reads, reads + 1, "and then L1 answered them all");

    // Without TTL reads, a miss is one command.
    let lean: TieredCache<u64, String> = TieredBuilder::standalone(server.url())
        .prefix("user:")
        .options(Options { read_ttl: false, ..fast_options() })
        .build()
        .await
        .unwrap();
    let calls = |name: &str| -> u64 {
        let info: String = server.query(&["INFO", "commandstats"]).unwrap();
        let prefix = format!("cmdstat_{name}:calls=");
        info.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .and_then(|r| r.split(',').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let (gets, pttls) = (calls("get"), calls("pttl"));
    assert_eq!(lean.get(&10).await.unwrap().as_deref(), Some("v10"));
    assert_eq!((calls("get") - gets, calls("pttl") - pttls), (1, 0));
    lean.close();

    // A value another program wrote in another format is an error, not a panic.
    let _: () = server.query(&["SET", "user:99", "not bincode \u{ff}"]).unwrap();
    assert!(matches!(cache.get(&99).await, Err(TieredError::Decode { .. })), "{:?}", cache.get(&99).await);
    cache.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiered_db_serves_strings_and_hashes_byte_for_byte() {
    let Some(bins) = skip_unless_available("tiered_db_serves_strings_and_hashes_byte_for_byte", false) else { return };
    let server = Standalone::with(&bins);
    let db: TieredDb = TieredBuilder::standalone(server.url()).options(fast_options()).build_db().await.unwrap();
    db.set(b"s", b"v\x00\xff", None).await.unwrap();
    assert_eq!(db.get(b"s").await.unwrap().as_deref(), Some(&b"v\x00\xff"[..]));
    db.hset(b"h", &[(b"f1", b"a"), (b"f2", b"b")]).await.unwrap();
    assert_eq!(db.hget(b"h", b"f1").await.unwrap().as_deref(), Some(&b"a"[..]));
    let reads = db.stats().l2_reads;
    assert_eq!(db.hget(b"h", b"f2").await.unwrap().as_deref(), Some(&b"b"[..]));
    assert_eq!(db.stats().l2_reads, reads, "the hash is cached whole");
    let all: HashMap<Vec<u8>, Vec<u8>> = db.hgetall(b"h").await.unwrap();
    assert_eq!(all.len(), 2);
    db.hdel(b"h", &[b"f1"]).await.unwrap();
    assert_eq!(db.hget(b"h", b"f1").await.unwrap(), None);
    // Wrong types are Redis's error.
    assert!(matches!(db.hget(b"s", b"x").await, Err(TieredError::Redis(e)) if e.starts_with("WRONGTYPE")));
    assert!(matches!(db.get(b"h").await, Err(TieredError::Redis(e)) if e.starts_with("WRONGTYPE")));
    db.mset(&[(b"a", b"1"), (b"b", b"2")], Some(Duration::from_secs(30))).await.unwrap();
    assert_eq!(db.mget(&[b"a", b"nope", b"b"]).await.unwrap(), vec![Some(b"1".to_vec()), None, Some(b"2".to_vec())]);
    db.expire(b"a", Duration::from_millis(200)).await.unwrap();
    db.del(&[b"b"]).await.unwrap();
    assert_eq!(db.get(b"b").await.unwrap(), None);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(db.get(b"a").await.unwrap(), None);
    db.close();
}

/// Another client's SET, DEL and FLUSHALL reach L1 within the bound, in
/// each invalidation mode.
async fn others_changes_reach_l1(url: &str, mode: Invalidation, announce: Option<&str>) {
    let db: TieredDb =
        TieredBuilder::standalone(url).invalidation(mode.clone()).options(fast_options()).build_db().await.unwrap();
    let mut con = other(url);
    let set = |con: &mut redis::Connection, k: &str, v: &str| {
        redis::cmd("SET").arg(k).arg(v).query::<()>(con).unwrap();
        if let Some(channel) = announce {
            redis::cmd("PUBLISH").arg(channel).arg(k).query::<()>(con).unwrap();
        }
    };
    set(&mut con, "app:k", "v1");
    // Served by L1 before the change (an invalidation of the SET itself may
    // still be in flight and cost one more L2 read: never a stale value).
    eventually(&format!("{mode:?}: an L1 hit"), INVALIDATION_BOUND, || async {
        let hits = db.stats().l1_hits;
        assert_eq!(db.get(b"app:k").await.unwrap().as_deref(), Some(&b"v1"[..]));
        (db.stats().l1_hits > hits).then_some(())
    })
    .await;

    set(&mut con, "app:k", "v2");
    let started = Instant::now();
    eventually(&format!("{mode:?}: SET by another client"), INVALIDATION_BOUND, || async {
        (db.get(b"app:k").await.unwrap().as_deref() == Some(&b"v2"[..])).then_some(())
    })
    .await;
    eprintln!("{mode:?}: another client's SET reached L1 in {:?}", started.elapsed());
    if announce.is_none() {
        redis::cmd("DEL").arg("app:k").query::<()>(&mut con).unwrap();
        eventually(&format!("{mode:?}: DEL by another client"), INVALIDATION_BOUND, || async {
            db.get(b"app:k").await.unwrap().is_none().then_some(())
        })
        .await;
    }
    if matches!(mode, Invalidation::Tracking | Invalidation::Broadcast(_)) {
        set(&mut con, "app:k", "v3");
        eventually("v3", INVALIDATION_BOUND, || async {
            (db.get(b"app:k").await.unwrap().as_deref() == Some(&b"v3"[..])).then_some(())
        })
        .await;
        redis::cmd("FLUSHALL").query::<()>(&mut con).unwrap();
        eventually(&format!("{mode:?}: FLUSHALL"), INVALIDATION_BOUND, || async {
            db.get(b"app:k").await.unwrap().is_none().then_some(())
        })
        .await;
    }
    assert!(db.stats().invalidations > 0);
    db.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_clients_changes_invalidate_l1_in_every_mode() {
    let Some(bins) = skip_unless_available("another_clients_changes_invalidate_l1_in_every_mode", false) else {
        return;
    };
    let server = RedisProc::start(&bins.server, &["--notify-keyspace-events", "KA"]);
    let url = server.url();
    others_changes_reach_l1(&url, Invalidation::Tracking, None).await;
    others_changes_reach_l1(&url, Invalidation::Broadcast(vec![b"app:".to_vec()]), None).await;
    others_changes_reach_l1(&url, Invalidation::KeyspaceEvents, None).await;
    others_changes_reach_l1(&url, Invalidation::Channel("embercache:inval".into()), Some("embercache:inval")).await;

    // Channel mode: one tiered cache's writes reach another's L1.
    let mode = Invalidation::Channel("embercache:inval".into());
    let a: TieredDb = TieredBuilder::standalone(&url).invalidation(mode.clone()).build_db().await.unwrap();
    let b: TieredDb = TieredBuilder::standalone(&url).invalidation(mode).build_db().await.unwrap();
    a.set(b"shared", b"1", None).await.unwrap();
    assert_eq!(b.get(b"shared").await.unwrap().as_deref(), Some(&b"1"[..]));
    a.set(b"shared", b"2", None).await.unwrap();
    eventually("a's write seen by b", INVALIDATION_BOUND, || async {
        (b.get(b"shared").await.unwrap().as_deref() == Some(&b"2"[..])).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_of_one_key_share_one_l2_read() {
    let Some(bins) = skip_unless_available("concurrent_misses_of_one_key_share_one_l2_read", false) else { return };
    let server = Standalone::with(&bins);
    let cache: TieredCache<&'static str, String> = TieredBuilder::standalone(server.url()).build().await.unwrap();
    let mut con = other(&server.url());
    redis::cmd("SET").arg("hot").arg(encode("x")).query::<()>(&mut con).unwrap();
    let before: String = server.query(&["INFO", "commandstats"]).unwrap();
    let gets = |info: &str| -> u64 {
        info.lines()
            .find_map(|l| l.strip_prefix("cmdstat_get:calls="))
            .and_then(|r| r.split(',').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let c = cache.clone();
            tokio::spawn(async move { c.get(&"hot").await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().as_deref(), Some("x"));
    }
    let after: String = server.query(&["INFO", "commandstats"]).unwrap();
    assert_eq!(gets(&after) - gets(&before), 1, "32 concurrent misses, one GET");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_l2_fences_l1_and_recovery_serves_no_stale_value() {
    let Some(bins) = skip_unless_available("a_lost_l2_fences_l1_and_recovery_serves_no_stale_value", false) else {
        return;
    };
    let mut server = Standalone::with(&bins);
    let url = server.url();
    let strict: TieredCache<u64, String> = TieredBuilder::standalone(&url)
        .prefix("k:")
        .options(Options { stale_if_error: None, ..fast_options() })
        .build()
        .await
        .unwrap();
    let lenient: TieredCache<u64, String> = TieredBuilder::standalone(&url)
        .prefix("k:")
        .options(Options { stale_if_error: Some(Duration::from_secs(30)), ..fast_options() })
        .build()
        .await
        .unwrap();
    strict.insert(&1, "v1".into()).await.unwrap();
    assert_eq!(strict.get(&1).await.unwrap().as_deref(), Some("v1"));
    assert_eq!(lenient.get(&1).await.unwrap().as_deref(), Some("v1"));

    server.kill();
    // The link notices (a disconnection, or the heartbeat) and fences L1.
    eventually("the strict cache fences L1", Duration::from_secs(3), || async {
        match strict.get(&1).await {
            Err(TieredError::Unavailable(_) | TieredError::Timeout(_) | TieredError::CircuitOpen) => Some(()),
            Ok(v) => {
                assert_eq!(v.as_deref(), Some("v1"), "before the fence only the last value");
                None
            }
            Err(e) => panic!("{e}"),
        }
    })
    .await;
    assert!(!strict.stats().connected);
    // Stale-if-error: the last value, counted as stale.
    assert_eq!(lenient.get(&1).await.unwrap().as_deref(), Some("v1"));
    assert!(lenient.stats().stale_served >= 1);
    // Fail-fast writes fail, and say why.
    let failed = strict.insert(&2, "w".into()).await;
    assert!(matches!(failed, Err(TieredError::Unavailable(_) | TieredError::CircuitOpen)), "{failed:?}");

    // Back empty (no persistence), and another client writes v2 first.
    server.restart();
    let mut con = other(&url);
    redis::cmd("SET").arg("k:1").arg(encode("v2")).query::<()>(&mut con).unwrap();
    assert!(strict.wait_connected(Duration::from_secs(5)).await);
    assert!(lenient.wait_connected(Duration::from_secs(5)).await);
    assert_eq!(strict.get(&1).await.unwrap().as_deref(), Some("v2"), "no stale value after recovery");
    assert_eq!(lenient.get(&1).await.unwrap().as_deref(), Some("v2"), "no stale value after recovery");
    let s = strict.stats();
    assert!(s.connects >= 2 && s.disconnects >= 1, "{s:?}");
    // Invalidations flow again on the new connection.
    redis::cmd("SET").arg("k:1").arg(encode("v3")).query::<()>(&mut con).unwrap();
    eventually("invalidation after recovery", INVALIDATION_BOUND, || async {
        (strict.get(&1).await.unwrap().as_deref() == Some("v3")).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_writes_are_replayed_in_order_when_l2_returns() {
    let Some(bins) = skip_unless_available("queued_writes_are_replayed_in_order_when_l2_returns", false) else {
        return;
    };
    let mut server = Standalone::with(&bins);
    let url = server.url();
    let options = Options { write_failure: WriteFailure::Queue { max: 3 }, ..fast_options() };
    let cache: TieredCache<u64, String> = TieredBuilder::standalone(&url).options(options).build().await.unwrap();
    server.kill();
    eventually("down", Duration::from_secs(3), || async { (!cache.stats().connected).then_some(()) }).await;
    cache.insert(&1, "first".into()).await.unwrap();
    cache.insert(&1, "second".into()).await.unwrap();
    cache.insert(&2, "x".into()).await.unwrap();
    assert_eq!(cache.insert(&3, "y".into()).await, Err(TieredError::QueueFull(3)));
    assert_eq!(cache.stats().queue_len, 3);
    server.restart();
    assert!(cache.wait_connected(Duration::from_secs(5)).await);
    assert_eq!(cache.stats().queue_len, 0);
    assert_eq!(cache.stats().replayed, 3);
    let raw: Vec<u8> = server.query(&["GET", "1"]).unwrap();
    assert_eq!(raw, encode("second"), "replayed in order");
    assert_eq!(cache.get(&2).await.unwrap().as_deref(), Some("x"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_l2_trips_the_breaker_and_it_recovers_by_itself() {
    let Some(bins) = skip_unless_available("a_slow_l2_trips_the_breaker_and_it_recovers_by_itself", false) else {
        return;
    };
    let server = RedisProc::start(&bins.server, &["--enable-debug-command", "yes"]);
    let url = server.url();
    let options = Options { heartbeat: Duration::from_secs(5), ..fast_options() };
    let db: TieredDb = TieredBuilder::standalone(&url).options(options).build_db().await.unwrap();
    db.set(b"k", b"v", None).await.unwrap();
    // Another client stalls the server for 1.5 s.
    let stall = std::thread::spawn({
        let url = url.clone();
        move || {
            let mut con = other(&url);
            let _ = redis::cmd("DEBUG").arg("SLEEP").arg("1.5").query::<()>(&mut con);
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut refused = false;
    for i in 0..10 {
        let key = format!("miss{i}");
        match db.get(key.as_bytes()).await {
            Err(TieredError::CircuitOpen) => {
                refused = true;
                break;
            }
            Err(TieredError::Timeout(_) | TieredError::Unavailable(_)) => {}
            other => panic!("{other:?}"),
        }
    }
    assert!(refused, "the breaker opened: {:?}", db.stats());
    let s = db.stats();
    assert!(s.breaker_trips >= 1 && s.rejected >= 1 && s.l2_errors >= 3, "{s:?}");
    stall.join().unwrap();
    // It lets a probe through, closes, and reads work again.
    eventually("recovery", Duration::from_secs(5), || async {
        matches!(db.get(b"k").await, Ok(Some(v)) if v == b"v").then_some(())
    })
    .await;
    eventually("closed", Duration::from_secs(2), || async {
        (db.stats().breaker == BreakerState::Closed).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_write_is_lost_when_l2_is_killed_mid_load() {
    let Some(bins) = skip_unless_available("no_acknowledged_write_is_lost_when_l2_is_killed_mid_load", false) else {
        return;
    };
    // Every acknowledged write is on disk before its reply.
    let mut server = RedisProc::start(&bins.server, &["--appendonly", "yes", "--appendfsync", "always"]);
    let url = server.url();
    let cache: TieredCache<u64, u64> =
        TieredBuilder::standalone(&url).prefix("n:").options(fast_options()).build().await.unwrap();
    let writer = {
        let cache = cache.clone();
        tokio::spawn(async move {
            let mut acked = Vec::new();
            let start = Instant::now();
            let mut i = 0u64;
            while start.elapsed() < Duration::from_secs(3) {
                if cache.insert(&i, i * 7).await.is_ok() {
                    acked.push(i);
                }
                // Reads in between: never a wrong value.
                if let Ok(Some(v)) = cache.get(&(i / 2)).await {
                    assert_eq!(v, (i / 2) * 7);
                }
                i += 1;
            }
            (acked, i)
        })
    };
    tokio::time::sleep(Duration::from_millis(800)).await;
    server.kill();
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.restart();
    let (acked, tried) = writer.await.unwrap();
    assert!(acked.len() as u64 > 10 && (acked.len() as u64) < tried, "{} of {tried}", acked.len());
    assert!(cache.wait_connected(Duration::from_secs(5)).await);
    for chunk in acked.chunks(500) {
        let got = cache.get_many(chunk).await.unwrap();
        for (k, v) in chunk.iter().zip(got) {
            assert_eq!(v, Some(k * 7), "acknowledged write of {k} lost");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentinel_topology_follows_a_failover() {
    let Some(bins) = skip_unless_available("sentinel_topology_follows_a_failover", false) else { return };
    let mut set = SentinelSet::with(&bins);
    let sentinels: Vec<String> = set.sentinel_addrs().iter().map(|a| format!("redis://{a}")).collect();
    let cache: TieredCache<u64, String> = TieredBuilder::sentinel(sentinels, set.service_name())
        .prefix("s:")
        .options(fast_options())
        .build()
        .await
        .unwrap();
    cache.insert(&1, "before".into()).await.unwrap();
    assert_eq!(cache.get(&1).await.unwrap().as_deref(), Some("before"));
    // The replica has it before the primary goes.
    let replica = set.replica_addr();
    eventually("replicated", Duration::from_secs(5), || async {
        let v: Option<Vec<u8>> = redis_support::query(replica, &["GET", "s:1"]).ok()?;
        v.filter(|v| *v == encode("before")).map(|_| ())
    })
    .await;

    let old = set.kill_primary();
    let new = set.wait_for_failover(Duration::from_secs(30));
    assert_ne!(old, new);
    // The tiered cache finds the new primary through the sentinels.
    eventually("a write on the new primary", Duration::from_secs(20), || async {
        cache.insert(&2, "after".into()).await.ok()
    })
    .await;
    let on_new: Option<Vec<u8>> = redis_support::query(new, &["GET", "s:2"]).unwrap();
    assert_eq!(on_new, Some(encode("after")));
    assert_eq!(cache.get(&1).await.unwrap().as_deref(), Some("before"));
    assert_eq!(cache.get(&2).await.unwrap().as_deref(), Some("after"));
    // And invalidations come from the new primary.
    let _: () = redis_support::query_cmd(new, redis::cmd("SET").arg("s:1").arg(encode("changed"))).unwrap();
    eventually("invalidation from the new primary", INVALIDATION_BOUND, || async {
        (cache.get(&1).await.ok()??.as_str() == "changed").then_some(())
    })
    .await;
    assert!(cache.stats().connects >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_topology_routes_invalidates_and_survives_a_reshard() {
    let Some(bins) = skip_unless_available("cluster_topology_routes_invalidates_and_survives_a_reshard", true) else {
        return;
    };
    let cluster = Cluster::with(&bins);
    let nodes: Vec<String> = cluster.nodes().iter().map(|n| format!("redis://{}", n.addr())).collect();
    let cache: TieredCache<u64, u64> =
        TieredBuilder::cluster(nodes).prefix("c:").options(fast_options()).build().await.unwrap();
    let keys: Vec<u64> = (0..200).collect();
    let items: Vec<(u64, u64)> = keys.iter().map(|&k| (k, k)).collect();
    cache.insert_many(&items, None).await.unwrap();
    assert_eq!(cache.get_many(&keys).await.unwrap(), keys.iter().map(|&k| Some(k)).collect::<Vec<_>>());

    // Another client changes a key on its node: BCAST invalidates L1.
    let key = cache.l2_key(&7);
    let owner = cluster.node_for_key(&key).addr();
    let encoded = bincode::serde::encode_to_vec(700u64, bincode::config::standard()).unwrap();
    let _: () = redis_support::query_cmd(owner, redis::cmd("SET").arg(&key).arg(&encoded)).unwrap();
    eventually("cluster invalidation", INVALIDATION_BOUND, || async {
        (cache.get(&7).await.ok()?? == 700).then_some(())
    })
    .await;

    // Reshard the slot of key 3 while a task reads and writes it.
    let moved = cache.l2_key(&3);
    let slot = Cluster::slot_of(&moved);
    let from = cluster.node_for_slot(slot).addr();
    let to = cluster.nodes().iter().map(|n| n.addr()).find(|a| *a != from).unwrap();
    let busy = {
        let cache = cache.clone();
        tokio::spawn(async move {
            let mut last = 3u64;
            let mut errors = 0;
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(2) {
                last += 1;
                if cache.insert(&3, last).await.is_err() {
                    errors += 1;
                    continue;
                }
                // Read-your-writes through the move.
                match cache.get(&3).await {
                    Ok(v) => assert_eq!(v, Some(last)),
                    Err(_) => errors += 1,
                }
            }
            (last, errors)
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let migrated = tokio::task::spawn_blocking(move || {
        let n = cluster.migrate_slot(slot, to);
        (cluster, n)
    })
    .await
    .unwrap();
    let (cluster, keys_moved) = migrated;
    let (last, errors) = busy.await.unwrap();
    eprintln!("resharded slot {slot} ({keys_moved} keys) under load; {errors} transient errors");
    assert_eq!(cluster.node_for_slot(slot).addr(), to);
    assert_eq!(cache.get(&3).await.unwrap(), Some(last));
    let on_new: Option<Vec<u8>> = redis_support::query(to, &["GET", std::str::from_utf8(&moved).unwrap()]).unwrap();
    assert_eq!(on_new, Some(bincode::serde::encode_to_vec(last, bincode::config::standard()).unwrap()));
    // Everything else is still there.
    let got = cache.get_many(&keys).await.unwrap();
    assert_eq!(got.iter().filter(|v| v.is_some()).count(), keys.len());
}
