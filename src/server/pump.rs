//! The plain-TCP connections of a serving thread, pumped by one task.
//!
//! Each of the [`io_threads`](crate::server::ServerBuilder::io_threads)
//! runs a pump per protocol that owns the thread's plain-TCP connections
//! of that protocol; without I/O threads, a current-thread runtime that
//! serves the listeners (`embercache-server` with one thread) runs them.
//! A pump does, in rounds, what memcached's worker thread and redis-server's
//! event loop do: take the sockets that became ready, read what each has,
//! then answer them all. TLS connections, and every connection served on a
//! multi-thread runtime (where one task would hold them all on one worker),
//! keep a task of their own (`connection.rs`, `memcache/connection.rs`).
//!
//! Two things come of serving them together:
//!
//! - **The lookups of different clients overlap.** A round reads every
//!   ready socket before it runs any request, then lets the protocol warm
//!   the lines the round's reads will touch ([`Pumped::lookups`]: the keys of
//!   `get`s, up to [`WARM`]), so their cache misses are taken together
//!   instead of one client's after another's, as a multi-key `get`'s
//!   already are.
//! - **No task per request.** A ready socket costs a push onto the pump's
//!   ready list, not the scheduling and polling of a task of its own.
//!
//! A connection is woken through a waker of its own, which lists it as
//! ready and wakes the pump; the pump reads only the connections listed.
//! Replies the socket does not take at once are kept with their
//! connection, which reads nothing more until they are written (as a
//! connection task waits for its write).
//!
//! What a round cannot do, waiting (a blocking command, a subscriber's
//! pushes), the protocol does in a task: [`Pumped::answer`] or
//! [`Pumped::check`] hands the connection off, with its socket, its unread
//! input and its unsent replies, and the pump forgets it.

use crate::db::Db;
use crate::server::dormant::Dormant;
use bytes::BufMut;
use parking_lot::Mutex;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

/// Most bytes read from one socket at a time (memcached's read buffer,
/// Redis's `PROTO_IOBUF_LEN`).
pub(super) const READ_CHUNK: usize = 16 * 1024;

/// Keys of different clients warmed together, at most.
const WARM: usize = 32;

/// A protocol's side of a pumped connection: its session, and what else
/// lives as long as the connection (its client slot, its count).
pub(super) trait Pumped: Sized + Send + 'static {
    /// Runs the complete requests at the start of `input`, appending their
    /// replies to `out`.
    fn answer(&mut self, input: &[u8], out: &mut Vec<u8>) -> Answer;

    /// Calls `each` on the keys that the first request of `input` reads,
    /// if it is a lookup worth warming (a `get`); the pump warms a round's
    /// keys together, before the round's answers.
    fn lookups<'a>(input: &'a [u8], each: impl FnMut(&'a [u8]));

    /// The database the connection's lookups read.
    fn db(&self) -> &Db;

    /// Called with the bytes each read took off the socket (for the
    /// protocol's input counters).
    fn received(&mut self, _bytes: usize) {}

    /// Polled with the connection's waker each time it is listed, before
    /// its socket is read: events of the connection's own (a push for it, a
    /// kill) that the pump must act on.
    fn check(&mut self, _cx: &mut Context<'_>) -> Check {
        Check::Go
    }

    /// Serves the connection from here on in a task of its own, on the
    /// current thread: `input` is what it read and has not consumed,
    /// `unsent` the replies it has not written. Called only when
    /// [`Pumped::answer`] or [`Pumped::check`] asked for it; a protocol
    /// that never does keeps this default, which closes the connection.
    fn hand_off(self, stream: TcpStream, input: Vec<u8>, unsent: Vec<u8>) {
        drop((self, stream, input, unsent));
    }
}

/// What [`Pumped::answer`] did with its input.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Answer {
    /// Bytes of the input used; 0 if it holds no complete request.
    pub(super) consumed: usize,
    /// Close once the replies are written.
    pub(super) close: bool,
    /// Hand the connection off once the replies so far are kept.
    pub(super) hand_off: bool,
}

/// What [`Pumped::check`] found.
pub(super) enum Check {
    Go,
    Close,
    HandOff,
}

/// A connection handed to a pump: its socket (registered on the pump's
/// thread when it arrives) and its protocol's side.
pub(super) struct Arrival<P> {
    pub(super) socket: std::net::TcpStream,
    pub(super) conn: P,
}

/// The pumps of one protocol, one per serving thread.
pub(super) struct Pumps<P>(Vec<mpsc::UnboundedSender<Arrival<P>>>);

impl<P: Pumped> Pumps<P> {
    /// Starts a pump on each of `handles` (the I/O threads), or, without
    /// them, one on the current runtime if it is a current-thread one;
    /// none otherwise. They run in `tasks` until `stop` turns true.
    pub(super) fn start(handles: &[Handle], tasks: &mut JoinSet<()>, stop: &watch::Receiver<bool>) -> Self {
        let mut pumps = Vec::new();
        let mut start = |handle: &Handle| {
            let (arrive, arrivals) = mpsc::unbounded_channel();
            tasks.spawn_on(pump(arrivals, stop.clone()), handle);
            pumps.push(arrive);
        };
        let current = Handle::current();
        if handles.is_empty() {
            if current.runtime_flavor() == RuntimeFlavor::CurrentThread {
                start(&current);
            }
        } else {
            handles.iter().for_each(start);
        }
        Pumps(pumps)
    }

    /// Whether there are pumps to hand connections to.
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Hands `socket` to the pump of thread `thread`; `conn` (and with it
    /// the socket) is dropped if the socket cannot be moved.
    pub(super) fn send(&self, thread: usize, socket: tokio::net::TcpStream, conn: P) {
        if let (Some(pump), Ok(socket)) = (self.0.get(thread), socket.into_std()) {
            let _ = pump.send(Arrival { socket, conn });
        }
    }
}

/// The pump's list of ready connections, and the pump's waker.
#[derive(Default)]
struct Ready {
    list: Mutex<Vec<usize>>,
    pump: Mutex<Option<Waker>>,
}

impl Ready {
    fn push(&self, index: usize) {
        self.list.lock().push(index);
        if let Some(pump) = &*self.pump.lock() {
            pump.wake_by_ref();
        }
    }
}

/// A connection's waker: lists it as ready (once until the pump takes it).
struct Wakeup {
    index: usize,
    listed: AtomicBool,
    ready: Arc<Ready>,
}

impl Wake for Wakeup {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.listed.swap(true, Ordering::AcqRel) {
            self.ready.push(self.index);
        }
    }
}

/// One connection of the pump.
struct Conn<P> {
    stream: TcpStream,
    proto: P,
    /// Input not yet consumed (an incomplete request, or requests left
    /// for the next round).
    buf: Vec<u8>,
    /// Replies the socket has not taken yet.
    unsent: Vec<u8>,
    /// Close once `unsent` is written.
    closing: bool,
    /// Hand off (see [`Pumped::hand_off`]) rather than go on.
    leaving: bool,
    wakeup: Arc<Wakeup>,
    waker: Waker,
}

/// What reading a connection found.
enum Read {
    /// Nothing (the connection's waker is registered for more).
    Nothing,
    /// Bytes appended to its buffer; `more` if the socket may hold more.
    Got { more: bool },
    /// The peer left, or the socket failed.
    Closed,
}

impl<P: Pumped> Conn<P> {
    /// Reads what the socket has (up to [`READ_CHUNK`]) onto `buf`, and
    /// tells the protocol how much that was.
    fn read(&mut self) -> Read {
        let before = self.buf.len();
        let read = self.read_socket();
        let bytes = self.buf.len().saturating_sub(before);
        if bytes > 0 {
            self.proto.received(bytes);
        }
        read
    }

    /// Reads what the socket has (up to [`READ_CHUNK`]) onto `buf`.
    fn read_socket(&mut self) -> Read {
        let mut cx = Context::from_waker(&self.waker);
        loop {
            match self.stream.poll_read_ready(&mut cx) {
                Poll::Pending => return Read::Nothing,
                Poll::Ready(Err(_)) => return Read::Closed,
                Poll::Ready(Ok(())) => {}
            }
            self.buf.reserve(READ_CHUNK);
            let (stream, buf) = (&self.stream, &mut self.buf);
            let mut partial = 0;
            // A read that leaves the socket's buffer empty clears the
            // socket's readiness (as tokio's `poll_read` does), so that the
            // next round waits for the kernel's word instead of trying a read
            // that would find nothing.
            let read = stream.try_io(Interest::READABLE, || {
                let n = stream.try_read_buf(&mut buf.limit(READ_CHUNK))?;
                if n > 0 && n < READ_CHUNK {
                    partial = n;
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                Ok(n)
            });
            return match read {
                Ok(0) => Read::Closed,
                Ok(_) => Read::Got { more: true },
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if partial == 0 {
                        continue;
                    }
                    // Registers the waker for what comes next.
                    match self.stream.poll_read_ready(&mut cx) {
                        Poll::Ready(Ok(())) => Read::Got { more: true },
                        Poll::Ready(Err(_)) => Read::Closed,
                        Poll::Pending => Read::Got { more: false },
                    }
                }
                Err(_) => Read::Closed,
            };
        }
    }

    /// Writes `out`, keeping in `unsent` what the socket does not take;
    /// `false` if the socket failed.
    fn send(&mut self, mut out: &[u8]) -> bool {
        let mut cx = Context::from_waker(&self.waker);
        while !out.is_empty() {
            match self.stream.try_write(out) {
                // A socket that takes nothing of a non-empty write is gone.
                Ok(0) => return false,
                Ok(n) => out = out.get(n..).unwrap_or_default(),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => match self.stream.poll_write_ready(&mut cx) {
                    Poll::Ready(Ok(())) => continue,
                    Poll::Ready(Err(_)) => return false,
                    Poll::Pending => break,
                },
                Err(_) => return false,
            }
        }
        self.unsent.extend_from_slice(out);
        true
    }

    /// Writes what `unsent` holds; `false` if the socket failed.
    fn send_unsent(&mut self) -> bool {
        let unsent = std::mem::take(&mut self.unsent);
        let ok = self.send(&unsent);
        if ok && self.unsent.is_empty() {
            // Keep the allocation for the next time.
            self.unsent = unsent;
            self.unsent.clear();
        }
        ok
    }

    /// Runs the requests in `buf` and writes their replies until the input
    /// holds no complete request or the socket takes no more; `false` if
    /// the connection is done. A connection to hand off keeps its replies
    /// unsent, for the task that takes it.
    fn answer(&mut self) -> bool {
        loop {
            let mut out = scratch::take();
            let answer = self.proto.answer(&self.buf, &mut out);
            crate::server::busy_poll::worked();
            self.buf.drain(..answer.consumed.min(self.buf.len()));
            let sent = if answer.hand_off {
                self.leaving = true;
                self.unsent.extend_from_slice(&out);
                true
            } else {
                self.send(&out)
            };
            scratch::give_back(out);
            if !sent {
                return false;
            }
            if answer.close {
                self.closing = true;
                return !self.unsent.is_empty();
            }
            if self.leaving || answer.consumed == 0 || self.buf.is_empty() || !self.unsent.is_empty() {
                return true;
            }
        }
    }
}

/// The pump's connections, by index.
struct Conns<P> {
    slots: Vec<Option<Conn<P>>>,
    free: Vec<usize>,
}

impl<P: Pumped> Conns<P> {
    fn add(&mut self, arrival: Arrival<P>, ready: &Arc<Ready>) -> Option<usize> {
        let stream = TcpStream::from_std(arrival.socket).ok()?;
        let index = self.free.pop().unwrap_or(self.slots.len());
        let wakeup = Arc::new(Wakeup { index, listed: AtomicBool::new(true), ready: Arc::clone(ready) });
        let conn = Conn {
            stream,
            proto: arrival.conn,
            buf: Vec::with_capacity(READ_CHUNK),
            unsent: Vec::new(),
            closing: false,
            leaving: false,
            waker: Waker::from(Arc::clone(&wakeup)),
            wakeup,
        };
        match self.slots.get_mut(index) {
            Some(slot) => *slot = Some(conn),
            None => self.slots.push(Some(conn)),
        }
        Some(index)
    }

    fn get(&mut self, index: usize) -> Option<&mut Conn<P>> {
        self.slots.get_mut(index).and_then(Option::as_mut)
    }

    fn take(&mut self, index: usize) -> Option<Conn<P>> {
        let conn = self.slots.get_mut(index).and_then(Option::take);
        if conn.is_some() {
            self.free.push(index);
        }
        conn
    }

    fn close(&mut self, index: usize) {
        drop(self.take(index));
    }

    /// Hands connection `index` off to a task of its own.
    fn hand_off(&mut self, index: usize) {
        if let Some(conn) = self.take(index) {
            conn.proto.hand_off(conn.stream, conn.buf, conn.unsent);
        }
    }
}

/// Serves the connections that arrive on `arrivals` until `stop` turns
/// true (closing them all then), on the current thread.
async fn pump<P: Pumped>(mut arrivals: mpsc::UnboundedReceiver<Arrival<P>>, mut stop: watch::Receiver<bool>) {
    if *stop.borrow_and_update() {
        return;
    }
    let ready = Arc::new(Ready::default());
    let mut conns = Conns { slots: Vec::new(), free: Vec::new() };
    // Polled each round at the cost of an atomic load (see `Dormant`).
    let mut stopping = Dormant::new(stop.wait_for(|&s| s));
    let mut arriving = true;
    let mut lists = Lists::default();
    // Every socket's readiness is checked by the pump itself: tokio's
    // per-task budget would otherwise count a round's sockets as one task's
    // work and cut the round short.
    tokio::task::coop::unconstrained(std::future::poll_fn(|cx| {
        if Pin::new(&mut stopping).poll(cx).is_ready() {
            return Poll::Ready(());
        }
        {
            let mut pump = ready.pump.lock();
            if !pump.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *pump = Some(cx.waker().clone());
            }
        }
        while arriving {
            match arrivals.poll_recv(cx) {
                Poll::Ready(Some(arrival)) => {
                    if let Some(index) = conns.add(arrival, &ready) {
                        ready.list.lock().push(index);
                    }
                }
                Poll::Ready(None) => arriving = false,
                Poll::Pending => break,
            }
        }
        round(&mut conns, &ready, &mut lists);
        if !lists.got.is_empty() {
            crate::server::cpu_slice::ran();
        }
        if !ready.list.lock().is_empty() {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }))
    .await
}

/// A round's lists, kept from round to round for their allocations.
#[derive(Default)]
struct Lists {
    /// The connections listed as ready when the round began.
    listed: Vec<usize>,
    /// The connections with input to answer, and whether their socket may
    /// hold more than was read.
    got: Vec<(usize, bool)>,
}

/// One round: reads every listed connection, warms the lookups of the
/// requests read, then answers them.
fn round<P: Pumped>(conns: &mut Conns<P>, ready: &Ready, lists: &mut Lists) {
    let Lists { listed, got } = lists;
    std::mem::swap(&mut *ready.list.lock(), listed);
    got.clear();
    for &index in listed.iter() {
        let Some(conn) = conns.get(index) else { continue };
        conn.wakeup.listed.store(false, Ordering::Release);
        let mut cx = Context::from_waker(&conn.waker);
        match conn.proto.check(&mut cx) {
            Check::Go => {}
            Check::Close => {
                conns.close(index);
                continue;
            }
            Check::HandOff => {
                conns.hand_off(index);
                continue;
            }
        }
        let mut flushed = false;
        if !conn.unsent.is_empty() {
            if !conn.send_unsent() {
                conns.close(index);
                continue;
            }
            if !conn.unsent.is_empty() {
                // Nothing more is read until the replies are taken.
                continue;
            }
            if conn.closing {
                conns.close(index);
                continue;
            }
            flushed = true;
        }
        match conn.read() {
            Read::Got { more } => got.push((index, more)),
            // Requests left behind by the replies that waited.
            Read::Nothing if flushed => got.push((index, false)),
            Read::Nothing => {}
            Read::Closed => conns.close(index),
        }
    }
    listed.clear();
    warm(conns, got);
    for &(index, more) in got.iter() {
        let Some(conn) = conns.get(index) else { continue };
        if !conn.answer() {
            conns.close(index);
            continue;
        }
        if conn.leaving {
            conns.hand_off(index);
            continue;
        }
        if more && conn.unsent.is_empty() && !conn.wakeup.listed.swap(true, Ordering::AcqRel) {
            // The socket may hold more than one read took.
            ready.list.lock().push(index);
        }
    }
}

/// Warms the lines that the first request of each connection in `got`
/// will read ([`Pumped::lookups`]), for the connections on the same
/// database as the first one with keys: all at once, so their misses
/// overlap.
fn warm<P: Pumped>(conns: &Conns<P>, got: &[(usize, bool)]) {
    if got.len() < 2 {
        return;
    }
    let mut keys: Vec<&[u8]> = Vec::with_capacity(WARM);
    let mut db: Option<&Db> = None;
    for &(index, _) in got {
        let Some(conn) = conns.slots.get(index).and_then(Option::as_ref) else { continue };
        if db.is_some_and(|db| !db.same(conn.proto.db())) {
            continue;
        }
        let before = keys.len();
        P::lookups(&conn.buf, |key| {
            if keys.len() < WARM {
                keys.push(key);
            }
        });
        if keys.len() > before {
            db.get_or_insert(conn.proto.db());
        }
        if keys.len() == WARM {
            break;
        }
    }
    if let Some(db) = db {
        db.item_warm(&keys);
    }
}

/// The replies' buffer, one per thread rather than one per connection: a
/// batch's replies are written before the next batch runs, so the
/// connections of a thread take turns with one buffer, which stays in the
/// core's cache. With one per connection, fifty connections answering
/// 16-key gets (16 KiB replies) wrote to 1.6 MiB of buffers, more than a
/// core's 1 MiB L2 here (`memcached_bench`'s 16-key row went from 0.87×
/// to 0.92× of memcached's throughput with this change).
pub(super) mod scratch {
    use std::cell::Cell;

    /// The most a buffer given back keeps (a bigger one, grown by a large
    /// reply, is dropped rather than kept by the thread).
    const KEEP: usize = 256 * 1024;

    thread_local! {
        static BUFFER: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
    }

    /// This thread's buffer, empty (a new one if another connection holds
    /// it while its write waits).
    pub(in crate::server) fn take() -> Vec<u8> {
        let out = BUFFER.with(Cell::take);
        if out.capacity() == 0 { Vec::with_capacity(super::READ_CHUNK) } else { out }
    }

    /// Hands `out` back to this thread once its bytes are written.
    pub(in crate::server) fn give_back(mut out: Vec<u8>) {
        if out.capacity() <= KEEP {
            out.clear();
            BUFFER.with(|b| b.set(out));
        }
    }
}
