//! The gate that makes EXEC atomic with respect to the server's other
//! clients, without a shared lock word on every command.
//!
//! Each client has its own `busy` flag, set while it runs a command (on its
//! own cache line: running a command writes nothing other clients read).
//! EXEC raises `closed`, then waits until no client is busy; a client that
//! finds the gate closed after raising its flag lowers it and waits for
//! the transaction to finish. Both sides use sequentially consistent
//! operations, so of a client raising `busy` and EXEC raising `closed`, at
//! least one sees the other (Dekker's argument).

use parking_lot::{Mutex, MutexGuard};
use std::sync::atomic::{AtomicBool, Ordering};

/// A client's flag: true while it runs a command.
#[derive(Debug, Default)]
pub(crate) struct Busy(AtomicBool);

/// The server's side of the gate.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    closed: AtomicBool,
    /// Held by a running EXEC (and by clients waiting for it to end).
    exec: Mutex<()>,
}

/// A client inside the gate; dropping it leaves.
pub(crate) struct Inside<'a>(&'a Busy);

impl Drop for Inside<'_> {
    fn drop(&mut self) {
        self.0.leave();
    }
}

impl Busy {
    /// Leaves the gate entered with [`Gate::hold`] (or by an [`Inside`]).
    /// Only the entry needs the full barrier; the exit publishes the
    /// command's writes to the transaction that waits for it.
    pub(crate) fn leave(&self) {
        self.0.store(false, Ordering::Release);
    }
}

/// A running transaction: no client is inside until it is dropped.
pub(crate) struct Closed<'a> {
    gate: &'a Gate,
    _exec: MutexGuard<'a, ()>,
}

impl Drop for Closed<'_> {
    fn drop(&mut self) {
        self.gate.closed.store(false, Ordering::SeqCst);
    }
}

impl Gate {
    /// [`Gate::enter`] for a span the caller ends with [`Busy::leave`]
    /// itself (a connection holds the gate over a batch of commands, not
    /// across an await).
    pub(crate) fn hold(&self, busy: &Busy) {
        std::mem::forget(self.enter(busy));
    }

    /// Enters to run one command, waiting while a transaction runs.
    pub(crate) fn enter<'a>(&self, busy: &'a Busy) -> Inside<'a> {
        loop {
            busy.0.store(true, Ordering::SeqCst);
            if !self.closed.load(Ordering::SeqCst) {
                return Inside(busy);
            }
            busy.0.store(false, Ordering::SeqCst);
            // Wait for the transaction to end.
            drop(self.exec.lock());
        }
    }

    /// Closes the gate for a transaction of the client whose flag is
    /// `own`: waits until every other client in `all` has left.
    pub(crate) fn close<'a>(
        &'a self,
        own: &Busy,
        all: impl Fn() -> Vec<std::sync::Arc<super::state::ClientInfo>>,
    ) -> Closed<'a> {
        let exec = self.exec.lock();
        self.closed.store(true, Ordering::SeqCst);
        for client in all() {
            if std::ptr::eq(&client.busy, own) {
                continue;
            }
            let mut spins = 0u32;
            while client.busy.0.load(Ordering::SeqCst) {
                spins += 1;
                if spins < 64 {
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
        }
        Closed { gate: self, _exec: exec }
    }
}

#[cfg(test)]
mod tests {
    use super::super::state::ClientInfo;
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicU64;

    /// A client bumps two counters inside the gate; a transaction reads
    /// both with the gate closed and must never see them apart.
    #[test]
    fn a_closed_gate_excludes_every_command() {
        let gate = Arc::new(Gate::default());
        let (a, b) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let addr = "127.0.0.1:1".parse().unwrap();
        let client = Arc::new(ClientInfo::new(1, addr, addr));
        let writer = {
            let (gate, a, b, client) = (Arc::clone(&gate), Arc::clone(&a), Arc::clone(&b), Arc::clone(&client));
            std::thread::spawn(move || {
                for _ in 0..20_000 {
                    let _in = gate.enter(&client.busy);
                    a.fetch_add(1, Ordering::Relaxed);
                    std::hint::spin_loop();
                    b.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        let own = Busy::default();
        let mut checks = 0;
        while !writer.is_finished() {
            let closed = gate.close(&own, || vec![Arc::clone(&client)]);
            assert_eq!(a.load(Ordering::Relaxed), b.load(Ordering::Relaxed), "a command ran inside a transaction");
            drop(closed);
            checks += 1;
        }
        writer.join().unwrap();
        assert!(checks > 0);
    }
}
