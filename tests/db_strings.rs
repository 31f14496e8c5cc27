//! Model-based test of the string family (strings, counters, ranges,
//! bitmaps, HyperLogLog) through `Db::execute`, against a plain reference
//! model with Redis's semantics, under a manual clock so TTLs are checked to
//! the millisecond.
//!
//! - Every key takes the commands that read or replace whole values;
//!   `a`, `b`, `w` also take the ones that edit strings, and `h1`, `h2`,
//!   `c` PFADD and PFMERGE (so `c` mixes strings and sketches). A
//!   HyperLogLog's bytes are not modelled: the model keeps its set of
//!   elements (the test's 16 elements fall in distinct registers, so counts
//!   are exact) and checks that GET answers a sketch.
//! - INCRBYFLOAT's sum is checked to 1e-9 and the model then keeps the
//!   reply's text (Redis sums in 80-bit precision).
//! - Key `w` holds a list when the build has RPUSH, for WRONGTYPE replies.

use embercache::Db;
use embercache::db::Reply;
use embercache::time::ManualClock;
use proptest::prelude::*;
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

const KEYS: [&str; 6] = ["a", "b", "c", "w", "h1", "h2"];
/// Keys that string-editing commands touch (never the sketches' keys).
const STRING_KEYS: [&str; 3] = ["a", "b", "w"];
/// Keys that PFADD/PFMERGE touch (`c` also holds plain strings).
const HLL_KEYS: [&str; 3] = ["h1", "h2", "c"];
const VALUES: [&str; 14] =
    ["", "0", "1", "-5", "10", "007", "-0", " 1", "3.5", "zz", "-", ".", "9223372036854775807", "x"];
const FLOATS: [&str; 9] = ["0.5", "-1.25", "3", "1e2", "abc", "inf", "-0", "2.5e-3", "0.1"];
const NUMBERS: [i64; 8] = [0, 1, -1, 7, -100, 1000, i64::MAX, i64::MIN];

#[derive(Debug, Clone)]
enum Expiry {
    None,
    Ex(u8),
    Px(u16),
    KeepTtl,
    Persist,
}

#[derive(Debug, Clone)]
enum Op {
    Set { key: usize, value: usize, condition: u8, get: bool, ttl: Expiry },
    Get(usize),
    GetDel(usize),
    GetEx(usize, Expiry),
    GetSet(usize, usize),
    MGet(Vec<usize>),
    MSet(Vec<(usize, usize)>, bool),
    SetNx(usize, usize),
    SetEx(usize, u8, usize, bool),
    Append(usize, usize),
    Strlen(usize),
    GetRange(usize, i64, i64),
    SetRange(usize, u8, usize),
    IncrBy(usize, usize, u8),
    IncrByFloat(usize, usize),
    SetBit(usize, u8, bool),
    GetBit(usize, u8),
    BitCount(usize, Option<(i64, i64, bool)>),
    BitPos(usize, bool, Option<(i64, Option<(i64, bool)>)>),
    PfAdd(usize, Vec<u8>),
    PfCount(Vec<usize>),
    PfMerge(usize, Vec<usize>),
    Advance(u16),
}

fn expiry(with_keep: bool) -> impl Strategy<Value = Expiry> {
    prop_oneof![
        3 => Just(Expiry::None),
        1 => (1..4u8).prop_map(Expiry::Ex),
        2 => (1..3000u16).prop_map(Expiry::Px),
        1 => Just(if with_keep { Expiry::KeepTtl } else { Expiry::Persist }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let key = || 0..KEYS.len();
    let skey = || 0..STRING_KEYS.len();
    let hkey = || 0..HLL_KEYS.len();
    let value = || 0..VALUES.len();
    let unit_range = || proptest::option::of((-10..10i64, -10..10i64, any::<bool>()));
    let pos_range = || proptest::option::of((-10..30i64, proptest::option::of((-10..30i64, any::<bool>()))));
    prop_oneof![
        4 => (key(), value(), 0..3u8, any::<bool>(), expiry(true))
            .prop_map(|(key, value, condition, get, ttl)| Op::Set { key, value, condition, get, ttl }),
        3 => key().prop_map(Op::Get),
        1 => key().prop_map(Op::GetDel),
        1 => (key(), expiry(false)).prop_map(|(k, t)| Op::GetEx(k, t)),
        1 => (key(), value()).prop_map(|(k, v)| Op::GetSet(k, v)),
        1 => proptest::collection::vec(key(), 1..4).prop_map(Op::MGet),
        1 => (proptest::collection::vec((key(), value()), 1..4), any::<bool>()).prop_map(|(p, nx)| Op::MSet(p, nx)),
        1 => (key(), value()).prop_map(|(k, v)| Op::SetNx(k, v)),
        1 => (key(), 1..4u8, value(), any::<bool>()).prop_map(|(k, n, v, ms)| Op::SetEx(k, n, v, ms)),
        2 => (skey(), value()).prop_map(|(k, v)| Op::Append(k, v)),
        1 => key().prop_map(Op::Strlen),
        2 => (key(), -12..12i64, -12..12i64).prop_map(|(k, s, e)| Op::GetRange(k, s, e)),
        2 => (skey(), 0..10u8, value()).prop_map(|(k, o, v)| Op::SetRange(k, o, v)),
        3 => (skey(), 0..NUMBERS.len(), 0..4u8).prop_map(|(k, n, how)| Op::IncrBy(k, n, how)),
        2 => (skey(), 0..FLOATS.len()).prop_map(|(k, f)| Op::IncrByFloat(k, f)),
        3 => (skey(), 0..40u8, any::<bool>()).prop_map(|(k, o, b)| Op::SetBit(k, o, b)),
        1 => (key(), 0..48u8).prop_map(|(k, o)| Op::GetBit(k, o)),
        2 => (key(), unit_range()).prop_map(|(k, r)| Op::BitCount(k, r)),
        2 => (key(), any::<bool>(), pos_range()).prop_map(|(k, b, r)| Op::BitPos(k, b, r)),
        3 => (hkey(), proptest::collection::vec(0..16u8, 0..4)).prop_map(|(k, e)| Op::PfAdd(k, e)),
        2 => proptest::collection::vec(hkey(), 1..3).prop_map(Op::PfCount),
        1 => (hkey(), proptest::collection::vec(hkey(), 0..3)).prop_map(|(d, s)| Op::PfMerge(d, s)),
        2 => (0..2500u16).prop_map(Op::Advance),
    ]
}

/// What a reply must be.
#[derive(Debug, Clone)]
enum Expect {
    Exact(Reply),
    /// A HyperLogLog's bytes.
    Sketch,
    /// Anything (an opaque value's reply).
    Any,
    /// A number's text, close to this value.
    Float(f64),
    Array(Vec<Expect>),
}

impl Expect {
    fn matches(&self, got: &Reply) -> bool {
        match (self, got) {
            (Expect::Exact(want), got) => want == got,
            (Expect::Sketch, Reply::Bulk(b)) => b.starts_with(b"HYLL"),
            (Expect::Sketch, _) => false,
            (Expect::Any, _) => true,
            (Expect::Float(want), Reply::Bulk(b)) => {
                float(b).is_some_and(|got| (got - want).abs() <= 1e-9 * want.abs().max(1.0))
            }
            (Expect::Float(_), _) => false,
            (Expect::Array(want), Reply::Array(got)) => {
                want.len() == got.len() && want.iter().zip(got).all(|(w, g)| w.matches(g))
            }
            (Expect::Array(_), _) => false,
        }
    }
}

fn exact(r: Reply) -> Expect {
    Expect::Exact(r)
}

fn error(text: &str) -> Expect {
    exact(Reply::Error(text.into()))
}

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
const NOT_INT: &str = "ERR value is not an integer or out of range";
const NOT_FLOAT: &str = "ERR value is not a valid float";

#[derive(Debug, Clone)]
enum Val {
    Str(Vec<u8>),
    Sketch(BTreeSet<u8>),
    /// A sketch edited as a string: bytes unknown.
    Opaque,
    /// Another type (a list).
    Other,
}

#[derive(Default)]
struct Model {
    map: HashMap<&'static str, (Val, Option<u64>)>,
    now: u64,
    /// A key whose new string is the command's reply (INCRBYFLOAT).
    learn: Option<&'static str>,
}

impl Model {
    fn live(&mut self, key: &'static str) -> Option<&mut (Val, Option<u64>)> {
        let now = self.now;
        if self.map.get(key).is_some_and(|(_, d)| d.is_some_and(|d| d <= now)) {
            self.map.remove(key);
        }
        self.map.get_mut(key)
    }

    fn val(&mut self, key: &'static str) -> Option<Val> {
        self.live(key).map(|(v, _)| v.clone())
    }

    /// GET's reply for a value.
    fn read(v: Option<&Val>) -> Expect {
        match v {
            None => exact(Reply::Null),
            Some(Val::Str(s)) => exact(Reply::Bulk(s.clone())),
            Some(Val::Sketch(_)) => Expect::Sketch,
            Some(Val::Opaque) => Expect::Any,
            Some(Val::Other) => error(WRONGTYPE),
        }
    }

    fn deadline(&self, ttl: &Expiry, old: Option<u64>) -> Option<u64> {
        match ttl {
            Expiry::None | Expiry::Persist => None,
            Expiry::Ex(s) => Some(self.now + u64::from(*s) * 1000),
            Expiry::Px(ms) => Some(self.now + u64::from(*ms)),
            Expiry::KeepTtl => old,
        }
    }

    /// Runs a command that edits a string in place: `f` gets the bytes
    /// (`None`: missing) and returns the reply and the new bytes.
    fn edit(
        &mut self,
        key: &'static str,
        f: impl FnOnce(Option<&[u8]>) -> Result<(Reply, Option<Vec<u8>>), Expect>,
    ) -> Expect {
        let entry = self.live(key).cloned();
        let (bytes, deadline) = match entry {
            Some((Val::Other, _)) => return error(WRONGTYPE),
            Some((Val::Sketch(_) | Val::Opaque, d)) => {
                // The sketch's bytes are not modelled: anything goes, and
                // the value is opaque from now on (unless the command failed,
                // which leaves an opaque value opaque too).
                if let Some(e) = self.map.get_mut(key) {
                    e.0 = Val::Opaque;
                    e.1 = d;
                }
                return Expect::Any;
            }
            Some((Val::Str(s), d)) => (Some(s), d),
            None => (None, None),
        };
        match f(bytes.as_deref()) {
            Ok((reply, new)) => {
                if let Some(new) = new {
                    self.map.insert(key, (Val::Str(new), deadline));
                }
                exact(reply)
            }
            Err(e) => e,
        }
    }

    fn apply(&mut self, op: &Op) -> Expect {
        match op {
            Op::Set { key, value, condition, get, ttl } => {
                let key = KEYS[*key];
                let cur = self.live(key).cloned();
                let old = if *get {
                    if matches!(cur, Some((Val::Other, _))) {
                        return error(WRONGTYPE);
                    }
                    Some(Model::read(cur.as_ref().map(|(v, _)| v)))
                } else {
                    None
                };
                let stored = match condition {
                    1 => cur.is_none(),
                    2 => cur.is_some(),
                    _ => true,
                };
                if stored {
                    let deadline = self.deadline(ttl, cur.and_then(|(_, d)| d));
                    self.map.insert(key, (Val::Str(VALUES[*value].into()), deadline));
                }
                match old {
                    Some(old) => old,
                    None if stored => exact(Reply::OK),
                    None => exact(Reply::Null),
                }
            }
            Op::Get(k) => {
                let v = self.val(KEYS[*k]);
                Model::read(v.as_ref())
            }
            Op::GetDel(k) => {
                let v = self.val(KEYS[*k]);
                if !matches!(v, Some(Val::Other) | None) {
                    self.map.remove(KEYS[*k]);
                }
                Model::read(v.as_ref())
            }
            Op::GetEx(k, ttl) => {
                let (now, key) = (self.now, KEYS[*k]);
                let deadline = self.deadline(ttl, None);
                match self.live(key) {
                    Some((Val::Other, _)) => error(WRONGTYPE),
                    Some((v, d)) => {
                        if !matches!(ttl, Expiry::None) {
                            *d = deadline;
                        }
                        let _ = now;
                        Model::read(Some(v))
                    }
                    None => exact(Reply::Null),
                }
            }
            Op::GetSet(k, v) => {
                let key = KEYS[*k];
                let old = self.val(key);
                if matches!(old, Some(Val::Other)) {
                    return error(WRONGTYPE);
                }
                self.map.insert(key, (Val::Str(VALUES[*v].into()), None));
                Model::read(old.as_ref())
            }
            Op::MGet(keys) => Expect::Array(
                keys.iter()
                    .map(|k| match self.val(KEYS[*k]) {
                        Some(Val::Other) => exact(Reply::Null),
                        v => Model::read(v.as_ref()),
                    })
                    .collect(),
            ),
            Op::MSet(pairs, nx) => {
                if *nx && pairs.iter().any(|(k, _)| self.live(KEYS[*k]).is_some()) {
                    return exact(Reply::Integer(0));
                }
                for (k, v) in pairs {
                    self.map.insert(KEYS[*k], (Val::Str(VALUES[*v].into()), None));
                }
                exact(if *nx { Reply::Integer(1) } else { Reply::OK })
            }
            Op::SetNx(k, v) => {
                let key = KEYS[*k];
                if self.live(key).is_some() {
                    return exact(Reply::Integer(0));
                }
                self.map.insert(key, (Val::Str(VALUES[*v].into()), None));
                exact(Reply::Integer(1))
            }
            Op::SetEx(k, n, v, millis) => {
                let ms = if *millis { u64::from(*n) } else { u64::from(*n) * 1000 };
                self.map.insert(KEYS[*k], (Val::Str(VALUES[*v].into()), Some(self.now + ms)));
                exact(Reply::OK)
            }
            Op::Append(k, v) => self.edit(STRING_KEYS[*k], |s| {
                let mut s = s.unwrap_or_default().to_vec();
                s.extend_from_slice(VALUES[*v].as_bytes());
                Ok((Reply::Integer(s.len() as i64), Some(s)))
            }),
            Op::Strlen(k) => match self.val(KEYS[*k]) {
                None => exact(Reply::Integer(0)),
                Some(Val::Str(s)) => exact(Reply::Integer(s.len() as i64)),
                Some(Val::Other) => error(WRONGTYPE),
                Some(_) => Expect::Any,
            },
            Op::GetRange(k, start, end) => match self.val(KEYS[*k]) {
                None => exact(Reply::Bulk(vec![])),
                Some(Val::Str(s)) => exact(Reply::Bulk(getrange(&s, *start, *end))),
                Some(Val::Other) => error(WRONGTYPE),
                Some(_) => Expect::Any,
            },
            Op::SetRange(k, offset, v) => {
                let (offset, value) = (usize::from(*offset), VALUES[*v].as_bytes());
                self.edit(STRING_KEYS[*k], |s| {
                    if value.is_empty() {
                        return Ok((Reply::Integer(s.map_or(0, |s| s.len() as i64)), None));
                    }
                    let mut s = s.unwrap_or_default().to_vec();
                    if s.len() < offset + value.len() {
                        s.resize(offset + value.len(), 0);
                    }
                    s[offset..offset + value.len()].copy_from_slice(value);
                    Ok((Reply::Integer(s.len() as i64), Some(s)))
                })
            }
            Op::IncrBy(k, n, how) => {
                let n = NUMBERS[*n];
                let (by, name) = match how {
                    0 => (Some(1), "INCR"),
                    1 => (Some(-1), "DECR"),
                    2 => (Some(n), "INCRBY"),
                    _ => (n.checked_neg(), "DECRBY"),
                };
                let _ = name;
                let Some(by) = by else { return error("ERR decrement would overflow") };
                self.edit(STRING_KEYS[*k], |s| {
                    let old = match s {
                        None => 0,
                        Some(s) => string2ll(s).ok_or_else(|| error(NOT_INT))?,
                    };
                    let n = old.checked_add(by).ok_or_else(|| error("ERR increment or decrement would overflow"))?;
                    Ok((Reply::Integer(n), Some(n.to_string().into_bytes())))
                })
            }
            Op::IncrByFloat(k, f) => {
                let key = STRING_KEYS[*k];
                let entry = self.live(key).cloned();
                let Some(by) = float(FLOATS[*f].as_bytes()) else {
                    return match entry {
                        Some((Val::Other, _)) => error(WRONGTYPE),
                        _ => error(NOT_FLOAT),
                    };
                };
                let old = match entry {
                    Some((Val::Other, _)) => return error(WRONGTYPE),
                    // "HYLL…" is no number.
                    Some((Val::Sketch(_), _)) => return error(NOT_FLOAT),
                    Some((Val::Opaque, _)) => return Expect::Any,
                    Some((Val::Str(s), d)) if s.iter().any(|c| c.eq_ignore_ascii_case(&b'x')) => {
                        // Possibly a hexadecimal float: not modelled.
                        self.map.insert(key, (Val::Opaque, d));
                        return Expect::Any;
                    }
                    Some((Val::Str(s), _)) => match float(&s) {
                        Some(f) => f,
                        None => return error(NOT_FLOAT),
                    },
                    None => 0.0,
                };
                let n = old + by;
                if !n.is_finite() {
                    return error("ERR increment would produce NaN or Infinity");
                }
                // Redis sums in 80-bit precision: check the value, then
                // take the stored text from the reply.
                self.learn = Some(key);
                Expect::Float(n)
            }
            Op::SetBit(k, offset, bit) => self.edit(STRING_KEYS[*k], |s| {
                let (byte, mask) = (usize::from(*offset / 8), 0x80u8 >> (offset % 8));
                let mut s = s.unwrap_or_default().to_vec();
                if s.len() <= byte {
                    s.resize(byte + 1, 0);
                }
                let old = s[byte] & mask != 0;
                if *bit {
                    s[byte] |= mask;
                } else {
                    s[byte] &= !mask;
                }
                Ok((Reply::Integer(i64::from(old)), Some(s)))
            }),
            Op::GetBit(k, offset) => match self.val(KEYS[*k]) {
                None => exact(Reply::Integer(0)),
                Some(Val::Str(s)) => {
                    exact(Reply::Integer(i64::from(bits(&s).get(usize::from(*offset)) == Some(&true))))
                }
                Some(Val::Other) => error(WRONGTYPE),
                Some(_) => Expect::Any,
            },
            Op::BitCount(k, range) => match self.val(KEYS[*k]) {
                None => exact(Reply::Integer(0)),
                Some(Val::Str(s)) => exact(Reply::Integer(bitcount(&s, *range))),
                Some(Val::Other) => error(WRONGTYPE),
                Some(_) => Expect::Any,
            },
            Op::BitPos(k, bit, range) => match self.val(KEYS[*k]) {
                None => exact(Reply::Integer(if *bit { -1 } else { 0 })),
                Some(Val::Str(s)) => exact(Reply::Integer(bitpos(&s, *bit, *range))),
                Some(Val::Other) => error(WRONGTYPE),
                Some(_) => Expect::Any,
            },
            Op::PfAdd(k, elements) => {
                let key = HLL_KEYS[*k];
                match self.live(key) {
                    None => {
                        self.map.insert(key, (Val::Sketch(elements.iter().copied().collect()), None));
                        exact(Reply::Integer(1))
                    }
                    Some((Val::Sketch(set), _)) => {
                        let before = set.len();
                        set.extend(elements.iter().copied());
                        exact(Reply::Integer(i64::from(set.len() > before)))
                    }
                    Some((Val::Str(_), _)) => error(NOT_HLL),
                    Some((Val::Other, _)) => error(WRONGTYPE),
                    Some((Val::Opaque, _)) => Expect::Any,
                }
            }
            Op::PfCount(keys) => match self.union(keys.iter().map(|k| HLL_KEYS[*k])) {
                Ok(set) => exact(Reply::Integer(set.len() as i64)),
                Err(e) => e,
            },
            Op::PfMerge(dest, sources) => {
                let dest = HLL_KEYS[*dest];
                match self.union(std::iter::once(dest).chain(sources.iter().map(|k| HLL_KEYS[*k]))) {
                    Ok(set) => {
                        let deadline = self.live(dest).and_then(|(_, d)| *d);
                        self.map.insert(dest, (Val::Sketch(set), deadline));
                        exact(Reply::OK)
                    }
                    Err(Expect::Any) => {
                        let deadline = self.live(dest).and_then(|(_, d)| *d);
                        self.map.insert(dest, (Val::Opaque, deadline));
                        Expect::Any
                    }
                    Err(e) => e,
                }
            }
            Op::Advance(ms) => {
                self.now += u64::from(*ms);
                exact(Reply::OK)
            }
        }
    }

    /// The union of the sketches at `keys`, or the error Redis answers
    /// for the first key that is not one (`Any` for an opaque value).
    fn union(&mut self, keys: impl Iterator<Item = &'static str>) -> Result<BTreeSet<u8>, Expect> {
        let mut union = BTreeSet::new();
        for key in keys {
            match self.val(key) {
                None => {}
                Some(Val::Sketch(set)) => union.extend(set),
                Some(Val::Str(_)) => return Err(error(NOT_HLL)),
                Some(Val::Other) => return Err(error(WRONGTYPE)),
                Some(Val::Opaque) => return Err(Expect::Any),
            }
        }
        Ok(union)
    }
}

/// Redis's `string2ll`.
fn string2ll(s: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(s).ok()?;
    let digits = text.strip_prefix('-').unwrap_or(text);
    let canonical = !digits.is_empty()
        && digits.bytes().all(|c| c.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && text != "-0";
    if canonical { text.parse().ok() } else { None }
}

/// The model's float reader (the test's values have no hexadecimal forms).
fn float(s: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(s).ok()?;
    if text.is_empty() || text.starts_with(|c: char| c.is_ascii_whitespace() || c == '\u{b}') {
        return None;
    }
    let f: f64 = text.parse().ok()?;
    (!f.is_nan()).then_some(f)
}

/// Redis 7's GETRANGE.
fn getrange(s: &[u8], start: i64, end: i64) -> Vec<u8> {
    let len = s.len() as i64;
    if start < 0 && end < 0 && start > end {
        return vec![];
    }
    let start = if start < 0 { (len + start).max(0) } else { start };
    let end = if end < 0 { (len + end).max(0) } else { end }.min(len - 1);
    if start > end || len == 0 { vec![] } else { s[start as usize..=end as usize].to_vec() }
}

fn bits(s: &[u8]) -> Vec<bool> {
    s.iter().flat_map(|b| (0..8).map(move |i| b & (0x80 >> i) != 0)).collect()
}

/// An inclusive index range over `total` items, Redis style.
fn clamp(start: i64, end: i64, total: i64) -> Option<(i64, i64)> {
    let start = if start < 0 { (total + start).max(0) } else { start };
    let end = if end < 0 { (total + end).max(0) } else { end }.min(total - 1);
    (start <= end).then_some((start, end))
}

/// The bit range of a BITCOUNT/BITPOS range.
fn bit_span(len: usize, start: i64, end: i64, bit_unit: bool) -> Option<(usize, usize)> {
    let total = if bit_unit { len as i64 * 8 } else { len as i64 };
    let (s, e) = clamp(start, end, total)?;
    let (s, e) = if bit_unit { (s, e) } else { (s * 8, e * 8 + 7) };
    Some((s as usize, e as usize))
}

fn bitcount(s: &[u8], range: Option<(i64, i64, bool)>) -> i64 {
    let span = match range {
        None => bit_span(s.len(), 0, -1, false),
        Some((start, end, _)) if start < 0 && end < 0 && start > end => None,
        Some((start, end, unit)) => bit_span(s.len(), start, end, unit),
    };
    span.map_or(0, |(a, b)| bits(s)[a..=b].iter().filter(|&&x| x).count() as i64)
}

fn bitpos(s: &[u8], bit: bool, range: Option<(i64, Option<(i64, bool)>)>) -> i64 {
    let (start, end, unit, end_given) = match range {
        None => (0, -1, false, false),
        Some((start, None)) => (start, -1, false, false),
        Some((start, Some((end, unit)))) => (start, end, unit, true),
    };
    let Some((a, b)) = bit_span(s.len(), start, end, unit) else { return -1 };
    match bits(s)[a..=b].iter().position(|&x| x == bit) {
        Some(p) => (a + p) as i64,
        None if !bit && !end_given => b as i64 + 1,
        None => -1,
    }
}

fn unit(bit: bool) -> String {
    if bit { "BIT".into() } else { "byte".into() }
}

/// The command for `op`.
fn command(op: &Op) -> Vec<String> {
    let s = |x: &str| x.to_string();
    let ttl_args = |t: &Expiry| match t {
        Expiry::None => vec![],
        Expiry::Ex(n) => vec![s("EX"), n.to_string()],
        Expiry::Px(n) => vec![s("px"), n.to_string()],
        Expiry::KeepTtl => vec![s("KEEPTTL")],
        Expiry::Persist => vec![s("PERSIST")],
    };
    match op {
        Op::Set { key, value, condition, get, ttl } => {
            let mut c = vec![s("SET"), s(KEYS[*key]), s(VALUES[*value])];
            match condition {
                1 => c.push(s("NX")),
                2 => c.push(s("xx")),
                _ => {}
            }
            if *get {
                c.push(s("GET"));
            }
            c.extend(ttl_args(ttl));
            c
        }
        Op::Get(k) => vec![s("GET"), s(KEYS[*k])],
        Op::GetDel(k) => vec![s("GETDEL"), s(KEYS[*k])],
        Op::GetEx(k, t) => [vec![s("GETEX"), s(KEYS[*k])], ttl_args(t)].concat(),
        Op::GetSet(k, v) => vec![s("GETSET"), s(KEYS[*k]), s(VALUES[*v])],
        Op::MGet(keys) => std::iter::once(s("MGET")).chain(keys.iter().map(|k| s(KEYS[*k]))).collect(),
        Op::MSet(pairs, nx) => std::iter::once(s(if *nx { "MSETNX" } else { "MSET" }))
            .chain(pairs.iter().flat_map(|(k, v)| [s(KEYS[*k]), s(VALUES[*v])]))
            .collect(),
        Op::SetNx(k, v) => vec![s("SETNX"), s(KEYS[*k]), s(VALUES[*v])],
        Op::SetEx(k, n, v, ms) => {
            vec![s(if *ms { "PSETEX" } else { "SETEX" }), s(KEYS[*k]), n.to_string(), s(VALUES[*v])]
        }
        Op::Append(k, v) => vec![s("APPEND"), s(STRING_KEYS[*k]), s(VALUES[*v])],
        Op::Strlen(k) => vec![s("STRLEN"), s(KEYS[*k])],
        Op::GetRange(k, a, b) => vec![s("GETRANGE"), s(KEYS[*k]), a.to_string(), b.to_string()],
        Op::SetRange(k, o, v) => vec![s("SETRANGE"), s(STRING_KEYS[*k]), o.to_string(), s(VALUES[*v])],
        Op::IncrBy(k, n, how) => {
            let key = s(STRING_KEYS[*k]);
            match how {
                0 => vec![s("INCR"), key],
                1 => vec![s("decr"), key],
                2 => vec![s("INCRBY"), key, NUMBERS[*n].to_string()],
                _ => vec![s("DECRBY"), key, NUMBERS[*n].to_string()],
            }
        }
        Op::IncrByFloat(k, f) => vec![s("INCRBYFLOAT"), s(STRING_KEYS[*k]), s(FLOATS[*f])],
        Op::SetBit(k, o, b) => vec![s("SETBIT"), s(STRING_KEYS[*k]), o.to_string(), s(if *b { "1" } else { "0" })],
        Op::GetBit(k, o) => vec![s("GETBIT"), s(KEYS[*k]), o.to_string()],
        Op::BitCount(k, r) => {
            let mut c = vec![s("BITCOUNT"), s(KEYS[*k])];
            if let Some((a, b, u)) = r {
                c.extend([a.to_string(), b.to_string(), unit(*u)]);
            }
            c
        }
        Op::BitPos(k, bit, r) => {
            let mut c = vec![s("BITPOS"), s(KEYS[*k]), s(if *bit { "1" } else { "0" })];
            if let Some((a, end)) = r {
                c.push(a.to_string());
                if let Some((b, u)) = end {
                    c.extend([b.to_string(), unit(*u)]);
                }
            }
            c
        }
        Op::PfAdd(k, elements) => std::iter::once(s("PFADD"))
            .chain(std::iter::once(s(HLL_KEYS[*k])))
            .chain(elements.iter().map(|e| format!("e{e}")))
            .collect(),
        Op::PfCount(keys) => std::iter::once(s("PFCOUNT")).chain(keys.iter().map(|k| s(HLL_KEYS[*k]))).collect(),
        Op::PfMerge(d, sources) => {
            std::iter::once(s("PFMERGE")).chain(std::iter::once(d).chain(sources).map(|k| s(HLL_KEYS[*k]))).collect()
        }
        Op::Advance(_) => vec![],
    }
}

#[test]
fn the_model_s_elements_fall_in_distinct_registers() {
    // The model counts HyperLogLogs exactly: each of its 16 elements must
    // raise a register of its own, and small counts must be exact.
    let db = Db::new();
    for i in 0..16 {
        assert_eq!(db.execute(&["PFADD", "h", &format!("e{i}")]), Reply::Integer(1), "e{i}");
        assert_eq!(db.execute(&["PFCOUNT", "h"]), Reply::Integer(i + 1));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn strings_behave_like_the_model(ops in proptest::collection::vec(op(), 1..60)) {
        let clock = ManualClock::new();
        let db = Db::builder().clock(clock.clone()).shards(4).build().unwrap();
        let mut model = Model::default();
        if db.execute(&["RPUSH", "w", "x"]) == Reply::Integer(1) {
            model.map.insert("w", (Val::Other, None));
        }
        for (i, op) in ops.iter().enumerate() {
            if let Op::Advance(ms) = op {
                clock.advance(Duration::from_millis(u64::from(*ms)));
                model.apply(op);
                continue;
            }
            let cmd = command(op);
            let got = db.execute(&cmd);
            let want = model.apply(op);
            prop_assert!(want.matches(&got), "step {}: {:?}\n got  {:?}\n want {:?}", i, cmd, got, want);
            if let (Some(key), Reply::Bulk(text)) = (model.learn.take(), &got) {
                let deadline = model.live(key).and_then(|(_, d)| *d);
                model.map.insert(key, (Val::Str(text.clone()), deadline));
            }
        }
    }
}
