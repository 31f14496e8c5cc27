//! `get_many`: many keys, one call to the loader for all the misses.
//!
//! A batch joins each missing key's flight as a single read would: it
//! leads the keys no one is loading and waits for the others. It calls
//! `load_many` once with every key it leads, ends those flights, and only
//! then waits for the flights of others; waiting last means two batches
//! that lead parts of each other's keys never wait on each other.

use super::refresh::block_on;
use super::stats::Counters;
use super::{LoadingCache, SlotLeader};
use crate::cache::loader::{Join, Waiting, settle};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

/// What became of one distinct key of a batch.
enum Part<K, V, E>
where
    K: Hash + Eq,
{
    Done(Option<V>),
    Failed(Arc<E>),
    Lead(SlotLeader<K, V>),
    Wait(Waiting<Option<V>>),
}

impl<K, V, E> LoadingCache<K, V, E>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    E: Send + Sync + 'static,
{
    /// Returns the values of `keys`, in order: the cached ones at once,
    /// and every miss through a single call to the loader's
    /// [`load_many`](super::Loader::load_many) (keys that another caller is
    /// already loading are waited for instead, never loaded twice).
    /// Repeated keys are looked up once. Fails if a key's load fails and
    /// `stale_if_error` has no value to serve for it.
    pub fn get_many(&self, keys: &[K]) -> Result<Vec<Option<V>>, Arc<E>> {
        block_on(self.get_many_async(keys))
    }

    /// Async [`get_many`](Self::get_many).
    pub async fn get_many_async(&self, keys: &[K]) -> Result<Vec<Option<V>>, Arc<E>> {
        let cache = &self.shared.cache;
        // Each distinct key's first position, and every position's key.
        let mut first: HashMap<&K, usize> = HashMap::with_capacity(keys.len());
        let mut slot_of = Vec::with_capacity(keys.len());
        let mut parts: Vec<(&K, Part<K, V, E>)> = Vec::new();
        for key in keys {
            let n = parts.len();
            let i = *first.entry(key).or_insert(n);
            slot_of.push(i);
            if i < n {
                continue;
            }
            let part = match self.probe(key, true) {
                Some(hit) => Part::Done(self.serve(key, hit)),
                None => match cache.enter(key, cache.inner.engine.hash(key), || self.probe(key, false)) {
                    Join::Value(hit) => Part::Done(self.serve(key, hit)),
                    Join::Lead(leader) => Part::Lead(leader),
                    Join::Wait(w) => Part::Wait(w),
                },
            };
            parts.push((key, part));
        }
        self.load_batch(&mut parts).await;
        let mut values = Vec::with_capacity(parts.len());
        let mut failure = None;
        for (key, part) in parts {
            let r = match part {
                Part::Done(v) => Ok(v),
                Part::Wait(w) => match settle::<Option<V>, E>(w.wait().await) {
                    Some(Ok(v)) => Ok(v),
                    Some(Err(e)) => self.fallback(key, e),
                    // Its leader gave up: load it as a single read would.
                    None => self.get_async(key).await,
                },
                Part::Failed(e) => Err(e),
                // `load_batch` ends every flight it leads; were one left,
                // dropping it abandons the flight and the key loads singly.
                Part::Lead(leader) => {
                    drop(leader);
                    self.get_async(key).await
                }
            };
            match r {
                Ok(v) => values.push(v),
                Err(e) => {
                    failure.get_or_insert(e);
                    values.push(None);
                }
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(slot_of.into_iter().map(|i| values[i].clone()).collect()),
        }
    }

    /// Loads every key the batch leads in one `load_many` call and turns
    /// each `Lead` into `Done` (a failed key into its `stale_if_error`
    /// value, or `Failed`).
    async fn load_batch(&self, parts: &mut [(&K, Part<K, V, E>)]) {
        let batch: Vec<K> =
            parts.iter().filter(|(_, p)| matches!(p, Part::Lead(_))).map(|(k, _)| (*k).clone()).collect();
        if batch.is_empty() {
            return;
        }
        Counters::bump(&self.shared.counters.loads);
        let loaded = self.shared.source.load_many(&batch).await;
        let mut found: HashMap<K, Option<V>> = HashMap::new();
        let error = match loaded {
            Ok(pairs) => {
                found.extend(pairs);
                None
            }
            Err(e) => {
                Counters::bump(&self.shared.counters.load_failures);
                Some(Arc::new(e))
            }
        };
        for (key, part) in parts.iter_mut() {
            let Part::Lead(_) = part else { continue };
            let Part::Lead(leader) = std::mem::replace(part, Part::Done(None)) else { continue };
            *part = match &error {
                None => {
                    let v = found.remove(*key).flatten();
                    self.store((*key).clone(), v.clone());
                    leader.succeed(v.clone());
                    Part::Done(v)
                }
                Some(e) => {
                    self.report(key, e);
                    leader.fail(e);
                    match self.fallback(key, Arc::clone(e)) {
                        Ok(v) => Part::Done(v),
                        Err(_) => Part::Failed(Arc::clone(e)),
                    }
                }
            };
        }
    }
}
