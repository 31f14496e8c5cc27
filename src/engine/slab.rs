//! Entry storage: a slab of entries addressed by `u32` index, with
//! index-linked intrusive lists for the eviction queues.
//!
//! No raw pointers link engine structures (STYLE.md, convention 3): a list
//! node is an index into the shard's slab, so a stale link can at worst name
//! the wrong live entry of the same shard, never freed memory.

use std::sync::atomic::{AtomicU8, Ordering};

/// "No entry": the end of a list.
pub(crate) const NIL: u32 = u32::MAX;

/// Deadline of an entry that never expires.
pub(crate) const NEVER: u64 = u64::MAX;

/// Which eviction queue an entry sits in. Also gives `Option<Entry>` a niche,
/// so a slab slot costs no discriminant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Queue {
    /// Admission window (adaptive policy) or the single LRU/LFU list.
    Window = 0,
    /// Main space, probation segment (adaptive policy).
    Probation = 1,
    /// Main space, protected segment (adaptive policy).
    Protected = 2,
}

/// One cached entry with its policy metadata: 32 bytes for `u64 -> u64`.
///
/// Laid out `repr(C)` with the fields a lookup reads (key, value, access
/// bits, flags) first, so a hit usually touches one cache line. An entry
/// with a deadline has [`TIMED`] set and a timer node at the same index in
/// the shard's wheel, which holds its deadline and write time: entries
/// without one pay nothing for expiry, and a lookup checks the flag before
/// it reads any clock.
///
/// `freq` is written by readers under the shard's *read* lock (an atomic);
/// everything else changes under the write lock only.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct Entry<K, V> {
    pub(crate) key: K,
    pub(crate) value: V,
    /// Policy access bits / counter, set by readers.
    pub(crate) freq: AtomicU8,
    pub(crate) queue: Queue,
    /// [`TIMED`] and future flags.
    pub(crate) flags: u8,
    pub(crate) prev: u32,
    pub(crate) next: u32,
    pub(crate) weight: u32,
}

/// [`Entry::flags`]: the entry has a timer node in the wheel.
pub(crate) const TIMED: u8 = 1;

impl<K, V> Entry<K, V> {
    pub(crate) fn new(key: K, value: V, weight: u32) -> Self {
        Entry { key, value, freq: AtomicU8::new(0), queue: Queue::Window, flags: 0, prev: NIL, next: NIL, weight }
    }

    /// Whether the entry has a timer (a deadline) in the wheel.
    #[inline]
    pub(crate) fn timed(&self) -> bool {
        self.flags & TIMED != 0
    }

    /// Reads the access counter.
    #[inline]
    pub(crate) fn freq(&self) -> u8 {
        self.freq.load(Ordering::Relaxed)
    }

    /// Sets the access counter.
    #[inline]
    pub(crate) fn set_freq(&self, f: u8) {
        self.freq.store(f, Ordering::Relaxed);
    }
}

/// A slab of entries with a free list.
#[derive(Debug)]
pub(crate) struct Slab<K, V> {
    slots: Vec<Option<Entry<K, V>>>,
    free: Vec<u32>,
    len: usize,
    /// Most entries the slab will ever need to hold at once (a shard bounded
    /// by entry count), so growth stops there instead of doubling past it.
    limit: usize,
}

impl<K, V> Slab<K, V> {
    pub(crate) fn new() -> Self {
        Slab { slots: Vec::new(), free: Vec::new(), len: 0, limit: usize::MAX }
    }

    /// Caps growth at `limit` entries (more can still be stored; growth is
    /// then by doubling again).
    pub(crate) fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
    }

    /// Number of live entries.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Number of slots, live or free (indices are below this).
    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Stores an entry, returning its index. Slab indices stay below
    /// `u32::MAX`, which is reserved for [`NIL`].
    pub(crate) fn insert(&mut self, entry: Entry<K, V>) -> Option<u32> {
        self.len += 1;
        if let Some(i) = self.free.pop() {
            self.slots[i as usize] = Some(entry);
            return Some(i);
        }
        let i = u32::try_from(self.slots.len()).ok().filter(|&i| i != NIL);
        match i {
            Some(i) => {
                let cap = self.slots.capacity();
                if self.slots.len() == cap {
                    // Double as usual, but never past the limit (+1 for the
                    // entry inserted before the shard evicts).
                    let doubled = cap.saturating_mul(2).max(8);
                    let bound = self.limit.saturating_add(1);
                    let want = if cap >= bound { doubled } else { doubled.min(bound) };
                    self.slots.reserve_exact(want - cap);
                }
                self.slots.push(Some(entry));
                Some(i)
            }
            None => {
                self.len -= 1;
                None
            }
        }
    }

    /// Makes room for `additional` more entries.
    pub(crate) fn reserve(&mut self, additional: usize) {
        let free = self.free.len();
        self.slots.reserve(additional.saturating_sub(free));
    }

    /// Removes and returns the entry at `i`.
    pub(crate) fn remove(&mut self, i: u32) -> Option<Entry<K, V>> {
        let e = self.slots.get_mut(i as usize)?.take()?;
        self.free.push(i);
        self.len -= 1;
        Some(e)
    }

    #[inline]
    pub(crate) fn get(&self, i: u32) -> Option<&Entry<K, V>> {
        self.slots.get(i as usize)?.as_ref()
    }

    /// The hash of every slot's key, by index (0 for a free slot): one pass
    /// in index order, for a table growth (see `Shard::make_room`).
    pub(crate) fn hashes(&self, hash_of: &dyn Fn(&K) -> u64) -> Vec<u64> {
        self.slots.iter().map(|s| s.as_ref().map_or(0, |e| hash_of(&e.key))).collect()
    }

    /// Prefetches the lines of slot `i` (see [`super::prefetch`]), without
    /// reading it.
    #[inline]
    pub(crate) fn warm_entry(&self, i: u32) {
        if let Some(slot) = self.slots.get(i as usize) {
            let start: *const Option<Entry<K, V>> = slot;
            super::prefetch::line(start);
            super::prefetch::line(start.cast::<u8>().wrapping_add(size_of::<Option<Entry<K, V>>>() - 1));
        }
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, i: u32) -> Option<&mut Entry<K, V>> {
        self.slots.get_mut(i as usize)?.as_mut()
    }

    /// Drops every entry, returning them.
    pub(crate) fn drain(&mut self) -> Vec<Entry<K, V>> {
        self.free.clear();
        self.len = 0;
        let out = self.slots.drain(..).flatten().collect();
        self.slots.shrink_to_fit();
        self.free.shrink_to_fit();
        out
    }

    /// Iterates over `(index, entry)` of live entries.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &Entry<K, V>)> {
        self.slots.iter().enumerate().filter_map(|(i, e)| Some((i as u32, e.as_ref()?)))
    }
}

/// An intrusive doubly linked list over slab indices.
#[derive(Debug, Clone, Copy)]
pub(crate) struct List {
    pub(crate) head: u32,
    pub(crate) tail: u32,
    /// Total weight of the entries in the list.
    pub(crate) weight: u64,
    pub(crate) len: u32,
}

impl Default for List {
    fn default() -> Self {
        List { head: NIL, tail: NIL, weight: 0, len: 0 }
    }
}

impl List {
    /// Appends entry `i` at the tail (most recent end) and tags it `queue`.
    pub(crate) fn push_back<K, V>(&mut self, slab: &mut Slab<K, V>, i: u32, queue: Queue) {
        let tail = self.tail;
        let Some(e) = slab.get_mut(i) else { return };
        e.prev = tail;
        e.next = NIL;
        e.queue = queue;
        let w = u64::from(e.weight);
        if let Some(t) = slab.get_mut(tail) {
            t.next = i;
        } else {
            self.head = i;
        }
        self.tail = i;
        self.weight += w;
        self.len += 1;
    }

    /// Unlinks entry `i`, which must be in this list.
    pub(crate) fn unlink<K, V>(&mut self, slab: &mut Slab<K, V>, i: u32) {
        let Some(e) = slab.get_mut(i) else { return };
        let (prev, next, w) = (e.prev, e.next, u64::from(e.weight));
        e.prev = NIL;
        e.next = NIL;
        match slab.get_mut(prev) {
            Some(p) => p.next = next,
            None => self.head = next,
        }
        match slab.get_mut(next) {
            Some(n) => n.prev = prev,
            None => self.tail = prev,
        }
        self.weight -= w;
        self.len -= 1;
    }

    /// Moves entry `i` (in this list) to the tail.
    pub(crate) fn move_to_back<K, V>(&mut self, slab: &mut Slab<K, V>, i: u32) {
        if self.tail == i {
            return;
        }
        let q = match slab.get(i) {
            Some(e) => e.queue,
            None => return,
        };
        self.unlink(slab, i);
        self.push_back(slab, i, q);
    }

    /// Index of the head (least recent end), if any.
    pub(crate) fn front(&self) -> Option<u32> {
        (self.head != NIL).then_some(self.head)
    }

    /// Iterates from head to tail.
    pub(crate) fn iter<'a, K, V>(&self, slab: &'a Slab<K, V>) -> impl Iterator<Item = u32> + 'a {
        let mut cur = self.head;
        std::iter::from_fn(move || {
            let i = cur;
            cur = slab.get(i)?.next;
            Some(i)
        })
    }

    /// Adjusts the recorded weight after entry weight changes from `old` to `new`.
    pub(crate) fn reweigh(&mut self, old: u32, new: u32) {
        self.weight = self.weight - u64::from(old) + u64::from(new);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(k: u32) -> Entry<u32, u32> {
        Entry::new(k, k, 1)
    }

    #[test]
    fn entry_is_compact() {
        assert_eq!(std::mem::size_of::<Option<Entry<u64, u64>>>(), 32);
        let e = entry(1);
        assert!(!e.timed());
    }

    #[test]
    fn slab_reuses_freed_slots() {
        let mut s = Slab::new();
        let a = s.insert(entry(1)).unwrap();
        let b = s.insert(entry(2)).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s.remove(a).unwrap().key, 1);
        assert!(s.remove(a).is_none());
        let c = s.insert(entry(3)).unwrap();
        assert_eq!(c, a);
        assert_eq!(s.get(b).unwrap().key, 2);
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn list_order_and_unlink() {
        let mut s = Slab::new();
        let ids: Vec<u32> = (0..5).map(|k| s.insert(entry(k)).unwrap()).collect();
        let mut l = List::default();
        for &i in &ids {
            l.push_back(&mut s, i, Queue::Window);
        }
        l.unlink(&mut s, ids[2]);
        l.move_to_back(&mut s, ids[0]);
        let order: Vec<u32> = l.iter(&s).collect();
        assert_eq!(order, vec![ids[1], ids[3], ids[4], ids[0]]);
        assert_eq!(l.len, 4);
        assert_eq!(l.weight, 4);
        assert_eq!(l.front(), Some(ids[1]));
    }
}
