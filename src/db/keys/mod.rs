//! Generic key commands: DEL, UNLINK, EXISTS, TYPE, RENAME, RENAMENX, COPY,
//! TOUCH, DBSIZE, FLUSHDB, the connection-independent PING, ECHO and
//! SELECT; the EXPIRE family and TTLs ([`expire`]); KEYS, SCAN and
//! RANDOMKEY ([`scan`]); OBJECT ([`object`]).
//!
//! Each command is a typed method on [`Db`] plus a parser (`cmd_*`) that
//! reads Redis-style arguments and calls it. Commands that only look
//! (EXISTS, TYPE, TTL, OBJECT, …) do not count as an access, as Redis's
//! `LOOKUP_NOTOUCH`; TOUCH does.
//!
//! A `Db` is one database, 0: SELECT 0 and COPY … DB 0 work, any other
//! index is out of range. Between keyspaces (the server's numbered
//! databases), [`Db::move_to`] and [`Db::copy_to`] ([`across`]) move and copy
//! keys.

// `pub(super)` so that `db` can re-export the option types:
// `pub use keys::{CopyOptions, expire::{ExpireCondition, KeyTtl}, scan::ScanOptions};`
mod across;
pub(super) mod expire;
mod object;
pub(super) mod scan;
#[cfg(test)]
mod tests;

use super::args::{self, is};
use super::command::{Command, DENYOOM, WRITE};
use super::keyspace::{Deadline, Stored};
use super::notify::EventClass;
use super::{Db, DbError, DbResult, Reply, Value};
use crate::engine::slab::NEVER;

pub(super) const COMMANDS: &[Command] = &[
    Command { name: "del", arity: -2, flags: WRITE, run: cmd_del, stream: None },
    Command { name: "unlink", arity: -2, flags: WRITE, run: cmd_del, stream: None },
    Command { name: "exists", arity: -2, flags: 0, run: cmd_exists, stream: None },
    Command { name: "type", arity: 2, flags: 0, run: cmd_type, stream: None },
    Command { name: "rename", arity: 3, flags: WRITE, run: cmd_rename, stream: None },
    Command { name: "renamenx", arity: 3, flags: WRITE, run: cmd_renamenx, stream: None },
    Command { name: "copy", arity: -3, flags: WRITE | DENYOOM, run: cmd_copy, stream: None },
    Command { name: "touch", arity: -2, flags: 0, run: cmd_touch, stream: None },
    Command { name: "dbsize", arity: 1, flags: 0, run: cmd_dbsize, stream: None },
    Command { name: "flushdb", arity: -1, flags: WRITE, run: cmd_flushdb, stream: None },
    // One database: FLUSHALL is FLUSHDB.
    Command { name: "flushall", arity: -1, flags: WRITE, run: cmd_flushdb, stream: None },
    Command { name: "ping", arity: -1, flags: 0, run: cmd_ping, stream: None },
    Command { name: "echo", arity: 2, flags: 0, run: cmd_echo, stream: None },
    Command { name: "select", arity: 2, flags: 0, run: cmd_select, stream: None },
    Command { name: "expire", arity: -3, flags: WRITE, run: expire::cmd_expire, stream: None },
    Command { name: "pexpire", arity: -3, flags: WRITE, run: expire::cmd_pexpire, stream: None },
    Command { name: "expireat", arity: -3, flags: WRITE, run: expire::cmd_expireat, stream: None },
    Command { name: "pexpireat", arity: -3, flags: WRITE, run: expire::cmd_pexpireat, stream: None },
    Command { name: "ttl", arity: 2, flags: 0, run: expire::cmd_ttl, stream: None },
    Command { name: "pttl", arity: 2, flags: 0, run: expire::cmd_pttl, stream: None },
    Command { name: "expiretime", arity: 2, flags: 0, run: expire::cmd_expiretime, stream: None },
    Command { name: "pexpiretime", arity: 2, flags: 0, run: expire::cmd_pexpiretime, stream: None },
    Command { name: "persist", arity: 2, flags: WRITE, run: expire::cmd_persist, stream: None },
    Command { name: "keys", arity: 2, flags: 0, run: scan::cmd_keys, stream: None },
    Command { name: "scan", arity: -2, flags: 0, run: scan::cmd_scan, stream: None },
    Command { name: "randomkey", arity: 1, flags: 0, run: scan::cmd_randomkey, stream: None },
    Command { name: "object", arity: -2, flags: 0, run: object::cmd_object, stream: None },
];

/// Redis's reply to an index other than 0 (SELECT, COPY … DB).
const DB_OUT_OF_RANGE: DbError = DbError::OutOfRange("DB index is out of range");

/// The options of COPY.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyOptions {
    /// `DB destination-db`: only 0 exists; any other index is refused with
    /// Redis's "DB index is out of range".
    pub db: i64,
    /// `REPLACE`: overwrite the destination if it exists.
    pub replace: bool,
}

/// Checks a database index: only 0 exists.
fn check_db(index: i64) -> DbResult<()> {
    if index == 0 { Ok(()) } else { Err(DB_OUT_OF_RANGE) }
}

/// Whether moving `value` to a key may serve clients blocked on it.
fn wakes_poppers(value: &Value) -> bool {
    matches!(value, Value::List(_) | Value::ZSet(_))
}

impl Db {
    /// Runs `f` on the live entry of `key` (the stored value, its deadline,
    /// its LFU counter and the engine time of the lookup, exact when the key
    /// has a deadline) under the shard's read lock, without counting an
    /// access: Redis's `LOOKUP_NOTOUCH`.
    fn peek<R>(&self, key: &[u8], f: impl FnOnce(&Stored, Deadline, u8, u64) -> R) -> Option<R> {
        self.inner.engine.read(key, false, |i, e, shard, now| {
            let d = shard.deadline_of(i, e);
            f(&e.value, (d != NEVER).then_some(d), e.freq(), now)
        })
    }

    /// DEL: removes `keys`, returning how many existed.
    pub fn del(&self, keys: &[&[u8]]) -> usize {
        self.tx(keys, |tx| {
            let mut n = 0;
            for &key in keys {
                if tx.take(key).is_some() {
                    tx.event(EventClass::Generic, "del", key);
                    n += 1;
                }
            }
            n
        })
    }

    /// UNLINK: as [`Db::del`] (values are freed at once here).
    pub fn unlink(&self, keys: &[&[u8]]) -> usize {
        self.del(keys)
    }

    /// EXISTS: how many of `keys` exist, a key named twice counting twice.
    /// Does not count as an access. One key is looked up under its shard's
    /// read lock; several are looked up at one instant, under their shards'
    /// locks together.
    pub fn exists(&self, keys: &[&[u8]]) -> usize {
        match keys {
            [key] => usize::from(self.peek(key, |_, _, _, _| ()).is_some()),
            _ => self.tx(keys, |tx| keys.iter().filter(|k| tx.exists(k)).count()),
        }
    }

    /// TYPE: the type name of `key`'s value (`string`, `list`, `hash`,
    /// `set`, `zset`), `None` when absent (TYPE replies `none`). Does not
    /// count as an access.
    pub fn key_type(&self, key: &[u8]) -> Option<&'static str> {
        self.peek(key, |s, _, _, _| s.value.type_name())
    }

    /// RENAME: moves `src`'s value and time to live to `dst`, replacing
    /// whatever `dst` held. Fails with "no such key" when `src` is absent.
    pub fn rename(&self, src: &[u8], dst: &[u8]) -> DbResult<()> {
        self.move_key(src, dst, false).map(|_| ())
    }

    /// RENAMENX: as [`Db::rename`] but only when `dst` does not exist;
    /// returns whether the key was moved.
    pub fn renamenx(&self, src: &[u8], dst: &[u8]) -> DbResult<bool> {
        self.move_key(src, dst, true)
    }

    fn move_key(&self, src: &[u8], dst: &[u8], nx: bool) -> DbResult<bool> {
        self.tx(&[src, dst], |tx| {
            if !tx.exists(src) {
                return Err(DbError::NoSuchKey);
            }
            if src == dst {
                // Redis: nothing to do, RENAME says OK and RENAMENX 0.
                return Ok(!nx);
            }
            if nx && tx.exists(dst) {
                return Ok(false);
            }
            let (value, deadline) = tx.take(src).ok_or(DbError::NoSuchKey)?;
            let wakes = wakes_poppers(&value);
            tx.put(dst, value, deadline);
            tx.event(EventClass::Generic, "rename_from", src);
            tx.event(EventClass::Generic, "rename_to", dst);
            if wakes {
                tx.signal_ready(dst);
            }
            Ok(true)
        })
    }

    /// COPY: copies `src`'s value and time to live to `dst`; returns
    /// whether it copied (not when `src` is absent, nor when `dst` exists
    /// without `replace`).
    pub fn copy(&self, src: &[u8], dst: &[u8], opts: CopyOptions) -> DbResult<bool> {
        check_db(opts.db)?;
        if src == dst {
            return Err(DbError::SameObject);
        }
        self.tx_grow(&[src, dst], |tx| {
            if !tx.exists(src) || (!opts.replace && tx.exists(dst)) {
                return Ok(false);
            }
            let Some((value, deadline)) = tx.read(src, |v, d| (v.clone(), d)) else { return Ok(false) };
            let wakes = wakes_poppers(&value);
            tx.put(dst, value, deadline);
            tx.event(EventClass::Generic, "copy_to", dst);
            if wakes {
                tx.signal_ready(dst);
            }
            Ok(true)
        })
    }

    /// TOUCH: how many of `keys` exist (a key named twice counting twice),
    /// counting an access to each (for LRU/LFU and OBJECT IDLETIME). Each
    /// key is looked up on its own, as EXISTS.
    pub fn touch(&self, keys: &[&[u8]]) -> usize {
        let now = self.now();
        // The engine's counted lookup records the access for the policy; the
        // idle clock is set here, as the engine reads the time only for keys
        // with a deadline.
        keys.iter().filter(|k| self.inner.engine.read(**k, true, |_, e, _, _| e.value.touch(now)).is_some()).count()
    }

    /// DBSIZE: the number of keys. As in Redis, keys that expired but were
    /// not reclaimed yet still count (call [`Db::run_pending_tasks`] first
    /// for an exact count).
    pub fn dbsize(&self) -> usize {
        usize::try_from(self.inner.engine.len()).unwrap_or(usize::MAX)
    }

    /// The number of keys with an expiry (INFO keyspace's `expires`),
    /// counting keys already expired but not yet reclaimed.
    pub fn expires_count(&self) -> usize {
        let mut n = 0;
        self.inner.engine.for_each_shard(|s| n += s.wheel.active());
        n
    }

    /// FLUSHDB: removes every key, atomically (all shards locked). `ASYNC`
    /// and `SYNC` behave alike: values are freed before the call returns.
    /// No keyspace event is published, as in Redis.
    pub fn flushdb(&self) {
        let mut tx = super::keyspace::Tx::all(&self.inner);
        tx.clear();
        tx.finish();
    }

    /// SELECT: only database 0 exists.
    pub fn select(&self, index: i64) -> DbResult<()> {
        check_db(index)
    }
}

/// Up to 128 bytes of `arg` for an error text, with line breaks blanked as
/// Redis does.
pub(super) fn clip(arg: &[u8]) -> String {
    let s = String::from_utf8_lossy(&arg[..arg.len().min(128)]).into_owned();
    s.replace(['\r', '\n'], " ")
}

/// Finds the subcommand `a[1]` of `command` (capitals, e.g. `OBJECT`) among
/// `subs` (lowercase name, Redis arity counting command and subcommand) and
/// checks its arity, with the replies of Redis's command table.
pub(super) fn subcommand(a: &[&[u8]], command: &'static str, subs: &[(&'static str, i32)]) -> DbResult<&'static str> {
    let given = a.get(1).copied().unwrap_or_default();
    let Some(&(name, arity)) = subs.iter().find(|(n, _)| is(given, n)) else {
        return Err(DbError::UnknownSubcommand { name: clip(given), command });
    };
    let n = i64::try_from(a.len()).unwrap_or(i64::MAX);
    let ok = if arity >= 0 { n == i64::from(arity) } else { n >= -i64::from(arity) };
    if !ok {
        return Err(DbError::WrongArity(format!("{}|{name}", command.to_ascii_lowercase())));
    }
    Ok(name)
}

/// The reply to `<COMMAND> HELP`: `header`, the subcommands' `lines`, then
/// the HELP entry, as status lines.
pub(super) fn help(header: &'static str, lines: &[&'static str]) -> Reply {
    let all = std::iter::once(header).chain(lines.iter().copied()).chain(["HELP", "    Print this help."]);
    Reply::Array(all.map(Reply::Simple).collect())
}

fn cmd_del(db: &Db, a: &[&[u8]]) -> Reply {
    Reply::count(db.del(&a[1..]))
}

fn cmd_exists(db: &Db, a: &[&[u8]]) -> Reply {
    Reply::count(db.exists(&a[1..]))
}

fn cmd_type(db: &Db, a: &[&[u8]]) -> Reply {
    Reply::Simple(db.key_type(a[1]).unwrap_or("none"))
}

fn cmd_rename(db: &Db, a: &[&[u8]]) -> Reply {
    db.rename(a[1], a[2]).into()
}

fn cmd_renamenx(db: &Db, a: &[&[u8]]) -> Reply {
    db.renamenx(a[1], a[2]).into()
}

/// ```text
/// COPY source destination [DB destination-db] [REPLACE]
/// ```
fn cmd_copy(db: &Db, a: &[&[u8]]) -> Reply {
    let mut opts = CopyOptions::default();
    let mut i = 3;
    while i < a.len() {
        if is(a[i], "REPLACE") {
            opts.replace = true;
        } else if is(a[i], "DB")
            && let Some(n) = a.get(i + 1)
        {
            // An int, as Redis's getIntFromObjectOrReply, checked at once.
            let n = match args::int(n).and_then(|n| i32::try_from(n).map_err(|_| DbError::NotInteger)) {
                Ok(n) => i64::from(n),
                Err(e) => return e.into(),
            };
            if let Err(e) = check_db(n) {
                return e.into();
            }
            opts.db = n;
            i += 1;
        } else {
            return DbError::Syntax.into();
        }
        i += 1;
    }
    db.copy(a[1], a[2], opts).into()
}

fn cmd_touch(db: &Db, a: &[&[u8]]) -> Reply {
    Reply::count(db.touch(&a[1..]))
}

fn cmd_dbsize(db: &Db, _: &[&[u8]]) -> Reply {
    Reply::count(db.dbsize())
}

/// ```text
/// FLUSHDB [ASYNC | SYNC]
/// FLUSHALL [ASYNC | SYNC]
/// ```
fn cmd_flushdb(db: &Db, a: &[&[u8]]) -> Reply {
    match a {
        [_] => {}
        [_, mode] if is(mode, "ASYNC") || is(mode, "SYNC") => {}
        _ => return DbError::Syntax.into(),
    }
    db.flushdb();
    Reply::OK
}

/// ```text
/// PING [message]
/// ```
fn cmd_ping(_: &Db, a: &[&[u8]]) -> Reply {
    match a {
        [_] => Reply::Simple("PONG"),
        [_, msg] => Reply::bulk(msg),
        _ => DbError::WrongArity("ping".into()).into(),
    }
}

fn cmd_echo(_: &Db, a: &[&[u8]]) -> Reply {
    Reply::bulk(a[1])
}

fn cmd_select(db: &Db, a: &[&[u8]]) -> Reply {
    // An int, as Redis's getIntFromObjectOrReply with its own message.
    match args::parse_i64(a[1]).filter(|n| i32::try_from(*n).is_ok()) {
        Some(n) => db.select(n).into(),
        None => DbError::Invalid("invalid DB index").into(),
    }
}
