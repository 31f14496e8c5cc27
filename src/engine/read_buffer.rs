//! A lossy buffer of reads for policies that reorder on access (LRU).
//!
//! Lookups hold only the shard's read lock, so they cannot move an entry in
//! a list. Instead they drop the entry's index into this ring; the next
//! writer (or `run_pending_tasks`) drains it under the write lock and applies
//! the moves in order. When readers lap the ring before a drain, the oldest
//! records are overwritten: recency is approximate under heavy read load,
//! exactly as moka and Caffeine accept.

use std::sync::atomic::{AtomicU32, Ordering};

/// Ring size: a power of two, large enough that a write every few dozen
/// reads loses nothing.
const SIZE: usize = 64;

#[derive(Debug)]
pub(crate) struct ReadBuffer {
    slots: [AtomicU32; SIZE],
    tail: AtomicU32,
}

impl Default for ReadBuffer {
    fn default() -> Self {
        ReadBuffer { slots: std::array::from_fn(|_| AtomicU32::new(0)), tail: AtomicU32::new(0) }
    }
}

impl ReadBuffer {
    /// Records a read of slab index `i`. Returns `true` when the ring has
    /// just filled, as a hint to drain it soon.
    #[inline]
    pub(crate) fn push(&self, i: u32) -> bool {
        let t = self.tail.fetch_add(1, Ordering::Relaxed);
        // Stored as index + 1 so that 0 means "empty"; indices are < u32::MAX.
        self.slots[t as usize % SIZE].store(i.wrapping_add(1), Ordering::Relaxed);
        t as usize % SIZE == SIZE - 1
    }

    /// Takes every recorded read, oldest first, calling `f` for each.
    pub(crate) fn drain(&self, mut f: impl FnMut(u32)) {
        let t = self.tail.load(Ordering::Relaxed) as usize;
        for k in 0..SIZE {
            let v = self.slots[(t + k) % SIZE].swap(0, Ordering::Relaxed);
            if v != 0 {
                f(v - 1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drains_in_order_and_empties() {
        let b = ReadBuffer::default();
        for i in 0..10 {
            assert!(!b.push(i));
        }
        let mut seen = Vec::new();
        b.drain(|i| seen.push(i));
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
        let mut again = 0;
        b.drain(|_| again += 1);
        assert_eq!(again, 0);
    }

    #[test]
    fn lossy_when_lapped() {
        let b = ReadBuffer::default();
        let mut full = 0;
        for i in 0..(SIZE as u32 * 2 + 5) {
            full += u32::from(b.push(i));
        }
        assert_eq!(full, 2);
        let mut seen = Vec::new();
        b.drain(|i| seen.push(i));
        assert_eq!(seen.len(), SIZE);
        assert_eq!(*seen.last().unwrap(), SIZE as u32 * 2 + 4);
    }
}
