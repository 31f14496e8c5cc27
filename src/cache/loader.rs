//! Cache-aside with request coalescing: `get_or_insert_with` and friends.
//!
//! One implementation serves threads and tasks (STYLE.md, convention 5): a
//! miss registers a *flight* for its key in a striped table; the first caller
//! leads (runs the loader), later callers of the same key wait on the flight
//! (a condition variable for threads, a waker list for tasks) and receive
//! the leader's value or error. The leader stores the value in the cache
//! *before* it retires the flight, so a caller arriving in between finds the
//! value and never starts a second load.
//!
//! A leader that panics, or whose future is dropped, abandons its flight:
//! its waiters wake up and one of them leads a new load, so a key is never
//! poisoned. A failed load is not cached; its error (shared as `Arc<E>`)
//! reaches every waiter that asked with the same error type.

use super::Cache;
use crate::stats::Counter;
use hashbrown::HashTable;
use parking_lot::{Condvar, Mutex};
use std::any::Any;
use std::convert::Infallible;
use std::future::Future;
use std::hash::{BuildHasher, Hash};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

type SharedError = Arc<dyn Any + Send + Sync>;
/// A flight's end as a waiter sees it: `None` if the leader gave up.
pub(super) type Outcome<V> = Option<Result<V, SharedError>>;

enum State<V> {
    Running(Vec<Waker>),
    Done(Result<V, SharedError>),
    Abandoned,
}

/// One load in progress, shared by its leader and its waiters.
pub(super) struct Flight<V> {
    state: Mutex<State<V>>,
    cond: Condvar,
}

impl<V: Clone> Flight<V> {
    fn new() -> Self {
        Flight { state: Mutex::new(State::Running(Vec::new())), cond: Condvar::new() }
    }

    fn outcome(state: &State<V>) -> Option<Outcome<V>> {
        match state {
            State::Running(_) => None,
            State::Done(r) => Some(Some(r.clone())),
            State::Abandoned => Some(None),
        }
    }

    fn wait_blocking(&self) -> Outcome<V> {
        let mut s = self.state.lock();
        loop {
            if let Some(o) = Self::outcome(&s) {
                return o;
            }
            self.cond.wait(&mut s);
        }
    }

    fn poll_wait(&self, cx: &mut Context<'_>) -> Poll<Outcome<V>> {
        let mut s = self.state.lock();
        if let Some(o) = Self::outcome(&s) {
            return Poll::Ready(o);
        }
        if let State::Running(wakers) = &mut *s
            && !wakers.iter().any(|w| w.will_wake(cx.waker()))
        {
            wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl<V> Flight<V> {
    fn finish(&self, end: State<V>) {
        let wakers = match std::mem::replace(&mut *self.state.lock(), end) {
            State::Running(w) => w,
            _ => Vec::new(),
        };
        self.cond.notify_all();
        for w in wakers {
            w.wake();
        }
    }
}

/// Waits for a flight from async code.
struct FlightWait<V>(Arc<Flight<V>>);

impl<V: Clone> Future for FlightWait<V> {
    type Output = Outcome<V>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.poll_wait(cx)
    }
}

type Stripe<K, V> = Mutex<HashTable<(u64, K, Arc<Flight<V>>)>>;

/// The table of loads in progress, striped like the cache's shards.
pub(super) struct Flights<K, V> {
    stripes: Box<[Stripe<K, V>]>,
    mask: u64,
}

impl<K, V> Flights<K, V> {
    pub(super) fn new(n: usize) -> Self {
        let n = n.max(1).next_power_of_two();
        Flights { stripes: (0..n).map(|_| Mutex::new(HashTable::new())).collect(), mask: n as u64 - 1 }
    }

    fn stripe(&self, hash: u64) -> &Stripe<K, V> {
        &self.stripes[((hash >> 32) & self.mask) as usize]
    }
}

/// What a caller that wants `key` does next ([`Cache::join`]).
pub(super) enum Join<R, K, V, S>
where
    K: Hash + Eq,
    S: BuildHasher,
{
    /// The cache answered.
    Value(R),
    /// No load was running: this caller leads one.
    Lead(Leader<K, V, S>),
    /// Another caller is loading: wait for its outcome.
    Wait(Waiting<V>),
}

/// A load in progress that this caller waits for.
pub(super) struct Waiting<V>(Arc<Flight<V>>);

impl<V: Clone> Waiting<V> {
    /// Blocks the thread until the load ends.
    pub(super) fn blocking(self) -> Outcome<V> {
        self.0.wait_blocking()
    }

    /// Waits for the load to end without blocking a thread.
    pub(super) async fn wait(self) -> Outcome<V> {
        FlightWait(self.0).await
    }
}

/// The leader's duty: retire the flight however the load ends. It owns a
/// handle to the cache so that a load may run in the background (a
/// refresh); if it is dropped unfinished (the loader panicked or its future
/// was dropped) the flight is abandoned and a waiter takes over.
pub(super) struct Leader<K, V, S>
where
    K: Hash + Eq,
    S: BuildHasher,
{
    cache: Cache<K, V, S>,
    hash: u64,
    flight: Arc<Flight<V>>,
    started: Instant,
    finished: bool,
}

impl<K, V, S> Leader<K, V, S>
where
    K: Hash + Eq,
    S: BuildHasher,
{
    /// Wakes the waiters with `v` (store it in the cache first, so that a
    /// caller arriving in between finds it).
    pub(super) fn succeed(mut self, v: V) {
        self.retire(State::Done(Ok(v)), true);
    }

    /// Wakes the waiters with the error (those asking with another error
    /// type try again).
    pub(super) fn fail<E: Send + Sync + 'static>(mut self, e: &Arc<E>) {
        let shared: SharedError = e.clone();
        self.retire(State::Done(Err(shared)), false);
    }

    fn retire(&mut self, end: State<V>, success: bool) {
        self.finished = true;
        let engine = &self.cache.inner.engine;
        engine.count(if success { Counter::LoadSuccess } else { Counter::LoadFailure }, 1);
        let nanos = u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        engine.count(Counter::LoadNanos, nanos);
        let stripe = self.cache.inner.flights.stripe(self.hash);
        if let Ok(e) = stripe.lock().find_entry(self.hash, |(_, _, f)| Arc::ptr_eq(f, &self.flight)) {
            e.remove();
        }
        // Outside the stripe lock.
        self.flight.finish(end);
    }
}

impl<K, V, S> Drop for Leader<K, V, S>
where
    K: Hash + Eq,
    S: BuildHasher,
{
    fn drop(&mut self) {
        if !self.finished {
            // The loader panicked or its future was dropped.
            self.retire(State::Abandoned, false);
        }
    }
}

/// What a waiter does with a flight's outcome: `Some` to return, `None`
/// to try again (the leader gave up, or failed with another error type).
pub(super) fn settle<V, E: Send + Sync + 'static>(outcome: Outcome<V>) -> Option<Result<V, Arc<E>>> {
    match outcome? {
        Ok(v) => Some(Ok(v)),
        Err(any) => any.downcast::<E>().ok().map(Err),
    }
}

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq + Clone,
    V: Clone,
    S: BuildHasher,
{
    /// Joins the loads of `key`: `probe(cache, touch)` says whether the
    /// cache can answer (asked once with `touch`, counting as an access,
    /// and once more, without, under the flight table's lock); if not, the
    /// caller waits for the load in progress or leads a new one.
    pub(super) fn join<R>(&self, key: &K, hash: u64, probe: impl Fn(&Self, bool) -> Option<R>) -> Join<R, K, V, S> {
        if let Some(r) = probe(self, true) {
            return Join::Value(r);
        }
        self.enter(key, hash, || probe(self, false))
    }

    /// Starts a load of `key` unless one is running or `needed` (asked
    /// under the flight table's lock) says it is no longer needed: how a
    /// refresh makes sure that it runs once, not once per reader.
    pub(super) fn lead_if(&self, key: &K, hash: u64, needed: impl FnOnce(&Self) -> bool) -> Option<Leader<K, V, S>> {
        match self.enter(key, hash, || (!needed(self)).then_some(())) {
            Join::Lead(leader) => Some(leader),
            Join::Value(()) | Join::Wait(_) => None,
        }
    }

    /// Waits for or leads the load of `key`, after a miss: `answered`,
    /// asked under the flight table's lock, says whether a load that ended
    /// meanwhile answered it.
    pub(super) fn enter<R>(&self, key: &K, hash: u64, answered: impl FnOnce() -> Option<R>) -> Join<R, K, V, S> {
        let stripe = self.inner.flights.stripe(hash);
        let mut table = stripe.lock();
        if let Some((_, _, f)) = table.find(hash, |(h, k, _)| *h == hash && k == key) {
            return Join::Wait(Waiting(Arc::clone(f)));
        }
        // A leader stores its value before retiring its flight: look again
        // now that we hold the stripe.
        if let Some(r) = answered() {
            return Join::Value(r);
        }
        let flight = Arc::new(Flight::new());
        table.insert_unique(hash, (hash, key.clone(), Arc::clone(&flight)), |(h, _, _)| *h);
        Join::Lead(Leader { cache: self.clone(), hash, flight, started: Instant::now(), finished: false })
    }

    fn join_plain(&self, key: &K, hash: u64) -> Join<V, K, V, S> {
        self.join(key, hash, |c, touch| if touch { c.get(key) } else { c.peek(key) })
    }

    /// Stores the leader's result and wakes the waiters.
    fn conclude<E: Send + Sync + 'static>(
        &self,
        leader: Leader<K, V, S>,
        key: K,
        r: Result<V, E>,
    ) -> Result<V, Arc<E>> {
        match r {
            Ok(v) => {
                self.insert(key, v.clone());
                leader.succeed(v.clone());
                Ok(v)
            }
            Err(e) => {
                let e = Arc::new(e);
                leader.fail(&e);
                Err(e)
            }
        }
    }

    /// Returns the value of `key`, running `init` to produce and store it on
    /// a miss. Concurrent callers for the same key wait for one `init`.
    ///
    /// ```
    /// use embercache::Cache;
    /// let cache: Cache<u32, String> = Cache::new(100);
    /// let v = cache.get_or_insert_with(7, || "seven".to_string());
    /// assert_eq!(v, "seven");
    /// assert_eq!(cache.get_or_insert_with(7, || unreachable!()), "seven");
    /// ```
    pub fn get_or_insert_with(&self, key: K, init: impl FnOnce() -> V) -> V {
        match self.try_get_or_insert_with(key, || Ok::<V, Infallible>(init())) {
            Ok(v) => v,
            Err(e) => match *e {},
        }
    }

    /// Like [`get_or_insert_with`](Self::get_or_insert_with) with a fallible
    /// loader. An error is not cached; it is returned to this caller and to
    /// every caller waiting on the same load (with the same `E`).
    pub fn try_get_or_insert_with<E>(&self, key: K, init: impl FnOnce() -> Result<V, E>) -> Result<V, Arc<E>>
    where
        E: Send + Sync + 'static,
    {
        let hash = self.inner.engine.hash(&key);
        loop {
            match self.join_plain(&key, hash) {
                Join::Value(v) => return Ok(v),
                Join::Wait(w) => {
                    if let Some(r) = settle(w.blocking()) {
                        return r;
                    }
                }
                Join::Lead(leader) => {
                    let r = init();
                    return self.conclude(leader, key, r);
                }
            }
        }
    }

    /// Async [`get_or_insert_with`](Self::get_or_insert_with): waits without
    /// blocking a thread; works on any executor (no runtime is needed). If
    /// this future is dropped while leading, another waiter takes over.
    pub async fn get_or_insert_with_async(&self, key: K, init: impl Future<Output = V>) -> V {
        match self.try_get_or_insert_with_async(key, async { Ok::<V, Infallible>(init.await) }).await {
            Ok(v) => v,
            Err(e) => match *e {},
        }
    }

    /// Async [`try_get_or_insert_with`](Self::try_get_or_insert_with).
    pub async fn try_get_or_insert_with_async<E>(
        &self,
        key: K,
        init: impl Future<Output = Result<V, E>>,
    ) -> Result<V, Arc<E>>
    where
        E: Send + Sync + 'static,
    {
        let hash = self.inner.engine.hash(&key);
        loop {
            let join = self.join_plain(&key, hash);
            match join {
                Join::Value(v) => return Ok(v),
                Join::Wait(w) => {
                    if let Some(r) = settle(w.wait().await) {
                        return r;
                    }
                }
                Join::Lead(leader) => {
                    let r = init.await;
                    return self.conclude(leader, key, r);
                }
            }
        }
    }
}
