//! Sets: [`Set`], distinct byte strings, and the set commands.

/// A Redis set: distinct byte strings, unordered.
#[derive(Debug, Clone, Default)]
pub struct Set {
    members: hashbrown::HashSet<Box<[u8]>, ahash::RandomState>,
    /// Sum of the members' lengths.
    bytes: usize,
}

impl PartialEq for Set {
    fn eq(&self, other: &Self) -> bool {
        self.members == other.members
    }
}

impl Set {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Heap bytes: the table's buckets plus the members.
    pub fn footprint(&self) -> usize {
        self.members.capacity() * (std::mem::size_of::<Box<[u8]>>() + 1) + self.bytes
    }

    /// Whether `member` is in the set.
    pub fn contains(&self, member: &[u8]) -> bool {
        self.members.contains(member)
    }

    /// Adds `member`; returns `true` when it is new.
    pub fn insert(&mut self, member: &[u8]) -> bool {
        if self.members.contains(member) {
            return false;
        }
        self.bytes += member.len();
        self.members.insert(member.into())
    }

    /// Removes `member`; returns `true` when it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        let removed = self.members.remove(member);
        if removed {
            self.bytes -= member.len();
            if self.members.capacity() > 64 && self.members.len() < self.members.capacity() / 4 {
                self.members.shrink_to(self.members.len() * 2);
            }
        }
        removed
    }

    /// Iterates over the members in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.members.iter().map(|m| &**m)
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

use super::command::Command;

pub(super) const COMMANDS: &[Command] = &[];
