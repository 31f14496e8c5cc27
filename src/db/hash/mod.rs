//! Hashes: [`Hash`](struct@Hash), a map of field to value, and the hash commands
//! (HSET, HGET, HINCRBY, HRANDFIELD, HSCAN, …).
//!
//! Layout: the container here, its storage in `table` (shared with `Set`),
//! the commands in `commands` (fields and counters) and `random` (HRANDFIELD,
//! HSCAN, and the cursor and count parsing that SSCAN shares).

mod commands;
pub(crate) mod random;
pub(crate) mod table;

use super::command::{Command, DENYOOM, WRITE};
use crate::db::value::alloc_size;
use commands::*;
use random::{cmd_hrandfield, cmd_hscan};
use table::{DenseTable, FieldEntry};

pub(super) const COMMANDS: &[Command] = &[
    Command { name: "hset", arity: -4, flags: WRITE | DENYOOM, run: cmd_hset },
    Command { name: "hmset", arity: -4, flags: WRITE | DENYOOM, run: cmd_hmset },
    Command { name: "hsetnx", arity: 4, flags: WRITE | DENYOOM, run: cmd_hsetnx },
    Command { name: "hget", arity: 3, flags: 0, run: cmd_hget },
    Command { name: "hmget", arity: -3, flags: 0, run: cmd_hmget },
    Command { name: "hdel", arity: -3, flags: WRITE, run: cmd_hdel },
    Command { name: "hexists", arity: 3, flags: 0, run: cmd_hexists },
    Command { name: "hlen", arity: 2, flags: 0, run: cmd_hlen },
    Command { name: "hstrlen", arity: 3, flags: 0, run: cmd_hstrlen },
    Command { name: "hkeys", arity: 2, flags: 0, run: cmd_hkeys },
    Command { name: "hvals", arity: 2, flags: 0, run: cmd_hvals },
    Command { name: "hgetall", arity: 2, flags: 0, run: cmd_hgetall },
    Command { name: "hincrby", arity: 4, flags: WRITE | DENYOOM, run: cmd_hincrby },
    Command { name: "hincrbyfloat", arity: 4, flags: WRITE | DENYOOM, run: cmd_hincrbyfloat },
    Command { name: "hrandfield", arity: -2, flags: 0, run: cmd_hrandfield },
    Command { name: "hscan", arity: -3, flags: 0, run: cmd_hscan },
];

/// A Redis hash: fields mapped to values.
#[derive(Debug, Clone, Default)]
pub struct Hash {
    table: DenseTable<FieldEntry>,
    /// Sum of the fields' and values' lengths.
    bytes: usize,
}

impl PartialEq for Hash {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(f, v)| other.get(f) == Some(v))
    }
}

impl Hash {
    /// An empty hash.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether the hash has no field.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Heap bytes: the entry slots (two boxes each), the index's buckets,
    /// plus the fields and values.
    pub fn footprint(&self) -> usize {
        self.table.footprint() + self.bytes
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        let i = self.table.find(field)?;
        self.table.get(i).map(|(_, v)| &**v)
    }

    /// Sets `field`; returns `true` when the field is new. A hash holds at
    /// most `u32::MAX - 1` fields; past that a new field is not stored.
    pub fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        match self.table.find(field).and_then(|i| self.table.get_mut(i)) {
            Some((_, v)) => {
                self.bytes = self.bytes - alloc_size(v.len()) + alloc_size(value.len());
                *v = value.into();
                false
            }
            None => {
                let added = self.table.push_new((field.into(), value.into()));
                if added {
                    self.bytes += alloc_size(field.len()) + alloc_size(value.len());
                }
                added
            }
        }
    }

    /// Removes `field`, returning its value.
    pub fn remove(&mut self, field: &[u8]) -> Option<Box<[u8]>> {
        let (f, v) = self.table.remove(field)?;
        self.bytes -= alloc_size(f.len()) + alloc_size(v.len());
        Some(v)
    }

    /// Iterates over `(field, value)` in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.table.entries().iter().map(|(f, v)| (&**f, &**v))
    }

    /// The storage, for random picks and scans.
    pub(crate) fn table(&self) -> &DenseTable<FieldEntry> {
        &self.table
    }
}

impl<'a> FromIterator<(&'a [u8], &'a [u8])> for Hash {
    fn from_iter<T: IntoIterator<Item = (&'a [u8], &'a [u8])>>(iter: T) -> Self {
        let mut h = Hash::new();
        for (f, v) in iter {
            h.insert(f, v);
        }
        h
    }
}

#[cfg(test)]
mod tests;
