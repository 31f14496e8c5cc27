//! A RESP connection as a pump serves it (see `pump`): its session and
//! parser, run batch by batch as in its task (`connection.rs`), until it
//! has to wait. A blocking command, a push for the client (a pub/sub
//! message, an invalidation, a MONITOR line) or anything else that wakes
//! it hands it off to a task of its own, which goes on from where the
//! pump left it. A killed client is closed by the pump.

use super::ClientSlot;
use super::connection::{Blocked, Client, Start, Stop, run_commands};
use super::dormant::Dormant;
use super::pump::{Answer, Check, Pumped};
use super::resp::RequestParser;
use super::session::Session;
use super::state::Hot;
use crate::db::Db;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::Context;
use tokio::net::TcpStream;
use tokio::sync::futures::OwnedNotified;
use tokio::sync::watch;

/// A plain-TCP RESP connection handed to a pump.
pub(super) struct RespConn {
    session: Session,
    parser: RequestParser,
    /// Fires on a push for the client, or when it is killed.
    woken: Dormant<OwnedNotified>,
    /// The blocking command its last batch stopped at.
    blocked: Option<Blocked>,
    shutdown: watch::Receiver<bool>,
    slot: ClientSlot,
}

impl RespConn {
    pub(super) fn new(session: Session, shutdown: watch::Receiver<bool>, slot: ClientSlot) -> Self {
        let parser = RequestParser::new(session.state.config.parse_limits);
        let woken = Dormant::new(std::sync::Arc::clone(&session.info.wake).notified_owned());
        RespConn { session, parser, woken, blocked: None, shutdown, slot }
    }
}

impl Pumped for RespConn {
    fn answer(&mut self, input: &[u8], out: &mut Vec<u8>) -> Answer {
        let session = &mut self.session;
        let before = out.len();
        session.begin_batch();
        let (consumed, stop) = run_commands(session, &mut self.parser, input, out);
        let mut answer = Answer { consumed, ..Answer::default() };
        match stop {
            Stop::Drained => {}
            Stop::Close => answer.close = true,
            Stop::Block(blocked) => {
                // Its task runs it, then the rest of the input.
                self.blocked = Some(blocked);
                answer.hand_off = true;
            }
        }
        session.release_gate();
        session.flush_stats();
        if !answer.hand_off && !session.drain_pushes(out) {
            // Killed, or fell behind on its pushes.
            answer.close = true;
        }
        // Redis closes a client whose unparsed input exceeds the limit.
        if input.len() - consumed.min(input.len()) > session.state.config.query_buffer_limit {
            answer.close = true;
        }
        session.state.stats.add(Hot::NetOutputBytes, (out.len() - before) as u64);
        answer
    }

    /// The key of a `GET` (the one RESP lookup warmed across clients).
    fn lookups<'a>(input: &'a [u8], mut each: impl FnMut(&'a [u8])) {
        if let Some(key) = super::resp::get_key(input) {
            each(key);
        }
    }

    fn db(&self) -> &Db {
        self.session.current()
    }

    /// Counted as read, as Redis counts it: a request split across reads,
    /// or left for the task the connection is handed to, counts once.
    fn received(&mut self, bytes: usize) {
        self.session.state.stats.add(Hot::NetInputBytes, bytes as u64);
    }

    fn check(&mut self, cx: &mut Context<'_>) -> Check {
        if Pin::new(&mut self.woken).poll(cx).is_pending() {
            return Check::Go;
        }
        if self.session.info.killed.load(Ordering::Relaxed) { Check::Close } else { Check::HandOff }
    }

    fn hand_off(self, stream: TcpStream, input: Vec<u8>, unsent: Vec<u8>) {
        let RespConn { session, parser, blocked, shutdown, slot, .. } = self;
        let start = match blocked {
            Some(blocked) => Start::Blocked(blocked),
            None => Start::Woken,
        };
        let client = Client { stream, session, parser, buf: input, out: unsent, shutdown };
        tokio::spawn(async move {
            let _slot = slot;
            client.run(start).await;
        });
    }
}
