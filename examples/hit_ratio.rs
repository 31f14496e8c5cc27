//! Hit-ratio simulator: embercache's eviction policies side by side with moka,
//! `quick_cache` and a plain LRU (`parking_lot::Mutex<lru::LruCache>`), in one run.
//!
//! Each workload is replayed single-threaded through every cache the way a user would drive
//! it — `get`, then `insert` on a miss, no explicit `run_pending_tasks` — at 0.1 %, 1 % and
//! 10 % of the workload's distinct keys (at least one entry). One markdown table is printed
//! per workload: a row per cache size, a column per cache with its hit ratio in percent
//! (hits / requests, cold misses included), and `ember vs best peer`: embercache's default
//! (Adaptive) policy minus the best of moka, `quick_cache` and LRU, in percentage points.
//! A `moka (bound kept)` column shows moka with its pending work run after every insert:
//! moka applies its policy lazily and, between maintenance runs, holds more entries than its
//! capacity, which inflates its hit ratio at tiny sizes. It is shown for reference; the
//! `ember vs best peer` column still compares against moka as users run it.
//!
//! Workloads, run one after another (never in parallel: the machines are small and noisy):
//! - `zipf-0.8`, `zipf-0.99`: Zipf streams over 1,000,000 keys, 2,000,000 requests each,
//!   from fixed seeds;
//! - every `*.trace.xz` in `$CARGO_MANIFEST_DIR/../shared/traces` and its direct
//!   subfolders (today `cache2k/`: `orm-busy`, `orm-night`, `web07`, `web12`), or in
//!   `$EMBERCACHE_TRACES` when that variable is set. Format: an xz-compressed stream of
//!   big-endian 32-bit keys, one per access, no header. The folder is only read.
//!
//! ```text
//! cargo run --release --example hit_ratio                     # all workloads
//! cargo run --release --example hit_ratio -- --quick          # smoke: 300k Zipf requests,
//!                                                             # first 1M requests of a trace
//! cargo run --release --example hit_ratio -- --only orm-busy  # one workload
//! EMBERCACHE_TRACES=/path/to/traces cargo run --release --example hit_ratio
//! ```
//!
//! Tables go to stdout, progress to stderr.

use std::fs::{self, File};
use std::io::BufReader;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use embercache::{Cache, EvictionPolicy};
use parking_lot::Mutex;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand_distr::{Distribution, Zipf};

/// Keys in the synthetic Zipf key space.
const ZIPF_KEYS: u64 = 1_000_000;
/// Requests per Zipf stream (full run).
const ZIPF_REQUESTS: usize = 2_000_000;
/// Requests per Zipf stream with `--quick`.
const ZIPF_REQUESTS_QUICK: usize = 300_000;
/// Requests kept from the start of each trace with `--quick`.
const TRACE_REQUESTS_QUICK: usize = 1_000_000;
/// Cache sizes as per-mille of the workload's distinct keys: 0.1 %, 1 %, 10 %.
const SIZES_PERMILLE: [(u64, &str); 3] = [(1, "0.1%"), (10, "1%"), (100, "10%")];

const USAGE: &str = "usage: hit_ratio [--quick] [--only NAME]
  --quick      Zipf streams of 300k requests, traces cut to their first 1M requests
  --only NAME  run one workload (zipf-0.8, zipf-0.99 or a trace name such as orm-busy)
Traces are read from $EMBERCACHE_TRACES, else from $CARGO_MANIFEST_DIR/../shared/traces.";

/// The caches compared, in table column order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Contender {
    EmberAdaptive,
    EmberLru,
    EmberLfu,
    Moka,
    MokaBounded,
    QuickCache,
    Lru,
}

impl Contender {
    const ALL: [Contender; 7] = [
        Contender::EmberAdaptive,
        Contender::EmberLru,
        Contender::EmberLfu,
        Contender::Moka,
        Contender::MokaBounded,
        Contender::QuickCache,
        Contender::Lru,
    ];
    /// The peers that embercache's default policy has to match or beat.
    const PEERS: [Contender; 3] = [Contender::Moka, Contender::QuickCache, Contender::Lru];

    fn label(self) -> &'static str {
        match self {
            Contender::EmberAdaptive => "ember Adaptive",
            Contender::EmberLru => "ember Lru",
            Contender::EmberLfu => "ember Lfu",
            Contender::Moka => "moka",
            Contender::MokaBounded => "moka (bound kept)",
            Contender::QuickCache => "quick_cache",
            Contender::Lru => "LRU",
        }
    }

    /// Builds a cache of `capacity` entries, replays `keys` through it and returns the hits.
    fn replay(self, capacity: u64, keys: &[u64]) -> u64 {
        match self {
            Contender::EmberAdaptive => replay_ember(EvictionPolicy::Adaptive, capacity, keys),
            Contender::EmberLru => replay_ember(EvictionPolicy::Lru, capacity, keys),
            Contender::EmberLfu => replay_ember(EvictionPolicy::Lfu, capacity, keys),
            Contender::Moka | Contender::MokaBounded => {
                // moka applies its policy lazily, so between maintenance runs it
                // holds more entries than its capacity; at tiny sizes that extra
                // room is most of its hit ratio. `MokaBounded` runs the pending
                // work after every insert, so the bound holds as embercache's does.
                let keep_bound = matches!(self, Contender::MokaBounded);
                let cache: moka::sync::Cache<u64, u64> = moka::sync::Cache::new(capacity);
                count_hits(
                    keys,
                    |k| cache.get(&k).is_some(),
                    |k| {
                        cache.insert(k, k);
                        if keep_bound {
                            cache.run_pending_tasks();
                        }
                    },
                )
            }
            Contender::QuickCache => {
                let cache: quick_cache::sync::Cache<u64, u64> = quick_cache::sync::Cache::new(to_usize(capacity));
                count_hits(
                    keys,
                    |k| cache.get(&k).is_some(),
                    |k| {
                        cache.insert(k, k);
                    },
                )
            }
            Contender::Lru => {
                let capacity = NonZeroUsize::new(to_usize(capacity)).unwrap_or(NonZeroUsize::MIN);
                let cache = Mutex::new(lru::LruCache::<u64, u64>::new(capacity));
                count_hits(
                    keys,
                    |k| cache.lock().get(&k).is_some(),
                    |k| {
                        cache.lock().put(k, k);
                    },
                )
            }
        }
    }
}

fn replay_ember(policy: EvictionPolicy, capacity: u64, keys: &[u64]) -> u64 {
    let cache: Cache<u64, u64> = Cache::builder()
        .max_capacity(capacity)
        .policy(policy)
        .build()
        .expect("embercache rejected a valid configuration (capacity >= 1)");
    count_hits(
        keys,
        |k| cache.get(&k).is_some(),
        |k| {
            cache.insert(k, k);
        },
    )
}

/// The replay loop shared by every cache: `get`; on a miss, `insert`.
fn count_hits(keys: &[u64], mut get: impl FnMut(u64) -> bool, mut insert: impl FnMut(u64)) -> u64 {
    let mut hits = 0;
    for &key in keys {
        if get(key) {
            hits += 1;
        } else {
            insert(key);
        }
    }
    hits
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).expect("cache capacity fits in usize")
}

/// Where a workload's keys come from.
enum Source {
    Zipf { alpha: f64, seed: u64 },
    Trace(PathBuf),
}

struct Workload {
    name: String,
    source: Source,
}

struct Options {
    quick: bool,
    only: Option<String>,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options { quick: false, only: None };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--only" => {
                let name = args.next().ok_or_else(|| format!("--only needs a workload name\n{USAGE}"))?;
                options.only = Some(name);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => match other.strip_prefix("--only=") {
                Some(name) => options.only = Some(name.to_owned()),
                None => return Err(format!("unknown argument `{other}`\n{USAGE}")),
            },
        }
    }
    Ok(options)
}

/// The traces folder, and whether it was chosen explicitly through `EMBERCACHE_TRACES`.
fn traces_dir() -> (PathBuf, bool) {
    if let Some(dir) = std::env::var_os("EMBERCACHE_TRACES") {
        return (PathBuf::from(dir), true);
    }
    let manifest_dir =
        std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    (manifest_dir.join("..").join("shared").join("traces"), false)
}

/// Every `*.trace.xz` in `dir` and its direct subfolders, sorted by path.
fn find_traces(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let read = |dir: &Path| {
        fs::read_dir(dir)
            .map_err(|e| format!("cannot list traces folder {}: {e}", dir.display()))
            .map(|entries| entries.filter_map(|entry| entry.ok().map(|e| e.path())))
    };
    let mut traces = Vec::new();
    for path in read(dir)? {
        if path.is_dir() {
            traces.extend(read(&path)?.filter(|p| is_trace(p)));
        } else if is_trace(&path) {
            traces.push(path);
        }
    }
    traces.sort();
    Ok(traces)
}

fn is_trace(path: &Path) -> bool {
    path.is_file() && trace_name(path).is_some()
}

/// `orm-busy` for `.../orm-busy.trace.xz`.
fn trace_name(path: &Path) -> Option<&str> {
    path.file_name()?.to_str()?.strip_suffix(".trace.xz")
}

fn workloads(options: &Options) -> Result<Vec<Workload>, String> {
    let mut all = vec![
        Workload { name: "zipf-0.8".into(), source: Source::Zipf { alpha: 0.8, seed: 0x0e4b_e7ca_c4e0_0080 } },
        Workload { name: "zipf-0.99".into(), source: Source::Zipf { alpha: 0.99, seed: 0x0e4b_e7ca_c4e0_0099 } },
    ];
    let (dir, explicit) = traces_dir();
    if dir.is_dir() {
        for path in find_traces(&dir)? {
            let name = trace_name(&path).unwrap_or("trace").to_owned();
            all.push(Workload { name, source: Source::Trace(path) });
        }
    } else if explicit {
        return Err(format!("EMBERCACHE_TRACES={} is not a folder", dir.display()));
    } else {
        eprintln!(
            "warning: no traces folder at {}; running the Zipf workloads only \
             (set EMBERCACHE_TRACES to point elsewhere)",
            dir.display()
        );
    }
    match &options.only {
        None => Ok(all),
        Some(only) => {
            let names: Vec<String> = all.iter().map(|w| w.name.clone()).collect();
            let picked: Vec<Workload> = all.into_iter().filter(|w| &w.name == only).collect();
            if picked.is_empty() {
                Err(format!("no workload named `{only}`; available: {}", names.join(", ")))
            } else {
                Ok(picked)
            }
        }
    }
}

fn zipf_keys(alpha: f64, seed: u64, requests: usize) -> Result<Vec<u64>, String> {
    let zipf = Zipf::new(ZIPF_KEYS, alpha).map_err(|e| format!("invalid Zipf parameters (alpha {alpha}): {e}"))?;
    let mut rng = SmallRng::seed_from_u64(seed);
    // Ranks are 1..=ZIPF_KEYS as floats; rank 1 is the most popular key.
    Ok((0..requests).map(|_| zipf.sample(&mut rng) as u64 - 1).collect())
}

fn trace_keys(path: &Path, limit: Option<usize>) -> Result<Vec<u64>, String> {
    let file = File::open(path).map_err(|e| format!("cannot open trace {}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    lzma_rs::xz_decompress(&mut BufReader::new(file), &mut bytes)
        .map_err(|e| format!("cannot decompress trace {}: {e}", path.display()))?;
    if bytes.len() % 4 != 0 {
        return Err(format!(
            "trace {} is {} bytes decompressed, not a whole number of 32-bit keys",
            path.display(),
            bytes.len()
        ));
    }
    Ok(bytes
        .chunks_exact(4)
        .take(limit.unwrap_or(usize::MAX))
        .map(|c| u64::from(be_u32([c[0], c[1], c[2], c[3]])))
        .collect())
}

#[allow(clippy::big_endian_bytes, reason = "the trace format is big-endian")]
fn be_u32(bytes: [u8; 4]) -> u32 {
    u32::from_be_bytes(bytes)
}

fn distinct(keys: &[u64]) -> u64 {
    let mut sorted = keys.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    sorted.len() as u64
}

/// `per_mille` of `distinct`, rounded to the nearest entry, at least one.
fn cache_size(distinct: u64, per_mille: u64) -> u64 {
    ((distinct * per_mille + 500) / 1000).max(1)
}

/// The results of one workload: per cache size, per contender, the hit ratio in percent.
struct Table {
    sizes: Vec<(u64, &'static str)>,
    ratios: Vec<[f64; Contender::ALL.len()]>,
    time: [Duration; Contender::ALL.len()],
}

impl Table {
    /// Percentage points by which embercache Adaptive beats (or trails) the best peer.
    fn margin(row: &[f64; Contender::ALL.len()]) -> f64 {
        let best_peer = Contender::PEERS.iter().map(|&p| row[index(p)]).fold(f64::NEG_INFINITY, f64::max);
        row[index(Contender::EmberAdaptive)] - best_peer
    }

    fn print(&self, name: &str, requests: usize, distinct: u64) {
        println!("### {name} ({} requests, {} distinct keys)\n", thousands(requests as u64), thousands(distinct));
        let labels: Vec<&str> = Contender::ALL.iter().map(|c| c.label()).collect();
        println!("| cache size | {} | ember vs best peer |", labels.join(" | "));
        println!("|---:|{}---:|", "---:|".repeat(labels.len()));
        for ((size, label), row) in self.sizes.iter().zip(&self.ratios) {
            let ratios: Vec<String> = row.iter().map(|r| format!("{r:.2}")).collect();
            println!("| {} ({label}) | {} | {:+.2} pp |", thousands(*size), ratios.join(" | "), Self::margin(row));
        }
        let times: Vec<String> = Contender::ALL
            .iter()
            .zip(&self.time)
            .map(|(c, t)| format!("{} {:.1}", c.label(), t.as_secs_f64()))
            .collect();
        println!("\nreplay seconds, all sizes: {}\n", times.join(", "));
    }
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn index(contender: Contender) -> usize {
    Contender::ALL.iter().position(|&c| c == contender).expect("every contender is in Contender::ALL")
}

fn run_workload(workload: &Workload, quick: bool) -> Result<Table, String> {
    let load_start = Instant::now();
    let keys = match &workload.source {
        Source::Zipf { alpha, seed } => {
            let requests = if quick { ZIPF_REQUESTS_QUICK } else { ZIPF_REQUESTS };
            zipf_keys(*alpha, *seed, requests)?
        }
        Source::Trace(path) => trace_keys(path, quick.then_some(TRACE_REQUESTS_QUICK))?,
    };
    if keys.is_empty() {
        return Err(format!("workload {} has no requests", workload.name));
    }
    let distinct = distinct(&keys);
    eprintln!(
        "{}: {} requests, {distinct} distinct keys, loaded in {:.1}s",
        workload.name,
        keys.len(),
        load_start.elapsed().as_secs_f64()
    );

    let mut table = Table { sizes: Vec::new(), ratios: Vec::new(), time: [Duration::ZERO; Contender::ALL.len()] };
    for (per_mille, label) in SIZES_PERMILLE {
        let size = cache_size(distinct, per_mille);
        let mut row = [0.0; Contender::ALL.len()];
        for (i, contender) in Contender::ALL.into_iter().enumerate() {
            let start = Instant::now();
            let hits = contender.replay(size, &keys);
            let elapsed = start.elapsed();
            table.time[i] += elapsed;
            row[i] = 100.0 * hits as f64 / keys.len() as f64;
            eprintln!(
                "  {label:>5} ({size:>7} entries) {:<14} {:6.2}%  {:5.1}s",
                contender.label(),
                row[i],
                elapsed.as_secs_f64()
            );
        }
        table.sizes.push((size, label));
        table.ratios.push(row);
    }
    table.print(&workload.name, keys.len(), distinct);
    Ok(table)
}

fn run() -> Result<(), String> {
    let options = parse_args()?;
    let start = Instant::now();
    let workloads = workloads(&options)?;
    let (mut cells, mut ahead) = (0, 0);
    for workload in &workloads {
        let table = run_workload(workload, options.quick)?;
        for row in &table.ratios {
            cells += 1;
            if Table::margin(row) >= 0.0 {
                ahead += 1;
            }
        }
    }
    println!(
        "ember Adaptive at or above the best peer in {ahead} of {cells} cells{}",
        if options.quick { " (--quick)" } else { "" }
    );
    println!("total elapsed: {:.1}s", start.elapsed().as_secs_f64());
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("hit_ratio: error: {message}");
            ExitCode::FAILURE
        }
    }
}
