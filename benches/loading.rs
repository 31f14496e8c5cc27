//! The cost of a `LoadingCache::get` hit against a plain `Cache::get` hit
//! on the same keys and the same values, in the same run (1 thread, `u64`
//! keys, `Arc<str>` values). The loading cache's hit is one inner `Cache` lookup plus a
//! comparison of times, so the target is a ratio within 1.10.
//!
//! Groups `loading/hit/<config>`: `no-ttl` (neither cache has deadlines,
//! so neither reads the clock) and `ttl` (both have a one-hour
//! time-to-live; the loading cache also `refresh_after` 30 minutes). Bench
//! ids `cache` and `loading-cache`; each iteration is 1,024 lookups.
//!
//! ```text
//! cargo bench --bench loading -- --warm-up-time 1 --measurement-time 3
//! ```

use criterion::{Criterion, Throughput};
use embercache::{Cache, LoadingCache};
use std::convert::Infallible;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

/// Keys in both caches (all hits).
const KEYS: u64 = 10_000;
/// Lookups per iteration.
const BATCH: u64 = 1024;
const HOUR: Duration = Duration::from_secs(3600);

fn value(k: u64) -> Arc<str> {
    Arc::from(format!("value-{k}"))
}

/// A deterministic walk over the keys (an odd stride visits them all).
fn keys() -> Vec<u64> {
    (0..BATCH).map(|i| (i * 7919) % KEYS).collect()
}

fn hits(c: &mut Criterion) {
    let walk = keys();
    for (config, ttl) in [("no-ttl", false), ("ttl", true)] {
        let mut b = Cache::builder().max_capacity(KEYS * 2);
        if ttl {
            b = b.time_to_live(HOUR);
        }
        let cache: Cache<u64, Arc<str>> = b.build().expect("valid");
        let mut lb =
            LoadingCache::builder().loader_fn(|k: &u64| Ok::<_, Infallible>(Some(value(*k)))).max_capacity(KEYS * 2);
        if ttl {
            lb = lb.time_to_live(HOUR).refresh_after(HOUR / 2);
        }
        let loading: LoadingCache<u64, Arc<str>, Infallible> = lb.build().expect("valid");
        // Both caches hold the very same values (the loader's), so that
        // only the lookups differ, not where the values sit in memory, and
        // both see the same history per key (a miss, then a fill): the
        // policy's state after it changes hit costs by about 5%.
        for k in 0..KEYS {
            let v = loading.get(&k).ok().flatten().expect("the loader always answers");
            let _ = cache.get(&k);
            cache.insert(k, v);
        }
        let mut g = c.benchmark_group(format!("loading/hit/{config}"));
        g.throughput(Throughput::Elements(BATCH));
        g.bench_function("cache", |b| {
            b.iter(|| {
                for k in &walk {
                    black_box(cache.get(black_box(k)));
                }
            })
        });
        g.bench_function("loading-cache", |b| {
            b.iter(|| {
                for k in &walk {
                    let _ = black_box(loading.get(black_box(k)));
                }
            })
        });
        g.finish();
    }
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    hits(&mut criterion);
    criterion.final_summary();
}
