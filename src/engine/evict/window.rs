//! Sizing the admission window of the adaptive policy from *ghost hits*:
//! misses on keys that the policy evicted a moment ago.
//!
//! Caffeine sizes its window with a hill climber on the sampled hit rate
//! (Einziger, Eytan, Friedman & Manes, "Adaptive Software Cache Management",
//! Middleware 2018). On the traces we replay that climber is too slow and
//! too noisy: samples of ten times the capacity in lookups give a hit rate
//! whose noise exceeds the effect of a step, so the window random-walks
//! (it cost up to 5 points against plain LRU on recency-heavy traces and
//! about 1 point on Zipf). [`WindowTuner`] instead follows the marginal-gain
//! idea behind ARC's ghost lists (Megiddo & Modha, "ARC: A Self-Tuning, Low
//! Overhead Replacement Cache", FAST 2003), applied to the two sides of
//! W-TinyLFU:
//!
//! - Each eviction is remembered, by hash, in a small direct-mapped table
//!   together with its *side* and a per-side eviction sequence number: the
//!   **window side** when the loser was the candidate coming out of the
//!   window (or the window itself), the **main side** when it was the
//!   probation victim.
//! - When a key is inserted again (it missed) and its ghost is among the
//!   last [`GHOST_DEPTH`] × entries evictions *of its side*, a slightly
//!   larger share for that side would have turned this miss into a hit. A
//!   window-side ghost hit grows the window, a main-side one shrinks it, by
//!   [`STEP`] × the entry's weight.
//!
//! Counting only ghosts that are recent *relative to their own side's
//! evictions* compares the two sides' marginal hit gains. Without that
//! normalisation the side that evicts more (the window side, which loses
//! most admission contests under Zipf) would win by volume and push the
//! window to its maximum.
//!
//! Every shard tunes its own window, under its write lock, with no sampling
//! delay: each miss is a piece of evidence.

/// Window share of a new shard (Caffeine's initial 1 %).
const INITIAL_WINDOW: f64 = 0.01;
/// Largest window share: main keeps at least 1 %.
const MAX_WINDOW: f64 = 0.99;
/// A ghost hit moves the window by this many weight units per unit of the
/// returning entry's weight.
const STEP: f64 = 0.5;
/// A ghost counts if it is among this share of the live entry count of its
/// side's most recent evictions (at least one).
const GHOST_DEPTH: f64 = 0.03;
/// Entries of capacity per ghost slot (a slot is 8 bytes).
const ENTRIES_PER_GHOST_SLOT: u64 = 2;
/// Fewest ghost slots.
const MIN_GHOST_SLOTS: u64 = 32;

/// Which side of the policy an eviction came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// The candidate leaving the window lost admission (or the window itself
    /// was evicted from).
    Window = 1,
    /// A main-space entry lost to the candidate (or main was evicted from).
    Main = 0,
}

/// The per-shard window share, tuned by ghost hits.
#[derive(Debug)]
pub(crate) struct WindowTuner {
    /// Per slot: `fingerprint | side` in the high half (never zero when
    /// used), the side's eviction sequence number in the low half.
    ghosts: Box<[u64]>,
    /// Evictions so far, per side (wrapping).
    evictions: [u32; 2],
    window: f64,
}

impl WindowTuner {
    /// A tuner for a shard of about `capacity` entries.
    pub(crate) fn new(capacity: u64) -> Self {
        let slots = (capacity / ENTRIES_PER_GHOST_SLOT).clamp(MIN_GHOST_SLOTS, 1 << 24);
        WindowTuner { ghosts: (0..slots).map(|_| 0).collect(), evictions: [0; 2], window: INITIAL_WINDOW }
    }

    /// A tuner for about `capacity` entries that starts from this one's
    /// window share (its ghosts are forgotten).
    pub(crate) fn resized(&self, capacity: u64) -> Self {
        WindowTuner { window: self.window, ..Self::new(capacity) }
    }

    /// The window's current share of the shard's bound, in `[0, 0.99]`.
    #[inline]
    pub(crate) fn window(&self) -> f64 {
        self.window
    }

    /// Slot and tag (side bit clear, bit 1 set so a used slot is non-zero).
    fn slot(&self, hash: u64) -> (usize, u32) {
        // A mix of its own: other structures use the hash's bits.
        let h = hash.wrapping_mul(0xD6E8_FEB8_6659_FD93);
        let index = ((h >> 32) * self.ghosts.len() as u64) >> 32;
        (index as usize, (h as u32 & !1) | 2)
    }

    /// Remembers that `hash` was evicted from `side`.
    pub(crate) fn on_evict(&mut self, hash: u64, side: Side) {
        let (i, tag) = self.slot(hash);
        let s = side as usize;
        self.evictions[s] = self.evictions[s].wrapping_add(1);
        if let Some(g) = self.ghosts.get_mut(i) {
            *g = (u64::from(tag | side as u32) << 32) | u64::from(self.evictions[s]);
        }
    }

    /// A key with `hash` and `weight` was inserted into a shard bounded at
    /// `max_weight` now holding `entries` entries: if it was evicted
    /// recently, move the window towards the side that lost it.
    pub(crate) fn on_insert(&mut self, hash: u64, weight: u32, max_weight: u64, entries: usize) {
        let (i, tag) = self.slot(hash);
        let Some(g) = self.ghosts.get_mut(i) else { return };
        let (stored, seq) = ((*g >> 32) as u32, *g as u32);
        if stored & !1 != tag || max_weight == 0 {
            return;
        }
        *g = 0;
        let side = (stored & 1) as usize;
        let age = self.evictions[side].wrapping_sub(seq);
        if f64::from(age) >= (GHOST_DEPTH * entries as f64).max(1.0) {
            return;
        }
        let step = STEP * f64::from(weight) / max_weight as f64;
        let w = if side == Side::Window as usize { self.window + step } else { self.window - step };
        self.window = w.clamp(0.0, MAX_WINDOW);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ghost_hits_move_the_window_towards_their_side() {
        let mut t = WindowTuner::new(1_000);
        let w0 = t.window();
        t.on_evict(11, Side::Window);
        t.on_insert(11, 1, 1_000, 1_000);
        let w1 = t.window();
        assert!(w1 > w0, "a window-side ghost hit grows the window");
        // The ghost was consumed: the same key again moves nothing.
        t.on_insert(11, 1, 1_000, 1_000);
        assert_eq!(t.window(), w1);
        t.on_evict(22, Side::Main);
        t.on_insert(22, 1, 1_000, 1_000);
        assert!(t.window() < w1, "a main-side ghost hit shrinks it");
        // Unknown keys move nothing.
        let w2 = t.window();
        t.on_insert(33, 1, 1_000, 1_000);
        assert_eq!(t.window(), w2);
    }

    #[test]
    fn old_ghosts_do_not_count() {
        // Many slots, so the other evictions do not overwrite the ghosts.
        let mut t = WindowTuner::new(1 << 20);
        t.on_evict(11, Side::Window);
        // 30 more window-side evictions: past 3 % of 1,000 entries.
        for k in 0..30u64 {
            t.on_evict(1_000 + k * 7_919, Side::Window);
        }
        let w = t.window();
        t.on_insert(11, 1, 1_000, 1_000);
        assert_eq!(t.window(), w);
        // Evictions on the *other* side do not age a ghost.
        t.on_evict(12, Side::Main);
        for k in 0..100u64 {
            t.on_evict(5_000 + k * 7_919, Side::Window);
        }
        t.on_insert(12, 1, 1_000, 1_000);
        assert!(t.window() < w);
    }

    #[test]
    fn window_stays_in_bounds() {
        let mut t = WindowTuner::new(10);
        for k in 0..1_000u64 {
            t.on_evict(k, Side::Window);
            t.on_insert(k, 1, 10, 10);
        }
        assert!(t.window() <= MAX_WINDOW);
        for k in 0..1_000u64 {
            t.on_evict(k, Side::Main);
            t.on_insert(k, 1, 10, 10);
        }
        assert!(t.window() >= 0.0);
    }
}
