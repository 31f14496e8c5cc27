//! One shard's index: the slab indices of its entries, found by hash.
//!
//! An open-addressing table of groups, each one cache line: twelve one-byte
//! tags (the hash's top byte, 0 for a free slot), a count of entries that
//! overflowed past the group, and the twelve `u32` slab indices. A lookup
//! reads the group its hash's low bits name, compares the twelve tags at
//! once, and reads the slab index from the same line.
//!
//! It replaced a `hashbrown` table of `u32` slots, whose control bytes and
//! slots live in two arrays: every lookup of a shard larger than the caches
//! paid a miss on the control bytes, then another on the slot, on another
//! page. Measured with random gets over 400 000 values of 1 KiB, that
//! second miss was a fifth of `Db::get`'s time.
//!
//! A full group sends an insert on to the next group (linear probing) and
//! counts it in its `overflow`; a lookup goes on past a group only while
//! that count is not 0, so a miss usually ends at its home group. Removing
//! an entry undoes its count along its way. The table never holds a
//! tombstone: a freed slot is free.
//!
//! The table stores no hash: a growth asks the caller for each entry's
//! (see [`Table::reserve`]). It holds at most 7/8 of its slots.
//!
//! Invariants (checked by [`Table::validate`]): `len` is the number of used
//! slots; every index is found from its hash's home group; each group's
//! `overflow` is the number of entries whose probe passed it.

/// Slots per group: twelve tags, a `u32` count and twelve `u32` indices
/// fill 64 bytes.
const SLOTS: usize = 12;

/// The tag of a free slot.
const FREE: u8 = 0;

/// One cache line of the table.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Group {
    tags: [u8; SLOTS],
    /// Entries whose home is this group or one before it that live past
    /// it: a lookup that finds nothing here goes on only if this is not 0.
    overflow: u32,
    slots: [u32; SLOTS],
}

const EMPTY: Group = Group { tags: [FREE; SLOTS], overflow: 0, slots: [0; SLOTS] };

impl Group {
    /// A bit per slot whose tag is `tag`.
    #[inline]
    fn matching(&self, tag: u8) -> u32 {
        let mut bits = 0u32;
        for (s, &t) in self.tags.iter().enumerate() {
            bits |= u32::from(t == tag) << s;
        }
        bits
    }
}

/// The bits of `bits`, lowest first.
#[inline]
fn each_bit(mut bits: u32) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        let s = bits.trailing_zeros() as usize;
        bits &= bits.wrapping_sub(1);
        (s < 32).then_some(s)
    })
}

/// A slab index found in the table.
#[derive(Clone, Copy)]
struct Place {
    group: usize,
    slot: usize,
}

/// The table of one shard (see the module's documentation).
pub(crate) struct Table {
    /// A power of two of them, or none before the first insert.
    groups: Vec<Group>,
    len: usize,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table").field("len", &self.len).field("groups", &self.groups.len()).finish()
    }
}

/// The tag of `hash`: its top byte, never [`FREE`]. (The engine's shard
/// routing uses bits 20..52, the home group the lowest bits.)
#[inline]
fn tag(hash: u64) -> u8 {
    ((hash >> 56) as u8).max(1)
}

/// Entries a table of `groups` groups holds: 7/8 of its slots.
const fn capacity_of(groups: usize) -> usize {
    groups * SLOTS / 8 * 7
}

/// The capacity of the smallest table that holds `n` entries (the bulk
/// sizing of `CacheBuilder` fits its shards to these steps).
pub(crate) fn capacity_for(n: usize) -> usize {
    capacity_of(groups_for(n))
}

/// Groups of the smallest table that holds `n` entries.
fn groups_for(n: usize) -> usize {
    let mut groups = 1usize;
    while capacity_of(groups) < n {
        groups = groups.saturating_mul(2);
        if groups == usize::MAX {
            break;
        }
    }
    groups
}

impl Table {
    pub(crate) const fn new() -> Self {
        Table { groups: Vec::new(), len: 0 }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Entries the table holds before it must grow.
    pub(crate) fn capacity(&self) -> usize {
        capacity_of(self.groups.len())
    }

    #[inline]
    fn mask(&self) -> usize {
        self.groups.len().wrapping_sub(1)
    }

    /// The first place, in probe order, whose tag matches `hash`'s and
    /// for which `eq` holds of the index there: the home group's, then
    /// the next group's while the one before has overflowed.
    #[inline(always)]
    fn probe(&self, hash: u64, mut eq: impl FnMut(u32) -> bool) -> Option<(Place, u32)> {
        let tag = tag(hash);
        let mask = self.mask();
        let mut group = hash as usize & mask;
        // A full table's probe ends where it began.
        for _ in 0..self.groups.len() {
            let g = self.groups.get(group)?;
            let mut bits = g.matching(tag);
            while bits != 0 {
                let slot = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let i = *g.slots.get(slot)?;
                if eq(i) {
                    return Some((Place { group, slot }, i));
                }
            }
            if g.overflow == 0 {
                return None;
            }
            group = (group + 1) & mask;
        }
        None
    }

    /// The slab index `hash` leads to for which `eq` holds.
    #[inline]
    pub(crate) fn find(&self, hash: u64, eq: impl FnMut(u32) -> bool) -> Option<u32> {
        self.probe(hash, eq).map(|(_, i)| i)
    }

    /// The first slab index whose tag matches `hash`'s (a hint for
    /// warming: it may be another key's).
    #[inline]
    pub(crate) fn first(&self, hash: u64) -> Option<u32> {
        self.probe(hash, |_| true).map(|(_, i)| i)
    }

    /// Asks for the line of `hash`'s home group (a hint: see
    /// [`super::prefetch`]).
    #[inline]
    pub(crate) fn warm(&self, hash: u64) {
        if let Some(g) = self.groups.get(hash as usize & self.mask()) {
            super::prefetch::line(g);
        }
    }

    /// Adds slab index `i` under `hash` (not in the table yet), growing
    /// the table first if it is full, with `hash_of` giving the hash of
    /// each index already in.
    pub(crate) fn insert(&mut self, hash: u64, i: u32, hash_of: impl Fn(u32) -> u64) {
        if self.len >= self.capacity() {
            self.reserve(1, hash_of);
        }
        self.place(hash, i);
    }

    /// Puts `i` in the first free slot of `hash`'s probe; there is one.
    fn place(&mut self, hash: u64, i: u32) {
        let mask = self.mask();
        let mut group = hash as usize & mask;
        for _ in 0..self.groups.len() {
            let Some(g) = self.groups.get_mut(group) else { return };
            if let Some(slot) = each_bit(g.matching(FREE)).next() {
                g.tags[slot] = tag(hash);
                g.slots[slot] = i;
                self.len += 1;
                return;
            }
            g.overflow += 1;
            group = (group + 1) & mask;
        }
    }

    /// Removes the slab index `hash` leads to for which `eq` holds, and
    /// returns it.
    pub(crate) fn remove(&mut self, hash: u64, mut eq: impl FnMut(u32) -> bool) -> Option<u32> {
        let (place, i) = self.probe(hash, &mut eq)?;
        let mask = self.mask();
        let mut group = hash as usize & mask;
        while group != place.group {
            if let Some(g) = self.groups.get_mut(group) {
                g.overflow = g.overflow.saturating_sub(1);
            }
            group = (group + 1) & mask;
        }
        let g = self.groups.get_mut(place.group)?;
        g.tags[place.slot] = FREE;
        self.len -= 1;
        Some(i)
    }

    /// Makes room for `additional` more entries, rebuilding the table if
    /// it must grow: `hash_of` gives the hash of each index already in.
    pub(crate) fn reserve(&mut self, additional: usize, hash_of: impl Fn(u32) -> u64) {
        let want = groups_for(self.len.saturating_add(additional));
        if want <= self.groups.len() {
            return;
        }
        let old = std::mem::replace(&mut self.groups, vec![EMPTY; want]);
        self.len = 0;
        for g in &old {
            for s in each_bit(!g.matching(FREE) & ((1 << SLOTS) - 1)) {
                let i = g.slots[s];
                self.place(hash_of(i), i);
            }
        }
    }

    /// Removes every index, keeping the allocation.
    pub(crate) fn clear(&mut self) {
        self.groups.fill(EMPTY);
        self.len = 0;
    }

    /// Every used slot's index, in table order.
    #[cfg(any(test, fuzzing, debug_assertions))]
    fn indices(&self) -> impl Iterator<Item = u32> + '_ {
        self.groups.iter().flat_map(|g| each_bit(!g.matching(FREE) & ((1 << SLOTS) - 1)).map(|s| g.slots[s]))
    }

    /// Checks the invariants of the module's documentation, `hash_of`
    /// giving each index's hash (tests, fuzzing).
    #[cfg(any(test, fuzzing, debug_assertions))]
    pub(crate) fn validate(&self, hash_of: impl Fn(u32) -> u64) {
        assert_eq!(self.indices().count(), self.len, "len");
        assert!(self.len <= self.capacity(), "over capacity");
        let mut overflow = vec![0u32; self.groups.len()];
        let mask = self.mask();
        for (at, g) in self.groups.iter().enumerate() {
            for s in each_bit(!g.matching(FREE) & ((1 << SLOTS) - 1)) {
                let i = g.slots[s];
                assert_eq!(g.tags[s], tag(hash_of(i)), "tag of {i}");
                assert_eq!(self.find(hash_of(i), |j| j == i), Some(i), "{i} not found");
                let mut group = hash_of(i) as usize & mask;
                while group != at {
                    overflow[group] += 1;
                    group = (group + 1) & mask;
                }
            }
        }
        let counted: Vec<u32> = self.groups.iter().map(|g| g.overflow).collect();
        assert_eq!(counted, overflow, "overflow counts");
    }
}

#[cfg(test)]
mod tests;
