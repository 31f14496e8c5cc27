//! Lists: [`List`], a deque of byte strings, and the list commands.
//!
//! - `ops`: the typed methods of the non-blocking commands (LPUSH … LMPOP);
//! - `wait`: the blocking ones (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP),
//!   each the non-blocking form run by `Db::block_on`;
//! - `cmd`: the parsers behind `Db::execute`, with Redis's argument order
//!   and error texts.
//!
//! Every command that adds items signals the key ready, so callers blocked
//! on it are served; every command that empties a list deletes the key and
//! publishes `del`, as Redis does.

mod cmd;
mod ops;
mod packed;
mod wait;

use super::command::{BLOCKING, Command, DENYOOM, WRITE};
use crate::db::value::alloc_size;
use packed::{MAX_ENTRIES, Packed};
use std::collections::VecDeque;

pub(super) const COMMANDS: &[Command] = &[
    Command { name: "lpush", arity: -3, flags: WRITE | DENYOOM, run: cmd::lpush, stream: None },
    Command { name: "rpush", arity: -3, flags: WRITE | DENYOOM, run: cmd::rpush, stream: None },
    Command { name: "lpushx", arity: -3, flags: WRITE | DENYOOM, run: cmd::lpushx, stream: None },
    Command { name: "rpushx", arity: -3, flags: WRITE | DENYOOM, run: cmd::rpushx, stream: None },
    Command { name: "lpop", arity: -2, flags: WRITE, run: cmd::lpop, stream: None },
    Command { name: "rpop", arity: -2, flags: WRITE, run: cmd::rpop, stream: None },
    Command { name: "lrange", arity: 4, flags: 0, run: cmd::lrange, stream: Some(cmd::lrange_to) },
    Command { name: "lindex", arity: 3, flags: 0, run: cmd::lindex, stream: None },
    Command { name: "lset", arity: 4, flags: WRITE | DENYOOM, run: cmd::lset, stream: None },
    Command { name: "llen", arity: 2, flags: 0, run: cmd::llen, stream: None },
    Command { name: "lrem", arity: 4, flags: WRITE, run: cmd::lrem, stream: None },
    Command { name: "ltrim", arity: 4, flags: WRITE, run: cmd::ltrim, stream: None },
    Command { name: "linsert", arity: 5, flags: WRITE | DENYOOM, run: cmd::linsert, stream: None },
    Command { name: "lpos", arity: -3, flags: 0, run: cmd::lpos, stream: None },
    Command { name: "lmove", arity: 5, flags: WRITE | DENYOOM, run: cmd::lmove, stream: None },
    Command { name: "rpoplpush", arity: 3, flags: WRITE | DENYOOM, run: cmd::rpoplpush, stream: None },
    Command { name: "lmpop", arity: -4, flags: WRITE, run: cmd::lmpop, stream: None },
    Command { name: "blpop", arity: -3, flags: WRITE | BLOCKING, run: cmd::blpop, stream: None },
    Command { name: "brpop", arity: -3, flags: WRITE | BLOCKING, run: cmd::brpop, stream: None },
    Command { name: "blmove", arity: 6, flags: WRITE | DENYOOM | BLOCKING, run: cmd::blmove, stream: None },
    Command { name: "brpoplpush", arity: 4, flags: WRITE | DENYOOM | BLOCKING, run: cmd::brpoplpush, stream: None },
    Command { name: "blmpop", arity: -5, flags: WRITE | BLOCKING, run: cmd::blmpop, stream: None },
];

/// One end of a list: `LEFT` is the head (index 0), `RIGHT` the tail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum End {
    /// The head (`LEFT`, the end LPUSH and LPOP use).
    Left,
    /// The tail (`RIGHT`, the end RPUSH and RPOP use).
    Right,
}

impl End {
    /// The event a push at this end publishes.
    fn push_event(self) -> &'static str {
        match self {
            End::Left => "lpush",
            End::Right => "rpush",
        }
    }

    /// The event a pop at this end publishes.
    fn pop_event(self) -> &'static str {
        match self {
            End::Left => "lpop",
            End::Right => "rpop",
        }
    }
}

/// Where LINSERT puts the new item, relative to the pivot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InsertPosition {
    /// `BEFORE`: just before the pivot (nearer the head).
    Before,
    /// `AFTER`: just after the pivot (nearer the tail).
    After,
}

/// The options of LPOS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LposOptions {
    /// `RANK`: which match to start from, 1 for the first; negative ranks
    /// count matches from the tail (-1 the last). Never 0.
    pub rank: i64,
    /// `COUNT`: return up to this many matches (0: all of them). `None`:
    /// option absent, at most one match.
    pub count: Option<usize>,
    /// `MAXLEN`: compare at most this many items (0: the whole list).
    pub maxlen: usize,
}

impl Default for LposOptions {
    fn default() -> Self {
        LposOptions { rank: 1, count: None, maxlen: 0 }
    }
}

/// A Redis list: byte strings in order, cheap to push and pop at both ends.
/// Small lists (at most 128 items, none over 64 bytes) are packed in one
/// buffer, as Redis's listpack; past either limit the list converts, for
/// good, to a deque of boxed items.
#[derive(Debug, Clone, Default)]
pub struct List {
    repr: Repr,
    /// The journal entry that last wrote this list (0: none), so replay
    /// applies each push and pop once (see `db::persist::effects`).
    pub(crate) seq: u64,
}

#[derive(Debug, Clone)]
enum Repr {
    Packed(Packed),
    Deque {
        items: VecDeque<Box<[u8]>>,
        /// Sum of the items' allocations.
        bytes: usize,
    },
}

impl Default for Repr {
    fn default() -> Self {
        Repr::Packed(Packed::default())
    }
}

impl PartialEq for List {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for List {}

/// The items of either form, walked from both ends.
enum Iter<'a> {
    Packed(packed::Iter<'a>),
    Deque(std::collections::vec_deque::Iter<'a, Box<[u8]>>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        match self {
            Iter::Packed(i) => i.next(),
            Iter::Deque(i) => i.next().map(|b| &**b),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Iter::Packed(i) => i.size_hint(),
            Iter::Deque(i) => i.size_hint(),
        }
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Packed(i) => i.next_back(),
            Iter::Deque(i) => i.next_back().map(|b| &**b),
        }
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl List {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Packed(p) => p.len(),
            Repr::Deque { items, .. } => items.len(),
        }
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the list is in its packed (listpack-like) form.
    pub(crate) fn is_packed(&self) -> bool {
        matches!(self.repr, Repr::Packed(_))
    }

    /// The items, head first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + ExactSizeIterator {
        match &self.repr {
            Repr::Packed(p) => Iter::Packed(p.iter()),
            Repr::Deque { items, .. } => Iter::Deque(items.iter()),
        }
    }

    /// The items in `range` (clamped to the list), head first.
    pub fn range(&self, range: std::ops::Range<usize>) -> impl DoubleEndedIterator<Item = &[u8]> + ExactSizeIterator {
        match &self.repr {
            Repr::Packed(p) => Iter::Packed(p.range(range.start, range.end)),
            Repr::Deque { items, .. } => {
                let end = range.end.min(items.len());
                Iter::Deque(items.range(range.start.min(end)..end))
            }
        }
    }

    /// Heap bytes: packed, the buffer; else the deque's slots plus the
    /// items.
    pub fn footprint(&self) -> usize {
        match &self.repr {
            Repr::Packed(p) => p.footprint(),
            Repr::Deque { items, bytes } => items.capacity() * std::mem::size_of::<Box<[u8]>>() + bytes,
        }
    }

    /// The item at `index` (0 is the head).
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        match &self.repr {
            Repr::Packed(p) => p.get(index),
            Repr::Deque { items, .. } => items.get(index).map(|b| &**b),
        }
    }

    /// The index of the first item equal to `item`.
    pub fn position(&self, item: &[u8]) -> Option<usize> {
        self.iter().position(|b| b == item)
    }

    /// Converts a packed list to its deque form (no-op for a deque), with
    /// room for one more item.
    fn convert_to_deque(&mut self) {
        let Repr::Packed(p) = &self.repr else { return };
        let mut items = VecDeque::with_capacity(p.len() + 1);
        let mut bytes = 0;
        for item in p.iter() {
            bytes += alloc_size(item.len());
            items.push_back(item.into());
        }
        self.repr = Repr::Deque { items, bytes };
    }

    /// The deque form, converting first unless a packed list can take one
    /// more item of `len` bytes (then `None`).
    fn deque_for(&mut self, len: usize) -> Option<(&mut VecDeque<Box<[u8]>>, &mut usize)> {
        if let Repr::Packed(p) = &self.repr {
            if Packed::fits(len) && p.len() < MAX_ENTRIES {
                return None;
            }
            self.convert_to_deque();
        }
        match &mut self.repr {
            Repr::Packed(_) => None,
            Repr::Deque { items, bytes } => Some((items, bytes)),
        }
    }

    /// Pushes at the head.
    pub fn push_front(&mut self, item: &[u8]) {
        self.insert(0, item);
    }

    /// Pushes at the tail.
    pub fn push_back(&mut self, item: &[u8]) {
        self.insert(usize::MAX, item);
    }

    /// Pushes at `end`.
    pub fn push(&mut self, end: End, item: &[u8]) {
        match end {
            End::Left => self.push_front(item),
            End::Right => self.push_back(item),
        }
    }

    /// Pops the head.
    pub fn pop_front(&mut self) -> Option<Box<[u8]>> {
        self.remove(0)
    }

    /// Pops the tail.
    pub fn pop_back(&mut self) -> Option<Box<[u8]>> {
        self.remove(self.len().checked_sub(1)?)
    }

    /// Pops at `end`.
    pub fn pop(&mut self, end: End) -> Option<Box<[u8]>> {
        match end {
            End::Left => self.pop_front(),
            End::Right => self.pop_back(),
        }
    }

    /// Replaces the item at `index`, returning `false` when out of range.
    pub fn set(&mut self, index: usize, item: &[u8]) -> bool {
        if index >= self.len() {
            return false;
        }
        if let Repr::Packed(p) = &mut self.repr {
            if Packed::fits(item.len()) {
                return p.set(index, item);
            }
            self.convert_to_deque();
        }
        let Repr::Deque { items, bytes } = &mut self.repr else { return false };
        let Some(slot) = items.get_mut(index) else { return false };
        *bytes = *bytes - alloc_size(slot.len()) + alloc_size(item.len());
        *slot = item.into();
        true
    }

    /// Inserts at `index` (clamped to 0..=len).
    pub fn insert(&mut self, index: usize, item: &[u8]) {
        match self.deque_for(item.len()) {
            Some((items, bytes)) => {
                *bytes += alloc_size(item.len());
                items.insert(index.min(items.len()), item.into());
            }
            None => {
                if let Repr::Packed(p) = &mut self.repr {
                    p.insert(index, item);
                }
            }
        }
    }

    /// Removes the item at `index`.
    pub fn remove(&mut self, index: usize) -> Option<Box<[u8]>> {
        match &mut self.repr {
            Repr::Packed(p) => p.remove(index),
            Repr::Deque { items, bytes } => {
                let item = items.remove(index)?;
                *bytes -= alloc_size(item.len());
                self.shrink();
                Some(item)
            }
        }
    }

    /// Keeps only the items in `range`.
    pub fn keep_range(&mut self, range: std::ops::Range<usize>) {
        match &mut self.repr {
            Repr::Packed(p) => p.keep_range(range.start, range.end),
            Repr::Deque { items, bytes } => {
                items.truncate(range.end);
                items.drain(..range.start.min(items.len()));
                *bytes = items.iter().map(|b| alloc_size(b.len())).sum();
                self.shrink();
            }
        }
    }

    /// Keeps the items for which `keep` is true, in order.
    pub fn retain_items(&mut self, mut keep: impl FnMut(&[u8]) -> bool) {
        match &mut self.repr {
            Repr::Packed(p) => p.retain(keep),
            Repr::Deque { items, bytes } => {
                items.retain(|b| keep(b));
                *bytes = items.iter().map(|b| alloc_size(b.len())).sum();
                self.shrink();
            }
        }
    }

    /// Removes up to `limit` items equal to `item` (0: all of them), the
    /// first ones from the head, or from the tail when `from_tail`.
    /// Returns how many were removed.
    pub fn remove_matches(&mut self, item: &[u8], limit: usize, from_tail: bool) -> usize {
        let total = self.iter().filter(|b| *b == item).count();
        let n = if limit == 0 { total } else { limit.min(total) };
        if n == 0 {
            return 0;
        }
        // Matches are met head first: from the tail, the last `n` go.
        let first_removed = if from_tail { total - n } else { 0 };
        let mut seen = 0;
        self.retain_items(|b| {
            if b != item {
                return true;
            }
            seen += 1;
            !(first_removed < seen && seen <= first_removed + n)
        });
        n
    }

    /// Gives memory back when the deque is mostly empty.
    fn shrink(&mut self) {
        if let Repr::Deque { items, .. } = &mut self.repr
            && items.capacity() > 64
            && items.len() < items.capacity() / 4
        {
            items.shrink_to(items.len() * 2);
        }
    }

    /// Checks the invariants of either form (for the deque, the byte
    /// count against the items).
    #[cfg(any(test, fuzzing))]
    pub(crate) fn validate(&self) {
        match &self.repr {
            Repr::Packed(p) => p.validate(),
            Repr::Deque { items, bytes } => {
                let sum = items.iter().map(|b| alloc_size(b.len())).sum::<usize>();
                assert_eq!(*bytes, sum, "list byte count");
            }
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

#[cfg(test)]
mod tests;
