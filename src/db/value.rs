//! [`Value`]: what a key of a `Db` holds, one of Redis's types, and the
//! estimate of its heap footprint that the memory bound counts.
//!
//! HyperLogLogs and bitmaps are strings, as in Redis (`TYPE` says `string`).

use super::hash::Hash;
use super::list::List;
use super::set::Set;
use super::zset::ZSet;

/// The value of a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Bytes (also integers, floats, bitmaps and HyperLogLogs).
    String(Vec<u8>),
    /// A list of byte strings.
    List(List),
    /// A map of field to value.
    Hash(Box<Hash>),
    /// A set of distinct byte strings.
    Set(Box<Set>),
    /// Members ordered by score, then by bytes.
    ZSet(Box<ZSet>),
}

/// Bytes an entry costs besides its key's and value's heap blocks: the
/// engine's entry (key handle, the value's inline part, policy links) and
/// its share of the shard's hash table (a `u32` slot and a control byte at
/// the table's load, about 8 bytes).
pub(crate) const ENTRY_OVERHEAD: usize =
    std::mem::size_of::<crate::engine::slab::Entry<super::keyspace::Key, super::keyspace::Stored>>() + 8;

/// Bytes the allocator really hands out for a block of `len` bytes: glibc
/// malloc adds an 8-byte header and rounds to 16, with 32 at least. Values
/// and elements are counted at this size, not their length, so that
/// `used_memory` follows the process's real memory (measured by
/// `examples/db_memory.rs`).
pub(crate) const fn alloc_size(len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    let n = (len + 8 + 15) & !15;
    if n < 32 { 32 } else { n }
}

impl Value {
    /// The type's name as `TYPE` reports it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    /// Estimated heap bytes of the value (allocated capacity, not just
    /// length), kept up to date incrementally by every container, so this
    /// is O(1).
    pub fn footprint(&self) -> usize {
        match self {
            Value::String(s) => alloc_size(s.capacity()),
            Value::List(l) => l.footprint(),
            Value::Hash(h) => h.footprint(),
            Value::Set(s) => s.footprint(),
            Value::ZSet(z) => z.footprint(),
        }
    }

    /// Whether an aggregate is empty (Redis deletes empty aggregates; an
    /// empty string is a value).
    pub fn is_empty_aggregate(&self) -> bool {
        match self {
            Value::String(_) => false,
            Value::List(l) => l.is_empty(),
            Value::Hash(h) => h.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::ZSet(z) => z.is_empty(),
        }
    }
}

/// Weight of an entry in bytes, for the memory bound (saturating at `u32::MAX`).
pub(crate) fn weigh(key: &[u8], value: &Value) -> u32 {
    u32::try_from(alloc_size(key.len()) + value.footprint() + ENTRY_OVERHEAD).unwrap_or(u32::MAX)
}
