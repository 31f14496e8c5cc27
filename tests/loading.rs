//! `LoadingCache`: coalescing, freshness options, batching, errors and
//! panics, on threads, on tokio and on a hand-written executor. Time is a
//! `ManualClock`; nothing here asserts a duration.

use embercache::cache::loading::{AsyncLoader, Loader, LoadingCacheBuilder, NoLoader, RefreshTask};
use embercache::time::ManualClock;
use embercache::{ConfigError, LoadingCache};
use parking_lot::Mutex;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Barrier};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

const SEC: Duration = Duration::from_secs(1);

/// A backend error.
#[derive(Debug, PartialEq, Eq)]
struct Down(u64);

fn builder() -> LoadingCacheBuilder<u64, u64, NoLoader> {
    LoadingCache::builder().max_capacity(10_000)
}

/// Waits (at most a few seconds, as a guard against a hang, not a timing
/// assertion) until `f` holds.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < Duration::from_secs(5), "never happened: {what}");
        thread::yield_now();
    }
}

// ---------- A tiny executor and a gate future, to order async steps ----------

struct NoopWake;
impl Wake for NoopWake {
    fn wake(self: Arc<Self>) {}
}

/// Polls `fut` once: `Some` if it completed.
fn poll_once<F: Future + Unpin>(fut: &mut F) -> Option<F::Output> {
    let waker = Waker::from(Arc::new(NoopWake));
    match Pin::new(fut).poll(&mut Context::from_waker(&waker)) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

struct ThreadWake(thread::Thread);
impl Wake for ThreadWake {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// A minimal executor: no tokio, no futures crate.
fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let waker = Waker::from(Arc::new(ThreadWake(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        thread::park();
    }
}

/// A future that stays pending until the gate opens.
#[derive(Clone, Default)]
struct Gate(Arc<Mutex<(bool, Vec<Waker>)>>);

impl Gate {
    fn open(&self) {
        let wakers = {
            let mut g = self.0.lock();
            g.0 = true;
            std::mem::take(&mut g.1)
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    async fn pass(&self) {
        std::future::poll_fn(|cx| {
            let mut g = self.0.lock();
            if g.0 {
                return Poll::Ready(());
            }
            g.1.push(cx.waker().clone());
            Poll::Pending
        })
        .await;
    }
}

/// A builder whose sync loader answers `answer(key, n)` on its `n`-th call
/// (from 0), and the count of calls.
fn counting(
    answer: impl Fn(u64, u64) -> Result<Option<u64>, Down> + Send + Sync + 'static,
) -> (LoadingCacheBuilder<u64, u64, Down>, Arc<AtomicU64>) {
    let calls = Arc::new(AtomicU64::new(0));
    let c = Arc::clone(&calls);
    (builder().loader_fn(move |k: &u64| answer(*k, c.fetch_add(1, Ordering::SeqCst))), calls)
}

/// The same with an async loader, whose `n`-th call first waits at `gate`
/// if `waits(n)`.
fn gated(
    gate: &Gate,
    waits: impl Fn(u64) -> bool + Send + Sync + 'static,
    answer: impl Fn(u64, u64) -> Result<Option<u64>, Down> + Send + Sync + 'static,
) -> (LoadingCacheBuilder<u64, u64, Down>, Arc<AtomicU64>) {
    let calls = Arc::new(AtomicU64::new(0));
    let (c, g) = (Arc::clone(&calls), gate.clone());
    let b = builder().async_loader_fn(move |k: u64| {
        let n = c.fetch_add(1, Ordering::SeqCst);
        let (wait, g, r) = (waits(n), g.clone(), answer(k, n));
        async move {
            if wait {
                g.pass().await;
            }
            r
        }
    });
    (b, calls)
}

// ---------- Coalescing ----------

#[test]
fn a_thousand_concurrent_misses_load_once() {
    let (b, calls) = counting(|k, _| Ok(Some(k * 10)));
    let cache = b.build().unwrap();
    let barrier = Arc::new(Barrier::new(50));
    let threads: Vec<_> = (0..50)
        .map(|_| {
            let (cache, barrier) = (cache.clone(), Arc::clone(&barrier));
            thread::spawn(move || {
                barrier.wait();
                (0..20).all(|_| cache.get(&7) == Ok(Some(70)))
            })
        })
        .collect();
    assert!(threads.into_iter().all(|t| t.join().unwrap()));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(cache.stats().loads, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_tasks_missing_together_load_once() {
    let calls = Arc::new(AtomicU64::new(0));
    let c = Arc::clone(&calls);
    let cache = builder()
        .async_loader_fn(move |k: u64| {
            let c = Arc::clone(&c);
            async move {
                c.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
                Ok::<_, Down>(Some(k + 1))
            }
        })
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { cache.get_async(&41).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), Ok(Some(42)));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn coalesced_callers_share_the_error() {
    let gate = Gate::default();
    let (b, calls) = gated(&gate, |_| true, |k, n| Err(Down(k + n)));
    let cache = b.build().unwrap();
    // The first future leads (the loader waits at the gate); polled once,
    // each of the others is then provably waiting on that load.
    let mut futures: Vec<_> = (0..100).map(|_| Box::pin(cache.get_async(&5))).collect();
    assert!(futures.iter_mut().all(|f| poll_once(f).is_none()));
    gate.open();
    let errors: Vec<Arc<Down>> = futures.into_iter().map(|f| block_on(f).unwrap_err()).collect();
    assert_eq!(*errors[0], Down(5));
    assert!(errors.iter().all(|e| Arc::ptr_eq(e, &errors[0])));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let stats = cache.stats();
    assert_eq!((stats.loads, stats.load_failures), (1, 1));
    // Errors are not cached: the next read loads again.
    gate.open();
    assert_eq!(cache.get(&5).unwrap_err(), Arc::new(Down(6)));
}

#[test]
fn a_panicking_loader_does_not_poison_its_key() {
    let panics = Arc::new(AtomicBool::new(true));
    let p = Arc::clone(&panics);
    let cache = builder()
        .loader_fn(move |k: &u64| {
            if p.load(Ordering::SeqCst) {
                panic!("backend bug");
            }
            Ok::<_, Down>(Some(*k))
        })
        .build()
        .unwrap();
    assert!(catch_unwind(AssertUnwindSafe(|| cache.get(&3))).is_err());
    assert!(catch_unwind(AssertUnwindSafe(|| cache.get_many(&[3, 4]))).is_err());
    panics.store(false, Ordering::SeqCst);
    assert_eq!(cache.get(&3), Ok(Some(3)));
    assert_eq!(cache.get_many(&[3, 4]), Ok(vec![Some(3), Some(4)]));
}

#[test]
fn a_dropped_leader_hands_the_load_to_a_waiter() {
    let gate = Gate::default();
    let (b, calls) = gated(&gate, |n| n == 0, |k, n| Ok(Some(k * 100 + n)));
    let cache = b.build().unwrap();
    let mut leader = Box::pin(cache.get_async(&1));
    let mut waiter = Box::pin(cache.get_async(&1));
    assert!(poll_once(&mut leader).is_none() && poll_once(&mut waiter).is_none());
    drop(leader);
    assert_eq!(block_on(waiter), Ok(Some(101)));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[test]
fn get_async_runs_on_a_hand_written_executor() {
    struct YieldsOnce;
    impl AsyncLoader<u64, String> for YieldsOnce {
        type Error = Down;
        async fn load(&self, key: &u64) -> Result<Option<String>, Down> {
            let mut yielded = false;
            std::future::poll_fn(|cx| {
                if yielded {
                    return Poll::Ready(());
                }
                yielded = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            })
            .await;
            Ok(Some(format!("v{key}")))
        }
    }
    let cache: LoadingCache<u64, String, Down> =
        LoadingCache::builder().async_loader(YieldsOnce).max_capacity(10).build().unwrap();
    assert_eq!(block_on(cache.get_async(&8)).unwrap().as_deref(), Some("v8"));
    assert_eq!(block_on(cache.get_many_async(&[8, 9])).unwrap(), vec![Some("v8".into()), Some("v9".into())]);
    // The sync API drives an async loader on the calling thread.
    assert_eq!(cache.get(&10).unwrap().as_deref(), Some("v10"));
    assert_eq!(cache.stats().loads, 3);
}

// ---------- Refresh ----------

/// A loader whose first load of a key answers at once and whose later
/// loads (refreshes) tell `started` and wait for `release`.
struct SlowRefresh {
    calls: AtomicU64,
    started: Mutex<Sender<()>>,
    release: Mutex<Receiver<()>>,
}

impl Loader<u64, u64> for SlowRefresh {
    type Error = Down;
    fn load(&self, key: &u64) -> Result<Option<u64>, Down> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        if n > 0 {
            self.started.lock().send(()).unwrap();
            self.release.lock().recv().unwrap();
        }
        Ok(Some(key + n))
    }
}

#[test]
fn refresh_after_serves_at_once_and_refreshes_once() {
    let clock = ManualClock::new();
    let (started_tx, started) = channel();
    let (release, release_rx) = channel();
    let loader =
        SlowRefresh { calls: AtomicU64::new(0), started: Mutex::new(started_tx), release: Mutex::new(release_rx) };
    let loader = Arc::new(loader);
    struct Shared(Arc<SlowRefresh>);
    impl Loader<u64, u64> for Shared {
        type Error = Down;
        fn load(&self, key: &u64) -> Result<Option<u64>, Down> {
            self.0.load(key)
        }
    }
    let cache = builder()
        .loader(Shared(Arc::clone(&loader)))
        .clock(clock.clone())
        .time_to_live(60 * SEC)
        .refresh_after(10 * SEC)
        .build()
        .unwrap();
    assert_eq!(cache.get(&100), Ok(Some(100)));
    clock.advance(11 * SEC);
    // The first read past the age starts the refresh, which now waits.
    assert_eq!(cache.get(&100), Ok(Some(100)));
    started.recv().unwrap();
    // While the refresh is provably running, every read answers at once
    // with the current value (a read that waited would never finish: the
    // loader is only released after all of them).
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let cache = cache.clone();
            thread::spawn(move || (0..100).all(|_| cache.get(&100) == Ok(Some(100))))
        })
        .collect();
    assert!(readers.into_iter().all(|t| t.join().unwrap()));
    assert_eq!(cache.get_many(&[100]), Ok(vec![Some(100)]));
    assert_eq!(loader.calls.load(Ordering::SeqCst), 2, "one refresh for 802 reads");
    assert_eq!(cache.stats().refreshes, 1);
    release.send(()).unwrap();
    eventually("reads see the refreshed value", || cache.get(&100) == Ok(Some(101)));
    assert_eq!(loader.calls.load(Ordering::SeqCst), 2);
    let stats = cache.stats();
    assert_eq!((stats.loads, stats.refreshes, stats.stale_serves), (2, 1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_refresh_runs_on_the_given_spawner() {
    let clock = ManualClock::new();
    let gate = Gate::default();
    let (b, calls) = gated(&gate, |n| n > 0, |k, n| Ok(Some(k + n)));
    let cache = b
        .spawner(|task: RefreshTask| {
            tokio::spawn(task);
        })
        .clock(clock.clone())
        .time_to_live(60 * SEC)
        .refresh_after(10 * SEC)
        .build()
        .unwrap();
    assert_eq!(cache.get_async(&1).await, Ok(Some(1)));
    clock.advance(20 * SEC);
    let reads: Vec<_> = (0..200)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { cache.get_async(&1).await })
        })
        .collect();
    for r in reads {
        assert_eq!(r.await.unwrap(), Ok(Some(1)), "served before the gate opens");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    gate.open();
    let start = Instant::now();
    while cache.get_async(&1).await != Ok(Some(2)) {
        assert!(start.elapsed() < Duration::from_secs(5), "refresh never landed");
        tokio::task::yield_now().await;
    }
    assert_eq!(cache.stats().refreshes, 1);
}

#[test]
fn stale_while_revalidate_serves_the_old_value_and_refreshes() {
    let clock = ManualClock::new();
    let (b, _) = counting(|k, n| Ok(Some(k + n)));
    let cache = b.clock(clock.clone()).time_to_live(10 * SEC).stale_while_revalidate(5 * SEC).build().unwrap();
    assert_eq!(cache.get(&10), Ok(Some(10)));
    clock.advance(12 * SEC);
    assert_eq!(cache.get(&10), Ok(Some(10)), "stale, at once");
    eventually("the refresh lands", || cache.get(&10) == Ok(Some(11)));
    let stats = cache.stats();
    assert!(stats.stale_serves >= 1 && stats.refreshes == 1, "{stats:?}");
    // Past the window, a read loads (and waits).
    clock.advance(16 * SEC);
    assert_eq!(cache.get(&10), Ok(Some(12)));
}

// ---------- Errors and absences ----------

#[test]
fn stale_if_error_keeps_serving_the_last_good_value() {
    let clock = ManualClock::new();
    let failing = Arc::new(AtomicBool::new(false));
    let f = Arc::clone(&failing);
    let reported = Arc::new(Mutex::new(Vec::new()));
    let r = Arc::clone(&reported);
    let cache = builder()
        .loader_fn(move |k: &u64| if f.load(Ordering::SeqCst) { Err(Down(*k)) } else { Ok(Some(*k)) })
        .error_listener(move |k: &u64, e: &Down| r.lock().push((*k, e.0)))
        .clock(clock.clone())
        .time_to_live(10 * SEC)
        .stale_if_error(60 * SEC)
        .build()
        .unwrap();
    assert_eq!(cache.get_many(&[1, 2]), Ok(vec![Some(1), Some(2)]));
    failing.store(true, Ordering::SeqCst);
    clock.advance(11 * SEC);
    assert_eq!(cache.get(&1), Ok(Some(1)), "the backend is down: the stale value");
    assert_eq!(cache.get_many(&[1, 2]), Ok(vec![Some(1), Some(2)]));
    assert_eq!(cache.get(&3), Err(Arc::new(Down(3))), "nothing to fall back on");
    let stats = cache.stats();
    assert_eq!((stats.loads, stats.load_failures, stats.stale_serves), (4, 3, 3), "{stats:?}");
    // The batch's one error (the default `load_many` stops at key 1) is
    // reported for each of its keys.
    assert_eq!(*reported.lock(), vec![(1, 1), (1, 1), (2, 1), (3, 3)]);
    // Past the window the error shows.
    clock.advance(60 * SEC);
    assert_eq!(cache.get(&1), Err(Arc::new(Down(1))));
    // The backend recovers.
    failing.store(false, Ordering::SeqCst);
    assert_eq!(cache.get(&1), Ok(Some(1)));
}

#[test]
fn absences_are_cached_for_the_negative_ttl() {
    let clock = ManualClock::new();
    let (b, calls) = counting(|k, _| Ok((k < 100).then_some(k)));
    let cache = b.clock(clock.clone()).time_to_live(60 * SEC).negative_ttl(5 * SEC).build().unwrap();
    for _ in 0..10 {
        assert_eq!(cache.get(&404), Ok(None));
    }
    assert_eq!(cache.get_many(&[404, 1]), Ok(vec![None, Some(1)]));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(cache.stats().negative_hits, 10);
    clock.advance(5 * SEC);
    assert_eq!(cache.get(&404), Ok(None));
    assert_eq!(calls.load(Ordering::SeqCst), 3, "the absence expired");
}

#[test]
fn without_a_negative_ttl_absences_are_not_cached() {
    let (b, calls) = counting(|_, _| Ok(None));
    let cache = b.build().unwrap();
    for _ in 0..3 {
        assert_eq!(cache.get(&404), Ok(None));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert!(cache.is_empty());
}

// ---------- Jitter ----------

#[test]
fn jittered_ttls_differ_and_stay_within_bounds() {
    let clock = ManualClock::new();
    let (b, calls) = counting(|k, _| Ok(Some(k)));
    let cache = b.clock(clock.clone()).time_to_live(100 * SEC).ttl_jitter(0.2).build().unwrap();
    let keys: Vec<u64> = (0..200).collect();
    let loads = || calls.load(Ordering::SeqCst);
    cache.get_many(&keys).unwrap();
    assert_eq!(loads(), 200);
    // Every TTL is at least 80 s: nothing reloads before.
    clock.advance(Duration::from_millis(79_999));
    cache.get_many(&keys).unwrap();
    assert_eq!(loads(), 200);
    // At 100 s some have expired and some have not.
    clock.advance(Duration::from_millis(20_001));
    cache.get_many(&keys).unwrap();
    let reloaded = loads() - 200;
    assert!((20..180).contains(&reloaded), "{reloaded} of 200 expired at the nominal TTL");
    // Every TTL is at most 120 s: all the others expire by then.
    clock.advance(Duration::from_millis(20_001));
    cache.get_many(&keys).unwrap();
    assert_eq!(loads(), 400);
}

// ---------- Batches ----------

/// Records every batch `load_many` receives.
#[derive(Default, Clone)]
struct Batches(Arc<Mutex<Vec<Vec<u64>>>>);

impl Loader<u64, u64> for Batches {
    type Error = Down;
    fn load(&self, key: &u64) -> Result<Option<u64>, Down> {
        self.load_many(std::slice::from_ref(key)).map(|mut v| v.pop().and_then(|(_, v)| v))
    }
    fn load_many(&self, keys: &[u64]) -> Result<Vec<(u64, Option<u64>)>, Down> {
        self.0.lock().push(keys.to_vec());
        // Odd keys exist; even keys are left out of the answer (absent).
        Ok(keys.iter().filter(|k| *k % 2 == 1).map(|&k| (k, Some(k * 2))).collect())
    }
}

#[test]
fn get_many_batches_all_misses_into_one_load() {
    let batches = Batches::default();
    let cache = builder().loader(batches.clone()).negative_ttl(SEC).build().unwrap();
    assert_eq!(cache.get(&1), Ok(Some(2)));
    let got = cache.get_many(&[1, 3, 4, 5, 3, 1]).unwrap();
    assert_eq!(got, vec![Some(2), Some(6), None, Some(10), Some(6), Some(2)]);
    let mut last = batches.0.lock().last().cloned().unwrap();
    last.sort_unstable();
    assert_eq!(last, vec![3, 4, 5], "every miss, once, in one call");
    assert_eq!(batches.0.lock().len(), 2);
    assert_eq!(cache.get_many(&[1, 3, 4, 5]).unwrap(), vec![Some(2), Some(6), None, Some(10)]);
    assert_eq!(batches.0.lock().len(), 2, "all cached now");
    assert_eq!(cache.get_many(&[]), Ok(vec![]));
}

#[test]
fn concurrent_batches_load_each_key_once() {
    let batches = Batches::default();
    let cache = builder().loader(batches.clone()).build().unwrap();
    let keys: Vec<u64> = (1..=199).step_by(2).collect();
    let barrier = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (cache, barrier, keys) = (cache.clone(), Arc::clone(&barrier), keys.clone());
            thread::spawn(move || {
                barrier.wait();
                cache.get_many(&keys).unwrap()
            })
        })
        .collect();
    let want: Vec<Option<u64>> = keys.iter().map(|k| Some(k * 2)).collect();
    assert!(threads.into_iter().all(|t| t.join().unwrap() == want));
    let mut loaded: Vec<u64> = batches.0.lock().iter().flatten().copied().collect();
    loaded.sort_unstable();
    assert_eq!(loaded, keys, "each key loaded exactly once across all batches");
    assert!(batches.0.lock().len() <= 8);
}

#[test]
fn a_batch_waits_for_a_key_a_single_read_is_loading() {
    let gate = Gate::default();
    let g = gate.clone();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    struct Gated(Gate, Arc<Mutex<Vec<Vec<u64>>>>);
    impl AsyncLoader<u64, u64> for Gated {
        type Error = Down;
        async fn load(&self, key: &u64) -> Result<Option<u64>, Down> {
            self.1.lock().push(vec![*key]);
            self.0.pass().await;
            Ok(Some(*key))
        }
        async fn load_many(&self, keys: &[u64]) -> Result<Vec<(u64, Option<u64>)>, Down> {
            self.1.lock().push(keys.to_vec());
            Ok(keys.iter().map(|&k| (k, Some(k))).collect())
        }
    }
    let cache = builder().async_loader(Gated(g, s)).build().unwrap();
    let mut single = Box::pin(cache.get_async(&2));
    assert!(poll_once(&mut single).is_none());
    let mut batch = Box::pin(cache.get_many_async(&[1, 2, 3]));
    assert!(poll_once(&mut batch).is_none(), "1 and 3 loaded, 2 waited for");
    assert_eq!(*seen.lock(), vec![vec![2], vec![1, 3]]);
    gate.open();
    // (The single read's future leads key 2: it must be polled to finish.)
    assert_eq!(block_on(single), Ok(Some(2)));
    assert_eq!(block_on(batch), Ok(vec![Some(1), Some(2), Some(3)]));
}

// ---------- Configuration and plain operations ----------

#[test]
fn bad_configurations_are_refused() {
    let e = |b: Result<LoadingCache<u64, u64, Down>, ConfigError>| b.err();
    let ok = || builder().loader_fn(|k: &u64| Ok::<_, Down>(Some(*k)));
    assert_eq!(builder().build().err(), Some(ConfigError::MissingLoader));
    assert_eq!(
        e(ok().stale_while_revalidate(SEC).build()),
        Some(ConfigError::Requires { option: "stale_while_revalidate", needs: "time_to_live" })
    );
    assert_eq!(
        e(ok().time_to_live(SEC).ttl_jitter(1.0).build()),
        Some(ConfigError::OutOfRange { option: "ttl_jitter", range: "a fraction in [0, 1)" })
    );
    assert!(e(ok().time_to_live(SEC).ttl_jitter(f64::NAN).build()).is_some());
    assert_eq!(e(ok().refresh_after(Duration::ZERO).build()), Some(ConfigError::ZeroDuration("refresh_after")));
    let no_spawner =
        builder().async_loader_fn(|k: u64| async move { Ok::<_, Down>(Some(k)) }).refresh_after(SEC).build().err();
    assert_eq!(
        no_spawner,
        Some(ConfigError::Requires { option: "refresh_after", needs: "a spawner with an async loader" })
    );
}

#[test]
fn insert_and_invalidate() {
    let (b, calls) = counting(|k, _| Ok(Some(k)));
    let cache = b.build().unwrap();
    cache.insert(1, 111);
    assert_eq!(cache.get(&1), Ok(Some(111)));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    cache.invalidate(&1);
    assert_eq!(cache.get(&1), Ok(Some(1)));
    cache.invalidate_all();
    assert!(cache.is_empty());
    assert_eq!(cache.cache_stats().hits, 1);
}
