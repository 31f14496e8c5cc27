//! Least recently used: one list, reads reordered through a lossy buffer.

use crate::engine::read_buffer::ReadBuffer;
use crate::engine::slab::{List, Queue, Slab};

#[derive(Debug, Default)]
pub(crate) struct Lru {
    pub(crate) list: List,
    reads: ReadBuffer,
}

impl Lru {
    pub(crate) fn on_insert<K, V>(&mut self, slab: &mut Slab<K, V>, i: u32) {
        self.list.push_back(slab, i, Queue::Window);
    }

    pub(crate) fn on_access<K, V>(&mut self, slab: &mut Slab<K, V>, i: u32) {
        self.list.move_to_back(slab, i);
    }

    #[inline]
    pub(crate) fn record_read(&self, i: u32) -> bool {
        self.reads.push(i)
    }

    pub(crate) fn drain_reads<K, V>(&mut self, slab: &mut Slab<K, V>) {
        let list = &mut self.list;
        self.reads.drain(|i| {
            if slab.get(i).is_some() {
                list.move_to_back(slab, i);
            }
        });
    }

    pub(crate) fn victim<K, V>(&mut self, slab: &mut Slab<K, V>) -> Option<u32> {
        let v = self.list.front()?;
        self.list.unlink(slab, v);
        Some(v)
    }
}
