//! A game leaderboard of 1M players in a sorted set: several threads post
//! score updates concurrently (`ZINCRBY`), while readers ask for the top 10
//! (`ZRANGE … REV`), a player's rank (`ZREVRANK`) and the players around
//! them. Prints the throughput of each kind of call and a final standing.
//!
//! ```text
//! cargo run --release --example leaderboard            # 1M players, 2 s of load
//! cargo run --release --example leaderboard -- --quick # 100k players, 0.5 s
//! ```

use embercache::Db;
use embercache::db::zset::{ZAddOptions, ZRangeSpec};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

const BOARD: &[u8] = b"leaderboard:season-1";

fn player(id: u64) -> String {
    format!("player:{id:07}")
}

fn main() -> Result<(), embercache::db::DbError> {
    let quick = std::env::args().any(|a| a == "--quick");
    let (players, run_for) =
        if quick { (100_000, Duration::from_millis(500)) } else { (1_000_000, Duration::from_secs(2)) };
    let db = Db::new();

    // Everyone starts with a score; ZADD takes many pairs per call.
    let start = Instant::now();
    let names: Vec<String> = (0..players).map(player).collect();
    for chunk in names.chunks(1000).enumerate() {
        let (c, chunk) = chunk;
        let pairs: Vec<(f64, &[u8])> = chunk
            .iter()
            .enumerate()
            .map(|(i, n)| (((c * 1000 + i) as u64 * 7919 % 10_000) as f64, n.as_bytes()))
            .collect();
        db.zadd(BOARD, &pairs, ZAddOptions::default())?;
    }
    println!(
        "loaded {} players in {:.2} s ({} bytes in use)",
        db.zcard(BOARD)?,
        start.elapsed().as_secs_f64(),
        db.used_memory()
    );

    // Two writer threads post results; one reader thread serves the views.
    let (updates, views) = (AtomicU64::new(0), AtomicU64::new(0));
    let begin = Instant::now();
    thread::scope(|s| {
        for t in 0..2u64 {
            let (db, updates) = (&db, &updates);
            s.spawn(move || {
                let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ (t + 1);
                let mut n = 0;
                while begin.elapsed() < run_for {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let who = player(x % players);
                    db.zincrby(BOARD, (x >> 40 & 63) as f64, who.as_bytes()).expect("zincrby");
                    n += 1;
                }
                updates.fetch_add(n, Ordering::Relaxed);
            });
        }
        let (db, views) = (&db, &views);
        s.spawn(move || {
            let mut x = 0x2545_F491_4F6C_DD1Du64;
            let mut n = 0;
            while begin.elapsed() < run_for {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let top = db.zrange(BOARD, &ZRangeSpec::rank(0, 9).rev()).expect("top 10");
                let me = player(x % players);
                let rank = db.zrevrank(BOARD, me.as_bytes()).expect("rank").map_or(0, |(r, _)| r as i64);
                let around = db.zrange(BOARD, &ZRangeSpec::rank((rank - 2).max(0), rank + 2).rev()).expect("around");
                std::hint::black_box((top, around));
                n += 1;
            }
            views.fetch_add(n, Ordering::Relaxed);
        });
    });
    let secs = begin.elapsed().as_secs_f64();
    let updates = updates.load(Ordering::Relaxed);
    let views = views.load(Ordering::Relaxed);
    println!(
        "{:.1} s: {} score updates ({:.2} M/s on 2 threads), {} page views ({:.0} k/s: top 10 + rank + 5 around)",
        secs,
        updates,
        updates as f64 / secs / 1e6,
        views,
        views as f64 / secs / 1e3
    );

    println!("\ntop 10:");
    for (i, (name, score)) in db.zrange(BOARD, &ZRangeSpec::rank(0, 9).rev())?.iter().enumerate() {
        println!("  {:>2}. {}  {score}", i + 1, String::from_utf8_lossy(name));
    }
    let me = player(players / 2);
    if let Some((rank, score)) = db.zrevrank(BOARD, me.as_bytes())? {
        println!("\n{me} is #{} with {score}; around them:", rank + 1);
        let from = rank.saturating_sub(2) as i64;
        for (i, (name, score)) in db.zrange(BOARD, &ZRangeSpec::rank(from, rank as i64 + 2).rev())?.iter().enumerate() {
            println!("  #{:<8} {}  {score}", from as usize + i + 1, String::from_utf8_lossy(name));
        }
    }
    Ok(())
}
