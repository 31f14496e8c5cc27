//! The Memcached connections of a serving thread, pumped by one task.
//!
//! Each of the [`io_threads`](crate::server::ServerBuilder::io_threads)
//! runs a pump that owns the thread's plain-TCP Memcached connections;
//! without I/O threads, a current-thread runtime that serves the listener
//! (`embercache-server` with one thread) runs one. It does, in rounds,
//! what memcached's worker thread does: take the sockets that became
//! ready, read what each has, then answer them all. TLS connections, and
//! every connection served on a multi-thread runtime (where one task
//! would hold them all on one worker), keep a task of their own (see
//! `connection.rs`).
//!
//! Two things come of serving them together:
//!
//! - **The lookups of different clients overlap.** A round reads every
//!   ready socket before it runs any request, then warms the lines the
//!   round's `get`s will read (`Db::item_warm`, up to [`WARM`] keys), so
//!   their cache misses are taken together instead of one client's after
//!   another's, as a multi-key `get`'s already are.
//! - **No task per request.** A ready socket costs a push onto the pump's
//!   ready list, not the scheduling and polling of a task of its own.
//!
//! A connection is woken through a waker of its own, which lists it as
//! ready and wakes the pump; the pump reads only the connections listed.
//! Replies the socket does not take at once are kept with their
//! connection, which reads nothing more until they are written (as a
//! connection task waits for its write).

use super::session::{Session, Shared};
use crate::server::ClientSlot;
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
use tokio::sync::{mpsc, watch};

/// Most bytes read from one socket at a time.
const READ_CHUNK: usize = super::connection::READ_CHUNK;

/// Keys of different clients warmed together, at most.
const WARM: usize = 32;

/// A connection handed to a pump: its socket (registered on the pump's
/// thread when it arrives) and its session.
pub(super) struct Arrival {
    pub(super) socket: std::net::TcpStream,
    pub(super) session: Session,
    pub(super) slot: ClientSlot,
    pub(super) counted: Counted,
}

/// Takes a connection off the `curr_connections` statistic when dropped
/// (the listener counted it in).
pub(super) struct Counted(pub(super) Arc<Shared>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.stats.curr_connections.fetch_sub(1, Ordering::Relaxed);
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
struct Conn {
    stream: TcpStream,
    session: Session,
    /// Input not yet consumed (an incomplete request, or requests left
    /// for the next round).
    buf: Vec<u8>,
    /// Replies the socket has not taken yet.
    unsent: Vec<u8>,
    /// Close once `unsent` is written.
    closing: bool,
    wakeup: Arc<Wakeup>,
    waker: Waker,
    _slot: ClientSlot,
    _counted: Counted,
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

impl Conn {
    /// Reads what the socket has (up to [`READ_CHUNK`]) onto `buf`.
    fn read(&mut self) -> Read {
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
    /// the connection is done.
    fn answer(&mut self) -> bool {
        loop {
            let mut out = super::connection::scratch::take();
            let progress = self.session.process(&self.buf, &mut out);
            crate::server::busy_poll::worked();
            self.buf.drain(..progress.consumed.min(self.buf.len()));
            let sent = self.send(&out);
            super::connection::scratch::give_back(out);
            if !sent {
                return false;
            }
            if progress.close {
                self.closing = true;
                return !self.unsent.is_empty();
            }
            if progress.consumed == 0 || self.buf.is_empty() || !self.unsent.is_empty() {
                return true;
            }
        }
    }
}

/// The pump's connections, by index.
#[derive(Default)]
struct Conns {
    slots: Vec<Option<Conn>>,
    free: Vec<usize>,
}

impl Conns {
    fn add(&mut self, arrival: Arrival, ready: &Arc<Ready>) -> Option<usize> {
        let stream = TcpStream::from_std(arrival.socket).ok()?;
        let index = self.free.pop().unwrap_or(self.slots.len());
        let wakeup = Arc::new(Wakeup { index, listed: AtomicBool::new(true), ready: Arc::clone(ready) });
        let conn = Conn {
            stream,
            session: arrival.session,
            buf: Vec::with_capacity(READ_CHUNK),
            unsent: Vec::new(),
            closing: false,
            waker: Waker::from(Arc::clone(&wakeup)),
            wakeup,
            _slot: arrival.slot,
            _counted: arrival.counted,
        };
        match self.slots.get_mut(index) {
            Some(slot) => *slot = Some(conn),
            None => self.slots.push(Some(conn)),
        }
        Some(index)
    }

    fn close(&mut self, index: usize) {
        if let Some(slot) = self.slots.get_mut(index)
            && slot.take().is_some()
        {
            self.free.push(index);
        }
    }
}

/// Serves the connections that arrive on `arrivals` until `stop` turns
/// true (closing them all then), on the current thread.
pub(super) async fn pump(mut arrivals: mpsc::UnboundedReceiver<Arrival>, mut stop: watch::Receiver<bool>) {
    if *stop.borrow_and_update() {
        return;
    }
    let ready = Arc::new(Ready::default());
    let mut conns = Conns::default();
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
fn round(conns: &mut Conns, ready: &Ready, lists: &mut Lists) {
    let Lists { listed, got } = lists;
    std::mem::swap(&mut *ready.list.lock(), listed);
    got.clear();
    for &index in listed.iter() {
        let Some(conn) = conns.slots.get_mut(index).and_then(Option::as_mut) else { continue };
        conn.wakeup.listed.store(false, Ordering::Release);
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
        let Some(conn) = conns.slots.get_mut(index).and_then(Option::as_mut) else { continue };
        if !conn.answer() {
            conns.close(index);
            continue;
        }
        if more && conn.unsent.is_empty() && !conn.wakeup.listed.swap(true, Ordering::AcqRel) {
            // The socket may hold more than one read took.
            ready.list.lock().push(index);
        }
    }
}

/// Warms the lines that the first request of each connection in `got`
/// will read, if it is a `get` or `gets`: all at once, so their misses
/// overlap.
fn warm(conns: &Conns, got: &[(usize, bool)]) {
    if got.len() < 2 {
        return;
    }
    let mut keys: Vec<&[u8]> = Vec::with_capacity(WARM);
    let mut db = None;
    for &(index, _) in got {
        let Some(conn) = conns.slots.get(index).and_then(Option::as_ref) else { continue };
        let before = keys.len();
        super::text::get_keys(&conn.buf, |key| {
            if keys.len() < WARM {
                keys.push(key);
            }
        });
        if keys.len() > before {
            db.get_or_insert(&conn.session.db);
        }
        if keys.len() == WARM {
            break;
        }
    }
    if let Some(db) = db {
        db.item_warm(&keys);
    }
}
