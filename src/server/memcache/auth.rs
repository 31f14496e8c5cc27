//! Who may use the Memcached port, and for what.
//!
//! A session made by the server (or given an ACL with
//! [`Session::acl`]) answers to the same ACL as the RESP port:
//!
//! - While the ACL wants a password (the `default` user has one or is
//!   `off`), a new connection must authenticate first, as memcached's `-Y`
//!   option has it: a `set` whose data block is `<user> <password>` (any
//!   key, flags and exptime; the password is everything after the first
//!   space). Success answers `STORED` and stores nothing; a wrong user or
//!   password answers `CLIENT_ERROR authentication failure` (logged in
//!   `ACL LOG`, reason `auth`) and the client may try again. Any other
//!   request before that answers `CLIENT_ERROR unauthenticated` and
//!   closes the connection: its data block, if it has one, cannot be told
//!   from a command.
//! - Every command is then checked against the user's permissions as the
//!   Redis command it amounts to, on each of its keys: retrievals as
//!   `GET` (`GETEX` when they touch, `SET` for `mg`'s `N`), storage as
//!   `SET`, `incr`/`decr`/`ma` as `INCRBY`/`DECRBY`, deletes as `DEL`,
//!   `touch` as `EXPIRE`, `flush_all` as `FLUSHALL`, `stats` as `INFO`.
//!   A refusal answers `CLIENT_ERROR NOPERM …` (Redis's text), is logged,
//!   and changes nothing; a refused storage command's data block is
//!   skipped. A user deleted meanwhile has the connection closed, as
//!   Redis does.

use super::parse::{Block, Tokens, data_block, parse_len};
use super::session::{Session, Step};
use super::stats::Stat;
use crate::acl::{Acl, DeniedReason};
use crate::server::acl_commands::ClientAuth;

/// The longest `<user> <password>` data block read before authentication.
const MAX_CREDENTIALS: usize = 64 * 1024;

const UNAUTHENTICATED: &[u8] = b"CLIENT_ERROR unauthenticated\r\n";
const AUTH_FAILURE: &[u8] = b"CLIENT_ERROR authentication failure\r\n";

/// The Redis command a Memcached command is checked as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum As {
    Get,
    GetEx,
    Set,
    IncrBy,
    DecrBy,
    Del,
    Expire,
    FlushAll,
    Info,
}

impl As {
    /// The call checked for `key` (`None`: the keyless call).
    fn call(self, key: Option<&[u8]>) -> ([&[u8]; 3], usize) {
        let key = key.unwrap_or_default();
        match self {
            As::Get => ([b"get", key, b""], 2),
            As::GetEx => ([b"getex", key, b""], 2),
            As::Set => ([b"set", key, b""], 3),
            As::IncrBy => ([b"incrby", key, b"1"], 3),
            As::DecrBy => ([b"decrby", key, b"1"], 3),
            As::Del => ([b"del", key, b""], 2),
            As::Expire => ([b"expire", key, b"0"], 3),
            As::FlushAll => ([b"flushall", b"", b""], 1),
            As::Info => ([b"info", b"", b""], 1),
        }
    }
}

/// A new session's standing: `None` without an ACL (everything allowed).
pub(super) fn access(acl: Option<&Acl>, client_info: &str) -> Option<ClientAuth> {
    acl.map(|acl| {
        let mut auth = ClientAuth::new(acl);
        auth.session.set_client_info(client_info);
        auth
    })
}

impl Session {
    /// Whether the session must authenticate before anything else.
    pub(super) fn unauthenticated(&self) -> bool {
        self.access.as_ref().is_some_and(|a| !a.authenticated && a.session.acl().auth_required())
    }

    /// The one request of an unauthenticated session: memcached's `set`
    /// of `<user> <password>`.
    pub(super) fn authenticate(&mut self, t: &Tokens<'_>, rest: &[u8], out: &mut Vec<u8>) -> Step {
        let len = match (t.first(), t.len()) {
            (Some(&b"set"), 5 | 6) => t.get(4).and_then(|l| parse_len(l)),
            _ => None,
        };
        let Some(len) = len.filter(|&l| l <= MAX_CREDENTIALS) else {
            out.extend_from_slice(UNAUTHENTICATED);
            return Step::Close;
        };
        let credentials = match data_block(rest, len) {
            Block::Incomplete => return Step::More,
            Block::BadChunk => {
                out.extend_from_slice(super::replies::BAD_CHUNK);
                return Step::Close;
            }
            Block::Data(data) => data,
        };
        self.count(Stat::auth_cmds, 1);
        let (user, password) = match credentials.iter().position(|&b| b == b' ') {
            Some(i) => (credentials.get(..i).unwrap_or_default(), credentials.get(i + 1..).unwrap_or_default()),
            None => (credentials, &[][..]),
        };
        let Some(auth) = self.access.as_mut() else { return Step::Done(len + 2) };
        let acl = auth.session.acl().clone();
        let info = format!("{} user={}", self.client_info, String::from_utf8_lossy(user));
        match acl.authenticate_from(user, password, b"set", &info) {
            Ok(mut session) => {
                session.set_client_info(info);
                *auth = ClientAuth { session, authenticated: true };
                out.extend_from_slice(b"STORED\r\n");
            }
            Err(_) => {
                self.count(Stat::auth_errors, 1);
                out.extend_from_slice(AUTH_FAILURE);
            }
        }
        Step::Done(len + 2)
    }

    /// Whether the session's user may run `call` on every one of `keys`
    /// (or the keyless call, for none). If not, the refusal is in `out`
    /// (unless `noreply`) and logged, and the [`Refused`] says how to go
    /// on: with the next request, or closing (the user is gone).
    pub(super) fn permit(&mut self, call: As, keys: &[&[u8]], noreply: bool, out: &mut Vec<u8>) -> Result<(), Refused> {
        let Some(auth) = self.access.as_mut() else { return Ok(()) };
        if auth.session.unrestricted() {
            // One check for the whole request, not one per key.
            return Ok(());
        }
        let keyless = keys.is_empty().then(|| call.call(None));
        for (args, n) in keys.iter().map(|k| call.call(Some(k))).chain(keyless) {
            let Err(denied) = auth.session.check_unlogged(args.get(..n).unwrap_or_default()) else { continue };
            if denied.reason() == DeniedReason::NoSuchUser {
                return Err(Refused::Close);
            }
            auth.session.log(&denied);
            if !noreply {
                out.extend_from_slice(b"CLIENT_ERROR ");
                out.extend_from_slice(denied.to_string().as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            return Err(Refused::Next);
        }
        Ok(())
    }
}

/// How a request refused by [`Session::permit`] ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refused {
    /// Go on with the next request (the refusal is answered).
    Next,
    /// The user was deleted: close the connection.
    Close,
}

impl Refused {
    /// The step for a refused request followed by `skip` bytes of its
    /// own (its data block, to be skipped).
    pub(super) fn step(self, skip: usize) -> Step {
        match self {
            Refused::Next if skip == 0 => Step::Done(0),
            Refused::Next => Step::Swallow(skip),
            Refused::Close => Step::Close,
        }
    }
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
