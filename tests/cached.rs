//! `#[embercache::cached]` at run time: memoization by arguments, ttl on a
//! manual clock, `result`/`option`, async functions, coalescing of
//! concurrent callers (threads and tasks), custom keys, stats by name.
//!
//! Each test has functions of its own: their caches are statics, shared by
//! every test of this binary.

#![cfg(feature = "macros")]

use embercache::cached;
use embercache::time::ManualClock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Barrier, LazyLock};
use std::time::Duration;

fn runs(counter: &AtomicU32) -> u32 {
    counter.load(Ordering::SeqCst)
}

static SQUARE_RUNS: AtomicU32 = AtomicU32::new(0);

#[embercache::cached]
fn square(n: u64) -> u64 {
    SQUARE_RUNS.fetch_add(1, Ordering::SeqCst);
    n * n
}

#[test]
fn computes_once_per_argument() {
    assert_eq!(square(4), 16);
    assert_eq!(square(4), 16);
    assert_eq!(runs(&SQUARE_RUNS), 1);
    assert_eq!(square(5), 25);
    assert_eq!(runs(&SQUARE_RUNS), 2, "another argument is another entry");
    let s = cached::stats("square").expect("registered on first call");
    assert_eq!(s.functions, ["cached::square"]);
    assert_eq!((s.totals.hits, s.totals.misses, s.totals.entries), (1, 2, 2));
}

static GREET_RUNS: AtomicU32 = AtomicU32::new(0);

#[embercache::cached(max_capacity = 100)]
fn greet(name: &str, times: usize, tags: &[u8]) -> String {
    GREET_RUNS.fetch_add(1, Ordering::SeqCst);
    format!("{}{}", name.repeat(times), tags.len())
}

#[test]
fn borrowed_arguments_make_owned_keys() {
    let owned = String::from("ab");
    assert_eq!(greet(&owned, 2, &[1, 2]), "abab2");
    drop(owned);
    assert_eq!(greet("ab", 2, &[1, 2]), "abab2");
    assert_eq!(runs(&GREET_RUNS), 1);
    greet("ab", 3, &[1, 2]);
    greet("ab", 2, &[1]);
    greet("b", 2, &[1, 2]);
    assert_eq!(runs(&GREET_RUNS), 4, "every argument is part of the key");
}

static CLOCK: LazyLock<ManualClock> = LazyLock::new(ManualClock::new);
static TTL_RUNS: AtomicU32 = AtomicU32::new(0);

#[embercache::cached(ttl = "1m30s", clock = CLOCK.clone())]
fn fresh(n: u32) -> u32 {
    TTL_RUNS.fetch_add(1, Ordering::SeqCst) + n
}

#[test]
fn entries_expire_after_the_ttl() {
    assert_eq!(fresh(100), 100);
    CLOCK.advance(Duration::from_secs(89));
    assert_eq!(fresh(100), 100, "still fresh");
    CLOCK.advance(Duration::from_secs(1));
    assert_eq!(fresh(100), 101, "expired at 90 s: the body ran again");
    assert_eq!(runs(&TTL_RUNS), 2);
}

static PARSE_RUNS: AtomicU32 = AtomicU32::new(0);

#[derive(Debug, PartialEq)]
struct NotCloneError(String);

#[embercache::cached(result = true)]
fn parse(s: &str) -> Result<u32, NotCloneError> {
    PARSE_RUNS.fetch_add(1, Ordering::SeqCst);
    let n: u32 = s.parse().map_err(|e: std::num::ParseIntError| NotCloneError(e.to_string()))?;
    if n == 0 {
        return Err(NotCloneError("zero".into()));
    }
    Ok(n)
}

#[test]
fn result_caches_ok_and_returns_errors_as_they_are() {
    assert_eq!(parse("7"), Ok(7));
    assert_eq!(parse("7"), Ok(7));
    assert_eq!(runs(&PARSE_RUNS), 1);
    assert_eq!(parse("0"), Err(NotCloneError("zero".into())));
    assert!(parse("x").is_err());
    assert!(parse("x").is_err());
    assert_eq!(runs(&PARSE_RUNS), 4, "errors are not cached");
    let s = cached::stats("parse").unwrap();
    assert_eq!(s.totals.entries, 1);
    assert_eq!(s.totals.load_failures, 3);
}

static FIND_RUNS: AtomicU32 = AtomicU32::new(0);

#[embercache::cached(option = true)]
fn find(n: u32) -> Option<String> {
    FIND_RUNS.fetch_add(1, Ordering::SeqCst);
    n.is_multiple_of(2).then(|| format!("even {n}"))
}

#[test]
fn option_caches_some_only() {
    assert_eq!(find(2).as_deref(), Some("even 2"));
    assert_eq!(find(2).as_deref(), Some("even 2"));
    assert_eq!(find(3), None);
    assert_eq!(find(3), None);
    assert_eq!(runs(&FIND_RUNS), 3, "None is not cached");
    assert_eq!(cached::stats("find").unwrap().totals.entries, 1);
}

static KEY_RUNS: AtomicU32 = AtomicU32::new(0);

struct Request {
    user: u64,
    trace_id: u64,
}

#[embercache::cached(key: u64 = request.user, name = "user_of_request")]
fn user_of(request: &Request, verbose: bool) -> String {
    KEY_RUNS.fetch_add(1, Ordering::SeqCst);
    format!("user {} (verbose {verbose}, trace {})", request.user, request.trace_id)
}

static SUBSET_RUNS: AtomicU32 = AtomicU32::new(0);

#[embercache::cached(key = (a, c))]
fn subset(a: u32, b: u32, c: &str) -> String {
    SUBSET_RUNS.fetch_add(1, Ordering::SeqCst);
    format!("{a}{b}{c}")
}

#[test]
fn custom_keys() {
    let first = user_of(&Request { user: 1, trace_id: 10 }, true);
    assert_eq!(user_of(&Request { user: 1, trace_id: 11 }, false), first, "keyed on the user only");
    assert_eq!(runs(&KEY_RUNS), 1);
    user_of(&Request { user: 2, trace_id: 10 }, true);
    assert_eq!(runs(&KEY_RUNS), 2);
    assert_eq!(cached::stats("user_of_request").unwrap().functions, ["user_of_request"]);
    assert_eq!(cached::stats("user_of"), None, "registered under its given name only");

    assert_eq!(subset(1, 2, "x"), "12x");
    assert_eq!(subset(1, 3, "x"), "12x", "b is not part of the key");
    assert_eq!(subset(1, 2, "y"), "12y");
    assert_eq!(runs(&SUBSET_RUNS), 2);
}

struct Units;

impl Units {
    #[embercache::cached]
    fn kilo(n: u64) -> u64 {
        n * 1_000
    }
}

#[test]
fn associated_functions_without_self() {
    assert_eq!(Units::kilo(3), 3_000);
    assert_eq!(Units::kilo(3), 3_000);
    assert_eq!(cached::stats("kilo").unwrap().totals.hits, 1);
}

static SLOW_RUNS: AtomicU32 = AtomicU32::new(0);

#[embercache::cached]
fn slow(n: u64) -> u64 {
    SLOW_RUNS.fetch_add(1, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(50));
    n + 1
}

#[test]
fn concurrent_callers_run_the_body_once() {
    let start = Barrier::new(100);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..100)
            .map(|_| {
                s.spawn(|| {
                    start.wait();
                    slow(41)
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), 42);
        }
    });
    assert_eq!(runs(&SLOW_RUNS), 1);
}

static FLAKY_RUNS: AtomicU32 = AtomicU32::new(0);

#[embercache::cached(result = true)]
fn flaky(n: u64) -> Result<u64, String> {
    let run = FLAKY_RUNS.fetch_add(1, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(50));
    if run == 0 { Err(format!("run {run} failed")) } else { Ok(n) }
}

#[test]
fn waiters_on_a_failed_load_try_again() {
    let start = Barrier::new(20);
    let results: Vec<Result<u64, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|_| {
                s.spawn(|| {
                    start.wait();
                    flaky(5)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let errors: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(errors, [&"run 0 failed".to_string()], "only the failed body's caller sees its error");
    assert!(results.iter().filter(|r| r.is_ok()).all(|r| *r == Ok(5)));
    assert_eq!(runs(&FLAKY_RUNS), 2, "one failed load, then one that succeeded for everyone");
}

static ASYNC_RUNS: AtomicU32 = AtomicU32::new(0);

#[embercache::cached(ttl = "60s")]
async fn fetch(id: u64) -> String {
    ASYNC_RUNS.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(50)).await;
    format!("item {id}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_functions_coalesce_tasks() {
    let tasks: Vec<_> = (0..100).map(|_| tokio::spawn(fetch(9))).collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), "item 9");
    }
    assert_eq!(fetch(9).await, "item 9");
    assert_eq!(runs(&ASYNC_RUNS), 1);
    assert_eq!(cached::stats("fetch").unwrap().totals.entries, 1);
}

static ASYNC_TRY_RUNS: AtomicU32 = AtomicU32::new(0);

#[embercache::cached(result = true, key = path)]
async fn load(path: &str, _attempt: u32) -> Result<usize, std::io::Error> {
    ASYNC_TRY_RUNS.fetch_add(1, Ordering::SeqCst);
    tokio::task::yield_now().await;
    if path.is_empty() {
        // `?` converts as it would in the function itself.
        Err(std::io::Error::other("empty path"))?;
    }
    Ok(path.len())
}

#[embercache::cached(option = true)]
async fn maybe(n: u32) -> Option<u32> {
    (n > 0).then_some(n)
}

#[tokio::test]
async fn async_result_and_option() {
    assert_eq!(load("abc", 1).await.unwrap(), 3);
    assert_eq!(load("abc", 2).await.unwrap(), 3);
    assert!(load("", 1).await.is_err());
    assert!(load("", 2).await.is_err());
    assert_eq!(runs(&ASYNC_TRY_RUNS), 3);
    assert_eq!(maybe(0).await, None);
    assert_eq!(maybe(2).await, Some(2));
    assert_eq!(cached::stats("maybe").unwrap().totals.entries, 1);
}

#[embercache::cached(name = "registry::a")]
fn shared_a(n: u8) -> u8 {
    n
}

#[embercache::cached(name = "registry::b")]
fn shared_b(n: u8) -> u8 {
    n
}

#[embercache::cached(name = "other::a")]
fn shared_c(n: u8) -> u8 {
    n
}

#[test]
fn registry_by_name() {
    assert_eq!(cached::stats("registry::never_called"), None);
    assert!(!cached::clear("registry::never_called"));
    shared_a(1);
    shared_a(1);
    shared_b(1);
    shared_c(2);
    let names = cached::registered();
    for n in ["registry::a", "registry::b", "other::a"] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
    let a = cached::stats("registry::a").unwrap();
    assert_eq!((a.functions.len(), a.totals.hits, a.totals.entries), (1, 1, 1));
    let both = cached::stats("a").unwrap();
    assert_eq!(both.functions, ["registry::a", "other::a"], "a bare name matches every path ending in it");
    assert_eq!(both.totals.entries, 2);
    assert!(cached::clear("a"));
    assert_eq!(cached::stats("a").unwrap().totals.entries, 0);
    assert_eq!(cached::stats("registry::b").unwrap().totals.entries, 1, "not cleared");
    cube(2);
    assert!(cached::clear("cached::cube"), "a full path matches");
    cube(2);
    assert_eq!(runs(&CUBE_RUNS), 2, "cleared: computed again");
    assert_eq!(cached::stats("cube").unwrap().functions, ["cached::cube"]);
}

static CUBE_RUNS: AtomicU32 = AtomicU32::new(0);

#[embercache::cached]
fn cube(n: u64) -> u64 {
    CUBE_RUNS.fetch_add(1, Ordering::SeqCst);
    n * n * n
}

#[embercache::cached]
fn fib(n: u64) -> u64 {
    if n < 2 { n } else { fib(n - 1).wrapping_add(fib(n - 2)) }
}

#[test]
fn a_body_may_call_its_own_function_with_other_arguments() {
    // Each level leads its own load while the outer ones wait on theirs:
    // no lock is held while a body runs.
    assert_eq!(fib(90), 2_880_067_194_370_816_120);
    let s = cached::stats("cached::fib").unwrap();
    assert_eq!((s.totals.load_successes, s.totals.entries), (91, 91), "each argument computed once");
}
