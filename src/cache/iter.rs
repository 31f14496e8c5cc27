//! The weakly consistent iterator of a [`Cache`].

use super::Cache;
use std::hash::{BuildHasher, Hash};

/// Entries copied out per lock acquisition.
const BATCH: usize = 128;

/// Iterator over `(key, value)` clones; see [`Cache::iter`].
pub struct Iter<'a, K, V, S> {
    cache: &'a Cache<K, V, S>,
    shard: usize,
    /// Next slab position to look at in the current shard.
    pos: u32,
    buffer: std::vec::IntoIter<(K, V)>,
}

impl<'a, K, V, S> Iter<'a, K, V, S>
where
    K: Hash + Eq + Clone,
    V: Clone,
    S: BuildHasher,
{
    pub(super) fn new(cache: &'a Cache<K, V, S>) -> Self {
        Iter { cache, shard: 0, pos: 0, buffer: Vec::new().into_iter() }
    }

    /// Copies the next batch of live entries; false when done.
    fn refill(&mut self) -> bool {
        let engine = &self.cache.inner.engine;
        while self.shard < engine.shard_count() {
            let now = engine.now();
            let (batch, next, done) = engine
                .with_shard(self.shard, |s| {
                    let mut batch = Vec::with_capacity(BATCH);
                    let end = s.slab.capacity() as u32;
                    let mut i = self.pos;
                    while i < end && batch.len() < BATCH {
                        if let Some(e) = s.slab.get(i)
                            && !s.is_expired(i, e, now)
                        {
                            batch.push((e.key.clone(), e.value.clone()));
                        }
                        i += 1;
                    }
                    (batch, i, i >= end)
                })
                .unwrap_or_default();
            if done {
                self.shard += 1;
                self.pos = 0;
            } else {
                self.pos = next;
            }
            if !batch.is_empty() {
                self.buffer = batch.into_iter();
                return true;
            }
        }
        false
    }
}

impl<K, V, S> Iterator for Iter<'_, K, V, S>
where
    K: Hash + Eq + Clone,
    V: Clone,
    S: BuildHasher,
{
    type Item = (K, V);

    fn next(&mut self) -> Option<(K, V)> {
        loop {
            if let Some(x) = self.buffer.next() {
                return Some(x);
            }
            if !self.refill() {
                return None;
            }
        }
    }
}
