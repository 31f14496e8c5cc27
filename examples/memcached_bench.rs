//! embercache's Memcached protocol against a real `memcached`, side by side
//! in one run, driven by Debian's `memaslap` (`memcaslap`, package
//! libmemcached-tools):
//!
//! ```sh
//! cargo run --release --features server --example memcached_bench [seconds] [rounds] [threads]
//! ```
//!
//! Both servers listen on loopback with `threads` worker threads, 2 by
//! default (embercache's
//! [`io_threads`](embercache::server::ServerBuilder::io_threads), memcached's
//! `-t`), each beside the thread that accepts. Runs alternate, and which
//! server goes first alternates from round to round; each figure is the
//! median of the rounds (3 by default). Beside the ratio of the medians,
//! each row says in how many rounds embercache was ahead of the memcached
//! run beside it, and each round's ratio is listed after the table.
//! `memaslap` gives throughput and a log2 histogram of latencies, so p99
//! is reported as the upper bound of its power-of-two bucket.

use embercache::Db;
use embercache::server::Server;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The allocator `embercache-server` runs on (memcached has its own slab
/// allocator): the server measured here is the one that binary serves.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// One memaslap result: operations per second and the p99 bucket's bound (µs).
#[derive(Clone, Copy)]
struct Run {
    tps: f64,
    p99_us: u64,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
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
    let total: u64 = counts.iter().map(|(_, c)| c).sum();
    let mut seen = 0;
    let p99 = counts.iter().find_map(|&(b, c)| {
        seen += c;
        (seen * 100 >= total * 99).then_some(1u64 << (b + 1))
    })?;
    Some(Run { tps: tps.parse().ok()?, p99_us: p99 })
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

struct Memcached(Child);

impl Drop for Memcached {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn median(mut v: Vec<Run>) -> Run {
    v.sort_by(|a, b| a.tps.total_cmp(&b.tps));
    let mut p: Vec<u64> = v.iter().map(|r| r.p99_us).collect();
    p.sort_unstable();
    Run { tps: v[v.len() / 2].tps, p99_us: p[p.len() / 2] }
}

fn main() {
    let secs: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(10);
    let rounds: usize = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(3).max(1);
    let threads: usize = std::env::args().nth(3).and_then(|s| s.parse().ok()).unwrap_or(2).max(1);
    // The accept loop on a runtime of its own; connections on `threads` I/O threads
    // (memcached: a listener thread and `-t threads` workers).
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .io_threads(threads)
        .memcached_bind("127.0.0.1:0")
        .memcached_max_item_size(1 << 20)
        .build()
        .expect("bind");
    let handle = {
        let _enter = rt.enter();
        server.spawn(Db::new()).expect("serve")
    };
    let ember = handle.memcached_addr().expect("memcached listener").to_string();
    let port = free_port();
    let mut cmd = Command::new("memcached");
    let threads_arg = threads.to_string();
    cmd.args(["-p", &port.to_string(), "-U", "0", "-l", "127.0.0.1", "-t", &threads_arg, "-m", "4096"]);
    if is_root() {
        cmd.args(["-u", "root"]);
    }
    let _memcached = Memcached(cmd.stdout(Stdio::null()).spawn().expect("memcached runs (apt-get install memcached)"));
    std::thread::sleep(Duration::from_millis(300));
    let real = format!("127.0.0.1:{port}");
    let workloads: [(&str, &[&str]); 2] =
        [("get/set 9:1, 1 key per get", &[]), ("get/set 9:1, 16 keys per get", &["-d", "16"])];
    println!("{threads} worker thread(s) each.\n");
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
                e.push(memaslap(&ember, secs, extra));
                m.push(memaslap(&real, secs, extra));
            } else {
                m.push(memaslap(&real, secs, extra));
                e.push(memaslap(&ember, secs, extra));
            }
        }
        // A round's two runs are seconds apart: their ratio is free of the
        // drift of the host's speed between rounds.
        let paired: Vec<f64> = e.iter().zip(&m).map(|(e, m)| e.tps / m.tps).collect();
        let ahead = paired.iter().filter(|&&r| r >= 1.0).count();
        let shown: Vec<String> = paired.iter().map(|r| format!("{r:.2}")).collect();
        spreads.push(format!("- {name}: {}", shown.join(", ")));
        let (e, m) = (median(e), median(m));
        println!(
            "| {name} | {:.0} | {:.0} | {:.2} | {ahead} of {rounds} | ≤ {} µs | ≤ {} µs |",
            e.tps,
            m.tps,
            e.tps / m.tps,
            e.p99_us,
            m.p99_us
        );
    }
    println!("\nEach round's ratio, in order:");
    for line in spreads {
        println!("{line}");
    }
    rt.block_on(handle.shutdown()).expect("shutdown");
}

/// Whether this process runs as root (memcached then needs `-u root`).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}
