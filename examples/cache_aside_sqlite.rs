//! Cache-aside in front of a real SQLite database (rusqlite with its
//! bundled SQLite: nothing to install).
//!
//! The database holds 10,000 products; the query behind a product page is
//! deliberately slow, as real ones are when an index is missing: a
//! product's rank by price within its category and the category's average
//! price, two correlated subqueries that scan the table. The same stream of
//! page views (Zipf-distributed, as real traffic is) runs twice: straight
//! to SQLite, then through a `LoadingCache` whose loader is that same
//! query, first cold, then again warm. Every run must give the same pages;
//! the speed-ups are printed.
//!
//! ```text
//! cargo run --release --example cache_aside_sqlite
//! cargo run --release --example cache_aside_sqlite -- --views 50000
//! ```

use embercache::LoadingCache;
use embercache::cache::loading::Loader;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand_distr::{Distribution, Zipf};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const PRODUCTS: u64 = 10_000;
const CATEGORIES: u64 = 40;

/// What a product page shows.
#[derive(Debug, Clone, PartialEq)]
struct Page {
    name: String,
    price: f64,
    rank_in_category: i64,
    category_average: f64,
}

/// Creates the database at `path` with its products (no index on
/// `category`: that is what makes the page query slow).
fn create(path: &Path) -> rusqlite::Result<Connection> {
    let _ = std::fs::remove_file(path);
    let mut conn = Connection::open(path)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, category INTEGER NOT NULL, price REAL NOT NULL);",
    )?;
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare("INSERT INTO products (id, name, category, price) VALUES (?1, ?2, ?3, ?4)")?;
        for id in 0..PRODUCTS {
            let price = ((id * 7919) % 100_000) as f64 / 100.0;
            insert.execute(params![id as i64, format!("product {id}"), (id % CATEGORIES) as i64, price])?;
        }
    }
    tx.commit()?;
    Ok(conn)
}

/// The slow query behind a product page.
fn page(conn: &Connection, id: u64) -> rusqlite::Result<Option<Page>> {
    conn.prepare_cached(
        "SELECT p.name, p.price,
                (SELECT COUNT(*) FROM products q WHERE q.category = p.category AND q.price > p.price) + 1,
                (SELECT AVG(q.price) FROM products q WHERE q.category = p.category)
         FROM products p WHERE p.id = ?1",
    )?
    .query_row(params![id as i64], |r| {
        Ok(Page { name: r.get(0)?, price: r.get(1)?, rank_in_category: r.get(2)?, category_average: r.get(3)? })
    })
    .optional()
}

/// The cache's loader: the same query, on a connection of its own.
struct Products {
    conn: Mutex<Connection>,
}

impl Loader<u64, Page> for Products {
    type Error = rusqlite::Error;

    fn load(&self, id: &u64) -> Result<Option<Page>, rusqlite::Error> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        page(&conn, *id)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut views = 10_000usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--views" => views = args.next().ok_or("--views needs a number")?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let dir = std::env::temp_dir().join(format!("embercache-sqlite-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("shop.db");
    let conn = create(&path)?;

    // The page views: Zipf over the products, as real traffic is skewed.
    let zipf = Zipf::new(PRODUCTS, 1.0)?;
    let mut rng = SmallRng::seed_from_u64(42);
    let ids: Vec<u64> = (0..views).map(|_| zipf.sample(&mut rng) as u64 - 1).collect();

    // 1. Straight to SQLite.
    let t = Instant::now();
    let direct: Vec<Option<Page>> = ids.iter().map(|&id| page(&conn, id)).collect::<Result<_, _>>()?;
    let without = t.elapsed();

    // 2. Through the cache: the loader is the same query.
    let cache = LoadingCache::builder()
        .loader(Products { conn: Mutex::new(Connection::open(&path)?) })
        .max_capacity(5_000)
        .time_to_live(Duration::from_secs(300))
        .build()?;
    let t = Instant::now();
    let mut cached = Vec::with_capacity(ids.len());
    for &id in &ids {
        cached.push(cache.get(&id).map_err(|e| e.to_string())?);
    }
    let with = t.elapsed();

    assert_eq!(direct, cached, "the cache serves exactly what the database says");
    let loads = cache.stats().loads;

    // 3. The same views again: the cache is warm, as in a service that has
    // been up for a while.
    let t = Instant::now();
    for (&id, expected) in ids.iter().zip(&direct) {
        assert_eq!(&cache.get(&id).map_err(|e| e.to_string())?, expected);
    }
    let warm = t.elapsed();

    println!("{views} product page views over {PRODUCTS} products (Zipf 1.0), one thread:");
    println!("  straight to SQLite       : {:>9.1} ms  ({:>7.1} µs/view)", ms(without), us(without, views));
    println!("  through the cache, cold  : {:>9.1} ms  ({:>7.1} µs/view)", ms(with), us(with, views));
    println!("  through the cache, warm  : {:>9.1} ms  ({:>7.1} µs/view)", ms(warm), us(warm, views));
    println!("  speed-up, cold           : {:>9.1}x  ({loads} queries for {views} views)", ratio(without, with));
    println!(
        "  speed-up, warm           : {:>9.1}x  ({} more queries)",
        ratio(without, warm),
        cache.stats().loads - loads
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn us(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1e6 / n as f64
}
