//! Freshness: what a [`LoadingCache`](super::LoadingCache) stores per key
//! (a [`Slot`]) and how a read judges it.
//!
//! Times are the engine's millisecond ticks, read from the cache's clock.
//! A slot is *fresh* until `stale_at` (its jittered time-to-live). Then,
//! for `stale_while_revalidate`, reads still return it and start a
//! background refresh; for `stale_if_error` (counted from `stale_at` too),
//! a read loads again and falls back on the slot if that load fails. The
//! inner cache drops the slot for good at `stale_at` plus the longer of
//! the two windows, so memory never holds a value no read may return.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// No deadline.
pub(super) const NEVER: u64 = u64::MAX;

/// What the inner cache holds for a key: a value or a known absence, and
/// when it goes stale or wants a refresh (engine ticks).
#[derive(Clone, Debug)]
pub(crate) struct Slot<V> {
    pub(super) value: Option<V>,
    pub(super) refresh_at: u64,
    pub(super) stale_at: u64,
}

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
}

impl Freshness {
    /// Whether judging a slot needs the time (it never does without any
    /// deadline, so such a cache does not read the clock on hits).
    pub(super) fn timed(&self) -> bool {
        self.ttl.is_some() || self.refresh_after.is_some() || self.negative_ttl.is_some()
    }

    /// Judges `slot` at `now`: `None` if a read must load.
    #[inline]
    pub(super) fn judge<V: Clone>(&self, slot: &Slot<V>, now: u64) -> Option<Hit<V>> {
        if now < slot.stale_at {
            let refresh = now >= slot.refresh_at && slot.value.is_some();
            return Some(Hit { value: slot.value.clone(), refresh, stale: false });
        }
        let swr_end = slot.stale_at.saturating_add(self.stale_while_revalidate);
        (slot.value.is_some() && now < swr_end).then(|| Hit { value: slot.value.clone(), refresh: true, stale: true })
    }

    /// The value a read may still serve at `now` when its load failed.
    pub(super) fn fallback<V: Clone>(&self, slot: &Slot<V>, now: u64) -> Option<V> {
        (now < slot.stale_at.saturating_add(self.stale_if_error)).then(|| slot.value.clone()).flatten()
    }

    /// A slot for a value loaded at `now`, and how long the inner cache
    /// keeps it (`None`: for ever). `None` for an absence that is not
    /// cached.
    pub(super) fn slot<V>(&self, value: Option<V>, now: u64) -> Option<(Slot<V>, Option<Duration>)> {
        let (stale_at, keep) = match (&value, self.ttl, self.negative_ttl) {
            (None, _, None) => return None,
            (None, _, Some(neg)) => (now.saturating_add(neg), Some(neg)),
            (Some(_), None, _) => (NEVER, None),
            (Some(_), Some(ttl), _) => {
                let ttl = self.jitter.spread(ttl);
                let grace = self.stale_while_revalidate.max(self.stale_if_error);
                (now.saturating_add(ttl), Some(ttl.saturating_add(grace)))
            }
        };
        let refresh_at = match (&value, self.refresh_after) {
            (Some(_), Some(r)) => now.saturating_add(r),
            _ => NEVER,
        };
        Some((Slot { value, refresh_at, stale_at }, keep.map(Duration::from_millis)))
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
        Freshness {
            ttl,
            refresh_after: Some(10),
            stale_while_revalidate: 5,
            stale_if_error: 20,
            negative_ttl: Some(3),
            jitter: Jitter::new(0.0),
        }
    }

    #[test]
    fn a_slot_is_fresh_then_refreshing_then_stale_then_gone() {
        let f = fresh(Some(100));
        let (slot, keep) = f.slot(Some(7), 1000).unwrap();
        assert_eq!(keep, Some(Duration::from_millis(120)));
        let at = |t| f.judge(&slot, t).map(|h| (h.value, h.refresh, h.stale));
        assert_eq!(at(1000), Some((Some(7), false, false)));
        assert_eq!(at(1010), Some((Some(7), true, false)));
        assert_eq!(at(1100), Some((Some(7), true, true)));
        assert_eq!(at(1105), None, "past stale-while-revalidate a read loads");
        assert_eq!(f.fallback(&slot, 1119), Some(7));
        assert_eq!(f.fallback(&slot, 1120), None);
    }

    #[test]
    fn absences_are_cached_only_with_a_negative_ttl() {
        let f = fresh(Some(100));
        let (slot, keep) = f.slot(None::<u8>, 50).unwrap();
        assert_eq!(keep, Some(Duration::from_millis(3)));
        assert!(f.judge(&slot, 52).is_some_and(|h| h.value.is_none() && !h.refresh));
        assert!(f.judge(&slot, 53).is_none());
        let f = Freshness { negative_ttl: None, ..fresh(None) };
        assert!(f.slot(None::<u8>, 50).is_none());
        let (slot, keep) = f.slot(Some(1), 50).unwrap();
        assert_eq!((slot.stale_at, keep), (NEVER, None));
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
