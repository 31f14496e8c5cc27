#![cfg(feature = "server")]
//! The server's own features against real clients: numbered databases,
//! transactions and WATCH, pub/sub and keyspace notifications, client-side
//! caching, the admin commands, and the limits on slow or idle clients.

#[path = "support/server.rs"]
mod server_support;

use embercache::server::{Persistence, Server};
use redis::Value;
use server_support::TestServer;
use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A raw connection reading RESP values with the `redis` crate's parser.
struct Raw {
    w: TcpStream,
    r: BufReader<TcpStream>,
    parser: redis::Parser,
}

impl Raw {
    fn new(server: &TestServer) -> Self {
        let w = server.raw();
        let r = BufReader::new(w.try_clone().unwrap());
        Raw { w, r, parser: redis::Parser::new() }
    }

    fn send(&mut self, args: &[&str]) {
        let mut out = format!("*{}\r\n", args.len());
        for a in args {
            out.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        self.w.write_all(out.as_bytes()).unwrap();
    }

    fn read(&mut self) -> Value {
        self.parser.parse_value(&mut self.r).unwrap()
    }

    fn call(&mut self, args: &[&str]) -> Value {
        self.send(args);
        self.read()
    }
}

fn bulk(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

fn q<T: redis::FromRedisValue>(con: &mut redis::Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(con).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn err(con: &mut redis::Connection, args: &[&str]) -> String {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    match cmd.query::<Value>(con) {
        Err(e) => e.to_string(),
        Ok(v) => panic!("{args:?} succeeded: {v:?}"),
    }
}

#[test]
fn numbered_databases_are_separate_and_flushall_empties_all() {
    let server = TestServer::new();
    let mut a = server.client();
    let mut b = server.client();
    let () = q(&mut a, &["SET", "k", "zero"]);
    let () = q(&mut b, &["SELECT", "15"]);
    assert_eq!(q::<Option<String>>(&mut b, &["GET", "k"]), None);
    let () = q(&mut b, &["SET", "k", "fifteen"]);
    assert_eq!(q::<String>(&mut a, &["GET", "k"]), "zero");
    assert_eq!(q::<i64>(&mut b, &["DBSIZE"]), 1);
    assert!(err(&mut b, &["SELECT", "16"]).contains("DB index is out of range"));
    let info: String = q(&mut a, &["INFO", "keyspace"]);
    assert!(info.contains("db0:keys=1,expires=0") && info.contains("db15:keys=1,expires=0"), "{info}");
    let () = q(&mut a, &["FLUSHALL"]);
    assert_eq!(q::<i64>(&mut b, &["DBSIZE"]), 0);
    assert_eq!(q::<i64>(&mut a, &["DBSIZE"]), 0);
    server.shutdown();
}

#[test]
fn multi_exec_discard_and_queueing_errors() {
    let server = TestServer::new();
    let mut c = server.client();
    let mut raw = Raw::new(&server);
    assert_eq!(raw.call(&["MULTI"]), Value::Okay);
    for cmd in [&["SET", "a", "x"][..], &["INCR", "n"], &["INCR", "a"]] {
        assert_eq!(raw.call(cmd), Value::SimpleString("QUEUED".into()));
    }
    let Value::Array(replies) = raw.call(&["EXEC"]) else { panic!("EXEC answers an array") };
    assert_eq!(replies[..2], [Value::Okay, Value::Int(1)]);
    assert!(matches!(replies[2], Value::ServerError(_)), "a runtime error is a reply in the array: {replies:?}");
    assert_eq!(q::<i64>(&mut c, &["GET", "n"]), 1, "commands after a failed one still ran");

    assert_eq!(raw.call(&["MULTI"]), Value::Okay);
    assert_eq!(raw.call(&["SET", "b", "1"]), Value::SimpleString("QUEUED".into()));
    assert!(matches!(raw.call(&["GET"]), Value::ServerError(_)));
    assert!(matches!(raw.call(&["NOSUCHCMD"]), Value::ServerError(_)));
    let Value::ServerError(e) = raw.call(&["EXEC"]) else { panic!("EXECABORT expected") };
    assert_eq!(e.code(), "EXECABORT");
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "b"]), None, "an aborted transaction runs nothing");
    assert_eq!(raw.call(&["MULTI"]), Value::Okay);
    let Value::ServerError(e) = raw.call(&["MULTI"]) else { panic!() };
    assert!(e.details().unwrap_or("").contains("can not be nested"), "{e:?}");
    assert_eq!(raw.call(&["SET", "b", "1"]), Value::SimpleString("QUEUED".into()));
    assert_eq!(raw.call(&["DISCARD"]), Value::Okay);
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "b"]), None);
    // Server commands run inside EXEC too (FLUSHALL once waited on the
    // gate its own EXEC held).
    assert_eq!(raw.call(&["MULTI"]), Value::Okay);
    raw.call(&["SET", "f", "1"]);
    raw.call(&["FLUSHALL"]);
    raw.call(&["DBSIZE"]);
    assert_eq!(raw.call(&["EXEC"]), Value::Array(vec![Value::Okay, Value::Okay, Value::Int(0)]));
    assert!(err(&mut c, &["EXEC"]).contains("EXEC without MULTI"));
    assert!(err(&mut c, &["DISCARD"]).contains("DISCARD without MULTI"));
    server.shutdown();
}

/// WATCH then MULTI/SET/EXEC on `key` from `raw`; whether EXEC ran.
fn watched_exec(raw: &mut Raw, key: &str, between: impl FnOnce()) -> bool {
    assert_eq!(raw.call(&["WATCH", key]), Value::Okay);
    between();
    assert_eq!(raw.call(&["MULTI"]), Value::Okay);
    raw.call(&["SET", key, "from-tx"]);
    match raw.call(&["EXEC"]) {
        Value::Nil => false,
        Value::Array(v) if v.len() == 1 => true,
        other => panic!("EXEC answered {other:?}"),
    }
}

#[test]
fn watch_aborts_on_any_change_but_not_on_a_no_op() {
    let server = TestServer::new();
    let mut other = server.client();
    let mut raw = Raw::new(&server);
    assert!(watched_exec(&mut raw, "k", || {}), "nothing changed");
    assert!(!watched_exec(&mut raw, "k", || {
        let () = q(&mut other, &["SET", "k", "other"]);
    }));
    assert_eq!(q::<String>(&mut other, &["GET", "k"]), "other");
    // SADD of a member already there changes nothing: no abort.
    let _: i64 = q(&mut other, &["SADD", "s2", "m"]);
    assert_eq!(raw.call(&["WATCH", "s2"]), Value::Okay);
    let _: i64 = q(&mut other, &["SADD", "s2", "m"]);
    assert_eq!(raw.call(&["MULTI"]), Value::Okay);
    raw.call(&["SCARD", "s2"]);
    assert_eq!(raw.call(&["EXEC"]), Value::Array(vec![Value::Int(1)]), "a no-op write does not abort");
    // Expiry counts as a change.
    let () = q(&mut other, &["SET", "t", "v", "PX", "30"]);
    assert!(!watched_exec(&mut raw, "t", || std::thread::sleep(Duration::from_millis(80))));
    // So does FLUSHALL, and so do the client's own writes before MULTI.
    assert!(!watched_exec(&mut raw, "k", || {
        let () = q(&mut other, &["FLUSHALL"]);
    }));
    assert_eq!(raw.call(&["WATCH", "own"]), Value::Okay);
    raw.call(&["SET", "own", "1"]);
    assert_eq!(raw.call(&["MULTI"]), Value::Okay);
    raw.call(&["GET", "own"]);
    assert_eq!(raw.call(&["EXEC"]), Value::Nil);
    // A key in another database of the same name is another key.
    let () = q(&mut other, &["SELECT", "1"]);
    assert!(watched_exec(&mut raw, "k", || {
        let () = q(&mut other, &["SET", "k", "db1"]);
    }));
    server.shutdown();
}

#[test]
fn exec_is_atomic_for_other_clients() {
    let server = TestServer::new();
    let writer = {
        let mut c = server.client();
        std::thread::spawn(move || {
            for _ in 0..200 {
                let mut p = redis::pipe();
                p.atomic();
                for _ in 0..10 {
                    p.cmd("INCR").arg("x").ignore();
                }
                p.query::<()>(&mut c).unwrap();
            }
        })
    };
    let mut reader = server.client();
    let mut seen = 0;
    while !writer.is_finished() {
        let x: Option<i64> = q(&mut reader, &["GET", "x"]);
        assert_eq!(x.unwrap_or(0) % 10, 0, "a transaction was seen half done");
        seen += 1;
    }
    writer.join().unwrap();
    assert_eq!(q::<i64>(&mut reader, &["GET", "x"]), 2000);
    assert!(seen > 0);
    server.shutdown();
}

#[test]
fn pubsub_with_the_redis_client_and_resp3_pushes() {
    let server = TestServer::new();
    let mut sub_con = server.client();
    let mut publisher = server.client();
    let mut sub = sub_con.as_pubsub();
    sub.subscribe("news").unwrap();
    sub.psubscribe("sport.*").unwrap();
    sub.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(q::<i64>(&mut publisher, &["PUBLISH", "news", "hello"]), 1);
    assert_eq!(q::<i64>(&mut publisher, &["PUBLISH", "sport.tennis", "ace"]), 1);
    let m = sub.get_message().unwrap();
    assert_eq!((m.get_channel_name(), m.get_payload::<String>().unwrap()), ("news", "hello".into()));
    let m = sub.get_message().unwrap();
    assert_eq!(m.get_pattern::<String>().unwrap(), "sport.*");
    assert_eq!(m.get_payload::<String>().unwrap(), "ace");
    let counts: Vec<Value> = q(&mut publisher, &["PUBSUB", "NUMSUB", "news", "none"]);
    assert_eq!(counts, [bulk("news"), Value::Int(1), bulk("none"), Value::Int(0)]);
    drop(sub);

    // RESP2: a subscribed connection may only (un)subscribe and ping.
    let mut raw = Raw::new(&server);
    let confirm = raw.call(&["SUBSCRIBE", "a", "b"]);
    assert_eq!(confirm, Value::Array(vec![bulk("subscribe"), bulk("a"), Value::Int(1)]));
    assert_eq!(raw.read(), Value::Array(vec![bulk("subscribe"), bulk("b"), Value::Int(2)]));
    let Value::ServerError(e) = raw.call(&["GET", "k"]) else { panic!() };
    assert!(e.details().unwrap_or("").contains("only (P|S)SUBSCRIBE"), "{e:?}");
    assert_eq!(raw.call(&["PING"]), Value::Array(vec![bulk("pong"), bulk("")]));
    assert_eq!(raw.call(&["UNSUBSCRIBE", "a"]), Value::Array(vec![bulk("unsubscribe"), bulk("a"), Value::Int(1)]));
    assert_eq!(raw.call(&["UNSUBSCRIBE"]), Value::Array(vec![bulk("unsubscribe"), bulk("b"), Value::Int(0)]));
    assert_eq!(raw.call(&["UNSUBSCRIBE"]), Value::Array(vec![bulk("unsubscribe"), Value::Nil, Value::Int(0)]));
    assert_eq!(raw.call(&["GET", "k"]), Value::Nil, "back to normal");

    // RESP3: pushes, and other commands still allowed while subscribed.
    let mut r3 = Raw::new(&server);
    assert!(matches!(r3.call(&["HELLO", "3"]), Value::Map(_)));
    let Value::Push { data, .. } = r3.call(&["SUBSCRIBE", "c"]) else { panic!("RESP3 confirmations are pushes") };
    assert_eq!(data, [bulk("c"), Value::Int(1)]);
    assert_eq!(r3.call(&["SET", "k", "v"]), Value::Okay);
    let _: i64 = q(&mut publisher, &["PUBLISH", "c", "m1"]);
    let Value::Push { kind, data } = r3.read() else { panic!() };
    assert_eq!((kind, data), (redis::PushKind::Message, vec![bulk("c"), bulk("m1")]));
    server.shutdown();
}

#[test]
fn keyspace_notifications_on_channels() {
    let server = TestServer::start(Server::builder().notify_keyspace_events("KEA"));
    let mut c = server.client();
    assert_eq!(
        q::<Vec<String>>(&mut c, &["CONFIG", "GET", "notify-keyspace-events"]),
        ["notify-keyspace-events", "AKE"]
    );
    let mut raw = Raw::new(&server);
    raw.call(&["PSUBSCRIBE", "__key*@0__:*"]);
    let () = q(&mut c, &["SET", "k", "v"]);
    let mut got = Vec::new();
    for _ in 0..2 {
        let Value::Array(m) = raw.read() else { panic!() };
        got.push((m[2].clone(), m[3].clone()));
    }
    got.sort_by_key(|(ch, _)| format!("{ch:?}"));
    assert_eq!(got, [(bulk("__keyevent@0__:set"), bulk("k")), (bulk("__keyspace@0__:k"), bulk("set"))]);
    // CONFIG SET switches them off, and bad letters are refused.
    assert!(err(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "Q"]).contains("Invalid event class"));
    let () = q(&mut c, &["CONFIG", "SET", "notify-keyspace-events", ""]);
    let () = q(&mut c, &["SET", "k", "w"]);
    let _: i64 = q(&mut c, &["PUBLISH", "__keyspace@0__:marker", "end"]);
    let Value::Array(m) = raw.read() else { panic!() };
    assert_eq!(m[3], bulk("end"), "no event after notifications were turned off");
    server.shutdown();
}

#[test]
fn client_tracking_default_bcast_and_redirect() {
    let server = TestServer::new();
    let mut writer = server.client();
    let mut t = Raw::new(&server);
    assert!(matches!(t.call(&["HELLO", "3"]), Value::Map(_)));
    assert_eq!(t.call(&["CLIENT", "TRACKING", "on"]), Value::Okay);
    let () = q(&mut writer, &["SET", "k", "1"]);
    assert_eq!(t.call(&["GET", "k"]), bulk("1"));
    let () = q(&mut writer, &["SET", "k", "2"]);
    let Value::Push { kind, data } = t.read() else { panic!("an invalidation push") };
    assert_eq!((kind, data), (redis::PushKind::Invalidate, vec![Value::Array(vec![bulk("k")])]));
    // Invalidated once: the next change is not reported until read again.
    let () = q(&mut writer, &["SET", "k", "3"]);
    assert_eq!(t.call(&["PING"]), Value::SimpleString("PONG".into()));

    // BCAST with a prefix: every change under it, no reads needed.
    let mut b = Raw::new(&server);
    b.call(&["HELLO", "3"]);
    assert_eq!(b.call(&["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "user:"]), Value::Okay);
    let () = q(&mut writer, &["SET", "other", "x"]);
    let () = q(&mut writer, &["SET", "user:1", "x"]);
    let Value::Push { data, .. } = b.read() else { panic!() };
    assert_eq!(data, [Value::Array(vec![bulk("user:1")])]);

    // REDIRECT to a RESP2 subscriber of __redis__:invalidate.
    let mut r = Raw::new(&server);
    let Value::Int(rid) = r.call(&["CLIENT", "ID"]) else { panic!() };
    r.call(&["SUBSCRIBE", "__redis__:invalidate"]);
    let mut c = Raw::new(&server);
    assert_eq!(c.call(&["CLIENT", "TRACKING", "on", "REDIRECT", &rid.to_string()]), Value::Okay);
    assert_eq!(c.call(&["CLIENT", "GETREDIR"]), Value::Int(rid));
    c.call(&["GET", "r"]);
    let () = q(&mut writer, &["SET", "r", "1"]);
    let Value::Array(m) = r.read() else { panic!() };
    assert_eq!(m, [bulk("message"), bulk("__redis__:invalidate"), Value::Array(vec![bulk("r")])]);
    server.shutdown();
}

#[test]
fn info_config_client_slowlog_time() {
    let server = TestServer::new();
    let mut c = server.client();
    let () = q(&mut c, &["CLIENT", "SETNAME", "admin"]);
    let info: String = q(&mut c, &["INFO"]);
    for field in ["redis_version:", "connected_clients:1", "used_memory:", "total_commands_processed:", "role:master"] {
        assert!(info.contains(field), "INFO lacks {field}: {info}");
    }
    let () = q(&mut c, &["SET", "counted", "1"]);
    let stats: String = q(&mut c, &["INFO", "commandstats"]);
    assert!(stats.contains("cmdstat_set:calls=1,"), "{stats}");
    let () = q(&mut c, &["CONFIG", "SET", "maxmemory", "10mb", "hash-max-listpack-entries", "64"]);
    let got: Vec<String> = q(&mut c, &["CONFIG", "GET", "maxmemory"]);
    assert_eq!(got, ["maxmemory", "10485760"]);
    let got: Vec<String> = q(&mut c, &["CONFIG", "GET", "hash-max-listpack-*"]);
    assert_eq!(got, ["hash-max-listpack-entries", "64", "hash-max-listpack-value", "64"]);
    assert!(err(&mut c, &["CONFIG", "SET", "nope", "1"]).contains("Unknown option"));
    assert!(err(&mut c, &["CONFIG", "SET", "maxmemory", "lots"]).contains("memory value"));
    let list: String = q(&mut c, &["CLIENT", "LIST"]);
    assert!(list.contains("name=admin") && list.contains("cmd=client"), "{list}");

    let () = q(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
    let () = q(&mut c, &["SET", "slow", "v"]);
    let log: Vec<Value> = q(&mut c, &["SLOWLOG", "GET", "1"]);
    let Value::Array(entry) = &log[0] else { panic!() };
    assert!(matches!(&entry[3], Value::Array(args) if args.first() == Some(&bulk("SET"))), "{entry:?}");
    assert!(q::<i64>(&mut c, &["SLOWLOG", "LEN"]) >= 1);
    let () = q(&mut c, &["SLOWLOG", "RESET"]);
    let time: Vec<i64> = q(&mut c, &["TIME"]);
    assert!(time[0] > 1_700_000_000 && (0..1_000_000).contains(&time[1]));

    // CLIENT KILL closes the other connection.
    let mut victim = Raw::new(&server);
    let Value::Int(id) = victim.call(&["CLIENT", "ID"]) else { panic!() };
    assert_eq!(q::<i64>(&mut c, &["CLIENT", "KILL", "ID", &id.to_string()]), 1);
    victim.send(&["PING"]);
    assert!(victim.parser.parse_value(&mut victim.r).is_err(), "the killed connection is closed");
    server.shutdown();
}

#[test]
fn save_lastsave_bgsave_and_shutdown() {
    let dir = std::env::temp_dir().join(format!("embercache-server-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let server = TestServer::start(Server::builder().persistence(Persistence::new(&dir, "dump.ember")));
    let mut c = server.client();
    let () = q(&mut c, &["SET", "k", "v"]);
    let () = q(&mut c, &["SELECT", "2"]);
    let () = q(&mut c, &["SET", "k2", "v2"]);
    let () = q(&mut c, &["SAVE"]);
    assert!(dir.join("dump.ember").exists() && dir.join("dump.ember.2").exists());
    let last: i64 = q(&mut c, &["LASTSAVE"]);
    assert!(last > 1_700_000_000);
    let started: String = q(&mut c, &["BGSAVE"]);
    assert_eq!(started, "Background saving started");
    let db = embercache::Db::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while db.load_snapshot(dir.join("dump.ember.2"), &Default::default()).is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(db.get(b"k2").unwrap(), Some(b"v2".to_vec()));
    // SHUTDOWN: no reply, the connection closes and the server stops.
    let mut raw = Raw::new(&server);
    raw.send(&["SHUTDOWN", "NOSAVE"]);
    assert!(raw.parser.parse_value(&mut raw.r).is_err());
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(server.addr).is_ok() {
        assert!(Instant::now() < deadline, "the server still accepts after SHUTDOWN");
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn monitor_sees_other_clients_commands() {
    let server = TestServer::new();
    let mut m = Raw::new(&server);
    assert_eq!(m.call(&["MONITOR"]), Value::Okay);
    let mut c = server.client();
    let () = q(&mut c, &["SET", "key", "a b"]);
    // The client announces itself first (CLIENT SETINFO), then the SET.
    let line = loop {
        let Value::SimpleString(line) = m.read() else { panic!() };
        if !line.contains("\"CLIENT\"") {
            break line;
        }
    };
    assert!(line.ends_with(r#"] "SET" "key" "a b""#), "{line}");
    server.shutdown();
}

/// As Redis: a client idle past `timeout` is closed, but not a subscriber,
/// a monitor or a client waiting in a blocking command, which wait for the
/// server rather than for their own next command.
#[test]
fn idle_clients_are_closed_after_timeout_but_subscribers_monitors_and_blocked_stay() {
    let server = TestServer::start(Server::builder().timeout(1));
    let mut idle = Raw::new(&server);
    let mut sub = Raw::new(&server);
    sub.call(&["SUBSCRIBE", "c"]);
    let mut monitor = Raw::new(&server);
    assert_eq!(monitor.call(&["MONITOR"]), Value::Okay);
    let mut blocked = Raw::new(&server);
    blocked.send(&["BLPOP", "q", "0"]);
    std::thread::sleep(Duration::from_millis(2200));
    idle.send(&["PING"]);
    assert!(idle.parser.parse_value(&mut idle.r).is_err(), "the idle client was closed");
    let mut c = server.client();
    assert_eq!(q::<i64>(&mut c, &["PUBLISH", "c", "still here"]), 1);
    let Value::Array(m) = sub.read() else { panic!() };
    assert_eq!(m[2], bulk("still here"));
    assert_eq!(q::<i64>(&mut c, &["RPUSH", "q", "job"]), 1);
    assert_eq!(blocked.read(), Value::Array(vec![bulk("q"), bulk("job")]));
    // The monitor saw both commands.
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l.contains("\"RPUSH\"")) {
        let Value::SimpleString(line) = monitor.read() else { panic!("a monitor line") };
        seen.push(line);
    }
    assert!(seen.iter().any(|l| l.contains("\"PUBLISH\"")), "{seen:?}");
    server.shutdown();
}

#[test]
fn a_subscriber_that_never_reads_is_disconnected() {
    let server = TestServer::new();
    let mut slow = Raw::new(&server);
    slow.call(&["SUBSCRIBE", "flood"]);
    let mut c = server.client();
    let payload = "x".repeat(4096);
    let started = Instant::now();
    let mut receivers = 1;
    // Far more than the socket buffers and the subscriber's queue hold.
    while receivers > 0 {
        let mut p = redis::pipe();
        for _ in 0..1000 {
            p.cmd("PUBLISH").arg("flood").arg(&payload);
        }
        let counts: Vec<i64> = p.query(&mut c).unwrap();
        receivers = *counts.last().unwrap();
        assert!(started.elapsed() < Duration::from_secs(60), "the slow subscriber was never disconnected");
    }
    let numsub: Vec<Value> = q(&mut c, &["PUBSUB", "NUMSUB", "flood"]);
    assert_eq!(numsub[1], Value::Int(0));
    server.shutdown();
}

/// The error `args` gets, as the server wrote it (code and message).
fn error_line(raw: &mut Raw, args: &[&str]) -> String {
    match raw.call(args) {
        Value::ServerError(e) => format!("{} {}", e.code(), e.details().unwrap_or_default()),
        other => panic!("{args:?} answered {other:?}"),
    }
}

#[test]
fn move_and_copy_between_databases() {
    let server = TestServer::start(Server::builder().notify_keyspace_events("KEA"));
    let mut a = server.client();
    let mut b = server.client();
    let () = q(&mut b, &["SELECT", "2"]);
    let () = q(&mut a, &["SET", "k", "v", "EX", "100"]);
    let mut ra = Raw::new(&server);
    // Redis 7.0's errors, in its order.
    assert_eq!(error_line(&mut ra, &["MOVE", "k", "0"]), "ERR source and destination objects are the same");
    assert_eq!(error_line(&mut ra, &["MOVE", "nokey", "0"]), "ERR source and destination objects are the same");
    assert_eq!(error_line(&mut ra, &["MOVE", "k", "16"]), "ERR DB index is out of range");
    assert_eq!(error_line(&mut ra, &["MOVE", "k", "-1"]), "ERR DB index is out of range");
    assert_eq!(error_line(&mut ra, &["MOVE", "k", "x"]), "ERR value is not an integer or out of range");
    assert!(err(&mut a, &["MOVE", "k", "99999999999"]).contains("value must between -2147483648 and 2147483647"));
    assert!(err(&mut a, &["MOVE", "k"]).contains("wrong number of arguments for 'move' command"));

    let mut events = Raw::new(&server);
    events.call(&["PSUBSCRIBE", "__keyevent@*__:*"]);
    assert_eq!(q::<i64>(&mut a, &["MOVE", "k", "2"]), 1);
    assert_eq!(q::<i64>(&mut a, &["EXISTS", "k"]), 0);
    assert_eq!(q::<String>(&mut b, &["GET", "k"]), "v");
    assert!((99..=100).contains(&q::<i64>(&mut b, &["TTL", "k"])), "MOVE keeps the TTL");
    let mut got = Vec::new();
    for _ in 0..2 {
        let Value::Array(m) = events.read() else { panic!("a pmessage") };
        got.push((m[2].clone(), m[3].clone()));
    }
    assert_eq!(got, [(bulk("__keyevent@0__:move_from"), bulk("k")), (bulk("__keyevent@2__:move_to"), bulk("k"))]);
    assert_eq!(q::<i64>(&mut a, &["MOVE", "k", "2"]), 0, "absent in the source");
    let () = q(&mut a, &["SET", "k", "again"]);
    assert_eq!(q::<i64>(&mut a, &["MOVE", "k", "2"]), 0, "present in the destination");
    assert_eq!(q::<String>(&mut a, &["GET", "k"]), "again");

    // COPY … DB.
    let () = q(&mut a, &["RPUSH", "l", "1", "2"]);
    assert_eq!(q::<i64>(&mut a, &["COPY", "l", "l", "DB", "2"]), 1);
    // The SET and RPUSH before it, then COPY's event.
    let copied = (0..3).find_map(|_| {
        let Value::Array(m) = events.read() else { panic!("a pmessage") };
        (m[2] != bulk("__keyevent@0__:set") && m[2] != bulk("__keyevent@0__:rpush"))
            .then(|| (m[2].clone(), m[3].clone()))
    });
    assert_eq!(copied, Some((bulk("__keyevent@2__:copy_to"), bulk("l"))));
    assert_eq!(q::<Vec<String>>(&mut b, &["LRANGE", "l", "0", "-1"]), ["1", "2"]);
    assert_eq!(q::<i64>(&mut a, &["COPY", "l", "l", "DB", "2"]), 0);
    assert_eq!(q::<i64>(&mut a, &["COPY", "k", "l", "DB", "2", "REPLACE"]), 1);
    assert_eq!(q::<String>(&mut b, &["GET", "l"]), "again");
    assert_eq!(q::<i64>(&mut a, &["COPY", "k", "k2", "db", "0"]), 1, "DB naming the selected one");
    assert_eq!(error_line(&mut ra, &["COPY", "k", "k", "DB", "0"]), "ERR source and destination objects are the same");
    assert_eq!(q::<i64>(&mut a, &["COPY", "nokey", "k", "DB", "1"]), 0);
    assert_eq!(error_line(&mut ra, &["COPY", "k", "x", "DB", "16"]), "ERR DB index is out of range");
    assert_eq!(error_line(&mut ra, &["COPY", "k", "x", "DB", "x"]), "ERR value is not an integer or out of range");
    assert!(err(&mut a, &["COPY", "k", "x", "DB"]).contains("syntax error"));

    // Inside MULTI/EXEC.
    let mut raw = Raw::new(&server);
    assert_eq!(raw.call(&["MULTI"]), Value::Okay);
    for cmd in
        [&["SET", "t", "1"][..], &["MOVE", "t", "3"], &["COPY", "k", "t", "DB", "4"], &["SELECT", "3"], &["GET", "t"]]
    {
        assert_eq!(raw.call(cmd), Value::SimpleString("QUEUED".into()));
    }
    assert_eq!(
        raw.call(&["EXEC"]),
        Value::Array(vec![Value::Okay, Value::Int(1), Value::Int(1), Value::Okay, bulk("1")])
    );
    server.shutdown();
}

#[test]
fn swapdb_swaps_what_clients_of_each_index_see() {
    let server = TestServer::new();
    let mut a = server.client();
    let mut b = server.client();
    let () = q(&mut b, &["SELECT", "1"]);
    let () = q(&mut a, &["SET", "k", "zero"]);
    let () = q(&mut b, &["SET", "k", "one"]);
    let () = q(&mut b, &["SET", "only-in-1", "x"]);
    let mut ra = Raw::new(&server);
    assert_eq!(error_line(&mut ra, &["SWAPDB", "0", "x"]), "ERR invalid second DB index");
    assert_eq!(error_line(&mut ra, &["SWAPDB", "x", "0"]), "ERR invalid first DB index");
    assert_eq!(error_line(&mut ra, &["SWAPDB", "99999999999", "0"]), "ERR invalid first DB index");
    assert_eq!(error_line(&mut ra, &["SWAPDB", "0", "16"]), "ERR DB index is out of range");
    assert!(err(&mut a, &["SWAPDB", "0"]).contains("wrong number of arguments for 'swapdb' command"));
    let () = q(&mut a, &["SWAPDB", "0", "0"]);
    let () = q(&mut a, &["SWAPDB", "0", "1"]);
    // Clients stay on their index and see the other data.
    assert_eq!(q::<String>(&mut a, &["GET", "k"]), "one");
    assert_eq!(q::<String>(&mut b, &["GET", "k"]), "zero");
    assert_eq!(q::<i64>(&mut a, &["DBSIZE"]), 2);
    let info: String = q(&mut a, &["INFO", "keyspace"]);
    assert!(info.contains("db0:keys=2,") && info.contains("db1:keys=1,"), "{info}");
    // Writes after the swap go to the database now at the index.
    let () = q(&mut b, &["SET", "new", "1"]);
    let () = q(&mut a, &["SELECT", "1"]);
    assert_eq!(q::<String>(&mut a, &["GET", "new"]), "1");
    // Inside a transaction: the commands after it see the swapped data.
    let mut raw = Raw::new(&server);
    assert_eq!(raw.call(&["MULTI"]), Value::Okay);
    raw.call(&["GET", "k"]);
    raw.call(&["SWAPDB", "0", "1"]);
    raw.call(&["GET", "k"]);
    assert_eq!(raw.call(&["EXEC"]), Value::Array(vec![bulk("one"), Value::Okay, bulk("zero")]));
    server.shutdown();
}

/// A client blocked on its index follows SWAPDB to the data swapped in, as
/// in Redis: served at once if that data has what it waits for, by pushes
/// to its index after that (not by pushes to the data swapped away), and
/// its timeout still counts from when it blocked.
#[test]
fn swapdb_moves_blocked_clients_to_the_data_swapped_in() {
    let server = TestServer::new();
    let blpop = |key: &'static str, timeout: &'static str| {
        let url = server.url();
        let waiter = std::thread::spawn(move || {
            let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
            let started = Instant::now();
            let got: Option<(String, String)> = redis::cmd("BLPOP").arg(key).arg(timeout).query(&mut con).unwrap();
            (got, started.elapsed())
        });
        std::thread::sleep(Duration::from_millis(150));
        waiter
    };
    let mut other = server.client();
    let () = q(&mut other, &["SELECT", "1"]);
    // Database 1 has the element: the swap serves the client of index 0.
    let _: i64 = q(&mut other, &["RPUSH", "q", "from-1"]);
    let waiter = blpop("q", "10");
    let () = q(&mut other, &["SWAPDB", "0", "1"]);
    let (got, _) = waiter.join().unwrap();
    assert_eq!(got, Some(("q".into(), "from-1".into())));
    // Nothing in either: after a swap the client waits on its index, so a
    // push to the data swapped away (now index 1) does not serve it, and a
    // push to index 0 does.
    let waiter = blpop("r", "10");
    let () = q(&mut other, &["SWAPDB", "0", "1"]);
    let _: i64 = q(&mut other, &["RPUSH", "r", "to-1"]);
    std::thread::sleep(Duration::from_millis(100));
    assert!(!waiter.is_finished(), "served by the data swapped away");
    let () = q(&mut other, &["SELECT", "0"]);
    let _: i64 = q(&mut other, &["RPUSH", "r", "to-0"]);
    let (got, _) = waiter.join().unwrap();
    assert_eq!(got, Some(("r".into(), "to-0".into())));
    // The timeout counts from the BLPOP, not from the swap.
    let waiter = blpop("none", "1");
    std::thread::sleep(Duration::from_millis(500));
    let () = q(&mut other, &["SWAPDB", "0", "1"]);
    let (got, waited) = waiter.join().unwrap();
    assert_eq!(got, None);
    assert!(waited < Duration::from_millis(1400), "waited {waited:?}");
    server.shutdown();
}

/// As Redis 7.0: SWAPDB aborts the watchers of a key that exists in either
/// database; a key in neither stays watched on its index, and a change to
/// it in the database now at that index aborts.
#[test]
fn swapdb_and_move_abort_watchers_as_redis_does() {
    let server = TestServer::new();
    let mut other = server.client();
    let mut raw = Raw::new(&server);
    let mut swap = || {
        let () = q(&mut other, &["SWAPDB", "0", "1"]);
    };
    assert!(watched_exec(&mut raw, "k", &mut swap), "k exists in neither database");
    let mut other = server.client();
    let () = q(&mut other, &["SELECT", "1"]);
    let () = q(&mut other, &["SET", "k", "in-1"]);
    assert!(!watched_exec(&mut raw, "k", || {
        let () = q(&mut other, &["SWAPDB", "0", "1"]);
    }));
    let () = q(&mut other, &["FLUSHALL"]);
    assert!(watched_exec(&mut raw, "elsewhere", || {
        let () = q(&mut other, &["SELECT", "2"]);
        let () = q(&mut other, &["SET", "elsewhere", "x"]);
        let () = q(&mut other, &["SWAPDB", "0", "1"]);
    }));
    let () = q(&mut other, &["FLUSHALL"]);
    // Still watched after a swap: a write in the data now at index 0 aborts,
    // one in the data swapped away does not.
    assert!(!watched_exec(&mut raw, "w", || {
        let () = q(&mut other, &["SWAPDB", "0", "1"]);
        let () = q(&mut other, &["SELECT", "0"]);
        let () = q(&mut other, &["SET", "w", "x"]);
    }));
    let () = q(&mut other, &["FLUSHALL"]);
    assert!(watched_exec(&mut raw, "w", || {
        let () = q(&mut other, &["SWAPDB", "0", "1"]);
        let () = q(&mut other, &["SELECT", "1"]);
        let () = q(&mut other, &["SET", "w", "x"]);
    }));
    // MOVE touches the key in both databases, COPY in the destination.
    let () = q(&mut other, &["FLUSHALL"]);
    let () = q(&mut other, &["SELECT", "3"]);
    let () = q(&mut other, &["SET", "m", "x"]);
    assert!(!watched_exec(&mut raw, "m", || {
        let _: i64 = q(&mut other, &["MOVE", "m", "0"]);
    }));
    let () = q(&mut other, &["SET", "c", "x"]);
    assert!(!watched_exec(&mut raw, "c", || {
        let _: i64 = q(&mut other, &["COPY", "c", "c", "DB", "0"]);
    }));
    server.shutdown();
}

/// ACL key patterns apply to MOVE's and COPY's keys; SWAPDB is in
/// @keyspace and @dangerous.
#[test]
fn acl_applies_to_move_copy_and_swapdb() {
    let server = TestServer::new();
    let mut admin = server.client();
    let () = q(&mut admin, &["ACL", "SETUSER", "app", "on", "nopass", "~app:*", "+@all", "-@dangerous"]);
    let () = q(&mut admin, &["SET", "app:1", "x"]);
    let () = q(&mut admin, &["SET", "secret", "x"]);
    let mut app = server.client();
    let () = q(&mut app, &["AUTH", "app", "any"]);
    assert_eq!(q::<i64>(&mut app, &["MOVE", "app:1", "1"]), 1);
    assert!(err(&mut app, &["MOVE", "secret", "1"]).contains("NOPERM"));
    assert!(err(&mut app, &["COPY", "secret", "app:2", "DB", "1"]).contains("NOPERM"));
    assert!(err(&mut app, &["COPY", "app:1", "secret", "DB", "1"]).contains("NOPERM"));
    assert!(err(&mut app, &["SWAPDB", "0", "1"]).contains("NOPERM"));
    assert_eq!(q::<i64>(&mut admin, &["EXISTS", "secret"]), 1);
    server.shutdown();
}
