//! The cost of a `#[cached]` function's hit against a plain `Cache::get`
//! hit on the same key and value types, in the same run: the macro's
//! overhead (the static's lookup, the owned key, the coalescing entry
//! point) over the cache itself.
//!
//! Groups `cached/hit/<key>`; bench ids `cached-fn` (a `#[cached]` call)
//! and `cache-get` (`Cache::get` on a `Cache` built like the macro's).
//! Keys: `u64` (an argument by value, the same key type on both sides) and
//! `&str` (stored as `String`: `Cache::get` borrows a `&str`, while the
//! function makes an owned key on every call, as it must to insert on a
//! miss). All lookups hit.
//!
//! ```text
//! cargo bench --features macros --bench cached -- --warm-up-time 1 --measurement-time 3
//! ```

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use embercache::Cache;

/// Distinct keys, all resident (a power of two).
const KEYS: usize = 1 << 10;
/// Capacity of both caches: the macro's default.
const CAPACITY: u64 = 10_000;

#[embercache::cached(max_capacity = 10_000)]
fn by_u64(k: u64) -> u64 {
    k.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

#[embercache::cached(max_capacity = 10_000)]
fn by_str(k: &str) -> u64 {
    k.len() as u64
}

fn bench(c: &mut Criterion) {
    let strings: Vec<String> = (0..KEYS).map(|i| format!("key:{i:08}")).collect();
    let u64s = Cache::<u64, u64>::new(CAPACITY);
    let strs = Cache::<String, u64>::new(CAPACITY);
    for (i, s) in strings.iter().enumerate() {
        let k = i as u64;
        u64s.insert(k, by_u64(k));
        strs.insert(s.clone(), by_str(s));
    }

    let mut g = c.benchmark_group("cached/hit/u64");
    g.throughput(Throughput::Elements(KEYS as u64));
    g.bench_function("cached-fn", |b| b.iter(|| (0..KEYS as u64).fold(0u64, |acc, k| acc ^ by_u64(black_box(k)))));
    g.bench_function("cache-get", |b| {
        b.iter(|| (0..KEYS as u64).fold(0u64, |acc, k| acc ^ u64s.get(&black_box(k)).unwrap_or(0)))
    });
    g.finish();

    let mut g = c.benchmark_group("cached/hit/str");
    g.throughput(Throughput::Elements(KEYS as u64));
    g.bench_function("cached-fn", |b| b.iter(|| strings.iter().fold(0u64, |acc, k| acc ^ by_str(black_box(k)))));
    g.bench_function("cache-get", |b| {
        b.iter(|| strings.iter().fold(0u64, |acc, k| acc ^ strs.get(black_box(k.as_str())).unwrap_or(0)))
    });
    g.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
}
