//! Sets: [`Set`], distinct byte strings, and the set commands (SADD, SPOP,
//! SMOVE, SINTER, SUNIONSTORE, SSCAN, …).
//!
//! Layout: the container here (stored in the dense table that `Hash` uses
//! too, so random picks are O(1)), the single-key commands and SMOVE in
//! `commands`, intersections, unions and differences in `algebra`.

mod algebra;
mod commands;

use super::command::{Command, DENYOOM, WRITE};
use super::hash::table::{DenseTable, random_below};
use crate::db::value::alloc_size;
use algebra::*;
use commands::*;

pub(super) const COMMANDS: &[Command] = &[
    Command { name: "sadd", arity: -3, flags: WRITE | DENYOOM, run: cmd_sadd, stream: None },
    Command { name: "srem", arity: -3, flags: WRITE, run: cmd_srem, stream: None },
    Command { name: "smembers", arity: 2, flags: 0, run: cmd_smembers, stream: None },
    Command { name: "sismember", arity: 3, flags: 0, run: cmd_sismember, stream: None },
    Command { name: "smismember", arity: -3, flags: 0, run: cmd_smismember, stream: None },
    Command { name: "scard", arity: 2, flags: 0, run: cmd_scard, stream: None },
    Command { name: "spop", arity: -2, flags: WRITE, run: cmd_spop, stream: None },
    Command { name: "srandmember", arity: -2, flags: 0, run: cmd_srandmember, stream: None },
    Command { name: "smove", arity: 4, flags: WRITE, run: cmd_smove, stream: None },
    Command { name: "sscan", arity: -3, flags: 0, run: cmd_sscan, stream: None },
    Command { name: "sinter", arity: -2, flags: 0, run: cmd_sinter, stream: None },
    Command { name: "sintercard", arity: -3, flags: 0, run: cmd_sintercard, stream: None },
    Command { name: "sunion", arity: -2, flags: 0, run: cmd_sunion, stream: None },
    Command { name: "sdiff", arity: -2, flags: 0, run: cmd_sdiff, stream: None },
    Command { name: "sinterstore", arity: -3, flags: WRITE | DENYOOM, run: cmd_sinterstore, stream: None },
    Command { name: "sunionstore", arity: -3, flags: WRITE | DENYOOM, run: cmd_sunionstore, stream: None },
    Command { name: "sdiffstore", arity: -3, flags: WRITE | DENYOOM, run: cmd_sdiffstore, stream: None },
];

/// A Redis set: distinct byte strings, unordered.
#[derive(Debug, Clone, Default)]
pub struct Set {
    table: DenseTable<Box<[u8]>>,
    /// Sum of the members' lengths.
    bytes: usize,
}

impl PartialEq for Set {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|m| other.contains(m))
    }
}

impl Set {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Heap bytes: the member slots, the index's buckets, plus the members.
    pub fn footprint(&self) -> usize {
        self.table.footprint() + self.bytes
    }

    /// Whether `member` is in the set.
    pub fn contains(&self, member: &[u8]) -> bool {
        self.table.find(member).is_some()
    }

    /// Adds `member`; returns `true` when it is new. A set holds at most
    /// `u32::MAX - 1` members; past that a new member is not stored.
    pub fn insert(&mut self, member: &[u8]) -> bool {
        if self.contains(member) || !self.table.push_new(member.into()) {
            return false;
        }
        self.bytes += alloc_size(member.len());
        true
    }

    /// Removes `member`; returns `true` when it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        let removed = self.table.remove(member).is_some();
        if removed {
            self.bytes -= alloc_size(member.len());
        }
        removed
    }

    /// Iterates over the members in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.table.entries().iter().map(|m| &**m)
    }

    /// Adds an owned `member`; returns `true` when it is new.
    pub(crate) fn insert_owned(&mut self, member: Box<[u8]>) -> bool {
        let len = member.len();
        if self.contains(&member) || !self.table.push_new(member) {
            return false;
        }
        self.bytes += alloc_size(len);
        true
    }

    /// The members, moved out.
    pub(crate) fn into_members(self) -> Vec<Box<[u8]>> {
        self.table.into_entries()
    }

    /// Removes and returns a uniformly random member.
    pub(crate) fn pop_random(&mut self) -> Option<Box<[u8]>> {
        let i = random_below(self.len().max(1));
        let m = self.table.swap_remove(i)?;
        self.bytes -= alloc_size(m.len());
        Some(m)
    }

    /// Keeps the members for which `keep` is true.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&[u8]) -> bool) {
        let mut bytes = self.bytes;
        self.table.retain(|m| {
            let k = keep(m);
            if !k {
                bytes -= alloc_size(m.len());
            }
            k
        });
        self.bytes = bytes;
    }

    /// The storage, for random picks and scans.
    pub(crate) fn table(&self) -> &DenseTable<Box<[u8]>> {
        &self.table
    }
}

impl<'a> FromIterator<&'a [u8]> for Set {
    fn from_iter<T: IntoIterator<Item = &'a [u8]>>(iter: T) -> Self {
        let mut s = Set::new();
        for m in iter {
            s.insert(m);
        }
        s
    }
}

#[cfg(test)]
mod tests;
