//! Sorted sets: [`ZSet`], members ordered by score then by bytes, and the
//! sorted-set commands.

/// A Redis sorted set.
#[derive(Debug, Clone, Default)]
pub struct ZSet {
    scores: hashbrown::HashMap<Box<[u8]>, f64, ahash::RandomState>,
    bytes: usize,
}

impl PartialEq for ZSet {
    fn eq(&self, other: &Self) -> bool {
        self.scores == other.scores
    }
}

impl ZSet {
    /// Number of members.
    pub fn len(&self) -> usize {
        self.scores.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    /// Heap bytes.
    pub fn footprint(&self) -> usize {
        self.scores.capacity() * 25 + self.bytes
    }
}

use super::command::Command;

pub(super) const COMMANDS: &[Command] = &[];
