//! Least frequently used, approximated as Redis does: each entry carries a
//! logarithmic access counter (Morris counter, Redis's `LFU_LOG_FACTOR` 10,
//! new entries start at 5 so they are not evicted at once), counters are
//! halved periodically so old popularity fades, and the victim is the least
//! frequent of a random sample (16 entries; the whole shard when smaller),
//! ties going to the first one sampled.

use crate::engine::slab::{Entry, List, Queue, Slab};
use std::cell::Cell;

/// Counter value of a new entry (Redis `LFU_INIT_VAL`).
pub(crate) const LFU_INIT: u8 = 5;
/// Redis `lfu-log-factor` default: a counter of 255 takes about a million hits.
const LOG_FACTOR: u32 = 10;
/// Entries compared per eviction.
const SAMPLE: usize = 16;

thread_local! {
    static RNG: Cell<u64> = const { Cell::new(0x853C_49E6_748F_EA9B) };
}

/// A cheap per-thread xorshift generator for the probabilistic increment.
pub(crate) fn next_random() -> u64 {
    RNG.with(|r| {
        let mut x = r.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        r.set(x);
        x
    })
}

/// Increments a logarithmic counter in place, with probability
/// `1 / ((c - LFU_INIT) * LOG_FACTOR + 1)`.
#[inline]
pub(crate) fn log_increment<K, V>(e: &Entry<K, V>) {
    let c = e.freq();
    if c == u8::MAX {
        return;
    }
    let base = u32::from(c.saturating_sub(LFU_INIT));
    let p = base * LOG_FACTOR + 1;
    if p == 1 || next_random().is_multiple_of(u64::from(p)) {
        e.set_freq(c + 1);
    }
}

#[derive(Debug)]
pub(crate) struct Lfu {
    pub(crate) list: List,
    rng: u64,
    writes: u64,
}

impl Default for Lfu {
    fn default() -> Self {
        Lfu { list: List::default(), rng: 0x2545_F491_4F6C_DD1D, writes: 0 }
    }
}

impl Lfu {
    pub(crate) fn on_insert<K, V>(&mut self, slab: &mut Slab<K, V>, i: u32) {
        self.list.push_back(slab, i, Queue::Window);
        if let Some(e) = slab.get(i) {
            e.set_freq(LFU_INIT);
        }
        self.tick(slab);
    }

    pub(crate) fn on_update<K, V>(&mut self, slab: &mut Slab<K, V>, i: u32) {
        if let Some(e) = slab.get(i) {
            log_increment(e);
        }
        self.tick(slab);
    }

    /// Halves every counter once ten writes per entry have happened.
    fn tick<K, V>(&mut self, slab: &mut Slab<K, V>) {
        self.writes += 1;
        if self.writes >= 10 * u64::from(self.list.len).max(64) {
            self.writes = 0;
            for (_, e) in slab.iter() {
                e.set_freq(e.freq() / 2);
            }
        }
    }

    fn random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    pub(crate) fn victim<K, V>(&mut self, slab: &mut Slab<K, V>) -> Option<u32> {
        let better = |slab: &Slab<K, V>, a: u32, b: Option<u32>| -> bool {
            let Some(b) = b else { return true };
            match (slab.get(a), slab.get(b)) {
                (Some(x), Some(y)) => x.freq() < y.freq(),
                _ => false,
            }
        };
        let mut best: Option<u32> = None;
        if self.list.len as usize <= SAMPLE {
            for i in self.list.iter(slab) {
                if better(slab, i, best) {
                    best = Some(i);
                }
            }
        } else {
            let span = slab.capacity() as u64;
            let (mut found, mut tries) = (0, 0);
            while found < SAMPLE && tries < SAMPLE * 8 {
                tries += 1;
                let i = (self.random() % span) as u32;
                if slab.get(i).is_some() {
                    found += 1;
                    if better(slab, i, best) {
                        best = Some(i);
                    }
                }
            }
            if best.is_none() {
                best = self.list.front();
            }
        }
        let v = best?;
        self.list.unlink(slab, v);
        Some(v)
    }
}
