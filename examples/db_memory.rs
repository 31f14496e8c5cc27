//! Memory per item of `embercache::Db` against `redis-server`, and how honest
//! `Db::used_memory()` (what `maxmemory` is enforced against) is.
//!
//! Each (data set, store) pair is measured in a fresh child process (this
//! example re-executes itself with `--child DATASET STORE`):
//!
//! - `embercache`: the child creates an empty `Db`, reads its resident set
//!   (`VmRSS` in `/proc/self/status`), loads the data set through the typed
//!   API (`set`, `hset`, `rpush`, `sadd`, `zadd`), reads `VmRSS` again and
//!   `db.used_memory()`. Accuracy = `used_memory` / RSS growth: 1.0 is
//!   exact, below 1 the accounting undercounts (the real heap is bigger
//!   than what `maxmemory` sees).
//! - `redis`: the child starts `redis-server` on a free loopback port
//!   (`--save "" --appendonly no`), reads `used_memory` from `INFO memory`,
//!   loads the same data set through a pipelined RESP connection, reads
//!   `used_memory` again, and kills the server. If `redis-server` is not on
//!   `PATH` that column is skipped.
//!
//! Data sets (items = strings, fields, list items or members; `--quick`
//! divides the number of keys, or of zset members, by 10):
//!
//! | name | contents |
//! |---|---|
//! | strings | 1M keys `key:N`, 16-byte values |
//! | hashes | 10k hashes, 100 fields each (8-byte field, 16-byte value) |
//! | lists | 10k lists of 100 items (16 bytes) |
//! | sets | 10k sets of 100 members (8 bytes) |
//! | zset | 1 sorted set of 1M members `player:N`, random scores |
//!
//! Linux only (needs `/proc`).
//!
//! ```text
//! cargo run --release --example db_memory                    # every data set
//! cargo run --release --example db_memory -- --quick         # a tenth of the sizes
//! cargo run --release --example db_memory -- hashes zset     # a chosen subset
//! ```

mod common;
#[path = "common/redis.rs"]
mod redis;

use common::status_kb;
use embercache::Db;
use embercache::db::SetOptions;
use embercache::db::zset::ZAddOptions;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use redis::{Redis, RedisServer, on_path};
use std::fmt::Write as _;
use std::process::ExitCode;

/// Prefix of the line a child prints for its parent.
const REPORT: &str = "db-memory-report";
/// Members per ZADD.
const ZADD_BATCH: usize = 1000;
/// Fields, items or members per hash, list or set.
const PER_KEY: u64 = 100;

const USAGE: &str = "usage: db_memory [--quick] [DATASET...]
  DATASET  strings, hashes, lists, sets or zset (default: all of them)
  --quick  a tenth of the keys (or zset members)";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DataSet {
    Strings,
    Hashes,
    Lists,
    Sets,
    ZSet,
}

impl DataSet {
    const ALL: [DataSet; 5] = [DataSet::Strings, DataSet::Hashes, DataSet::Lists, DataSet::Sets, DataSet::ZSet];

    fn name(self) -> &'static str {
        match self {
            DataSet::Strings => "strings",
            DataSet::Hashes => "hashes",
            DataSet::Lists => "lists",
            DataSet::Sets => "sets",
            DataSet::ZSet => "zset",
        }
    }

    fn parse(name: &str) -> Option<DataSet> {
        DataSet::ALL.into_iter().find(|d| d.name() == name)
    }

    /// Keys the data set has (`divisor` 1 or 10).
    fn keys(self, divisor: u64) -> u64 {
        match self {
            DataSet::Strings => 1_000_000 / divisor,
            DataSet::Hashes | DataSet::Lists | DataSet::Sets => 10_000 / divisor,
            DataSet::ZSet => 1,
        }
    }

    /// Items: strings, fields, list items or members.
    fn items(self, divisor: u64) -> u64 {
        match self {
            DataSet::Strings => self.keys(divisor),
            DataSet::Hashes | DataSet::Lists | DataSet::Sets => self.keys(divisor) * PER_KEY,
            DataSet::ZSet => 1_000_000 / divisor,
        }
    }

    /// The table's first column.
    fn describe(self, divisor: u64) -> String {
        let keys = count(self.keys(divisor));
        match self {
            DataSet::Strings => format!("{keys} strings `key:N` → 16 B"),
            DataSet::Hashes => format!("{keys} hashes × 100 fields (8 B → 16 B)"),
            DataSet::Lists => format!("{keys} lists × 100 items (16 B)"),
            DataSet::Sets => format!("{keys} sets × 100 members (8 B)"),
            DataSet::ZSet => format!("1 zset × {} members `player:N`", count(self.items(divisor))),
        }
    }
}

/// `1000000` as `1M`, `10000` as `10k`.
fn count(n: u64) -> String {
    match n {
        n if n >= 1_000_000 && n.is_multiple_of(1_000_000) => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n.is_multiple_of(1_000) => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

/// Where a data set is loaded.
trait Sink {
    fn string(&mut self, key: &[u8], value: &[u8]) -> Result<(), String>;
    fn hash(&mut self, key: &[u8], pairs: &[(&[u8], &[u8])]) -> Result<(), String>;
    fn list(&mut self, key: &[u8], items: &[&[u8]]) -> Result<(), String>;
    fn set(&mut self, key: &[u8], members: &[&[u8]]) -> Result<(), String>;
    fn zset(&mut self, key: &[u8], pairs: &[(f64, &[u8])]) -> Result<(), String>;
}

/// Fills `buf` with `count` items made by `item(i)` for
/// `i` in `first..`, and returns them as slices of `buf`.
fn items(buf: &mut String, first: u64, count: u64, item: impl Fn(&mut String, u64)) -> Vec<&[u8]> {
    buf.clear();
    let mut ends = Vec::with_capacity(count as usize);
    for i in first..first + count {
        item(buf, i);
        ends.push(buf.len());
    }
    let mut start = 0;
    ends.into_iter()
        .map(|end| {
            let s = &buf.as_bytes()[start..end];
            start = end;
            s
        })
        .collect()
}

/// Loads `data` into `sink` (the same bytes whatever the sink).
fn load(data: DataSet, divisor: u64, sink: &mut impl Sink) -> Result<(), String> {
    let keys = data.keys(divisor);
    let mut key = String::new();
    let mut buf = String::new();
    match data {
        DataSet::Strings => {
            let mut value = String::new();
            for n in 0..keys {
                key.clear();
                value.clear();
                let _ = write!(key, "key:{n}");
                let _ = write!(value, "value:{n:010}");
                sink.string(key.as_bytes(), value.as_bytes())?;
            }
        }
        DataSet::Hashes => {
            let mut field_buf = String::new();
            let fields = items(&mut field_buf, 0, PER_KEY, |s, f| {
                let _ = write!(s, "field:{f:02}");
            });
            for k in 0..keys {
                key.clear();
                let _ = write!(key, "hash:{k}");
                let values = items(&mut buf, k * PER_KEY, PER_KEY, |s, v| {
                    let _ = write!(s, "value:{v:010}");
                });
                let pairs: Vec<(&[u8], &[u8])> = fields.iter().copied().zip(values).collect();
                sink.hash(key.as_bytes(), &pairs)?;
            }
        }
        DataSet::Lists => {
            for k in 0..keys {
                key.clear();
                let _ = write!(key, "list:{k}");
                let list = items(&mut buf, k * PER_KEY, PER_KEY, |s, i| {
                    let _ = write!(s, "item:{i:011}");
                });
                sink.list(key.as_bytes(), &list)?;
            }
        }
        DataSet::Sets => {
            for k in 0..keys {
                key.clear();
                let _ = write!(key, "set:{k}");
                // Not integers, so Redis does not store them as an intset.
                let members = items(&mut buf, k * PER_KEY, PER_KEY, |s, m| {
                    let _ = write!(s, "m:{m:06}");
                });
                sink.set(key.as_bytes(), &members)?;
            }
        }
        DataSet::ZSet => {
            let mut rng = SmallRng::seed_from_u64(0x5eed);
            let members = data.items(divisor);
            let mut first = 0;
            while first < members {
                let n = (ZADD_BATCH as u64).min(members - first);
                let batch = items(&mut buf, first, n, |s, p| {
                    let _ = write!(s, "player:{p}");
                });
                let pairs: Vec<(f64, &[u8])> = batch.into_iter().map(|m| (rng.gen_range(0.0..1e6), m)).collect();
                sink.zset(b"leaderboard", &pairs)?;
                first += n;
            }
        }
    }
    Ok(())
}

/// The typed `Db` API.
struct Ember<'a>(&'a Db);

fn db_err(e: embercache::db::DbError) -> String {
    format!("embercache: {e}")
}

impl Sink for Ember<'_> {
    fn string(&mut self, key: &[u8], value: &[u8]) -> Result<(), String> {
        self.0.set(key, value, SetOptions::default()).map(drop).map_err(db_err)
    }
    fn hash(&mut self, key: &[u8], pairs: &[(&[u8], &[u8])]) -> Result<(), String> {
        self.0.hset(key, pairs).map(drop).map_err(db_err)
    }
    fn list(&mut self, key: &[u8], items: &[&[u8]]) -> Result<(), String> {
        self.0.rpush(key, items).map(drop).map_err(db_err)
    }
    fn set(&mut self, key: &[u8], members: &[&[u8]]) -> Result<(), String> {
        self.0.sadd(key, members).map(drop).map_err(db_err)
    }
    fn zset(&mut self, key: &[u8], pairs: &[(f64, &[u8])]) -> Result<(), String> {
        self.0.zadd(key, pairs, ZAddOptions::default()).map(drop).map_err(db_err)
    }
}

impl Sink for Redis {
    fn string(&mut self, key: &[u8], value: &[u8]) -> Result<(), String> {
        self.begin(3)?;
        self.bulk(b"SET")?;
        self.bulk(key)?;
        self.bulk(value)?;
        self.end()
    }
    fn hash(&mut self, key: &[u8], pairs: &[(&[u8], &[u8])]) -> Result<(), String> {
        self.begin(2 + 2 * pairs.len())?;
        self.bulk(b"HSET")?;
        self.bulk(key)?;
        for (field, value) in pairs {
            self.bulk(field)?;
            self.bulk(value)?;
        }
        self.end()
    }
    fn list(&mut self, key: &[u8], items: &[&[u8]]) -> Result<(), String> {
        self.begin(2 + items.len())?;
        self.bulk(b"RPUSH")?;
        self.bulk(key)?;
        for item in items {
            self.bulk(item)?;
        }
        self.end()
    }
    fn set(&mut self, key: &[u8], members: &[&[u8]]) -> Result<(), String> {
        self.begin(2 + members.len())?;
        self.bulk(b"SADD")?;
        self.bulk(key)?;
        for member in members {
            self.bulk(member)?;
        }
        self.end()
    }
    fn zset(&mut self, key: &[u8], pairs: &[(f64, &[u8])]) -> Result<(), String> {
        self.zadd(key, pairs)
    }
}

/// Loads `data` into `store` and prints one report line for the parent:
/// `embercache ITEMS RSS_BEFORE_KB RSS_AFTER_KB USED_MEMORY` or
/// `redis ITEMS USED_BEFORE USED_AFTER`.
fn child(data: DataSet, store: &str, divisor: u64) -> Result<(), String> {
    let items = data.items(divisor);
    match store {
        "embercache" => {
            let rss_start_kb = status_kb("VmRSS")?;
            let db = Db::new();
            let rss_before_kb = status_kb("VmRSS")?;
            load(data, divisor, &mut Ember(&db))?;
            db.run_pending_tasks();
            let rss_after_kb = status_kb("VmRSS")?;
            if db.dbsize() as u64 != data.keys(divisor) {
                return Err(format!("embercache holds {} keys, expected {}", db.dbsize(), data.keys(divisor)));
            }
            eprintln!(
                "  embercache {}: empty Db {} kB, RSS {rss_before_kb} -> {rss_after_kb} kB, used_memory {}",
                data.name(),
                rss_before_kb.saturating_sub(rss_start_kb),
                db.used_memory()
            );
            println!("{REPORT} {items} {rss_before_kb} {rss_after_kb} {}", db.used_memory());
        }
        "redis" => {
            let mut server = RedisServer::start(&["--save", "", "--appendonly", "no", "--loglevel", "warning"])?;
            let mut redis = server.connect()?;
            let before = redis.info("memory", "used_memory")?;
            load(data, divisor, &mut redis)?;
            redis.sync()?;
            let after = redis.info("memory", "used_memory")?;
            let keys = redis.dbsize()?;
            if keys != data.keys(divisor) {
                return Err(format!("redis holds {keys} keys, expected {}", data.keys(divisor)));
            }
            eprintln!("  redis {}: used_memory {before} -> {after}", data.name());
            println!("{REPORT} {items} {before} {after}");
            server.shutdown(redis)?;
        }
        other => return Err(format!("unknown store `{other}`")),
    }
    Ok(())
}

/// Runs a child measuring `data` in `store`; returns its numbers.
fn measure(data: DataSet, store: &str, quick: bool) -> Result<Vec<u64>, String> {
    let mut args = vec!["--child", data.name(), store];
    if quick {
        args.push("--quick");
    }
    let what = format!("{} in {store}", data.name());
    common::run_child(&args, REPORT, &what)?
        .iter()
        .map(|field| field.parse().map_err(|_| format!("malformed report from child measuring {what}: {field:?}")))
        .collect()
}

fn per_item(bytes: u64, items: u64) -> f64 {
    bytes as f64 / items as f64
}

fn run() -> Result<(), String> {
    let mut quick = false;
    let mut child_of = None;
    let mut sets = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--child" => {
                let data = args.next().ok_or("--child needs a data set")?;
                let store = args.next().ok_or("--child needs a store")?;
                child_of = Some((data, store));
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            name => match DataSet::parse(name) {
                Some(data) => sets.push(data),
                None => return Err(format!("unknown argument `{name}`\n{USAGE}")),
            },
        }
    }
    let divisor = if quick { 10 } else { 1 };
    if let Some((data, store)) = child_of {
        let data = DataSet::parse(&data).ok_or_else(|| format!("unknown data set `{data}`"))?;
        return child(data, &store, divisor);
    }
    if sets.is_empty() {
        sets = DataSet::ALL.to_vec();
    }
    let redis = on_path("redis-server");
    if !redis {
        eprintln!("\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
        eprintln!("!!! redis-server is not on PATH: the redis columns are skipped (n/a)     !!!");
        eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n");
    }

    let mut rows = Vec::new();
    for &data in &sets {
        let ember = measure(data, "embercache", quick)?;
        let [items, rss_before_kb, rss_after_kb, used] = ember[..] else {
            return Err(format!("malformed embercache report: {ember:?}"));
        };
        let rss = rss_after_kb.saturating_sub(rss_before_kb) * 1024;
        let redis_used = if redis {
            let numbers = measure(data, "redis", quick)?;
            let [_, before, after] = numbers[..] else {
                return Err(format!("malformed redis report: {numbers:?}"));
            };
            Some(after.saturating_sub(before))
        } else {
            None
        };
        rows.push((data, items, rss, used, redis_used));
    }

    let version = if redis { redis::version() } else { "redis-server (not found)".to_owned() };
    println!("### `Db` memory per item vs {version}{}\n", if quick { " (--quick)" } else { "" });
    println!(
        "| data set | items | embercache RSS B/item | embercache used_memory B/item | accuracy (used/RSS) \
         | redis used_memory B/item | embercache RSS / redis |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (data, items, rss, used, redis_used) in rows {
        let accuracy = if rss == 0 { "—".to_owned() } else { format!("{:.2}", used as f64 / rss as f64) };
        let (redis_col, ratio) = match redis_used {
            Some(r) if r > 0 => (format!("{:.1}", per_item(r, items)), format!("{:.2}", rss as f64 / r as f64)),
            _ => ("n/a".to_owned(), "n/a".to_owned()),
        };
        println!(
            "| {} | {} | {:.1} | {:.1} | {accuracy} | {redis_col} | {ratio} |",
            data.describe(divisor),
            count(items),
            per_item(rss, items),
            per_item(used, items),
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("db_memory: error: {message}");
            ExitCode::FAILURE
        }
    }
}
