//! BITFIELD and BITFIELD_RO: signed and unsigned integers of 1 to 64 bits
//! (unsigned: 63) at any bit offset of a string, read, written and
//! incremented with Redis's overflow rules (WRAP, SAT, FAIL).
//!
//! As in Redis, every operation is parsed before any runs; a command with a
//! write grows the string (zero bytes) to its farthest written bit first,
//! even if an operation then fails on overflow.

use super::super::args::{int, is, parse_i64};
use super::super::notify::EventClass;
use super::super::string::{string_of, string_or_new, to_usize};
use super::super::{Db, DbError, DbResult, Reply};
use super::MAX_BITS;

/// What one BITFIELD operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitFieldOp {
    /// `GET`: the field's value.
    Get,
    /// `SET value`: stores `value` (after overflow handling), answers the
    /// previous value.
    Set(i64),
    /// `INCRBY increment`: adds `increment` (with overflow handling),
    /// answers the new value.
    IncrBy(i64),
}

/// `OVERFLOW`: what SET and INCRBY do with a value the field cannot hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BitFieldOverflow {
    /// Wrap around (modular arithmetic); the default.
    #[default]
    Wrap,
    /// Saturate at the type's minimum or maximum.
    Sat,
    /// Do nothing and answer null.
    Fail,
}

/// One BITFIELD operation on a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BitField {
    /// What to do.
    pub op: BitFieldOp,
    /// Signed (`i<bits>`) or unsigned (`u<bits>`).
    pub signed: bool,
    /// Width: 1 to 64 signed, 1 to 63 unsigned.
    pub bits: u32,
    /// Offset of the field's most significant bit, in bits from the
    /// string's first (most significant) bit.
    pub offset: u64,
    /// Overflow handling (SET and INCRBY).
    pub overflow: BitFieldOverflow,
}

const BAD_TYPE: &str = "Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

impl BitField {
    fn is_write(&self) -> bool {
        !matches!(self.op, BitFieldOp::Get)
    }

    fn check(&self) -> DbResult<()> {
        let max = if self.signed { 64 } else { 63 };
        if self.bits == 0 || self.bits > max {
            return Err(DbError::Invalid(BAD_TYPE));
        }
        if self.offset >= MAX_BITS {
            return Err(DbError::BitOffset);
        }
        Ok(())
    }

    /// Runs the operation on `s` (long enough for a write): its reply
    /// (`None`: FAIL on overflow).
    fn apply(&self, s: &mut [u8]) -> Option<i64> {
        let (offset, bits) = (self.offset, self.bits);
        let old = read(s, offset, bits);
        let (new, reply) = match self.op {
            BitFieldOp::Get => return Some(self.value(old)),
            BitFieldOp::Set(v) if self.signed => (self.fit_signed(v, 0)?, self.value(old)),
            BitFieldOp::Set(v) => (self.fit_unsigned(v as u64, 0)?, self.value(old)),
            BitFieldOp::IncrBy(by) => {
                let new = if self.signed { self.fit_signed(self.value(old), by)? } else { self.fit_unsigned(old, by)? };
                (new, self.value(new))
            }
        };
        write(s, offset, bits, new);
        Some(reply)
    }

    /// The field's raw `bits` as the integer they encode.
    fn value(&self, raw: u64) -> i64 {
        if self.signed && self.bits < 64 && raw & (1 << (self.bits - 1)) != 0 {
            (raw | (u64::MAX << self.bits)) as i64
        } else {
            raw as i64
        }
    }

    /// `value + incr` for a signed field (two's complement bits), or `None`
    /// on overflow under FAIL: Redis's `checkSignedBitfieldOverflow`, with
    /// its wrapping arithmetic on out-of-range SET values.
    fn fit_signed(&self, value: i64, incr: i64) -> Option<u64> {
        let bits = self.bits;
        let max: i64 = if bits == 64 { i64::MAX } else { (1 << (bits - 1)) - 1 };
        let min = -max - 1;
        let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
        let min_incr = min.wrapping_sub(value);
        let limit = if value > max || (bits != 64 && incr > max_incr) || (value >= 0 && incr > 0 && incr > max_incr) {
            max
        } else if value < min || (bits != 64 && incr < min_incr) || (value < 0 && incr < 0 && incr < min_incr) {
            min
        } else {
            return Some(value.wrapping_add(incr) as u64);
        };
        match self.overflow {
            BitFieldOverflow::Fail => None,
            BitFieldOverflow::Sat => Some(limit as u64),
            BitFieldOverflow::Wrap => {
                let sum = (value as u64).wrapping_add(incr as u64);
                if bits == 64 {
                    return Some(sum);
                }
                let high = u64::MAX << bits;
                Some(if sum & (1 << (bits - 1)) != 0 { sum | high } else { sum & !high })
            }
        }
    }

    /// `value + incr` for an unsigned field, or `None` on overflow under
    /// FAIL: Redis's `checkUnsignedBitfieldOverflow`.
    fn fit_unsigned(&self, value: u64, incr: i64) -> Option<u64> {
        let max: u64 = (1 << self.bits) - 1;
        let limit = if value > max || (incr > 0 && incr > max.wrapping_sub(value) as i64) {
            max
        } else if incr < 0 && incr < value.wrapping_neg() as i64 {
            0
        } else {
            return Some(value.wrapping_add(incr as u64));
        };
        match self.overflow {
            BitFieldOverflow::Fail => None,
            BitFieldOverflow::Sat => Some(limit),
            BitFieldOverflow::Wrap => Some(value.wrapping_add(incr as u64) & max),
        }
    }
}

/// The `bits` bits at bit `offset` of `s` (zeros past its end), most
/// significant first, as an unsigned number.
fn read(s: &[u8], offset: u64, bits: u32) -> u64 {
    (offset..offset + u64::from(bits)).fold(0, |acc, bit| {
        let byte = usize::try_from(bit / 8).ok().and_then(|b| s.get(b)).copied().unwrap_or(0);
        acc << 1 | u64::from((byte >> (7 - bit % 8)) & 1)
    })
}

/// Writes the low `bits` bits of `value` at bit `offset` of `s`.
fn write(s: &mut [u8], offset: u64, bits: u32, value: u64) {
    for i in 0..bits {
        let bit = offset + u64::from(i);
        let set = (value >> (bits - 1 - i)) & 1 != 0;
        let mask = 0x80u8 >> (bit % 8);
        if let Some(b) = usize::try_from(bit / 8).ok().and_then(|b| s.get_mut(b)) {
            if set {
                *b |= mask;
            } else {
                *b &= !mask;
            }
        }
    }
}

impl Db {
    /// BITFIELD: runs `ops` in order on the string at `key` and answers
    /// one value per operation (`None` where an overflow under FAIL left
    /// the field unchanged). With any SET or INCRBY, the string is created
    /// or grown with zero bytes to the farthest bit written (its time to
    /// live kept); with only GETs nothing is written, and a missing key
    /// reads as zeros. WRONGTYPE if the key holds another type.
    pub fn bitfield(&self, key: &[u8], ops: &[BitField]) -> DbResult<Vec<Option<i64>>> {
        for op in ops {
            op.check()?;
        }
        let Some(end) = ops.iter().filter(|o| o.is_write()).map(|o| o.offset + u64::from(o.bits)).max() else {
            // Only reads.
            let out = self.read(key, |v| {
                string_of(v).map(|s| ops.iter().map(|op| Some(op.value(read(s, op.offset, op.bits)))).collect())
            });
            return Ok(out.transpose()?.unwrap_or_else(|| ops.iter().map(|_| Some(0)).collect()));
        };
        let len = to_usize(end.div_ceil(8))?;
        self.tx_grow(&[key], |tx| {
            let out = tx.write(key, |slot, _| -> DbResult<Vec<Option<i64>>> {
                let s = string_or_new(slot, len)?;
                if s.len() < len {
                    s.resize(len, 0);
                }
                Ok(ops.iter().map(|op| op.apply(s)).collect())
            })?;
            tx.event(EventClass::String, "setbit", key);
            Ok(out)
        })
    }
}

/// Parses BITFIELD's operations (`a` from the first one on); `read_only`:
/// BITFIELD_RO, which takes GETs only.
fn parse(a: &[&[u8]], read_only: bool) -> DbResult<Vec<BitField>> {
    let mut ops = Vec::new();
    let mut overflow = BitFieldOverflow::Wrap;
    let mut i = 0;
    while i < a.len() {
        let more = a.len() - i - 1;
        let op = a[i];
        let kind = if is(op, "GET") && more >= 2 {
            None
        } else if (is(op, "SET") || is(op, "INCRBY")) && more >= 3 {
            Some(is(op, "SET"))
        } else if is(op, "OVERFLOW") && more >= 1 {
            overflow = if is(a[i + 1], "WRAP") {
                BitFieldOverflow::Wrap
            } else if is(a[i + 1], "SAT") {
                BitFieldOverflow::Sat
            } else if is(a[i + 1], "FAIL") {
                BitFieldOverflow::Fail
            } else {
                return Err(DbError::Invalid("Invalid OVERFLOW type specified"));
            };
            i += 2;
            continue;
        } else {
            return Err(DbError::Syntax);
        };
        let (signed, bits) = field_type(a[i + 1])?;
        let offset = field_offset(a[i + 2], bits)?;
        let op = match kind {
            None => BitFieldOp::Get,
            Some(true) => BitFieldOp::Set(int(a[i + 3])?),
            Some(false) => BitFieldOp::IncrBy(int(a[i + 3])?),
        };
        ops.push(BitField { op, signed, bits, offset, overflow });
        i += if kind.is_none() { 3 } else { 4 };
    }
    if read_only && ops.iter().any(BitField::is_write) {
        return Err(DbError::Invalid("BITFIELD_RO only supports the GET subcommand"));
    }
    Ok(ops)
}

/// `i<bits>` or `u<bits>` (lowercase, as Redis reads it).
fn field_type(arg: &[u8]) -> DbResult<(bool, u32)> {
    let bad = DbError::Invalid(BAD_TYPE);
    let (signed, digits) = match arg {
        [b'i', rest @ ..] => (true, rest),
        [b'u', rest @ ..] => (false, rest),
        _ => return Err(bad),
    };
    let bits = parse_i64(digits).ok_or(bad.clone())?;
    match u32::try_from(bits) {
        Ok(b @ 1..=64) if signed || b <= 63 => Ok((signed, b)),
        _ => Err(bad),
    }
}

/// A bit offset, or `#n` for the `n`th field of this width.
fn field_offset(arg: &[u8], bits: u32) -> DbResult<u64> {
    let (hash, digits) = match arg {
        [b'#', rest @ ..] => (true, rest),
        _ => (false, arg),
    };
    let n = parse_i64(digits).ok_or(DbError::BitOffset)?;
    let n = if hash { n.checked_mul(i64::from(bits)).ok_or(DbError::BitOffset)? } else { n };
    u64::try_from(n).ok().filter(|&n| n < MAX_BITS).ok_or(DbError::BitOffset)
}

fn reply(values: Vec<Option<i64>>) -> Reply {
    Reply::Array(values.into_iter().map(|v| v.map_or(Reply::Null, Reply::Integer)).collect())
}

/// `BITFIELD key [GET type offset | SET type offset value | INCRBY type offset increment | OVERFLOW WRAP|SAT|FAIL] ...`
pub(super) fn cmd_bitfield(db: &Db, a: &[&[u8]]) -> Reply {
    parse(&a[2..], false).and_then(|ops| db.bitfield(a[1], &ops)).map(reply).into()
}

/// `BITFIELD_RO key [GET type offset ...]`
pub(super) fn cmd_bitfield_ro(db: &Db, a: &[&[u8]]) -> Reply {
    parse(&a[2..], true).and_then(|ops| db.bitfield(a[1], &ops)).map(reply).into()
}
