//! A read-heavy Zipf workload through a `TieredCache` (L1 in process, L2 a
//! real `redis-server`) against the same workload sent to that server
//! directly with the `redis` crate, in one run: throughput, p50/p99
//! latency, L1's hit ratio and the commands per second that reach Redis.
//!
//! ```text
//! cargo run --release --features tiered --example tiered_bench -- [--secs 5] [--warmup 3] [--keys 100000] [--l1 20000] [--tasks 64] [--writes 0.01] [--no-ttl-reads]
//! ```
//!
//! `--no-ttl-reads` sets `Options::read_ttl` off (a miss is a `GET`, not
//! `GET` + `PTTL`). The tiered run is preceded by `--warmup` seconds of the same workload
//! (not measured), as a near cache in service is warm.
//!
//! Needs `redis-server` on the PATH (it starts one on a free loopback
//! port, `--save "" --appendonly no`). Keys are `k:<n>` for n drawn from
//! Zipf(keys, 0.99), values 100 bytes; `--writes` is the fraction of
//! operations that are writes (SET through the same path). The client runs
//! `--tasks` concurrent tasks on tokio's multi-threaded runtime; the direct
//! run shares one multiplexed connection, as the tiered cache does.

use embercache::tiered::{Options, TieredBuilder, TieredCache};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand_distr::{Distribution, Zipf};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Clone)]
struct Args {
    secs: u64,
    warmup: u64,
    keys: u64,
    l1: u64,
    tasks: usize,
    writes: f64,
    read_ttl: bool,
}

fn args() -> Result<Args, Error> {
    let mut a = Args { secs: 5, warmup: 3, keys: 100_000, l1: 20_000, tasks: 64, writes: 0.01, read_ttl: true };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--no-ttl-reads" {
            a.read_ttl = false;
            continue;
        }
        let v = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--secs" => a.secs = v.parse()?,
            "--warmup" => a.warmup = v.parse()?,
            "--keys" => a.keys = v.parse()?,
            "--l1" => a.l1 = v.parse()?,
            "--tasks" => a.tasks = v.parse()?,
            "--writes" => a.writes = v.parse()?,
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    Ok(a)
}

/// A `redis-server` on a free port, killed on drop.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start() -> Result<Redis, Error> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let dir = std::env::temp_dir();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start redis-server: {e}"))?;
        let redis = Redis { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err("redis-server did not start".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(redis)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One run's figures.
struct Run {
    ops: u64,
    secs: f64,
    p50_us: f64,
    p99_us: f64,
    redis_cmds_per_sec: f64,
    hit_ratio: Option<f64>,
}

/// The operation each task runs: read (`false`) or write key `n`.
trait Target: Clone + Send + Sync + 'static {
    fn op(&self, n: u64, write: bool) -> impl std::future::Future<Output = Result<(), Error>> + Send;
}

#[derive(Clone)]
struct Tiered(TieredCache<u64, Vec<u8>>);

impl Target for Tiered {
    async fn op(&self, n: u64, write: bool) -> Result<(), Error> {
        if write {
            self.0.insert(&n, vec![b'v'; 100]).await?;
        } else {
            self.0.get(&n).await?;
        }
        Ok(())
    }
}

#[derive(Clone)]
struct Direct(redis::aio::MultiplexedConnection);

impl Target for Direct {
    async fn op(&self, n: u64, write: bool) -> Result<(), Error> {
        let mut conn = self.0.clone();
        let key = format!("k:{n}");
        if write {
            let value = bincode::serde::encode_to_vec(vec![b'v'; 100], bincode::config::standard())?;
            let () = redis::cmd("SET").arg(key).arg(value).query_async(&mut conn).await?;
        } else {
            let _: Option<Vec<u8>> = redis::cmd("GET").arg(key).query_async(&mut conn).await?;
        }
        Ok(())
    }
}

async fn commands_processed(conn: &mut redis::aio::MultiplexedConnection) -> Result<u64, Error> {
    let info: String = redis::cmd("INFO").arg("stats").query_async(conn).await?;
    let n = info
        .lines()
        .find_map(|l| l.strip_prefix("total_commands_processed:"))
        .ok_or("no total_commands_processed in INFO")?;
    Ok(n.trim().parse()?)
}

async fn run<T: Target>(target: T, a: &Args, admin: &mut redis::aio::MultiplexedConnection) -> Result<Run, Error> {
    let before = commands_processed(admin).await?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(a.secs);
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..a.tasks {
        let target = target.clone();
        let (keys, writes) = (a.keys, a.writes);
        tasks.spawn(async move {
            // Drawn before the clock starts, so that the run measures the
            // clients, not the Zipf sampler; every eighth operation is timed.
            let zipf = Zipf::new(keys, 0.99).map_err(|e| format!("{e:?}"))?;
            let mut rng = SmallRng::seed_from_u64(t as u64);
            let draws: Vec<u64> = (0..1 << 16).map(|_| zipf.sample(&mut rng) as u64).collect();
            let every = if writes > 0.0 { (1.0 / writes).round() as usize } else { usize::MAX };
            let mut lat: Vec<u32> = Vec::with_capacity(1 << 16);
            let mut done = 0u64;
            let mut i = t * 7919;
            while Instant::now() < deadline {
                for _ in 0..64 {
                    i += 1;
                    let n = draws[i % draws.len()];
                    let write = i % every == 0;
                    if i % 8 == 0 {
                        let t0 = Instant::now();
                        target.op(n, write).await?;
                        lat.push(u32::try_from(t0.elapsed().as_nanos()).unwrap_or(u32::MAX));
                    } else {
                        target.op(n, write).await?;
                    }
                    done += 1;
                }
            }
            Ok::<(u64, Vec<u32>), Error>((done, lat))
        });
    }
    let (mut ops, mut lat) = (0, Vec::new());
    while let Some(done) = tasks.join_next().await {
        let (n, l) = done??;
        ops += n;
        lat.extend(l);
    }
    let secs = started.elapsed().as_secs_f64();
    let after = commands_processed(admin).await?;
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map_or(0.0, |&ns| f64::from(ns) / 1000.0)
    };
    Ok(Run {
        ops,
        secs,
        p50_us: pct(0.50),
        p99_us: pct(0.99),
        // Less the INFO calls themselves.
        redis_cmds_per_sec: (after.saturating_sub(before + 1)) as f64 / secs,
        hit_ratio: None,
    })
}

fn main() -> Result<(), Error> {
    let a = args()?;
    let redis = Redis::start()?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        let client = redis::Client::open(redis.url())?;
        let mut admin = client.get_multiplexed_async_connection().await?;
        // Preload every key, as the tiered cache writes them.
        let value = bincode::serde::encode_to_vec(vec![b'v'; 100], bincode::config::standard())?;
        for chunk in (1..=a.keys).collect::<Vec<_>>().chunks(1000) {
            let mut pipe = redis::pipe();
            for n in chunk {
                pipe.cmd("SET").arg(format!("k:{n}")).arg(&value).ignore();
            }
            let () = pipe.query_async(&mut admin).await?;
        }
        let direct = Direct(client.get_multiplexed_async_connection().await?);
        let d = run(direct, &a, &mut admin).await?;
        let options = Options { read_ttl: a.read_ttl, ..Options::default() };
        let cache: TieredCache<u64, Vec<u8>> =
            TieredBuilder::standalone(redis.url()).prefix("k:").l1_capacity(a.l1).options(options).build().await?;
        // Warm L1 up first, as a near cache in service is: the measured run
        // starts from the entries the workload keeps.
        run(Tiered(cache.clone()), &Args { secs: a.warmup, ..a.clone() }, &mut admin).await?;
        let s0 = cache.stats();
        let mut t = run(Tiered(cache.clone()), &a, &mut admin).await?;
        let s = cache.stats();
        let (hits, misses) = (s.l1_hits - s0.l1_hits, s.l1_misses - s0.l1_misses);
        t.hit_ratio = Some(hits as f64 / (hits + misses).max(1) as f64);
        println!(
            "\n{} keys (Zipf 0.99), 100-byte values, {}% writes, {} tasks, {} s per run; L1 {} entries{}\n",
            a.keys,
            a.writes * 100.0,
            a.tasks,
            a.secs,
            a.l1,
            if a.read_ttl { "" } else { ", no TTL reads" }
        );
        println!("| client | ops/s | p50 (µs) | p99 (µs) | L1 hit ratio | Redis commands/s |");
        println!("|---|---:|---:|---:|---:|---:|");
        for (name, r) in [("redis crate, direct", &d), ("TieredCache", &t)] {
            println!(
                "| {name} | {:.0} | {:.1} | {:.1} | {} | {:.0} |",
                r.ops as f64 / r.secs,
                r.p50_us,
                r.p99_us,
                r.hit_ratio.map_or("–".into(), |h| format!("{:.1}%", h * 100.0)),
                r.redis_cmds_per_sec
            );
        }
        let ratio = (t.ops as f64 / t.secs) / (d.ops as f64 / d.secs);
        println!(
            "\nTieredCache / direct: {ratio:.1}× the throughput, {:.1}% of the commands reaching Redis",
            100.0 * t.redis_cmds_per_sec / d.redis_cmds_per_sec.max(1.0)
        );
        cache.close();
        Ok::<(), Error>(())
    })?;
    drop(redis);
    Ok(())
}
