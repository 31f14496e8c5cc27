//! BITOP: AND, OR, XOR or NOT of strings, stored at a destination key.

use super::super::args::is;
use super::super::notify::EventClass;
use super::super::string::string_of;
use super::super::{Db, DbError, DbResult, Reply, Value};

/// The operation of [`Db::bitop`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitOp {
    /// Bitwise AND of every source.
    And,
    /// Bitwise OR of every source.
    Or,
    /// Bitwise XOR of every source.
    Xor,
    /// Bitwise NOT of a single source.
    Not,
}

impl Db {
    /// BITOP: stores at `dst` the bitwise `op` of the strings at `keys`
    /// (missing keys are empty strings, shorter strings are padded with
    /// zero bytes) and returns its length, the longest source's. An empty
    /// result deletes `dst`; otherwise `dst` is replaced whatever it held,
    /// its time to live cleared. WRONGTYPE if a source is not a string;
    /// NOT takes exactly one source.
    pub fn bitop(&self, op: BitOp, dst: &[u8], keys: &[&[u8]]) -> DbResult<usize> {
        if op == BitOp::Not && keys.len() != 1 {
            return Err(DbError::Invalid("BITOP NOT must be called with a single source key."));
        }
        let mut all = Vec::with_capacity(keys.len() + 1);
        all.push(dst);
        all.extend_from_slice(keys);
        self.tx_grow(&all, |tx| {
            let mut sources: Vec<Vec<u8>> = Vec::with_capacity(keys.len());
            for key in keys {
                let s = tx.read(key, |v, _| string_of(v).map(<[u8]>::to_vec)).transpose()?;
                sources.push(s.unwrap_or_default());
            }
            let result = combine(op, &sources);
            let len = result.len();
            if len == 0 {
                if tx.take(dst).is_some() {
                    tx.event(EventClass::Generic, "del", dst);
                }
            } else {
                tx.put(dst, Value::String(result), None);
                tx.event(EventClass::String, "set", dst);
            }
            Ok(len)
        })
    }
}

/// The bytes of `op` over `sources`, as long as the longest of them.
fn combine(op: BitOp, sources: &[Vec<u8>]) -> Vec<u8> {
    let len = sources.iter().map(Vec::len).max().unwrap_or(0);
    let byte = |s: &Vec<u8>, i: usize| s.get(i).copied().unwrap_or(0);
    (0..len)
        .map(|i| {
            let mut rest = sources.iter().map(|s| byte(s, i));
            let first = rest.next().unwrap_or(0);
            match op {
                BitOp::Not => !first,
                BitOp::And => rest.fold(first, |a, b| a & b),
                BitOp::Or => rest.fold(first, |a, b| a | b),
                BitOp::Xor => rest.fold(first, |a, b| a ^ b),
            }
        })
        .collect()
}

/// `BITOP AND | OR | XOR | NOT destkey key [key ...]`
pub(super) fn cmd_bitop(db: &Db, a: &[&[u8]]) -> Reply {
    let op = if is(a[1], "AND") {
        BitOp::And
    } else if is(a[1], "OR") {
        BitOp::Or
    } else if is(a[1], "XOR") {
        BitOp::Xor
    } else if is(a[1], "NOT") {
        BitOp::Not
    } else {
        return DbError::Syntax.into();
    };
    db.bitop(op, a[2], &a[3..]).map(Reply::count).into()
}
