//! Lists: [`List`], a deque of byte strings, and the list commands.

use std::collections::VecDeque;

/// A Redis list: byte strings in order, cheap to push and pop at both ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct List {
    items: VecDeque<Box<[u8]>>,
    /// Sum of the items' lengths.
    bytes: usize,
}

impl List {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The items, head first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + ExactSizeIterator {
        self.items.iter().map(|b| &**b)
    }

    /// Heap bytes: the deque's slots plus the items.
    pub fn footprint(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<Box<[u8]>>() + self.bytes
    }

    /// The item at `index` (0 is the head).
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        self.items.get(index).map(|b| &**b)
    }

    /// Pushes at the head.
    pub fn push_front(&mut self, item: &[u8]) {
        self.bytes += item.len();
        self.items.push_front(item.into());
    }

    /// Pushes at the tail.
    pub fn push_back(&mut self, item: &[u8]) {
        self.bytes += item.len();
        self.items.push_back(item.into());
    }

    /// Pops the head.
    pub fn pop_front(&mut self) -> Option<Box<[u8]>> {
        let item = self.items.pop_front()?;
        self.bytes -= item.len();
        self.shrink();
        Some(item)
    }

    /// Pops the tail.
    pub fn pop_back(&mut self) -> Option<Box<[u8]>> {
        let item = self.items.pop_back()?;
        self.bytes -= item.len();
        self.shrink();
        Some(item)
    }

    /// Replaces the item at `index`, returning `false` when out of range.
    pub fn set(&mut self, index: usize, item: &[u8]) -> bool {
        let Some(slot) = self.items.get_mut(index) else { return false };
        self.bytes = self.bytes - slot.len() + item.len();
        *slot = item.into();
        true
    }

    /// Inserts at `index` (0..=len).
    pub fn insert(&mut self, index: usize, item: &[u8]) {
        self.bytes += item.len();
        self.items.insert(index.min(self.items.len()), item.into());
    }

    /// Removes the item at `index`.
    pub fn remove(&mut self, index: usize) -> Option<Box<[u8]>> {
        let item = self.items.remove(index)?;
        self.bytes -= item.len();
        self.shrink();
        Some(item)
    }

    /// Keeps only the items in `range`.
    pub fn keep_range(&mut self, range: std::ops::Range<usize>) {
        self.items.truncate(range.end);
        self.items.drain(..range.start.min(self.items.len()));
        self.bytes = self.items.iter().map(|b| b.len()).sum();
        self.shrink();
    }

    /// Keeps the items for which `keep` is true, in order.
    pub fn retain_items(&mut self, mut keep: impl FnMut(&[u8]) -> bool) {
        self.items.retain(|b| keep(b));
        self.bytes = self.items.iter().map(|b| b.len()).sum();
        self.shrink();
    }

    /// Gives memory back when the deque is mostly empty.
    fn shrink(&mut self) {
        if self.items.capacity() > 64 && self.items.len() < self.items.capacity() / 4 {
            self.items.shrink_to(self.items.len() * 2);
        }
    }
}

impl<'a> FromIterator<&'a [u8]> for List {
    fn from_iter<T: IntoIterator<Item = &'a [u8]>>(iter: T) -> Self {
        let mut l = List::new();
        for item in iter {
            l.push_back(item);
        }
        l
    }
}

use super::command::Command;

pub(super) const COMMANDS: &[Command] = &[];
