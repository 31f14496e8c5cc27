//! Changing the tree's shape: linking and unlinking entries, splitting
//! full nodes, merging or evening out underfull ones, and building from or
//! draining to sorted slots.

use super::slab::grow;
use super::*;

impl Tree {
    /// Takes every slot out in order, leaving the tree empty.
    pub(in crate::db::zset) fn drain_sorted(&mut self) -> Vec<Slot> {
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
    pub(in crate::db::zset) fn from_sorted(slots: Vec<Slot>) -> Tree {
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

    pub(super) fn alloc_leaf(&mut self) -> u32 {
        alloc(&mut self.free_leaves, &mut self.leaves, Leaf::empty)
    }

    pub(super) fn alloc_inner(&mut self) -> u32 {
        alloc(&mut self.free_inners, &mut self.inners, Inner::empty)
    }

    /// Puts slot `id` (not in the tree) at its place in the order.
    pub(super) fn link(&mut self, id: u32) {
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
    pub(super) fn unlink(&mut self, id: u32) {
        match self.locate(id) {
            Some(found) => self.remove_at(found),
            None => debug_assert!(false, "unlinking a slot that is not in the tree"),
        }
    }

    /// Removes the entry `found` locates, fixing counts, minimums and fill.
    pub(super) fn remove_at(&mut self, (path, node, pos): Located) {
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

/// A fresh node in `arena`: a freed slot reused, or a new one.
fn alloc<T>(free: &mut Vec<u32>, arena: &mut Vec<T>, empty: fn() -> T) -> u32 {
    match free.pop() {
        Some(i) => {
            if let Some(n) = arena.get_mut(i as usize) {
                *n = empty();
            }
            i
        }
        None => {
            grow(arena);
            arena.push(empty());
            (arena.len() - 1) as u32
        }
    }
}
