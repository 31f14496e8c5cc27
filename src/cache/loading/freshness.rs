//! Freshness: how a read of a [`LoadingCache`](super::LoadingCache)
//! judges what the inner cache holds for a key (an `Option<V>`: a value
//! or a known absence).
//!
//! The slot keeps no times of its own: the inner cache's timer already
//! has the write time and the deadline, so a hit costs no more memory
//! than a plain `Cache` hit. Times are the engine's millisecond ticks.
//!
//! A value is stored with the deadline `load + ttl' + grace`, where `ttl'`
//! is the (jittered) time-to-live and `grace` the longer of the
//! `stale_while_revalidate` and `stale_if_error` windows; so it goes
//! *stale* at `deadline - grace`. Within `stale_while_revalidate` after
//! that, reads still return it and start a background refresh; within
//! `stale_if_error`, a read loads again and falls back on it if the load
//! fails; at the deadline the inner cache drops it, so memory never holds
//! a value no read may return. A refresh is due `refresh_after` past the
//! write time. An absence (with `negative_ttl`) is fresh until its
//! deadline and never refreshed.

use crate::engine::shard::Ttl;
use std::sync::atomic::{AtomicU64, Ordering};

/// No deadline (the engine's `NEVER`).
pub(super) const NEVER: u64 = u64::MAX;

/// The time-to-live of a value stored only so that the engine keeps its
/// write time (`refresh_after` without a time-to-live): about 146 million
/// years, yet short of `NEVER`.
const FOREVER_MS: u64 = u64::MAX / 4;

/// A read the cache answers without waiting for a load.
pub(super) struct Hit<V> {
    pub(super) value: Option<V>,
    /// Past `refresh_after` or stale: start a background refresh.
    pub(super) refresh: bool,
    /// Served past its time-to-live.
    pub(super) stale: bool,
}

/// The freshness options of a cache, in engine ticks (milliseconds).
#[derive(Debug)]
pub(super) struct Freshness {
    pub(super) ttl: Option<u64>,
    pub(super) refresh_after: Option<u64>,
    pub(super) stale_while_revalidate: u64,
    pub(super) stale_if_error: u64,
    pub(super) negative_ttl: Option<u64>,
    pub(super) jitter: Jitter,
    /// Time a value is kept past going stale: the longer window.
    grace: u64,
}

impl Freshness {
    pub(super) fn new(
        ttl: Option<u64>,
        refresh_after: Option<u64>,
        windows: (u64, u64),
        negative_ttl: Option<u64>,
        jitter: Jitter,
    ) -> Self {
        let (stale_while_revalidate, stale_if_error) = windows;
        let grace = stale_while_revalidate.max(stale_if_error);
        Freshness { ttl, refresh_after, stale_while_revalidate, stale_if_error, negative_ttl, jitter, grace }
    }

    /// When a value whose inner-cache deadline is `deadline` goes stale.
    #[inline]
    fn stale_at(&self, deadline: u64) -> u64 {
        if deadline == NEVER { NEVER } else { deadline.saturating_sub(self.grace) }
    }

    /// How long the inner cache keeps what a load returned: `None` for an
    /// absence that is not cached.
    pub(super) fn keep(&self, present: bool) -> Option<Ttl> {
        match (present, self.ttl) {
            (false, _) => self.negative_ttl.map(Ttl::Fixed),
            (true, Some(ttl)) => Some(Ttl::Fixed(self.jitter.spread(ttl).saturating_add(self.grace))),
            (true, None) if self.refresh_after.is_some() => Some(Ttl::Fixed(FOREVER_MS)),
            (true, None) => Some(Ttl::Policy),
        }
    }

    /// Judges a live slot at `now`, given its inner-cache `deadline`
    /// (`NEVER` if none) and a way to read its write time: `None` if a
    /// read must load.
    #[inline]
    pub(super) fn judge<V: Clone>(
        &self,
        value: &Option<V>,
        deadline: u64,
        written_at: impl FnOnce() -> u64,
        now: u64,
    ) -> Option<Hit<V>> {
        if value.is_none() {
            return Some(Hit { value: None, refresh: false, stale: false });
        }
        let stale_at = self.stale_at(deadline);
        if now < stale_at {
            let refresh = self.refresh_due(written_at, now);
            return Some(Hit { value: value.clone(), refresh, stale: false });
        }
        (now < stale_at.saturating_add(self.stale_while_revalidate)).then(|| Hit {
            value: value.clone(),
            refresh: true,
            stale: true,
        })
    }

    /// The value, if a read may return it with nothing else to do: present,
    /// fresh and with no refresh due (the hit path; it returns no more
    /// than a plain `Cache` lookup, so that it stays in registers).
    #[inline]
    pub(super) fn plain<V: Clone>(
        &self,
        value: &Option<V>,
        deadline: u64,
        written_at: impl FnOnce() -> u64,
        now: u64,
    ) -> Option<V> {
        let v = value.as_ref()?;
        (now < self.stale_at(deadline) && !self.refresh_due(written_at, now)).then(|| v.clone())
    }

    #[inline]
    fn refresh_due(&self, written_at: impl FnOnce() -> u64, now: u64) -> bool {
        self.refresh_after.is_some_and(|r| now >= written_at().saturating_add(r))
    }

    /// The value a read may still serve at `now` when its load failed.
    pub(super) fn fallback<V: Clone>(&self, value: &Option<V>, deadline: u64, now: u64) -> Option<V> {
        (now < self.stale_at(deadline).saturating_add(self.stale_if_error)).then(|| value.clone()).flatten()
    }
}

/// Spreads time-to-live by up to ± a fraction, so that entries loaded
/// together do not expire together. A splitmix64 stream: one atomic add
/// per draw, no lock, seeded per cache.
#[derive(Debug)]
pub(super) struct Jitter {
    fraction: f64,
    state: AtomicU64,
}

impl Jitter {
    pub(super) fn new(fraction: f64) -> Self {
        let seed = ahash::RandomState::new().hash_one(0x5EED_u64);
        Jitter { fraction, state: AtomicU64::new(seed) }
    }

    /// `ms` times a factor drawn uniformly from `[1 - fraction, 1 + fraction]`,
    /// at least one millisecond.
    pub(super) fn spread(&self, ms: u64) -> u64 {
        if self.fraction == 0.0 {
            return ms;
        }
        let mut z = self.state.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // 53 random bits as a float in [0, 1), then [-1, 1).
        let unit = (z >> 11) as f64 / (1u64 << 53) as f64;
        let factor = 1.0 + self.fraction * (2.0 * unit - 1.0);
        // Saturating float-to-int cast; the fraction is below 1, so the
        // product is positive.
        ((ms as f64 * factor).round() as u64).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh(ttl: Option<u64>) -> Freshness {
        Freshness::new(ttl, Some(10), (5, 20), Some(3), Jitter::new(0.0))
    }

    #[test]
    fn a_value_is_fresh_then_refreshing_then_stale_then_gone() {
        let f = fresh(Some(100));
        assert!(matches!(f.keep(true), Some(Ttl::Fixed(120))), "ttl plus the longer window");
        // Loaded at 1000: the inner cache's deadline is 1120.
        let at = |t| f.judge(&Some(7), 1120, || 1000, t).map(|h| (h.value, h.refresh, h.stale));
        assert_eq!(at(1000), Some((Some(7), false, false)));
        assert_eq!(at(1010), Some((Some(7), true, false)));
        assert_eq!(at(1100), Some((Some(7), true, true)));
        assert_eq!(at(1105), None, "past stale-while-revalidate a read loads");
        let plain = |t| f.plain(&Some(7), 1120, || 1000, t);
        assert_eq!((plain(1009), plain(1010), plain(1100)), (Some(7), None, None));
        assert_eq!(f.plain(&None::<u8>, 1120, || 1000, 1000), None, "absences take the judged path");
        assert_eq!(f.fallback(&Some(7), 1120, 1119), Some(7));
        assert_eq!(f.fallback(&Some(7), 1120, 1120), None);
    }

    #[test]
    fn absences_are_kept_only_with_a_negative_ttl() {
        let f = fresh(Some(100));
        assert!(matches!(f.keep(false), Some(Ttl::Fixed(3))));
        let hit = f.judge(&None::<u8>, 53, || 50, 52).unwrap();
        assert!(hit.value.is_none() && !hit.refresh && !hit.stale);
        let f = Freshness { negative_ttl: None, ..fresh(None) };
        assert!(f.keep(false).is_none());
        assert!(matches!(f.keep(true), Some(Ttl::Fixed(FOREVER_MS))), "a timer for the write time");
        let f = Freshness { refresh_after: None, ..f };
        assert!(matches!(f.keep(true), Some(Ttl::Policy)), "no times at all");
        assert!(f.judge(&Some(1), NEVER, || unreachable!(), 0).is_some_and(|h| !h.refresh && !h.stale));
    }

    #[test]
    fn jitter_stays_within_bounds_and_varies() {
        let j = Jitter::new(0.2);
        let draws: Vec<u64> = (0..1000).map(|_| j.spread(10_000)).collect();
        assert!(draws.iter().all(|&d| (8_000..=12_000).contains(&d)));
        let distinct: std::collections::HashSet<_> = draws.iter().collect();
        assert!(distinct.len() > 500, "only {} distinct", distinct.len());
        assert_eq!(Jitter::new(0.0).spread(10), 10);
        assert!((0..100).all(|_| Jitter::new(0.99).spread(1) >= 1));
    }
}
