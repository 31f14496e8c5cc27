//! Strings: SET and its options, GET and its variants, counters, ranges.
//!
//! Each command is a typed method on [`Db`] plus a parser (`cmd_*`) that
//! reads Redis-style arguments and calls it.

use super::args::{self, is};
use super::command::{Command, DENYOOM, WRITE};
use super::keyspace::{Deadline, Tx};
use super::notify::EventClass;
use super::{Db, DbError, DbResult, Reply, Value};

pub(super) const COMMANDS: &[Command] = &[
    Command { name: "get", arity: 2, flags: 0, run: cmd_get },
    Command { name: "set", arity: -3, flags: WRITE | DENYOOM, run: cmd_set },
];

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

impl Expiration {
    /// The deadline in engine milliseconds, checked as Redis checks SET's
    /// (positive, no overflow once converted to milliseconds).
    pub(crate) fn deadline(self, tx: &Tx<'_>, command: &'static str) -> DbResult<u64> {
        let bad = DbError::InvalidExpire(command);
        let (n, scale, absolute) = match self {
            Expiration::Seconds(n) => (n, 1000, false),
            Expiration::Millis(n) => (n, 1, false),
            Expiration::UnixSeconds(n) => (n, 1000, true),
            Expiration::UnixMillis(n) => (n, 1, true),
        };
        if n <= 0 {
            return Err(bad);
        }
        let ms = n.checked_mul(scale).ok_or(bad.clone())?;
        if absolute {
            Ok(tx.db().engine_ms(ms))
        } else {
            let now = i64::try_from(tx.db().unix_ms(tx.now())).unwrap_or(i64::MAX);
            now.checked_add(ms).ok_or(bad)?;
            Ok(tx.now().saturating_add(ms.unsigned_abs()))
        }
    }

    /// Parses `EX n`, `PX n`, `EXAT n` or `PXAT n` at `args[0..2]`.
    pub(crate) fn parse(kw: &[u8], n: &[u8]) -> Option<DbResult<Expiration>> {
        let make: fn(i64) -> Expiration = if is(kw, "EX") {
            Expiration::Seconds
        } else if is(kw, "PX") {
            Expiration::Millis
        } else if is(kw, "EXAT") {
            Expiration::UnixSeconds
        } else if is(kw, "PXAT") {
            Expiration::UnixMillis
        } else {
            return None;
        };
        Some(args::int(n).map(make))
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

impl Db {
    /// GET: the string at `key`.
    pub fn get(&self, key: &[u8]) -> DbResult<Option<Vec<u8>>> {
        self.read(key, |v| match v {
            Value::String(s) => Ok(s.clone()),
            _ => Err(DbError::WrongType),
        })
        .transpose()
    }

    /// SET with options (see [`SetOptions`]).
    pub fn set(&self, key: &[u8], value: &[u8], opts: SetOptions) -> DbResult<SetOutcome> {
        self.tx(&[key], |tx| {
            let deadline = opts.expiration.map(|e| e.deadline(tx, "set")).transpose()?;
            let out = tx.write(key, |slot, ttl: &mut Deadline| {
                let old = match slot {
                    Some(Value::String(s)) if opts.get => Some(s.clone()),
                    Some(Value::String(_)) | None => None,
                    Some(_) if opts.get => return Err(DbError::WrongType),
                    Some(_) => None,
                };
                let go = match opts.condition {
                    Some(SetCondition::IfAbsent) => slot.is_none(),
                    Some(SetCondition::IfPresent) => slot.is_some(),
                    None => true,
                };
                if go {
                    *slot = Some(Value::String(value.to_vec()));
                    if !opts.keep_ttl {
                        *ttl = deadline;
                    }
                }
                Ok(SetOutcome { stored: go, old })
            })?;
            if out.stored {
                tx.event(EventClass::String, "set", key);
            }
            Ok(out)
        })
    }
}

fn cmd_get(db: &Db, a: &[&[u8]]) -> Reply {
    db.get(a[1]).into()
}

fn cmd_set(db: &Db, a: &[&[u8]]) -> Reply {
    let mut opts = SetOptions::default();
    let mut i = 3;
    while i < a.len() {
        let kw = a[i];
        if is(kw, "NX") && opts.condition.is_none() {
            opts.condition = Some(SetCondition::IfAbsent);
        } else if is(kw, "XX") && opts.condition.is_none() {
            opts.condition = Some(SetCondition::IfPresent);
        } else if is(kw, "GET") {
            opts.get = true;
        } else if is(kw, "KEEPTTL") && opts.expiration.is_none() {
            opts.keep_ttl = true;
        } else if let Some(next) = a.get(i + 1)
            && !opts.keep_ttl
            && opts.expiration.is_none()
            && let Some(e) = Expiration::parse(kw, next)
        {
            match e {
                Ok(e) => opts.expiration = Some(e),
                Err(e) => return e.into(),
            }
            i += 1;
        } else {
            return DbError::Syntax.into();
        }
        i += 1;
    }
    match db.set(a[1], a[2], opts) {
        Err(e) => e.into(),
        Ok(out) if opts.get => Reply::from(out.old),
        Ok(out) if out.stored => Reply::OK,
        Ok(_) => Reply::Null,
    }
}
