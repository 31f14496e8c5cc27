//! What the journal costs a writer: the same write workloads on a `Db`
//! without backups and with a backup directory under each fsync policy,
//! in one run, with the journal bytes each write adds.
//!
//! Workloads (single thread, then two threads for SET):
//!
//! - `SET`: 200k distinct keys `key:N` → 16 bytes;
//! - `INCR`: 200k increments over 1,000 counters (journaled as the value);
//! - `ZINCRBY`: 200k increments on one sorted set of 100k members
//!   (journaled as the member's new score, not the whole set);
//! - `RPUSH`+`LPOP`: a 10k-item queue, 100k push/pop pairs (journaled as
//!   the operations, not the list).
//!
//! `always` fsyncs each write before it returns: it runs a tenth of the
//! writes (the disk's flush latency is the whole cost).
//!
//! ```text
//! cargo run --release --example journal_cost
//! ```

use embercache::Db;
use embercache::db::{BackupOptions, SetOptions};
use embercache::persist::FsyncPolicy;
use std::time::Instant;

#[derive(Clone, Copy)]
enum Work {
    Set,
    Incr,
    ZIncrBy,
    Queue,
}

impl Work {
    fn name(self) -> &'static str {
        match self {
            Work::Set => "SET (200k new keys)",
            Work::Incr => "INCR (1k counters)",
            Work::ZIncrBy => "ZINCRBY (one 100k-member zset)",
            Work::Queue => "RPUSH+LPOP (10k-item queue)",
        }
    }

    fn prepare(self, db: &Db) {
        match self {
            Work::ZIncrBy => {
                for i in 0..100_000 {
                    db.execute(&["ZADD", "board", &(i % 1000).to_string(), &format!("player:{i}")]);
                }
            }
            Work::Queue => {
                for i in 0..10_000 {
                    db.execute(&["RPUSH", "queue", &format!("job:{i:08}")]);
                }
            }
            _ => {}
        }
    }

    /// Runs write `i`; returns the number of commands it was.
    fn run(self, db: &Db, i: usize, thread: usize) -> usize {
        match self {
            Work::Set => {
                let key = format!("key:{thread}:{i}");
                let _ = db.set(key.as_bytes(), b"value:0000000000", SetOptions::default());
                1
            }
            Work::Incr => {
                let _ = db.incr(format!("counter:{}", i % 1000).as_bytes());
                1
            }
            Work::ZIncrBy => {
                let _ = db.zincrby(b"board", 1.0, format!("player:{}", (i * 7919) % 100_000).as_bytes());
                1
            }
            Work::Queue => {
                let _ = db.rpush(b"queue", &[format!("job:{i:08}").as_bytes()]);
                let _ = db.lpop(b"queue", None);
                2
            }
        }
    }
}

/// Commands per second and journal bytes per command.
fn measure(work: Work, policy: Option<FsyncPolicy>, n: usize, threads: usize) -> (f64, f64) {
    let dir = std::env::temp_dir().join(format!("embercache-journal-cost-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let db = match policy {
        Some(p) => Db::builder().backups(&dir, BackupOptions::new().fsync(p)).build().expect("backups"),
        None => Db::new(),
    };
    work.prepare(&db);
    let before = db.backups().map_or(0, |b| b.stats().journal_bytes);
    let t = Instant::now();
    let commands: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|th| {
                let db = db.clone();
                s.spawn(move || (0..n / threads).map(|i| work.run(&db, i, th)).sum::<usize>())
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("worker")).sum()
    });
    let secs = t.elapsed().as_secs_f64();
    let bytes = db.backups().map_or(0, |b| b.stats().journal_bytes) - before;
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
    (commands as f64 / secs, bytes as f64 / commands as f64)
}

fn main() {
    let n = 200_000;
    println!("### Journal cost: commands/s without backups and with each fsync policy\n");
    println!("| workload | threads | no journal | everysec | ratio | os | ratio | always | journal B/command |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let rows = [(Work::Set, 1), (Work::Set, 2), (Work::Incr, 1), (Work::ZIncrBy, 1), (Work::Queue, 1)];
    for (work, threads) in rows {
        let count = if matches!(work, Work::Queue) { n / 2 } else { n };
        let (plain, _) = measure(work, None, count, threads);
        let (every, bytes) = measure(work, Some(FsyncPolicy::EverySecond), count, threads);
        let (os, _) = measure(work, Some(FsyncPolicy::Os), count, threads);
        let (always, _) = measure(work, Some(FsyncPolicy::Always), count / 10, threads);
        println!(
            "| {} | {threads} | {:.0}k | {:.0}k | {:.2} | {:.0}k | {:.2} | {:.1}k | {:.0} |",
            work.name(),
            plain / 1e3,
            every / 1e3,
            every / plain,
            os / 1e3,
            os / plain,
            always / 1e3,
            bytes
        );
    }
    println!("\nratio: with the journal / without (1.00: free).");
}
