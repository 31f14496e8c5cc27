//! Blocking pops (BLPOP, BRPOP, BLMOVE, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP):
//! callers wait on keys and are served in FIFO order when data arrives.
//!
//! # Design
//!
//! A blocked caller is a *waiter*, queued on each of its keys in one
//! registry (key → FIFO queue, under one mutex). A waiter runs its
//! `attempt` (the command's non-blocking form) only after being woken, and
//! only the head of a key's queue is ever woken:
//!
//! - by [`Blocking::serve`], when a write that added data to the key has
//!   released its locks (`Tx::signal_ready`);
//! - by its own registration, when it arrives at the head of some queue
//!   (its re-check: data may have come between its first try and its
//!   registration, when nobody was there to be woken);
//! - by the waiter ahead of it leaving (served, timed out or failed): that
//!   one may have left data behind, or a wake-up it did not use.
//!
//! A woken waiter that finds nothing keeps its place and sleeps again; one
//! that is served leaves and wakes the next, so one push of many items
//! serves several waiters in their order. A caller that finds waiters on
//! any of its keys queues behind them instead of trying first.
//!
//! No wake-up is lost: a waiter registers (and bumps the counter writers
//! read) before its re-check, and the re-check takes the keys' shard locks,
//! so a write either happened before the re-check (which sees its data) or
//! sees the counter and calls `serve` after the registration. Locks are
//! taken in one order (registry, then a waiter's flag), and neither is held
//! while `attempt` takes shard locks, so none of this can deadlock.
//!
//! Timeouts are wall-clock time (a manual clock cannot wake a sleeper).

use super::command::Command;
use super::keyspace::Key;
use super::{Db, DbError, DbResult, Shared};
use parking_lot::{Condvar, Mutex};
use smallvec::SmallVec;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The blocking commands live with their families (`list`, `zset`).
pub(super) const COMMANDS: &[Command] = &[];

/// The registry of blocked callers.
#[derive(Debug, Default)]
pub(crate) struct Blocking {
    /// Registered waiters, all keys together: the writers' fast check.
    waiting: AtomicUsize,
    /// Each key's waiters, first come first.
    queues: Mutex<HashMap<Key, VecDeque<Arc<Waiter>>>>,
}

/// One blocked caller: a wake-up flag it sleeps on.
#[derive(Debug, Default)]
struct Waiter {
    woken: Mutex<bool>,
    cond: Condvar,
}

impl Waiter {
    fn wake(&self) {
        *self.woken.lock() = true;
        self.cond.notify_one();
    }

    /// Sleeps until woken or `deadline` (`None`: no deadline). Returns
    /// whether it was woken, consuming the wake-up.
    fn wait(&self, deadline: Option<Instant>) -> bool {
        let mut woken = self.woken.lock();
        while !*woken {
            match deadline {
                Some(d) => {
                    if self.cond.wait_until(&mut woken, d).timed_out() {
                        break;
                    }
                }
                None => self.cond.wait(&mut woken),
            }
        }
        std::mem::take(&mut *woken)
    }
}

impl Blocking {
    /// Whether any caller waits (writers skip the rest when none does).
    pub(crate) fn has_waiters(&self) -> bool {
        self.waiting.load(Ordering::SeqCst) > 0
    }

    /// Serves the callers waiting on `keys`, first come first served: wakes
    /// the first waiter of each key.
    pub(crate) fn serve(&self, _db: &Shared, keys: &[Key]) {
        let queues = self.queues.lock();
        for key in keys {
            if let Some(w) = queues.get(key).and_then(VecDeque::front) {
                w.wake();
            }
        }
    }

    /// Whether anyone waits on one of `keys`.
    fn queued_on(&self, keys: &[&[u8]]) -> bool {
        self.has_waiters() && {
            let queues = self.queues.lock();
            keys.iter().any(|k| queues.contains_key(*k))
        }
    }

    /// Queues `w` behind the waiters of each of `keys` (distinct), waking
    /// it at once if it heads a queue.
    fn register(&self, keys: &[&[u8]], w: &Arc<Waiter>) {
        let mut queues = self.queues.lock();
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let mut head = false;
        for &key in keys {
            match queues.get_mut(key) {
                Some(q) => q.push_back(Arc::clone(w)),
                None => {
                    queues.insert(key.into(), VecDeque::from([Arc::clone(w)]));
                    head = true;
                }
            }
        }
        if head {
            w.wake();
        }
    }

    /// Takes `w` out of the queues of `keys`, waking the next waiter of
    /// each queue it headed (it may leave data or a wake-up behind).
    fn leave(&self, keys: &[&[u8]], w: &Arc<Waiter>) {
        let mut queues = self.queues.lock();
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        for &key in keys {
            let Some(q) = queues.get_mut(key) else { continue };
            let headed = q.front().is_some_and(|f| Arc::ptr_eq(f, w));
            q.retain(|x| !Arc::ptr_eq(x, w));
            match q.front() {
                None => {
                    queues.remove(key);
                }
                Some(next) if headed => next.wake(),
                Some(_) => {}
            }
        }
    }

    /// How many callers wait on `key`.
    #[cfg(test)]
    pub(crate) fn waiters_on(&self, key: &[u8]) -> usize {
        self.queues.lock().get(key).map_or(0, VecDeque::len)
    }
}

/// A waiter's place in the queues; leaving them when dropped (served,
/// timed out, failed, or unwinding from a panic in `attempt`).
struct Registration<'a> {
    blocking: &'a Blocking,
    keys: SmallVec<[&'a [u8]; 4]>,
    waiter: Arc<Waiter>,
}

impl<'a> Registration<'a> {
    fn new(blocking: &'a Blocking, keys: &[&'a [u8]]) -> Self {
        let mut keys: SmallVec<[&[u8]; 4]> = keys.iter().copied().collect();
        keys.sort_unstable();
        keys.dedup();
        let waiter = Arc::new(Waiter::default());
        blocking.register(&keys, &waiter);
        Registration { blocking, keys, waiter }
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.blocking.leave(&self.keys, &self.waiter);
    }
}

/// Cancels the wait of a blocking command run by
/// [`Db::execute_cancellable`] from another thread: a server whose client
/// went away cancels, so the command stops waiting and takes nothing that
/// later arrives (it would be lost on a closed connection).
#[derive(Debug, Default)]
pub struct BlockCancel {
    cancelled: AtomicBool,
    /// The waiter to wake, once the command has queued.
    waiter: Mutex<Option<Arc<Waiter>>>,
    /// The wait's deadline once it began (`Some(None)`: no deadline), kept
    /// by [`BlockCancel::resumed`] so that a wait moved elsewhere ends when
    /// the first would have.
    deadline: Mutex<Option<Option<Instant>>>,
}

impl BlockCancel {
    /// A token, not cancelled.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Cancels: a waiting command returns its timeout reply at once.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        if let Some(w) = self.waiter.lock().as_ref() {
            w.wake();
        }
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// A new token for the same wait run again (on another `Db`, after
    /// this one was cancelled): not cancelled, with the deadline this
    /// wait began with, if it began, so the timeout counts from the first
    /// start.
    pub fn resumed(&self) -> Arc<Self> {
        let token = Self::new();
        *token.deadline.lock() = *self.deadline.lock();
        token
    }
}

thread_local! {
    /// The cancel token of the command this thread runs, if any.
    static CANCEL: RefCell<Option<Arc<BlockCancel>>> = const { RefCell::new(None) };
}

/// Clears this thread's token when the command ends (or unwinds).
struct CancelScope;

impl Drop for CancelScope {
    fn drop(&mut self) {
        CANCEL.with(|c| c.borrow_mut().take());
    }
}

impl Db {
    /// [`Db::execute`], but a blocking command's wait ends as soon as
    /// `cancel` is cancelled (from another thread), answering as on a
    /// timeout and taking nothing.
    pub fn execute_cancellable<A: AsRef<[u8]>>(&self, args: &[A], cancel: &Arc<BlockCancel>) -> super::Reply {
        CANCEL.with(|c| *c.borrow_mut() = Some(Arc::clone(cancel)));
        let _scope = CancelScope;
        self.execute(args)
    }

    /// Runs `attempt` until it returns `Some`, waiting between tries for one
    /// of `keys` to receive data, at most `timeout` (`None`: forever).
    /// Returns `Ok(None)` on timeout, and the first error `attempt` returns.
    pub(crate) fn block_on<R>(
        &self,
        keys: &[&[u8]],
        timeout: Option<Duration>,
        mut attempt: impl FnMut(&Db) -> DbResult<Option<R>>,
    ) -> DbResult<Option<R>> {
        let blocking = &self.inner.blocking;
        let cancel = CANCEL.with(|c| c.borrow().clone());
        let cancelled = || cancel.as_ref().is_some_and(|c| c.is_cancelled());
        // First come first served: with callers already waiting on one of
        // these keys, queue behind them rather than take their data.
        if !blocking.queued_on(keys)
            && let Some(r) = attempt(self)?
        {
            return Ok(Some(r));
        }
        let fresh = timeout.and_then(|t| Instant::now().checked_add(t));
        // A resumed wait keeps the deadline it began with.
        let deadline = match &cancel {
            Some(c) => *c.deadline.lock().get_or_insert(fresh),
            None => fresh,
        };
        let place = Registration::new(blocking, keys);
        if let Some(c) = &cancel {
            *c.waiter.lock() = Some(Arc::clone(&place.waiter));
        }
        // Checked after the waiter is known to the token: a cancel either
        // came before (seen here) or wakes the waiter.
        while !cancelled() && place.waiter.wait(deadline) {
            if cancelled() {
                break;
            }
            if let Some(r) = attempt(self)? {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }
}

/// Parses a blocking command's `timeout` in seconds as Redis does: read
/// as a `long double` (`strtold`), times 1000 and rounded up to the
/// millisecond in `long double` (so `-0.001` s is `-0.99999…` ms, rounded
/// to 0: forever, as in Redis); 0 is forever (`None`); Redis's errors for
/// a negative, unreadable or overflowing one.
pub(crate) fn parse_timeout(db: &Db, arg: &[u8]) -> DbResult<Option<Duration>> {
    use super::string::{LongDouble, Number, parse_long_double};
    const OUT_OF_RANGE: DbError = DbError::OutOfRange("timeout is out of range");
    let secs = match parse_long_double(arg).ok_or(DbError::Timeout)? {
        Number::Finite(secs) => secs,
        Number::Infinite if arg.first() == Some(&b'-') => return Err(DbError::NegativeTimeout),
        Number::Infinite => return Err(OUT_OF_RANGE),
    };
    // Redis refuses `ftval > LLONG_MAX`, then takes `ceill`: for a
    // positive value that is a ceiling of 2^63 or more.
    let ms = secs.mul_small(1000).and_then(LongDouble::ceil_i64).ok_or(OUT_OF_RANGE)?;
    if ms < 0 {
        return Err(DbError::NegativeTimeout);
    }
    if ms == 0 {
        return Ok(None);
    }
    // Redis also refuses a deadline (now + timeout) past `LLONG_MAX` ms.
    if ms > i64::MAX - db.inner.unix_ms(db.now()).max(0) {
        return Err(OUT_OF_RANGE);
    }
    Ok(Some(Duration::from_millis(ms.unsigned_abs())))
}

#[cfg(test)]
mod tests;
