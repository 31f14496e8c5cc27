//! [`Packed`]: the compact form of a small list, as Redis's listpack. Every
//! item lives in one byte vector as its length, its bytes and its length
//! again, so the buffer can be walked from either end (listpack's
//! "backlen"). Items are at most [`MAX_VALUE`](crate::db::packed::MAX_VALUE) bytes, so each length is one
//! byte. Positional operations walk the buffer, fine for the few items a
//! packed list holds (at most [`MAX_ENTRIES`]; the `List` converts to its
//! deque form past either limit).

use crate::db::value::alloc_size;

pub(crate) use crate::db::packed::MAX_ENTRIES;

/// Bytes an entry takes besides its item: the length before and after.
const OVERHEAD: usize = 2;

/// The items of a small list in one buffer.
#[derive(Debug, Clone, Default)]
pub(crate) struct Packed {
    buf: Vec<u8>,
    len: usize,
}

/// The entry of `item`: its length, its bytes, its length.
/// (Its size hint is exact, so `Vec::splice` moves the tail once.)
fn entry(item: &[u8]) -> impl Iterator<Item = u8> + '_ {
    debug_assert!(Packed::fits(item.len()));
    let n = item.len() as u8;
    std::iter::once(n).chain(item.iter().copied()).chain(std::iter::once(n))
}

/// The items of a packed list (or of a range of it), walked from both ends.
#[derive(Debug, Clone)]
pub(crate) struct Iter<'a> {
    buf: &'a [u8],
    /// Where the next item from the front starts (its length byte).
    front: usize,
    /// Where the entry of the next item from the back ends.
    back: usize,
    /// Items left between `front` and `back`.
    left: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let n = usize::from(*self.buf.get(self.front)?);
        let item = self.buf.get(self.front + 1..self.front + 1 + n)?;
        self.front += n + OVERHEAD;
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<'a> DoubleEndedIterator for Iter<'a> {
    fn next_back(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let n = usize::from(*self.buf.get(self.back.checked_sub(1)?)?);
        let start = self.back.checked_sub(n + OVERHEAD)?;
        let item = self.buf.get(start + 1..start + 1 + n)?;
        self.back = start;
        Some(item)
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl Packed {
    /// Whether an element of `len` bytes may be stored packed.
    pub(crate) fn fits(len: usize) -> bool {
        crate::db::packed::fits(len)
    }

    /// Number of items.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Heap bytes: the buffer's allocation.
    pub(crate) fn footprint(&self) -> usize {
        alloc_size(self.buf.capacity())
    }

    /// Where the entry of item `index` starts (`index <= len`; the buffer's
    /// length for `len`), walking from the nearer end.
    fn offset(&self, index: usize) -> usize {
        let index = index.min(self.len);
        if index <= self.len / 2 {
            let mut at = 0;
            for _ in 0..index {
                at += usize::from(self.buf[at]) + OVERHEAD;
            }
            at
        } else {
            let mut at = self.buf.len();
            for _ in index..self.len {
                at -= usize::from(self.buf[at - 1]) + OVERHEAD;
            }
            at
        }
    }

    /// The item whose entry starts at `at`.
    fn item_at(&self, at: usize) -> &[u8] {
        let n = usize::from(self.buf[at]);
        &self.buf[at + 1..at + 1 + n]
    }

    /// The items in `start..end` (clamped to the list), head first.
    pub(crate) fn range(&self, start: usize, end: usize) -> Iter<'_> {
        let end = end.min(self.len);
        let start = start.min(end);
        Iter { buf: &self.buf, front: self.offset(start), back: self.offset(end), left: end - start }
    }

    /// All the items, head first.
    pub(crate) fn iter(&self) -> Iter<'_> {
        Iter { buf: &self.buf, front: 0, back: self.buf.len(), left: self.len }
    }

    /// The item at `index`.
    pub(crate) fn get(&self, index: usize) -> Option<&[u8]> {
        (index < self.len).then(|| self.item_at(self.offset(index)))
    }

    /// Makes room for `additional` more bytes (see [`crate::db::packed::reserve`]).
    fn reserve(&mut self, additional: usize) {
        crate::db::packed::reserve(&mut self.buf, additional);
    }

    /// Gives memory back (see [`crate::db::packed::shrink`]).
    fn shrink(&mut self) {
        crate::db::packed::shrink(&mut self.buf);
    }

    /// Inserts `item` (which [`fits`](Self::fits)) at `index` (clamped to
    /// `0..=len`); the caller keeps `len` within [`MAX_ENTRIES`].
    pub(crate) fn insert(&mut self, index: usize, item: &[u8]) {
        let at = self.offset(index);
        self.reserve(item.len() + OVERHEAD);
        self.buf.splice(at..at, entry(item));
        self.len += 1;
    }

    /// Replaces the item at `index` by `item` (which fits); `false` when
    /// out of range.
    pub(crate) fn set(&mut self, index: usize, item: &[u8]) -> bool {
        if index >= self.len {
            return false;
        }
        let at = self.offset(index);
        let old = usize::from(self.buf[at]);
        if item.len() > old {
            self.reserve(item.len() - old);
        }
        self.buf.splice(at..at + old + OVERHEAD, entry(item));
        if item.len() < old {
            self.shrink();
        }
        true
    }

    /// Removes the item at `index`.
    pub(crate) fn remove(&mut self, index: usize) -> Option<Box<[u8]>> {
        if index >= self.len {
            return None;
        }
        let at = self.offset(index);
        let item: Box<[u8]> = self.item_at(at).into();
        self.buf.drain(at..at + item.len() + OVERHEAD);
        self.len -= 1;
        self.shrink();
        Some(item)
    }

    /// Keeps only the items in `start..end`.
    pub(crate) fn keep_range(&mut self, start: usize, end: usize) {
        let end = end.min(self.len);
        let start = start.min(end);
        let (from, to) = (self.offset(start), self.offset(end));
        self.buf.truncate(to);
        self.buf.drain(..from);
        self.len = end - start;
        self.shrink();
    }

    /// Keeps the items for which `keep` is true, in order, moving the kept
    /// entries down in place.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&[u8]) -> bool) {
        let (mut read, mut write) = (0, 0);
        let mut len = 0;
        while read < self.buf.len() {
            let size = usize::from(self.buf[read]) + OVERHEAD;
            if keep(self.item_at(read)) {
                self.buf.copy_within(read..read + size, write);
                write += size;
                len += 1;
            }
            read += size;
        }
        self.buf.truncate(write);
        self.len = len;
        self.shrink();
    }

    /// Checks the invariants: the buffer parses, from both ends, into `len`
    /// items within the limits, each entry's two lengths agreeing.
    #[cfg(any(test, fuzzing))]
    pub(crate) fn validate(&self) {
        assert!(self.len <= MAX_ENTRIES, "packed list too long");
        let mut at = 0;
        let mut n = 0;
        while at < self.buf.len() {
            let len = usize::from(self.buf[at]);
            assert!(Self::fits(len), "packed item too long");
            assert_eq!(self.buf.get(at + 1 + len), Some(&self.buf[at]), "entry lengths differ");
            at += len + OVERHEAD;
            n += 1;
        }
        assert_eq!(at, self.buf.len(), "entries end at the buffer's end");
        assert_eq!(n, self.len, "packed item count");
        let forward: Vec<_> = self.iter().collect();
        let mut backward: Vec<_> = self.iter().rev().collect();
        backward.reverse();
        assert_eq!(forward, backward);
        assert!(self.len > 0 || self.buf.capacity() == 0, "an empty packed list holds no buffer");
    }
}
