//! The HyperLogLog sketch, stored in Redis's format so values look, merge
//! and count like Redis's (a value copied from Redis works here, and the
//! other way round).
//!
//! Layout (multi-byte fields little-endian):
//!
//! ```text
//! "HYLL" | encoding: 0 dense, 1 sparse | 3 unused bytes | cached cardinality: u64,
//!                                                         top bit set = stale
//! dense:  16384 registers of 6 bits, packed from each byte's low bits (12288 bytes)
//! sparse: run-length opcodes covering the 16384 registers in order:
//!         ZERO  00xxxxxx           xxxxxx+1 zero registers (1..=64)
//!         XZERO 01xxxxxx yyyyyyyy  xxxxxxyyyyyyyy+1 zero registers (1..=16384)
//!         VAL   1vvvvvxx           xx+1 registers (1..=4) of value vvvvv+1 (1..=32)
//! ```
//!
//! A sketch starts sparse and turns dense for good once a register exceeds
//! 32 or the sparse form would pass 3000 bytes (Redis's
//! `hll-sparse-max-bytes`).
//!
//! Each element is hashed with MurmurHash64A (seed `0xadc83b19`, as Redis):
//! the low 14 bits pick a register, and one plus the number of trailing
//! zeros of the other 50 bits is the value that register must reach. The
//! cardinality comes from Ertl's improved estimator (O. Ertl, "New
//! cardinality estimation algorithms for HyperLogLog sketches", 2017), the
//! one Redis uses; its standard error is 1.04 / sqrt(16384), about 0.81%.

use crate::db::{DbError, DbResult};

/// Bits of the hash that pick a register.
const P: u32 = 14;
/// Number of registers.
pub(super) const REGISTERS: usize = 1 << P;
/// Bits of the hash left to count zeros in.
const Q: u32 = 64 - P;
/// Header: magic, encoding, 3 unused bytes, cached cardinality.
const HEADER_LEN: usize = 16;
/// Length of a dense sketch: the header and 16384 six-bit registers.
const DENSE_LEN: usize = HEADER_LEN + REGISTERS * 6 / 8;
/// Longest sparse sketch before it turns dense (`hll-sparse-max-bytes`).
const SPARSE_MAX_LEN: usize = 3000;
/// Largest register value a sparse VAL opcode holds.
const SPARSE_VAL_MAX: u8 = 32;
const MAGIC: &[u8; 4] = b"HYLL";
const DENSE: u8 = 0;
const SPARSE: u8 = 1;
/// The top bit of the cached cardinality's last byte marks it stale.
const STALE: u8 = 0x80;
/// MurmurHash64A seed Redis uses for HyperLogLog elements.
const SEED: u64 = 0xadc8_3b19;
/// Ertl's alpha for m → ∞: 1 / (2 ln 2).
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// The registers of one sketch, one byte each.
pub(super) type Registers = [u8; REGISTERS];

/// How a sketch stores its registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Encoding {
    /// 6 bits per register.
    Dense,
    /// Run-length opcodes.
    Sparse,
}

/// The encoding of a string holding a sketch, checked as Redis checks it
/// (magic, known encoding, exact dense length): `NotHll` otherwise.
pub(super) fn encoding(bytes: &[u8]) -> DbResult<Encoding> {
    if bytes.len() < HEADER_LEN || !bytes.starts_with(MAGIC) {
        return Err(DbError::NotHll);
    }
    match bytes[4] {
        DENSE if bytes.len() == DENSE_LEN => Ok(Encoding::Dense),
        SPARSE => Ok(Encoding::Sparse),
        _ => Err(DbError::NotHll),
    }
}

/// Zeroed registers.
pub(super) fn zeroed() -> Box<Registers> {
    Box::new([0; REGISTERS])
}

/// The register `element` maps to and the value it asks of it.
pub(super) fn hash(element: &[u8]) -> (usize, u8) {
    let h = murmur64a(element, SEED);
    let index = (h & (REGISTERS as u64 - 1)) as usize;
    // A sentinel bit bounds the count to Q + 1.
    let rest = (h >> P) | (1 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// Raises register `index` to `value` in `regs`; whether it changed.
pub(super) fn raise(regs: &mut Registers, (index, value): (usize, u8)) -> bool {
    match regs.get_mut(index) {
        Some(r) if *r < value => {
            *r = value;
            true
        }
        _ => false,
    }
}

/// Adds `element` to a dense sketch in place; whether a register changed.
pub(super) fn dense_add(bytes: &mut [u8], element: &[u8]) -> bool {
    let (index, value) = hash(element);
    let Some(regs) = bytes.get_mut(HEADER_LEN..) else { return false };
    if dense_get(regs, index) >= value {
        return false;
    }
    dense_set(regs, index, value);
    true
}

/// Raises `into` to the registers of the sketch `bytes` (of encoding
/// `enc`): `CorruptHll` if its sparse opcodes do not cover exactly the
/// 16384 registers.
pub(super) fn merge_into(into: &mut Registers, bytes: &[u8], enc: Encoding) -> DbResult<()> {
    for_each_run(bytes, enc, |first, len, value| {
        if value > 0 {
            into.iter_mut().skip(first).take(len).for_each(|r| *r = (*r).max(value));
        }
    })
}

/// The sketch's registers.
pub(super) fn decode(bytes: &[u8], enc: Encoding) -> DbResult<Box<Registers>> {
    let mut regs = zeroed();
    merge_into(&mut regs, bytes, enc)?;
    Ok(regs)
}

/// A sketch of `regs` with a stale cached cardinality: sparse if
/// `sparse_ok` and the registers fit, dense otherwise. Re-encoding sketch
/// `old` keeps its header's other bytes (the stale estimate included), as
/// Redis's in-place updates do.
pub(super) fn encode(regs: &Registers, sparse_ok: bool, old: Option<&[u8]>) -> Vec<u8> {
    let mut s = match sparse_ok.then(|| encode_sparse(regs)).flatten() {
        Some(s) => s,
        None => {
            let mut s = header(DENSE);
            s.resize(DENSE_LEN, 0);
            if let Some(body) = s.get_mut(HEADER_LEN..) {
                for (i, &r) in regs.iter().enumerate() {
                    dense_set(body, i, r);
                }
            }
            s
        }
    };
    if let (Some(kept), Some(dst)) = (old.and_then(|o| o.get(5..HEADER_LEN)), s.get_mut(5..HEADER_LEN)) {
        dst.copy_from_slice(kept);
    }
    invalidate(&mut s);
    s
}

fn encode_sparse(regs: &Registers) -> Option<Vec<u8>> {
    let mut s = header(SPARSE);
    let mut rest = &regs[..];
    while let Some(&value) = rest.first() {
        let run = rest.iter().take_while(|&&r| r == value).count();
        if value == 0 {
            push_zeros(&mut s, run);
        } else if value > SPARSE_VAL_MAX {
            return None;
        } else {
            for chunk in (0..run).step_by(4) {
                let len = (run - chunk).min(4) as u8;
                s.push(0x80 | (value - 1) << 2 | (len - 1));
            }
        }
        if s.len() > SPARSE_MAX_LEN {
            return None;
        }
        rest = &rest[run..];
    }
    Some(s)
}

/// Appends opcodes for `n` zero registers.
fn push_zeros(s: &mut Vec<u8>, mut n: usize) {
    while n > 64 {
        let len = n.min(REGISTERS) - 1;
        s.extend_from_slice(&[0x40 | (len >> 8) as u8, len as u8]);
        n -= len + 1;
    }
    if n > 0 {
        s.push((n - 1) as u8);
    }
}

/// A header with a valid cached cardinality of 0.
fn header(encoding: u8) -> Vec<u8> {
    let mut s = Vec::with_capacity(HEADER_LEN + 2);
    s.extend_from_slice(MAGIC);
    s.extend_from_slice(&[encoding, 0, 0, 0]);
    s.extend_from_slice(&[0; 8]);
    s
}

/// The cached cardinality, if not stale.
pub(super) fn cached(bytes: &[u8]) -> Option<u64> {
    let card: [u8; 8] = bytes.get(8..HEADER_LEN)?.try_into().ok()?;
    (card[7] & STALE == 0).then(|| u64::from_le_bytes(card))
}

/// Caches `n` as the cardinality.
pub(super) fn set_cached(bytes: &mut [u8], n: u64) {
    if let Some(card) = bytes.get_mut(8..HEADER_LEN) {
        card.copy_from_slice(&n.to_le_bytes());
    }
}

/// Marks the cached cardinality stale.
pub(super) fn invalidate(bytes: &mut [u8]) {
    if let Some(b) = bytes.get_mut(HEADER_LEN - 1) {
        *b |= STALE;
    }
}

/// The estimated cardinality of the sketch `bytes`.
pub(super) fn count_of(bytes: &[u8], enc: Encoding) -> DbResult<u64> {
    let mut histogram = [0u32; 64];
    for_each_run(bytes, enc, |_, len, value| {
        if let Some(h) = histogram.get_mut(usize::from(value)) {
            *h += len as u32;
        }
    })?;
    Ok(estimate(&histogram))
}

/// The estimated cardinality of `regs`.
pub(super) fn count(regs: &Registers) -> u64 {
    let mut histogram = [0u32; 64];
    for &r in regs {
        if let Some(h) = histogram.get_mut(usize::from(r)) {
            *h += 1;
        }
    }
    estimate(&histogram)
}

/// Ertl's improved raw estimator over the histogram of register values.
fn estimate(histogram: &[u32; 64]) -> u64 {
    let m = REGISTERS as f64;
    let q = Q as usize;
    let mut z = m * tau((m - f64::from(histogram[q + 1])) / m);
    for &h in histogram[1..=q].iter().rev() {
        z += f64::from(h);
        z *= 0.5;
    }
    z += m * sigma(f64::from(histogram[0]) / m);
    // All registers zero: z is infinite and the estimate 0.
    (ALPHA_INF * m * m / z).round() as u64
}

/// Ertl's σ(x) = x + Σ_{k≥1} x^(2^k) 2^(k-1), summed until it settles.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if z == before {
            return z;
        }
    }
}

/// Ertl's τ(x) = (1 - x - Σ_{k≥1} (1 - x^(2^-k))² 2^-k) / 3.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if z == before {
            return z / 3.0;
        }
    }
}

/// Calls `f(first, len, value)` for runs of registers covering all of them
/// in order: `CorruptHll` if sparse opcodes overrun or fall short.
fn for_each_run(bytes: &[u8], enc: Encoding, mut f: impl FnMut(usize, usize, u8)) -> DbResult<()> {
    let body = bytes.get(HEADER_LEN..).unwrap_or_default();
    if enc == Encoding::Dense {
        (0..REGISTERS).for_each(|i| f(i, 1, dense_get(body, i)));
        return Ok(());
    }
    let (mut i, mut p) = (0, 0);
    while let Some(&op) = body.get(p) {
        let (len, value, size) = match op >> 6 {
            0 => (usize::from(op & 0x3f) + 1, 0, 1),
            1 => {
                let low = *body.get(p + 1).ok_or(DbError::CorruptHll)?;
                ((usize::from(op & 0x3f) << 8 | usize::from(low)) + 1, 0, 2)
            }
            _ => (usize::from(op & 3) + 1, (op >> 2 & 0x1f) + 1, 1),
        };
        if i + len > REGISTERS {
            return Err(DbError::CorruptHll);
        }
        f(i, len, value);
        i += len;
        p += size;
    }
    if i == REGISTERS { Ok(()) } else { Err(DbError::CorruptHll) }
}

/// Register `i` of dense registers (6 bits from bit `6 i`, low bits first).
fn dense_get(regs: &[u8], i: usize) -> u8 {
    let (byte, shift) = (i * 6 / 8, i * 6 % 8);
    let lo = u16::from(regs.get(byte).copied().unwrap_or(0));
    let hi = u16::from(regs.get(byte + 1).copied().unwrap_or(0));
    ((lo | hi << 8) >> shift & 63) as u8
}

/// Sets register `i` of dense registers to `value` (< 64).
fn dense_set(regs: &mut [u8], i: usize, value: u8) {
    let (byte, shift) = (i * 6 / 8, i * 6 % 8);
    let lo = u16::from(regs.get(byte).copied().unwrap_or(0));
    let hi = u16::from(regs.get(byte + 1).copied().unwrap_or(0));
    let word = (lo | hi << 8) & !(63 << shift) | u16::from(value & 63) << shift;
    let [w0, w1] = word.to_le_bytes();
    if let Some(b) = regs.get_mut(byte) {
        *b = w0;
    }
    if let Some(b) = regs.get_mut(byte + 1) {
        *b = w1;
    }
}

/// MurmurHash64A (Austin Appleby), reading 8-byte blocks little-endian as
/// Redis does on every platform.
pub(super) fn murmur64a(data: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (data.len() as u64).wrapping_mul(M);
    let blocks = data.chunks_exact(8);
    let tail = blocks.remainder();
    for block in blocks {
        let mut k = u64::from_le_bytes(block.try_into().unwrap_or([0; 8]));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}
