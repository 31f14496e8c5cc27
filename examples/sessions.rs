//! A session store with sliding expiry under concurrent load: each session
//! is a hash (`HSET`), each request reads it (`HGETALL`), counts the hit
//! (`HINCRBY`) and pushes its expiry forward (`EXPIRE`), and a short-lived
//! CSRF token sits beside it as a string whose TTL each read renews
//! (`GETEX … EX`). Users arrive and leave over time; the sessions of users
//! who left expire and a housekeeper thread reclaims them without anyone
//! reading them.
//!
//! ```text
//! cargo run --release --example sessions            # 3 s of load on 4 threads
//! cargo run --release --example sessions -- --quick # 0.5 s
//! ```

use embercache::Db;
use embercache::db::notify::EventClass;
use embercache::db::{Expiration, ExpireCondition, GetExOption};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Users active at any moment (a window sliding over user ids).
const ACTIVE_USERS: u64 = 20_000;
/// New users per second (the window moves this fast).
const ARRIVALS_PER_SEC: u64 = 40_000;
/// Idle time after which a session expires.
const SESSION_TTL_MS: i64 = 500;
const THREADS: usize = 4;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = std::env::args().any(|a| a == "--quick");
    let run_for = if quick { Duration::from_millis(500) } else { Duration::from_secs(3) };
    let db = Db::builder().housekeeper(Duration::from_millis(50)).build()?;
    let expired_events = db.subscribe_keyspace(&[EventClass::Expired], 1 << 20);

    let (requests, logins) = (AtomicU64::new(0), AtomicU64::new(0));
    let start = Instant::now();
    thread::scope(|s| {
        for t in 0..THREADS {
            let (db, requests, logins) = (&db, &requests, &logins);
            s.spawn(move || {
                let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ (t as u64 + 1);
                let mut done = 0;
                while start.elapsed() < run_for {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    // The active window of user ids slides with time.
                    let first = start.elapsed().as_millis() as u64 * ARRIVALS_PER_SEC / 1000;
                    let user = first + x % ACTIVE_USERS;
                    if request(db, user).expect("request") {
                        logins.fetch_add(1, Ordering::Relaxed);
                    }
                    done += 1;
                }
                requests.fetch_add(done, Ordering::Relaxed);
            });
        }
    });
    let secs = start.elapsed().as_secs_f64();
    // Let the last sessions lapse and the housekeeper reclaim them.
    let live_at_end = db.dbsize();
    thread::sleep(Duration::from_millis(SESSION_TTL_MS as u64 + 200));
    let expired = std::iter::from_fn(|| expired_events.try_recv()).count();

    let requests = requests.load(Ordering::Relaxed);
    println!("sessions: {THREADS} threads for {secs:.1} s, sliding TTL {SESSION_TTL_MS} ms");
    println!(
        "  requests          {requests:>12}  ({:.2} M/s, each HGETALL + HINCRBY + EXPIRE + GETEX)",
        requests as f64 / secs / 1e6
    );
    println!("  logins (misses)   {:>12}", logins.load(Ordering::Relaxed));
    println!("  keys at the end   {live_at_end:>12}  (sessions + tokens of recent users)");
    println!("  expired events    {expired:>12}  (sessions and tokens of users who left)");
    println!(
        "  keys now          {:>12}  (after {} ms idle, reclaimed by the housekeeper)",
        db.dbsize(),
        SESSION_TTL_MS + 200
    );
    println!("  used memory       {:>12} bytes", db.used_memory());
    Ok(())
}

/// One request of `user`: read the session (log in if there is none), count
/// the hit, slide the expiry, and renew the CSRF token. Returns whether it
/// was a login.
fn request(db: &Db, user: u64) -> Result<bool, embercache::db::DbError> {
    let key = format!("session:{user}");
    let token_key = format!("csrf:{user}");
    let session = db.hgetall(key.as_bytes())?;
    let login = session.is_empty();
    if login {
        let id = user.to_string();
        db.hset(key.as_bytes(), &[(b"user", id.as_bytes()), (b"hits", b"0"), (b"theme", b"dark")])?;
        db.set(token_key.as_bytes(), format!("tok-{user}").as_bytes(), Default::default())?;
    }
    db.hincrby(key.as_bytes(), b"hits", 1)?;
    db.expire(key.as_bytes(), Expiration::Millis(SESSION_TTL_MS), ExpireCondition::Always)?;
    db.getex(token_key.as_bytes(), Some(GetExOption::Expire(Expiration::Millis(SESSION_TTL_MS))))?;
    Ok(login)
}
