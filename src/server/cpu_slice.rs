//! The CPU slice: a serving thread that has run requests for a slice
//! without letting go of its core yields it (`sched_yield`), so that the
//! threads waiting for that core run before the next round does.
//!
//! Under a steady load a serving thread never sleeps: each time it polls
//! its sockets something is ready. Where other threads share the cores (the
//! clients on the same host, or the application that embeds the server),
//! the kernel then lets it run until its time slice ends, and a client
//! whose reply it has just written waits for the core as long, its thread
//! woken but not running. That wait, not the server's work, is the tail:
//! `memaslap` with two threads against two serving threads on two cores
//! saw a p99 of about 7 ms without the yield and about 1.2 ms with it,
//! at the same throughput (BENCHMARKS.md). Where nothing else wants the
//! core, `sched_yield` returns at once, and a yield costs a system call
//! per slice.
//!
//! A thread's slice is set where its runtime starts ([`set`]: each of the
//! I/O threads, and the current-thread runtime that serves without them);
//! the serving loops mark their work with [`ran`], which reads the clock
//! and yields once the slice has passed since the last yield. Elsewhere,
//! on a multi-thread runtime, no slice is set and [`ran`] only reads a
//! thread-local.

use std::cell::Cell;
use std::time::{Duration, Instant};

thread_local! {
    /// This thread's slice (zero: it never yields).
    static SLICE: Cell<Duration> = const { Cell::new(Duration::ZERO) };
    /// When this thread yields next, once it has run requests by then.
    static DUE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Sets the slice of the current thread (zero: it never yields), for as
/// long as the guard lives.
pub(super) fn set(slice: Duration) -> Reset {
    SLICE.with(|s| s.set(slice));
    DUE.with(|d| d.set(None));
    Reset
}

/// Puts the thread's slice back to zero when dropped.
pub(super) struct Reset;

impl Drop for Reset {
    fn drop(&mut self) {
        SLICE.with(|s| s.set(Duration::ZERO));
    }
}

/// Marks that the current thread ran requests: it yields its core if its
/// slice has passed since it last did.
#[inline]
pub(super) fn ran() {
    let slice = SLICE.with(Cell::get);
    if slice.is_zero() {
        return;
    }
    let now = Instant::now();
    match DUE.with(Cell::get) {
        Some(due) if now < due => {}
        Some(_) => {
            std::thread::yield_now();
            DUE.with(|d| d.set(Some(Instant::now() + slice)));
        }
        None => DUE.with(|d| d.set(Some(now + slice))),
    }
}

/// Whether the current thread has a slice (for tests).
#[cfg(test)]
fn due() -> Option<Instant> {
    DUE.with(Cell::get)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_without_a_slice_never_counts() {
        std::thread::spawn(|| {
            ran();
            assert_eq!(due(), None);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn the_yield_comes_once_a_slice_has_passed_and_starts_the_next() {
        std::thread::spawn(|| {
            let reset = set(Duration::from_millis(20));
            let started = Instant::now();
            ran();
            let first = due().expect("the first work starts a slice");
            assert!(first >= started + Duration::from_millis(20));
            ran();
            assert_eq!(due(), Some(first), "within the slice nothing changes");
            std::thread::sleep(Duration::from_millis(25));
            ran();
            let next = due().unwrap();
            assert!(next >= first + Duration::from_millis(25), "a yield starts the next slice");
            drop(reset);
            assert!(SLICE.with(Cell::get).is_zero());
        })
        .join()
        .unwrap();
    }
}
