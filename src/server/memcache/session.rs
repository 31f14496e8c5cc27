//! [`Session`]: one client's side of the protocol, without I/O. The
//! connection feeds it what the socket brought and writes what it answers;
//! the fuzz target feeds it arbitrary bytes.

use super::parse::{Tokens, line_limit, next_line, tokenize};
use super::stats::{Local, Stat, Stats};
use super::{DEFAULT_MAX_ITEM_SIZE, replies};
use crate::acl::Acl;
use crate::db::Db;
use crate::server::acl_commands::ClientAuth;
use crate::server::gate::Busy;
use crate::server::state::ServerState;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Answers one client's Memcached requests (text and meta protocols) on a
/// [`Db`], without doing any I/O: pass it the bytes received so far with
/// [`Session::process`], write what it appends to `out`, and pass the
/// unconsumed rest again with more bytes after it. The server's
/// connections are built on it; it serves any other byte stream as well.
///
/// ```
/// use embercache::Db;
/// use embercache::server::memcache::Session;
///
/// let db = Db::new();
/// let mut session = Session::new(db.clone());
/// let mut out = Vec::new();
/// let input = b"set greeting 5 0 5\r\nhello\r\nget greeting\r\n";
/// let progress = session.process(input, &mut out);
/// assert_eq!(progress.consumed, input.len());
/// assert_eq!(out, b"STORED\r\nVALUE greeting 5 5\r\nhello\r\nEND\r\n");
/// assert_eq!(db.get(b"greeting")?, Some(b"hello".to_vec()));
/// # Ok::<(), embercache::db::DbError>(())
/// ```
#[derive(Debug)]
pub struct Session {
    pub(super) db: Db,
    pub(super) shared: Arc<Shared>,
    /// Bytes of a refused data block still to skip.
    swallow: usize,
    pub(super) local: Local,
    /// The ACL user this session runs as (`None`: no ACL, see `auth`).
    pub(super) access: Option<ClientAuth>,
    /// How the ACL log describes this client.
    pub(super) client_info: String,
    /// This session's flag at the server's gate (see [`Shared::server`]).
    busy: Option<Arc<Busy>>,
    /// The generation of the server's database table `db` was read at.
    db_seen: u64,
}

/// What [`Session::process`] did with its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Bytes of the input used. The rest (an incomplete request) must be
    /// passed again, with what arrives after it; a call that consumed some
    /// bytes may have left complete requests for the next call (it returns
    /// early once it has a lot of output), so call again until this is 0.
    pub consumed: usize,
    /// Whether the connection is to be closed once the output is written
    /// (`quit`, an overlong line, the binary protocol).
    pub close: bool,
}

/// What the sessions of one listener share.
pub(crate) struct Shared {
    pub(crate) max_item_size: usize,
    pub(crate) max_connections: usize,
    pub(crate) stats: Stats,
    /// Unix time (ms, by the `Db`'s clock) of a delayed `flush_all`, 0 for
    /// none.
    pub(crate) flush_at: AtomicI64,
    /// Woken when `flush_at` changes (the listener's flush timer).
    pub(crate) flush_changed: tokio::sync::Notify,
    /// The server's users (see `auth`); `None` lets everyone do everything.
    pub(crate) acl: Option<Acl>,
    /// The RESP server this listener belongs to: each batch of requests
    /// passes its gate (so none runs inside a transaction or a SWAPDB) and
    /// runs on whatever database 0 is then (SWAPDB moves it).
    pub(crate) server: Option<Arc<ServerState>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("max_item_size", &self.max_item_size)
            .field("max_connections", &self.max_connections)
            .field("acl", &self.acl.is_some())
            .field("server", &self.server.is_some())
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub(crate) fn new(db: &Db, max_item_size: usize, max_connections: usize, acl: Option<Acl>) -> Self {
        Shared {
            server: None,
            max_item_size,
            max_connections,
            stats: Stats::new(db),
            flush_at: AtomicI64::new(0),
            flush_changed: tokio::sync::Notify::new(),
            acl,
        }
    }

    /// A listener of `server`'s, with its ACL.
    pub(crate) fn of_server(server: &Arc<ServerState>, max_item_size: usize) -> Self {
        let db0 = server.dbs.get(0).unwrap_or_default();
        let max_connections = server.config.max_clients;
        let shared = Shared::new(&db0, max_item_size, max_connections, Some(server.config.acl.clone()));
        Shared { server: Some(Arc::clone(server)), ..shared }
    }

    /// [`Shared::run_due_flush`] for the listener's timer, which is not a
    /// session: inside the server's gate (with `busy`, its flag there), on
    /// database 0 as it is now; on `db` without a server.
    pub(crate) fn run_due_flush_from_timer(&self, db: &Db, busy: Option<&Busy>) {
        match (self.server.as_deref(), busy) {
            (Some(server), Some(busy)) => {
                let _inside = server.gate.enter(busy);
                self.run_due_flush(&server.dbs.get(0).unwrap_or_else(|| db.clone()));
            }
            _ => self.run_due_flush(db),
        }
    }

    /// Runs the delayed `flush_all` if it is due (once, whoever calls).
    pub(crate) fn run_due_flush(&self, db: &Db) {
        let at = self.flush_at.load(Ordering::Acquire);
        if at != 0
            && db.unix_time_ms() >= at
            && self.flush_at.compare_exchange(at, 0, Ordering::AcqRel, Ordering::Acquire).is_ok()
        {
            db.flushdb();
        }
    }
}

/// What a command did with the input after its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// Done, having used this many bytes after the line (its data block).
    Done(usize),
    /// Its data block has not all arrived: nothing was done.
    More,
    /// Done; the next this-many bytes of input are a refused data block.
    Swallow(usize),
    /// Close the connection after the replies so far (`quit`).
    Close,
}

/// Once a batch has produced this much output, `process` returns so that
/// it is written before the next requests are run.
const OUTPUT_HIGH_WATER: usize = 1024 * 1024;

impl Session {
    /// A session on `db` with memcached's defaults (1 MiB items), counting
    /// its own statistics.
    pub fn new(db: Db) -> Self {
        let shared = Arc::new(Shared::new(&db, DEFAULT_MAX_ITEM_SIZE, super::super::DEFAULT_MAX_CLIENTS, None));
        Self::with_shared(db, shared, String::new())
    }

    /// The largest item accepted, key and value bytes (default 1 MiB, as
    /// memcached's `-I`).
    #[must_use]
    pub fn max_item_size(self, bytes: usize) -> Self {
        let shared = Arc::new(Shared::new(&self.db, bytes, self.shared.max_connections, self.shared.acl.clone()));
        Self::with_shared(self.db, shared, self.client_info)
    }

    /// Checks this session's requests against `acl`, as the server's
    /// Memcached port does: authentication first while `acl` wants a
    /// password, then every command against the user's permissions (see
    /// the module's documentation).
    ///
    /// ```
    /// use embercache::Db;
    /// use embercache::acl::Acl;
    /// use embercache::server::memcache::Session;
    ///
    /// let acl = Acl::new();
    /// acl.set_user("default", &["resetpass", ">admin-secret"])?;
    /// acl.set_user("app", &["on", ">app-secret", "~app:*", "+@all"])?;
    /// let mut session = Session::new(Db::new()).acl(&acl);
    /// let mut out = Vec::new();
    /// session.process(b"set auth 0 0 14\r\napp app-secret\r\nset app:1 0 0 1\r\nx\r\nget other\r\n", &mut out);
    /// assert_eq!(
    ///     String::from_utf8_lossy(&out),
    ///     "STORED\r\nSTORED\r\nCLIENT_ERROR NOPERM No permissions to access a key\r\n"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn acl(self, acl: &Acl) -> Self {
        let shared = Shared::new(&self.db, self.shared.max_item_size, self.shared.max_connections, Some(acl.clone()));
        Self::with_shared(self.db, Arc::new(shared), self.client_info)
    }

    /// A session of a listener: `client_info` describes the client in the
    /// ACL log.
    pub(crate) fn with_shared(db: Db, shared: Arc<Shared>, client_info: String) -> Self {
        let access = super::auth::access(shared.acl.as_ref(), &client_info);
        let busy = shared.server.as_ref().map(|s| s.gate.join());
        Session { db, shared, swallow: 0, local: Local::default(), access, client_info, busy, db_seen: 0 }
    }

    /// Runs every complete request at the start of `input`, appending the
    /// replies to `out`.
    pub fn process(&mut self, input: &[u8], out: &mut Vec<u8>) -> Progress {
        if let (Some(server), Some(busy)) = (self.shared.server.as_deref(), self.busy.as_deref()) {
            // Left at the end of this call, which never waits on I/O.
            server.gate.hold(busy);
            server.dbs.refresh(0, &mut self.db, &mut self.db_seen);
        }
        let progress = self.process_batch(input, out);
        if let Some(busy) = &self.busy {
            busy.leave();
        }
        progress
    }

    fn process_batch(&mut self, input: &[u8], out: &mut Vec<u8>) -> Progress {
        self.shared.run_due_flush(&self.db);
        let out_start = out.len();
        let mut pos = 0;
        let mut close = false;
        while let Some(rest) = input.get(pos..).filter(|r| !r.is_empty()) {
            if self.swallow > 0 {
                let n = self.swallow.min(rest.len());
                pos += n;
                self.swallow -= n;
                continue;
            }
            if rest.first() == Some(&0x80) {
                refuse_binary(rest, out);
                close = true;
                break;
            }
            let Some((line, line_len)) = next_line(rest) else {
                if rest.len() > line_limit(rest) {
                    out.extend_from_slice(replies::LINE_TOO_LONG);
                    close = true;
                }
                break;
            };
            let after = rest.get(line_len..).unwrap_or_default();
            match self.command(line, after, out) {
                Step::Done(used) => pos += line_len + used,
                Step::More => break,
                Step::Swallow(n) => {
                    pos += line_len;
                    self.swallow = n;
                }
                Step::Close => {
                    pos += line_len;
                    close = true;
                    break;
                }
            }
            if out.len() - out_start >= OUTPUT_HIGH_WATER {
                break;
            }
        }
        self.local.add(Stat::bytes_read, pos as u64);
        self.local.add(Stat::bytes_written, (out.len() - out_start) as u64);
        self.shared.stats.merge(&mut self.local);
        Progress { consumed: pos, close }
    }

    /// Runs the command on `line`; `rest` is the input after it.
    fn command(&mut self, line: &[u8], rest: &[u8], out: &mut Vec<u8>) -> Step {
        use crate::db::item::StoreMode;
        let t = tokenize(line);
        let Some(&name) = t.first() else {
            out.extend_from_slice(replies::ERROR);
            return Step::Done(0);
        };
        if self.unauthenticated() {
            return self.authenticate(&t, rest, out);
        }
        if matches!(name, b"mg" | b"ms" | b"md" | b"ma" | b"me" | b"mn") {
            let step = self.meta_command(name, &t, rest, out);
            if step != Step::More {
                self.count(Stat::cmd_meta, 1);
            }
            return step;
        }
        match name {
            b"get" => self.retrieve(&t, false, false, out),
            b"gets" => self.retrieve(&t, false, true, out),
            b"gat" => self.retrieve(&t, true, false, out),
            b"gats" => self.retrieve(&t, true, true, out),
            b"set" => self.store(&t, rest, StoreMode::Set, false, out),
            b"add" => self.store(&t, rest, StoreMode::Add, false, out),
            b"replace" => self.store(&t, rest, StoreMode::Replace, false, out),
            b"append" => self.store(&t, rest, StoreMode::Append, false, out),
            b"prepend" => self.store(&t, rest, StoreMode::Prepend, false, out),
            b"cas" => self.store(&t, rest, StoreMode::Set, true, out),
            b"incr" => self.arith(&t, true, out),
            b"decr" => self.arith(&t, false, out),
            b"delete" => self.delete(&t, out),
            b"touch" => self.touch(&t, out),
            b"flush_all" => self.flush_all(&t, out),
            b"version" => {
                out.extend_from_slice(b"VERSION ");
                out.extend_from_slice(super::VERSION.as_bytes());
                out.extend_from_slice(b"\r\n");
                Step::Done(0)
            }
            b"verbosity" => self.verbosity(&t, out),
            b"stats" => self.stats(&t, out),
            b"quit" => Step::Close,
            _ => {
                out.extend_from_slice(replies::ERROR);
                Step::Done(0)
            }
        }
    }

    /// Runs the meta command `name`.
    fn meta_command(&mut self, name: &[u8], t: &Tokens<'_>, rest: &[u8], out: &mut Vec<u8>) -> Step {
        match name {
            b"mg" => self.meta_get(t, out),
            b"ms" => self.meta_set(t, rest, out),
            b"md" => self.meta_delete(t, out),
            b"ma" => self.meta_arith(t, out),
            b"me" => self.meta_debug(t, out),
            _ => {
                out.extend_from_slice(b"MN\r\n");
                Step::Done(0)
            }
        }
    }

    /// Counts `n` of `stat`.
    pub(super) fn count(&mut self, stat: Stat, n: u64) {
        self.local.add(stat, n);
    }
}

/// Answers a binary-protocol request (first byte 0x80) with a binary
/// "not supported" response carrying a message, echoing its opcode and
/// opaque; the connection is then closed.
fn refuse_binary(request: &[u8], out: &mut Vec<u8>) {
    const MESSAGE: &[u8] = b"the binary protocol is not supported: use the text or meta protocol";
    let opcode = request.get(1).copied().unwrap_or(0);
    let opaque = request.get(12..16).unwrap_or(&[0; 4]);
    out.extend_from_slice(&[0x81, opcode, 0, 0, 0, 0, 0x00, 0x83]);
    out.extend_from_slice(&u32::try_from(MESSAGE.len()).unwrap_or(0).to_be_bytes());
    out.extend_from_slice(opaque);
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(MESSAGE);
}
