//! Lookups in a store much larger than the CPU's caches, where a get is a
//! chain of cache misses (the table, the entry, the key and the value)
//! rather than arithmetic: embercache's `Cache` against moka and
//! `quick_cache`, and embercache's `Db` with values of 1 KiB.
//!
//! ```sh
//! cargo run --release --example cold_lookups [entries] [rounds]
//! ```
//!
//! Fills each cache with `entries` `u64 -> u64` pairs (4 000 000 by
//! default; capacity twice that, so nothing is evicted), then times
//! 2 000 000 gets of keys drawn uniformly, the same sequence for every
//! cache, one cache after the other in each round (`rounds`, 7 by
//! default), so that a noisy neighbour hits all of them alike. A `Db` of
//! 400 000 64-byte keys (memaslap's shape) with 1 KiB values then answers
//! 1 000 000 `GET`s drawn the same way. Prints each round and the medians,
//! with embercache's ratio to each peer (above 1: embercache is faster).

// Only `median` is used here; the rest serves the server benchmarks.
#[allow(dead_code)]
mod support;

use embercache::Db;
use std::hint::black_box;
use std::time::Instant;

/// A xorshift stream: cheap, and the same for every cache.
fn draws(n: usize, below: u64, mut x: u64) -> Vec<u64> {
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % below
        })
        .collect()
}

/// Mean nanoseconds per call of `get` over `keys`.
fn per_get<K>(keys: &[K], mut get: impl FnMut(&K)) -> f64 {
    let started = Instant::now();
    for k in keys {
        get(k);
    }
    started.elapsed().as_nanos() as f64 / keys.len() as f64
}

fn main() {
    let mut args = std::env::args().skip(1);
    let entries: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(4_000_000).max(1);
    let rounds: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(7).max(1);

    let ember: embercache::Cache<u64, u64> =
        embercache::Cache::builder().max_capacity(entries * 2).build().expect("a valid capacity");
    let moka: moka::sync::Cache<u64, u64> = moka::sync::Cache::new(entries * 2);
    let quick: quick_cache::sync::Cache<u64, u64> =
        quick_cache::sync::Cache::new(usize::try_from(entries * 2).expect("entries fit in usize"));
    for k in 0..entries {
        ember.insert(k, k);
        moka.insert(k, k);
        quick.insert(k, k);
    }
    ember.run_pending_tasks();
    moka.run_pending_tasks();

    let db = Db::new();
    let db_keys = 400_000u64;
    let value = vec![b'x'; 1024];
    let key = |k: u64| format!("{k:064}").into_bytes();
    for k in 0..db_keys {
        db.set(&key(k), &value, Default::default()).expect("no memory bound");
    }

    let keys = draws(2_000_000, entries, 0x9E37_79B9_7F4A_7C15);
    let gets: Vec<Vec<u8>> = draws(1_000_000, db_keys, 0x2545_F491_4F6C_DD1D).into_iter().map(key).collect();
    let (mut e, mut m, mut q, mut d) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    println!("{entries} u64 entries, 2 000 000 uniform gets; Db: {db_keys} keys of 64 B, 1 KiB values");
    for round in 1..=rounds {
        e.push(per_get(&keys, |k| {
            black_box(ember.get(k));
        }));
        m.push(per_get(&keys, |k| {
            black_box(moka.get(k));
        }));
        q.push(per_get(&keys, |k| {
            black_box(quick.get(k));
        }));
        d.push(per_get(&gets, |k| {
            black_box(db.get(k).expect("a string"));
        }));
        let last = |v: &Vec<f64>| v.last().copied().unwrap_or(0.0);
        println!(
            "round {round}: embercache {:.0} ns, moka {:.0} ns, quick_cache {:.0} ns; Db::get {:.0} ns",
            last(&e),
            last(&m),
            last(&q),
            last(&d)
        );
    }
    let median = support::median;
    let (e, m, q, d) = (median(e), median(m), median(q), median(d));
    println!(
        "medians: embercache {e:.0} ns, moka {m:.0} ns ({:.2}x), quick_cache {q:.0} ns ({:.2}x); Db::get {d:.0} ns",
        m / e,
        q / e
    );
}
