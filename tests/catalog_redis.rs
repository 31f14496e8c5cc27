//! The command catalog against a real `redis-server`: `COMMAND INFO` (arity,
//! flags, key positions, ACL categories, tips, key specs, subcommands) and
//! `COMMAND DOCS` must match for every command both know, except where
//! embercache deliberately follows a later Redis (listed below).
//!
//! Skipped, loudly, when `redis-server` is not installed; with `CI=true`
//! a missing server fails the test instead.

use embercache::db::Reply;
use embercache::db::catalog;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Commands whose entries differ from Redis 7.0 on purpose: ZRANK and
/// ZREVRANK take Redis 7.2's WITHSCORE (arity -3, one more argument).
const FOLLOWS_LATER_REDIS: &[&str] = &["zrank", "zrevrank"];

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_redis() -> Option<Server> {
    let port = TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
    let spawned = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let child = match spawned {
        Ok(child) => child,
        Err(e) => {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but redis-server cannot start: {e}");
            eprintln!("!!! redis-server not found ({e}): the catalog comparison is SKIPPED");
            return None;
        }
    };
    let server = Server { child, port };
    for _ in 0..500 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(server);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("redis-server did not start listening on port {port}");
}

/// A reply tree both sides can be brought to (RESP2 shapes).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum N {
    Nil,
    Int(i64),
    Str(Vec<u8>),
    List(Vec<N>),
}

fn from_redis(v: redis::Value) -> N {
    use redis::Value as V;
    match v {
        V::Nil => N::Nil,
        V::Int(i) => N::Int(i),
        V::BulkString(b) => N::Str(b),
        V::SimpleString(s) => N::Str(s.into_bytes()),
        V::Okay => N::Str(b"OK".to_vec()),
        V::Array(items) | V::Set(items) => N::List(items.into_iter().map(from_redis).collect()),
        V::Map(pairs) => N::List(pairs.into_iter().flat_map(|(k, v)| [from_redis(k), from_redis(v)]).collect()),
        other => panic!("unexpected {other:?}"),
    }
}

fn from_reply(r: Reply) -> N {
    match r.into_resp2_shape() {
        Reply::Null | Reply::NullArray => N::Nil,
        Reply::Integer(i) => N::Int(i),
        Reply::Bulk(b) => N::Str(b),
        Reply::Simple(s) => N::Str(s.as_bytes().to_vec()),
        Reply::Array(items) | Reply::Set(items) => N::List(items.into_iter().map(from_reply).collect()),
        Reply::Map(pairs) | Reply::Pairs(pairs) => {
            N::List(pairs.into_iter().flat_map(|(k, v)| [from_reply(k), from_reply(v)]).collect())
        }
        other => panic!("unexpected {other:?}"),
    }
}

/// Subcommands come in Redis's dict order: sort them (recursively).
fn sort_info(n: &mut N) {
    if let N::List(fields) = n
        && let Some(N::List(subs)) = fields.get_mut(9)
    {
        subs.iter_mut().for_each(sort_info);
        subs.sort();
    }
}

/// Sorts the `subcommands` map of a docs map by name (recursively).
fn sort_docs(n: &mut N) {
    let N::List(fields) = n else { return };
    for i in (0..fields.len().saturating_sub(1)).step_by(2) {
        if fields[i] == N::Str(b"subcommands".to_vec())
            && let N::List(flat) = &mut fields[i + 1]
        {
            let mut pairs: Vec<(N, N)> = flat.chunks(2).map(|c| (c[0].clone(), c[1].clone())).collect();
            pairs.iter_mut().for_each(|(_, d)| sort_docs(d));
            pairs.sort();
            *flat = pairs.into_iter().flat_map(|(a, b)| [a, b]).collect();
        }
    }
}

#[test]
fn catalog_matches_redis_command_info_and_docs() {
    let Some(server) = start_redis() else { return };
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/", server.port)).unwrap();
    let mut con = client.get_connection().unwrap();
    let version: String = redis::cmd("INFO").arg("server").query(&mut con).unwrap();
    let version = version.lines().find_map(|l| l.strip_prefix("redis_version:")).unwrap_or("?").to_string();

    let (mut matched, mut docs_matched, mut known, mut mismatches) = (0, 0, 0, Vec::new());
    for spec in catalog::all() {
        let theirs: redis::Value = redis::cmd("COMMAND").arg("INFO").arg(spec.name).query(&mut con).unwrap();
        let N::List(mut entries) = from_redis(theirs) else { panic!("COMMAND INFO reply") };
        let Some(mut theirs) = entries.pop().filter(|e| *e != N::Nil) else {
            eprintln!("redis-server {version} does not know {}", spec.name);
            continue;
        };
        known += 1;
        let mut ours = from_reply(catalog::info_reply(spec));
        sort_info(&mut ours);
        sort_info(&mut theirs);
        let later = FOLLOWS_LATER_REDIS.contains(&spec.name);
        if later {
            // Everything but the arity must still match.
            if let (N::List(a), N::List(b)) = (&mut ours, &mut theirs) {
                a[1] = N::Nil;
                b[1] = N::Nil;
            }
        }
        if ours == theirs {
            matched += 1;
        } else {
            mismatches.push(format!("INFO {}:\n  ours   {ours:?}\n  theirs {theirs:?}", spec.name));
        }

        let theirs: redis::Value = redis::cmd("COMMAND").arg("DOCS").arg(spec.name).query(&mut con).unwrap();
        let N::List(mut pair) = from_redis(theirs) else { panic!("COMMAND DOCS reply") };
        let mut theirs = pair.pop().unwrap_or(N::Nil);
        let mut ours = from_reply(catalog::docs_reply(spec));
        sort_docs(&mut ours);
        sort_docs(&mut theirs);
        if ours == theirs || later {
            docs_matched += 1;
        } else {
            mismatches.push(format!("DOCS {}:\n  ours   {ours:?}\n  theirs {theirs:?}", spec.name));
        }
    }
    eprintln!(
        "catalog vs redis-server {version}: COMMAND INFO matches for {matched} of {known} commands both know \
         ({} in the catalog), COMMAND DOCS for {docs_matched}; {} differ on purpose: {FOLLOWS_LATER_REDIS:?}",
        catalog::all().count(),
        FOLLOWS_LATER_REDIS.len(),
    );
    assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));
    assert!(known > 150, "the server knows most of the catalog ({known})");
}
