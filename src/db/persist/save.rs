//! Encoding a key as snapshot records, from views of the live value.

use super::wire::{Bytes, CHUNK, Chunk, Head, More, tag};
use crate::db::value::Value;
use crate::persist::PersistResult;
use serde::Serialize;

/// Where records go: a snapshot, or a journal entry being built.
pub(crate) trait RecordSink {
    /// Appends one record; `starts_key` says it begins a key.
    fn record<T: Serialize>(&mut self, rec: &T, starts_key: bool) -> PersistResult<()>;
}

impl<W: std::io::Write> RecordSink for crate::persist::snapshot::SnapshotWriter<'_, W> {
    fn record<T: Serialize>(&mut self, rec: &T, starts_key: bool) -> PersistResult<()> {
        crate::persist::snapshot::SnapshotWriter::record(self, rec, starts_key)
    }
}

/// Writes `key` holding `value`, expiring at unix ms `expire_at`.
pub(crate) fn encode_key(
    out: &mut impl RecordSink,
    key: &[u8],
    expire_at: Option<i64>,
    value: &Value,
) -> PersistResult<()> {
    match value {
        Value::String(s) => out.record(&Head { tag: tag::STRING, key, expire_at, payload: Bytes(s) }, true),
        Value::List(l) => {
            let mut it = l.iter().map(Bytes);
            let n = l.len().min(CHUNK);
            let payload = (l.seq, Chunk::new(&mut it, n));
            out.record(&Head { tag: tag::LIST, key, expire_at, payload }, true)?;
            more(out, tag::MORE_ITEMS, l.len() - n, &mut it)
        }
        Value::Set(s) => chunks(out, (tag::SET, tag::MORE_ITEMS), key, expire_at, s.len(), &mut s.iter().map(Bytes)),
        Value::Hash(h) => {
            let mut it = h.iter().map(|(f, v)| (Bytes(f), Bytes(v)));
            chunks(out, (tag::HASH, tag::MORE_PAIRS), key, expire_at, h.len(), &mut it)
        }
        Value::ZSet(z) => {
            let mut it = z.iter().map(|(m, s)| (s, Bytes(m)));
            chunks(out, (tag::ZSET, tag::MORE_SCORED), key, expire_at, z.len(), &mut it)
        }
    }
}

/// An aggregate of `len` elements from `iter`: a head record with the
/// first [`CHUNK`], then continuation records.
fn chunks<I, T>(
    out: &mut impl RecordSink,
    (head, more_tag): (u32, u32),
    key: &[u8],
    expire_at: Option<i64>,
    len: usize,
    iter: &mut I,
) -> PersistResult<()>
where
    I: Iterator<Item = T>,
    T: Serialize,
{
    let n = len.min(CHUNK);
    out.record(&Head { tag: head, key, expire_at, payload: Chunk::new(iter, n) }, true)?;
    more(out, more_tag, len - n, iter)
}

/// `left` more elements from `iter`, in continuation records.
fn more<I, T>(out: &mut impl RecordSink, more: u32, mut left: usize, iter: &mut I) -> PersistResult<()>
where
    I: Iterator<Item = T>,
    T: Serialize,
{
    while left > 0 {
        let n = left.min(CHUNK);
        out.record(&More { tag: more, payload: Chunk::new(iter, n) }, false)?;
        left -= n;
    }
    Ok(())
}
