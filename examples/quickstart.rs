//! The main example: a cache at work, printing what it did.
//!
//! ```text
//! cargo run --release --example quickstart
//! ```
//!
//! It builds a bounded cache with a time-to-live and an eviction listener,
//! replays a skewed (Zipf-like) stream of lookups through it cache-aside
//! style, shows expiry with a manual clock, and prints hits, misses,
//! evictions and expirations.

use embercache::time::ManualClock;
use embercache::{Cache, RemovalCause};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Pretend this is a slow database lookup.
fn load_user(id: u64) -> String {
    format!("user #{id}")
}

fn main() -> Result<(), embercache::Error> {
    let evicted = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&evicted);
    let clock = ManualClock::new();

    let cache: Cache<u64, String> = Cache::builder()
        .max_capacity(1_000)
        .time_to_live(Duration::from_secs(60))
        .clock(clock.clone())
        .eviction_listener(move |_key, _value, cause| {
            if cause == RemovalCause::Size {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        })
        .build()?;

    // A skewed stream over 10,000 users: a few are very popular.
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let started = Instant::now();
    let requests = 200_000u64;
    for _ in 0..requests {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // Squaring a uniform number skews it towards small ids.
        let u = (x % 10_000) as f64 / 10_000.0;
        let id = (u * u * u * 10_000.0) as u64;
        let _name = cache.get_or_insert_with(id, || load_user(id));
    }
    let elapsed = started.elapsed();
    let s = cache.stats();
    println!("replayed {requests} lookups over 10,000 users into a 1,000-entry cache in {elapsed:.2?}");
    println!("  hits:       {:>8}", s.hits);
    println!("  misses:     {:>8}  (each one loaded the user once)", s.misses);
    println!("  hit ratio:  {:>7.2}%", s.hit_rate() * 100.0);
    println!("  loads:      {:>8}", s.load_successes);
    println!("  evictions:  {:>8}  (listener saw {})", s.evictions, evicted.load(Ordering::Relaxed));
    println!("  entries:    {:>8}", cache.len());

    // The hottest entries, as the policy sees them.
    for (id, name) in cache.policy().hottest(3) {
        println!("hot: {id} -> {name}");
    }

    // Expiry: one entry with a short time-to-live of its own.
    cache.insert_with_ttl(424_242, "flash sale".to_string(), Duration::from_secs(5));
    println!("\nflash sale before 5 s: {:?}", cache.get(&424_242));
    clock.advance(Duration::from_secs(5));
    println!("flash sale after 5 s:  {:?}", cache.get(&424_242));
    clock.advance(Duration::from_secs(60));
    cache.run_pending_tasks();
    let s = cache.stats();
    println!("after 65 s, everything expired: entries = {}, expirations = {}", cache.len(), s.expirations);

    Ok(())
}
