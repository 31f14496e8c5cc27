//! Random eviction (Redis's `allkeys-random`): the victim is a uniformly
//! chosen live entry. Entries sit in one list only so the policy can be
//! inspected and validated like the others; reads record nothing.

use crate::engine::evict::lfu::next_random;
use crate::engine::slab::{List, Queue, Slab};

#[derive(Debug, Default)]
pub(crate) struct Random {
    pub(crate) list: List,
}

impl Random {
    pub(crate) fn on_insert<K, V>(&mut self, slab: &mut Slab<K, V>, i: u32) {
        self.list.push_back(slab, i, Queue::Window);
    }

    pub(crate) fn victim<K, V>(&mut self, slab: &mut Slab<K, V>) -> Option<u32> {
        let span = slab.capacity() as u64;
        if self.list.len == 0 || span == 0 {
            return None;
        }
        let mut v = None;
        for _ in 0..64 {
            let i = (next_random() % span) as u32;
            if slab.get(i).is_some() {
                v = Some(i);
                break;
            }
        }
        let v = v.or(self.list.front())?;
        self.list.unlink(slab, v);
        Some(v)
    }
}
