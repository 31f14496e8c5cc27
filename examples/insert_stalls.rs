//! The longest single inserts while a `Db` fills: each shard's table and
//! slab grow by doubling under the shard's lock, and every reader of that
//! shard waits for the growth, so the longest inserts are the stalls a
//! server's clients see in their tail latencies.
//!
//! ```sh
//! cargo run --release --example insert_stalls [entries] [value bytes]
//! ```
//!
//! Inserts `entries` (600 000 by default) 64-byte keys with values of
//! `value bytes` (1 024 by default; memaslap's shape) into a default `Db`,
//! timing each `SET`, and prints how many took over 0.5 ms and the
//! longest ones.

use embercache::Db;
use std::time::Instant;

fn main() {
    let entries: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(600_000);
    let value_len: usize = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(1024);
    let db = Db::new();
    let value = vec![b'x'; value_len];
    let mut slow: Vec<(u64, u128)> = Vec::new();
    let started = Instant::now();
    for i in 0..entries {
        let key = format!("{i:064}");
        let t = Instant::now();
        db.set(key.as_bytes(), &value, Default::default()).expect("no memory bound");
        let us = t.elapsed().as_micros();
        if us > 500 {
            slow.push((i, us));
        }
    }
    let total = started.elapsed();
    slow.sort_by_key(|&(_, us)| std::cmp::Reverse(us));
    println!("{entries} inserts of {value_len}-byte values in {total:.2?}; {} took over 0.5 ms", slow.len());
    let longest: Vec<String> = slow.iter().take(8).map(|(i, us)| format!("{us} µs (insert {i})")).collect();
    println!("longest: {}", if longest.is_empty() { "none over 0.5 ms".to_string() } else { longest.join(", ") });
}
