//! The journal's entries for a `Db`: the *effects* of one command, each
//! key it wrote as its resulting value (the same records a snapshot holds,
//! deadline as unix time) or as deleted, after a `Flush` when the command
//! emptied the keyspace. An INCR is thus journaled as the value it left, a
//! relative EXPIRE as the absolute deadline: replaying an entry twice, or
//! over a snapshot that already holds it, gives the same store.

use super::load::Staging;
use super::save::RecordSink;
use super::wire::{ByteBuf, Bytes, Record};
use crate::db::Db;
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
}

/// Builds the body of one journal entry.
#[derive(Default)]
pub(crate) struct EffectBuf {
    pub(crate) bytes: Vec<u8>,
}

struct KeyEffect<'a, T>(&'a T);

impl<T: Serialize> Serialize for KeyEffect<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_variant("Effect", 0, "Key", self.0)
    }
}

struct DelEffect<'a>(&'a [u8]);

impl Serialize for DelEffect<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_variant("Effect", 1, "Del", &Bytes(self.0))
    }
}

struct FlushEffect;

impl Serialize for FlushEffect {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_unit_variant("Effect", 2, "Flush")
    }
}

impl EffectBuf {
    fn put<T: Serialize>(&mut self, effect: &T) -> PersistResult<()> {
        bincode::serde::encode_into_std_write(effect, &mut self.bytes, bincode_config())
            .map(|_| ())
            .map_err(|e| PersistError::Config(format!("an effect cannot be encoded: {e}")))
    }

    /// Records that `key` was deleted.
    pub(crate) fn del(&mut self, key: &[u8]) -> PersistResult<()> {
        self.put(&DelEffect(key))
    }

    /// Records that every key was removed.
    pub(crate) fn flush(&mut self) -> PersistResult<()> {
        self.put(&FlushEffect)
    }
}

impl RecordSink for EffectBuf {
    fn record<T: Serialize>(&mut self, rec: &T, _starts_key: bool) -> PersistResult<()> {
        self.put(&KeyEffect(rec))
    }
}

/// Applies one entry's body to `db` (`offset`: the entry's, for errors).
pub(crate) fn apply(db: &Db, body: &[u8], offset: u64) -> PersistResult<()> {
    let mut pos = 0;
    let mut staging = Staging::default();
    while pos < body.len() {
        let (effect, n): (Effect, usize) = bincode::serde::decode_from_slice(&body[pos..], bincode_config())
            .map_err(|e| PersistError::Decode { offset, reason: format!("journal effect: {e}") })?;
        pos += n;
        match effect {
            Effect::Key(rec) => staging.push(rec, offset)?,
            Effect::Del(key) => {
                db.tx(&[&key.0], |tx| tx.take(&key.0));
            }
            Effect::Flush => {
                let mut tx = crate::db::keyspace::Tx::all(&db.inner);
                tx.clear();
                tx.finish();
            }
        }
    }
    for (key, value, at) in staging.finish(offset)? {
        let deadline = at.map(|u| db.inner.engine_ms(u));
        db.tx(&[&key], |tx| tx.put(&key, value, deadline));
    }
    Ok(())
}
