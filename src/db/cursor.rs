//! SCAN-style cursors over collections whose iteration order is not stable
//! (hash tables that grow and shrink): items are visited in windows of a
//! fixed 48-bit "scan position" derived from each item's hash, so a cursor
//! stays meaningful across growth, shrinking and rehashing. Redis's
//! guarantee follows: an item present for the whole scan is returned at
//! least once (exactly once, here, unless it changes position, which a
//! hash never does).
//!
//! Each call costs one pass over the collection; windows are sized so a
//! call returns about `max(COUNT, len / MAX_CALLS)` items, so a full scan
//! takes at most about `MAX_CALLS` calls.

use std::hash::Hash;

/// Positions are 48 bits: the rest of a SCAN cursor says which shard.
pub(crate) const POSITION_BITS: u32 = 48;
const SPAN: u64 = 1 << POSITION_BITS;
/// A full scan of one collection takes at most about this many calls.
const MAX_CALLS: usize = 256;

/// The scan position of a hash value (bits independent of the ones that
/// pick shards and table buckets).
#[inline]
pub(crate) fn position(hash: u64) -> u64 {
    (hash ^ (hash >> 29)).wrapping_mul(0xBF58_476D_1CE4_E5B9) >> (64 - POSITION_BITS)
}

/// A fixed hasher for scan positions of collection items (stable for the
/// life of the process, so cursors stay valid between calls).
pub(crate) fn item_position<T: Hash + ?Sized>(item: &T) -> u64 {
    static STATE: std::sync::LazyLock<ahash::RandomState> = std::sync::LazyLock::new(ahash::RandomState::new);
    position(STATE.hash_one(item))
}

/// The window `[start, end)` of positions one call covers, for a
/// collection of `len` items asked for `count` items; `end == SPAN` means
/// the scan ends with this call.
pub(crate) fn window(start: u64, count: usize, len: usize) -> (u64, u64) {
    let want = count.max(len / MAX_CALLS).max(1) as u128;
    let width = if len == 0 { SPAN as u128 } else { (u128::from(SPAN) * want).div_ceil(len as u128) };
    let end = (u128::from(start) + width).min(u128::from(SPAN)) as u64;
    (start, end)
}

/// One SCAN call over a collection: returns the items whose position is in
/// this call's window, and the next cursor (0 at the end).
pub(crate) fn scan_items<T>(
    items: impl Iterator<Item = T>,
    pos: impl Fn(&T) -> u64,
    cursor: u64,
    count: usize,
    len: usize,
) -> (u64, Vec<T>) {
    if cursor >= SPAN {
        return (0, Vec::new());
    }
    let (start, end) = window(cursor, count, len);
    let out = items
        .filter(|t| {
            let p = pos(t);
            p >= start && p < end
        })
        .collect();
    (if end >= SPAN { 0 } else { end }, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_scan_sees_every_item_once_even_as_the_set_grows() {
        let mut items: Vec<u64> = (0..1000).collect();
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut calls = 0;
        loop {
            let (next, got) = scan_items(items.iter().copied(), item_position, cursor, 10, items.len());
            for g in got {
                assert!(seen.insert(g), "returned twice: {g}");
            }
            // Growth between calls does not move anyone.
            items.extend((0..50).map(|i| 10_000 + calls * 50 + i));
            calls += 1;
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        assert!((0..1000).all(|i| seen.contains(&i)));
        assert!(calls <= 2 * MAX_CALLS as u64 + 10, "{calls} calls");
    }
}
