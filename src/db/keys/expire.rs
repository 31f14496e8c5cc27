//! Time to live: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (with NX, XX, GT,
//! LT), TTL, PTTL, EXPIRETIME, PEXPIRETIME and PERSIST.
//!
//! Deadlines are kept in engine milliseconds and shown as unix time through
//! the `Db`'s origin (`Shared::unix_ms` / `Shared::engine_ms`), so an
//! absolute deadline reads back exactly as it was set.

use super::super::args::{self, is};
use super::super::notify::EventClass;
use super::super::string::Expiration;
use super::super::{Db, DbError, DbResult, Reply};
use crate::db::persist::effects::Detail;

/// When the EXPIRE family may set a key's deadline (Redis 7 options; a key
/// without a time to live counts as expiring never, i.e. at infinity).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ExpireCondition {
    /// No option: always.
    #[default]
    Always,
    /// `NX`: only if the key has no time to live.
    Nx,
    /// `XX`: only if the key has a time to live.
    Xx,
    /// `GT` (and `XX GT`, the same): only if the new deadline is later than
    /// the current one; never for a key without a time to live.
    Gt,
    /// `LT`: only if the new deadline is earlier than the current one;
    /// always for a key without a time to live.
    Lt,
    /// `XX LT`: only if the key has a time to live and the new deadline is
    /// earlier.
    XxLt,
}

impl ExpireCondition {
    /// Whether a deadline `new` may replace `current` (unix ms, `None`: no
    /// time to live).
    fn allows(self, current: Option<i64>, new: i64) -> bool {
        match self {
            ExpireCondition::Always => true,
            ExpireCondition::Nx => current.is_none(),
            ExpireCondition::Xx => current.is_some(),
            ExpireCondition::Gt => current.is_some_and(|c| new > c),
            ExpireCondition::Lt => current.is_none_or(|c| new < c),
            ExpireCondition::XxLt => current.is_some_and(|c| new < c),
        }
    }

    /// Parses the options after EXPIRE's number, as Redis does: any number
    /// of `NX`/`XX`/`GT`/`LT` in any case, then the incompatible pairs.
    fn parse(opts: &[&[u8]]) -> DbResult<ExpireCondition> {
        let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
        for &o in opts {
            if is(o, "NX") {
                nx = true;
            } else if is(o, "XX") {
                xx = true;
            } else if is(o, "GT") {
                gt = true;
            } else if is(o, "LT") {
                lt = true;
            } else {
                return Err(DbError::UnsupportedOption(String::from_utf8_lossy(o).replace(['\r', '\n'], " ")));
            }
        }
        if nx && (xx || gt || lt) {
            return Err(DbError::Invalid("NX and XX, GT or LT options at the same time are not compatible"));
        }
        if gt && lt {
            return Err(DbError::Invalid("GT and LT options at the same time are not compatible"));
        }
        Ok(match (nx, xx, gt, lt) {
            (true, ..) => ExpireCondition::Nx,
            (_, _, true, _) => ExpireCondition::Gt,
            (_, true, _, true) => ExpireCondition::XxLt,
            (_, _, _, true) => ExpireCondition::Lt,
            (_, true, ..) => ExpireCondition::Xx,
            _ => ExpireCondition::Always,
        })
    }
}

/// What TTL, PTTL, EXPIRETIME and PEXPIRETIME report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyTtl {
    /// The key does not exist (Redis replies -2).
    Missing,
    /// The key has no time to live (Redis replies -1).
    Persistent,
    /// The time left (TTL, PTTL) or the unix time of expiry (EXPIRETIME,
    /// PEXPIRETIME), in the command's unit: seconds rounded to the nearest
    /// as Redis does, or milliseconds.
    Expires(i64),
}

impl From<KeyTtl> for Reply {
    fn from(t: KeyTtl) -> Reply {
        Reply::Integer(match t {
            KeyTtl::Missing => -2,
            KeyTtl::Persistent => -1,
            KeyTtl::Expires(n) => n,
        })
    }
}

/// What EXPIRE did to a key.
enum Outcome {
    Unchanged,
    Set,
    Deleted,
}

impl Db {
    /// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT: gives `key` a deadline,
    /// `when` in seconds or milliseconds, relative or unix time, if
    /// `condition` allows. Returns whether it was set; a deadline not in
    /// the future deletes the key (and counts as set). Zero and negative
    /// numbers are allowed, as in Redis; an overflow fails with "invalid
    /// expire time in '`command`' command".
    pub fn expire(&self, key: &[u8], when: Expiration, condition: ExpireCondition) -> DbResult<bool> {
        let (n, scale, absolute, command) = match when {
            Expiration::Seconds(n) => (n, 1000, false, "expire"),
            Expiration::Millis(n) => (n, 1, false, "pexpire"),
            Expiration::UnixSeconds(n) => (n, 1000, true, "expireat"),
            Expiration::UnixMillis(n) => (n, 1, true, "pexpireat"),
        };
        let ms = n.checked_mul(scale).ok_or(DbError::InvalidExpire(command))?;
        self.tx(&[key], |tx| {
            let db = tx.db();
            let now = db.unix_ms(tx.now());
            let at = if absolute { ms } else { ms.checked_add(now).ok_or(DbError::InvalidExpire(command))? };
            tx.detail(key, || Detail::Deadline);
            let outcome = tx.write(key, |slot, deadline| {
                if slot.is_none() || !condition.allows(deadline.map(|d| db.unix_ms(d)), at) {
                    return Outcome::Unchanged;
                }
                if at <= now {
                    *slot = None;
                    return Outcome::Deleted;
                }
                *deadline = Some(db.engine_ms(at));
                Outcome::Set
            });
            Ok(match outcome {
                Outcome::Unchanged => false,
                Outcome::Set => {
                    tx.event(EventClass::Generic, "expire", key);
                    true
                }
                Outcome::Deleted => {
                    tx.event(EventClass::Generic, "del", key);
                    true
                }
            })
        })
    }

    /// The deadline of `key`, shown as TTL (`absolute` false) or EXPIRETIME
    /// (true), in milliseconds or, rounded to the nearest, seconds.
    fn ttl_of(&self, key: &[u8], millis: bool, absolute: bool) -> KeyTtl {
        let unix = |d| self.inner.unix_ms(d);
        let Some(found) = self.peek(key, |_, deadline, _, now| deadline.map(|d| (d, now))) else {
            return KeyTtl::Missing;
        };
        let Some((deadline, now)) = found else { return KeyTtl::Persistent };
        let ms =
            if absolute { unix(deadline) } else { i64::try_from(deadline.saturating_sub(now)).unwrap_or(i64::MAX) };
        let ms = ms.max(0);
        KeyTtl::Expires(if millis { ms } else { ms.saturating_add(500) / 1000 })
    }

    /// TTL: seconds left, rounded to the nearest. Does not count as an access.
    pub fn ttl(&self, key: &[u8]) -> KeyTtl {
        self.ttl_of(key, false, false)
    }

    /// PTTL: milliseconds left. Does not count as an access.
    pub fn pttl(&self, key: &[u8]) -> KeyTtl {
        self.ttl_of(key, true, false)
    }

    /// EXPIRETIME: the unix time of expiry in seconds, rounded to the nearest.
    pub fn expiretime(&self, key: &[u8]) -> KeyTtl {
        self.ttl_of(key, false, true)
    }

    /// PEXPIRETIME: the unix time of expiry in milliseconds.
    pub fn pexpiretime(&self, key: &[u8]) -> KeyTtl {
        self.ttl_of(key, true, true)
    }

    /// PERSIST: removes `key`'s time to live; returns whether it had one.
    pub fn persist(&self, key: &[u8]) -> bool {
        self.tx(&[key], |tx| {
            tx.detail(key, || Detail::Deadline);
            let cleared = tx.write(key, |slot, deadline| slot.is_some() && deadline.take().is_some());
            if cleared {
                tx.event(EventClass::Generic, "persist", key);
            }
            cleared
        })
    }
}

/// ```text
/// EXPIRE key seconds [NX | XX | GT | LT]
/// PEXPIRE key milliseconds [NX | XX | GT | LT]
/// EXPIREAT key unix-time-seconds [NX | XX | GT | LT]
/// PEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT]
/// ```
///
/// Options are checked before the number, as Redis does.
fn expire_generic(db: &Db, a: &[&[u8]], make: fn(i64) -> Expiration) -> Reply {
    let parsed = ExpireCondition::parse(&a[3..]).and_then(|c| Ok((c, args::int(a[2])?)));
    match parsed {
        Ok((condition, n)) => db.expire(a[1], make(n), condition).into(),
        Err(e) => e.into(),
    }
}

pub(super) fn cmd_expire(db: &Db, a: &[&[u8]]) -> Reply {
    expire_generic(db, a, Expiration::Seconds)
}

pub(super) fn cmd_pexpire(db: &Db, a: &[&[u8]]) -> Reply {
    expire_generic(db, a, Expiration::Millis)
}

pub(super) fn cmd_expireat(db: &Db, a: &[&[u8]]) -> Reply {
    expire_generic(db, a, Expiration::UnixSeconds)
}

pub(super) fn cmd_pexpireat(db: &Db, a: &[&[u8]]) -> Reply {
    expire_generic(db, a, Expiration::UnixMillis)
}

pub(super) fn cmd_ttl(db: &Db, a: &[&[u8]]) -> Reply {
    db.ttl(a[1]).into()
}

pub(super) fn cmd_pttl(db: &Db, a: &[&[u8]]) -> Reply {
    db.pttl(a[1]).into()
}

pub(super) fn cmd_expiretime(db: &Db, a: &[&[u8]]) -> Reply {
    db.expiretime(a[1]).into()
}

pub(super) fn cmd_pexpiretime(db: &Db, a: &[&[u8]]) -> Reply {
    db.pexpiretime(a[1]).into()
}

pub(super) fn cmd_persist(db: &Db, a: &[&[u8]]) -> Reply {
    db.persist(a[1]).into()
}
