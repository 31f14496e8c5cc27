//! The records of a keyspace snapshot (and of journal effects' values), as
//! serde sees them.
//!
//! A key is one record holding its name, its deadline (unix ms) and its
//! value; an aggregate of more than [`CHUNK`] elements continues in `More…`
//! records, so neither side ever builds one huge record. Writers serialize
//! *views* that borrow the live value (no copy); readers decode the owned
//! [`Record`]. Both follow one layout: the variant order and field order of
//! `Record` are the format, so they never change; new variants go last.

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{self, SerializeSeq, SerializeStructVariant, Serializer};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::fmt;

/// Elements per record of a large aggregate.
pub(crate) const CHUNK: usize = 1024;

/// Borrowed bytes, serialized as one length-prefixed run.
pub(crate) struct Bytes<'a>(pub(crate) &'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

/// Owned bytes, deserialized from a length-prefixed run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ByteBuf(pub(crate) Vec<u8>);

impl Serialize for ByteBuf {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for ByteBuf {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ByteBuf;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v.to_vec()))
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ByteBuf, A::Error> {
                let mut v = Vec::new();
                while let Some(b) = seq.next_element()? {
                    v.push(b);
                }
                Ok(ByteBuf(v))
            }
        }
        d.deserialize_byte_buf(V)
    }
}

/// A record as read back.
#[derive(Debug, Deserialize)]
pub(crate) enum Record {
    String {
        key: ByteBuf,
        expire_at: Option<i64>,
        value: ByteBuf,
    },
    List {
        key: ByteBuf,
        expire_at: Option<i64>,
        /// The journal entry that last wrote the list plus one (0: none),
        /// then the items.
        items: (u64, Vec<ByteBuf>),
    },
    Hash {
        key: ByteBuf,
        expire_at: Option<i64>,
        pairs: Vec<(ByteBuf, ByteBuf)>,
    },
    Set {
        key: ByteBuf,
        expire_at: Option<i64>,
        members: Vec<ByteBuf>,
    },
    ZSet {
        key: ByteBuf,
        expire_at: Option<i64>,
        pairs: Vec<(f64, ByteBuf)>,
    },
    /// More items of the list or set just started.
    MoreItems(Vec<ByteBuf>),
    /// More fields of the hash just started.
    MorePairs(Vec<(ByteBuf, ByteBuf)>),
    /// More members of the sorted set just started.
    MoreScored(Vec<(f64, ByteBuf)>),
}

impl Record {
    /// Whether this record starts a key.
    pub(crate) fn starts_key(&self) -> bool {
        !matches!(self, Record::MoreItems(_) | Record::MorePairs(_) | Record::MoreScored(_))
    }
}

/// Variant indices of [`Record`], for the writing side.
pub(crate) mod tag {
    pub(crate) const STRING: u32 = 0;
    pub(crate) const LIST: u32 = 1;
    pub(crate) const HASH: u32 = 2;
    pub(crate) const SET: u32 = 3;
    pub(crate) const ZSET: u32 = 4;
    pub(crate) const MORE_ITEMS: u32 = 5;
    pub(crate) const MORE_PAIRS: u32 = 6;
    pub(crate) const MORE_SCORED: u32 = 7;
}

/// The next `n` elements of a shared iterator, serialized as a sequence.
pub(crate) struct Chunk<'i, I> {
    iter: RefCell<&'i mut I>,
    n: usize,
}

impl<'i, I> Chunk<'i, I> {
    pub(crate) fn new(iter: &'i mut I, n: usize) -> Self {
        Chunk { iter: RefCell::new(iter), n }
    }
}

impl<I, T> Serialize for Chunk<'_, I>
where
    I: Iterator<Item = T>,
    T: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut iter = self.iter.try_borrow_mut().map_err(|_| ser::Error::custom("chunk serialized twice at once"))?;
        let mut seq = s.serialize_seq(Some(self.n))?;
        for _ in 0..self.n {
            let x = iter.next().ok_or_else(|| ser::Error::custom("an aggregate shrank while being saved"))?;
            seq.serialize_element(&x)?;
        }
        seq.end()
    }
}

/// The record starting a key: variant `tag`, then key, deadline, payload.
pub(crate) struct Head<'a, P> {
    pub(crate) tag: u32,
    pub(crate) key: &'a [u8],
    pub(crate) expire_at: Option<i64>,
    pub(crate) payload: P,
}

const NAMES: [&str; 8] = ["String", "List", "Hash", "Set", "ZSet", "MoreItems", "MorePairs", "MoreScored"];

impl<P: Serialize> Serialize for Head<'_, P> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let name = NAMES.get(self.tag as usize).copied().unwrap_or("?");
        let mut v = s.serialize_struct_variant("Record", self.tag, name, 3)?;
        v.serialize_field("key", &Bytes(self.key))?;
        v.serialize_field("expire_at", &self.expire_at)?;
        v.serialize_field("payload", &self.payload)?;
        v.end()
    }
}

/// A continuation record: variant `tag` holding `payload`.
pub(crate) struct More<P> {
    pub(crate) tag: u32,
    pub(crate) payload: P,
}

impl<P: Serialize> Serialize for More<P> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let name = NAMES.get(self.tag as usize).copied().unwrap_or("?");
        s.serialize_newtype_variant("Record", self.tag, name, &self.payload)
    }
}
