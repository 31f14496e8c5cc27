//! A hierarchical timing wheel over slab indices.
//!
//! Four levels of 64 buckets; a bucket at level `L` spans `2^SHIFT[L]`
//! milliseconds, so the wheel reaches about 199 days, beyond which entries
//! wait in an overflow list. The timer of the entry at slab index `i` is
//! the [`TimerNode`] at index `i` of a side table that grows with the slab
//! only once the shard has had a timer, so a cache without expiry pays
//! nothing. Nodes are linked by index into their bucket's list, so
//! cancelling a timer is O(1).
//!
//! Advancing drains the buckets whose span has been passed: nodes that are
//! due are handed back to the shard to expire; the rest move down a level.
//! The entry's own deadline is the truth (readers may move it for
//! time-to-idle); the wheel only decides *when to look*, so an entry is never
//! expired early, and lookups check the deadline themselves, so it is never
//! served late.
//!
//! Design after the hierarchical wheels of Varghese & Lauck (1987), as used
//! by Kafka's purgatory and moka's `timer_wheel.rs`.

use crate::engine::slab::NIL;
use std::sync::atomic::{AtomicU64, Ordering};

const LEVELS: usize = 4;
const BUCKETS: u64 = 64;
const MASK: u64 = BUCKETS - 1;
/// Bucket span per level, as a power of two of milliseconds:
/// 1.02 s, 65.5 s, 69.9 min, 74.6 h (so the levels reach 65 s, 70 min,
/// 3.1 days and 199 days).
const SHIFT: [u32; LEVELS] = [10, 16, 22, 28];
const OVERFLOW: u16 = (LEVELS as u16) * (BUCKETS as u16);
const UNSCHEDULED: u16 = u16::MAX;

/// The timer of one entry: its deadline, its write time and its place in
/// the wheel.
#[derive(Debug)]
pub(crate) struct TimerNode {
    /// The entry's deadline (clock ms). Readers move it for time-to-idle and
    /// read-driven expiry, under the shard's read lock: hence an atomic.
    pub(crate) deadline: AtomicU64,
    /// The deadline not counting time-to-idle or read-driven changes
    /// (the time-to-live part), kept so a read can extend only up to it.
    pub(crate) hard_deadline: u64,
    /// Clock ms of the entry's last write (its age is measured from here).
    pub(crate) written_at: u64,
    prev: u32,
    next: u32,
    bucket: u16,
}

impl TimerNode {
    /// A node not in use.
    fn idle() -> Self {
        TimerNode {
            deadline: AtomicU64::new(u64::MAX),
            hard_deadline: u64::MAX,
            written_at: 0,
            prev: NIL,
            next: NIL,
            bucket: UNSCHEDULED,
        }
    }
}

impl TimerNode {
    /// The current deadline.
    #[inline]
    pub(crate) fn deadline(&self) -> u64 {
        self.deadline.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    head: u32,
    len: u32,
}

const EMPTY: Bucket = Bucket { head: NIL, len: 0 };

/// The wheel of one shard.
#[derive(Debug)]
pub(crate) struct Wheel {
    buckets: Vec<Bucket>,
    /// Indexed by slab index; grown on demand.
    nodes: Vec<TimerNode>,
    /// Timers in use (scheduled, or taken out by `advance` and not yet
    /// rescheduled or removed).
    active: usize,
    /// Time (ms) up to which buckets have been processed.
    current: u64,
    scheduled: usize,
}

impl Wheel {
    pub(crate) fn new(now: u64) -> Self {
        Wheel { buckets: vec![EMPTY; OVERFLOW as usize + 1], nodes: Vec::new(), active: 0, current: now, scheduled: 0 }
    }

    /// Number of scheduled timers.
    #[cfg(any(test, fuzzing, debug_assertions))]
    pub(crate) fn len(&self) -> usize {
        self.scheduled
    }

    /// Whether no timer exists at all (scheduled or being processed).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.active == 0
    }

    /// Number of timers in use.
    pub(crate) fn active(&self) -> usize {
        self.active
    }

    /// The timer of slab index `i` (meaningful while the entry is timed).
    #[inline]
    pub(crate) fn node(&self, i: u32) -> Option<&TimerNode> {
        self.nodes.get(i as usize)
    }

    pub(crate) fn node_mut(&mut self, i: u32) -> Option<&mut TimerNode> {
        self.nodes.get_mut(i as usize)
    }

    /// Starts the timer of slab index `i` (which must have none) at
    /// `deadline`.
    pub(crate) fn insert(&mut self, i: u32, deadline: u64, hard_deadline: u64, written_at: u64) {
        let at = i as usize;
        if at >= self.nodes.len() {
            let want = (at + 1).max(self.nodes.len() * 2).max(8);
            self.nodes.resize_with(want, TimerNode::idle);
        }
        let node = &mut self.nodes[at];
        *node.deadline.get_mut() = deadline;
        node.hard_deadline = hard_deadline;
        node.written_at = written_at;
        self.active += 1;
        self.schedule(i, deadline);
    }

    /// Cancels the timer of slab index `i`.
    pub(crate) fn remove(&mut self, i: u32) {
        if (i as usize) < self.nodes.len() {
            self.unschedule(i);
            self.active -= 1;
        }
    }

    /// Moves node `n` to the bucket for `deadline`.
    pub(crate) fn reschedule(&mut self, n: u32, deadline: u64) {
        self.unschedule(n);
        self.schedule(n, deadline);
    }

    fn bucket_for(&self, deadline: u64) -> u16 {
        // A deadline already passed goes to the bucket of `current`, which
        // the next precise advance drains.
        let deadline = deadline.max(self.current);
        for (level, &shift) in SHIFT.iter().enumerate() {
            let slot = deadline >> shift;
            let cur = self.current >> shift;
            if slot.saturating_sub(cur) < BUCKETS {
                return (level as u64 * BUCKETS + (slot & MASK)) as u16;
            }
        }
        OVERFLOW
    }

    fn schedule(&mut self, n: u32, deadline: u64) {
        let b = self.bucket_for(deadline);
        let head = self.buckets[b as usize].head;
        if let Some(h) = self.nodes.get_mut(head as usize) {
            h.prev = n;
        }
        let node = &mut self.nodes[n as usize];
        node.bucket = b;
        node.prev = NIL;
        node.next = head;
        let bucket = &mut self.buckets[b as usize];
        bucket.head = n;
        bucket.len += 1;
        self.scheduled += 1;
    }

    fn unschedule(&mut self, n: u32) {
        let TimerNode { prev, next, bucket, .. } = &self.nodes[n as usize];
        let (prev, next, bucket) = (*prev, *next, *bucket);
        if bucket == UNSCHEDULED {
            return;
        }
        match self.nodes.get_mut(prev as usize) {
            Some(p) => p.next = next,
            None => self.buckets[bucket as usize].head = next,
        }
        if let Some(x) = self.nodes.get_mut(next as usize) {
            x.prev = prev;
        }
        self.buckets[bucket as usize].len -= 1;
        let node = &mut self.nodes[n as usize];
        node.bucket = UNSCHEDULED;
        node.prev = NIL;
        node.next = NIL;
        self.scheduled -= 1;
    }

    /// Detaches bucket `b`'s nodes into `out`.
    fn take_bucket(&mut self, b: u16, out: &mut Vec<u32>) {
        let mut cur = std::mem::replace(&mut self.buckets[b as usize], EMPTY).head;
        while let Some(node) = self.nodes.get_mut(cur as usize) {
            out.push(cur);
            let next = node.next;
            node.bucket = UNSCHEDULED;
            node.prev = NIL;
            node.next = NIL;
            self.scheduled -= 1;
            cur = next;
        }
    }

    /// Advances the wheel to `now` and returns the nodes to look at: every
    /// node whose bucket's span has been passed. With `precise`, the bucket
    /// holding `now` at the finest level is included too, so every entry due
    /// at `now` is returned (used by `run_pending_tasks`); without it the
    /// wheel only does work when a 1-second bucket boundary is crossed
    /// (the amortised path on writes).
    ///
    /// The caller expires the due ones and calls [`Wheel::reschedule`] for the
    /// others, which then land in a finer bucket.
    pub(crate) fn advance(&mut self, now: u64, precise: bool, out: &mut Vec<u32>) {
        let prev = self.current;
        if now < prev {
            return;
        }
        if !precise && (now >> SHIFT[0]) == (prev >> SHIFT[0]) {
            return;
        }
        self.current = now;
        // Coarse levels first, so their nodes cascade into finer buckets
        // before those are drained (the caller reschedules after we return,
        // relative to the new `current`).
        if (now >> SHIFT[LEVELS - 1]) != (prev >> SHIFT[LEVELS - 1]) {
            self.take_bucket(OVERFLOW, out);
        }
        for level in (1..LEVELS).rev() {
            // Buckets whose span *started* since `prev`: their entries may
            // now be due within the span, so they cascade down.
            let (from, to) = (prev >> SHIFT[level], now >> SHIFT[level]);
            let count = (to - from).min(BUCKETS);
            for s in (to + 1 - count)..=to {
                self.take_bucket((level as u64 * BUCKETS + (s & MASK)) as u16, out);
            }
        }
        // Finest level: buckets whose span has *ended*, plus `now`'s if precise.
        let (from, to) = (prev >> SHIFT[0], now >> SHIFT[0]);
        let last = if precise { to } else { to.saturating_sub(1) };
        if last >= from {
            let count = (last - from + 1).min(BUCKETS);
            for s in (last + 1 - count)..=last {
                self.take_bucket((s & MASK) as u16, out);
            }
        }
    }

    /// Frees every node.
    pub(crate) fn clear(&mut self) {
        self.buckets.fill(EMPTY);
        self.nodes.clear();
        self.nodes.shrink_to_fit();
        self.active = 0;
        self.scheduled = 0;
    }

    /// Checks the wheel's invariants (tests and fuzzing).
    #[cfg(any(test, fuzzing, debug_assertions))]
    pub(crate) fn validate(&self) {
        let mut seen = 0usize;
        for (b, bucket) in self.buckets.iter().enumerate() {
            let mut cur = bucket.head;
            let mut prev = NIL;
            let mut n = 0u32;
            while cur != NIL {
                let node = &self.nodes[cur as usize];
                assert_eq!(node.bucket as usize, b, "node in the wrong bucket");
                assert_eq!(node.prev, prev, "broken back link");
                prev = cur;
                cur = node.next;
                n += 1;
            }
            assert_eq!(n, bucket.len, "bucket length");
            seen += n as usize;
        }
        assert_eq!(seen, self.scheduled, "scheduled count");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the wheel like a shard does: due nodes are collected, the others
    /// rescheduled at their deadline.
    fn step(w: &mut Wheel, deadlines: &[u64], now: u64, precise: bool) -> Vec<u32> {
        let mut out = Vec::new();
        w.advance(now, precise, &mut out);
        let mut due = Vec::new();
        for n in out {
            let slot = n;
            if deadlines[slot as usize] <= now {
                due.push(slot);
                w.remove(n);
            } else {
                w.reschedule(n, deadlines[slot as usize]);
            }
        }
        w.validate();
        due.sort_unstable();
        due
    }

    #[test]
    fn every_deadline_fires_exactly_on_time() {
        // Deadlines spread over all levels and the overflow.
        let deadlines: Vec<u64> = vec![
            0,
            1,
            999,
            1_024,
            65_000,
            65_537,
            3_600_000,
            4_300_000,
            90_000_000,
            300_000_000,
            20_000_000_000,
            40_000_000_000,
        ];
        let mut w = Wheel::new(0);
        for (i, &d) in deadlines.iter().enumerate() {
            w.insert(i as u32, d, d, 0);
        }
        w.validate();
        let mut fired = vec![false; deadlines.len()];
        let mut now = 0u64;
        // Walk time in uneven steps, precisely, checking nothing fires early
        // and everything due has fired.
        while now <= 41_000_000_000 {
            for slot in step(&mut w, &deadlines, now, true) {
                assert!(deadlines[slot as usize] <= now, "fired early");
                fired[slot as usize] = true;
            }
            for (i, &d) in deadlines.iter().enumerate() {
                assert_eq!(fired[i], d <= now, "deadline {d} at {now}");
            }
            now = if now < 5_000_000 { now + 977 } else { now * 2 + 13 };
        }
        assert_eq!(w.len(), 0);
    }

    #[test]
    fn coarse_advance_only_on_bucket_boundaries() {
        let mut w = Wheel::new(0);
        w.insert(0, 10, 10, 0);
        let deadlines = [10u64];
        assert!(step(&mut w, &deadlines, 500, false).is_empty(), "same second: no work");
        assert_eq!(step(&mut w, &deadlines, 1_100, false), vec![0]);
    }

    #[test]
    fn cancel_and_reschedule() {
        let mut w = Wheel::new(0);
        w.insert(0, 5_000, 5_000, 0);
        w.insert(1, 5_000, 5_000, 0);
        let b = 1;
        w.remove(0);
        w.reschedule(b, 9_000_000);
        w.validate();
        let deadlines = [5_000u64, 9_000_000];
        assert!(step(&mut w, &deadlines, 6_000, true).is_empty());
        assert_eq!(step(&mut w, &deadlines, 9_000_000, true), vec![1]);
    }
}
