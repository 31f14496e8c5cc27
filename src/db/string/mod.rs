//! Strings: SET and its options, the GET variants, MGET/MSET, counters,
//! ranges.
//!
//! Each command is a typed method on [`Db`] plus a parser (`cmd_*`) that
//! reads Redis-style arguments and calls it. The parts:
//!
//! - `access`: GET, SET (NX/XX/GET/KEEPTTL/EX/PX/EXAT/PXAT), SETNX, SETEX,
//!   PSETEX, GETSET, GETDEL, GETEX, MGET, MSET, MSETNX;
//! - `edit`: APPEND, STRLEN, GETRANGE (and SUBSTR), SETRANGE;
//! - `counter`: INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT.
//!
//! TTLs follow Redis: commands that replace the value (SET, GETSET, MSET,
//! SETEX, …) clear the key's TTL unless told otherwise (KEEPTTL); commands
//! that edit it (APPEND, SETRANGE, INCR*, SETBIT, PFADD) keep it; GETEX
//! changes it only when given an option.
//!
//! Bitmaps (`bitmap`) and HyperLogLogs (`hll`) are strings too and share the
//! helpers at the end of this file.

mod access;
mod counter;
mod edit;
mod long_double;
#[cfg(test)]
pub(crate) mod tests;

pub(crate) use counter::parse_long_double;
pub(crate) use long_double::{LongDouble, Number};

use super::args::{self, is};
use super::command::{Command, DENYOOM, WRITE};
use super::keyspace::Tx;
use super::{DbError, DbResult, Value};

pub(super) const COMMANDS: &[Command] = &[
    Command { name: "get", arity: 2, flags: 0, run: access::cmd_get, stream: None },
    Command { name: "set", arity: -3, flags: WRITE | DENYOOM, run: access::cmd_set, stream: None },
    Command { name: "setnx", arity: 3, flags: WRITE | DENYOOM, run: access::cmd_setnx, stream: None },
    Command { name: "setex", arity: 4, flags: WRITE | DENYOOM, run: access::cmd_setex, stream: None },
    Command { name: "psetex", arity: 4, flags: WRITE | DENYOOM, run: access::cmd_psetex, stream: None },
    Command { name: "getset", arity: 3, flags: WRITE | DENYOOM, run: access::cmd_getset, stream: None },
    Command { name: "getdel", arity: 2, flags: WRITE, run: access::cmd_getdel, stream: None },
    Command { name: "getex", arity: -2, flags: WRITE, run: access::cmd_getex, stream: None },
    Command { name: "mget", arity: -2, flags: 0, run: access::cmd_mget, stream: None },
    Command { name: "mset", arity: -3, flags: WRITE | DENYOOM, run: access::cmd_mset, stream: None },
    Command { name: "msetnx", arity: -3, flags: WRITE | DENYOOM, run: access::cmd_msetnx, stream: None },
    Command { name: "append", arity: 3, flags: WRITE | DENYOOM, run: edit::cmd_append, stream: None },
    Command { name: "strlen", arity: 2, flags: 0, run: edit::cmd_strlen, stream: None },
    Command { name: "getrange", arity: 4, flags: 0, run: edit::cmd_getrange, stream: None },
    Command { name: "substr", arity: 4, flags: 0, run: edit::cmd_getrange, stream: None },
    Command { name: "setrange", arity: 4, flags: WRITE | DENYOOM, run: edit::cmd_setrange, stream: None },
    Command { name: "incr", arity: 2, flags: WRITE | DENYOOM, run: counter::cmd_incr, stream: None },
    Command { name: "decr", arity: 2, flags: WRITE | DENYOOM, run: counter::cmd_decr, stream: None },
    Command { name: "incrby", arity: 3, flags: WRITE | DENYOOM, run: counter::cmd_incrby, stream: None },
    Command { name: "decrby", arity: 3, flags: WRITE | DENYOOM, run: counter::cmd_decrby, stream: None },
    Command { name: "incrbyfloat", arity: 3, flags: WRITE | DENYOOM, run: counter::cmd_incrbyfloat, stream: None },
];

/// The largest string a command may build, in bytes: Redis's default
/// `proto-max-bulk-len` (512 MB).
pub(crate) const MAX_STRING_LEN: u64 = 512 * 1024 * 1024;

/// When a key set by SET or GETEX expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiration {
    /// `EX seconds`: this many seconds from now.
    Seconds(i64),
    /// `PX milliseconds`: this many milliseconds from now.
    Millis(i64),
    /// `EXAT timestamp`: at this unix time, in seconds.
    UnixSeconds(i64),
    /// `PXAT timestamp`: at this unix time, in milliseconds.
    UnixMillis(i64),
}

/// The keyword of an [`Expiration`] (`EX`, `PX`, `EXAT`, `PXAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExpireKind {
    Ex,
    Px,
    ExAt,
    PxAt,
}

impl ExpireKind {
    fn of(kw: &[u8]) -> Option<ExpireKind> {
        [("EX", ExpireKind::Ex), ("PX", ExpireKind::Px), ("EXAT", ExpireKind::ExAt), ("PXAT", ExpireKind::PxAt)]
            .into_iter()
            .find_map(|(name, kind)| is(kw, name).then_some(kind))
    }

    fn make(self, n: i64) -> Expiration {
        match self {
            ExpireKind::Ex => Expiration::Seconds(n),
            ExpireKind::Px => Expiration::Millis(n),
            ExpireKind::ExAt => Expiration::UnixSeconds(n),
            ExpireKind::PxAt => Expiration::UnixMillis(n),
        }
    }
}

impl Expiration {
    /// The deadline in engine milliseconds, checked as Redis checks SET's
    /// (positive, no overflow once converted to milliseconds).
    pub(crate) fn deadline(self, tx: &Tx<'_>, command: &'static str) -> DbResult<u64> {
        let bad = || DbError::InvalidExpire(command);
        let (n, scale, absolute) = match self {
            Expiration::Seconds(n) => (n, 1000, false),
            Expiration::Millis(n) => (n, 1, false),
            Expiration::UnixSeconds(n) => (n, 1000, true),
            Expiration::UnixMillis(n) => (n, 1, true),
        };
        if n <= 0 {
            return Err(bad());
        }
        let ms = n.checked_mul(scale).ok_or_else(bad)?;
        if absolute {
            Ok(tx.db().engine_ms(ms))
        } else {
            tx.db().unix_ms(tx.now()).checked_add(ms).ok_or_else(bad)?;
            Ok(tx.now().saturating_add(ms.unsigned_abs()))
        }
    }
}

/// SET's condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetCondition {
    /// `NX`: only if the key does not exist.
    IfAbsent,
    /// `XX`: only if the key exists.
    IfPresent,
}

/// The options of SET.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SetOptions {
    /// `EX`/`PX`/`EXAT`/`PXAT`.
    pub expiration: Option<Expiration>,
    /// `NX`/`XX`.
    pub condition: Option<SetCondition>,
    /// `KEEPTTL`: keep the key's time to live (otherwise SET clears it).
    /// Cannot be combined with `expiration` (syntax error, as in Redis).
    pub keep_ttl: bool,
    /// `GET`: return the old value (the key must hold a string or nothing).
    pub get: bool,
}

/// What SET did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetOutcome {
    /// Whether the value was stored (false when NX/XX said no).
    pub stored: bool,
    /// With `GET`: the old value.
    pub old: Option<Vec<u8>>,
}

/// What GETEX does to the key's time to live besides returning its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetExOption {
    /// `EX`/`PX`/`EXAT`/`PXAT`: set a new deadline (a unix time already
    /// past deletes the key, as Redis does).
    Expire(Expiration),
    /// `PERSIST`: remove the time to live.
    Persist,
}

/// The options of SET and GETEX as Redis's `parseExtendedStringArguments`
/// reads them: keywords in any order and case, `NX`/`XX` exclusive, one
/// kind of expiration (repeating the same kind keeps the last value),
/// `KEEPTTL` and `PERSIST` exclusive with any expiration.
#[derive(Debug, Default)]
struct Extended<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keep_ttl: bool,
    persist: bool,
    /// The expiration's kind and its still unparsed number: Redis parses
    /// it after the keywords (a syntax error wins over a bad number).
    expire: Option<(ExpireKind, &'a [u8])>,
}

impl<'a> Extended<'a> {
    /// Parses `args` (the options after the key, or after key and value)
    /// for SET (`for_set`) or GETEX.
    fn parse(args: &[&'a [u8]], for_set: bool) -> DbResult<Extended<'a>> {
        let mut o = Extended::default();
        let mut i = 0;
        while let Some(&kw) = args.get(i) {
            let kind = ExpireKind::of(kw);
            if for_set && is(kw, "NX") && !o.xx {
                o.nx = true;
            } else if for_set && is(kw, "XX") && !o.nx {
                o.xx = true;
            } else if for_set && is(kw, "GET") {
                o.get = true;
            } else if for_set && is(kw, "KEEPTTL") && o.expire.is_none() {
                o.keep_ttl = true;
            } else if !for_set && is(kw, "PERSIST") && o.expire.is_none() {
                o.persist = true;
            } else if let Some(kind) = kind
                && let Some(&n) = args.get(i + 1)
                && !o.keep_ttl
                && !o.persist
                && o.expire.is_none_or(|(k, _)| k == kind)
            {
                o.expire = Some((kind, n));
                i += 1;
            } else {
                return Err(DbError::Syntax);
            }
            i += 1;
        }
        Ok(o)
    }

    /// The expiration, its number parsed (`ERR value is not an integer`).
    fn expiration(&self) -> DbResult<Option<Expiration>> {
        self.expire.map(|(kind, n)| args::int(n).map(|n| kind.make(n))).transpose()
    }
}

/// The string in `slot`: `None` if the key is absent, WRONGTYPE if it
/// holds another type.
pub(crate) fn as_string(slot: &Option<Value>) -> DbResult<Option<&Vec<u8>>> {
    match slot {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(DbError::WrongType),
    }
}

/// Like [`as_string`], mutable.
pub(crate) fn as_string_mut(slot: &mut Option<Value>) -> DbResult<Option<&mut Vec<u8>>> {
    match slot {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(DbError::WrongType),
    }
}

/// The string in `slot`, created empty (with room for `capacity` bytes)
/// if the key is absent. Check everything that may fail first: the key
/// is created as soon as this returns.
pub(crate) fn string_or_new(slot: &mut Option<Value>, capacity: usize) -> DbResult<&mut Vec<u8>> {
    match slot.get_or_insert_with(|| Value::String(Vec::with_capacity(capacity))) {
        Value::String(s) => Ok(s),
        _ => Err(DbError::WrongType),
    }
}

/// The bytes of a live value that must be a string.
pub(crate) fn string_of(v: &Value) -> DbResult<&[u8]> {
    match v {
        Value::String(s) => Ok(s),
        _ => Err(DbError::WrongType),
    }
}

/// Redis's `checkStringLength`: a string of `len` bytes growing by `more`
/// must stay within [`MAX_STRING_LEN`].
pub(crate) fn check_len(len: u64, more: u64) -> DbResult<()> {
    match len.checked_add(more) {
        Some(total) if total <= MAX_STRING_LEN => Ok(()),
        _ => Err(DbError::StringTooLong),
    }
}

/// Redis's normalisation of an inclusive `start..=end` range over `total`
/// items (GETRANGE, BITCOUNT, BITPOS): negative indexes count from the end,
/// then both ends are clamped into the sequence; `None` when empty.
pub(crate) fn clamp_range(start: i64, end: i64, total: i64) -> Option<(i64, i64)> {
    let norm = |i: i64| if i < 0 { i.saturating_add(total) } else { i }.max(0);
    let (start, end) = (norm(start), norm(end).min(total - 1));
    (start <= end).then_some((start, end))
}

/// A length or offset as `usize` (every length checked by [`check_len`]
/// fits).
pub(crate) fn to_usize(n: u64) -> DbResult<usize> {
    usize::try_from(n).map_err(|_| DbError::StringTooLong)
}
