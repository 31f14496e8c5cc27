//! The ordered half of a sorted set: an order-statistic B+tree over the
//! members, ordered by score then by member bytes (Redis's order), with
//! no `unsafe` and no pointers.
//!
//! - Members live once, in a slab of [`Slot`]s (member bytes + exact score)
//!   addressed by `u32` ids; freed ids are reused. The hash index of
//!   `ZSet` stores ids too, so member bytes are never stored twice.
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

/// Members up to this long live inside their slot (no allocation, one
/// cache miss less per comparison); the slot is 32 bytes either way.
const INLINE: usize = 22;

/// A member's bytes: inline when short, else on the heap.
#[derive(Debug, Clone)]
pub(super) enum Member {
    Inline { len: u8, buf: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl Member {
    pub(super) fn new(bytes: &[u8]) -> Member {
        match u8::try_from(bytes.len()) {
            Ok(len) if bytes.len() <= INLINE => {
                let mut buf = [0; INLINE];
                buf[..bytes.len()].copy_from_slice(bytes);
                Member::Inline { len, buf }
            }
            _ => Member::Heap(bytes.into()),
        }
    }

    /// From owned bytes (kept on the heap as they are when long).
    pub(super) fn from_box(bytes: Box<[u8]>) -> Member {
        if bytes.len() <= INLINE { Member::new(&bytes) } else { Member::Heap(bytes) }
    }

    #[inline]
    pub(super) fn as_bytes(&self) -> &[u8] {
        match self {
            Member::Inline { len, buf } => buf.get(..usize::from(*len)).unwrap_or(buf),
            Member::Heap(b) => b,
        }
    }

    /// Bytes allocated outside the slot.
    fn heap_len(&self) -> usize {
        match self {
            Member::Inline { .. } => 0,
            Member::Heap(b) => b.len(),
        }
    }

    pub(super) fn into_vec(self) -> Vec<u8> {
        match self {
            Member::Inline { .. } => self.as_bytes().to_vec(),
            Member::Heap(b) => b.into_vec(),
        }
    }

    const EMPTY: Member = Member::Inline { len: 0, buf: [0; INLINE] };
}

/// A member and its exact score (`-0.0` kept as given).
#[derive(Debug, Clone)]
pub(super) struct Slot {
    pub(super) member: Member,
    pub(super) score: f64,
}

const _: () = assert!(std::mem::size_of::<Slot>() == 32);

/// The `u64` that sorts as `score` does (`-0.0` as `0.0`; no NaN here).
#[inline]
pub(super) fn order_key(score: f64) -> u64 {
    let s = if score == 0.0 { 0.0 } else { score };
    let bits = s.to_bits();
    if bits >> 63 == 1 { !bits } else { bits | (1 << 63) }
}

/// The slab of members.
#[derive(Debug, Clone, Default)]
struct Slab {
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Sum of the live members' lengths.
    bytes: usize,
}

impl Slab {
    #[inline]
    fn member(&self, id: u32) -> &[u8] {
        self.slots.get(id as usize).map_or(&[], |s| s.member.as_bytes())
    }

    #[inline]
    fn key(&self, id: u32) -> u64 {
        self.slots.get(id as usize).map_or(0, |s| order_key(s.score))
    }

    fn alloc(&mut self, member: Member, score: f64) -> u32 {
        self.bytes += member.heap_len();
        let slot = Slot { member, score };
        match self.free.pop() {
            Some(id) => {
                if let Some(s) = self.slots.get_mut(id as usize) {
                    *s = slot;
                }
                id
            }
            None => {
                grow(&mut self.slots);
                self.slots.push(slot);
                u32::try_from(self.slots.len() - 1).unwrap_or(u32::MAX)
            }
        }
    }

    fn release(&mut self, id: u32) -> Slot {
        let empty = Slot { member: Member::EMPTY, score: 0.0 };
        let slot = self.slots.get_mut(id as usize).map_or(empty.clone(), |s| std::mem::replace(s, empty));
        self.bytes -= slot.member.heap_len();
        self.free.push(id);
        slot
    }
}

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
        let mut rank = 0;
        let mut node = self.root;
        for _ in 0..self.height {
            let Some(inner) = self.inners.get(node as usize) else { return rank };
            let n = inner.len as usize;
            let p = position(slab, &inner.keys[..n], &inner.ids[..n], &t);
            let i = child(p + usize::from(p < n && inner.ids[p] == id));
            rank += inner.counts[..i].iter().map(|&c| c as usize).sum::<usize>();
            node = inner.kids[i];
        }
        let Some(leaf) = self.leaves.get(node as usize) else { return rank };
        let n = leaf.len as usize;
        rank + position(slab, &leaf.keys[..n], &leaf.ids[..n], &t)
    }

    /// The number of leading entries whose order key satisfies `before`
    /// (which must hold on a prefix of the order).
    pub(super) fn count_keys_while(&self, before: impl Fn(u64) -> bool) -> usize {
        let count = |keys: &[u64]| keys.iter().fold(0, |n, &k| n + usize::from(before(k)));
        let mut rank = 0;
        let mut node = self.root;
        if node == NIL {
            return 0;
        }
        for _ in 0..self.height {
            let Some(inner) = self.inners.get(node as usize) else { return rank };
            let i = child(count(&inner.keys[..inner.len as usize]));
            rank += inner.counts[..i].iter().map(|&c| c as usize).sum::<usize>();
            node = inner.kids[i];
        }
        let Some(leaf) = self.leaves.get(node as usize) else { return rank };
        rank + count(&leaf.keys[..leaf.len as usize])
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
        let mut rank = 0;
        let mut node = self.root;
        if node == NIL {
            return 0;
        }
        for _ in 0..self.height {
            let Some(inner) = self.inners.get(node as usize) else { return rank };
            let i = child(partition(inner.len as usize, |i| pred(slab, inner.keys[i], inner.ids[i])));
            rank += inner.counts[..i].iter().map(|&c| c as usize).sum::<usize>();
            node = inner.kids[i];
        }
        let Some(leaf) = self.leaves.get(node as usize) else { return rank };
        rank + partition(leaf.len as usize, |i| pred(slab, leaf.keys[i], leaf.ids[i]))
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

    /// Takes every slot out in order, leaving the tree empty.
    pub(super) fn drain_sorted(&mut self) -> Vec<Slot> {
        let mut out = Vec::with_capacity(self.len());
        let mut leaf = self.first;
        while let Some(l) = self.leaves.get(leaf as usize) {
            for &id in &l.ids[..l.len as usize] {
                if let Some(s) = self.slab.slots.get_mut(id as usize) {
                    out.push(std::mem::replace(s, Slot { member: Member::EMPTY, score: 0.0 }));
                }
            }
            leaf = l.next;
        }
        *self = Tree::new();
        out
    }

    /// A tree of `slots`, which must be sorted and distinct; ids are the
    /// positions in `slots`. Nodes are filled to `BUILD_FILL`.
    pub(super) fn from_sorted(slots: Vec<Slot>) -> Tree {
        let mut t = Tree::new();
        let n = slots.len();
        if n == 0 {
            return t;
        }
        t.slab.bytes = slots.iter().map(|s| s.member.heap_len()).sum();
        t.slab.slots = slots;
        t.len = n;
        // Leaves.
        let k = n.div_ceil(BUILD_FILL);
        t.leaves.reserve_exact(k);
        let mut level: Vec<(u32, u64, u32, u32)> = Vec::with_capacity(k); // (node, min key, min id, count)
        let mut id = 0usize;
        for j in 0..k {
            let size = n / k + usize::from(j < n % k);
            let mut leaf = Leaf::empty();
            for p in 0..size {
                let sid = u32::try_from(id).unwrap_or(u32::MAX);
                leaf.keys[p] = t.slab.key(sid);
                leaf.ids[p] = sid;
                id += 1;
            }
            leaf.len = size as u32;
            let idx = t.leaves.len() as u32;
            leaf.prev = if j == 0 { NIL } else { idx - 1 };
            leaf.next = if j + 1 == k { NIL } else { idx + 1 };
            level.push((idx, leaf.keys[0], leaf.ids[0], size as u32));
            t.leaves.push(leaf);
        }
        t.first = 0;
        t.last = (k - 1) as u32;
        // Inner levels.
        while level.len() > 1 {
            let n = level.len();
            let k = n.div_ceil(BUILD_FILL);
            let mut up = Vec::with_capacity(k);
            let mut it = level.into_iter();
            for j in 0..k {
                let size = n / k + usize::from(j < n % k);
                let mut inner = Inner::empty();
                for (p, (kid, key, kid_id, count)) in it.by_ref().take(size).enumerate() {
                    inner.keys[p] = key;
                    inner.ids[p] = kid_id;
                    inner.kids[p] = kid;
                    inner.counts[p] = count;
                }
                inner.len = size as u32;
                let total = u32::try_from(inner.total()).unwrap_or(u32::MAX);
                up.push((t.inners.len() as u32, inner.keys[0], inner.ids[0], total));
                t.inners.push(inner);
            }
            level = up;
            t.height += 1;
        }
        t.root = level.first().map_or(NIL, |l| l.0);
        t
    }

    fn alloc_leaf(&mut self) -> u32 {
        match self.free_leaves.pop() {
            Some(i) => {
                if let Some(l) = self.leaves.get_mut(i as usize) {
                    *l = Leaf::empty();
                }
                i
            }
            None => {
                grow(&mut self.leaves);
                self.leaves.push(Leaf::empty());
                (self.leaves.len() - 1) as u32
            }
        }
    }

    fn alloc_inner(&mut self) -> u32 {
        match self.free_inners.pop() {
            Some(i) => {
                if let Some(n) = self.inners.get_mut(i as usize) {
                    *n = Inner::empty();
                }
                i
            }
            None => {
                grow(&mut self.inners);
                self.inners.push(Inner::empty());
                (self.inners.len() - 1) as u32
            }
        }
    }

    /// Puts slot `id` (not in the tree) at its place in the order.
    fn link(&mut self, id: u32) {
        let key = self.slab.key(id);
        if self.root == NIL {
            let leaf = self.alloc_leaf();
            let l = &mut self.leaves[leaf as usize];
            l.keys[0] = key;
            l.ids[0] = id;
            l.len = 1;
            self.root = leaf;
            self.height = 0;
            self.first = leaf;
            self.last = leaf;
            self.len = 1;
            return;
        }
        let slab = &self.slab;
        let t = Target { key, member: slab.member(id) };
        let mut path = Path::new();
        let mut node = self.root;
        for _ in 0..self.height {
            let inner = &mut self.inners[node as usize];
            let n = inner.len as usize;
            let i = child(position(slab, &inner.keys[..n], &inner.ids[..n], &t));
            inner.counts[i] += 1;
            path.push((node, i));
            node = inner.kids[i];
        }
        let leaf = &mut self.leaves[node as usize];
        let len = leaf.len as usize;
        let pos = position(slab, &leaf.keys[..len], &leaf.ids[..len], &t);
        leaf.keys.copy_within(pos..len, pos + 1);
        leaf.ids.copy_within(pos..len, pos + 1);
        leaf.keys[pos] = key;
        leaf.ids[pos] = id;
        leaf.len += 1;
        self.len += 1;
        if pos == 0 {
            // Only on the leftmost path: the new minimum of every ancestor.
            for &(n, i) in path.iter().rev() {
                let inner = &mut self.inners[n as usize];
                inner.keys[i] = key;
                inner.ids[i] = id;
                if i != 0 {
                    break;
                }
            }
        }
        if leaf.len as usize == CAP {
            self.split(node, pos + 1 == CAP, path);
        }
    }

    /// Splits the full leaf `node`, then any inner node that fills up in turn.
    /// `appended`: the entry just added went at the very end; when that is
    /// the end of the whole order, the split leaves the new right node at
    /// `MIN_FILL` (ascending inserts then pack nodes at 3/4 instead of 1/2).
    fn split(&mut self, node: u32, appended: bool, mut path: Path) {
        let rightmost = appended && path.iter().all(|&(n, i)| i + 1 == self.inners[n as usize].len as usize);
        let at = if rightmost { CAP - MIN_FILL } else { CAP / 2 };
        let right = self.alloc_leaf();
        let (l, r) = pair_mut(&mut self.leaves, node, right);
        let moved = CAP - at;
        r.keys[..moved].copy_from_slice(&l.keys[at..]);
        r.ids[..moved].copy_from_slice(&l.ids[at..]);
        r.len = moved as u32;
        l.len = at as u32;
        r.next = l.next;
        r.prev = node;
        l.next = right;
        let next = r.next;
        let mut new = (right, r.keys[0], r.ids[0], moved as u32);
        let mut left_count = at as u32;
        if next == NIL {
            self.last = right;
        } else {
            self.leaves[next as usize].prev = right;
        }
        let mut left = node;
        // Insert the new right node into the parents, splitting them as needed.
        loop {
            let Some((p, i)) = path.pop() else {
                // The root split: grow a level.
                let root = self.alloc_inner();
                let old_min = self.min_of(left);
                let inner = &mut self.inners[root as usize];
                inner.len = 2;
                (inner.keys[0], inner.ids[0], inner.kids[0], inner.counts[0]) =
                    (old_min.0, old_min.1, left, left_count);
                (inner.keys[1], inner.ids[1], inner.kids[1], inner.counts[1]) = (new.1, new.2, new.0, new.3);
                self.root = root;
                self.height += 1;
                return;
            };
            let inner = &mut self.inners[p as usize];
            let len = inner.len as usize;
            inner.counts[i] = left_count;
            let at_pos = i + 1;
            inner.keys.copy_within(at_pos..len, at_pos + 1);
            inner.ids.copy_within(at_pos..len, at_pos + 1);
            inner.kids.copy_within(at_pos..len, at_pos + 1);
            inner.counts.copy_within(at_pos..len, at_pos + 1);
            (inner.keys[at_pos], inner.ids[at_pos], inner.kids[at_pos], inner.counts[at_pos]) =
                (new.1, new.2, new.0, new.3);
            inner.len += 1;
            if inner.len as usize != CAP {
                return;
            }
            let at = if rightmost { CAP - MIN_FILL } else { CAP / 2 };
            let right = self.alloc_inner();
            let (l, r) = pair_mut(&mut self.inners, p, right);
            let moved = CAP - at;
            r.keys[..moved].copy_from_slice(&l.keys[at..]);
            r.ids[..moved].copy_from_slice(&l.ids[at..]);
            r.kids[..moved].copy_from_slice(&l.kids[at..]);
            r.counts[..moved].copy_from_slice(&l.counts[at..]);
            r.len = moved as u32;
            l.len = at as u32;
            new = (right, r.keys[0], r.ids[0], u32::try_from(r.total()).unwrap_or(u32::MAX));
            left_count = u32::try_from(l.total()).unwrap_or(u32::MAX);
            left = p;
        }
    }

    /// The minimum entry (key, id) of the root `node`.
    fn min_of(&self, node: u32) -> (u64, u32) {
        if self.height == 0 {
            let l = &self.leaves[node as usize];
            (l.keys[0], l.ids[0])
        } else {
            let n = &self.inners[node as usize];
            (n.keys[0], n.ids[0])
        }
    }

    /// Takes slot `id` (in the tree) out of the order; the slot stays allocated.
    fn unlink(&mut self, id: u32) {
        match self.locate(id) {
            Some(found) => self.remove_at(found),
            None => debug_assert!(false, "unlinking a slot that is not in the tree"),
        }
    }

    /// Removes the entry `found` locates, fixing counts, minimums and fill.
    fn remove_at(&mut self, (path, node, pos): Located) {
        for &(n, i) in &path {
            self.inners[n as usize].counts[i] -= 1;
        }
        let leaf = &mut self.leaves[node as usize];
        let len = leaf.len as usize;
        leaf.keys.copy_within(pos + 1..len, pos);
        leaf.ids.copy_within(pos + 1..len, pos);
        leaf.len -= 1;
        self.len -= 1;
        let (new_len, min) = (leaf.len as usize, (leaf.keys[0], leaf.ids[0]));
        if new_len == 0 {
            // Only the root leaf can empty (others rebalance at MIN_FILL).
            *self = Tree { slab: std::mem::take(&mut self.slab), ..Tree::new() };
            return;
        }
        if pos == 0 {
            for &(n, i) in path.iter().rev() {
                let inner = &mut self.inners[n as usize];
                (inner.keys[i], inner.ids[i]) = min;
                if i != 0 {
                    break;
                }
            }
        }
        if new_len < MIN_FILL {
            self.rebalance(path);
        }
    }

    /// Fixes the underfull child at the bottom of `path` by borrowing from
    /// or merging with a sibling, then its parent in turn.
    fn rebalance(&mut self, mut path: Path) {
        let mut is_leaf = true;
        while let Some((p, i)) = path.pop() {
            let plen = self.inners[p as usize].len as usize;
            if plen < 2 {
                return;
            }
            let (a, b) = if i + 1 < plen { (i, i + 1) } else { (i - 1, i) };
            let (na, nb) = (self.inners[p as usize].kids[a], self.inners[p as usize].kids[b]);
            let merged = if is_leaf { self.fix_leaves(na, nb) } else { self.fix_inners(na, nb) };
            let parent = &mut self.inners[p as usize];
            match merged {
                Fix::Merged => {
                    parent.counts[a] += parent.counts[b];
                    parent.keys.copy_within(b + 1..plen, b);
                    parent.ids.copy_within(b + 1..plen, b);
                    parent.kids.copy_within(b + 1..plen, b);
                    parent.counts.copy_within(b + 1..plen, b);
                    parent.len -= 1;
                }
                Fix::Moved { a_count, b_min } => {
                    let total = parent.counts[a] + parent.counts[b];
                    parent.counts[a] = a_count;
                    parent.counts[b] = total - a_count;
                    (parent.keys[b], parent.ids[b]) = b_min;
                }
            }
            let len = parent.len as usize;
            if path.is_empty() {
                // `p` is the root.
                if len == 1 {
                    self.root = parent.kids[0];
                    self.free_inners.push(p);
                    self.height -= 1;
                }
                return;
            }
            if len >= MIN_FILL {
                return;
            }
            is_leaf = false;
        }
    }

    /// Merges leaf `b` into its left neighbour `a`, or evens them out.
    fn fix_leaves(&mut self, a: u32, b: u32) -> Fix {
        let (l, r) = pair_mut(&mut self.leaves, a, b);
        let (la, lb) = (l.len as usize, r.len as usize);
        if la + lb < CAP {
            l.keys[la..la + lb].copy_from_slice(&r.keys[..lb]);
            l.ids[la..la + lb].copy_from_slice(&r.ids[..lb]);
            l.len = (la + lb) as u32;
            l.next = r.next;
            let next = r.next;
            if next == NIL {
                self.last = a;
            } else {
                self.leaves[next as usize].prev = a;
            }
            self.free_leaves.push(b);
            return Fix::Merged;
        }
        let want = (la + lb) / 2;
        if la > want {
            let k = la - want;
            r.keys.copy_within(..lb, k);
            r.ids.copy_within(..lb, k);
            r.keys[..k].copy_from_slice(&l.keys[want..la]);
            r.ids[..k].copy_from_slice(&l.ids[want..la]);
        } else {
            let k = want - la;
            l.keys[la..want].copy_from_slice(&r.keys[..k]);
            l.ids[la..want].copy_from_slice(&r.ids[..k]);
            r.keys.copy_within(k..lb, 0);
            r.ids.copy_within(k..lb, 0);
        }
        r.len = (la + lb - want) as u32;
        l.len = want as u32;
        Fix::Moved { a_count: want as u32, b_min: (r.keys[0], r.ids[0]) }
    }

    /// Merges inner node `b` into its left neighbour `a`, or evens them out.
    fn fix_inners(&mut self, a: u32, b: u32) -> Fix {
        let (l, r) = pair_mut(&mut self.inners, a, b);
        let (la, lb) = (l.len as usize, r.len as usize);
        if la + lb < CAP {
            l.keys[la..la + lb].copy_from_slice(&r.keys[..lb]);
            l.ids[la..la + lb].copy_from_slice(&r.ids[..lb]);
            l.kids[la..la + lb].copy_from_slice(&r.kids[..lb]);
            l.counts[la..la + lb].copy_from_slice(&r.counts[..lb]);
            l.len = (la + lb) as u32;
            self.free_inners.push(b);
            return Fix::Merged;
        }
        let want = (la + lb) / 2;
        if la > want {
            let k = la - want;
            r.keys.copy_within(..lb, k);
            r.ids.copy_within(..lb, k);
            r.kids.copy_within(..lb, k);
            r.counts.copy_within(..lb, k);
            r.keys[..k].copy_from_slice(&l.keys[want..la]);
            r.ids[..k].copy_from_slice(&l.ids[want..la]);
            r.kids[..k].copy_from_slice(&l.kids[want..la]);
            r.counts[..k].copy_from_slice(&l.counts[want..la]);
        } else {
            let k = want - la;
            l.keys[la..want].copy_from_slice(&r.keys[..k]);
            l.ids[la..want].copy_from_slice(&r.ids[..k]);
            l.kids[la..want].copy_from_slice(&r.kids[..k]);
            l.counts[la..want].copy_from_slice(&r.counts[..k]);
            r.keys.copy_within(k..lb, 0);
            r.ids.copy_within(k..lb, 0);
            r.kids.copy_within(k..lb, 0);
            r.counts.copy_within(k..lb, 0);
        }
        r.len = (la + lb - want) as u32;
        l.len = want as u32;
        let a_count = u32::try_from(l.total()).unwrap_or(u32::MAX);
        Fix::Moved { a_count, b_min: (r.keys[0], r.ids[0]) }
    }
}

/// What rebalancing two siblings did.
enum Fix {
    /// The right one was merged into the left one and freed.
    Merged,
    /// Entries moved: the left one now counts `a_count`, the right one starts at `b_min`.
    Moved { a_count: u32, b_min: (u64, u32) },
}

/// Makes room for one more element of an arena: by a quarter once the
/// arena is large (not doubling: the slack is memory the set pays for;
/// large reallocations remap pages rather than copy), amortised O(1).
fn grow<T>(v: &mut Vec<T>) {
    if v.len() == v.capacity() && v.len() >= 64 {
        v.reserve_exact(v.len() / 4);
    }
}

/// Two distinct elements of `v`, mutably.
fn pair_mut<T>(v: &mut [T], a: u32, b: u32) -> (&mut T, &mut T) {
    let (a, b) = (a as usize, b as usize);
    debug_assert_ne!(a, b);
    if a < b {
        let (lo, hi) = v.split_at_mut(b);
        (&mut lo[a], &mut hi[0])
    } else {
        let (lo, hi) = v.split_at_mut(a);
        let (x, y) = (&mut hi[0], &mut lo[b]);
        (x, y)
    }
}

#[cfg(test)]
impl Tree {
    /// Checks every invariant; returns the slot ids in order.
    pub(super) fn validate(&self) -> Vec<u32> {
        use std::cmp::Ordering;
        let slab = &self.slab;
        let cmp = |a: (u64, u32), b: (u64, u32)| a.0.cmp(&b.0).then_with(|| slab.member(a.1).cmp(slab.member(b.1)));
        if self.root == NIL {
            assert_eq!(self.len, 0);
            assert_eq!(slab.slots.len(), slab.free.len());
            return Vec::new();
        }
        // Walk the tree, checking counts, minimums and fill; collect leaves in order.
        let mut leaves = Vec::new();
        let mut stack = vec![(self.root, 0u32, true)];
        while let Some((node, depth, is_root)) = stack.pop() {
            if depth == self.height {
                let l = &self.leaves[node as usize];
                assert!((l.len as usize) < CAP);
                assert!(is_root || l.len as usize >= MIN_FILL, "underfull leaf {}", l.len);
                assert!(l.len > 0);
                leaves.push(node);
            } else {
                let n = &self.inners[node as usize];
                assert!((n.len as usize) < CAP);
                assert!(if is_root { n.len >= 2 } else { n.len as usize >= MIN_FILL }, "underfull inner {}", n.len);
                for i in (0..n.len as usize).rev() {
                    let (count, min) = self.subtree(n.kids[i], depth + 1);
                    assert_eq!(count, n.counts[i] as usize, "count of child {i}");
                    assert_eq!(min, (n.keys[i], n.ids[i]), "minimum of child {i}");
                    stack.push((n.kids[i], depth + 1, false));
                }
            }
        }
        // The leaf list matches the tree's leaf order.
        let mut listed = Vec::new();
        let mut prev = NIL;
        let mut leaf = self.first;
        while leaf != NIL {
            assert_eq!(self.leaves[leaf as usize].prev, prev);
            listed.push(leaf);
            prev = leaf;
            leaf = self.leaves[leaf as usize].next;
        }
        assert_eq!(prev, self.last);
        assert_eq!(listed, leaves);
        // Entries strictly increase; keys match scores; slots are live exactly once.
        let mut ids = Vec::with_capacity(self.len);
        let mut last: Option<(u64, u32)> = None;
        for &l in &listed {
            let l = &self.leaves[l as usize];
            for p in 0..l.len as usize {
                let e = (l.keys[p], l.ids[p]);
                assert_eq!(e.0, slab.key(e.1), "stale key");
                if let Some(last) = last {
                    assert_eq!(cmp(last, e), Ordering::Less, "order");
                }
                last = Some(e);
                ids.push(e.1);
            }
        }
        assert_eq!(ids.len(), self.len);
        let mut seen = vec![false; slab.slots.len()];
        for &id in ids.iter().chain(&slab.free) {
            assert!(!std::mem::replace(&mut seen[id as usize], true), "slot {id} twice");
        }
        assert!(seen.iter().all(|&s| s), "a slot is neither live nor free");
        let bytes: usize = ids.iter().map(|&id| slab.slots[id as usize].member.heap_len()).sum();
        assert_eq!(bytes, slab.bytes);
        ids
    }

    /// (size, minimum) of the subtree at `node`, `depth` levels below the root.
    fn subtree(&self, node: u32, depth: u32) -> (usize, (u64, u32)) {
        if depth == self.height {
            let l = &self.leaves[node as usize];
            (l.len as usize, (l.keys[0], l.ids[0]))
        } else {
            let n = &self.inners[node as usize];
            let total = (0..n.len as usize).map(|i| self.subtree(n.kids[i], depth + 1).0).sum();
            (total, self.subtree(n.kids[0], depth + 1).1)
        }
    }
}
