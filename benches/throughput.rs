//! Throughput on a Zipf(0.99) key stream: embercache (default config) against moka and
//! `quick_cache`, in the same run.
//!
//! The stream is 2^20 keys drawn from a fixed seed over a key space of 1,000,000; every
//! cache holds 100,000 entries (10 % of the key space) and is prefilled by replaying the
//! stream once (`get`; `insert` on a miss). Mixes: `get100` (reads only), `get95` (95 % get,
//! 5 % insert) and `get50` (50/50); the operation at each position of the stream is fixed by
//! a seeded draw, so every cache sees the same sequence. With 1 thread the ops run on the
//! bench thread; with 2, scoped threads start together behind a barrier, each walking the
//! stream from its own offset. One criterion iteration is 16,384 ops per thread, so the
//! reported throughput is in ops/s over all threads.
//!
//! Groups are `zipf/<mix>/<threads>t` (e.g. `zipf/get100/1t`), one bench id per cache.
//!
//! ```text
//! cargo bench --bench throughput                 # all 6 groups, about 1 min per group
//! cargo bench --bench throughput -- zipf/get100  # a subset (criterion filter)
//! python3 benches/ratios.py                      # ops/s table with embercache's ratios
//! ```
//!
//! Outside `cargo bench` (e.g. `cargo test --all-targets`, which runs each bench once as a
//! smoke test) the prefill is shortened so debug builds stay quick.

use std::cell::OnceCell;
use std::hint::black_box;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{BenchmarkGroup, Criterion, Throughput, measurement::WallTime};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Zipf};

/// Keys are drawn from `0..KEY_SPACE`.
const KEY_SPACE: u64 = 1_000_000;
/// Length of the precomputed stream (a power of two, so positions wrap with a mask).
const STREAM_LEN: usize = 1 << 20;
/// Entries each cache may hold: 10 % of the key space.
const CAPACITY: u64 = 100_000;
/// Operations per thread in one criterion iteration.
const OPS_PER_THREAD: u64 = 1 << 14;
/// Set on a stream entry whose operation is an insert; the low bits hold the key.
const INSERT: u64 = 1 << 63;
/// Zipf exponent of the key stream.
const ALPHA: f64 = 0.99;
/// Seed of the key stream.
const KEY_SEED: u64 = 0x0e4b_e7ca_c4e0_7470;
/// Seed of the get/insert choice.
const MIX_SEED: u64 = 0x0e4b_e7ca_c4e0_6d78;

/// A read/write mix: its name in the group id and the share of inserts in percent.
const MIXES: [(&str, u32); 3] = [("get100", 0), ("get95", 5), ("get50", 50)];
const THREADS: [usize; 2] = [1, 2];

/// Stream entries: a key, tagged with [`INSERT`] when the operation is an insert.
type Ops = [u64; STREAM_LEN];

/// The operations every cache under test offers, statically dispatched.
trait BenchCache: Sync {
    fn get(&self, key: u64) -> Option<u64>;
    fn insert(&self, key: u64, value: u64);
}

impl BenchCache for embercache::Cache<u64, u64> {
    #[inline]
    fn get(&self, key: u64) -> Option<u64> {
        embercache::Cache::get(self, &key)
    }
    #[inline]
    fn insert(&self, key: u64, value: u64) {
        embercache::Cache::insert(self, key, value);
    }
}

impl BenchCache for moka::sync::Cache<u64, u64> {
    #[inline]
    fn get(&self, key: u64) -> Option<u64> {
        moka::sync::Cache::get(self, &key)
    }
    #[inline]
    fn insert(&self, key: u64, value: u64) {
        moka::sync::Cache::insert(self, key, value);
    }
}

impl BenchCache for quick_cache::sync::Cache<u64, u64> {
    #[inline]
    fn get(&self, key: u64) -> Option<u64> {
        quick_cache::sync::Cache::get(self, &key)
    }
    #[inline]
    fn insert(&self, key: u64, value: u64) {
        quick_cache::sync::Cache::insert(self, key, value);
    }
}

/// The deterministic Zipf key stream, untagged (all gets).
fn key_stream() -> Box<Ops> {
    let zipf = Zipf::new(KEY_SPACE, ALPHA).expect("Zipf(1,000,000, 0.99) is a valid distribution");
    let mut rng = SmallRng::seed_from_u64(KEY_SEED);
    // Ranks are 1..=KEY_SPACE as floats; rank 1 is the most popular key.
    boxed((0..STREAM_LEN).map(|_| zipf.sample(&mut rng) as u64 - 1).collect())
}

/// `keys` with `insert_percent` % of the positions, chosen by a seeded draw, tagged as inserts.
fn with_inserts(keys: &Ops, insert_percent: u32) -> Box<Ops> {
    let mut rng = SmallRng::seed_from_u64(MIX_SEED);
    let ops: Vec<u64> =
        keys.iter().map(|&key| if rng.gen_ratio(insert_percent, 100) { key | INSERT } else { key }).collect();
    boxed(ops)
}

/// `ops` as a fixed-size array on the heap (never on the stack: it is 8 MiB).
fn boxed(ops: Vec<u64>) -> Box<Ops> {
    ops.into_boxed_slice().try_into().expect("a stream has exactly STREAM_LEN entries")
}

/// Runs `count` operations of `ops` against `cache`, starting at position `start`.
#[inline]
fn run_ops<C: BenchCache>(cache: &C, ops: &Ops, start: usize, count: u64) {
    let mut position = start;
    for _ in 0..count {
        let op = ops[position & (STREAM_LEN - 1)];
        let key = op & !INSERT;
        if op & INSERT == 0 {
            black_box(cache.get(key));
        } else {
            cache.insert(key, key);
        }
        position = position.wrapping_add(1);
    }
}

/// Wall time for `threads` threads to run `iters * OPS_PER_THREAD` operations each.
fn timed<C: BenchCache>(cache: &C, ops: &Ops, threads: usize, iters: u64) -> Duration {
    let per_thread = iters * OPS_PER_THREAD;
    if threads == 1 {
        let start = Instant::now();
        run_ops(cache, ops, 0, per_thread);
        return start.elapsed();
    }
    let barrier = Barrier::new(threads + 1);
    let start = thread::scope(|scope| {
        for t in 0..threads {
            let barrier = &barrier;
            scope.spawn(move || {
                barrier.wait();
                run_ops(cache, ops, t * STREAM_LEN / threads, per_thread);
            });
        }
        barrier.wait();
        Instant::now()
        // The scope joins every thread before returning.
    });
    start.elapsed()
}

/// Replays `prefill` (get; insert on a miss) so the cache starts full and warm.
fn prefill<C: BenchCache>(cache: C, prefill: &[u64]) -> C {
    for &key in prefill {
        if cache.get(key).is_none() {
            cache.insert(key, key);
        }
    }
    cache
}

fn new_ember(keys: &[u64]) -> embercache::Cache<u64, u64> {
    let cache: embercache::Cache<u64, u64> =
        embercache::Cache::builder().max_capacity(CAPACITY).build().expect("embercache rejected max_capacity(100_000)");
    let cache = prefill(cache, keys);
    cache.run_pending_tasks();
    cache
}

fn new_moka(keys: &[u64]) -> moka::sync::Cache<u64, u64> {
    let cache = prefill(moka::sync::Cache::new(CAPACITY), keys);
    cache.run_pending_tasks();
    cache
}

fn new_quick_cache(keys: &[u64]) -> quick_cache::sync::Cache<u64, u64> {
    let capacity = usize::try_from(CAPACITY).expect("CAPACITY fits in usize");
    prefill(quick_cache::sync::Cache::new(capacity), keys)
}

/// Registers one cache's bench in `group`; the cache is built (and prefilled) only if criterion
/// actually runs it, so filtered-out benches cost nothing.
fn bench_cache<C: BenchCache>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    id: &str,
    build: impl FnOnce() -> C,
    ops: &Ops,
    threads: usize,
) {
    let cache = OnceCell::new();
    let mut build = Some(build);
    group.bench_function(id, |b| {
        let cache = cache.get_or_init(|| (build.take().expect("the cache is built once"))());
        b.iter_custom(|iters| timed(cache, ops, threads, iters));
    });
}

fn bench_zipf(c: &mut Criterion) {
    let keys = key_stream();
    // Under `cargo bench` the prefill replays the whole stream; in smoke runs (no `--bench`
    // argument, e.g. `cargo test --all-targets` on a debug build) only its first 64 Ki keys.
    let full = std::env::args().any(|arg| arg == "--bench");
    let prefill_keys: &[u64] = if full { &keys[..] } else { &keys[..1 << 16] };

    for (mix, insert_percent) in MIXES {
        let ops = with_inserts(&keys, insert_percent);
        for threads in THREADS {
            let mut group = c.benchmark_group(format!("zipf/{mix}/{threads}t"));
            group.throughput(Throughput::Elements(OPS_PER_THREAD * threads as u64));
            bench_cache(&mut group, "embercache", || new_ember(prefill_keys), &ops, threads);
            bench_cache(&mut group, "quick_cache", || new_quick_cache(prefill_keys), &ops, threads);
            bench_cache(&mut group, "moka", || new_moka(prefill_keys), &ops, threads);
            group.finish();
        }
    }
}

fn main() {
    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    bench_zipf(&mut criterion);
    criterion.final_summary();
}
