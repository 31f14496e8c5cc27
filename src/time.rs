//! Time: the [`Clock`] trait every expiry decision reads, a monotonic
//! [`SystemClock`] and a [`ManualClock`] that tests (and users) move by hand.
//!
//! The engine works in whole milliseconds since the clock's origin
//! (`u64`, so it never wraps); deadlines are absolute in that unit.

use std::cell::Cell;
use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A source of monotonic time for expiry.
///
/// Implementations return the time elapsed since an origin of their choice;
/// it must never go backwards.
pub trait Clock: Send + Sync + Debug + 'static {
    /// Time since this clock's origin.
    fn now(&self) -> Duration;
}

/// The default clock: `std::time::Instant`, counted from the clock's creation.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
    /// `origin` as a [`Stamp`]: a pinned stamp converts with one
    /// subtraction of integers.
    offset: Duration,
}

impl SystemClock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        let offset = Stamp::now().0;
        SystemClock { origin: process_origin() + offset, offset }
    }
}

/// The first reading of the monotonic clock any [`Stamp`] or
/// [`SystemClock`] made in this process.
fn process_origin() -> Instant {
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// A reading of the monotonic clock as the time since the process's first
/// one: two stamps subtract as integers, and a [`SystemClock`] converts a
/// pinned stamp ([`PinnedNow`]) the same way, where `Instant`s would each
/// take the slower `Instant` arithmetic (a server reads the clock once per
/// command and needs both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Stamp(Duration);

impl Stamp {
    /// Now.
    pub(crate) fn now() -> Stamp {
        Stamp::of(Instant::now())
    }

    /// `at` as a stamp.
    pub(crate) fn of(at: Instant) -> Stamp {
        Stamp(at.saturating_duration_since(process_origin()))
    }

    /// Whole microseconds from `earlier` to this stamp (0 if later).
    #[cfg(any(test, feature = "server"))]
    pub(crate) fn micros_since(self, earlier: Stamp) -> u64 {
        u64::try_from(self.0.saturating_sub(earlier.0).as_micros()).unwrap_or(u64::MAX)
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        match PINNED.get() {
            Some(stamp) => stamp.0.saturating_sub(self.offset),
            None => Instant::now().saturating_duration_since(self.origin),
        }
    }
}

thread_local! {
    static PINNED: Cell<Option<Stamp>> = const { Cell::new(None) };
}

/// While it lives, [`SystemClock`]s read on this thread give `at` instead
/// of reading the time: a server that has just read the clock for its own
/// accounting runs a command on that reading, as Redis runs each command on
/// one cached time. `at` must be a recent reading; expiry decisions made
/// under it are late by at most its age.
#[cfg_attr(not(feature = "server"), allow(dead_code))]
pub(crate) struct PinnedNow(Option<Stamp>);

impl PinnedNow {
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn pin(at: Stamp) -> Self {
        PinnedNow(PINNED.replace(Some(at)))
    }
}

impl Drop for PinnedNow {
    fn drop(&mut self) {
        PINNED.set(self.0);
    }
}

/// A clock that only moves when told to. Clones share the same time.
///
/// ```
/// use std::time::Duration;
/// use embercache::time::{Clock, ManualClock};
/// let clock = ManualClock::new();
/// clock.advance(Duration::from_millis(1500));
/// assert_eq!(clock.now(), Duration::from_millis(1500));
/// ```
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    micros: Arc<AtomicU64>,
}

impl ManualClock {
    /// A manual clock at time zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        // Saturating add through a CAS loop so the clock never wraps.
        let _ = self.micros.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| Some(t.saturating_add(us)));
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_micros(self.micros.load(Ordering::Relaxed))
    }
}

/// The engine's time: milliseconds since the clock's origin, plus one, so
/// that 0 can mean "not read" (writes to a cache without expiry skip the
/// clock).
#[inline]
pub(crate) fn now_ms(clock: &dyn Clock) -> u64 {
    u64::try_from(clock.now().as_millis()).map_or(u64::MAX - 1, |ms| ms.saturating_add(1).min(u64::MAX - 1))
}

/// Converts a duration to whole milliseconds, rounding up so that a deadline
/// is never earlier than asked, and saturating.
#[inline]
pub(crate) fn ms_ceil(d: Duration) -> u64 {
    let ms = d.as_millis() + u128::from(!d.subsec_nanos().is_multiple_of(1_000_000));
    u64::try_from(ms).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pinned stamp reads exactly as the clock would read its instant,
    /// and stamps subtract to whole microseconds.
    #[test]
    fn pinned_stamps_read_as_the_clock_would() {
        let clock = SystemClock::new();
        let at = Instant::now() + Duration::from_millis(3);
        let direct = at.saturating_duration_since(clock.origin);
        {
            let _pin = PinnedNow::pin(Stamp::of(at));
            assert_eq!(clock.now(), direct);
        }
        assert!(clock.now() < direct, "unpinned: the clock reads the time again");
        let later = Stamp::of(at + Duration::from_nanos(1_500_900));
        assert_eq!(later.micros_since(Stamp::of(at)), 1500);
        assert_eq!(Stamp::of(at).micros_since(later), 0);
    }

    #[test]
    fn manual_clock_is_shared_and_saturates() {
        let a = ManualClock::new();
        let b = a.clone();
        a.advance(Duration::from_millis(5));
        assert_eq!(now_ms(&b), 6);
        b.advance(Duration::MAX);
        assert!(now_ms(&a) >= 5);
    }

    #[test]
    fn ms_ceil_rounds_up() {
        assert_eq!(ms_ceil(Duration::from_micros(1)), 1);
        assert_eq!(ms_ceil(Duration::from_millis(7)), 7);
        assert_eq!(ms_ceil(Duration::MAX), u64::MAX);
    }

    #[test]
    fn system_clock_moves_forward() {
        let c = SystemClock::new();
        let a = c.now();
        let b = c.now();
        assert!(b >= a);
    }
}
