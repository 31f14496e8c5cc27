//! The Memcached listener: its accept loop (sharing the RESP server's
//! client limit and shutdown signal), which hands each plain-TCP
//! connection to its thread's pump (`server::pump`) where there is one and
//! otherwise serves it in a task of its own, pumping the socket through a
//! [`Session`]; and the timer of delayed `flush_all`s.

use super::pumped::{Counted, McConn};
use super::session::{Session, Shared};
use crate::db::Db;
use crate::server::connection::read_more;
use crate::server::dormant::Dormant;
use crate::server::listen::Acceptor;
use crate::server::pump::{Pumps, READ_CHUNK, scratch};
use crate::server::workers::Workers;
use crate::server::{ClientSlot, is_transient};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Serves Memcached clients on `listener` until `stop` turns true, then
/// closes every connection (each after the batch it is running) and
/// returns. Connections are served on `workers`. `clients` counts the
/// server's connections of both protocols, at most `max_clients`.
#[allow(clippy::too_many_arguments)]
pub(in crate::server) async fn serve_listener(
    listener: TcpListener,
    tls: Option<Acceptor>,
    db: Db,
    shared: Arc<Shared>,
    clients: Arc<AtomicUsize>,
    max_clients: usize,
    mut stop: watch::Receiver<bool>,
    workers: Arc<Workers>,
) {
    let mut tasks = JoinSet::new();
    tasks.spawn(flush_timer(db.clone(), Arc::clone(&shared), stop.clone()));
    // A pump per serving thread for the plain-TCP connections (see
    // `server::pump`): one per I/O thread, or this thread's if it is the
    // only one.
    let pumps = Pumps::start(workers.handles(), &mut tasks, &stop);
    loop {
        let (mut stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) if is_transient(&e) => continue,
                // The listener failed: stop serving this protocol.
                Err(_) => break,
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            _ = stop.wait_for(|&s| s) => break,
        };
        let stats = &shared.stats;
        if clients.load(Ordering::Acquire) >= max_clients {
            stats.rejected_connections.fetch_add(1, Ordering::Relaxed);
            tasks.spawn(async move {
                let _ = stream.write_all(b"ERROR Too many open connections\r\n").await;
            });
            continue;
        }
        let slot = ClientSlot::take(&clients);
        stats.curr_connections.fetch_add(1, Ordering::Relaxed);
        stats.total_connections.fetch_add(1, Ordering::Relaxed);
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().map_or_else(|_| String::from("?"), |a| a.to_string());
        let info = format!("addr={peer} laddr={local} lib-name=memcached");
        let session = Session::with_shared(db.clone(), Arc::clone(&shared), info);
        if tls.is_none() && !pumps.is_empty() {
            let counted = Counted(Arc::clone(&shared));
            // On failure the connection is dropped: closed and counted out.
            pumps.send(workers.next_thread(), stream, McConn { session, _slot: slot, _counted: counted });
            continue;
        }
        let (shared, stop, tls) = (Arc::clone(&shared), stop.clone(), tls.clone());
        workers.spawn(&mut tasks, stream, move |stream| async move {
            let _slot = slot;
            match tls {
                None => serve(stream, session, stop).await,
                // The handshake runs here, under its timeout, holding the slot.
                #[cfg(feature = "tls")]
                Some(acceptor) => {
                    if let Some(stream) = acceptor.accept(stream).await {
                        serve(stream, session, stop).await;
                    }
                }
                #[cfg(not(feature = "tls"))]
                Some(never) => match never {},
            }
            shared.stats.curr_connections.fetch_sub(1, Ordering::Relaxed);
        });
    }
    drop(listener);
    // The timer and the connections stop on the same signal; if the
    // listener failed first, stop them by aborting.
    if !*stop.borrow() {
        tasks.abort_all();
    }
    while tasks.join_next().await.is_some() {}
}

/// Serves one connection until the peer leaves, `quit`, a fatal protocol
/// error, or shutdown.
async fn serve<S>(mut stream: S, mut session: Session, mut stop: watch::Receiver<bool>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    if *stop.borrow_and_update() {
        return;
    }
    // Registered once, and polled only when it was woken (see the RESP
    // connection's loop).
    let mut stop_read = stop.clone();
    let mut stopping = Dormant::new(stop_read.wait_for(|&s| s));
    loop {
        // The read is tried first (see the RESP connection's loop), so a
        // busy connection checks for shutdown here.
        if stop.has_changed().unwrap_or(true) && *stop.borrow_and_update() {
            return;
        }
        let read = tokio::select! {
            biased;
            // Straight into the parse buffer: no copy of the input.
            r = read_more(&mut stream, &mut buf) => r,
            _ = &mut stopping => return,
        };
        if matches!(read, Ok(0) | Err(_)) {
            return;
        }
        loop {
            let mut out = scratch::take();
            let progress = session.process(&buf, &mut out);
            crate::server::busy_poll::worked();
            crate::server::cpu_slice::ran();
            buf.drain(..progress.consumed.min(buf.len()));
            let written = flush(&mut stream, &mut out, &mut stop).await;
            scratch::give_back(out);
            if !written || progress.close {
                return;
            }
            if progress.consumed == 0 || buf.is_empty() {
                break;
            }
        }
    }
}

/// Writes and clears `out`; `false` if the connection is to be dropped (a
/// write error, or shutdown while a slow reader keeps the write waiting).
async fn flush<S: AsyncWrite + Unpin>(stream: &mut S, out: &mut Vec<u8>, stop: &mut watch::Receiver<bool>) -> bool {
    if out.is_empty() {
        return true;
    }
    let write = stream.write_all(out);
    tokio::pin!(write);
    // Most writes are taken by the socket at once: no waiting set up.
    let written = match std::future::poll_fn(|cx| std::task::Poll::Ready(write.as_mut().poll(cx))).await {
        std::task::Poll::Ready(r) => r.is_ok(),
        std::task::Poll::Pending => tokio::select! {
            r = &mut write => r.is_ok(),
            _ = stop.wait_for(|&s| s) => false,
        },
    };
    out.clear();
    written
}

/// Runs delayed `flush_all`s when they fall due (sessions also run a due
/// one before their next request; whichever comes first does it, once).
async fn flush_timer(db: Db, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let busy = shared.server.as_ref().map(|s| s.gate.join());
    loop {
        let at = shared.flush_at.load(Ordering::Acquire);
        let wait = if at == 0 {
            // Nothing due: an hour, or until a `flush_all` says otherwise.
            Duration::from_secs(3600)
        } else {
            Duration::from_millis(u64::try_from(at.saturating_sub(db.unix_time_ms())).unwrap_or(0))
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => shared.run_due_flush_from_timer(&db, busy.as_deref()),
            () = shared.flush_changed.notified() => {}
            _ = stop.wait_for(|&s| s) => return,
        }
    }
}
