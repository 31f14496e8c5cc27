//! Unit tests of the generic key commands and pub/sub: `execute` tables
//! (parsing, Redis's error replies), TTL semantics under a manual clock,
//! keyspace events, SCAN's guarantee, OBJECT, and PUBLISH/SUBSCRIBE.

use super::super::notify::EventClass;
use super::super::tests::manual_db;
use super::super::{Db, DbError, MaxMemoryPolicy, Reply};
use crate::db::tests::int;
use crate::time::ManualClock;
use std::collections::HashSet;
use std::time::Duration;

fn err(text: &str) -> Reply {
    Reply::Error(text.into())
}

/// Runs `(command, expected reply)` rows in order on `db`.
fn table(db: &Db, rows: &[(&[&str], Reply)]) {
    for (i, (cmd, want)) in rows.iter().enumerate() {
        assert_eq!(&db.execute(cmd), want, "row {i}: {cmd:?}");
    }
}

fn deadline_of(db: &Db, key: &[u8]) -> Option<Option<u64>> {
    db.tx(&[key], |tx| tx.read(key, |_, d| d))
}

#[test]
fn basic_key_commands_follow_redis() {
    let (db, _) = manual_db();
    table(
        &db,
        &[
            (&["SET", "a", "1"], Reply::OK),
            (&["SET", "b", "2"], Reply::OK),
            (&["EXISTS", "a", "a", "b", "nope"], int(3)),
            (&["TYPE", "a"], Reply::Simple("string")),
            (&["TYPE", "nope"], Reply::Simple("none")),
            (&["DEL", "a", "a", "nope"], int(1)),
            (&["UNLINK", "b"], int(1)),
            (&["EXISTS", "a", "b"], int(0)),
            (&["DEL"], err("ERR wrong number of arguments for 'del' command")),
            (&["EXISTS"], err("ERR wrong number of arguments for 'exists' command")),
            (&["TYPE", "a", "b"], err("ERR wrong number of arguments for 'type' command")),
            (&["TOUCH", "nope"], int(0)),
            (&["SET", "t", "x"], Reply::OK),
            (&["TOUCH", "t", "t", "nope"], int(2)),
            (&["DBSIZE"], int(1)),
            (&["DBSIZE", "x"], err("ERR wrong number of arguments for 'dbsize' command")),
            (&["PING"], Reply::Simple("PONG")),
            (&["ping", "hi"], Reply::bulk("hi")),
            (&["PING", "a", "b"], err("ERR wrong number of arguments for 'ping' command")),
            (&["ECHO", "x"], Reply::bulk("x")),
            (&["ECHO"], err("ERR wrong number of arguments for 'echo' command")),
            (&["SELECT", "0"], Reply::OK),
            (&["SELECT", "1"], err("ERR DB index is out of range")),
            (&["SELECT", "-1"], err("ERR DB index is out of range")),
            (&["SELECT", "x"], err("ERR invalid DB index")),
            (&["SELECT", "4294967296"], err("ERR invalid DB index")),
            (&["FLUSHDB", "now"], Reply::from(DbError::Syntax)),
            (&["FLUSHDB", "async", "sync"], Reply::from(DbError::Syntax)),
            (&["FLUSHDB", "Async"], Reply::OK),
            (&["DBSIZE"], int(0)),
            (&["SET", "t", "x"], Reply::OK),
            (&["flushdb", "SYNC"], Reply::OK),
            (&["SET", "t", "x"], Reply::OK),
            (&["FLUSHDB"], Reply::OK),
            (&["EXISTS", "t"], int(0)),
            (&["SET", "t", "x"], Reply::OK),
            (&["FLUSHALL", "now"], Reply::from(DbError::Syntax)),
            (&["flushall", "ASYNC"], Reply::OK),
            (&["EXISTS", "t"], int(0)),
        ],
    );
}

#[test]
fn rename_and_copy_follow_redis() {
    let (db, _) = manual_db();
    table(
        &db,
        &[
            (&["RENAME", "a", "b"], err("ERR no such key")),
            (&["RENAMENX", "a", "b"], err("ERR no such key")),
            (&["SET", "a", "1"], Reply::OK),
            (&["RENAME", "a", "a"], Reply::OK),
            (&["RENAMENX", "a", "a"], int(0)),
            (&["RENAME", "a", "b"], Reply::OK),
            (&["GET", "b"], Reply::bulk("1")),
            (&["EXISTS", "a"], int(0)),
            (&["SET", "c", "3"], Reply::OK),
            (&["RENAMENX", "b", "c"], int(0)),
            (&["RENAMENX", "b", "d"], int(1)),
            (&["RENAME", "d", "c"], Reply::OK),
            (&["GET", "c"], Reply::bulk("1")),
            // COPY
            (&["COPY", "c", "c"], err("ERR source and destination objects are the same")),
            (&["COPY", "nope", "x"], int(0)),
            (&["COPY", "c", "e"], int(1)),
            (&["GET", "e"], Reply::bulk("1")),
            (&["SET", "c", "2"], Reply::OK),
            (&["COPY", "c", "e"], int(0)),
            (&["copy", "c", "e", "replace"], int(1)),
            (&["GET", "e"], Reply::bulk("2")),
            (&["COPY", "c", "e", "DB", "0", "REPLACE"], int(1)),
            (&["COPY", "c", "e", "DB", "1"], err("ERR DB index is out of range")),
            (&["COPY", "c", "e", "DB", "-1"], err("ERR DB index is out of range")),
            (&["COPY", "c", "e", "DB", "x"], Reply::from(DbError::NotInteger)),
            (&["COPY", "c", "e", "DB", "2147483648"], Reply::from(DbError::NotInteger)),
            // Redis checks DB as it parses: before a later syntax error.
            (&["COPY", "c", "e", "DB", "3", "FOO"], err("ERR DB index is out of range")),
            (&["COPY", "c", "e", "FOO"], Reply::from(DbError::Syntax)),
            (&["COPY", "c", "e", "DB"], Reply::from(DbError::Syntax)),
            (&["COPY", "c"], err("ERR wrong number of arguments for 'copy' command")),
            (&["COPY", "c", "c", "DB", "1"], err("ERR DB index is out of range")),
        ],
    );
}

#[test]
fn expire_options_and_errors_follow_redis() {
    let (db, _) = manual_db();
    let incompatible = err("ERR NX and XX, GT or LT options at the same time are not compatible");
    table(
        &db,
        &[
            (&["EXPIRE", "nope", "10"], int(0)),
            (&["SET", "k", "v"], Reply::OK),
            (&["EXPIRE", "k", "10", "NX", "XX"], incompatible.clone()),
            (&["EXPIRE", "k", "10", "nx", "gt"], incompatible.clone()),
            (&["EXPIRE", "k", "10", "NX", "LT"], incompatible.clone()),
            (&["EXPIRE", "k", "10", "GT", "LT"], err("ERR GT and LT options at the same time are not compatible")),
            (&["EXPIRE", "k", "10", "FOO"], err("ERR Unsupported option FOO")),
            // Options are checked before the number.
            (&["EXPIRE", "k", "x", "NX", "XX"], incompatible),
            (&["EXPIRE", "k", "x"], Reply::from(DbError::NotInteger)),
            (&["EXPIRE", "k", "1.5"], Reply::from(DbError::NotInteger)),
            (&["EXPIRE", "k"], err("ERR wrong number of arguments for 'expire' command")),
            (&["EXPIRE", "k", "9223372036854776"], err("ERR invalid expire time in 'expire' command")),
            (&["EXPIRE", "k", "-9223372036854776"], err("ERR invalid expire time in 'expire' command")),
            (&["EXPIREAT", "k", "9223372036854776"], err("ERR invalid expire time in 'expireat' command")),
            (&["PEXPIRE", "k", "9223372036854775807"], err("ERR invalid expire time in 'pexpire' command")),
            (&["TTL", "k"], int(-1)),
            // GT against no TTL (infinite) fails; LT succeeds; XX fails; NX succeeds.
            (&["EXPIRE", "k", "100", "GT"], int(0)),
            (&["EXPIRE", "k", "100", "XX"], int(0)),
            (&["EXPIRE", "k", "100", "XX", "GT"], int(0)),
            (&["EXPIRE", "k", "100", "XX", "LT"], int(0)),
            (&["EXPIRE", "k", "100", "LT"], int(1)),
            (&["TTL", "k"], int(100)),
            (&["EXPIRE", "k", "50", "NX"], int(0)),
            (&["EXPIRE", "k", "200", "XX", "GT"], int(1)),
            (&["EXPIRE", "k", "150", "GT"], int(0)),
            (&["EXPIRE", "k", "150", "XX", "LT"], int(1)),
            (&["EXPIRE", "k", "150", "LT"], int(0)),
            (&["PEXPIRE", "k", "150000", "gt"], int(0)),
            (&["PEXPIRE", "k", "150001", "GT"], int(1)),
            (&["PTTL", "k"], int(150_001)),
            (&["TTL", "k"], int(150)),
            (&["PERSIST", "k"], int(1)),
            (&["PERSIST", "k"], int(0)),
            (&["PERSIST", "nope"], int(0)),
            (&["TTL", "k"], int(-1)),
            (&["PTTL", "nope"], int(-2)),
            (&["EXPIRETIME", "k"], int(-1)),
            (&["PEXPIRETIME", "nope"], int(-2)),
            // A deadline not in the future deletes the key at once.
            (&["EXPIRE", "k", "0"], int(1)),
            (&["EXISTS", "k"], int(0)),
            (&["SET", "k", "v"], Reply::OK),
            (&["PEXPIRE", "k", "-5"], int(1)),
            (&["EXISTS", "k"], int(0)),
            (&["SET", "k", "v"], Reply::OK),
            (&["EXPIREAT", "k", "1"], int(1)),
            (&["EXISTS", "k"], int(0)),
        ],
    );
}

#[test]
fn ttls_count_down_with_the_clock_and_round_as_redis() {
    let (db, clock) = manual_db();
    db.execute(&["SET", "k", "v"]);
    assert_eq!(db.execute(&["PEXPIRE", "k", "2499"]), int(1));
    assert_eq!(db.execute(&["TTL", "k"]), int(2)); // (2499 + 500) / 1000
    clock.advance(Duration::from_millis(999));
    assert_eq!(db.execute(&["PTTL", "k"]), int(1500));
    assert_eq!(db.execute(&["TTL", "k"]), int(2)); // 1500 rounds up
    clock.advance(Duration::from_millis(1));
    assert_eq!(db.execute(&["TTL", "k"]), int(1)); // 1499 rounds down
    clock.advance(Duration::from_millis(1499));
    assert_eq!(db.execute(&["PTTL", "k"]), int(-2));
    assert_eq!(db.execute(&["EXISTS", "k"]), int(0));

    // EXPIRETIME reads back what PEXPIREAT set, and EXPIREAT in seconds.
    db.execute(&["SET", "k", "v"]);
    let now_ms = match db.execute(&["PEXPIRE", "k", "100000"]) {
        Reply::Integer(1) => match db.execute(&["PEXPIRETIME", "k"]) {
            Reply::Integer(t) => t - 100_000,
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    let at = now_ms + 123_456;
    assert_eq!(db.execute(&["PEXPIREAT", "k", &at.to_string()]), int(1));
    assert_eq!(db.execute(&["PEXPIRETIME", "k"]), int(at));
    assert_eq!(db.execute(&["EXPIRETIME", "k"]), int((at + 500) / 1000));
    assert_eq!(db.execute(&["PTTL", "k"]), int(123_456));
    let secs = now_ms / 1000 + 1000;
    assert_eq!(db.execute(&["EXPIREAT", "k", &secs.to_string()]), int(1));
    assert_eq!(db.execute(&["EXPIRETIME", "k"]), int(secs));
    assert_eq!(db.execute(&["PEXPIRETIME", "k"]), int(secs * 1000));
    // Far deadlines are kept as given.
    assert_eq!(db.execute(&["PEXPIREAT", "k", "9223372036854775000"]), int(1));
    assert_eq!(db.execute(&["PEXPIRETIME", "k"]), int(9_223_372_036_854_775_000));
    assert_eq!(db.execute(&["EXPIRETIME", "k"]), int(9_223_372_036_854_775));
    assert_eq!(db.execute(&["TTL", "k"]), int((9_223_372_036_854_775_000 - now_ms + 500) / 1000));
}

#[test]
fn ttls_survive_or_are_cleared_as_in_redis() {
    let (db, _) = manual_db();
    let k: &[u8] = b"k";
    let give_ttl = |key: &[u8]| {
        db.tx(&[key], |tx| {
            let now = tx.now();
            tx.write(key, |_, d| *d = Some(now + 10_000));
        });
    };
    db.execute(&["SET", "k", "v"]);
    give_ttl(k);
    let d = deadline_of(&db, k).flatten().expect("deadline set");
    // RENAME moves the deadline with the value.
    assert_eq!(db.execute(&["RENAME", "k", "r"]), Reply::OK);
    assert_eq!(deadline_of(&db, b"r"), Some(Some(d)));
    // RENAME onto a key with a TTL gives it the source's (none).
    db.execute(&["SET", "p", "v"]);
    assert_eq!(db.execute(&["RENAME", "p", "r"]), Reply::OK);
    assert_eq!(deadline_of(&db, b"r"), Some(None));
    // COPY keeps the TTL; the source keeps its own.
    give_ttl(b"r");
    let d = deadline_of(&db, b"r").flatten().expect("deadline set");
    assert_eq!(db.execute(&["COPY", "r", "c"]), int(1));
    assert_eq!(deadline_of(&db, b"c"), Some(Some(d)));
    assert_eq!(deadline_of(&db, b"r"), Some(Some(d)));
    // COPY REPLACE over a key with a TTL gives the source's (none).
    db.execute(&["SET", "plain", "v"]);
    assert_eq!(db.execute(&["COPY", "plain", "c", "REPLACE"]), int(1));
    assert_eq!(deadline_of(&db, b"c"), Some(None));
    // EXPIRE with a failing condition leaves it; PERSIST clears it.
    assert_eq!(db.execute(&["EXPIRE", "r", "5", "GT"]), int(0));
    assert_eq!(deadline_of(&db, b"r"), Some(Some(d)));
    assert_eq!(db.execute(&["PERSIST", "r"]), int(1));
    assert_eq!(deadline_of(&db, b"r"), Some(None));
    // TOUCH and the read-only commands leave it.
    give_ttl(b"r");
    let d = deadline_of(&db, b"r").flatten().expect("deadline set");
    for cmd in [&["TOUCH", "r"][..], &["EXISTS", "r"], &["TYPE", "r"], &["TTL", "r"], &["OBJECT", "ENCODING", "r"]] {
        db.execute(cmd);
        assert_eq!(deadline_of(&db, b"r"), Some(Some(d)), "{cmd:?}");
    }
}

#[test]
fn key_commands_publish_redis_events() {
    let (db, _) = manual_db();
    db.execute(&["SET", "a", "1"]);
    let events = db.subscribe_keyspace(&[EventClass::Generic], 64);
    let script: &[&[&str]] = &[
        &["EXPIRE", "a", "100"],
        &["PERSIST", "a"],
        &["PERSIST", "a"],
        &["RENAME", "a", "b"],
        &["COPY", "b", "c"],
        &["DEL", "b", "nope"],
        &["EXPIRE", "c", "100", "GT"],
        &["PEXPIRE", "c", "0"],
    ];
    for cmd in script {
        db.execute(cmd);
    }
    let got: Vec<(&str, Vec<u8>)> = std::iter::from_fn(|| events.try_recv()).map(|e| (e.name, e.key)).collect();
    let want: Vec<(&str, Vec<u8>)> = [
        ("expire", "a"),
        ("persist", "a"),
        ("rename_from", "a"),
        ("rename_to", "b"),
        ("copy_to", "c"),
        ("del", "b"),
        ("del", "c"),
    ]
    .into_iter()
    .map(|(n, k)| (n, k.as_bytes().to_vec()))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn keys_and_randomkey_see_live_keys_only() {
    let (db, clock) = manual_db();
    assert_eq!(db.execute(&["RANDOMKEY"]), Reply::Null);
    assert_eq!(db.execute(&["KEYS", "*"]), Reply::Array(vec![]));
    for k in ["user:1", "user:2", "item:1", "h?llo", "hello"] {
        db.execute(&["SET", k, "v"]);
    }
    db.execute(&["PEXPIRE", "user:2", "10"]);
    let sorted = |r: Reply| match r {
        Reply::Array(mut v) => {
            v.sort_by(|a, b| a.as_bytes().cmp(&b.as_bytes()));
            v
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(sorted(db.execute(&["KEYS", "user:*"])), vec![Reply::bulk("user:1"), Reply::bulk("user:2")]);
    assert_eq!(sorted(db.execute(&["KEYS", "h\\?llo"])), vec![Reply::bulk("h?llo")]);
    assert_eq!(sorted(db.execute(&["KEYS", "*"])).len(), 5);
    clock.advance(Duration::from_millis(10));
    assert_eq!(sorted(db.execute(&["KEYS", "user:*"])), vec![Reply::bulk("user:1")]);
    let mut seen = HashSet::new();
    for _ in 0..400 {
        let Some(k) = db.randomkey() else { panic!("a key exists") };
        assert_ne!(k, b"user:2");
        seen.insert(k);
    }
    assert_eq!(seen.len(), 4, "every live key comes up");
    // Only expired keys left: none.
    db.execute(&["FLUSHDB"]);
    db.execute(&["SET", "x", "v", "PX", "5"]);
    clock.advance(Duration::from_millis(5));
    assert_eq!(db.execute(&["RANDOMKEY"]), Reply::Null);
    // FLUSHDB also drops keys that expired unseen: DBSIZE says 0 at once.
    db.execute(&["SET", "y", "v", "PX", "5"]);
    db.execute(&["SET", "z", "v"]);
    clock.advance(Duration::from_millis(5));
    assert_eq!(db.execute(&["FLUSHDB"]), Reply::OK);
    assert_eq!(db.execute(&["DBSIZE"]), int(0));
    assert_eq!(db.execute(&["RANDOMKEY", "x"]), err("ERR wrong number of arguments for 'randomkey' command"));
}

/// Collects a whole SCAN, calling `between` after each step.
fn full_scan(db: &Db, args: &[&str], mut between: impl FnMut(usize)) -> (Vec<Vec<u8>>, usize) {
    let mut cursor = "0".to_string();
    let mut keys = Vec::new();
    let mut calls = 0;
    loop {
        let mut cmd = vec!["SCAN", &cursor];
        cmd.extend_from_slice(args);
        let Reply::Array(parts) = db.execute(&cmd) else { panic!("SCAN reply") };
        let [Reply::Bulk(next), Reply::Array(batch)] = &parts[..] else { panic!("SCAN reply shape") };
        keys.extend(batch.iter().map(|k| k.as_bytes().unwrap_or_default().to_vec()));
        calls += 1;
        cursor = String::from_utf8(next.clone()).unwrap_or_default();
        if cursor == "0" {
            return (keys, calls);
        }
        between(calls);
    }
}

#[test]
fn scan_returns_every_stable_key_once_even_while_the_keyspace_grows() {
    let db = Db::builder().shards(8).build().unwrap();
    for i in 0..2000 {
        db.execute(&["SET", &format!("k{i}"), "v"]);
    }
    let mut added = 0;
    let (keys, calls) = full_scan(&db, &["COUNT", "20"], |_| {
        // Growth between calls, and some churn among other keys.
        for _ in 0..50 {
            db.execute(&["SET", &format!("new{added}"), "v"]);
            added += 1;
        }
        db.execute(&["DEL", &format!("new{}", added / 2)]);
    });
    let stable: Vec<&Vec<u8>> = keys.iter().filter(|k| k.starts_with(b"k")).collect();
    let distinct: HashSet<&Vec<u8>> = keys.iter().collect();
    assert_eq!(distinct.len(), keys.len(), "no key returned twice");
    assert_eq!(stable.len(), 2000, "every stable key returned");
    assert!(calls > 8, "{calls} calls");
}

#[test]
fn scan_options_follow_redis() {
    let (db, clock) = manual_db();
    for i in 0..100 {
        db.execute(&["SET", &format!("s{i}"), "v"]);
    }
    db.tx(&[b"list".as_slice()], |tx| {
        tx.put(b"list", super::super::Value::List(std::iter::once(&b"x"[..]).collect()), None);
    });
    db.execute(&["SET", "gone", "v", "PX", "1"]);
    clock.advance(Duration::from_millis(1));
    let (all, _) = full_scan(&db, &[], |_| {});
    assert_eq!(all.len(), 101);
    let (m, _) = full_scan(&db, &["MATCH", "s1*", "COUNT", "3"], |_| {});
    assert_eq!(m.len(), 11);
    let (t, _) = full_scan(&db, &["type", "LIST"], |_| {});
    assert_eq!(t, vec![b"list".to_vec()]);
    let (none, _) = full_scan(&db, &["TYPE", "nosuchtype"], |_| {});
    assert!(none.is_empty());
    let (one_call, calls) = full_scan(&db, &["COUNT", "1000", "MATCH", "*"], |_| {});
    assert_eq!((one_call.len(), calls), (101, 4), "one window per shard");
    table(
        &db,
        &[
            (&["SCAN", "x"], err("ERR invalid cursor")),
            (&["SCAN", " 0"], err("ERR invalid cursor")),
            (&["SCAN", "x", "COUNT", "0"], err("ERR invalid cursor")),
            (&["SCAN", "0", "COUNT", "0"], Reply::from(DbError::Syntax)),
            (&["SCAN", "0", "COUNT", "-1"], Reply::from(DbError::Syntax)),
            (&["SCAN", "0", "COUNT", "x"], Reply::from(DbError::NotInteger)),
            (&["SCAN", "0", "MATCH"], Reply::from(DbError::Syntax)),
            (&["SCAN", "0", "FOO", "bar"], Reply::from(DbError::Syntax)),
            (&["SCAN"], err("ERR wrong number of arguments for 'scan' command")),
            // A cursor past the last shard ends the scan.
            (&["SCAN", "18446744073709551615"], Reply::Array(vec![Reply::bulk("0"), Reply::Array(vec![])])),
        ],
    );
}

fn lfu_db() -> (Db, ManualClock) {
    let clock = ManualClock::new();
    let db =
        Db::builder().clock(clock.clone()).maxmemory_policy(MaxMemoryPolicy::AllKeysLfu).shards(4).build().unwrap();
    (db, clock)
}

#[test]
fn object_subcommands_follow_redis() {
    let (db, clock) = manual_db();
    let big = "x".repeat(45);
    table(
        &db,
        &[
            (&["SET", "i", "12345"], Reply::OK),
            (&["SET", "e", "hello"], Reply::OK),
            (&["SET", "r", &big], Reply::OK),
            (&["SET", "z", "012"], Reply::OK),
            (&["OBJECT", "ENCODING", "i"], Reply::bulk("int")),
            (&["object", "encoding", "e"], Reply::bulk("embstr")),
            (&["OBJECT", "ENCODING", "r"], Reply::bulk("raw")),
            (&["OBJECT", "ENCODING", "z"], Reply::bulk("embstr")),
            (&["OBJECT", "ENCODING", "nope"], Reply::Null),
            (&["OBJECT", "REFCOUNT", "e"], int(1)),
            (&["OBJECT", "REFCOUNT", "nope"], Reply::Null),
            (&["OBJECT", "IDLETIME", "nope"], Reply::Null),
            (&["OBJECT", "FREQ", "nope"], Reply::Null),
            (
                &["OBJECT", "FREQ", "e"],
                err(
                    "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
                ),
            ),
            (&["OBJECT", "ENCODING"], err("ERR wrong number of arguments for 'object|encoding' command")),
            (&["OBJECT", "HELP", "x"], err("ERR wrong number of arguments for 'object|help' command")),
            (&["OBJECT", "FOO", "e"], err("ERR unknown subcommand 'FOO'. Try OBJECT HELP.")),
            (&["OBJECT"], err("ERR wrong number of arguments for 'object' command")),
        ],
    );
    let Reply::Array(help) = db.execute(&["OBJECT", "HELP"]) else { panic!("help is an array") };
    assert_eq!(help.first(), Some(&Reply::Simple("OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")));
    assert_eq!(help.last(), Some(&Reply::Simple("    Print this help.")));

    // Idle time grows with the clock; reads that do not touch leave it.
    clock.advance(Duration::from_secs(7));
    for cmd in [&["EXISTS", "e"][..], &["TYPE", "e"], &["TTL", "e"], &["OBJECT", "ENCODING", "e"]] {
        db.execute(cmd);
    }
    assert_eq!(db.execute(&["OBJECT", "IDLETIME", "e"]), int(7));
    assert_eq!(db.execute(&["TOUCH", "e"]), int(1));
    assert_eq!(db.execute(&["OBJECT", "IDLETIME", "e"]), int(0));
}

#[test]
fn object_freq_counts_accesses_under_lfu() {
    let (db, _) = lfu_db();
    db.execute(&["SET", "k", "v"]);
    let freq = |db: &Db| db.object_freq(b"k").unwrap().unwrap();
    let start = freq(&db);
    for _ in 0..50 {
        db.execute(&["TOUCH", "k"]);
    }
    assert!(freq(&db) > start, "{} > {start}", freq(&db));
    assert_eq!(
        db.execute(&["OBJECT", "IDLETIME", "k"]),
        err(
            "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
        )
    );
    assert_eq!(db.execute(&["OBJECT", "IDLETIME", "nope"]), Reply::Null);
}

#[test]
fn encodings_follow_sizes() {
    use super::super::{Hash, List, Set, Value};
    let (db, _) = manual_db();
    let put = |k: &[u8], v: Value| db.tx(&[k], |tx| tx.put(k, v, None));
    let long = vec![b'x'; 65];
    put(b"l1", Value::List([&b"a"[..]].into_iter().collect()));
    put(b"l2", Value::List(std::iter::repeat_n(&long[..], 200).collect()));
    let mut h = Hash::new();
    h.insert(b"f", b"v");
    put(b"h1", Value::Hash(Box::new(h.clone())));
    h.insert(b"g", &long);
    put(b"h2", Value::Hash(Box::new(h)));
    put(b"s1", Value::Set(Box::new([&b"1"[..], b"2"].into_iter().collect())));
    put(b"s2", Value::Set(Box::new([&b"1"[..], b"a"].into_iter().collect())));
    let many: Vec<String> = (0..200).map(|i| format!("m{i}")).collect();
    put(b"s3", Value::Set(Box::new(many.iter().map(|m| m.as_bytes()).collect::<Set>())));
    let want = [
        ("l1", "listpack"),
        ("l2", "quicklist"),
        ("h1", "listpack"),
        ("h2", "hashtable"),
        ("s1", "intset"),
        ("s2", "listpack"),
        ("s3", "hashtable"),
    ];
    for (k, e) in want {
        assert_eq!(db.object_encoding(k.as_bytes()), Some(e), "{k}");
    }
    let _ = List::new();
}

#[test]
fn pubsub_delivers_counts_and_drops() {
    let (db, _) = manual_db();
    assert_eq!(db.publish(b"news", b"nobody"), 0);
    let mut a = db.subscribe(&[b"news", b"sport"], 16);
    let b = db.psubscribe(&[b"n*", b"*"], 2);
    assert_eq!(a.count(), 2);
    assert_eq!(db.execute(&["PUBLISH", "news", "hi"]), int(3), "a once, b once per matching pattern");
    let m = a.try_recv().unwrap();
    assert_eq!((&*m.channel, m.pattern.as_deref(), &*m.payload), (&b"news"[..], None, &b"hi"[..]));
    let mut patterns: Vec<Vec<u8>> = std::iter::from_fn(|| b.try_recv()).map(|m| m.pattern.unwrap().to_vec()).collect();
    patterns.sort();
    assert_eq!(patterns, vec![b"*".to_vec(), b"n*".to_vec()]);
    // b's queue holds two: the next publish to a matching channel fills it and drops.
    assert_eq!(db.publish(b"news", b"1"), 3);
    assert_eq!(db.publish(b"news", b"2"), 3, "a full queue still counts");
    assert_eq!(b.dropped(), 2);
    assert_eq!(a.dropped(), 0);
    table(
        &db,
        &[
            (&["PUBSUB", "NUMPAT"], int(2)),
            (
                &["PUBSUB", "NUMSUB", "news", "nope"],
                Reply::Array(vec![Reply::bulk("news"), int(1), Reply::bulk("nope"), int(0)]),
            ),
            (&["PUBSUB", "NUMSUB"], Reply::Array(vec![])),
            (&["PUBSUB", "CHANNELS", "s*"], Reply::Array(vec![Reply::bulk("sport")])),
            (
                &["pubsub", "channels", "a", "b"],
                err("ERR unknown subcommand or wrong number of arguments for 'channels'. Try PUBSUB HELP."),
            ),
            (&["PUBSUB", "NUMPAT", "x"], err("ERR wrong number of arguments for 'pubsub|numpat' command")),
            (&["PUBSUB", "FOO"], err("ERR unknown subcommand 'FOO'. Try PUBSUB HELP.")),
            (&["PUBSUB"], err("ERR wrong number of arguments for 'pubsub' command")),
            (&["PUBLISH", "x"], err("ERR wrong number of arguments for 'publish' command")),
        ],
    );
    assert!(matches!(db.execute(&["PUBSUB", "HELP"]), Reply::Array(v) if v.len() == 10));
    // Unsubscribing and dropping prune the registry.
    a.unsubscribe(&[b"news", b"never"]);
    assert_eq!(a.count(), 1);
    assert_eq!(db.pubsub_numsub(&[b"news", b"sport"]), vec![0, 1]);
    a.psubscribe(&[b"n*"]);
    assert_eq!(db.pubsub_numpat(), 2);
    drop(b);
    assert_eq!(db.pubsub_numpat(), 1);
    assert_eq!(db.publish(b"news", b"x"), 1);
    drop(a);
    assert_eq!(db.pubsub_numpat(), 0);
    assert!(db.pubsub_channels(None).is_empty());
    assert_eq!(db.publish(b"news", b"x"), 0);
}

#[test]
fn subscriptions_work_across_threads() {
    let db = Db::new();
    let sub = db.subscribe(&[b"c"], 1024);
    let publisher = {
        let db = db.clone();
        std::thread::spawn(move || (0..100).map(|i| db.publish(b"c", format!("{i}").as_bytes())).sum::<usize>())
    };
    let mut got = Vec::new();
    while got.len() < 100 {
        match sub.recv_timeout(Duration::from_secs(10)) {
            Some(m) => got.push(String::from_utf8(m.payload.to_vec()).unwrap()),
            None => panic!("timed out after {} messages", got.len()),
        }
    }
    assert_eq!(publisher.join().unwrap(), 100);
    let want: Vec<String> = (0..100).map(|i| format!("{i}")).collect();
    assert_eq!(got, want, "in order");
}
