//! Where a key's probe starts in its shard's table, so that a lookup can
//! request the table's two lines at once.
//!
//! A lookup in hashbrown's table reads a group of sixteen control bytes,
//! then the slot (a `u32` slab index) of the bucket whose tag matched. The
//! slots live in another part of the allocation, so when the table is not
//! cached these are two misses, the second issued only once the first has
//! ended. Both addresses follow from the hash alone, though: the probe
//! starts at bucket `hash & mask`, the control bytes of buckets
//! `pos..pos + 16` start at the allocation's middle (`end`) plus `pos`,
//! and their slots lie just below `end`, four bytes each, in reverse order.
//! [`Home::warm`] prefetches the control group and the sixteen slots
//! (one or two lines) before the table is read, so the two misses overlap.
//!
//! Every lookup does this ([`Shard::find_with`](super::shard::Shard::find_with)),
//! and a batch does it for all its keys first (`engine::prefetch`). On a
//! store larger than the caches (`examples/cold_lookups`) it took a
//! `Cache` get from 170–192 ns to 141–146 ns and `Db::get` of 1 KiB
//! values from 682–749 ns to 632–688 ns (the two builds one after the
//! other, rounds 2–6 of each); in the Zipf throughput bench, where the
//! table is cached, the rows moved within their noise.
//!
//! This leans on hashbrown's layout, which its API does not promise; the
//! addresses are only ever prefetched, never read, so a layout that changed
//! would cost the overlap and never a wrong answer. The tests check the
//! layout against the table's own bucket API.

use super::prefetch::line;
use hashbrown::HashTable;

/// Buckets per probe group: hashbrown's SSE2 group (its other groups are
/// narrower, and prefetching sixteen slots there covers them too).
const GROUP: usize = 16;

/// The table's layout as [`Home::warm`] needs it, learned from the table
/// (see the module's documentation). Relearn it after the table may have
/// moved (after every `reserve`: a growth allocates anew), and when it is
/// not known yet (a table reserved while empty).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Home {
    /// The address where the slots end and the control bytes begin; 0 when
    /// not known (an empty table).
    end: usize,
    /// Buckets minus one.
    mask: usize,
}

impl Home {
    /// Reads the layout of `table` from one of its occupied buckets.
    pub(crate) fn learn(table: &HashTable<u32>) -> Home {
        let Some(i) = table.iter_buckets().next() else { return Home::default() };
        let Some(slot) = table.get_bucket(i) else { return Home::default() };
        let end = std::ptr::from_ref(slot).addr().wrapping_add(size_of::<u32>().wrapping_mul(i + 1));
        Home { end, mask: table.num_buckets() - 1 }
    }

    /// Whether this is a layout (the table it came from had an entry).
    #[inline]
    pub(crate) fn is_known(&self) -> bool {
        self.end != 0
    }

    /// Prefetches the control bytes and the slots of `hash`'s first probe
    /// group in `table`, if this is `table`'s layout (it may not be yet:
    /// a table that grew since it was learned is skipped).
    #[inline(always)]
    pub(crate) fn warm(&self, table: &HashTable<u32>, hash: u64) {
        let Some(pos) = self.probe_start(table, hash) else { return };
        let at = |addr: usize| line(std::ptr::without_provenance::<u8>(addr));
        at(self.end.wrapping_add(pos));
        // The group's slots: its first bucket's is the highest.
        let below = |buckets: usize| self.end.wrapping_sub(size_of::<u32>().wrapping_mul(buckets));
        at(below(pos.wrapping_add(1)));
        at(below(pos.wrapping_add(GROUP)));
    }

    /// The bucket where `hash`'s probe starts in `table`; `None` if this
    /// is not `table`'s layout (unknown, or the table grew since).
    #[inline(always)]
    fn probe_start(&self, table: &HashTable<u32>, hash: u64) -> Option<usize> {
        if self.end == 0 || table.num_buckets() != self.mask.wrapping_add(1) {
            return None;
        }
        // Truncation on 32-bit targets is what hashbrown does too.
        #[allow(clippy::cast_possible_truncation)]
        Some(hash as usize & self.mask)
    }

    /// The slot address of bucket `i` under this layout (tests).
    #[cfg(test)]
    fn slot_addr(&self, i: usize) -> usize {
        self.end - size_of::<u32>() * (i + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::{GROUP, Home};
    use hashbrown::HashTable;

    fn table(n: u32) -> (HashTable<u32>, ahash::RandomState) {
        let hasher = ahash::RandomState::with_seeds(1, 2, 3, 4);
        let mut t = HashTable::new();
        for i in 0..n {
            t.insert_unique(hasher.hash_one(i), i, |&j| hasher.hash_one(j));
        }
        (t, hasher)
    }

    #[test]
    fn an_empty_table_has_no_home() {
        let (t, _) = table(0);
        assert_eq!(Home::learn(&t), Home::default());
        assert_eq!(Home::learn(&t).probe_start(&t, 12345), None);
    }

    /// The layout `warm` assumes is hashbrown's: every bucket's slot sits
    /// where `Home` puts it, and nearly every key is found in the probe
    /// group that `warm` prefetches (the rest were displaced further).
    #[test]
    fn the_layout_is_hashbrowns() {
        let sizes: &[u32] = if cfg!(miri) { &[1, 3, 7, 100] } else { &[1, 3, 7, 100, 10_000] };
        for &n in sizes {
            let (t, hasher) = table(n);
            let home = Home::learn(&t);
            assert_eq!(home.mask + 1, t.num_buckets());
            let mut in_first_group = 0;
            for i in 0..n {
                let hash = hasher.hash_one(i);
                let b = t.find_bucket_index(hash, |&j| j == i).expect("present");
                let slot = t.get_bucket(b).expect("occupied");
                assert_eq!(std::ptr::from_ref(slot).addr(), home.slot_addr(b), "slot of bucket {b}");
                let pos = home.probe_start(&t, hash).expect("learned");
                if (b.wrapping_sub(pos) & home.mask) < GROUP {
                    in_first_group += 1;
                }
                // Not observable; under Miri this checks that prefetching
                // the addresses computed here is sound.
                home.warm(&t, hash);
            }
            assert!(in_first_group * 10 >= n * 9, "{in_first_group} of {n} in their first group");
        }
    }

    /// A home learned before a growth is not used on the grown table.
    #[test]
    fn a_stale_home_is_skipped() {
        let (mut t, hasher) = table(3);
        let old = Home::learn(&t);
        for i in 3..200u32 {
            t.insert_unique(hasher.hash_one(i), i, |&j| hasher.hash_one(j));
        }
        assert_eq!(old.probe_start(&t, 7), None);
        let new = Home::learn(&t);
        assert_eq!(new.probe_start(&t, 7), Some(7));
    }
}
