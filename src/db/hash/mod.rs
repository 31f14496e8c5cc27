//! Hashes: [`Hash`](struct@Hash), a map of field to value, and the hash commands
//! (HSET, HGET, HINCRBY, HRANDFIELD, HSCAN, …).
//!
//! Layout: the container here, its storage in `packed` (small hashes) or
//! `table` (shared with `Set`),
//! the commands in `commands` (fields and counters) and `random` (HRANDFIELD,
//! HSCAN, and the cursor and count parsing that SSCAN shares).

mod commands;
mod packed;
pub(crate) mod random;
pub(crate) mod table;

use super::command::{Command, DENYOOM, WRITE};
use crate::db::DbResult;
use crate::db::value::alloc_size;
use commands::*;
use packed::{MAX_ENTRIES, Packed};
use random::{ItemScanOptions, cmd_hrandfield, cmd_hscan};
use table::{DenseTable, FieldEntry};

pub(super) const COMMANDS: &[Command] = &[
    Command { name: "hset", arity: -4, flags: WRITE | DENYOOM, run: cmd_hset, stream: None },
    Command { name: "hmset", arity: -4, flags: WRITE | DENYOOM, run: cmd_hmset, stream: None },
    Command { name: "hsetnx", arity: 4, flags: WRITE | DENYOOM, run: cmd_hsetnx, stream: None },
    Command { name: "hget", arity: 3, flags: 0, run: cmd_hget, stream: None },
    Command { name: "hmget", arity: -3, flags: 0, run: cmd_hmget, stream: None },
    Command { name: "hdel", arity: -3, flags: WRITE, run: cmd_hdel, stream: None },
    Command { name: "hexists", arity: 3, flags: 0, run: cmd_hexists, stream: None },
    Command { name: "hlen", arity: 2, flags: 0, run: cmd_hlen, stream: None },
    Command { name: "hstrlen", arity: 3, flags: 0, run: cmd_hstrlen, stream: None },
    Command { name: "hkeys", arity: 2, flags: 0, run: cmd_hkeys, stream: None },
    Command { name: "hvals", arity: 2, flags: 0, run: cmd_hvals, stream: None },
    Command { name: "hgetall", arity: 2, flags: 0, run: cmd_hgetall, stream: None },
    Command { name: "hincrby", arity: 4, flags: WRITE | DENYOOM, run: cmd_hincrby, stream: None },
    Command { name: "hincrbyfloat", arity: 4, flags: WRITE | DENYOOM, run: cmd_hincrbyfloat, stream: None },
    Command { name: "hrandfield", arity: -2, flags: 0, run: cmd_hrandfield, stream: None },
    Command { name: "hscan", arity: -3, flags: 0, run: cmd_hscan, stream: None },
];

/// A field and its value, borrowed from a hash.
pub(crate) type FieldPair<'a> = (&'a [u8], &'a [u8]);

/// A Redis hash: fields mapped to values. Small hashes (at most 128
/// fields, none of whose fields and values is over 64 bytes) are packed in
/// one buffer, as Redis's listpack; past either limit the hash converts,
/// for good, to a table with O(1) lookups and random picks.
#[derive(Debug, Clone, Default)]
pub struct Hash {
    repr: Repr,
}

#[derive(Debug, Clone)]
enum Repr {
    Packed(Packed),
    Table {
        table: DenseTable<FieldEntry>,
        /// Sum of the fields' and values' allocations.
        bytes: usize,
    },
}

impl Default for Repr {
    fn default() -> Self {
        Repr::Packed(Packed::default())
    }
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
        match &self.repr {
            Repr::Packed(p) => p.len(),
            Repr::Table { table, .. } => table.len(),
        }
    }

    /// Whether the hash has no field.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes: packed, the buffer; else the entry slots (two boxes
    /// each), the index's buckets, plus the fields and values.
    pub fn footprint(&self) -> usize {
        match &self.repr {
            Repr::Packed(p) => p.footprint(),
            Repr::Table { table, bytes } => table.footprint() + bytes,
        }
    }

    /// Whether the hash is in its packed (listpack-like) form.
    pub(crate) fn is_packed(&self) -> bool {
        matches!(self.repr, Repr::Packed(_))
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.repr {
            Repr::Packed(p) => p.get(field),
            Repr::Table { table, .. } => {
                let i = table.find(field)?;
                table.get(i).map(|(_, v)| &**v)
            }
        }
    }

    /// Converts a packed hash to its table form (no-op for a table).
    fn convert_to_table(&mut self) {
        let Repr::Packed(p) = &self.repr else { return };
        let mut table = DenseTable::default();
        let mut bytes = 0;
        for (f, v) in p.iter() {
            bytes += alloc_size(f.len()) + alloc_size(v.len());
            table.push_new((f.into(), v.into()));
        }
        self.repr = Repr::Table { table, bytes };
    }

    /// Sets `field`; returns `true` when the field is new. A hash holds at
    /// most `u32::MAX - 1` fields; past that a new field is not stored.
    pub fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        if let Repr::Packed(p) = &mut self.repr {
            if Packed::fits(value.len()) {
                if p.replace(field, value) {
                    return false;
                }
                if Packed::fits(field.len()) && p.len() < MAX_ENTRIES {
                    p.push_new(field, value);
                    return true;
                }
            }
            self.convert_to_table();
        }
        let Repr::Table { table, bytes } = &mut self.repr else { return false };
        match table.find(field).and_then(|i| table.get_mut(i)) {
            Some((_, v)) => {
                *bytes = *bytes - alloc_size(v.len()) + alloc_size(value.len());
                *v = value.into();
                false
            }
            None => {
                let added = table.push_new((field.into(), value.into()));
                if added {
                    *bytes += alloc_size(field.len()) + alloc_size(value.len());
                }
                added
            }
        }
    }

    /// Removes `field`, returning its value.
    pub fn remove(&mut self, field: &[u8]) -> Option<Box<[u8]>> {
        match &mut self.repr {
            Repr::Packed(p) => p.remove(field),
            Repr::Table { table, bytes } => {
                let (f, v) = table.remove(field)?;
                *bytes -= alloc_size(f.len()) + alloc_size(v.len());
                Some(v)
            }
        }
    }

    /// Iterates over `(field, value)` in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let (packed, table) = match &self.repr {
            Repr::Packed(p) => (Some(p.iter()), None),
            Repr::Table { table, .. } => (None, Some(table.entries().iter().map(|(f, v)| (&**f, &**v)))),
        };
        packed.into_iter().flatten().chain(table.into_iter().flatten())
    }

    /// Redis's random picks (HRANDFIELD): for `count >= 0`, that many
    /// distinct fields (all of them when the hash is smaller); for
    /// `count < 0`, `|count|` independent picks that may repeat (refused
    /// past [`random::MAX_PICKS_BYTES`]). A packed hash picks by position.
    pub(crate) fn random_picks<R: random::PickSize>(
        &self,
        count: i64,
        mut f: impl FnMut(&[u8], &[u8]) -> R,
    ) -> DbResult<Vec<R>> {
        match &self.repr {
            Repr::Packed(p) => {
                let entries = p.entries();
                random::picks(entries.len(), count, |i| entries.get(i).map(|&(k, v)| f(k, v)))
            }
            Repr::Table { table, .. } => random::random_picks(table, count, |(k, v)| f(k, v)),
        }
    }

    /// One HSCAN step: the next cursor and this step's matching entries. A
    /// packed hash returns everything at once (cursor 0), as Redis does for
    /// listpacks.
    pub(crate) fn scan(&self, cursor: u64, opts: &ItemScanOptions) -> (u64, Vec<FieldPair<'_>>) {
        match &self.repr {
            Repr::Packed(p) => random::scan_all(p.iter(), |(f, _)| f, cursor, opts),
            Repr::Table { table, .. } => {
                let (next, items) = random::scan_table(table, cursor, opts);
                (next, items.into_iter().map(|(f, v)| (&**f, &**v)).collect())
            }
        }
    }

    /// Checks the invariants of either form.
    #[cfg(test)]
    pub(crate) fn validate(&self) {
        match &self.repr {
            Repr::Packed(p) => p.validate(),
            Repr::Table { table, bytes } => {
                table.validate();
                let sum: usize = table.entries().iter().map(|(f, v)| alloc_size(f.len()) + alloc_size(v.len())).sum();
                assert_eq!(sum, *bytes);
            }
        }
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
