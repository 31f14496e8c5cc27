//! The journal's entries for a `Db`: the *effects* of one command.
//!
//! - A key a command wrote is journaled as its resulting value (the same
//!   records a snapshot holds, deadline as unix time), or as deleted, after
//!   a `Flush` when the command emptied the keyspace. An INCR is thus
//!   journaled as the value it left, a relative EXPIRE as the absolute
//!   deadline.
//! - Commands that change a few members of a large hash, set or sorted set
//!   say which ([`Detail::Members`]); the entry then holds those members'
//!   resulting state only (present with their value or score, or gone),
//!   plus the key's deadline. A deadline-only change is journaled as the
//!   deadline ([`Detail::Deadline`]).
//!
//! All of these are assignments: replaying an entry twice, or over a
//! snapshot that already holds it, gives the same store. List pushes and
//! pops ([`Detail::List`]) are not positions but operations; each list
//! carries the sequence number of the entry that last wrote it (saved in
//! snapshots too), and replay skips list operations that list already
//! holds, so they apply exactly once.

use super::load::Staging;
use super::save::RecordSink;
use super::wire::{ByteBuf, Bytes, Record};
use crate::db::keyspace::Tx;
use crate::db::list::End;
use crate::db::value::Value;
use crate::db::{Db, List};
use crate::persist::snapshot::bincode_config;
use crate::persist::{PersistError, PersistResult};
use serde::{Deserialize, Serialize, Serializer};

/// An effect as read back. Variant order is the format.
#[derive(Debug, Deserialize)]
enum Effect {
    /// A record of the key's value (a snapshot record, continuations included).
    Key(Record),
    /// The key no longer exists.
    Del(ByteBuf),
    /// Every key was removed.
    Flush,
    /// Part of a key changed.
    Delta(Delta),
}

/// What a command says it changed of a key, when that is less than the
/// whole value.
#[derive(Debug, Clone)]
pub(crate) enum Detail {
    /// Only these members (fields) of a hash, set or sorted set.
    Members(Vec<Box<[u8]>>),
    /// These pushes and pops of a list, in order.
    List(Vec<ListOp>),
    /// Only the deadline.
    Deadline,
}

impl Detail {
    /// Both details of one command on one key, or `None` when they do not
    /// combine (the whole value is then journaled).
    pub(crate) fn merge(self, other: Detail) -> Option<Detail> {
        match (self, other) {
            (Detail::Members(mut a), Detail::Members(b)) => {
                a.extend(b);
                Some(Detail::Members(a))
            }
            (Detail::List(mut a), Detail::List(b)) => {
                a.extend(b);
                Some(Detail::List(a))
            }
            (d, Detail::Deadline) | (Detail::Deadline, d) => Some(d),
            _ => None,
        }
    }
}

/// A list operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum ListOp {
    /// Items pushed one by one at the head (`true`) or tail.
    Push(bool, Vec<ByteBuf>),
    /// This many items popped at the head (`true`) or tail.
    Pop(bool, u64),
}

impl ListOp {
    pub(crate) fn push(end: End, items: &[&[u8]]) -> ListOp {
        ListOp::Push(end == End::Left, items.iter().map(|i| ByteBuf(i.to_vec())).collect())
    }

    pub(crate) fn pop(end: End, n: usize) -> ListOp {
        ListOp::Pop(end == End::Left, n as u64)
    }
}

/// The partial effects. Each carries the key's deadline (unix ms) after
/// the command and creates the key if it is absent. One that meets a key of
/// another type is skipped: the journal holds a later effect that replaces
/// that key anyway.
#[derive(Debug, Deserialize)]
pub(crate) enum Delta {
    Hash { key: ByteBuf, expire_at: Option<i64>, set: Vec<(ByteBuf, ByteBuf)>, removed: Vec<ByteBuf> },
    Set { key: ByteBuf, expire_at: Option<i64>, added: Vec<ByteBuf>, removed: Vec<ByteBuf> },
    ZSet { key: ByteBuf, expire_at: Option<i64>, set: Vec<(f64, ByteBuf)>, removed: Vec<ByteBuf> },
    List { key: ByteBuf, expire_at: Option<i64>, ops: Vec<ListOp> },
    Expire { key: ByteBuf, expire_at: Option<i64> },
}

/// [`Delta`] as written: the same variants and fields, borrowing the key,
/// the members and the values from the live store (nothing is copied).
#[derive(Serialize)]
pub(crate) enum DeltaRef<'a> {
    Hash { key: Bytes<'a>, expire_at: Option<i64>, set: Vec<(Bytes<'a>, Bytes<'a>)>, removed: Vec<Bytes<'a>> },
    Set { key: Bytes<'a>, expire_at: Option<i64>, added: Vec<Bytes<'a>>, removed: Vec<Bytes<'a>> },
    ZSet { key: Bytes<'a>, expire_at: Option<i64>, set: Vec<(f64, Bytes<'a>)>, removed: Vec<Bytes<'a>> },
    List { key: Bytes<'a>, expire_at: Option<i64>, ops: &'a [ListOp] },
    Expire { key: Bytes<'a>, expire_at: Option<i64> },
}

/// How a written key is journaled.
pub(crate) enum Journaled<'a> {
    /// As the part the command changed.
    Delta(DeltaRef<'a>),
    /// As its whole value.
    Whole,
    /// Not at all: the command's detail names another type than the key
    /// holds, so the command failed (WRONGTYPE) and changed nothing.
    Unchanged,
}

impl<'a> DeltaRef<'a> {
    /// How `key`, now holding `value`, is journaled given the command's
    /// `detail` of it.
    pub(crate) fn of(
        key: &'a [u8],
        value: &'a Value,
        expire_at: Option<i64>,
        detail: Option<&'a Detail>,
    ) -> Journaled<'a> {
        let Some(detail) = detail else { return Journaled::Whole };
        let key = Bytes(key);
        Journaled::Delta(match (value, detail) {
            (_, Detail::Deadline) => DeltaRef::Expire { key, expire_at },
            (Value::Hash(h), Detail::Members(ms)) => {
                let (mut set, mut removed) = (Vec::new(), Vec::new());
                for m in ms {
                    match h.get(m) {
                        Some(v) => set.push((Bytes(m), Bytes(v))),
                        None => removed.push(Bytes(m)),
                    }
                }
                DeltaRef::Hash { key, expire_at, set, removed }
            }
            (Value::Set(s), Detail::Members(ms)) => {
                let (added, removed) = ms.iter().map(|m| Bytes(m)).partition(|m| s.contains(m.0));
                DeltaRef::Set { key, expire_at, added, removed }
            }
            (Value::ZSet(z), Detail::Members(ms)) => {
                let (mut set, mut removed) = (Vec::new(), Vec::new());
                for m in ms {
                    match z.score(m) {
                        Some(s) => set.push((s, Bytes(m))),
                        None => removed.push(Bytes(m)),
                    }
                }
                DeltaRef::ZSet { key, expire_at, set, removed }
            }
            (Value::List(_), Detail::List(ops)) => DeltaRef::List { key, expire_at, ops },
            _ => return Journaled::Unchanged,
        })
    }
}

impl Delta {
    /// Applies the delta, journaled in entry `seq`.
    fn apply(self, db: &Db, seq: u64) -> PersistResult<()> {
        let deadline = |at: Option<i64>| at.map(|u| db.inner.engine_ms(u));
        match self {
            Delta::Expire { key, expire_at } => db.tx(&[&key.0], |tx| {
                tx.write(&key.0, |v, d| {
                    if v.is_some() {
                        *d = deadline(expire_at);
                    }
                });
            }),
            Delta::Hash { key, expire_at, set, removed } => edit(db, &key.0, deadline(expire_at), |v| {
                let Value::Hash(h) = v.get_or_insert_with(|| Value::Hash(Box::default())) else { return false };
                for (f, x) in &set {
                    h.insert(&f.0, &x.0);
                }
                for f in &removed {
                    h.remove(&f.0);
                }
                true
            }),
            Delta::Set { key, expire_at, added, removed } => edit(db, &key.0, deadline(expire_at), |v| {
                let Value::Set(s) = v.get_or_insert_with(|| Value::Set(Box::default())) else { return false };
                for m in added {
                    s.insert_owned(m.0.into_boxed_slice());
                }
                for m in &removed {
                    s.remove(&m.0);
                }
                true
            }),
            Delta::ZSet { key, expire_at, set, removed } => {
                if set.iter().any(|(s, _)| s.is_nan()) {
                    return Err(PersistError::Decode { offset: seq, reason: "a NaN score in the journal".into() });
                }
                edit(db, &key.0, deadline(expire_at), |v| {
                    let Value::ZSet(z) = v.get_or_insert_with(|| Value::ZSet(Box::default())) else { return false };
                    for (s, m) in &set {
                        let _ = z.insert(&m.0, *s);
                    }
                    for m in &removed {
                        z.remove(&m.0);
                    }
                    true
                })
            }
            Delta::List { key, expire_at, ops } => edit(db, &key.0, deadline(expire_at), |v| {
                let Value::List(l) = v.get_or_insert_with(|| Value::List(List::default())) else { return false };
                if l.seq > seq {
                    return true;
                }
                for op in &ops {
                    match op {
                        ListOp::Push(left, items) => {
                            let end = if *left { End::Left } else { End::Right };
                            items.iter().for_each(|i| l.push(end, &i.0));
                        }
                        ListOp::Pop(left, n) => {
                            let end = if *left { End::Left } else { End::Right };
                            for _ in 0..*n {
                                l.pop(end);
                            }
                        }
                    }
                }
                l.seq = seq + 1;
                true
            }),
        }
        Ok(())
    }
}

/// Runs `f` on `key`'s value (`None` if absent); when `f` says it applied
/// (the key held its type, or was created), sets the deadline too.
fn edit(db: &Db, key: &[u8], deadline: Option<u64>, f: impl FnOnce(&mut Option<Value>) -> bool) {
    db.tx(&[key], |tx: &mut Tx<'_>| {
        tx.write(key, |v, d| {
            if f(v) {
                *d = deadline;
            }
        });
    });
}

/// Builds the body of one journal entry.
pub(crate) struct EffectBuf<'b> {
    pub(crate) bytes: &'b mut Vec<u8>,
}

struct Tagged<'a, T: ?Sized>(u32, &'static str, &'a T);

impl<T: Serialize + ?Sized> Serialize for Tagged<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_variant("Effect", self.0, self.1, self.2)
    }
}

struct FlushEffect;

impl Serialize for FlushEffect {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_unit_variant("Effect", 2, "Flush")
    }
}

impl EffectBuf<'_> {
    fn put<T: Serialize>(&mut self, effect: &T) -> PersistResult<()> {
        bincode::serde::encode_into_std_write(effect, &mut *self.bytes, bincode_config())
            .map(|_| ())
            .map_err(|e| PersistError::Config(format!("an effect cannot be encoded: {e}")))
    }

    /// Records that `key` was deleted.
    pub(crate) fn del(&mut self, key: &[u8]) -> PersistResult<()> {
        self.put(&Tagged(1, "Del", &Bytes(key)))
    }

    /// Records that every key was removed.
    pub(crate) fn flush(&mut self) -> PersistResult<()> {
        self.put(&FlushEffect)
    }

    /// Records a partial change.
    pub(crate) fn delta(&mut self, delta: &DeltaRef<'_>) -> PersistResult<()> {
        self.put(&Tagged(3, "Delta", delta))
    }
}

impl RecordSink for EffectBuf<'_> {
    fn record<T: Serialize>(&mut self, rec: &T, _starts_key: bool) -> PersistResult<()> {
        self.put(&Tagged(0, "Key", rec))
    }
}

/// Applies the body of entry `seq` to `db`.
pub(crate) fn apply(db: &Db, body: &[u8], seq: u64) -> PersistResult<()> {
    let mut pos = 0;
    let mut staging = Staging::default();
    while pos < body.len() {
        let (effect, n): (Effect, usize) = bincode::serde::decode_from_slice(&body[pos..], bincode_config())
            .map_err(|e| PersistError::Decode { offset: seq, reason: format!("journal entry {seq}: {e}") })?;
        pos += n;
        match effect {
            Effect::Key(rec) => staging.push(rec, seq)?,
            Effect::Del(key) => {
                db.tx(&[&key.0], |tx| tx.take(&key.0));
            }
            Effect::Flush => {
                let mut tx = Tx::all(&db.inner);
                tx.clear();
                tx.finish();
            }
            Effect::Delta(d) => d.apply(db, seq)?,
        }
    }
    for (key, value, at) in staging.finish(seq)? {
        let deadline = at.map(|u| db.inner.engine_ms(u));
        db.tx(&[&key], |tx| tx.put(&key, value, deadline));
    }
    Ok(())
}
