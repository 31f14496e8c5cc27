//! `validate`: every invariant of the tree, checked by the unit tests.

use super::*;

impl Tree {
    /// Checks every invariant; returns the slot ids in order.
    pub(in crate::db::zset) fn validate(&self) -> Vec<u32> {
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
