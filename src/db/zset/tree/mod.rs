//! The ordered half of a sorted set: an order-statistic B+tree over the
//! members, ordered by score then by member bytes (Redis's order), with
//! no `unsafe` and no pointers.
//!
//! - Members live once, in a slab of [`Slot`]s (member bytes, inline up to
//!   22 bytes, + exact score; `slab`) addressed by `u32` ids; freed ids are
//!   reused. The hash index of `ZSet` stores ids too, so member bytes are
//!   never stored twice.
//! - Nodes live in two arenas (`Vec<Leaf>`, `Vec<Inner>`) addressed by
//!   `u32`. A leaf holds up to `CAP - 1` entries as parallel arrays of
//!   order keys (the score mapped to a `u64` that sorts as the `f64`, with
//!   `-0.0` equal to `0.0`) and slot ids; leaves are doubly linked for
//!   O(1) steps in either direction. An inner node holds, per child, the
//!   child's index, its subtree size and its subtree's minimum entry.
//! - Descents compare order keys (plain integers) and read member bytes
//!   only to break ties between equal scores.
//!
//! Costs, `n` members, fan-out 32 (height ≈ log₃₂ n, 4 for a million):
//! insert, remove, rank and select O(log n); a range of `m` members
//! O(log n + m) (a select, then leaf-list steps).
//!
//! Invariants (checked by `validate` in tests): keys strictly increase
//! along the leaf list; every inner entry's key/id is its child's minimum
//! and its count the child's size; every non-root node holds at least
//! `MIN_FILL` entries; all leaves are at depth `height`.
//!
//! Layout: searches and queries here; shape changes (link, unlink, split,
//! merge, bulk build) in `edit`; the slab in `slab`; `validate` in tests.

mod edit;
mod slab;
#[cfg(test)]
mod validate;

pub(super) use slab::{Member, Slot, order_key};

use slab::Slab;
use smallvec::SmallVec;

/// Entries per node at most, minus one (a node reaching `CAP` splits).
/// 32: a node's keys span 4 cache lines, scanned in parallel; measured
/// faster than 64 and 128 on a million members (the leaves are the cold
/// part of a descent). Unit tests use 8 to exercise deep trees.
#[cfg(not(test))]
const CAP: usize = 32;
#[cfg(test)]
const CAP: usize = 8;
/// A non-root node with fewer entries borrows from or merges with a sibling.
const MIN_FILL: usize = CAP / 4;
/// Entries per node when building from sorted input (room left for inserts).
const BUILD_FILL: usize = CAP * 7 / 8;
/// "No node".
const NIL: u32 = u32::MAX;

/// What a descent looks for: an entry's order key and member.
#[derive(Clone, Copy)]
struct Target<'a> {
    key: u64,
    member: &'a [u8],
}

#[derive(Clone)]
struct Leaf {
    len: u32,
    prev: u32,
    next: u32,
    keys: [u64; CAP],
    ids: [u32; CAP],
}

#[derive(Clone)]
struct Inner {
    len: u32,
    /// Minimum entry of each child's subtree.
    keys: [u64; CAP],
    ids: [u32; CAP],
    kids: [u32; CAP],
    /// Entries in each child's subtree.
    counts: [u32; CAP],
}

impl Leaf {
    fn empty() -> Leaf {
        Leaf { len: 0, prev: NIL, next: NIL, keys: [0; CAP], ids: [0; CAP] }
    }
}

impl Inner {
    fn empty() -> Inner {
        Inner { len: 0, keys: [0; CAP], ids: [0; CAP], kids: [0; CAP], counts: [0; CAP] }
    }

    fn total(&self) -> usize {
        self.counts[..self.len as usize].iter().map(|&c| c as usize).sum()
    }
}

/// A position in the leaf list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Cursor {
    leaf: u32,
    pos: u32,
}

impl Cursor {
    /// No position (an empty range).
    pub(super) const NONE: Cursor = Cursor { leaf: NIL, pos: 0 };
}

/// First index in `0..len` where `pred` fails (`pred` true on a prefix).
#[inline]
fn partition(len: usize, mut pred: impl FnMut(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, len);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if pred(mid) { lo = mid + 1 } else { hi = mid }
    }
    lo
}

/// The number of entries of a node (`keys`, `ids`, sorted) before the
/// target: a branch-free count over the keys (their cache lines load in
/// parallel, unlike a binary search's chain), then member comparisons
/// only across entries whose key equals the target's.
#[inline]
fn position(slab: &Slab, keys: &[u64], ids: &[u32], t: &Target<'_>) -> usize {
    let lt = keys.iter().fold(0, |n, &k| n + usize::from(k < t.key));
    let mut i = lt;
    while i < keys.len() && keys[i] == t.key && slab.member(ids[i]) < t.member {
        i += 1;
    }
    i
}

/// The child of an inner node whose subtree holds the target, given the
/// number of children whose minimum is at or before it.
#[inline]
fn child(at_or_before: usize) -> usize {
    at_or_before.saturating_sub(1)
}

/// The path of a descent: (inner node, child index) from the root down.
type Path = SmallVec<[(u32, usize); 8]>;

/// Where an entry is: the path to its leaf, the leaf, the position.
type Located = (Path, u32, usize);

/// The order-statistic tree with its slab of members.
#[derive(Clone)]
pub(super) struct Tree {
    slab: Slab,
    leaves: Vec<Leaf>,
    free_leaves: Vec<u32>,
    inners: Vec<Inner>,
    free_inners: Vec<u32>,
    root: u32,
    /// Inner levels above the leaves (0: the root is a leaf).
    height: u32,
    len: usize,
    first: u32,
    last: u32,
}

impl std::fmt::Debug for Tree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tree").field("len", &self.len).field("height", &self.height).finish_non_exhaustive()
    }
}

impl Default for Tree {
    fn default() -> Tree {
        Tree::new()
    }
}

impl Tree {
    /// An empty tree.
    pub(super) fn new() -> Tree {
        Tree {
            slab: Slab::default(),
            leaves: Vec::new(),
            free_leaves: Vec::new(),
            inners: Vec::new(),
            free_inners: Vec::new(),
            root: NIL,
            height: 0,
            len: 0,
            first: NIL,
            last: NIL,
        }
    }

    /// Number of members.
    pub(super) fn len(&self) -> usize {
        if self.root == NIL { 0 } else { self.len }
    }

    /// The member of slot `id`.
    #[inline]
    pub(super) fn member(&self, id: u32) -> &[u8] {
        self.slab.member(id)
    }

    /// The score of slot `id`.
    #[inline]
    pub(super) fn score(&self, id: u32) -> f64 {
        self.slab.slots.get(id as usize).map_or(0.0, |s| s.score)
    }

    /// Slots ever allocated and not compacted away (live + free).
    pub(super) fn slots_used(&self) -> usize {
        self.slab.slots.len()
    }

    /// Heap bytes: slab, member bytes, node arenas and free lists (capacity).
    pub(super) fn footprint(&self) -> usize {
        use std::mem::size_of;
        self.slab.slots.capacity() * size_of::<Slot>()
            + self.slab.bytes
            + (self.slab.free.capacity() + self.free_leaves.capacity() + self.free_inners.capacity()) * 4
            + self.leaves.capacity() * size_of::<Leaf>()
            + self.inners.capacity() * size_of::<Inner>()
    }

    /// Adds a member that is not in the tree; returns its slot id.
    pub(super) fn insert(&mut self, member: &[u8], score: f64) -> u32 {
        let id = self.slab.alloc(Member::new(member), score);
        self.link(id);
        id
    }

    /// Removes slot `id` from the tree and frees it, returning it.
    pub(super) fn remove(&mut self, id: u32) -> Slot {
        self.unlink(id);
        self.slab.release(id)
    }

    /// Changes the score of slot `id`, moving it in the order if needed:
    /// within its leaf when it stays inside it (one descent), else out and
    /// back in (two).
    pub(super) fn set_score(&mut self, id: u32, score: f64) {
        let key = order_key(score);
        if key != self.slab.key(id)
            && let Some(found) = self.locate(id)
            && !self.move_within(found.1, found.2, id, key)
        {
            self.remove_at(found);
            if let Some(s) = self.slab.slots.get_mut(id as usize) {
                s.score = score;
            }
            self.link(id);
        } else if let Some(s) = self.slab.slots.get_mut(id as usize) {
            s.score = score;
        }
    }

    /// The path to slot `id`, its leaf and its position there (`None` if
    /// it is not in the tree).
    fn locate(&self, id: u32) -> Option<Located> {
        let slab = &self.slab;
        let t = Target { key: slab.key(id), member: slab.member(id) };
        let mut path = Path::new();
        let mut node = self.root;
        for _ in 0..self.height {
            let inner = self.inners.get(node as usize)?;
            let n = inner.len as usize;
            let p = position(slab, &inner.keys[..n], &inner.ids[..n], &t);
            let i = child(p + usize::from(p < n && inner.ids[p] == id));
            path.push((node, i));
            node = inner.kids[i];
        }
        let leaf = self.leaves.get(node as usize)?;
        let n = leaf.len as usize;
        let pos = position(slab, &leaf.keys[..n], &leaf.ids[..n], &t);
        (pos < n && leaf.ids[pos] == id).then_some((path, node, pos))
    }

    /// Moves the entry at `pos` of `leaf` (slot `id`) to order key `key` if
    /// its new place is strictly inside the same leaf (so no count and no
    /// minimum changes); returns whether it did.
    fn move_within(&mut self, leaf: u32, pos: usize, id: u32, key: u64) -> bool {
        let slab = &self.slab;
        let Some(l) = self.leaves.get_mut(leaf as usize) else { return false };
        let len = l.len as usize;
        if pos == 0 || len < 3 {
            return false;
        }
        let t = Target { key, member: slab.member(id) };
        let p = position(slab, &l.keys[..len], &l.ids[..len], &t);
        // Its place among the other entries of the leaf.
        let q = p - usize::from(pos < p);
        if q < 1 || q > len - 2 {
            return false;
        }
        if q < pos {
            l.keys.copy_within(q..pos, q + 1);
            l.ids.copy_within(q..pos, q + 1);
        } else {
            l.keys.copy_within(pos + 1..q + 1, pos);
            l.ids.copy_within(pos + 1..q + 1, pos);
        }
        l.keys[q] = key;
        l.ids[q] = id;
        true
    }

    /// The 0-based rank of slot `id`.
    pub(super) fn rank(&self, id: u32) -> usize {
        let t = Target { key: self.slab.key(id), member: self.slab.member(id) };
        let slab = &self.slab;
        self.descend(
            |inner| {
                let n = inner.len as usize;
                let p = position(slab, &inner.keys[..n], &inner.ids[..n], &t);
                child(p + usize::from(p < n && inner.ids[p] == id))
            },
            |leaf| {
                let n = leaf.len as usize;
                position(slab, &leaf.keys[..n], &leaf.ids[..n], &t)
            },
        )
    }

    /// The number of leading entries whose order key satisfies `before`
    /// (which must hold on a prefix of the order).
    pub(super) fn count_keys_while(&self, before: impl Fn(u64) -> bool) -> usize {
        let count = |keys: &[u64]| keys.iter().fold(0, |n, &k| n + usize::from(before(k)));
        self.descend(
            |inner| child(count(&inner.keys[..inner.len as usize])),
            |leaf| count(&leaf.keys[..leaf.len as usize]),
        )
    }

    /// The number of leading entries whose member satisfies `before`
    /// (which must hold on a prefix of the order, as it does when all
    /// scores are equal).
    pub(super) fn count_members_while(&self, before: impl Fn(&[u8]) -> bool) -> usize {
        self.count_while(|slab, _, id| before(slab.member(id)))
    }

    /// Like `count_keys_while` for any predicate, by binary search (it may
    /// compare members, which cost more than loading keys).
    fn count_while(&self, pred: impl Fn(&Slab, u64, u32) -> bool) -> usize {
        let slab = &self.slab;
        self.descend(
            |inner| child(partition(inner.len as usize, |i| pred(slab, inner.keys[i], inner.ids[i]))),
            |leaf| partition(leaf.len as usize, |i| pred(slab, leaf.keys[i], leaf.ids[i])),
        )
    }

    /// Walks from the root to a leaf: at each inner node to the child
    /// `inner_pos` picks, counting the entries of the children left of it,
    /// then adds `leaf_pos` in the leaf. The result is the rank of the
    /// position the two pick.
    fn descend(&self, inner_pos: impl Fn(&Inner) -> usize, leaf_pos: impl Fn(&Leaf) -> usize) -> usize {
        let mut rank = 0;
        let mut node = self.root;
        if node == NIL {
            return 0;
        }
        for _ in 0..self.height {
            let Some(inner) = self.inners.get(node as usize) else { return rank };
            let i = inner_pos(inner);
            rank += inner.counts[..i].iter().map(|&c| c as usize).sum::<usize>();
            node = inner.kids[i];
        }
        let Some(leaf) = self.leaves.get(node as usize) else { return rank };
        rank + leaf_pos(leaf)
    }

    /// The position of the entry of rank `rank` (`None` past the end).
    pub(super) fn select(&self, mut rank: usize) -> Option<Cursor> {
        if rank >= self.len() {
            return None;
        }
        let mut node = self.root;
        for _ in 0..self.height {
            let inner = self.inners.get(node as usize)?;
            let mut i = 0;
            while i + 1 < inner.len as usize && rank >= inner.counts[i] as usize {
                rank -= inner.counts[i] as usize;
                i += 1;
            }
            node = inner.kids[i];
        }
        Some(Cursor { leaf: node, pos: u32::try_from(rank).ok()? })
    }

    /// The slot id at `c`.
    #[inline]
    pub(super) fn id_at(&self, c: Cursor) -> u32 {
        self.leaves.get(c.leaf as usize).map_or(0, |l| l.ids[c.pos as usize % CAP])
    }

    /// The next position (garbage past the end: callers count entries).
    #[inline]
    pub(super) fn next(&self, c: Cursor) -> Cursor {
        match self.leaves.get(c.leaf as usize) {
            Some(l) if c.pos + 1 < l.len => Cursor { leaf: c.leaf, pos: c.pos + 1 },
            Some(l) => Cursor { leaf: l.next, pos: 0 },
            None => c,
        }
    }

    /// The previous position (garbage before the start).
    #[inline]
    pub(super) fn prev(&self, c: Cursor) -> Cursor {
        if c.pos > 0 {
            return Cursor { leaf: c.leaf, pos: c.pos - 1 };
        }
        let prev = self.leaves.get(c.leaf as usize).map_or(NIL, |l| l.prev);
        let pos = self.leaves.get(prev as usize).map_or(0, |l| l.len.saturating_sub(1));
        Cursor { leaf: prev, pos }
    }

    /// The position of the first entry (`Cursor::NONE` when empty).
    pub(super) fn first(&self) -> Cursor {
        Cursor { leaf: self.first, pos: 0 }
    }

    /// The position of the last entry (`Cursor::NONE` when empty).
    pub(super) fn last(&self) -> Cursor {
        let pos = self.leaves.get(self.last as usize).map_or(0, |l| l.len.saturating_sub(1));
        Cursor { leaf: self.last, pos }
    }
}
