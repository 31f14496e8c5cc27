//! The text protocol: retrieval (`get`, `gets`, `gat`, `gats`), storage
//! (`set`, `add`, `replace`, `append`, `prepend`, `cas`), `incr`, `decr`,
//! `delete`, `touch`, `flush_all`, `verbosity` and `stats`, with
//! memcached's replies, errors and `noreply` rules (a command that took
//! `noreply` sends nothing back, not even an error).
//!
//! ```text
//! get|gets <key>+
//! gat|gats <exptime> <key>+
//! set|add|replace|append|prepend <key> <flags> <exptime> <bytes> [noreply]
//! cas <key> <flags> <exptime> <bytes> <cas unique> [noreply]
//! incr|decr <key> <value> [noreply]
//! delete <key> [0] [noreply]
//! touch <key> <exptime> [noreply]
//! flush_all [delay] [noreply]
//! verbosity <level> [noreply]
//! stats [reset|settings|items|slabs|sizes|conns]
//! ```

use super::auth::As;
use super::parse::{Block, Tokens, data_block, next_line, parse_flags, parse_i64, parse_len, parse_u64, valid_key};
use super::replies;
use super::session::{Session, Step};
use super::stats::Stat;
use crate::db::DbError;
use crate::db::item::{Arith, ArithOutcome, Delete, DeleteOutcome, Exptime, Fetch, Store, StoreMode, StoreOutcome};
use std::io::Write as _;
use std::sync::atomic::Ordering;

/// Appends `reply` unless the command took `noreply`.
fn say(out: &mut Vec<u8>, noreply: bool, reply: &[u8]) {
    if !noreply {
        out.extend_from_slice(reply);
    }
}

/// Whether the last of `t` is `noreply`, for a command of `n` tokens that
/// may end with it.
fn noreply_at(t: &Tokens<'_>, n: usize) -> bool {
    t.len() == n && t.last().is_some_and(|l| *l == b"noreply")
}

/// The prelude `incr`, `decr` and `touch` share (`<cmd> <key> <arg>
/// [noreply]`): checks the arity (`ERROR`) and the key (`CLIENT_ERROR bad
/// command line format`, unless noreply). `Some((key, arg, noreply))` to go
/// on; `None` when the reply is already in `out`.
fn key_and_arg<'t>(t: &Tokens<'t>, out: &mut Vec<u8>) -> Option<(&'t [u8], &'t [u8], bool)> {
    if !(3..=4).contains(&t.len()) {
        out.extend_from_slice(replies::ERROR);
        return None;
    }
    let noreply = noreply_at(t, 4);
    let key = t.get(1).copied().unwrap_or_default();
    if !valid_key(key) {
        say(out, noreply, replies::BAD_FORMAT);
        return None;
    }
    Some((key, t.get(2).copied().unwrap_or_default(), noreply))
}

/// Calls `each` on the keys the first line of `input` reads, if it is a
/// whole `get`, `gets` or `mg` line: what a pump warms before it answers
/// (see `server::pump`).
pub(super) fn get_keys<'a>(input: &'a [u8], mut each: impl FnMut(&'a [u8])) {
    let keys = if input.starts_with(b"get ") || input.starts_with(b"gets ") {
        usize::MAX
    } else if input.starts_with(b"mg ") {
        1
    } else {
        return;
    };
    let Some((line, _)) = next_line(input) else { return };
    line.split(|&b| b == b' ').filter(|t| !t.is_empty()).skip(1).take(keys).for_each(&mut each);
}

/// The reply to a failed write.
pub(super) fn error_reply(e: &DbError) -> &'static [u8] {
    match e {
        DbError::WrongType => replies::WRONGTYPE,
        DbError::OutOfMemory => replies::OUT_OF_MEMORY,
        _ => replies::SERVER_ERROR,
    }
}

impl Session {
    /// `get`, `gets` (`cas`), `gat`, `gats` (`touch`).
    pub(super) fn retrieve(&mut self, t: &Tokens<'_>, touch: bool, cas: bool, out: &mut Vec<u8>) -> Step {
        let first_key = if touch { 2 } else { 1 };
        if t.len() < 2 {
            out.extend_from_slice(replies::ERROR);
            return Step::Done(0);
        }
        let exptime = if touch {
            match t.get(1).and_then(|e| parse_i64(e)) {
                Some(e) => Some(Exptime::from_secs(e)),
                None => {
                    out.extend_from_slice(replies::INVALID_EXPTIME);
                    return Step::Done(0);
                }
            }
        } else {
            None
        };
        let keys = t.get(first_key..).unwrap_or_default();
        if !keys.iter().all(|k| valid_key(k)) {
            out.extend_from_slice(replies::BAD_FORMAT);
            return Step::Done(0);
        }
        if let Err(refused) = self.permit(if touch { As::GetEx } else { As::Get }, keys, false, out) {
            return refused.step(0);
        }
        let fetch = Fetch { touch: exptime, cas, bump: true, ..Fetch::default() };
        // Their misses overlap rather than follow one another.
        self.db.item_warm(keys);
        for &key in keys {
            let hit = self
                .db
                .item_fetch(key, fetch, |item| {
                    // The header's numbers take at most 50 bytes: one growth at most.
                    out.reserve(key.len() + item.value.len() + 64);
                    out.extend_from_slice(b"VALUE ");
                    out.extend_from_slice(key);
                    replies::number(out, b" ", item.flags);
                    replies::number(out, b" ", item.value.len());
                    if cas {
                        replies::number(out, b" ", item.cas);
                    }
                    out.extend_from_slice(b"\r\n");
                    out.extend_from_slice(item.value);
                    out.extend_from_slice(b"\r\n");
                })
                .is_some();
            if touch {
                self.count(Stat::cmd_touch, 1);
                self.count(if hit { Stat::touch_hits } else { Stat::touch_misses }, 1);
            } else {
                self.count(Stat::cmd_get, 1);
                self.count(if hit { Stat::get_hits } else { Stat::get_misses }, 1);
            }
        }
        out.extend_from_slice(replies::END);
        Step::Done(0)
    }

    /// The storage commands (`cas` when `is_cas`).
    pub(super) fn store(
        &mut self,
        t: &Tokens<'_>,
        rest: &[u8],
        mode: StoreMode,
        is_cas: bool,
        out: &mut Vec<u8>,
    ) -> Step {
        let max_tokens = if is_cas { 7 } else { 6 };
        if t.len() < max_tokens - 1 || t.len() > max_tokens {
            out.extend_from_slice(replies::ERROR);
            return Step::Done(0);
        }
        let noreply = noreply_at(t, max_tokens);
        let arg = |i: usize| t.get(i).copied().unwrap_or_default();
        let key = arg(1);
        let cas = if is_cas { parse_u64(arg(5)).map(Some) } else { Some(None) };
        let (Some(flags), Some(exptime), Some(len), Some(cas), true) =
            (parse_flags(arg(2)), parse_i64(arg(3)), parse_len(arg(4)), cas, valid_key(key))
        else {
            say(out, noreply, replies::BAD_FORMAT);
            return Step::Done(0);
        };
        if let Err(refused) = self.permit(As::Set, &[key], noreply, out) {
            return refused.step(len + 2);
        }
        let max_size = self.shared.max_item_size;
        if key.len().saturating_add(len) > max_size {
            self.count(Stat::store_too_large, 1);
            say(out, noreply, replies::TOO_LARGE);
            if mode == StoreMode::Set && !is_cas {
                // As memcached: a failed set does not leave the old value.
                let _ = self.db.item_delete(key, &Delete::default());
            }
            return Step::Swallow(len + 2);
        }
        let data = match data_block(rest, len) {
            Block::Incomplete => return Step::More,
            Block::BadChunk => {
                say(out, noreply, replies::BAD_CHUNK);
                return Step::Done(len + 2);
            }
            Block::Data(data) => data,
        };
        let store =
            Store { mode, value: data, flags, exptime: Exptime::from_secs(exptime), cas, invalidate: false, max_size };
        let outcome = self.db.item_store(key, &store);
        self.count(Stat::cmd_set, 1);
        let reply: &[u8] = match outcome {
            Ok(StoreOutcome::Stored { .. }) => {
                self.count(Stat::total_items, 1);
                if is_cas {
                    self.count(Stat::cas_hits, 1);
                }
                b"STORED\r\n"
            }
            Ok(StoreOutcome::NotStored) => b"NOT_STORED\r\n",
            Ok(StoreOutcome::Exists) => {
                self.count(Stat::cas_badval, 1);
                b"EXISTS\r\n"
            }
            Ok(StoreOutcome::NotFound) => {
                self.count(Stat::cas_misses, 1);
                b"NOT_FOUND\r\n"
            }
            Err(e) => self.write_error(&e),
        };
        say(out, noreply, reply);
        Step::Done(len + 2)
    }

    /// Counts a failed write and picks its reply.
    pub(super) fn write_error(&mut self, e: &DbError) -> &'static [u8] {
        if matches!(e, DbError::OutOfMemory) {
            self.count(Stat::store_no_memory, 1);
        }
        error_reply(e)
    }

    /// `incr` and `decr`.
    pub(super) fn arith(&mut self, t: &Tokens<'_>, incr: bool, out: &mut Vec<u8>) -> Step {
        let Some((key, delta, noreply)) = key_and_arg(t, out) else { return Step::Done(0) };
        let Some(delta) = parse_u64(delta) else {
            say(out, noreply, b"CLIENT_ERROR invalid numeric delta argument\r\n");
            return Step::Done(0);
        };
        if let Err(refused) = self.permit(if incr { As::IncrBy } else { As::DecrBy }, &[key], noreply, out) {
            return refused.step(0);
        }
        let op = Arith { incr, delta, vivify: None, cas: None, touch: None };
        let (hits, misses) =
            if incr { (Stat::incr_hits, Stat::incr_misses) } else { (Stat::decr_hits, Stat::decr_misses) };
        match self.db.item_arith(key, &op) {
            Ok(ArithOutcome::Value { value, .. }) => {
                self.count(hits, 1);
                if !noreply {
                    let _ = write!(out, "{value}\r\n");
                }
            }
            Ok(ArithOutcome::NotFound | ArithOutcome::Exists) => {
                self.count(misses, 1);
                say(out, noreply, replies::NOT_FOUND);
            }
            Ok(ArithOutcome::NonNumeric) => say(out, noreply, replies::NON_NUMERIC),
            Err(e) => {
                let reply = self.write_error(&e);
                say(out, noreply, reply);
            }
        }
        Step::Done(0)
    }

    /// `delete <key> [0] [noreply]`.
    pub(super) fn delete(&mut self, t: &Tokens<'_>, out: &mut Vec<u8>) -> Step {
        if !(2..=4).contains(&t.len()) {
            out.extend_from_slice(replies::ERROR);
            return Step::Done(0);
        }
        let noreply = t.len() > 2 && t.last().is_some_and(|l| *l == b"noreply");
        if t.len() > 2 {
            let hold_is_zero = t.get(2).is_some_and(|h| *h == b"0");
            let valid = (t.len() == 3 && (hold_is_zero || noreply)) || (t.len() == 4 && hold_is_zero && noreply);
            if !valid {
                say(out, noreply, b"CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n");
                return Step::Done(0);
            }
        }
        let key = t.get(1).copied().unwrap_or_default();
        if !valid_key(key) {
            say(out, noreply, replies::BAD_FORMAT);
            return Step::Done(0);
        }
        if let Err(refused) = self.permit(As::Del, &[key], noreply, out) {
            return refused.step(0);
        }
        let reply = match self.db.item_delete(key, &Delete::default()) {
            Ok(DeleteOutcome::Deleted) => {
                self.count(Stat::delete_hits, 1);
                &b"DELETED\r\n"[..]
            }
            Ok(DeleteOutcome::NotFound | DeleteOutcome::Exists) => {
                self.count(Stat::delete_misses, 1);
                replies::NOT_FOUND
            }
            Err(e) => self.write_error(&e),
        };
        say(out, noreply, reply);
        Step::Done(0)
    }

    /// `touch <key> <exptime> [noreply]`.
    pub(super) fn touch(&mut self, t: &Tokens<'_>, out: &mut Vec<u8>) -> Step {
        let Some((key, exptime, noreply)) = key_and_arg(t, out) else { return Step::Done(0) };
        let Some(exptime) = parse_i64(exptime) else {
            say(out, noreply, replies::INVALID_EXPTIME);
            return Step::Done(0);
        };
        if let Err(refused) = self.permit(As::Expire, &[key], noreply, out) {
            return refused.step(0);
        }
        self.count(Stat::cmd_touch, 1);
        let reply = match self.db.item_touch(key, Exptime::from_secs(exptime)) {
            Ok(true) => {
                self.count(Stat::touch_hits, 1);
                &b"TOUCHED\r\n"[..]
            }
            Ok(false) => {
                self.count(Stat::touch_misses, 1);
                replies::NOT_FOUND
            }
            Err(e) => self.write_error(&e),
        };
        say(out, noreply, reply);
        Step::Done(0)
    }

    /// `flush_all [delay] [noreply]`: with a delay, every item is removed
    /// once it has passed (as memcached: items stored meanwhile too).
    pub(super) fn flush_all(&mut self, t: &Tokens<'_>, out: &mut Vec<u8>) -> Step {
        if t.len() > 3 {
            out.extend_from_slice(replies::ERROR);
            return Step::Done(0);
        }
        let noreply = t.len() > 1 && t.last().is_some_and(|l| *l == b"noreply");
        let delay = if t.len() == if noreply { 2 } else { 1 } {
            0
        } else {
            match t.get(1).and_then(|d| parse_i64(d)) {
                Some(d) => d,
                None => {
                    say(out, noreply, replies::INVALID_EXPTIME);
                    return Step::Done(0);
                }
            }
        };
        if let Err(refused) = self.permit(As::FlushAll, &[], noreply, out) {
            return refused.step(0);
        }
        self.count(Stat::cmd_flush, 1);
        let now = self.db.unix_time_ms();
        let at = match Exptime::from_secs(delay) {
            Exptime::Never | Exptime::Past => now,
            Exptime::In(s) => now.saturating_add(i64::try_from(s).unwrap_or(i64::MAX).saturating_mul(1000)),
            Exptime::At(unix) => unix.saturating_mul(1000),
        };
        if at <= now {
            self.shared.flush_at.store(0, Ordering::Release);
            self.db.flushdb();
        } else {
            self.shared.flush_at.store(at, Ordering::Release);
        }
        self.shared.flush_changed.notify_one();
        say(out, noreply, b"OK\r\n");
        Step::Done(0)
    }

    /// `verbosity <level> [noreply]`: accepted and ignored.
    pub(super) fn verbosity(&mut self, t: &Tokens<'_>, out: &mut Vec<u8>) -> Step {
        if !(2..=3).contains(&t.len()) {
            out.extend_from_slice(replies::ERROR);
            return Step::Done(0);
        }
        let noreply = t.last().is_some_and(|l| *l == b"noreply");
        let reply = if t.get(1).and_then(|l| parse_u64(l)).is_some() { &b"OK\r\n"[..] } else { replies::BAD_FORMAT };
        say(out, noreply, reply);
        Step::Done(0)
    }

    /// `stats`, `stats reset`, `stats settings`; the slab and item
    /// breakdowns have nothing to show (`END`).
    pub(super) fn stats(&mut self, t: &Tokens<'_>, out: &mut Vec<u8>) -> Step {
        if let Err(refused) = self.permit(As::Info, &[], false, out) {
            return refused.step(0);
        }
        // This session's counts so far are part of what it reports.
        self.shared.stats.merge(&mut self.local);
        match t.get(1).copied() {
            None => self.shared.stats.write_general(&self.db, self.shared.max_connections, out),
            Some(b"reset") if t.len() == 2 => {
                self.shared.stats.reset();
                out.extend_from_slice(b"RESET\r\n");
            }
            Some(b"settings") if t.len() == 2 => {
                let _ = write!(
                    out,
                    "STAT maxbytes {}\r\nSTAT maxconns {}\r\nSTAT evictions on\r\nSTAT cas_enabled yes\r\n\
                     STAT item_size_max {}\r\nSTAT flush_enabled yes\r\nEND\r\n",
                    self.db.maxmemory(),
                    self.shared.max_connections,
                    self.shared.max_item_size
                );
            }
            Some(b"items" | b"slabs" | b"sizes" | b"conns") if t.len() == 2 => out.extend_from_slice(replies::END),
            Some(_) => out.extend_from_slice(replies::ERROR),
        }
        Step::Done(0)
    }
}
