//! The CPU slice: a serving thread that has held its core for a whole
//! slice, running requests without sleeping and without being preempted,
//! yields it (`sched_yield`), so that the threads waiting for that core
//! run before its next round does.
//!
//! Under a steady load a serving thread never sleeps: each time it polls
//! its sockets something is ready. Where other threads share the cores (the
//! clients on the same host, or the application that embeds the server),
//! the kernel may then let it run on for a long stretch while a client
//! whose reply it has just written waits for the core, its thread woken
//! but not running. That wait, not the server's work, made the tail:
//! `memaslap` with two threads against two serving threads on two vCPUs
//! saw a p99 of about 7 ms without the yield (BENCHMARKS.md has the
//! figures with it).
//!
//! Only a slice held whole ends in a yield: a thread that slept or was
//! preempted during it has let others run already, and yielding on top of
//! that gave a serving thread that was itself the bottleneck less of the
//! core (one serving thread against memaslap's two: the same p99 cut
//! from unconditional yields cost 5–10 % of the throughput). The context
//! switches come from `getrusage(RUSAGE_THREAD)` (nix's safe wrapper), read when a slice
//! begins and when it ends; elsewhere than on Linux they are not counted
//! and the thread yields once per slice. Where nothing else wants the
//! core, `sched_yield` returns at once.
//!
//! A busy-polling thread (`busy_poll`) with a slice yields on every turn
//! of its polling loop ([`spun`]): it has nothing of its own to run
//! then, and a client that shares its core had waited behind the polling
//! (two serving threads beside `redis-benchmark` on two vCPUs: `-P 16`
//! INCR went from about 1.0 M to 1.4 M requests/s, redis-server's 1.2–1.5 M).
//!
//! A thread's slice is set where its runtime starts ([`set`]: each of the
//! I/O threads, and the current-thread runtime that serves without them);
//! the serving loops mark their work with [`ran`], which reads the clock.
//! Elsewhere, on a multi-thread runtime, no slice is set and [`ran`] only
//! reads a thread-local.

use std::cell::Cell;
use std::time::{Duration, Instant};

thread_local! {
    /// This thread's slice (zero: it never yields).
    static SLICE: Cell<Duration> = const { Cell::new(Duration::ZERO) };
    /// The slice under way: when it ends, and the thread's context
    /// switches when it began.
    static DUE: Cell<Option<(Instant, u64)>> = const { Cell::new(None) };
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

/// Marks that the current thread ran requests: once a slice has passed,
/// it yields its core if it held it the whole slice (no context switch
/// since the slice began), and starts the next slice.
#[inline]
pub(super) fn ran() {
    let slice = SLICE.with(Cell::get);
    if slice.is_zero() {
        return;
    }
    let now = Instant::now();
    match DUE.with(Cell::get) {
        Some((due, _)) if now < due => {}
        Some((_, began)) => {
            let switches = switches();
            if switches == began {
                std::thread::yield_now();
                DUE.with(|d| d.set(Some((Instant::now() + slice, self::switches()))));
            } else {
                DUE.with(|d| d.set(Some((now + slice, switches))));
            }
        }
        None => DUE.with(|d| d.set(Some((now + slice, switches())))),
    }
}

/// Marks a turn of the busy-polling loop (`busy_poll`): with a slice, the
/// thread lets any thread waiting for its core run first, since it has
/// nothing of its own to run.
#[inline]
pub(super) fn spun() {
    if !SLICE.with(Cell::get).is_zero() {
        std::thread::yield_now();
    }
}

/// The current thread's context switches so far, voluntary (it slept) and
/// involuntary (it was preempted).
#[cfg(target_os = "linux")]
fn switches() -> u64 {
    use nix::sys::resource::{UsageWho, getrusage};
    // Should it fail, the thread yields once per slice.
    getrusage(UsageWho::RUSAGE_THREAD).map_or(0, |usage| {
        (usage.voluntary_context_switches() as u64).wrapping_add(usage.involuntary_context_switches() as u64)
    })
}

/// Elsewhere the switches are not counted: the thread yields once each
/// slice.
#[cfg(not(target_os = "linux"))]
fn switches() -> u64 {
    0
}

/// When the current thread's slice under way ends, if one is (for tests).
#[cfg(test)]
fn due() -> Option<Instant> {
    DUE.with(Cell::get).map(|(due, _)| due)
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
    fn each_slice_starts_when_the_last_one_is_checked() {
        std::thread::spawn(|| {
            let reset = set(Duration::from_millis(20));
            let started = Instant::now();
            ran();
            let first = due().expect("the first work starts a slice");
            assert!(first >= started + Duration::from_millis(20));
            ran();
            assert_eq!(due(), Some(first), "within the slice nothing changes");
            // A slice the thread slept in: no yield, the next slice begins.
            std::thread::sleep(Duration::from_millis(25));
            ran();
            let second = due().unwrap();
            assert!(second >= first + Duration::from_millis(25));
            // A slice the thread spent running: it may yield (unless it
            // was preempted meanwhile); either way the next slice begins.
            while Instant::now() < second {
                std::hint::spin_loop();
            }
            ran();
            assert!(due().unwrap() >= second + Duration::from_millis(20));
            drop(reset);
            assert!(SLICE.with(Cell::get).is_zero());
        })
        .join()
        .unwrap();
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_sleep_counts_as_a_switch() {
        let before = switches();
        std::thread::sleep(Duration::from_millis(2));
        assert!(switches() > before);
    }
}
