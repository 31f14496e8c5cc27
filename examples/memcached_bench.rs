//! `embercache-server` against a real `memcached` on their Memcached
//! ports, side by side in one run, driven by Debian's `memaslap`
//! (`memcaslap`, package libmemcached-tools):
//!
//! ```sh
//! cargo run --release --features server --example memcached_bench [seconds] [rounds] [threads] [options…]
//! ```
//!
//! Options after the third argument go to embercache-server as they are
//! (`--cpu-slice-us 0`, say, to measure without the CPU slice).
//!
//! Both servers are fresh processes on loopback with `threads` worker
//! threads, 2 by default (embercache-server's `--io-threads`, memcached's
//! `-t`), each beside the thread that accepts; otherwise their defaults,
//! but for embercache-server no persistence and no busy polling
//! (`--busy-poll-us 0`: memaslap's threads share the host's cores, and
//! memcached does not poll either). The embercache-server binary is
//! built (release) first, through `$CARGO`. Runs alternate, and which
//! server goes first alternates from round to round; each figure is the
//! median of the rounds (3 by default). Beside the ratio of the medians,
//! each row says in how many rounds embercache was ahead of the memcached
//! run beside it, and each round's ratio is listed after the table.
//! `memaslap` gives throughput and a log2 histogram of latencies, so p99
//! is reported twice: the upper bound of its power-of-two bucket, and an
//! estimate inside that bucket that takes the latencies in it as spread
//! evenly on a log scale (a p99 that falls just past a power of two then
//! reads as just past it, not as twice it).

mod support;

use std::process::Command;
use support::{Error, Running, embercache_server, free_port, median, paired};

/// One memaslap result: operations per second, the p99 bucket's bound
/// (µs) and the p99 estimated inside that bucket (µs).
#[derive(Clone, Copy)]
struct Run {
    tps: f64,
    p99_us: u64,
    p99_est_us: f64,
}

/// Parses memaslap's "Total Statistics" block: TPS and the log2 histogram.
fn parse(out: &str) -> Option<Run> {
    let tps = out.lines().find_map(|l| l.strip_prefix("Run time:"))?.split("TPS:").nth(1)?.split_whitespace().next()?;
    let total = out.split("Total Statistics (").nth(1)?;
    let mut counts: Vec<(u32, u64)> = Vec::new();
    for line in total.lines().skip_while(|l| !l.contains("Log2 Dist:")).skip(1) {
        let Some((start, rest)) = line.trim().split_once(':') else { break };
        let Ok(start) = start.trim().parse::<u32>() else { break };
        for (i, c) in rest.split_whitespace().enumerate() {
            counts.push((start + i as u32, c.parse().ok()?));
        }
    }
    let (bound, estimate) = p99(&counts)?;
    Some(Run { tps: tps.parse().ok()?, p99_us: bound, p99_est_us: estimate })
}

/// The p99 of a log2 histogram (`(b, count)`: `count` latencies in
/// `(2^(b-1), 2^b]` µs, as memaslap counts them: a run with a minimum of
/// 81 µs has its fastest in bucket 7 and one with a maximum of 8 183 µs
/// its slowest in bucket 13): its bucket's upper bound, and the estimate
/// that spreads the bucket's latencies evenly on a log scale.
fn p99(counts: &[(u32, u64)]) -> Option<(u64, f64)> {
    let total: u64 = counts.iter().map(|(_, c)| c).sum();
    // The rank of the p99 latency, counting from 1.
    let rank = (total * 99).div_ceil(100).max(1);
    let mut below = 0;
    counts.iter().find_map(|&(b, c)| {
        if below + c < rank {
            below += c;
            return None;
        }
        let within = (rank - below) as f64 / c as f64;
        let low = (1u64 << b) / 2;
        Some((1u64 << b, low as f64 * within.exp2()))
    })
}

fn memaslap(addr: &str, secs: u64, extra: &[&str]) -> Run {
    let out = Command::new("memcaslap")
        .args(["-s", addr, "-t", &format!("{secs}s"), "-T", "2", "-c", "50", "-S", &format!("{secs}s")])
        .args(extra)
        .output()
        .expect("memcaslap runs (apt-get install libmemcached-tools)");
    let text = String::from_utf8_lossy(&out.stdout);
    let all = format!("{text}{}", String::from_utf8_lossy(&out.stderr));
    // A server that refuses the commands answers fast: make sure it served them.
    assert!(!all.contains("CLIENT_ERROR") && !all.contains("SERVER_ERROR"), "{addr} answered errors:\n{all}");
    let gets: u64 = text.lines().find_map(|l| l.strip_prefix("cmd_get:")?.trim().parse().ok()).unwrap_or(0);
    assert!(gets > 0, "{addr} served no get:\n{text}");
    parse(&text).unwrap_or_else(|| panic!("unreadable memaslap output:\n{text}"))
}

/// The median run: the median throughput, the median p99 bound (the upper
/// of the two middle rounds for an even count, so it stays a bucket's
/// bound) and the median p99 estimate.
fn median_run(runs: &[Run]) -> Run {
    let mut bounds: Vec<u64> = runs.iter().map(|r| r.p99_us).collect();
    bounds.sort_unstable();
    Run {
        tps: median(runs.iter().map(|r| r.tps).collect()),
        p99_us: bounds.get(bounds.len() / 2).copied().unwrap_or(0),
        p99_est_us: median(runs.iter().map(|r| r.p99_est_us).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::p99;

    #[test]
    fn p99_of_a_log2_histogram() {
        // 99 fast requests and one slow one: p99 is the 99th, in (128, 256].
        assert_eq!(p99(&[(8, 99), (13, 1)]), Some((256, 256.0)));
        // 1000 requests; the 990th is the 10th of 20 in (4096, 8192].
        let (bound, estimate) = p99(&[(8, 980), (13, 20)]).unwrap();
        assert_eq!(bound, 8192);
        assert!((estimate - 4096.0 * 0.5f64.exp2()).abs() < 1e-6, "{estimate}");
        assert_eq!(p99(&[]), None);
    }

    /// A real run's "Total Statistics" (min 85 µs, max 8 428 µs: the
    /// fastest in bucket 7, the slowest 25 in bucket 14).
    #[test]
    fn parses_memaslap_output() {
        let out = "Total Statistics (464466 events)
   Min:        85
   Max:      8428
   Log2 Dist:
       4:        0        0        0      774
       8:   177574    36242   234430     3804
      12:     6946     4671       25

cmd_get: 418047
Run time: 5.0s Ops: 464516 TPS: 92892 Net_rate: 103.9M/s
";
        let run = super::parse(out).unwrap();
        assert_eq!((run.tps, run.p99_us), (92892.0, 8192));
        // The 459 822nd of 464 466 is the 52nd of bucket 13's 4 671.
        assert!((run.p99_est_us - 4096.0 * (52.0f64 / 4671.0).exp2()).abs() < 1e-6, "{}", run.p99_est_us);
    }
}

fn main() -> Result<(), Error> {
    let secs: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(10);
    let rounds: usize = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(3).max(1);
    let threads: usize = std::env::args().nth(3).and_then(|s| s.parse().ok()).unwrap_or(2).max(1);
    let threads_arg = threads.to_string();
    let server_args: Vec<String> = std::env::args().skip(4).collect();
    let dir = std::env::temp_dir().join(format!("embercache-memcached-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let dir_s = dir.to_str().ok_or("temp dir")?;
    let (resp_port, ember_port, memcached_port) = (free_port()?, free_port()?, free_port()?);
    let ember = Running::start(
        Command::new(embercache_server()?)
            .args(["--port", &resp_port.to_string(), "--memcached-port", &ember_port.to_string()])
            .args(["--io-threads", &threads_arg, "--busy-poll-us", "0"])
            .args(["--save", "", "--appendonly", "no", "--dir", dir_s])
            .args(&server_args),
        ember_port,
    )?;
    let mut cmd = Command::new("memcached");
    cmd.args(["-p", &memcached_port.to_string(), "-U", "0", "-l", "127.0.0.1", "-t", &threads_arg, "-m", "4096"]);
    if is_root() {
        cmd.args(["-u", "root"]);
    }
    let real =
        Running::start(&mut cmd, memcached_port).map_err(|e| format!("memcached (apt-get install memcached): {e}"))?;
    let (ember_addr, real_addr) = (format!("127.0.0.1:{}", ember.port), format!("127.0.0.1:{}", real.port));
    let workloads: [(&str, &[&str]); 2] =
        [("get/set 9:1, 1 key per get", &[]), ("get/set 9:1, 16 keys per get", &["-d", "16"])];
    if server_args.is_empty() {
        println!("{threads} worker thread(s) each.\n");
    } else {
        println!("{threads} worker thread(s) each; embercache-server given {}.\n", server_args.join(" "));
    }
    println!(
        "| workload | embercache ops/s | memcached ops/s | ratio | rounds ahead | embercache p99 | memcached p99 |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let mut spreads = Vec::new();
    for (name, extra) in workloads {
        let (mut e, mut m) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            // Alternate which server goes first, so neither always runs on a warmer machine.
            if round % 2 == 0 {
                e.push(memaslap(&ember_addr, secs, extra));
                m.push(memaslap(&real_addr, secs, extra));
            } else {
                m.push(memaslap(&real_addr, secs, extra));
                e.push(memaslap(&ember_addr, secs, extra));
            }
        }
        let (ratios, ahead) = paired(e.iter().map(|r| r.tps), m.iter().map(|r| r.tps));
        let shown: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
        spreads.push(format!("- {name}: {}", shown.join(", ")));
        // The p99 estimates too: a single round's tail moves a lot here.
        let lower = e.iter().zip(&m).filter(|(a, b)| a.p99_est_us <= b.p99_est_us).count();
        let p99s: Vec<String> =
            e.iter().zip(&m).map(|(a, b)| format!("{:.1}/{:.1}", a.p99_est_us / 1e3, b.p99_est_us / 1e3)).collect();
        spreads.push(format!(
            "- {name}, p99 estimates in ms, embercache/memcached (embercache's as low or lower in {lower} of {rounds}): {}",
            p99s.join(", ")
        ));
        let (e, m) = (median_run(&e), median_run(&m));
        println!(
            "| {name} | {:.0} | {:.0} | {:.2} | {ahead} of {rounds} | ≈ {:.0} µs (≤ {}) | ≈ {:.0} µs (≤ {}) |",
            e.tps,
            m.tps,
            e.tps / m.tps,
            e.p99_est_us,
            e.p99_us,
            m.p99_est_us,
            m.p99_us
        );
    }
    println!("\nEach round's throughput ratio and p99 estimates, in order:");
    for line in spreads {
        println!("{line}");
    }
    drop((ember, real));
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// Whether this process runs as root (memcached then needs `-u root`).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}
