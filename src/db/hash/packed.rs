//! [`Packed`]: the compact form of a small hash, as Redis's listpack. Every
//! field and value lives in one byte vector, each entry as a varint field
//! length, the field, a varint value length and the value. Lookups are
//! linear scans, fine for the few entries a packed hash holds (at most
//! [`MAX_ENTRIES`], each field and value at most [`MAX_VALUE`](crate::db::packed::MAX_VALUE) bytes; the
//! `Hash` converts to its table form past either limit).

use crate::db::value::alloc_size;

pub(crate) use crate::db::packed::MAX_ENTRIES;

/// The fields and values of a small hash in one buffer.
#[derive(Debug, Clone, Default)]
pub(crate) struct Packed {
    buf: Vec<u8>,
    len: usize,
}

/// Appends `n` as a LEB128 varint.
fn put_varint(buf: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        buf.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    buf.push(n as u8);
}

/// The bytes of `n` as a varint.
fn varint_len(mut n: usize) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

/// Reads a varint at `*at`, moving past it (0 past the end, which the
/// buffer's invariant rules out).
fn get_varint(buf: &[u8], at: &mut usize) -> usize {
    let mut n = 0usize;
    let mut shift = 0;
    while let Some(&b) = buf.get(*at) {
        *at += 1;
        n |= usize::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    n
}

/// One entry's place in the buffer.
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// Where the entry starts (its field length).
    start: usize,
    /// Where its value length starts.
    value_at: usize,
    /// Its value's bytes.
    value: (usize, usize),
}

impl Slot {
    fn end(&self) -> usize {
        self.value.1
    }
}

/// The entries of a buffer, in order.
struct Slots<'a> {
    buf: &'a [u8],
    at: usize,
}

impl Iterator for Slots<'_> {
    type Item = Slot;

    fn next(&mut self) -> Option<Slot> {
        if self.at >= self.buf.len() {
            return None;
        }
        let start = self.at;
        let mut at = start;
        let flen = get_varint(self.buf, &mut at);
        let value_at = (at + flen).min(self.buf.len());
        let mut at = value_at;
        let vlen = get_varint(self.buf, &mut at);
        let end = (at + vlen).min(self.buf.len());
        self.at = end;
        Some(Slot { start, value_at, value: (at, end) })
    }
}

impl Packed {
    /// Whether an element of `len` bytes may be stored packed.
    pub(crate) fn fits(len: usize) -> bool {
        crate::db::packed::fits(len)
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Heap bytes: the buffer's allocation.
    pub(crate) fn footprint(&self) -> usize {
        alloc_size(self.buf.capacity())
    }

    fn slots(&self) -> Slots<'_> {
        Slots { buf: &self.buf, at: 0 }
    }

    /// The field of an entry.
    fn field_of(&self, s: &Slot) -> &[u8] {
        let mut at = s.start;
        let flen = get_varint(&self.buf, &mut at);
        self.buf.get(at..at + flen).unwrap_or_default()
    }

    fn value_of(&self, s: &Slot) -> &[u8] {
        self.buf.get(s.value.0..s.value.1).unwrap_or_default()
    }

    fn find(&self, field: &[u8]) -> Option<Slot> {
        self.slots().find(|s| self.field_of(s) == field)
    }

    /// Iterates over `(field, value)` in storage (insertion) order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.slots().map(|s| (self.field_of(&s), self.value_of(&s)))
    }

    /// The value of `field`.
    pub(crate) fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.find(field).map(|s| self.value_of(&s))
    }

    /// Makes room for `additional` more bytes (see [`crate::db::packed::reserve`]).
    fn reserve(&mut self, additional: usize) {
        crate::db::packed::reserve(&mut self.buf, additional);
    }

    /// Gives memory back (see [`crate::db::packed::shrink`]).
    fn shrink(&mut self) {
        crate::db::packed::shrink(&mut self.buf);
    }

    /// Replaces the value of an existing `field`; returns `false` (and
    /// changes nothing) when the field is absent.
    pub(crate) fn replace(&mut self, field: &[u8], value: &[u8]) -> bool {
        let Some(s) = self.find(field) else { return false };
        let old = s.end() - s.value_at;
        let new = varint_len(value.len()) + value.len();
        if new > old {
            self.reserve(new - old);
        }
        let mut encoded = Vec::with_capacity(new);
        put_varint(&mut encoded, value.len());
        encoded.extend_from_slice(value);
        self.buf.splice(s.value_at..s.end(), encoded);
        if new < old {
            self.shrink();
        }
        true
    }

    /// Appends a `(field, value)` whose field the caller checked is absent.
    pub(crate) fn push_new(&mut self, field: &[u8], value: &[u8]) {
        let need = varint_len(field.len()) + field.len() + varint_len(value.len()) + value.len();
        self.reserve(need);
        put_varint(&mut self.buf, field.len());
        self.buf.extend_from_slice(field);
        put_varint(&mut self.buf, value.len());
        self.buf.extend_from_slice(value);
        self.len += 1;
    }

    /// Removes `field`, returning its value.
    pub(crate) fn remove(&mut self, field: &[u8]) -> Option<Box<[u8]>> {
        let s = self.find(field)?;
        let value: Box<[u8]> = self.value_of(&s).into();
        self.buf.drain(s.start..s.end());
        self.len -= 1;
        if self.len == 0 {
            self.buf = Vec::new();
        } else {
            self.shrink();
        }
        Some(value)
    }

    /// The entries, for picks by position.
    pub(crate) fn entries(&self) -> Vec<(&[u8], &[u8])> {
        self.iter().collect()
    }

    /// Checks the invariants: the buffer parses into `len` entries with
    /// distinct fields, all within the limits.
    #[cfg(test)]
    pub(crate) fn validate(&self) {
        let entries = self.entries();
        assert_eq!(entries.len(), self.len);
        assert!(self.len <= MAX_ENTRIES);
        let end = self.slots().last().map_or(0, |s| s.end());
        assert_eq!(end, self.buf.len());
        let fields: std::collections::HashSet<_> = entries.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields.len(), self.len);
        assert!(entries.iter().all(|(f, v)| Self::fits(f.len()) && Self::fits(v.len())));
    }
}
