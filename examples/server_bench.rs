//! `redis-benchmark` against a fresh `embercache-server` and a fresh
//! `redis-server` in one run, alternating between them test group by test
//! group (see [`GROUPS`]), and a markdown table per pipelining mode: requests per second, the ratio, and p99
//! latency (the median of the rounds). Both servers run with no
//! persistence, on this host, as the client does.
//!
//! ```text
//! cargo run --release --features server --example server_bench -- [-n 100000] [--pipelined-n N] [--rounds 3] [--io-threads 1] [--group G]... [--pipeline P]...
//! ```
//!
//! `--io-threads` is embercache-server's thread count, 1 by default: like
//! redis-server, whose commands all run on its one main thread, and right
//! for a host whose cores the client shares (0: one per CPU, the server's
//! own default).
//!
//! Beside the ratio of the medians, each row says in how many rounds
//! embercache-server was ahead: a round's two runs are seconds apart, so
//! its ratio is free of the drift between rounds, and a row at parity
//! shows up as about half the rounds each way.
//!
//! `--group` (repeatable) runs only the named groups of [`GROUPS`], and
//! `--pipeline` (repeatable) only `-P 1` or `-P 16`: the rows that move
//! between runs, measured over more rounds. Each table is followed by the
//! spread (min–max) of the rounds behind each median.
//!
//! `-n` is the request count without pipelining; with `-P 16` the count is
//! `--pipelined-n`, ten times `-n` by default, so that each test runs for
//! about as long in both modes (100 000 pipelined requests take under a
//! tenth of a second, too short to measure anything but start-up).
//!
//! Needs `redis-server` and `redis-benchmark` (7.x, for `--csv` latency
//! percentiles) on the PATH. The embercache-server binary is built (release)
//! first, through `$CARGO`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;

/// redis-benchmark's tests `set,get,incr,lpush,rpop,sadd,hset,zadd,lrange_100,mset`,
/// as run: each group on both servers, round after round, before
/// the next group, so that a row's figures for the two servers are taken
/// seconds apart (this host's speed drifts over minutes). A group keeps the
/// tests that read what an earlier one wrote together, as in the full
/// suite (GET hits SET's keys, RPOP pops what LPUSH pushed).
const GROUPS: [&str; 8] = ["set,get", "incr", "lpush,rpop", "sadd", "hset", "zadd", "lrange_100", "mset"];
const CLIENTS: &str = "50";

mod support;
use support::{Error, Running, embercache_server, free_port, median, paired};

fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let (mut requests, mut rounds) = (100_000u64, 3usize);
    let mut pipelined_requests = None;
    let mut io_threads = 1usize;
    let (mut groups, mut pipelines): (Vec<String>, Vec<u32>) = (Vec::new(), Vec::new());
    while let Some(a) = args.next() {
        match a.as_str() {
            "--group" => groups.push(args.next().ok_or("--group needs one of the groups")?),
            "--pipeline" => pipelines.push(args.next().ok_or("--pipeline needs 1 or 16")?.parse()?),
            "-n" => requests = args.next().ok_or("-n needs a number")?.parse()?,
            "--io-threads" => io_threads = args.next().ok_or("--io-threads needs a number")?.parse()?,
            "--pipelined-n" => pipelined_requests = Some(args.next().ok_or("--pipelined-n needs a number")?.parse()?),
            "--rounds" => rounds = args.next().ok_or("--rounds needs a number")?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    if let Some(g) = groups.iter().find(|g| !GROUPS.contains(&g.as_str())) {
        return Err(format!("unknown group {g}: one of {}", GROUPS.join(" | ")).into());
    }
    let groups: Vec<&str> = GROUPS.into_iter().filter(|g| groups.is_empty() || groups.iter().any(|x| x == g)).collect();
    if pipelines.is_empty() {
        pipelines = vec![1, 16];
    }
    let dir = std::env::temp_dir().join(format!("embercache-server-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let ember_port = free_port()?;
    let redis_port = free_port()?;
    let dir_s = dir.to_str().ok_or("temp dir")?;
    let no_persistence = ["--save", "", "--appendonly", "no", "--dir", dir_s];
    let ember = Running::start(
        Command::new(embercache_server()?)
            .args(["--port", &ember_port.to_string()])
            .args(no_persistence)
            .args(if io_threads > 0 { vec!["--io-threads".to_string(), io_threads.to_string()] } else { Vec::new() }),
        ember_port,
    )?;
    let redis = Running::start(
        Command::new("redis-server").args(["--port", &redis_port.to_string()]).args(no_persistence),
        redis_port,
    )?;
    let redis_version = String::from_utf8(Command::new("redis-server").arg("--version").output()?.stdout)?;

    for pipeline in pipelines {
        let requests = if pipeline == 1 { requests } else { pipelined_requests.unwrap_or(requests * 10) };
        // results[server][round]: the rows of every test, in suite order.
        let mut results: [Vec<Vec<Row>>; 2] = [vec![Vec::new(); rounds], vec![Vec::new(); rounds]];
        let [ember_rounds, redis_rounds] = &mut results;
        for &group in &groups {
            for (round, (e, r)) in ember_rounds.iter_mut().zip(redis_rounds.iter_mut()).enumerate() {
                // Alternate which server goes first, so neither always runs on a warmer machine.
                let mut runs = [(ember.port, e), (redis.port, r)];
                if round % 2 == 1 {
                    runs.reverse();
                }
                for (port, rows) in runs {
                    flushall(port)?;
                    rows.extend(benchmark(port, group, requests, pipeline)?);
                }
            }
        }
        println!(
            "\n### -P {pipeline} ({})\n",
            if pipeline == 1 { "no pipelining" } else { "16 commands per pipeline" }
        );
        println!(
            "`redis-benchmark -t <group> -c {CLIENTS} -n {requests}{} --csv` for each group of `{}` in turn, \
             FLUSHALL before each run, median of {rounds} round(s) per group; {}\n",
            if pipeline > 1 { format!(" -P {pipeline}") } else { String::new() },
            groups.join(" | "),
            redis_version.trim()
        );
        println!(
            "embercache-server with {}.\n",
            if io_threads > 0 { format!("`--io-threads {io_threads}`") } else { "one thread per CPU".to_string() }
        );
        println!(
            "| test | embercache (req/s) | redis-server (req/s) | embercache / redis | rounds ahead | embercache p99 (ms) | redis-server p99 (ms) |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|");
        let (mut log_sum, mut n, mut wins) = (0.0, 0, 0);
        for (t, test) in results[0][0].iter().enumerate() {
            let stat =
                |i: usize, f: fn(&Row) -> f64| median(results[i].iter().filter_map(|r| r.get(t)).map(f).collect());
            let (e_rps, r_rps) = (stat(0, |r| r.rps), stat(1, |r| r.rps));
            let ratio = e_rps / r_rps;
            log_sum += ratio.ln();
            n += 1;
            wins += usize::from(ratio >= 1.0);
            let rps = |i: usize| results[i].iter().filter_map(|r| r.get(t)).map(|r| r.rps).collect::<Vec<_>>();
            let (ratios, ahead) = paired(rps(0), rps(1));
            println!(
                "| {} | {e_rps:.0} | {r_rps:.0} | {ratio:.2}× | {ahead} of {} | {:.3} | {:.3} |",
                test.test,
                ratios.len(),
                stat(0, |r| r.p99),
                stat(1, |r| r.p99)
            );
        }
        println!(
            "\nembercache ahead in {wins} of {n} tests; geometric mean ratio {:.2}×",
            (log_sum / f64::from(n)).exp()
        );
        // The spread of the rounds behind each median, in thousands of requests/s.
        println!("\nRounds, min–max k req/s (embercache; redis-server):");
        for (t, test) in results[0][0].iter().enumerate() {
            let spread = |i: usize| {
                let v: Vec<f64> = results[i].iter().filter_map(|r| r.get(t)).map(|r| r.rps / 1000.0).collect();
                let (lo, hi) = v.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
                format!("{lo:.0}–{hi:.0}")
            };
            println!("- {}: {}; {}", test.test, spread(0), spread(1));
        }
    }
    drop((ember, redis));
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// One line of `redis-benchmark --csv`.
#[derive(Clone)]
struct Row {
    test: String,
    rps: f64,
    p99: f64,
}

fn benchmark(port: u16, tests: &str, requests: u64, pipeline: u32) -> Result<Vec<Row>, Error> {
    let out = Command::new("redis-benchmark")
        .args(["-p", &port.to_string(), "-t", tests, "-c", CLIENTS, "-n", &requests.to_string()])
        .args(["-P", &pipeline.to_string(), "--csv"])
        .output()?;
    let text = String::from_utf8(out.stdout)?;
    if !out.status.success() {
        return Err(format!("redis-benchmark failed: {text}{}", String::from_utf8_lossy(&out.stderr)).into());
    }
    // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
    let mut lines = text.lines();
    let header: Vec<String> = fields(lines.next().ok_or("no CSV header")?);
    let col = |name: &str| header.iter().position(|h| h == name).ok_or(format!("no {name} column in {header:?}"));
    let (rps, p99) = (col("rps")?, col("p99_latency_ms")?);
    lines
        .map(|l| {
            let f = fields(l);
            Ok(Row { test: f[0].clone(), rps: f[rps].parse()?, p99: f[p99].parse()? })
        })
        .collect()
}

fn fields(line: &str) -> Vec<String> {
    line.split("\",\"").map(|f| f.trim_matches('"').to_string()).collect()
}

fn flushall(port: u16) -> Result<(), Error> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.write_all(b"FLUSHALL\r\n")?;
    let mut ok = [0; 5];
    s.read_exact(&mut ok)?;
    Ok(())
}
