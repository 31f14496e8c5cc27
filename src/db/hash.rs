//! Hashes: [`Hash`], a map of field to value, and the hash commands.

/// A Redis hash: fields mapped to values.
#[derive(Debug, Clone, Default)]
pub struct Hash {
    map: hashbrown::HashMap<Box<[u8]>, Box<[u8]>, ahash::RandomState>,
    /// Sum of the fields' and values' lengths.
    bytes: usize,
}

impl PartialEq for Hash {
    fn eq(&self, other: &Self) -> bool {
        self.map == other.map
    }
}

impl Hash {
    /// An empty hash.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the hash has no field.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Heap bytes: the table's buckets (two boxes and a control byte each)
    /// plus the fields and values.
    pub fn footprint(&self) -> usize {
        self.map.capacity() * (2 * std::mem::size_of::<Box<[u8]>>() + 1) + self.bytes
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.map.get(field).map(|v| &**v)
    }

    /// Sets `field`; returns `true` when the field is new.
    pub fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        match self.map.get_mut(field) {
            Some(v) => {
                self.bytes = self.bytes - v.len() + value.len();
                *v = value.into();
                false
            }
            None => {
                self.bytes += field.len() + value.len();
                self.map.insert(field.into(), value.into());
                true
            }
        }
    }

    /// Removes `field`, returning its value.
    pub fn remove(&mut self, field: &[u8]) -> Option<Box<[u8]>> {
        let (f, v) = self.map.remove_entry(field)?;
        self.bytes -= f.len() + v.len();
        if self.map.capacity() > 64 && self.map.len() < self.map.capacity() / 4 {
            self.map.shrink_to(self.map.len() * 2);
        }
        Some(v)
    }

    /// Iterates over `(field, value)` in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.map.iter().map(|(f, v)| (&**f, &**v))
    }
}

use super::command::Command;

pub(super) const COMMANDS: &[Command] = &[];
