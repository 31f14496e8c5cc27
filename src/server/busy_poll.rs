//! Busy polling: after a connection on this thread has done some work,
//! the thread keeps polling its sockets (without blocking) for a short
//! while before it lets itself sleep, as Seastar's reactor does for its
//! `idle-poll-time`.
//!
//! A server thread that sleeps in `epoll_wait` between two requests is
//! woken by the kernel when the next one comes, and the wake-up is paid
//! twice: by the sender, whose `write` has to schedule the sleeper, and by
//! the request, which waits for it. Under a steady load the next request
//! is microseconds away, and polling for it is cheaper than both. Once
//! nothing has come for [`budget`](spin) the thread sleeps as before, so
//! an idle server costs nothing; a lightly loaded one costs up to the
//! budget of CPU time per request.
//!
//! How: a task of the thread's own ([`spin`]) calls `yield_now` in a loop.
//! A tokio current-thread runtime with a yielded task polls its I/O driver
//! with a zero timeout instead of blocking, then runs whatever became
//! ready, so a request that arrives while it spins is served at once (it
//! does not wait for the spin to end). On a thread with a CPU slice
//! (`cpu_slice`), each turn also yields the core to any thread waiting
//! for it, so the polling holds the core only while nothing else wants
//! it. Connections mark their work with
//! [`worked`], which wakes the spinner when it has gone to sleep. On a
//! multi-thread runtime there is no spinner (yielding there would keep a
//! worker stealing); [`worked`] then does nothing but a thread-local read.

use std::cell::Cell;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

thread_local! {
    /// Work done on this thread, counted by [`worked`].
    static WORK: Cell<u64> = const { Cell::new(0) };
    /// The spinner's waker while it sleeps.
    static SLEEPING: Cell<Option<Waker>> = const { Cell::new(None) };
}

/// Marks that a connection on this thread did some work (a batch of
/// requests), waking this thread's spinner if it sleeps.
#[inline]
pub(super) fn worked() {
    WORK.with(|w| w.set(w.get().wrapping_add(1)));
    if let Some(waker) = SLEEPING.with(Cell::take) {
        waker.wake();
    }
}

fn work() -> u64 {
    WORK.with(Cell::get)
}

/// Whether a spinner on this thread sleeps, its waker parked.
fn asleep() -> bool {
    SLEEPING.with(|s| {
        let w = s.take();
        let asleep = w.is_some();
        s.set(w);
        asleep
    })
}

/// Sleeps until [`worked`] is called on this thread.
async fn until_work() {
    let mut registered = false;
    std::future::poll_fn(|cx| {
        // Woken: `worked` took the waker out.
        if registered && !asleep() {
            return Poll::Ready(());
        }
        SLEEPING.with(|s| s.set(Some(cx.waker().clone())));
        registered = true;
        Poll::Pending
    })
    .await;
}

/// The spinner of a current-thread runtime: each time a connection on
/// this thread works, it polls without blocking until `budget` passes
/// with no more work, then sleeps until the next work. It runs until it is
/// dropped; a zero budget returns at once. One spinner per thread serves
/// every connection on it.
pub(super) async fn spin(budget: Duration) {
    if budget.is_zero() {
        return;
    }
    /// Takes the waker of a dropped spinner out of the thread-local.
    struct Unregister;
    impl Drop for Unregister {
        fn drop(&mut self) {
            SLEEPING.with(Cell::take);
        }
    }
    let _unregister = Unregister;
    loop {
        until_work().await;
        let mut seen = work();
        let mut last = Instant::now();
        loop {
            tokio::task::yield_now().await;
            super::cpu_slice::spun();
            let now = work();
            if now != seen {
                seen = now;
                last = Instant::now();
            } else if last.elapsed() >= budget {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn current_thread() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    #[test]
    fn the_spinner_sleeps_until_work_then_polls_for_its_budget() {
        current_thread().block_on(async {
            let spinner = tokio::spawn(spin(Duration::from_millis(20)));
            tokio::task::yield_now().await;
            assert!(asleep(), "no work yet");
            let started = Instant::now();
            worked();
            tokio::task::yield_now().await;
            assert!(!asleep(), "spinning after work");
            // It keeps the thread polling: this loop of yields would block
            // on the I/O driver at once without it, and ends only when the
            // spinner has gone back to sleep, its budget spent.
            while !asleep() {
                tokio::task::yield_now().await;
            }
            assert!(started.elapsed() >= Duration::from_millis(20));
            // More work wakes it again.
            worked();
            tokio::task::yield_now().await;
            assert!(!asleep());
            spinner.abort();
            let _ = spinner.await;
            assert!(!asleep(), "a dropped spinner leaves no waker behind");
        });
    }

    #[test]
    fn a_zero_budget_never_spins() {
        current_thread().block_on(async {
            // It returns at once, without waiting for work.
            let done = tokio::time::timeout(Duration::from_secs(5), spin(Duration::ZERO)).await;
            assert!(done.is_ok(), "a zero budget waited");
            assert!(!asleep(), "a zero budget parked a waker");
        });
    }
}
