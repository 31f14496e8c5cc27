//! Rebuilding values from snapshot records: every record is checked (a
//! continuation must follow a key of its type, sorted-set scores are
//! numbers, members distinct), so a file that passed its checksums but
//! was written by a buggy or hostile writer is still refused by name.

use super::wire::{ByteBuf, Record};
use crate::db::value::Value;
use crate::db::{Hash, List, Set, ZSet};
use crate::persist::{PersistError, PersistResult};

/// A key read back: name, value, deadline (unix ms).
pub(crate) type Loaded = (Box<[u8]>, Value, Option<i64>);

/// Keys being rebuilt from a record stream.
#[derive(Default)]
pub(crate) struct Staging {
    pub(crate) done: Vec<Loaded>,
    /// A sorted set whose members are still arriving.
    zset: Option<Scored>,
}

/// A sorted set being read: key, deadline, members so far.
type Scored = (Box<[u8]>, Option<i64>, Vec<(Box<[u8]>, f64)>);

fn bad(offset: u64, reason: &str) -> PersistError {
    PersistError::Decode { offset, reason: reason.into() }
}

impl Staging {
    /// Adds one record (`offset`: its frame's, for errors).
    pub(crate) fn push(&mut self, rec: Record, offset: u64) -> PersistResult<()> {
        if rec.starts_key() {
            self.close_zset(offset)?;
        }
        match rec {
            Record::String { key, expire_at, value } => {
                self.done.push((key.0.into(), Value::String(value.0), expire_at));
            }
            Record::List { key, expire_at, items: (seq, items) } => {
                let mut l = List::new();
                l.seq = seq;
                extend_list(&mut l, items);
                self.done.push((key.0.into(), Value::List(l), expire_at));
            }
            Record::Set { key, expire_at, members } => {
                let mut s = Set::new();
                extend_set(&mut s, members);
                self.done.push((key.0.into(), Value::Set(Box::new(s)), expire_at));
            }
            Record::Hash { key, expire_at, pairs } => {
                let mut h = Hash::new();
                extend_hash(&mut h, pairs);
                self.done.push((key.0.into(), Value::Hash(Box::new(h)), expire_at));
            }
            Record::ZSet { key, expire_at, pairs } => {
                let members = pairs.into_iter().map(|(s, m)| (m.0.into_boxed_slice(), s)).collect();
                self.zset = Some((key.0.into(), expire_at, members));
            }
            Record::MoreItems(items) => match self.done.last_mut().filter(|_| self.zset.is_none()) {
                Some((_, Value::List(l), _)) => extend_list(l, items),
                Some((_, Value::Set(s), _)) => extend_set(s, items),
                _ => return Err(bad(offset, "list or set items without their key")),
            },
            Record::MorePairs(pairs) => match self.done.last_mut().filter(|_| self.zset.is_none()) {
                Some((_, Value::Hash(h), _)) => extend_hash(h, pairs),
                _ => return Err(bad(offset, "hash fields without their key")),
            },
            Record::MoreScored(pairs) => match self.zset.as_mut() {
                Some((_, _, members)) => members.extend(pairs.into_iter().map(|(s, m)| (m.0.into_boxed_slice(), s))),
                None => return Err(bad(offset, "sorted-set members without their key")),
            },
        }
        Ok(())
    }

    /// Finishes the sorted set being read, if any.
    fn close_zset(&mut self, offset: u64) -> PersistResult<()> {
        if let Some((key, expire_at, members)) = self.zset.take() {
            let z = ZSet::from_untrusted(members)
                .ok_or_else(|| bad(offset, "a sorted set has a NaN score or a repeated member"))?;
            self.done.push((key, Value::ZSet(Box::new(z)), expire_at));
        }
        Ok(())
    }

    /// All keys, once the stream ended; empty aggregates are refused.
    pub(crate) fn finish(mut self, offset: u64) -> PersistResult<Vec<Loaded>> {
        self.close_zset(offset)?;
        if self.done.iter().any(|(_, v, _)| v.is_empty_aggregate()) {
            return Err(bad(offset, "an empty aggregate (never written by a snapshot)"));
        }
        Ok(self.done)
    }
}

fn extend_list(l: &mut List, items: Vec<ByteBuf>) {
    for i in items {
        l.push_back(&i.0);
    }
}

fn extend_set(s: &mut Set, members: Vec<ByteBuf>) {
    for m in members {
        s.insert_owned(m.0.into_boxed_slice());
    }
}

fn extend_hash(h: &mut Hash, pairs: Vec<(ByteBuf, ByteBuf)>) {
    for (f, v) in pairs {
        h.insert(&f.0, &v.0);
    }
}
