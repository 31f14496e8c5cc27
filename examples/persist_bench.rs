//! Snapshot save and load of `embercache::Db` against `redis-server`'s RDB
//! `SAVE` and restart load, side by side in one run.
//!
//! Data sets (`--quick`: a tenth of the size):
//!
//! - `strings`: 1M keys `key:N` → `value:NNNNNNNNNN` (16 bytes);
//! - `zset`: one sorted set `lb` of 1M members `player:N`, random scores
//!   in `0..1e6` (seeded).
//!
//! What each figure includes (nothing is subtracted):
//!
//! - **embercache save**: `db.save_snapshot(path)`: encoding, writing a
//!   temporary file, its fsync, the rename over the previous file and the
//!   fsync of the directory. Run once uncompressed and once with
//!   `SnapshotOptions::compress(true)` (LZ4).
//! - **embercache load** (a restart, as Redis's): from spawning a fresh
//!   process of this example (`--load-child`) until it reports the store
//!   loaded: process start-up, `Db::new()` + `load_snapshot(path)` (reading
//!   the file from the page cache, checking it, decoding and inserting
//!   every key). The child checks the count and spot values, then exits
//!   without dropping the store. A fresh process matters: a load into a
//!   heap that just freed a million keys is slower (allocator state), and
//!   Redis is measured fresh too.
//! - **Redis SAVE**: the round trip of a `SAVE` over loopback; the server
//!   (default RDB settings: `rdbcompression yes`, `rdbchecksum yes`) writes
//!   a temporary file, fsyncs it and renames it over `dump.rdb`. The data
//!   is filled beforehand through pipelined RESP (not timed).
//! - **Redis load**: after `SHUTDOWN NOSAVE`, from spawning a new
//!   `redis-server` on the same `--dir`/`--dbfilename` until `INFO
//!   persistence` says `loading:0` and `DBSIZE` is the expected count
//!   (polled every millisecond): process start-up, reading and decoding the
//!   RDB (page cache too) and the polling granularity. Redis's own figure
//!   (the log line `DB loaded from disk: X seconds`) and the start-up time
//!   of a server with no RDB are reported beside it.
//!
//! Every measurement runs 3 times; tables show the median. After every
//! load, the key count and spot values are checked against what was saved
//! (on both sides); any mismatch stops the run with an error. Without
//! `redis-server` on `PATH` only embercache is measured.
//!
//! A last table splits embercache's own time into phases (encode only into
//! `io::sink()`, write without fsync, fsync; read the file, decode and
//! insert from memory) to show where it goes.
//!
//! ```text
//! cargo run --release --example persist_bench                 # 1M keys / members
//! cargo run --release --example persist_bench -- --quick      # 100k
//! cargo run --release --example persist_bench -- --dir /mnt/x # files under /mnt/x
//! ```

#[path = "common/redis.rs"]
mod redis;

use embercache::Db;
use embercache::db::SetOptions;
use embercache::db::zset::ZAddOptions;
use embercache::persist::SnapshotOptions;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use redis::{Redis, RedisServer, Reply};
use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Runs of every measurement (the median is reported).
const RUNS: usize = 3;
/// Members per ZADD while filling.
const ZADD_BATCH: usize = 1000;
/// The sorted set's key.
const ZSET_KEY: &[u8] = b"lb";

const USAGE: &str = "usage: persist_bench [--quick] [--dir DIR]
  --quick    100k keys / members instead of 1M
  --dir DIR  put the snapshot files under DIR (default: the system temp dir)";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DataSet {
    Strings,
    ZSet,
}

impl DataSet {
    fn name(self) -> &'static str {
        match self {
            DataSet::Strings => "strings",
            DataSet::ZSet => "zset",
        }
    }

    /// Keys in the keyspace once filled with `n` items.
    fn keys(self, n: usize) -> usize {
        match self {
            DataSet::Strings => n,
            DataSet::ZSet => 1,
        }
    }

    fn describe(self, n: usize) -> String {
        match self {
            DataSet::Strings => format!("{} strings `key:N` → 16 B", count(n)),
            DataSet::ZSet => format!("1 zset × {} members", count(n)),
        }
    }
}

/// `1000000` as `1M`, `100000` as `100k`.
fn count(n: usize) -> String {
    match n {
        n if n >= 1_000_000 && n.is_multiple_of(1_000_000) => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n.is_multiple_of(1_000) => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

/// The items of a data set: item `i` is `key:i` → `value:i` or member
/// `player:i` with score `scores[i]`.
struct Items {
    n: usize,
    scores: Vec<f64>,
}

impl Items {
    fn new(n: usize) -> Items {
        let mut rng = SmallRng::seed_from_u64(0x5eed);
        Items { n, scores: (0..n).map(|_| rng.gen_range(0.0..1e6)).collect() }
    }

    fn key(i: usize) -> String {
        format!("key:{i}")
    }

    fn value(i: usize) -> String {
        format!("value:{i:010}")
    }

    fn member(i: usize) -> String {
        format!("player:{i}")
    }

    /// Indices checked after each load: both ends, the middle and a few
    /// spread between.
    fn spots(&self) -> Vec<usize> {
        let n = self.n;
        let mut spots = vec![0, 1, n / 2, n - 1];
        spots.extend((1..8).map(|k| (k * 7919 * 127) % n));
        spots
    }

    /// Calls `f` with batches of `(score, member)` pairs covering every member.
    fn zset_batches(&self, mut f: impl FnMut(&[(f64, &[u8])]) -> Result<(), String>) -> Result<(), String> {
        let mut first = 0;
        while first < self.n {
            let end = (first + ZADD_BATCH).min(self.n);
            let members: Vec<String> = (first..end).map(Items::member).collect();
            let pairs: Vec<(f64, &[u8])> =
                members.iter().zip(&self.scores[first..end]).map(|(m, &s)| (s, m.as_bytes())).collect();
            f(&pairs)?;
            first = end;
        }
        Ok(())
    }
}

fn db_err(e: embercache::db::DbError) -> String {
    format!("embercache: {e}")
}

fn persist_err(e: embercache::persist::PersistError) -> String {
    format!("embercache snapshot: {e}")
}

fn fill_ember(db: &Db, data: DataSet, items: &Items) -> Result<(), String> {
    match data {
        DataSet::Strings => {
            for i in 0..items.n {
                db.set(Items::key(i).as_bytes(), Items::value(i).as_bytes(), SetOptions::default()).map_err(db_err)?;
            }
            Ok(())
        }
        DataSet::ZSet => {
            items.zset_batches(|pairs| db.zadd(ZSET_KEY, pairs, ZAddOptions::default()).map(drop).map_err(db_err))
        }
    }
}

fn fill_redis(redis: &mut Redis, data: DataSet, items: &Items) -> Result<(), String> {
    match data {
        DataSet::Strings => {
            for i in 0..items.n {
                redis.begin(3)?;
                redis.bulk(b"SET")?;
                redis.bulk(Items::key(i).as_bytes())?;
                redis.bulk(Items::value(i).as_bytes())?;
                redis.end()?;
            }
        }
        DataSet::ZSet => items.zset_batches(|pairs| redis.zadd(ZSET_KEY, pairs))?,
    }
    redis.sync()
}

/// A loud correctness failure.
fn mismatch(who: &str, data: DataSet, what: String) -> String {
    format!("CORRECTNESS FAILURE: {who} {} after load: {what}", data.name())
}

/// Checks a loaded `Db` against what was saved.
fn verify_ember(db: &Db, data: DataSet, items: &Items) -> Result<(), String> {
    let fail = |what: String| mismatch("embercache", data, what);
    if db.dbsize() != data.keys(items.n) {
        return Err(fail(format!("DBSIZE {} != {}", db.dbsize(), data.keys(items.n))));
    }
    match data {
        DataSet::Strings => {
            for i in items.spots() {
                let got = db.get(Items::key(i).as_bytes()).map_err(db_err)?;
                if got.as_deref() != Some(Items::value(i).as_bytes()) {
                    return Err(fail(format!("GET key:{i} = {got:?}")));
                }
            }
            if db.get(b"key:missing").map_err(db_err)?.is_some() {
                return Err(fail("a key never saved exists".to_owned()));
            }
        }
        DataSet::ZSet => {
            let card = db.zcard(ZSET_KEY).map_err(db_err)?;
            if card != items.n {
                return Err(fail(format!("ZCARD {card} != {}", items.n)));
            }
            for i in items.spots() {
                let got = db.zscore(ZSET_KEY, Items::member(i).as_bytes()).map_err(db_err)?;
                if got != Some(items.scores[i]) {
                    return Err(fail(format!("ZSCORE player:{i} = {got:?}, saved {}", items.scores[i])));
                }
            }
        }
    }
    Ok(())
}

/// Checks a Redis server against what was saved.
fn verify_redis(redis: &mut Redis, data: DataSet, items: &Items) -> Result<(), String> {
    let fail = |what: String| mismatch("redis", data, what);
    let keys = redis.dbsize()?;
    if keys != data.keys(items.n) as u64 {
        return Err(fail(format!("DBSIZE {keys} != {}", data.keys(items.n))));
    }
    for i in items.spots() {
        match data {
            DataSet::Strings => {
                let key = Items::key(i);
                match redis.call(&[b"GET", key.as_bytes()])? {
                    Reply::Bulk(Some(v)) if v == Items::value(i).as_bytes() => {}
                    other => return Err(fail(format!("GET {key} = {other:?}"))),
                }
            }
            DataSet::ZSet => {
                let member = Items::member(i);
                let got = match redis.call(&[b"ZSCORE", ZSET_KEY, member.as_bytes()])? {
                    Reply::Bulk(Some(v)) => String::from_utf8_lossy(&v).parse::<f64>().ok(),
                    _ => None,
                };
                if got != Some(items.scores[i]) {
                    return Err(fail(format!("ZSCORE {member} = {got:?}, saved {}", items.scores[i])));
                }
            }
        }
    }
    if data == DataSet::ZSet {
        let card = redis.int(&[b"ZCARD", ZSET_KEY])?;
        if card != items.n as u64 {
            return Err(fail(format!("ZCARD {card} != {}", items.n)));
        }
    }
    Ok(())
}

/// The median of `RUNS` durations, in milliseconds.
fn median_ms(mut runs: Vec<Duration>) -> f64 {
    runs.sort();
    runs[runs.len() / 2].as_secs_f64() * 1e3
}

/// Runs `f` `RUNS` times and returns the median of the times it reports.
fn median_of(mut f: impl FnMut() -> Result<Duration, String>) -> Result<f64, String> {
    let runs = (0..RUNS).map(|_| f()).collect::<Result<Vec<_>, _>>()?;
    Ok(median_ms(runs))
}

fn file_size(path: &Path) -> Result<u64, String> {
    fs::metadata(path).map(|m| m.len()).map_err(|e| format!("cannot stat {}: {e}", path.display()))
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(parent: &Path) -> Result<Scratch, String> {
        let dir = parent.join(format!("embercache-persist-bench-{}", std::process::id()));
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// embercache's figures for one data set and one option set.
struct EmberRow {
    save_ms: f64,
    load_ms: f64,
    size: u64,
}

fn measure_ember(db: &Db, data: DataSet, items: &Items, dir: &Path, compress: bool) -> Result<EmberRow, String> {
    let opts = SnapshotOptions::new().compress(compress);
    let path = dir.join(format!("{}{}.ember", data.name(), if compress { "-lz4" } else { "" }));
    let save_ms = median_of(|| {
        let t = Instant::now();
        db.save_snapshot(&path, &opts).map_err(persist_err)?;
        Ok(t.elapsed())
    })?;
    let size = file_size(&path)?;
    let load_ms = median_of(|| load_in_child(data, items.n, &path))?;
    eprintln!(
        "  embercache {}{}: save {save_ms:.1} ms, load {load_ms:.1} ms, {size} B",
        data.name(),
        if compress { " lz4" } else { "" }
    );
    Ok(EmberRow { save_ms, load_ms, size })
}

/// Loads `path` in a fresh process of this example; returns the time from
/// spawning it until it reported the store loaded (checked).
fn load_in_child(data: DataSet, n: usize, path: &Path) -> Result<Duration, String> {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let t = Instant::now();
    let mut child = Command::new(exe)
        .args(["--load-child", data.name(), &n.to_string()])
        .arg(path)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn the loading child: {e}"))?;
    let mut line = String::new();
    let stdout = child.stdout.take().ok_or("no child stdout")?;
    BufReader::new(stdout).read_line(&mut line).map_err(|e| e.to_string())?;
    let elapsed = t.elapsed();
    let status = child.wait().map_err(|e| e.to_string())?;
    if !status.success() || line.trim() != "loaded" {
        return Err(format!("the loading child failed ({status}): {line}"));
    }
    Ok(elapsed)
}

/// The child side of [`load_in_child`]: load, check, report, exit without
/// dropping the store.
fn child_load(mut args: impl Iterator<Item = String>) -> Result<(), String> {
    let data = match args.next().as_deref() {
        Some("strings") => DataSet::Strings,
        Some("zset") => DataSet::ZSet,
        other => return Err(format!("--load-child: unknown data set {other:?}")),
    };
    let n: usize = args.next().and_then(|a| a.parse().ok()).ok_or("--load-child: bad count")?;
    let path = PathBuf::from(args.next().ok_or("--load-child: no path")?);
    let loaded = Db::new();
    let summary = loaded.load_snapshot(&path, &SnapshotOptions::new()).map_err(persist_err)?;
    if summary.keys != data.keys(n) as u64 {
        return Err(mismatch("embercache", data, format!("summary.keys {}", summary.keys)));
    }
    println!("loaded");
    let items = Items::new(n);
    verify_ember(&loaded, data, &items)?;
    std::mem::forget(loaded);
    Ok(())
}

/// Redis's figures for one data set.
struct RedisRow {
    save_ms: f64,
    load_ms: f64,
    /// From the server log: `DB loaded from disk: X seconds` (median).
    logged_load_ms: Option<f64>,
    size: u64,
}

/// Arguments of a `redis-server` keeping `dump.rdb` in `dir`, logging to `log`.
fn server_args<'a>(dir: &'a str, log: &'a str) -> [&'a str; 12] {
    [
        "--dir",
        dir,
        "--dbfilename",
        "dump.rdb",
        "--save",
        "",
        "--appendonly",
        "no",
        "--loglevel",
        "notice",
        "--logfile",
        log,
    ]
}

/// Starts a server on `dir` and times it until it has loaded `expect_keys`
/// keys; returns the server, a connection and the time.
fn start_and_wait(dir: &str, log: &str, expect_keys: u64) -> Result<(RedisServer, Redis, Duration), String> {
    let t = Instant::now();
    let mut server = RedisServer::start(&server_args(dir, log))?;
    let mut redis = server.connect()?;
    let deadline = t + Duration::from_secs(120);
    loop {
        if redis.info("persistence", "loading")? == 0 && redis.dbsize()? == expect_keys {
            break;
        }
        if Instant::now() > deadline {
            return Err("redis-server did not finish loading in 120 s".to_owned());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok((server, redis, t.elapsed()))
}

/// The last `DB loaded from disk: X seconds` in a Redis log, in ms.
fn logged_load_ms(log: &Path) -> Option<f64> {
    let text = fs::read_to_string(log).ok()?;
    text.lines().rev().find_map(|line| {
        let rest = &line[line.find("DB loaded from disk: ")? + "DB loaded from disk: ".len()..];
        rest.split_whitespace().next()?.parse::<f64>().ok().map(|s| s * 1e3)
    })
}

fn measure_redis(data: DataSet, items: &Items, dir: &Path) -> Result<RedisRow, String> {
    let dir = dir.join(format!("redis-{}", data.name()));
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let dir_str = dir.to_str().ok_or("temp dir path is not UTF-8")?;
    let log = |run: &str| dir.join(format!("redis-{run}.log"));
    let fill_log = log("fill");
    let mut server = RedisServer::start(&server_args(dir_str, fill_log.to_str().ok_or("log path")?))?;
    let mut redis = server.connect()?;
    fill_redis(&mut redis, data, items)?;
    verify_redis(&mut redis, data, items)?;

    let save_ms = median_of(|| {
        let t = Instant::now();
        match redis.call(&[b"SAVE"])? {
            Reply::Status => Ok(t.elapsed()),
            other => Err(format!("redis: SAVE answered {other:?}")),
        }
    })?;
    let size = file_size(&dir.join("dump.rdb"))?;
    server.shutdown(redis)?;

    let expect = data.keys(items.n) as u64;
    let mut logged = Vec::new();
    let load_ms = median_of(|| {
        let log_path = log(&format!("load-{}", logged.len()));
        let (server, mut redis, elapsed) = start_and_wait(dir_str, log_path.to_str().ok_or("log path")?, expect)?;
        let loaded = redis.info("persistence", "rdb_last_load_keys_loaded").ok();
        if loaded.is_some_and(|k| k != expect) {
            return Err(mismatch("redis", data, format!("rdb_last_load_keys_loaded {loaded:?}")));
        }
        verify_redis(&mut redis, data, items)?;
        server.shutdown(redis)?;
        logged.push(logged_load_ms(&log_path));
        Ok(elapsed)
    })?;
    let logged_load_ms = if logged.iter().all(Option::is_some) {
        Some(median_ms(logged.into_iter().flatten().map(|ms| Duration::from_secs_f64(ms / 1e3)).collect()))
    } else {
        None
    };
    eprintln!(
        "  redis {}: SAVE {save_ms:.1} ms, load {load_ms:.1} ms (log: {logged_load_ms:?} ms), {size} B",
        data.name()
    );
    Ok(RedisRow { save_ms, load_ms, logged_load_ms, size })
}

/// The time from spawning a `redis-server` with no RDB until it answers
/// `loading:0`: the start-up part of the Redis load figure.
fn redis_empty_start(dir: &Path) -> Result<f64, String> {
    let dir = dir.join("redis-empty");
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let dir_str = dir.to_str().ok_or("temp dir path is not UTF-8")?;
    let log = dir.join("redis.log");
    median_of(|| {
        let (server, redis, elapsed) = start_and_wait(dir_str, log.to_str().ok_or("log path")?, 0)?;
        server.shutdown(redis)?;
        Ok(elapsed)
    })
}

/// embercache's time split into phases (medians, ms).
struct Phases {
    encode: f64,
    write: f64,
    fsync: f64,
    read_file: f64,
    decode_insert: f64,
    new_db: f64,
    drop_db: f64,
}

fn measure_phases(db: &Db, data: DataSet, items: &Items, dir: &Path) -> Result<Phases, String> {
    let opts = SnapshotOptions::new();
    let encode = median_of(|| {
        let t = Instant::now();
        db.write_snapshot(std::io::sink(), &opts).map_err(persist_err)?;
        Ok(t.elapsed())
    })?;
    let path = dir.join(format!("{}-phases.ember", data.name()));
    let mut syncs = Vec::new();
    let write = median_of(|| {
        let _ = fs::remove_file(&path);
        let t = Instant::now();
        let file = File::create(&path).map_err(|e| format!("create {}: {e}", path.display()))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        db.write_snapshot(&mut w, &opts).map_err(persist_err)?;
        let file = w.into_inner().map_err(|e| format!("flush: {}", e.error()))?;
        let elapsed = t.elapsed();
        let t = Instant::now();
        file.sync_all().map_err(|e| format!("fsync: {e}"))?;
        syncs.push(t.elapsed());
        Ok(elapsed)
    })?;
    let fsync = median_ms(syncs);
    let mut bytes = Vec::new();
    let read_file = median_of(|| {
        let t = Instant::now();
        bytes = fs::read(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
        Ok(t.elapsed())
    })?;
    let mut news = Vec::new();
    let mut drops = Vec::new();
    let decode_insert = median_of(|| {
        let t = Instant::now();
        let loaded = Db::new();
        news.push(t.elapsed());
        let t = Instant::now();
        loaded.read_snapshot(bytes.as_slice(), &opts).map_err(persist_err)?;
        let elapsed = t.elapsed();
        verify_ember(&loaded, data, items)?;
        let t = Instant::now();
        drop(loaded);
        drops.push(t.elapsed());
        Ok(elapsed)
    })?;
    Ok(Phases { encode, write, fsync, read_file, decode_insert, new_db: median_ms(news), drop_db: median_ms(drops) })
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn ratio(ember: f64, redis: Option<f64>) -> String {
    match redis {
        Some(r) if r > 0.0 => format!("{:.2}", ember / r),
        _ => "n/a".to_owned(),
    }
}

fn opt_ms(ms: Option<f64>) -> String {
    ms.map_or_else(|| "n/a".to_owned(), |ms| format!("{ms:.1}"))
}

struct Results {
    data: DataSet,
    plain: EmberRow,
    lz4: EmberRow,
    redis: Option<RedisRow>,
    phases: Phases,
}

fn run() -> Result<(), String> {
    let mut n = 1_000_000;
    let mut parent = std::env::temp_dir();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--load-child" => return child_load(args),
            "--quick" => n = 100_000,
            "--dir" => parent = PathBuf::from(args.next().ok_or("--dir needs a directory")?),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    let have_redis = redis::on_path("redis-server");
    if !have_redis {
        eprintln!("\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
        eprintln!("!!! redis-server is not on PATH: only embercache is measured (Redis n/a) !!!");
        eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n");
    }
    let scratch = Scratch::new(&parent)?;
    let dir = scratch.0.as_path();
    eprintln!("files under {}", dir.display());

    let mut results = Vec::new();
    for data in [DataSet::Strings, DataSet::ZSet] {
        eprintln!("{}: filling {} items", data.name(), count(n));
        let items = Items::new(n);
        let db = Db::new();
        fill_ember(&db, data, &items)?;
        verify_ember(&db, data, &items)?;
        let plain = measure_ember(&db, data, &items, dir, false)?;
        let lz4 = measure_ember(&db, data, &items, dir, true)?;
        let phases = measure_phases(&db, data, &items, dir)?;
        drop(db);
        let redis = if have_redis { Some(measure_redis(data, &items, dir)?) } else { None };
        results.push(Results { data, plain, lz4, redis, phases });
    }
    let empty_start = if have_redis { Some(redis_empty_start(dir)?) } else { None };

    let version = if have_redis { redis::version() } else { "redis-server (not found)".to_owned() };
    println!(
        "### Snapshot save and load: embercache vs {version}{} (median of {RUNS})\n",
        if n == 1_000_000 { "" } else { " (--quick)" }
    );
    println!(
        "| data set | embercache save ms | Redis SAVE ms | ratio | embercache load ms | Redis load ms | ratio \
         | file sizes (embercache / RDB) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---|");
    for r in &results {
        let redis_save = r.redis.as_ref().map(|x| x.save_ms);
        let redis_load = r.redis.as_ref().map(|x| x.load_ms);
        let rdb = r.redis.as_ref().map_or_else(|| "n/a".to_owned(), |x| mb(x.size));
        for (label, row) in [("", &r.plain), (", LZ4", &r.lz4)] {
            println!(
                "| {}{label} | {:.1} | {} | {} | {:.1} | {} | {} | {} / {rdb} |",
                r.data.describe(n),
                row.save_ms,
                opt_ms(redis_save),
                ratio(row.save_ms, redis_save),
                row.load_ms,
                opt_ms(redis_load),
                ratio(row.load_ms, redis_load),
                mb(row.size),
            );
        }
    }
    println!("\nRatios are embercache time / Redis time (below 1: embercache is faster).");
    if have_redis {
        println!(
            "Redis load includes process start-up: an empty redis-server answers `loading:0` after {} ms \
             (median). Redis's own logged figures (`DB loaded from disk`): {}.",
            opt_ms(empty_start),
            results
                .iter()
                .map(|r| format!("{} {} ms", r.data.name(), opt_ms(r.redis.as_ref().and_then(|x| x.logged_load_ms))))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }

    println!("\n#### embercache phases (uncompressed, median ms)\n");
    println!(
        "| data set | encode only (io::sink) | encode + write (no fsync) | fsync | read file | Db::new | \
         decode + insert (from memory) | drop loaded Db (not in load) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in &results {
        let p = &r.phases;
        println!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.2} | {:.1} | {:.1} |",
            r.data.name(),
            p.encode,
            p.write,
            p.fsync,
            p.read_file,
            p.new_db,
            p.decode_insert,
            p.drop_db
        );
    }
    eprintln!("\nfiles were under {} (removed on exit)", dir.display());
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("persist_bench: error: {message}");
            ExitCode::FAILURE
        }
    }
}
