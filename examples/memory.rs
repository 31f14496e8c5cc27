//! Memory per entry: bytes per `u64 -> u64` entry for embercache (default config), moka and
//! `quick_cache`, each holding 1,000,000 entries.
//!
//! Each cache is measured in a fresh child process (this example re-executes itself with
//! `--child NAME`), so one cache's allocations and allocator state cannot affect another's.
//! The child reads its resident set (`VmRSS` in `/proc/self/status`), builds a cache with a
//! capacity of 1,000,000, inserts keys `0..1_000_000` (value = key), calls
//! `run_pending_tasks()` (embercache, moka), reads `VmRSS` and the peak `VmHWM` again and
//! reports `len()`. Bytes per entry = RSS growth / `len()`; the peak column shows the
//! transient cost of growing tables while filling. Linux only (needs `/proc`).
//!
//! ```text
//! cargo run --release --example memory                         # embercache, moka, quick_cache
//! cargo run --release --example memory -- embercache lru       # a chosen subset (lru: plain
//!                                                              # Mutex<lru::LruCache> reference)
//! cargo run --release --example memory -- --entries 100000     # smaller smoke run
//! ```

mod common;

use common::status_kb;
use std::hint::black_box;
use std::num::NonZeroUsize;
use std::process::ExitCode;

const DEFAULT_ENTRIES: u64 = 1_000_000;
/// Caches measured when none is named on the command line, in table order.
const DEFAULT_CACHES: [&str; 3] = ["embercache", "moka", "quick_cache"];
/// Every cache this example knows how to measure.
const KNOWN_CACHES: [&str; 4] = ["embercache", "moka", "quick_cache", "lru"];
/// Prefix of the line a child prints for its parent.
const REPORT: &str = "memory-report";

const USAGE: &str = "usage: memory [--entries N] [CACHE...]
  CACHE        embercache, moka, quick_cache or lru (default: embercache moka quick_cache)
  --entries N  capacity and number of keys inserted (default 1000000)";

/// What a child measured, in kB as `/proc` reports them.
struct Measurement {
    rss_before_kb: u64,
    rss_after_kb: u64,
    hwm_after_kb: u64,
    len: u64,
}

/// Builds and fills the named cache, then prints one report line for the parent.
fn child(name: &str, entries: u64) -> Result<(), String> {
    let capacity = usize::try_from(entries).map_err(|_| "--entries does not fit in usize")?;
    let rss_before_kb = status_kb("VmRSS")?;
    match name {
        "embercache" => {
            let cache: embercache::Cache<u64, u64> = embercache::Cache::builder()
                .max_capacity(entries)
                .build()
                .map_err(|e| format!("embercache rejected max_capacity({entries}): {e}"))?;
            for key in 0..entries {
                cache.insert(key, key);
            }
            cache.run_pending_tasks();
            report(name, rss_before_kb, cache.len(), &cache)
        }
        "moka" => {
            let cache: moka::sync::Cache<u64, u64> = moka::sync::Cache::new(entries);
            for key in 0..entries {
                cache.insert(key, key);
            }
            cache.run_pending_tasks();
            report(name, rss_before_kb, cache.entry_count(), &cache)
        }
        "quick_cache" => {
            let cache: quick_cache::sync::Cache<u64, u64> = quick_cache::sync::Cache::new(capacity);
            for key in 0..entries {
                cache.insert(key, key);
            }
            report(name, rss_before_kb, cache.len() as u64, &cache)
        }
        "lru" => {
            let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
            let cache = parking_lot::Mutex::new(lru::LruCache::<u64, u64>::new(capacity));
            for key in 0..entries {
                cache.lock().put(key, key);
            }
            let len = cache.lock().len() as u64;
            report(name, rss_before_kb, len, &cache)
        }
        other => Err(format!("unknown cache `{other}`\n{USAGE}")),
    }
}

/// Prints the child's report while `cache` is still alive.
fn report<C>(name: &str, rss_before_kb: u64, len: u64, cache: &C) -> Result<(), String> {
    black_box(cache);
    let rss_after_kb = status_kb("VmRSS")?;
    let hwm_after_kb = status_kb("VmHWM")?;
    println!("{REPORT} {name} {rss_before_kb} {rss_after_kb} {hwm_after_kb} {len}");
    Ok(())
}

/// Runs this example again as a child measuring `name`, and parses its report.
fn measure(name: &str, entries: u64) -> Result<Measurement, String> {
    let fields = common::run_child(&["--child", name, "--entries", &entries.to_string()], REPORT, name)?;
    let number = |i: usize| -> Result<u64, String> {
        fields
            .get(i)
            .and_then(|field| field.parse().ok())
            .ok_or_else(|| format!("malformed report from child measuring {name}: {fields:?}"))
    };
    Ok(Measurement { rss_before_kb: number(1)?, rss_after_kb: number(2)?, hwm_after_kb: number(3)?, len: number(4)? })
}

fn per_entry(kb: u64, len: u64) -> String {
    if len == 0 { "—".to_owned() } else { format!("{:.1}", (kb * 1024) as f64 / len as f64) }
}

fn mib(kb: u64) -> String {
    format!("{:.1}", kb as f64 / 1024.0)
}

fn run() -> Result<(), String> {
    let mut entries = DEFAULT_ENTRIES;
    let mut child_of = None;
    let mut caches = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--entries" => {
                let value = args.next().ok_or_else(|| format!("--entries needs a number\n{USAGE}"))?;
                entries = value.parse().map_err(|_| format!("--entries: `{value}` is not a number\n{USAGE}"))?;
            }
            "--child" => child_of = Some(args.next().ok_or("--child needs a cache name")?),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            name if KNOWN_CACHES.contains(&name) => caches.push(arg.clone()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    if entries == 0 {
        return Err("--entries must be at least 1".to_owned());
    }
    if let Some(name) = child_of {
        return child(&name, entries);
    }
    if caches.is_empty() {
        caches = DEFAULT_CACHES.iter().map(|&c| c.to_owned()).collect();
    }

    let mut rows = Vec::new();
    for name in &caches {
        let m = measure(name, entries)?;
        eprintln!("{name}: len {}, RSS {} -> {} kB", m.len, m.rss_before_kb, m.rss_after_kb);
        rows.push((name, m));
    }
    println!("### Memory for {entries} `u64 -> u64` entries (capacity {entries})\n");
    println!("| cache | len() | RSS growth (MiB) | bytes/entry | peak RSS growth (MiB) | peak bytes/entry |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, m) in rows {
        let growth = m.rss_after_kb.saturating_sub(m.rss_before_kb);
        let peak = m.hwm_after_kb.saturating_sub(m.rss_before_kb);
        println!(
            "| {name} | {} | {} | {} | {} | {} |",
            m.len,
            mib(growth),
            per_entry(growth, m.len),
            mib(peak),
            per_entry(peak, m.len)
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("memory: error: {message}");
            ExitCode::FAILURE
        }
    }
}
