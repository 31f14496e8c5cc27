//! The default policy: W-TinyLFU with an adaptive window, on CLOCK-style
//! queues so that reads never reorder lists.
//!
//! After Einziger, Friedman & Manes (TinyLFU, 2017) and Caffeine's adaptive
//! W-TinyLFU (Ben Manes; hill climbing per Einziger et al., "Adaptive
//! Software Cache Management", Middleware 2018):
//!
//! - New entries enter a small **window**. Entries pushed out of the window
//!   become *candidates* for the **main** space, which has a **probation** and
//!   a **protected** segment (80 % of main).
//! - When the cache is over its bound, the candidate is compared with the
//!   probation victim by their estimated frequencies in a count-min
//!   [`Sketch`]; the less frequent one is evicted. Scans and one-hit wonders
//!   die in the window or at the admission test; frequent keys survive.
//! - The window's share of the capacity is tuned at run time by a
//!   [`Climber`](super::climber::Climber): recency-heavy workloads grow it
//!   (towards plain LRU), frequency-heavy ones shrink it (towards LFU).
//!
//! Lookups do not move entries: they set the entry's *referenced* bit and
//! count in the sketch, both atomics, both skipped when already set or
//! saturated. The queues honour the bit CLOCK-style when their head is
//! examined: a referenced window entry gets a second chance, a referenced
//! probation entry is promoted to protected.

use super::sketch::Sketch;
use crate::engine::slab::{List, NIL, Queue, Slab};

/// Candidates at least this frequent are admitted 1 time in 128 regardless,
/// so an attacker cannot pin the victim by flooding hash collisions
/// (Caffeine's `ADMIT_HASHDOS_THRESHOLD`).
const HASHDOS_THRESHOLD: u8 = 6;
/// Protected segment's share of the main space.
const PROTECTED_PERCENT: u64 = 80;

#[derive(Debug)]
pub(crate) struct Adaptive {
    pub(crate) window: List,
    pub(crate) probation: List,
    pub(crate) protected: List,
    pub(crate) sketch: Sketch,
    /// First entry moved out of the window in the current write, or NIL.
    candidate: u32,
    rng: u64,
    pub(crate) miss_inc: bool,
    ins_inc: bool,
    prot: u64,
}

impl Adaptive {
    pub(crate) fn new(capacity_hint: u64) -> Self {
        Adaptive {
            window: List::default(),
            probation: List::default(),
            protected: List::default(),
            sketch: Sketch::new(capacity_hint),
            candidate: NIL,
            rng: 0x9E37_79B9_7F4A_7C15,
            miss_inc: super::tun("EMB_MISSINC", 1.0) != 0.0,
            ins_inc: super::tun("EMB_INSINC", 1.0) != 0.0,
            prot: super::tun("EMB_PROT", PROTECTED_PERCENT as f64) as u64,
        }
    }

    pub(crate) fn list_mut(&mut self, q: Queue) -> &mut List {
        match q {
            Queue::Window => &mut self.window,
            Queue::Probation => &mut self.probation,
            Queue::Protected => &mut self.protected,
        }
    }

    pub(crate) fn on_insert<K, V>(&mut self, slab: &mut Slab<K, V>, i: u32, hash: u64) {
        if self.ins_inc {
            self.sketch.increment(hash);
        }
        self.window.push_back(slab, i, Queue::Window);
    }

    pub(crate) fn on_remove<K, V>(&mut self, slab: &mut Slab<K, V>, i: u32) {
        let Some(e) = slab.get(i) else { return };
        let q = e.queue;
        if self.candidate == i {
            self.candidate = e.next;
        }
        self.list_mut(q).unlink(slab, i);
    }

    fn admit(&mut self, candidate: u8, victim: u8) -> bool {
        if candidate > victim {
            return true;
        }
        if candidate < HASHDOS_THRESHOLD {
            return false;
        }
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng & 127 == 0
    }

    /// Moves window overflow into probation; the first one moved becomes the
    /// candidate for admission. Called after every insert.
    pub(crate) fn rebalance<K, V>(&mut self, slab: &mut Slab<K, V>, max_window: u64) {
        self.candidate = NIL;
        let mut chances = self.window.len;
        // The newest entry always stays in the window until the next write,
        // so a value just inserted can be read back even when the climber
        // has shrunk the window to nothing.
        while self.window.weight > max_window && self.window.len > 1 {
            let Some(w) = self.window.front() else { break };
            let Some(e) = slab.get(w) else { break };
            if e.freq() != 0 && chances > 0 {
                chances -= 1;
                e.set_freq(0);
                self.window.move_to_back(slab, w);
                continue;
            }
            self.window.unlink(slab, w);
            self.probation.push_back(slab, w, Queue::Probation);
            if self.candidate == NIL {
                self.candidate = w;
            }
        }
    }

    /// Chooses, unlinks and returns the entry to evict.
    pub(crate) fn victim<K, V>(
        &mut self,
        slab: &mut Slab<K, V>,
        hash_of: &dyn Fn(&K) -> u64,
        max_main: u64,
    ) -> Option<u32> {
        let max_protected = max_main / 100 * self.prot + max_main % 100 * self.prot / 100;
        let mut chances = self.probation.len;
        loop {
            let Some(v) = self.probation.front() else {
                // Nothing on probation: take from protected, then the window.
                let from = if self.protected.front().is_some() { Queue::Protected } else { Queue::Window };
                let list = self.list_mut(from);
                let v = list.front()?;
                list.unlink(slab, v);
                return Some(v);
            };
            let ve = slab.get(v)?;
            if v != self.candidate && ve.freq() != 0 && chances > 0 {
                // Referenced on probation: promote, demoting protected overflow.
                chances -= 1;
                ve.set_freq(0);
                self.probation.unlink(slab, v);
                self.protected.push_back(slab, v, Queue::Protected);
                while self.protected.weight > max_protected {
                    let Some(p) = self.protected.front() else { break };
                    self.protected.unlink(slab, p);
                    self.probation.push_back(slab, p, Queue::Probation);
                }
                continue;
            }
            let c = self.candidate;
            let candidate_ok = c != v && slab.get(c).is_some_and(|e| e.queue == Queue::Probation);
            if !candidate_ok {
                if c == v {
                    self.candidate = ve.next;
                }
                self.probation.unlink(slab, v);
                return Some(v);
            }
            let fc = slab.get(c).map_or(0, |e| self.sketch.frequency(hash_of(&e.key)));
            let fv = self.sketch.frequency(hash_of(&ve.key));
            let loser = if self.admit(fc, fv) {
                v
            } else {
                self.candidate = slab.get(c).map_or(NIL, |e| e.next);
                c
            };
            self.probation.unlink(slab, loser);
            return Some(loser);
        }
    }
}
