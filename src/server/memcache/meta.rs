//! The meta protocol: `mg`, `ms`, `md`, `ma`, `me`, `mn`, with
//! memcached's flags, return codes and errors. Flags asked for come back in
//! the order they were sent; `O` (opaque) and `k` (key) come back on every
//! status line; `P` and `L` are ignored; `q` hides the success codes of
//! `ms`, `md`, `ma` and the miss of `mg`.
//!
//! ```text
//! mg <key> <flags>*            flags: b c f h k l O q s t u v N R T
//! ms <key> <datalen> <flags>*  flags: b c C F I k O q T M(E|A|P|R|S)
//! md <key> <flags>*            flags: b C I k O q T
//! ma <key> <flags>*            flags: b C N J D T M(I|+|D|-) q t c v k O
//! me <key> [b]
//! mn
//! ```

use super::auth::As;
use super::base64;
use super::parse::{
    Block, MAX_KEY_LEN, MAX_OPAQUE_LEN, Tokens, data_block, parse_flags, parse_i64, parse_len, parse_u64, valid_key,
};
use super::replies;
use super::session::{Session, Step};
use super::stats::Stat;
use crate::db::item::{
    Arith, ArithOutcome, Delete, DeleteOutcome, Exptime, Fetch, ItemView, Store, StoreMode, StoreOutcome, ttl_secs,
};
use smallvec::SmallVec;
use std::borrow::Cow;
use std::io::Write as _;

/// Why a meta command's flags were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FlagError {
    Invalid,
    Duplicate,
    /// A numeric token that does not parse.
    BadToken,
    /// `F` that does not parse (`ms`).
    BadClientFlags,
    OpaqueTooLong,
    /// An `M` token that names no mode.
    Mode,
}

/// The flags of a meta command, in request order.
struct Flags<'a>(SmallVec<[(u8, &'a [u8]); 8]>);

impl<'a> Flags<'a> {
    /// Reads `tokens`, each a flag character and its token; `allowed`
    /// lists the flags the command knows (`P` and `L` are skipped).
    fn parse(tokens: &[&'a [u8]], allowed: &[u8]) -> Result<Flags<'a>, FlagError> {
        let mut seen = 0u128;
        let mut list = SmallVec::new();
        for token in tokens {
            let Some((&flag, arg)) = token.split_first() else { continue };
            if flag == b'P' || flag == b'L' {
                continue;
            }
            if !allowed.contains(&flag) {
                return Err(FlagError::Invalid);
            }
            let bit = 1u128 << (flag & 0x7f);
            if seen & bit != 0 {
                return Err(FlagError::Duplicate);
            }
            seen |= bit;
            if flag == b'O' && arg.len() > MAX_OPAQUE_LEN {
                return Err(FlagError::OpaqueTooLong);
            }
            list.push((flag, arg));
        }
        Ok(Flags(list))
    }

    fn has(&self, flag: u8) -> bool {
        self.0.iter().any(|(f, _)| *f == flag)
    }

    fn arg(&self, flag: u8) -> Option<&'a [u8]> {
        self.0.iter().find(|(f, _)| *f == flag).map(|(_, a)| *a)
    }

    /// The number after `flag`, if given.
    fn number<T>(&self, flag: u8, parse: impl Fn(&[u8]) -> Option<T>) -> Result<Option<T>, FlagError> {
        self.arg(flag).map(|a| parse(a).ok_or(FlagError::BadToken)).transpose()
    }

    fn exptime(&self, flag: u8) -> Result<Option<Exptime>, FlagError> {
        Ok(self.number(flag, parse_i64)?.map(Exptime::from_secs))
    }

    /// Appends the return flags: `O` and `k` (with ` b` for a base64 key)
    /// here, the others by `other`, in request order.
    fn write(&self, key: &MetaKey<'_>, out: &mut Vec<u8>, mut other: impl FnMut(u8, &mut Vec<u8>)) {
        for &(flag, arg) in &self.0 {
            match flag {
                b'O' => {
                    out.extend_from_slice(b" O");
                    out.extend_from_slice(arg);
                }
                b'k' => {
                    out.extend_from_slice(b" k");
                    out.extend_from_slice(key.token);
                    if key.base64 {
                        out.extend_from_slice(b" b");
                    }
                }
                _ => other(flag, out),
            }
        }
    }

    /// Appends a status line: `code`, `O` and `k`.
    fn status(&self, code: &[u8], key: &MetaKey<'_>, out: &mut Vec<u8>) {
        out.extend_from_slice(code);
        self.write(key, out, |_, _| {});
        out.extend_from_slice(b"\r\n");
    }
}

/// A meta command's key: as sent, and as looked up (decoded with `b`).
struct MetaKey<'a> {
    token: &'a [u8],
    base64: bool,
    bytes: Cow<'a, [u8]>,
}

/// The key token of a meta command, checked as memcached does (its length
/// before anything else).
fn key_token<'a>(t: &Tokens<'a>) -> Result<&'a [u8], &'static [u8]> {
    match t.get(1) {
        Some(k) if k.len() <= MAX_KEY_LEN => Ok(k),
        _ => Err(replies::BAD_FORMAT),
    }
}

/// The key to look up: `token` itself, or decoded from base64 with `b`.
fn meta_key<'a>(token: &'a [u8], flags: &Flags<'_>) -> Result<MetaKey<'a>, &'static [u8]> {
    if flags.has(b'b') {
        let bytes = base64::decode(token).ok_or(&b"CLIENT_ERROR error decoding key\r\n"[..])?;
        if bytes.is_empty() || bytes.len() > MAX_KEY_LEN {
            return Err(replies::BAD_FORMAT);
        }
        Ok(MetaKey { token, base64: true, bytes: Cow::Owned(bytes) })
    } else if valid_key(token) {
        Ok(MetaKey { token, base64: false, bytes: Cow::Borrowed(token) })
    } else {
        Err(replies::BAD_FORMAT)
    }
}

/// `mg`'s and `ms`'s error lines.
fn get_set_error(e: FlagError, command: &str) -> Cow<'static, [u8]> {
    Cow::Borrowed(match e {
        FlagError::Invalid => b"CLIENT_ERROR invalid flag\r\n",
        FlagError::Duplicate => b"CLIENT_ERROR duplicate flag\r\n",
        FlagError::BadToken => b"CLIENT_ERROR bad token in command line format\r\n",
        FlagError::BadClientFlags => replies::BAD_FORMAT,
        FlagError::OpaqueTooLong => b"CLIENT_ERROR opaque token too long\r\n",
        FlagError::Mode => {
            return Cow::Owned(format!("CLIENT_ERROR invalid mode for {command} M token\r\n").into_bytes());
        }
    })
}

/// `md`'s and `ma`'s error lines.
fn delete_arith_error(e: FlagError, command: &str) -> Cow<'static, [u8]> {
    match e {
        FlagError::OpaqueTooLong | FlagError::Mode => get_set_error(e, command),
        _ => Cow::Borrowed(b"CLIENT_ERROR invalid or duplicate flag\r\n"),
    }
}

/// A meta command's flags and key, or the error line to send.
fn flags_and_key<'a>(
    t: &Tokens<'a>,
    skip: usize,
    allowed: &[u8],
    error: impl Fn(FlagError) -> Cow<'static, [u8]>,
) -> Result<(Flags<'a>, MetaKey<'a>), Cow<'static, [u8]>> {
    let token = key_token(t).map_err(Cow::Borrowed)?;
    let flags = Flags::parse(t.get(skip..).unwrap_or_default(), allowed).map_err(&error)?;
    let key = meta_key(token, &flags).map_err(Cow::Borrowed)?;
    Ok((flags, key))
}

impl Session {
    /// `mg <key> <flags>*`.
    pub(super) fn meta_get(&mut self, t: &Tokens<'_>, out: &mut Vec<u8>) -> Step {
        if t.len() < 2 {
            out.extend_from_slice(replies::ERROR);
            return Step::Done(0);
        }
        let error = |e| get_set_error(e, "mg");
        let parsed = flags_and_key(t, 2, b"bcfhklOqstuvNRT", error).and_then(|(flags, key)| {
            let fetch = Fetch {
                touch: flags.exptime(b'T').map_err(error)?,
                vivify: flags.exptime(b'N').map_err(error)?,
                recache: flags.number(b'R', parse_i64).map_err(error)?.map(|r| r.max(0).unsigned_abs()),
                cas: flags.has(b'c'),
                bump: !flags.has(b'u'),
            };
            Ok((flags, key, fetch))
        });
        let (flags, key, fetch) = match parsed {
            Ok(p) => p,
            Err(line) => {
                out.extend_from_slice(&line);
                return Step::Done(0);
            }
        };
        let call = match (fetch.vivify, fetch.touch) {
            (Some(_), _) => As::Set,
            (None, Some(_)) => As::GetEx,
            (None, None) => As::Get,
        };
        if let Err(refused) = self.permit(call, &[&key.bytes], false, out) {
            return refused.step(0);
        }
        let hit = self.db.item_fetch(&key.bytes, fetch, |item| write_item(&flags, &key, item, out)).is_some();
        self.count(Stat::cmd_get, 1);
        self.count(if hit { Stat::get_hits } else { Stat::get_misses }, 1);
        if fetch.touch.is_some() {
            self.count(Stat::cmd_touch, 1);
            self.count(if hit { Stat::touch_hits } else { Stat::touch_misses }, 1);
        }
        if !hit && !flags.has(b'q') {
            flags.status(b"EN", &key, out);
        }
        Step::Done(0)
    }

    /// `ms <key> <datalen> <flags>*` and its data block.
    pub(super) fn meta_set(&mut self, t: &Tokens<'_>, rest: &[u8], out: &mut Vec<u8>) -> Step {
        if t.len() < 2 {
            out.extend_from_slice(replies::ERROR);
            return Step::Done(0);
        }
        let (Ok(_), Some(len)) = (key_token(t), t.get(2).and_then(|l| parse_len(l))) else {
            out.extend_from_slice(replies::BAD_FORMAT);
            return Step::Done(0);
        };
        let error = |e| get_set_error(e, "ms");
        let parsed = flags_and_key(t, 3, b"bcCFIkOqTM", error).and_then(|(flags, key)| {
            let mode = match flags.arg(b'M') {
                None => StoreMode::Set,
                Some(m) => match m {
                    b"E" | b"e" => StoreMode::Add,
                    b"A" | b"a" => StoreMode::Append,
                    b"P" | b"p" => StoreMode::Prepend,
                    b"R" | b"r" => StoreMode::Replace,
                    b"S" | b"s" => StoreMode::Set,
                    _ => return Err(error(FlagError::Mode)),
                },
            };
            let client_flags = flags.arg(b'F').map(|f| parse_flags(f).ok_or(FlagError::BadClientFlags));
            let client_flags = client_flags.transpose().map_err(error)?.unwrap_or(0);
            let exptime = flags.exptime(b'T').map_err(error)?.unwrap_or(Exptime::Never);
            let cas = flags.number(b'C', parse_u64).map_err(error)?;
            Ok((flags, key, mode, client_flags, exptime, cas))
        });
        if let Ok((_, key, ..)) = &parsed
            && let Err(refused) = self.permit(As::Set, &[&key.bytes], false, out)
        {
            return refused.step(len + 2);
        }
        let max_size = self.shared.max_item_size;
        let too_large = t.get(1).map_or(0, |k| k.len()).saturating_add(len) > max_size;
        let (flags, key, mode, client_flags, exptime, cas) = match parsed {
            Ok(p) if !too_large => p,
            Ok((_, key, mode, ..)) => {
                self.count(Stat::store_too_large, 1);
                out.extend_from_slice(replies::TOO_LARGE);
                if mode == StoreMode::Set {
                    let _ = self.db.item_delete(&key.bytes, &Delete::default());
                }
                return Step::Swallow(len + 2);
            }
            Err(line) => {
                out.extend_from_slice(&line);
                return Step::Swallow(len + 2);
            }
        };
        let data = match data_block(rest, len) {
            Block::Incomplete => return Step::More,
            Block::BadChunk => {
                out.extend_from_slice(replies::BAD_CHUNK);
                return Step::Done(len + 2);
            }
            Block::Data(data) => data,
        };
        let store =
            Store { mode, value: data, flags: client_flags, exptime, cas, invalidate: flags.has(b'I'), max_size };
        self.count(Stat::cmd_set, 1);
        let (code, new_cas): (&[u8], u64) = match self.db.item_store(&key.bytes, &store) {
            Ok(StoreOutcome::Stored { cas: new }) => {
                self.count(Stat::total_items, 1);
                if flags.has(b'q') {
                    return Step::Done(len + 2);
                }
                (b"HD", new)
            }
            Ok(StoreOutcome::NotStored) => (b"NS", 0),
            Ok(StoreOutcome::Exists) => {
                self.count(Stat::cas_badval, 1);
                (b"EX", 0)
            }
            Ok(StoreOutcome::NotFound) => {
                self.count(Stat::cas_misses, 1);
                (b"NF", 0)
            }
            Err(e) => {
                out.extend_from_slice(self.write_error(&e));
                return Step::Done(len + 2);
            }
        };
        out.extend_from_slice(code);
        flags.write(&key, out, |flag, out| {
            if flag == b'c' {
                let _ = write!(out, " c{new_cas}");
            }
        });
        out.extend_from_slice(b"\r\n");
        Step::Done(len + 2)
    }

    /// `md <key> <flags>*`.
    pub(super) fn meta_delete(&mut self, t: &Tokens<'_>, out: &mut Vec<u8>) -> Step {
        if t.len() < 2 {
            out.extend_from_slice(replies::ERROR);
            return Step::Done(0);
        }
        let error = |e| delete_arith_error(e, "md");
        let parsed = flags_and_key(t, 2, b"bCIkOqT", error).and_then(|(flags, key)| {
            let cas = flags.number(b'C', parse_u64).map_err(error)?;
            let touch = flags.exptime(b'T').map_err(error)?;
            Ok((Delete { cas, invalidate: flags.has(b'I'), touch }, flags, key))
        });
        let (op, flags, key) = match parsed {
            Ok(p) => p,
            Err(line) => {
                out.extend_from_slice(&line);
                return Step::Done(0);
            }
        };
        if let Err(refused) = self.permit(As::Del, &[&key.bytes], false, out) {
            return refused.step(0);
        }
        let code: &[u8] = match self.db.item_delete(&key.bytes, &op) {
            Ok(DeleteOutcome::Deleted) => {
                self.count(Stat::delete_hits, 1);
                if flags.has(b'q') {
                    return Step::Done(0);
                }
                b"HD"
            }
            Ok(DeleteOutcome::NotFound) => {
                self.count(Stat::delete_misses, 1);
                b"NF"
            }
            Ok(DeleteOutcome::Exists) => b"EX",
            Err(e) => {
                out.extend_from_slice(self.write_error(&e));
                return Step::Done(0);
            }
        };
        flags.status(code, &key, out);
        Step::Done(0)
    }

    /// `ma <key> <flags>*`.
    pub(super) fn meta_arith(&mut self, t: &Tokens<'_>, out: &mut Vec<u8>) -> Step {
        if t.len() < 2 {
            out.extend_from_slice(replies::ERROR);
            return Step::Done(0);
        }
        let error = |e| delete_arith_error(e, "ma");
        let parsed = flags_and_key(t, 2, b"bCNJDTMqtcvkO", error).and_then(|(flags, key)| {
            let incr = match flags.arg(b'M') {
                None | Some(b"I" | b"i" | b"+") => true,
                Some(b"D" | b"d" | b"-") => false,
                Some(_) => return Err(error(FlagError::Mode)),
            };
            let initial = flags.number(b'J', parse_u64).map_err(error)?.unwrap_or(0);
            let op = Arith {
                incr,
                delta: flags.number(b'D', parse_u64).map_err(error)?.unwrap_or(1),
                vivify: flags.exptime(b'N').map_err(error)?.map(|e| (e, initial)),
                cas: flags.number(b'C', parse_u64).map_err(error)?,
                touch: flags.exptime(b'T').map_err(error)?,
            };
            Ok((op, flags, key))
        });
        let (op, flags, key) = match parsed {
            Ok(p) => p,
            Err(line) => {
                out.extend_from_slice(&line);
                return Step::Done(0);
            }
        };
        if let Err(refused) = self.permit(if op.incr { As::IncrBy } else { As::DecrBy }, &[&key.bytes], false, out) {
            return refused.step(0);
        }
        let (hits, misses) =
            if op.incr { (Stat::incr_hits, Stat::incr_misses) } else { (Stat::decr_hits, Stat::decr_misses) };
        let code: &[u8] = match self.db.item_arith(&key.bytes, &op) {
            Ok(ArithOutcome::Value { value, cas, ttl_ms }) => {
                self.count(hits, 1);
                if !flags.has(b'q') {
                    let digits = value.to_string();
                    if flags.has(b'v') {
                        let _ = write!(out, "VA {}", digits.len());
                    } else {
                        out.extend_from_slice(b"HD");
                    }
                    flags.write(&key, out, |flag, out| {
                        let _ = match flag {
                            b't' => write!(out, " t{}", ttl_secs(ttl_ms)),
                            b'c' => write!(out, " c{cas}"),
                            _ => Ok(()),
                        };
                    });
                    out.extend_from_slice(b"\r\n");
                    if flags.has(b'v') {
                        out.extend_from_slice(digits.as_bytes());
                        out.extend_from_slice(b"\r\n");
                    }
                }
                return Step::Done(0);
            }
            Ok(ArithOutcome::NotFound) => {
                self.count(misses, 1);
                b"NF"
            }
            Ok(ArithOutcome::Exists) => b"EX",
            Ok(ArithOutcome::NonNumeric) => {
                out.extend_from_slice(replies::NON_NUMERIC);
                return Step::Done(0);
            }
            Err(e) => {
                out.extend_from_slice(self.write_error(&e));
                return Step::Done(0);
            }
        };
        flags.status(code, &key, out);
        Step::Done(0)
    }

    /// `me <key> [b]`: a debug line about the item, or `EN`.
    pub(super) fn meta_debug(&mut self, t: &Tokens<'_>, out: &mut Vec<u8>) -> Step {
        let base64 = t.get(2).is_some_and(|f| *f == b"b");
        let key = key_token(t).and_then(|token| {
            let flags = Flags(if base64 { SmallVec::from_slice(&[(b'b', &b""[..])]) } else { SmallVec::new() });
            meta_key(token, &flags)
        });
        let key = match key {
            Ok(key) => key,
            Err(line) => {
                out.extend_from_slice(line);
                return Step::Done(0);
            }
        };
        if let Err(refused) = self.permit(As::Get, &[&key.bytes], false, out) {
            return refused.step(0);
        }
        match self.db.item_debug(&key.bytes) {
            Some(d) => {
                out.extend_from_slice(b"ME ");
                out.extend_from_slice(key.token);
                let fetched = if d.fetched { "yes" } else { "no" };
                let _ = write!(
                    out,
                    " exp={} la={} cas={} fetch={fetched} cls=1 size={}\r\n",
                    ttl_secs(d.ttl_ms),
                    d.idle_secs,
                    d.cas,
                    d.size
                );
            }
            None => out.extend_from_slice(b"EN\r\n"),
        }
        Step::Done(0)
    }
}

/// Writes `mg`'s hit: `VA <size>` (with `v`) or `HD`, the flags asked for,
/// then `Z`, `X`, `W` as memcached orders them, then the value.
fn write_item(flags: &Flags<'_>, key: &MetaKey<'_>, item: &ItemView<'_>, out: &mut Vec<u8>) {
    let value = flags.has(b'v');
    if value {
        replies::number(out, b"VA ", item.value.len());
    } else {
        out.extend_from_slice(b"HD");
    }
    flags.write(key, out, |flag, out| match flag {
        b'c' => replies::number(out, b" c", item.cas),
        b'f' => replies::number(out, b" f", item.flags),
        b'h' => replies::number(out, b" h", u8::from(item.fetched)),
        b'l' => replies::number(out, b" l", item.idle_secs),
        b's' => replies::number(out, b" s", item.value.len()),
        b't' => replies::number(out, b" t", item.ttl_secs()),
        _ => {}
    });
    if item.token_sent {
        out.extend_from_slice(b" Z");
    }
    if item.stale {
        out.extend_from_slice(b" X");
    }
    if item.won {
        out.extend_from_slice(b" W");
    }
    out.extend_from_slice(b"\r\n");
    if value {
        out.extend_from_slice(item.value);
        out.extend_from_slice(b"\r\n");
    }
}
