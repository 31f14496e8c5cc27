//! [`DenseTable`]: the storage behind `Hash` and `Set`. Entries live in one
//! dense vector and a `hashbrown` table maps each key's hash to its index
//! (the layout of `indexmap`), so lookups, inserts and removals are O(1)
//! and a uniformly random entry is one index away: SPOP, SRANDMEMBER and
//! HRANDFIELD cost O(1) per element, as Redis's do, where a plain hash map
//! would have to walk its buckets.
//!
//! Removal swaps the last entry into the hole, so iteration order is not
//! stable; SCAN-style cursors use hash positions (`db::cursor`) instead.
//! Indexes are `u32`: a table holds at most `u32::MAX - 1` entries, under
//! Redis's own limit for hashes and sets (2^32 - 1).

use crate::engine::evict::lfu::next_random;
use hashbrown::HashTable;
use std::sync::LazyLock;

/// Seeded once per process (random), shared by every table: the hash of a
/// key is the same in every table, which costs nothing and keeps the
/// tables small (no per-table hasher state).
static HASHER: LazyLock<ahash::RandomState> = LazyLock::new(ahash::RandomState::new);

/// Most entries a table holds (indexes are `u32`).
const MAX_ENTRIES: usize = u32::MAX as usize - 1;

/// An entry of a [`DenseTable`]: something with a byte-string key.
pub(crate) trait Keyed {
    /// The key the table finds the entry by.
    fn key(&self) -> &[u8];
}

impl Keyed for Box<[u8]> {
    fn key(&self) -> &[u8] {
        self
    }
}

/// A field of a hash and its value.
pub(crate) type FieldEntry = (Box<[u8]>, Box<[u8]>);

impl Keyed for FieldEntry {
    fn key(&self) -> &[u8] {
        &self.0
    }
}

fn hash_key(key: &[u8]) -> u64 {
    HASHER.hash_one(key)
}

/// The hash of the entry at index `i` (0 for an index out of range, which
/// the table's invariant rules out).
fn hash_at<E: Keyed>(entries: &[E], i: u32) -> u64 {
    entries.get(i as usize).map_or(0, |e| hash_key(e.key()))
}

/// A uniformly random number below `n` (`n > 0`), from the engine's cheap
/// per-thread generator (Lemire's multiply-shift, no division).
pub(crate) fn random_below(n: usize) -> usize {
    ((u128::from(next_random()) * n as u128) >> 64) as usize
}

/// `k` distinct uniformly random indexes below `n` (all of them when
/// `k >= n`), in O(k) time and memory (Floyd's sampling).
pub(crate) fn sample_distinct(n: usize, k: usize) -> Vec<usize> {
    if k >= n {
        return (0..n).collect();
    }
    let mut chosen: hashbrown::HashSet<usize, ahash::RandomState> =
        hashbrown::HashSet::with_capacity_and_hasher(k, HASHER.clone());
    let mut out = Vec::with_capacity(k);
    for j in n - k..n {
        let t = random_below(j + 1);
        let pick = if chosen.contains(&t) { j } else { t };
        chosen.insert(pick);
        out.push(pick);
    }
    out
}

/// Entries with distinct keys in a dense vector, indexed by a hash table.
#[derive(Debug, Clone)]
pub(crate) struct DenseTable<E> {
    entries: Vec<E>,
    index: HashTable<u32>,
}

impl<E> Default for DenseTable<E> {
    fn default() -> Self {
        DenseTable { entries: Vec::new(), index: HashTable::new() }
    }
}

impl<E: Keyed> DenseTable<E> {
    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table has no entry.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Heap bytes of the table itself (vector slots and index buckets),
    /// not counting what the entries own.
    pub(crate) fn footprint(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<E>() + self.index.allocation_size()
    }

    /// The entries, in storage order.
    pub(crate) fn entries(&self) -> &[E] {
        &self.entries
    }

    /// The entries, moved out.
    pub(crate) fn into_entries(self) -> Vec<E> {
        self.entries
    }

    /// The entry at index `i`.
    pub(crate) fn get(&self, i: usize) -> Option<&E> {
        self.entries.get(i)
    }

    /// The entry at index `i`, mutably. The caller must not change its key.
    pub(crate) fn get_mut(&mut self, i: usize) -> Option<&mut E> {
        self.entries.get_mut(i)
    }

    /// The index of the entry whose key is `key`.
    pub(crate) fn find(&self, key: &[u8]) -> Option<usize> {
        let entries = &self.entries;
        self.index
            .find(hash_key(key), |&i| entries.get(i as usize).is_some_and(|e| e.key() == key))
            .map(|&i| i as usize)
    }

    /// Appends `entry`, whose key the caller checked is absent. Returns
    /// `false` (and drops it) when the table is full.
    pub(crate) fn push_new(&mut self, entry: E) -> bool {
        if self.entries.len() >= MAX_ENTRIES {
            return false;
        }
        let i = self.entries.len() as u32;
        let hash = hash_key(entry.key());
        self.entries.push(entry);
        let entries = &self.entries;
        self.index.insert_unique(hash, i, |&j| hash_at(entries, j));
        true
    }

    /// Removes the entry at index `i`; the last entry takes its place.
    pub(crate) fn swap_remove(&mut self, i: usize) -> Option<E> {
        let hash = hash_key(self.entries.get(i)?.key());
        let slot = u32::try_from(i).ok()?;
        if let Ok(found) = self.index.find_entry(hash, |&j| j == slot) {
            found.remove();
        }
        let last = self.entries.len() - 1;
        let removed = self.entries.swap_remove(i);
        if i < last
            && let Some(moved) = self.entries.get(i)
        {
            let from = last as u32;
            if let Some(idx) = self.index.find_mut(hash_key(moved.key()), |&j| j == from) {
                *idx = slot;
            }
        }
        self.shrink();
        Some(removed)
    }

    /// Removes the entry whose key is `key`.
    pub(crate) fn remove(&mut self, key: &[u8]) -> Option<E> {
        let i = self.find(key)?;
        self.swap_remove(i)
    }

    /// Keeps the entries for which `keep` is true.
    pub(crate) fn retain(&mut self, keep: impl FnMut(&E) -> bool) {
        let before = self.entries.len();
        self.entries.retain(keep);
        if self.entries.len() != before {
            self.index.clear();
            let entries = &self.entries;
            for (i, e) in entries.iter().enumerate() {
                self.index.insert_unique(hash_key(e.key()), i as u32, |&j| hash_at(entries, j));
            }
            self.shrink();
        }
    }

    /// Gives memory back when the table is mostly empty.
    fn shrink(&mut self) {
        let len = self.entries.len();
        if self.entries.capacity() > 64 && len < self.entries.capacity() / 4 {
            self.entries.shrink_to(len * 2);
            let entries = &self.entries;
            self.index.shrink_to(len * 2, |&j| hash_at(entries, j));
        }
    }

    /// Checks the invariants: every entry is indexed once, at its place.
    #[cfg(test)]
    pub(crate) fn validate(&self) {
        assert_eq!(self.index.len(), self.entries.len());
        for (i, e) in self.entries.iter().enumerate() {
            assert_eq!(self.find(e.key()), Some(i));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: usize) -> Box<[u8]> {
        format!("k{i}").into_bytes().into_boxed_slice()
    }

    #[test]
    fn inserts_finds_and_swap_removes() {
        let mut t: DenseTable<Box<[u8]>> = DenseTable::default();
        for i in 0..200 {
            assert!(t.push_new(key(i)));
        }
        t.validate();
        for i in (0..200).step_by(3) {
            assert_eq!(t.remove(&key(i)).as_deref(), Some(&*key(i)));
            assert_eq!(t.remove(&key(i)), None);
        }
        t.validate();
        for i in 0..200 {
            assert_eq!(t.find(&key(i)).is_some(), i % 3 != 0, "{i}");
        }
        t.retain(|k| k.len() == 3);
        t.validate();
        assert!(t.entries().iter().all(|k| k.len() == 3));
        while let Some(i) = (!t.is_empty()).then(|| random_below(t.len())) {
            t.swap_remove(i);
        }
        t.validate();
        assert!(t.is_empty());
        assert!(t.footprint() < 4096, "shrunk: {}", t.footprint());
    }

    #[test]
    fn samples_are_distinct_and_cover_the_table() {
        let mut t: DenseTable<Box<[u8]>> = DenseTable::default();
        for i in 0..50 {
            t.push_new(key(i));
        }
        let mut seen = [0u32; 50];
        for _ in 0..200 {
            let s = sample_distinct(t.len(), 10);
            assert_eq!(s.len(), 10);
            let distinct: std::collections::HashSet<_> = s.iter().collect();
            assert_eq!(distinct.len(), 10);
            for i in s {
                seen[i] += 1;
            }
        }
        assert!(seen.iter().all(|&c| c > 0), "{seen:?}");
        assert_eq!(sample_distinct(t.len(), 60).len(), 50);
        assert_eq!(sample_distinct(t.len(), 0), Vec::<usize>::new());
    }
}
