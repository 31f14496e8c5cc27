//! One RESP connection in a task of its own: read, parse every complete
//! command, run each, write all their replies at once; between reads,
//! deliver what the server pushes (pub/sub messages, invalidations,
//! MONITOR lines). TLS connections and those on a multi-thread runtime
//! live here from the start; plain-TCP ones on a pump (`pumped.rs`) come
//! here when they have to wait. [`run_commands`], the batch itself, is
//! shared by both.

use super::dormant::Dormant;
use super::resp::{Args, RequestParser, encode};
use super::session::{Next, OverflowProbe, Session};
use super::state::Hot;
use super::state::ServerState;
use crate::db::{BlockCancel, Reply};
use bytes::BufMut;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

/// How much is read from the socket at a time (Redis's `PROTO_IOBUF_LEN`).
const READ_CHUNK: usize = super::pump::READ_CHUNK;

/// A blocking command that stopped a batch, to run off the batch: the
/// database it waits on, and its arguments.
pub(super) type Blocked = (crate::db::Db, Vec<Vec<u8>>);

/// Why [`run_commands`] stopped.
pub(super) enum Stop {
    /// The input holds no more complete commands.
    Drained,
    /// A command blocks: it must wait off the batch, then the batch goes on.
    Block(Blocked),
    /// The client sent QUIT, or a malformed request (answered with the
    /// error): close once the replies are written.
    Close,
}

/// Runs the complete commands at the start of `input`, appending their
/// replies to `out`, until the input is used up, a command blocks, or the
/// connection is to close. Returns the bytes used and why it stopped. The
/// caller brackets a batch with [`Session::begin_batch`] and
/// [`Session::release_gate`].
pub(super) fn run_commands(
    session: &mut Session,
    parser: &mut RequestParser,
    input: &[u8],
    out: &mut Vec<u8>,
) -> (usize, Stop) {
    let mut start = 0;
    loop {
        let mut args = Args::new();
        let next = match parser.next(input.get(start..).unwrap_or_default(), &mut args) {
            Ok(Some(consumed)) => {
                start += consumed;
                if args.is_empty() {
                    continue;
                }
                session.run(&args, out)
            }
            Ok(None) => return (start, Stop::Drained),
            Err(e) => {
                // As Redis: reply with the error, then close.
                encode(Reply::Error(e.to_string()), session.proto(), out);
                return (start, Stop::Close);
            }
        };
        drop(args);
        if let Next::Block(db, args) = next {
            return (start, Stop::Block((db, args)));
        }
        if session.client.quit {
            return (start, Stop::Close);
        }
    }
}

/// Serves one connection until the peer leaves, sends QUIT or a malformed
/// request, overflows the query buffer, is killed (by CLIENT KILL, or for
/// idling past `timeout`: see `ServerState::close_idle`), or the server
/// shuts down.
pub(crate) async fn serve<S>(
    stream: S,
    addrs: (SocketAddr, SocketAddr),
    state: Arc<ServerState>,
    shutdown: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let info = state.connect(addrs.0, addrs.1);
    let session = Session::new(Arc::clone(&state), info);
    let parser = RequestParser::new(state.config.parse_limits);
    let client = Client {
        stream,
        session,
        parser,
        buf: Vec::with_capacity(READ_CHUNK),
        out: Vec::with_capacity(READ_CHUNK),
        shutdown,
    };
    client.run(Start::Fresh).await;
}

/// A connection served by a task of its own: its socket, its session, and
/// its input and output buffers.
pub(super) struct Client<S> {
    pub(super) stream: S,
    pub(super) session: Session,
    pub(super) parser: RequestParser,
    /// Input not yet run.
    pub(super) buf: Vec<u8>,
    /// Replies not yet written.
    pub(super) out: Vec<u8>,
    pub(super) shutdown: watch::Receiver<bool>,
}

/// How a [`Client`]'s task begins.
pub(super) enum Start {
    /// A fresh connection.
    Fresh,
    /// Taken over from a pump (`pumped.rs`) that was woken for it (a push
    /// for it or a kill), with its batch done.
    Woken,
    /// Taken over from a pump in the middle of a batch, stopped at a
    /// blocking command: it runs first, then the rest of `buf`.
    Blocked(Blocked),
}

impl<S> Client<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    /// Serves the connection until it is to close.
    pub(super) async fn run(mut self, start: Start) {
        let state = Arc::clone(&self.session.state);
        let info = Arc::clone(&self.session.info);
        // Waiting for a push and for shutdown: registered once, not per read
        // (each registration and its removal takes a lock).
        if *self.shutdown.borrow_and_update() {
            return;
        }
        // Polled only when they were woken, not on every wait for the socket.
        let mut wake = Dormant::new(info.wake.notified());
        let mut stop = self.shutdown.clone();
        let mut stopping = Dormant::new(stop.wait_for(|&stop| stop));
        let resumed = match start {
            Start::Fresh => true,
            // The pump runs every complete command it reads, so its input
            // holds at most the start of one; run whatever is there anyway,
            // since no read may come to prompt it.
            Start::Woken => self.deliver().await && (self.buf.is_empty() || self.batch(None).await),
            Start::Blocked(blocked) => self.batch(Some(blocked)).await,
        };
        if !resumed {
            return;
        }
        loop {
            // A busy connection's read is always ready, and the select below
            // tries it first: shutdown is also checked here (an atomic load).
            if self.shutdown.has_changed().unwrap_or(true) && *self.shutdown.borrow_and_update() {
                return;
            }
            let read = tokio::select! {
                // The read first: the other branches stay registered from the
                // last time they were polled, and are polled only when it waits.
                biased;
                // Straight into the parse buffer: no copy of the input.
                r = read_more(&mut self.stream, &mut self.buf) => Some(r),
                () = &mut wake => {
                    wake.set(info.wake.notified());
                    None
                }
                _ = &mut stopping => return,
            };
            let Some(read) = read else {
                if !self.deliver().await {
                    return;
                }
                continue;
            };
            let n = match read {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            state.stats.add(Hot::NetInputBytes, n as u64);
            if !self.batch(None).await {
                return;
            }
        }
    }

    /// Writes the pushes queued for the client; `false` if it is to close.
    async fn deliver(&mut self) -> bool {
        self.session.drain_pushes(&mut self.out)
            && flush(&mut self.stream, &mut self.out, &self.session, &mut self.shutdown).await
    }

    /// Runs the commands in `buf` (after `blocked`, if a batch stopped at
    /// it) and writes their replies; `false` if the connection is to close.
    async fn batch(&mut self, mut blocked: Option<Blocked>) -> bool {
        self.session.begin_batch();
        let mut start = 0;
        let mut close = false;
        loop {
            if let Some((db, args)) = blocked.take() {
                // The replies before it go out first: the client may
                // wait on them while this one blocks.
                self.session.release_gate();
                if !flush(&mut self.stream, &mut self.out, &self.session, &mut self.shutdown).await {
                    return false;
                }
                let Some(reply) = block(self, db, args).await else {
                    return false;
                };
                encode(reply, self.session.proto(), &mut self.out);
            }
            let input = self.buf.get(start..).unwrap_or_default();
            let (used, stop) = run_commands(&mut self.session, &mut self.parser, input, &mut self.out);
            start += used;
            match stop {
                Stop::Drained => break,
                Stop::Block(b) => blocked = Some(b),
                Stop::Close => {
                    close = true;
                    break;
                }
            }
        }
        self.session.release_gate();
        self.buf.drain(..start);
        self.session.flush_stats();
        super::busy_poll::worked();
        super::cpu_slice::ran();
        if !self.deliver().await {
            return false;
        }
        // Redis closes a client whose unparsed input exceeds the limit.
        !close && self.buf.len() <= self.session.state.config.query_buffer_limit
    }
}

/// Reads what the socket has (up to [`READ_CHUNK`]) onto the end of `buf`.
pub(super) async fn read_more<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    buf.reserve(READ_CHUNK);
    let mut limited = (&mut *buf).limit(READ_CHUNK);
    stream.read_buf(&mut limited).await
}

/// Runs a blocking command on the blocking pool while the connection keeps
/// reading onto the end of its input (a client that leaves cancels the wait, so
/// data pushed later is not taken for a closed socket). `None`: the
/// connection is to close.
async fn block<S>(client: &mut Client<S>, db: crate::db::Db, args: Vec<Vec<u8>>) -> Option<Reply>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let Client { stream, session, buf, shutdown, .. } = client;
    let state = &Arc::clone(&session.state);
    let id = session.info.id;
    let index = session.db;
    let start = crate::time::Stamp::now();
    let mut swaps = state.dbs.swaps();
    // A SWAPDB between the command's lookup and the subscription above.
    let db = state.dbs.get(index).filter(|now_at| !now_at.same(&db)).unwrap_or(db);
    state.blocked.fetch_add(1, Ordering::Relaxed);
    session.info.blocked.store(true, Ordering::Relaxed);
    let (mut db, mut cancel) = (db, BlockCancel::new());
    let mut task = wait_on(&db, &args, &cancel, id);
    let stopping = async {
        let _ = shutdown.wait_for(|&stop| stop).await;
    };
    tokio::pin!(stopping);
    let reply = loop {
        tokio::select! {
            r = &mut task => break Some(r.unwrap_or_else(|_| Reply::Error("ERR internal error".into()))),
            () = &mut stopping => break None,
            () = session.info.wake.notified() => {
                if session.info.killed.load(Ordering::Relaxed) {
                    break None;
                }
            }
            r = read_more(stream, buf) => match r {
                Ok(0) | Err(_) => break None,
                Ok(_) => {}
            },
            Ok(()) = swaps.changed() => {
                let Some(now_at) = state.dbs.get(index) else { continue };
                if now_at.same(&db) {
                    continue;
                }
                // A SWAPDB moved the data this client waits on: as in
                // Redis, it waits on its index, now the other data. The
                // cancelled wait takes nothing (unless it was served first).
                cancel.cancel();
                match (&mut task).await {
                    Ok(Reply::Null | Reply::NullArray) => {}
                    Ok(served) => break Some(served),
                    Err(_) => break Some(Reply::Error("ERR internal error".into())),
                }
                cancel = cancel.resumed();
                db = now_at;
                task = wait_on(&db, &args, &cancel, id);
            }
        }
    };
    state.blocked.fetch_sub(1, Ordering::Relaxed);
    session.info.blocked.store(false, Ordering::Relaxed);
    match reply {
        Some(reply) => {
            session.after(&args, &reply, start);
            Some(reply)
        }
        None => {
            // Shut down, killed, or the client left: stop the wait.
            cancel.cancel();
            let _ = task.await;
            None
        }
    }
}

/// Runs blocking command `args` on `db` on the blocking pool, until it is
/// served, times out or `cancel` is cancelled.
fn wait_on(db: &crate::db::Db, args: &[Vec<u8>], cancel: &Arc<BlockCancel>, id: u64) -> tokio::task::JoinHandle<Reply> {
    let (db, args, token) = (db.clone(), args.to_vec(), Arc::clone(cancel));
    tokio::task::spawn_blocking(move || {
        let _me = super::tracking::Running::enter(id);
        // The gate is not held while waiting: a transaction may run, and
        // the push that wakes us is served under its writer's gate.
        db.execute_cancellable(&args, &token)
    })
}

/// Writes and clears `out`; `false` if the connection is to be dropped: a
/// write error, a shutdown while a slow reader keeps the write waiting, or
/// a client that, while its write waits, falls too far behind on its push
/// messages (Redis's output buffer limit: a slow subscriber is
/// disconnected rather than buffered for without end).
fn flush<'a, S>(
    stream: &'a mut S,
    out: &'a mut Vec<u8>,
    session: &Session,
    shutdown: &'a mut watch::Receiver<bool>,
) -> impl std::future::Future<Output = bool> + Send + 'a
where
    S: AsyncWrite + Unpin + Send,
{
    // Taken now: the session itself is not `Sync`, so it stays out of the future.
    let probe = session.overflow_probe();
    let state = Arc::clone(&session.state);
    write_out(stream, out, probe, state, shutdown)
}

async fn write_out<S>(
    stream: &mut S,
    out: &mut Vec<u8>,
    probe: OverflowProbe,
    state: Arc<ServerState>,
    shutdown: &mut watch::Receiver<bool>,
) -> bool
where
    S: AsyncWrite + Unpin,
{
    if out.is_empty() {
        return true;
    }
    let info = &probe.info;
    let mut woken = false;
    let written = {
        let write = async {
            stream.write_all(out).await?;
            stream.flush().await
        };
        tokio::pin!(write);
        // Most writes are taken by the socket at once: no waiting set up.
        let first = std::future::poll_fn(|cx| std::task::Poll::Ready(write.as_mut().poll(cx))).await;
        if let std::task::Poll::Ready(r) = first {
            r.is_ok()
        } else {
            loop {
                tokio::select! {
                    r = &mut write => break r.is_ok(),
                _ = shutdown.wait_for(|&stop| stop) => break false,
                () = info.wake.notified() => {
                    if probe.overflowed() {
                        break false;
                    }
                    woken = true;
                }
                }
            }
        }
    };
    if woken {
        // The wake-up was for the connection's loop: pass it on.
        info.wake.notify_one();
    }
    state.stats.add(Hot::NetOutputBytes, out.len() as u64);
    out.clear();
    written
}
