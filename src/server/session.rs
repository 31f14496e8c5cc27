//! One connection's state and the dispatch of its commands: connection
//! commands, transactions, pub/sub, the server's own commands, and then
//! the `Db` of the selected database.

use super::acl_commands::{self, Admit};
use super::commands::{self, ClientState};
use super::gate;
use super::multi::{self, Transaction};
use super::resp::{Outcome, Protocol, RespOut, encode, encode_push, encode_status};
use super::state::{ClientInfo, CommandStat, Hot, Push, ServerState};
use super::tracking::Running;
use super::{admin, databases, subscribe};
use crate::db::catalog;
use crate::db::command::{BLOCKING, Command, WRITE, lookup};
use crate::db::pubsub::Subscription;
use crate::db::{BlockCancel, Db, Reply};
use crate::time::Stamp;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// See [`Session::overflow_probe`].
pub(crate) struct OverflowProbe {
    pub(crate) info: Arc<ClientInfo>,
    dropped: Option<Arc<std::sync::atomic::AtomicU64>>,
}

impl OverflowProbe {
    pub(crate) fn overflowed(&self) -> bool {
        self.info.killed.load(Ordering::Relaxed) || self.dropped.as_ref().is_some_and(|d| d.load(Ordering::Relaxed) > 0)
    }
}

/// What the connection must do after a command.
pub(crate) enum Next {
    /// The reply is in the output buffer: go on.
    Done,
    /// A blocking command to run off the connection's task, on `db`.
    Block(Db, Vec<Vec<u8>>),
}

/// A connection's state.
pub(crate) struct Session {
    pub(crate) state: Arc<ServerState>,
    pub(crate) info: Arc<ClientInfo>,
    pub(crate) client: ClientState,
    /// The selected database's index.
    pub(crate) db: usize,
    /// The selected database, as of generation `handle_gen` of the table
    /// (see [`Databases::refresh`](super::databases::Databases::refresh)).
    handle: Db,
    handle_gen: u64,
    pub(crate) tx: Transaction,
    pub(crate) sub: Option<Subscription>,
    /// CLIENT CACHING yes/no for the next command (OPTIN/OPTOUT tracking).
    pub(crate) caching: Option<bool>,
    pub(crate) tracking_optin: bool,
    pub(crate) tracking_optout: bool,
    /// Whether CLIENT TRACKING is on.
    pub(crate) tracking: bool,
    /// Command statistics not yet merged into the server's.
    stats: Vec<(&'static str, CommandStat)>,
    /// Counters not yet merged into the server's.
    counts: Counts,
    /// Running EXEC's commands: the gate is closed by this client.
    in_exec: bool,
    /// Whether this connection holds the EXEC gate for its current batch.
    holding_gate: bool,
    /// The last fast-path command of the batch, for CLIENT LIST's `cmd`.
    last_cmd: Option<&'static str>,
    /// When the previous command ended (or the current batch began).
    mark: Stamp,
}

/// A connection's counters between merges into the server's statistics.
#[derive(Debug, Default)]
struct Counts {
    processed: u64,
    hits: u64,
    misses: u64,
    errors: u64,
    changes: u64,
}

/// `Db` commands the session answers itself (SELECT changes the
/// connection's database; FLUSHALL empties every database, not one;
/// COPY may name another database, MOVE and SWAPDB always do
/// ([`databases`]).
const SERVER_OVERRIDES: &[&str] = &["select", "flushall", "copy"];

/// Commands allowed in RESP2 while subscribed.
const SUBSCRIBED_OK: &[&str] =
    &["subscribe", "psubscribe", "unsubscribe", "punsubscribe", "ssubscribe", "sunsubscribe", "ping", "quit", "reset"];

/// Commands that run at once inside MULTI instead of being queued.
const NOT_QUEUED: &[&str] = &["exec", "discard", "multi", "watch", "quit", "reset"];

/// Server-level commands, known to MULTI's queueing check.
pub(crate) const SERVER_COMMANDS: &[(&str, i32)] = &[
    ("ping", -1),
    ("echo", 2),
    ("quit", -1),
    ("reset", 1),
    ("hello", -1),
    ("client", -2),
    ("select", 2),
    ("multi", 1),
    ("exec", 1),
    ("discard", 1),
    ("watch", -2),
    ("unwatch", 1),
    ("subscribe", -2),
    ("psubscribe", -2),
    ("unsubscribe", -1),
    ("punsubscribe", -1),
    ("info", -1),
    ("config", -2),
    ("dbsize", 1),
    ("flushdb", -1),
    ("flushall", -1),
    ("save", 1),
    ("bgsave", -1),
    ("lastsave", 1),
    ("slowlog", -2),
    ("time", 1),
    ("shutdown", -1),
    ("monitor", 1),
    ("swapdb", 3),
    ("move", 3),
];

fn lower(name: &[u8]) -> String {
    String::from_utf8_lossy(name).to_ascii_lowercase()
}

impl Session {
    pub(crate) fn new(state: Arc<ServerState>, info: Arc<ClientInfo>) -> Self {
        let client = ClientState::new(info.id, &state.config.acl);
        let (handle, handle_gen) = state.dbs.handle(0).unwrap_or_else(|| (Db::new(), u64::MAX));
        Session {
            state,
            info,
            client,
            db: 0,
            handle,
            handle_gen,
            tx: Transaction::default(),
            sub: None,
            caching: None,
            tracking_optin: false,
            tracking_optout: false,
            tracking: false,
            stats: Vec::new(),
            counts: Counts::default(),
            in_exec: false,
            holding_gate: false,
            last_cmd: None,
            mark: Stamp::now(),
        }
    }

    /// Merges this connection's command statistics into the server's.
    pub(crate) fn flush_stats(&mut self) {
        if let Some(name) = self.last_cmd.take() {
            let mut last = self.info.last_cmd.lock();
            if *last != name {
                name.clone_into(&mut last);
            }
        }
        let c = std::mem::take(&mut self.counts);
        let stats = &self.state.stats;
        stats.add(Hot::CommandsProcessed, c.processed);
        stats.add(Hot::KeyspaceHits, c.hits);
        stats.add(Hot::KeyspaceMisses, c.misses);
        stats.add(Hot::ErrorReplies, c.errors);
        stats.add(Hot::Changes, c.changes);
        if self.stats.iter().all(|(_, s)| s.calls == 0) {
            return;
        }
        let mut all = self.state.stats.commands_here();
        for (name, s) in self.stats.iter_mut().filter(|(_, s)| s.calls > 0) {
            match all.get_mut(*name) {
                Some(t) => t.merge(s),
                None => {
                    all.entry((*name).to_string()).or_default().merge(s);
                }
            }
            // Kept, with its histogram's room, for the next batch.
            s.clear();
        }
    }

    /// This connection's statistics of command `name`.
    fn stat(&mut self, name: &'static str) -> &mut CommandStat {
        // A connection runs a handful of distinct commands: a short scan
        // beats hashing the name.
        let at = match self.stats.iter().position(|(n, _)| std::ptr::eq(*n, name) || *n == name) {
            Some(at) => at,
            None => {
                self.stats.push((name, CommandStat::default()));
                self.stats.len() - 1
            }
        };
        &mut self.stats[at].1
    }

    pub(crate) fn proto(&self) -> Protocol {
        self.client.proto
    }

    /// The selected database, as of the last [`Session::refresh`].
    pub(crate) fn current(&self) -> &Db {
        &self.handle
    }

    /// Follows a SWAPDB: the handle of the selected database is read again
    /// if the table changed. Inside the gate (or EXEC), no SWAPDB runs
    /// until the command ends.
    pub(crate) fn refresh(&mut self) {
        self.state.dbs.refresh(self.db, &mut self.handle, &mut self.handle_gen);
    }

    /// The selected database read from the table now (for commands that
    /// cannot refresh the handle, holding the gate through `&self`).
    pub(crate) fn current_now(&self) -> Db {
        self.state.dbs.get(self.db).unwrap_or_else(|| self.handle.clone())
    }

    pub(crate) fn subscriptions(&self) -> usize {
        self.sub.as_ref().map_or(0, Subscription::count)
    }

    /// Runs one command, appending its reply (or replies) to `out`.
    pub(crate) fn run(&mut self, args: &[&[u8]], out: &mut Vec<u8>) -> Next {
        let Some(name) = args.first() else { return Next::Done };
        // Most commands are the `Db`'s, outside transactions and pub/sub:
        // they run on the arguments as they lie in the input buffer.
        if let Some(cmd) = lookup(name)
            && cmd.flags & BLOCKING == 0
            && !self.tx.in_multi()
            && self.subscriptions() == 0
            && !SERVER_OVERRIDES.contains(&cmd.name)
        {
            self.note_fast(cmd.name, args);
            if !self.admit(args, out) {
                return Next::Done;
            }
            let outcome = self.execute_fast(cmd, args, &mut RespOut::new(out, self.client.proto));
            if outcome.error {
                self.counts.errors += 1;
            }
            return Next::Done;
        }
        self.run_other(args.iter().map(|a| a.to_vec()).collect(), out)
    }

    /// Leaves the gate the fast path holds over a batch: at the batch's
    /// end, before anything awaits, and before a command that manages the
    /// gate itself.
    pub(crate) fn release_gate(&mut self) {
        if std::mem::take(&mut self.holding_gate) {
            self.info.busy.leave();
        }
    }

    /// [`Session::run`] for everything but the fast path: the server's own
    /// commands, transactions, pub/sub and blocking commands.
    fn run_other(&mut self, args: Vec<Vec<u8>>, out: &mut Vec<u8>) -> Next {
        self.release_gate();
        let Some(name) = args.first() else { return Next::Done };
        let proto = self.client.proto;
        let lname = lower(name);
        self.note_command(&lname, &args);
        if !self.admit(&args, out) {
            return Next::Done;
        }
        // In RESP2, a subscribed connection only (un)subscribes and pings.
        if proto == Protocol::Resp2 && self.subscriptions() > 0 && !SUBSCRIBED_OK.contains(&lname.as_str()) {
            let msg = format!(
                "ERR Can't execute '{lname}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
            );
            encode(Reply::Error(msg), proto, out);
            return Next::Done;
        }
        if self.tx.in_multi() && !NOT_QUEUED.contains(&lname.as_str()) {
            let reply = self.queue(&lname, args);
            encode(reply, proto, out);
            return Next::Done;
        }
        let reply = match lname.as_str() {
            "multi" => self.multi(),
            "exec" => self.exec(),
            "discard" => self.discard(),
            "watch" => self.watch(&args),
            "unwatch" => {
                self.tx.unwatch(&self.state.watches);
                Reply::OK
            }
            "reset" => self.reset(),
            "select" => self.select(&args),
            "move" | "swapdb" | "copy" => self.between_databases(&lname, &args),
            "subscribe" | "psubscribe" | "unsubscribe" | "punsubscribe" => {
                subscribe::run(self, &lname, &args, out);
                return Next::Done;
            }
            "ping" if self.subscriptions() > 0 && proto == Protocol::Resp2 => {
                let msg = args.get(1).cloned().unwrap_or_default();
                if args.len() > 2 {
                    Reply::Error("ERR wrong number of arguments for 'ping' command".into())
                } else {
                    Reply::Array(vec![Reply::bulk("pong"), Reply::Bulk(msg)])
                }
            }
            "monitor" => {
                admin::monitor(self);
                Reply::OK
            }
            _ => match admin::run(self, &lname, &args) {
                Some(reply) => reply,
                None => match commands::handle(&args, &mut self.client) {
                    Some(reply) => {
                        if lname == "hello" {
                            *self.info.name.lock() = self.client.name.clone();
                        }
                        reply
                    }
                    None if lookup(name).is_some_and(|c| c.flags & BLOCKING != 0) => {
                        self.refresh();
                        return Next::Block(self.current().clone(), args);
                    }
                    None => self.execute(&args),
                },
            },
        };
        if reply.is_error() {
            self.counts.errors += 1;
        }
        if lname == "shutdown" && reply == Reply::Simple("") {
            // Shutting down: no reply, the connection closes.
            self.client.quit = true;
            return Next::Done;
        }
        self.info.resp.store(if self.client.proto == Protocol::Resp3 { 3 } else { 2 }, Ordering::Relaxed);
        encode(reply, self.client.proto, out);
        Next::Done
    }

    /// Runs a `Db` command of the selected database, inside the gate.
    fn execute(&mut self, args: &[Vec<u8>]) -> Reply {
        let start = Stamp::now();
        let reply = {
            if !self.in_exec && !self.holding_gate {
                // Held until the batch ends (see `Session::release_gate`).
                self.state.gate.hold(&self.info.busy);
                self.holding_gate = true;
            }
            self.state.dbs.refresh(self.db, &mut self.handle, &mut self.handle_gen);
            let _me = Running::enter(self.info.id);
            self.handle.execute(args)
        };
        self.after(args, &reply, start);
        reply
    }

    /// Enters the gate for one command (not needed inside EXEC, which has
    /// closed it for everyone else).
    pub(crate) fn enter_gate(&self) -> Option<gate::Inside<'_>> {
        (!self.in_exec).then(|| self.state.gate.enter(&self.info.busy))
    }

    /// Closes the gate, waiting for every other client's command to end
    /// (EXEC, SWAPDB); inside EXEC this client holds it already.
    pub(crate) fn close_gate(&self) -> Option<gate::Closed<'_>> {
        (!self.in_exec)
            .then(|| self.state.gate.close(&self.info.busy, || self.state.clients.lock().values().cloned().collect()))
    }

    /// MOVE, SWAPDB and COPY, with the bookkeeping of a write.
    fn between_databases(&mut self, lname: &str, args: &[Vec<u8>]) -> Reply {
        let start = Stamp::now();
        let reply = databases::run(self, lname, args);
        if lname == "copy" {
            self.after(args, &reply, start);
        } else if !reply.is_error() {
            self.counts.changes += 1;
        }
        // After a SWAPDB (of this client's database, perhaps).
        self.refresh();
        reply
    }

    /// The fast path for a `Db` command outside transactions and pub/sub:
    /// one table lookup, the gate, the command, local bookkeeping.
    fn execute_fast(&mut self, cmd: &'static Command, args: &[&[u8]], out: &mut RespOut<'_>) -> Outcome {
        // Timed from the end of the previous command (or the batch's
        // start): one clock read per command.
        let start = self.mark;
        {
            // The command's keys expire against that same reading.
            let _now = crate::time::PinnedNow::pin(start);
            if !self.in_exec && !self.holding_gate {
                // Held until the batch ends (see `Session::release_gate`).
                self.state.gate.hold(&self.info.busy);
                self.holding_gate = true;
            }
            self.state.dbs.refresh(self.db, &mut self.handle, &mut self.handle_gen);
            let _me = Running::enter(self.info.id);
            self.handle.run_command_to(cmd, args, out);
        }
        let outcome = out.outcome();
        self.account(cmd, args, outcome, start);
        outcome
    }

    /// Bookkeeping after a `Db` command: stats, slow log, tracking.
    pub(crate) fn after(&mut self, args: &[Vec<u8>], reply: &Reply, start: Stamp) {
        if let Some(cmd) = args.first().and_then(|n| lookup(n)) {
            self.account(cmd, args, Outcome::of(reply), start);
        }
    }

    fn account<A: AsRef<[u8]>>(&mut self, cmd: &'static Command, args: &[A], outcome: Outcome, start: Stamp) {
        let now = Stamp::now();
        self.mark = now;
        let micros = now.micros_since(start);
        {
            // Kept locally, merged into the server's after each batch.
            let s = self.stat(cmd.name);
            s.calls += 1;
            s.usec += micros;
            s.latency.record(micros);
            if outcome.error {
                s.failed += 1;
            }
        }
        self.state.record_slow(args, micros, &self.info);
        if cmd.flags & WRITE != 0 {
            if !outcome.error {
                self.counts.changes += 1;
            }
        } else {
            if args.len() > 1 && !outcome.error {
                if outcome.null {
                    self.counts.misses += 1;
                } else {
                    self.counts.hits += 1;
                }
            }
            let track = self.tracking
                && match (self.tracking_optin, self.tracking_optout) {
                    (true, _) => self.caching == Some(true),
                    (_, true) => self.caching != Some(false),
                    _ => true,
                };
            if track && let Some(spec) = catalog::resolve(args) {
                self.state.tracking.remember(self.info.id, &spec.key_args(args));
            }
        }
        self.caching = None;
    }

    /// Redis's order: authentication and permissions before anything
    /// else. `false` if the command is refused (its error is in `out`) or
    /// the connection is to close.
    fn admit<A: AsRef<[u8]>>(&mut self, args: &[A], out: &mut Vec<u8>) -> bool {
        match acl_commands::admit(args, &mut self.client) {
            Admit::Run => true,
            Admit::Refuse(reply) => {
                self.counts.errors += 1;
                encode(reply, self.client.proto, out);
                false
            }
            Admit::Close => {
                self.client.quit = true;
                false
            }
        }
    }

    /// A batch of commands arrived: the clock for their timings, and the
    /// client's last activity (CLIENT LIST's `idle`).
    pub(crate) fn begin_batch(&mut self) {
        let now = Instant::now();
        self.mark = Stamp::of(now);
        let ms = u64::try_from(now.saturating_duration_since(self.info.created).as_millis()).unwrap_or(u64::MAX);
        self.info.last_active_ms.store(ms, Ordering::Relaxed);
    }

    fn note_command<A: AsRef<[u8]>>(&mut self, lname: &str, args: &[A]) {
        self.counts.processed += 1;
        self.last_cmd = None;
        let mut last = self.info.last_cmd.lock();
        if *last != lname {
            lname.clone_into(&mut last);
        }
        drop(last);
        self.feed_monitors(lname, args);
    }

    /// [`Session::note_command`] for the fast path: the name is published
    /// for CLIENT LIST once per batch (see [`Session::flush_stats`]).
    fn note_fast<A: AsRef<[u8]>>(&mut self, name: &'static str, args: &[A]) {
        self.counts.processed += 1;
        self.last_cmd = Some(name);
        self.feed_monitors(name, args);
    }

    fn feed_monitors<A: AsRef<[u8]>>(&self, lname: &str, args: &[A]) {
        if self.state.monitoring.load(Ordering::Relaxed) && lname != "monitor" {
            admin::feed_monitors(self, args);
        }
    }

    fn multi(&mut self) -> Reply {
        if self.tx.in_multi() {
            return Reply::Error("ERR MULTI calls can not be nested".into());
        }
        self.tx.queued = Some(Vec::new());
        self.tx.failed = false;
        self.info.multi.store(1, Ordering::Relaxed);
        Reply::OK
    }

    /// Checks and queues a command inside MULTI.
    fn queue(&mut self, lname: &str, args: Vec<Vec<u8>>) -> Reply {
        let arity = lookup(&args[0])
            .map(|c| c.arity)
            .or_else(|| SERVER_COMMANDS.iter().find(|(n, _)| *n == lname).map(|(_, a)| *a));
        let err = match arity {
            None => {
                let rest: String = args.iter().skip(1).map(|a| format!("'{}' ", clip(a))).collect();
                Some(format!("ERR unknown command '{}', with args beginning with: {rest}", clip(&args[0])))
            }
            Some(a) if !arity_ok(a, args.len()) => Some(format!("ERR wrong number of arguments for '{lname}' command")),
            Some(_) if lname == "watch" => Some("ERR WATCH inside MULTI is not allowed".into()),
            Some(_) => None,
        };
        if let Some(e) = err {
            self.tx.failed = true;
            return Reply::Error(e);
        }
        if let Some(q) = self.tx.queued.as_mut() {
            q.push(args);
            self.info.multi.fetch_add(1, Ordering::Relaxed);
        }
        Reply::Simple("QUEUED")
    }

    fn discard(&mut self) -> Reply {
        if !self.tx.in_multi() {
            return Reply::Error("ERR DISCARD without MULTI".into());
        }
        self.end_multi();
        Reply::OK
    }

    fn end_multi(&mut self) {
        self.tx.queued = None;
        self.tx.failed = false;
        self.tx.unwatch(&self.state.watches);
        self.info.multi.store(0, Ordering::Relaxed);
    }

    fn exec(&mut self) -> Reply {
        let Some(queued) = self.tx.queued.take() else {
            return Reply::Error("ERR EXEC without MULTI".into());
        };
        if self.tx.failed {
            self.end_multi();
            return Reply::Error("EXECABORT Transaction discarded because of previous errors.".into());
        }
        let state = Arc::clone(&self.state);
        let _closed = state.gate.close(&self.info.busy, || state.clients.lock().values().cloned().collect());
        self.in_exec = true;
        if self.tx.watch_failed(&state.dbs.all()) {
            self.in_exec = false;
            self.end_multi();
            return multi::aborted();
        }
        // Nothing changes our watched keys from here on but ourselves.
        self.tx.unwatch(&state.watches);
        let mut replies = Vec::with_capacity(queued.len());
        let mut scratch = Vec::new();
        for args in queued {
            replies.push(self.run_queued(args, &mut scratch));
        }
        self.in_exec = false;
        self.end_multi();
        Reply::Array(replies)
    }

    /// Runs one queued command inside EXEC (the gate is held exclusively).
    fn run_queued(&mut self, args: Vec<Vec<u8>>, scratch: &mut Vec<u8>) -> Reply {
        let lname = lower(&args[0]);
        let start = Stamp::now();
        self.refresh();
        let reply = match lname.as_str() {
            "select" => self.select(&args),
            "unwatch" => Reply::OK,
            "move" | "swapdb" | "copy" => return self.between_databases(&lname, &args),
            "subscribe" | "psubscribe" | "unsubscribe" | "punsubscribe" => {
                // Their replies are push-like arrays; keep the first.
                scratch.clear();
                subscribe::run(self, &lname, &args, scratch);
                return Reply::Simple("OK");
            }
            _ => match admin::run(self, &lname, &args) {
                Some(reply) => reply,
                None => match commands::handle(&args, &mut self.client) {
                    Some(reply) => reply,
                    None => {
                        let _me = Running::enter(self.info.id);
                        let db = self.current().clone();
                        if lookup(&args[0]).is_some_and(|c| c.flags & BLOCKING != 0) {
                            // Inside a transaction nothing blocks.
                            let cancel = BlockCancel::new();
                            cancel.cancel();
                            db.execute_cancellable(&args, &cancel)
                        } else {
                            db.execute(&args)
                        }
                    }
                },
            },
        };
        self.after(&args, &reply, start);
        reply
    }

    fn watch(&mut self, args: &[Vec<u8>]) -> Reply {
        if self.tx.in_multi() {
            return Reply::Error("ERR WATCH inside MULTI is not allowed".into());
        }
        self.refresh();
        let db = self.current().clone();
        self.tx.watch(&self.state.watches, &db, self.db, &args[1..]);
        Reply::OK
    }

    fn select(&mut self, args: &[Vec<u8>]) -> Reply {
        if args.len() != 2 {
            return Reply::Error("ERR wrong number of arguments for 'select' command".into());
        }
        match std::str::from_utf8(&args[1]).ok().and_then(|s| s.parse::<i64>().ok()) {
            None => Reply::Error("ERR value is not an integer or out of range".into()),
            Some(i) if i < 0 || i as u64 >= self.state.dbs.len() as u64 => {
                Reply::Error("ERR DB index is out of range".into())
            }
            Some(i) => self.select_index(usize::try_from(i).unwrap_or(0)),
        }
    }

    /// Selects database `index` (a valid one).
    fn select_index(&mut self, index: usize) -> Reply {
        if let Some((handle, generation)) = self.state.dbs.handle(index) {
            self.db = index;
            self.handle = handle;
            self.handle_gen = generation;
        }
        self.info.db.store(self.db, Ordering::Relaxed);
        Reply::OK
    }

    /// RESET: back to a new connection's state.
    fn reset(&mut self) -> Reply {
        if self.tx.in_multi() {
            self.end_multi();
        }
        self.tx.unwatch(&self.state.watches);
        self.sub = None;
        self.info.subs.store(0, Ordering::Relaxed);
        self.info.psubs.store(0, Ordering::Relaxed);
        self.state.tracking.forget_client(self.info.id);
        self.caching = None;
        self.tracking_optin = false;
        self.tracking_optout = false;
        self.tracking = false;
        self.select_index(0);
        self.client.proto = Protocol::Resp2;
        self.client.name = None;
        // Back to the default user, unauthenticated if it has a password.
        self.client.auth = acl_commands::ClientAuth::new(&self.state.config.acl);
        *self.info.name.lock() = None;
        self.info.no_evict.store(false, Ordering::Relaxed);
        let mut m = self.state.monitors.lock();
        m.retain(|c| c.id != self.info.id);
        self.state.monitoring.store(!m.is_empty(), Ordering::Relaxed);
        Reply::Simple("RESET")
    }

    /// What tells whether the client fell too far behind on its push
    /// messages (or was killed) and must be disconnected.
    pub(crate) fn overflow_probe(&self) -> OverflowProbe {
        OverflowProbe { info: Arc::clone(&self.info), dropped: self.sub.as_ref().map(Subscription::drop_counter) }
    }

    /// Moves queued push messages (pub/sub, invalidations, MONITOR) to `out`.
    /// `false` if the client fell too far behind and must be closed.
    pub(crate) fn drain_pushes(&mut self, out: &mut Vec<u8>) -> bool {
        let proto = self.client.proto;
        if let Some(sub) = &self.sub {
            while let Some(m) = sub.try_recv() {
                let items = match &m.pattern {
                    Some(p) => vec![
                        Reply::bulk("pmessage"),
                        Reply::Bulk(p.to_vec()),
                        Reply::Bulk(m.channel.to_vec()),
                        Reply::Bulk(m.payload.to_vec()),
                    ],
                    None => {
                        vec![Reply::bulk("message"), Reply::Bulk(m.channel.to_vec()), Reply::Bulk(m.payload.to_vec())]
                    }
                };
                encode_push(items, proto, out);
            }
            if sub.dropped() > 0 {
                // The subscriber's queue overflowed: Redis's output buffer
                // limit for pub/sub clients disconnects it.
                return false;
            }
        }
        let pushes = std::mem::take(&mut *self.info.pushes.lock());
        for p in pushes {
            match p {
                Push::Message(items) => encode_push(items, proto, out),
                Push::Status(line) => encode_status(&line, out),
            }
        }
        !self.info.killed.load(Ordering::Relaxed)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.release_gate();
        self.flush_stats();
        self.tx.unwatch(&self.state.watches);
        self.state.disconnect(self.info.id);
    }
}

fn arity_ok(arity: i32, n: usize) -> bool {
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    let a = i64::from(arity);
    if a >= 0 { n == a } else { n >= -a }
}

fn clip(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.len().min(128)]).into_owned()
}
