//! Bitmaps over strings: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP
//! (`bitop`), BITFIELD and BITFIELD_RO (`bitfield`).
//!
//! Bit 0 is the most significant bit of byte 0, as in Redis. A missing key
//! reads as an endless run of zero bits; SETBIT grows the string with zero
//! bytes (keeping the key's time to live), up to 2^32 bits (512 MB).

mod bitfield;
mod bitop;

pub use bitfield::{BitField, BitFieldOp, BitFieldOverflow};
pub use bitop::BitOp;

use super::args::{int, is, parse_i64};
use super::command::{Command, DENYOOM, WRITE};
use super::notify::EventClass;
use super::string::{MAX_STRING_LEN, clamp_range, string_of, string_or_new, to_usize};
use super::{Db, DbError, DbResult, Reply};

pub(super) const COMMANDS: &[Command] = &[
    Command { name: "setbit", arity: 4, flags: WRITE | DENYOOM, run: cmd_setbit, stream: None },
    Command { name: "getbit", arity: 3, flags: 0, run: cmd_getbit, stream: None },
    Command { name: "bitcount", arity: -2, flags: 0, run: cmd_bitcount, stream: None },
    Command { name: "bitpos", arity: -3, flags: 0, run: cmd_bitpos, stream: None },
    Command { name: "bitop", arity: -4, flags: WRITE | DENYOOM, run: bitop::cmd_bitop, stream: None },
    Command { name: "bitfield", arity: -2, flags: WRITE | DENYOOM, run: bitfield::cmd_bitfield, stream: None },
    Command { name: "bitfield_ro", arity: -2, flags: 0, run: bitfield::cmd_bitfield_ro, stream: None },
];

/// Bit offsets must be below this: 2^32, the bits of a 512 MB string.
pub(crate) const MAX_BITS: u64 = MAX_STRING_LEN * 8;

/// What the indexes of a BITCOUNT or BITPOS range count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BitUnit {
    /// `BYTE` (the default): indexes of bytes.
    #[default]
    Byte,
    /// `BIT`: indexes of bits.
    Bit,
}

/// BITCOUNT's `start end [BYTE | BIT]`: inclusive, negative indexes count
/// from the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BitRange {
    /// First index.
    pub start: i64,
    /// Last index (inclusive).
    pub end: i64,
    /// Bytes or bits.
    pub unit: BitUnit,
}

/// BITPOS's `start [end [BYTE | BIT]]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BitPosRange {
    /// First index (negative: from the end).
    pub start: i64,
    /// Last index (inclusive); `None`: to the end of the string, which
    /// also lets a search for a 0 bit answer the first bit past the string.
    pub end: Option<i64>,
    /// Bytes or bits.
    pub unit: BitUnit,
}

impl Db {
    /// SETBIT: sets bit `offset` of the string at `key` to `value`
    /// (growing or creating the string); returns the bit's old value.
    pub fn setbit(&self, key: &[u8], offset: u64, value: bool) -> DbResult<bool> {
        if offset >= MAX_BITS {
            return Err(DbError::BitOffset);
        }
        let byte = to_usize(offset / 8)?;
        let mask = 0x80u8 >> (offset % 8);
        self.tx_grow(&[key], |tx| {
            let (old, changed) = tx.write(key, |slot, _| {
                let s = string_or_new(slot, byte + 1)?;
                let grown = s.len() <= byte;
                if grown {
                    s.resize(byte + 1, 0);
                }
                let Some(b) = s.get_mut(byte) else { return Ok((false, grown)) };
                let old = *b & mask != 0;
                if value {
                    *b |= mask;
                } else {
                    *b &= !mask;
                }
                Ok((old, grown || old != value))
            })?;
            if changed {
                tx.event(EventClass::String, "setbit", key);
            }
            Ok(old)
        })
    }

    /// GETBIT: bit `offset` of the string at `key` (0 past its end).
    pub fn getbit(&self, key: &[u8], offset: u64) -> DbResult<bool> {
        if offset >= MAX_BITS {
            return Err(DbError::BitOffset);
        }
        let mask = 0x80u8 >> (offset % 8);
        let byte = usize::try_from(offset / 8).unwrap_or(usize::MAX);
        let bit = self.read(key, |v| string_of(v).map(|s| s.get(byte).is_some_and(|b| b & mask != 0)));
        Ok(bit.transpose()?.unwrap_or(false))
    }

    /// BITCOUNT: the number of set bits in the string at `key`, or in
    /// `range` of it.
    pub fn bitcount(&self, key: &[u8], range: Option<BitRange>) -> DbResult<u64> {
        let n = self.read(key, |v| string_of(v).map(|s| count_in(s, range)));
        Ok(n.transpose()?.unwrap_or(0))
    }

    /// BITPOS: the position of the first bit equal to `bit` in the string
    /// at `key` (or in `range` of it), counted from the string's first
    /// bit; -1 if there is none. As in Redis, a missing key is all zeros
    /// (0 for a clear bit, -1 for a set one), and a search for a clear bit
    /// without an explicit end that finds none answers the first bit past
    /// the string.
    pub fn bitpos(&self, key: &[u8], bit: bool, range: Option<BitPosRange>) -> DbResult<i64> {
        let pos = self.read(key, |v| string_of(v).map(|s| position_in(s, bit, range)));
        Ok(pos.transpose()?.unwrap_or(if bit { -1 } else { 0 }))
    }
}

/// The inclusive bit range `range` covers in a string of `len` bytes.
fn bit_range(len: usize, start: i64, end: i64, unit: BitUnit) -> Option<(u64, u64)> {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let (start, end) = match unit {
        BitUnit::Byte => {
            let (s, e) = clamp_range(start, end, len)?;
            (s * 8, e * 8 + 7)
        }
        BitUnit::Bit => clamp_range(start, end, len.saturating_mul(8))?,
    };
    Some((u64::try_from(start).ok()?, u64::try_from(end).ok()?))
}

/// The mask of the bits of byte `b` within the inclusive bit range.
fn edge_mask(b: u64, first: u64, last: u64) -> u8 {
    let mut mask = 0xffu8;
    if b == first / 8 {
        mask &= 0xff >> (first % 8);
    }
    if b == last / 8 {
        mask &= 0xff << (7 - last % 8);
    }
    mask
}

/// BITCOUNT over a string.
fn count_in(s: &[u8], range: Option<BitRange>) -> u64 {
    let bits = match range {
        None => bit_range(s.len(), 0, -1, BitUnit::Byte),
        // Redis 7 answers 0 for two negative indexes out of order before
        // clamping them.
        Some(r) if r.start < 0 && r.end < 0 && r.start > r.end => None,
        Some(r) => bit_range(s.len(), r.start, r.end, r.unit),
    };
    let Some((first, last)) = bits else { return 0 };
    let (fb, lb) = (first / 8, last / 8);
    let byte = |b: u64| usize::try_from(b).ok().and_then(|b| s.get(b)).copied().unwrap_or(0);
    let edges = |b: u64| u64::from((byte(b) & edge_mask(b, first, last)).count_ones());
    if fb == lb {
        return edges(fb);
    }
    let middle = match (usize::try_from(fb + 1), usize::try_from(lb)) {
        (Ok(from), Ok(to)) => s.get(from..to).map_or(0, popcount),
        _ => 0,
    };
    edges(fb) + middle + edges(lb)
}

/// The number of set bits in `bytes`.
fn popcount(bytes: &[u8]) -> u64 {
    let words = bytes.chunks_exact(8);
    let tail: u64 = words.remainder().iter().map(|b| u64::from(b.count_ones())).sum();
    words.map(|w| u64::from(u64::from_le_bytes(w.try_into().unwrap_or([0; 8])).count_ones())).sum::<u64>() + tail
}

/// BITPOS over an existing string.
fn position_in(s: &[u8], bit: bool, range: Option<BitPosRange>) -> i64 {
    let bits = match range {
        None => bit_range(s.len(), 0, -1, BitUnit::Byte),
        Some(r) => {
            let whole = match r.unit {
                BitUnit::Byte => i64::try_from(s.len()).unwrap_or(i64::MAX),
                BitUnit::Bit => i64::try_from(s.len()).unwrap_or(i64::MAX).saturating_mul(8),
            };
            bit_range(s.len(), r.start, r.end.unwrap_or(whole - 1), r.unit)
        }
    };
    let Some((first, last)) = bits else { return -1 };
    // Search for set bits in the bytes (inverted when looking for a clear one).
    let found = (first / 8..=last / 8).find_map(|b| {
        let byte = usize::try_from(b).ok().and_then(|i| s.get(i)).copied().unwrap_or(0);
        let x = if bit { byte } else { !byte } & edge_mask(b, first, last);
        (x != 0).then(|| b * 8 + u64::from(x.leading_zeros()))
    });
    let end_given = range.is_some_and(|r| r.end.is_some());
    match found {
        Some(p) => i64::try_from(p).unwrap_or(-1),
        // No clear bit up to the string's end: the zero padding past it.
        None if !bit && !end_given => i64::try_from(last + 1).unwrap_or(-1),
        None => -1,
    }
}

/// A bit offset argument: an integer in `0..2^32`.
fn offset_arg(arg: &[u8]) -> DbResult<u64> {
    parse_i64(arg).and_then(|n| u64::try_from(n).ok()).filter(|&n| n < MAX_BITS).ok_or(DbError::BitOffset)
}

/// `BYTE` or `BIT`.
fn unit_arg(arg: &[u8]) -> DbResult<BitUnit> {
    if is(arg, "BYTE") {
        Ok(BitUnit::Byte)
    } else if is(arg, "BIT") {
        Ok(BitUnit::Bit)
    } else {
        Err(DbError::Syntax)
    }
}

/// `SETBIT key offset value`
fn cmd_setbit(db: &Db, a: &[&[u8]]) -> Reply {
    let value = || match parse_i64(a[3]) {
        Some(0) => Ok(false),
        Some(1) => Ok(true),
        _ => Err(DbError::BitValue),
    };
    offset_arg(a[2]).and_then(|offset| db.setbit(a[1], offset, value()?)).into()
}

/// `GETBIT key offset`
fn cmd_getbit(db: &Db, a: &[&[u8]]) -> Reply {
    offset_arg(a[2]).and_then(|offset| db.getbit(a[1], offset)).into()
}

/// `BITCOUNT key [start end [BYTE | BIT]]`
fn cmd_bitcount(db: &Db, a: &[&[u8]]) -> Reply {
    let range = match a.len() {
        2 => Ok(None),
        4 | 5 => (|| {
            let (start, end) = (int(a[2])?, int(a[3])?);
            let unit = a.get(4).map_or(Ok(BitUnit::Byte), |u| unit_arg(u))?;
            Ok(Some(BitRange { start, end, unit }))
        })(),
        _ => Err(DbError::Syntax),
    };
    range.and_then(|r| db.bitcount(a[1], r)).map(|n| Reply::Integer(i64::try_from(n).unwrap_or(i64::MAX))).into()
}

/// `BITPOS key bit [start [end [BYTE | BIT]]]`
fn cmd_bitpos(db: &Db, a: &[&[u8]]) -> Reply {
    let parsed = (|| {
        let bit = match int(a[2])? {
            0 => false,
            1 => true,
            _ => return Err(DbError::Invalid("The bit argument must be 1 or 0.")),
        };
        let range = match a.len() {
            3 => None,
            4..=6 => {
                let start = int(a[3])?;
                let unit = a.get(5).map_or(Ok(BitUnit::Byte), |u| unit_arg(u))?;
                let end = a.get(4).map(|e| int(e)).transpose()?;
                Some(BitPosRange { start, end, unit })
            }
            _ => return Err(DbError::Syntax),
        };
        Ok((bit, range))
    })();
    parsed.and_then(|(bit, range)| db.bitpos(a[1], bit, range)).into()
}

#[cfg(test)]
mod tests;
