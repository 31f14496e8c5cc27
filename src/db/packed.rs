//! What the packed (listpack-like) forms of small hashes and lists share:
//! Redis's limits for staying packed, and the buffer's capacity policy
//! (a little slack for runs of inserts, never doubling, memory given back
//! on removals), which keeps `alloc_size(capacity)` close to the bytes used.

/// Most entries a packed collection holds (Redis's
/// `hash-max-listpack-entries` default).
pub(crate) const MAX_ENTRIES: usize = 128;
/// Longest element a packed collection holds (`*-max-listpack-value`). It
/// keeps every length in one byte.
pub(crate) const MAX_VALUE: usize = 64;

/// Whether an element of `len` bytes may be stored packed.
pub(crate) fn fits(len: usize) -> bool {
    len <= MAX_VALUE
}

/// Makes room for `additional` more bytes with about an eighth of slack.
pub(crate) fn reserve(buf: &mut Vec<u8>, additional: usize) {
    if buf.capacity() - buf.len() < additional {
        buf.reserve_exact(additional + buf.len() / 8);
    }
}

/// Gives memory back once the buffer has much more room than it uses, all
/// of it when it is empty.
pub(crate) fn shrink(buf: &mut Vec<u8>) {
    let len = buf.len();
    if len == 0 {
        *buf = Vec::new();
    } else if buf.capacity() - len > 32.max(len / 4) {
        buf.shrink_to(len + len / 8);
    }
}
