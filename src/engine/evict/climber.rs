//! Hill climbing on the hit rate to size the admission window of the
//! adaptive policy (Caffeine's `SIMPLE` climber, after Einziger et al.,
//! "Adaptive Software Cache Management", 2018).
//!
//! Every sample of ten times the cache's entry count in lookups, the climber
//! compares the sample's hit rate with the previous one: if it improved, the
//! window keeps moving the same way, else it turns round. Steps start at
//! 6.25 % of the capacity and decay by 2 % each sample, restarting when the
//! hit rate jumps by 5 points (a new workload phase).

use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

const INITIAL_WINDOW: f64 = 0.01;
const STEP: f64 = 0.0625;
const STEP_DECAY: f64 = 0.98;
const RESTART_THRESHOLD: f64 = 0.05;
const MAX_WINDOW: f64 = 0.99;
/// Lookups per sample, per entry of capacity.
const SAMPLE_FACTOR: u64 = 10;
/// Smallest sample: fewer lookups than this say little about a hit rate.
const MIN_SAMPLE: u64 = 512;

#[derive(Debug)]
struct State {
    previous_hit_rate: f64,
    step: f64,
    base_hits: u64,
    base_misses: u64,
}

/// The window share shared by all shards of one cache.
#[derive(Debug)]
pub(crate) struct Climber {
    window: AtomicU64,
    state: Mutex<State>,
}

impl Default for Climber {
    fn default() -> Self {
        Climber {
            window: AtomicU64::new(super::tun("EMB_WIN0", INITIAL_WINDOW).to_bits()),
            state: Mutex::new(State { previous_hit_rate: 0.0, step: super::tun("EMB_STEP", STEP), base_hits: 0, base_misses: 0 }),
        }
    }
}

impl Climber {
    /// The window's current share of the capacity, in `[0, 0.99]`.
    #[inline]
    pub(crate) fn window(&self) -> f64 {
        f64::from_bits(self.window.load(Ordering::Relaxed))
    }

    /// Feeds the cache's running hit and miss totals; adjusts the window when
    /// a full sample has been seen. Cheap and non-blocking: if another thread
    /// is adjusting, this call does nothing.
    pub(crate) fn observe(&self, hits: u64, misses: u64, entries: u64) {
        if super::tun("EMB_FIXED", 0.0) != 0.0 {
            return;
        }
        let Some(mut s) = self.state.try_lock() else { return };
        let (h, m) = (hits.saturating_sub(s.base_hits), misses.saturating_sub(s.base_misses));
        let n = h + m;
        let (sf, mins) = (super::tun("EMB_SF", SAMPLE_FACTOR as f64), super::tun("EMB_MINS", MIN_SAMPLE as f64));
        let (stp, dec, rst) =
            (super::tun("EMB_STEP", STEP), super::tun("EMB_DECAY", STEP_DECAY), super::tun("EMB_RESTART", RESTART_THRESHOLD));
        if (n as f64) < (sf * entries as f64).max(mins) {
            return;
        }
        let rate = h as f64 / n as f64;
        let change = rate - s.previous_hit_rate;
        let amount = if change >= 0.0 { s.step } else { -s.step };
        s.step = if change.abs() >= rst { stp * amount.signum() } else { dec * amount };
        s.previous_hit_rate = rate;
        s.base_hits = hits;
        s.base_misses = misses;
        let w = (self.window() + amount).clamp(0.0, MAX_WINDOW);
        self.window.store(w.to_bits(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_towards_the_better_side() {
        let c = Climber::default();
        let w0 = c.window();
        // First sample: any hit rate beats the initial 0, so the window grows.
        c.observe(600, 400, 10);
        let w1 = c.window();
        assert!(w1 > w0);
        // The hit rate falls: turn round.
        c.observe(600 + 300, 400 + 700, 10);
        assert!(c.window() < w1);
        // Too small a sample: nothing changes.
        let w2 = c.window();
        c.observe(1_000, 1_100, 10);
        assert_eq!(c.window(), w2);
    }
}
