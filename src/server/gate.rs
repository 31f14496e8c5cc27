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
//!
//! The Memcached listener's connections pass the same gate, each batch of
//! requests (and the delayed `flush_all` its timer runs) with a flag from
//! [`Gate::join`]: a Memcached write never lands between the commands of
//! a transaction, nor in the middle of a SWAPDB.

use parking_lot::{Mutex, MutexGuard};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

/// A client's flag: true while it runs a command.
#[derive(Debug, Default)]
pub(crate) struct Busy(AtomicBool);

/// The server's side of the gate.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    closed: AtomicBool,
    /// Held by a running EXEC (and by clients waiting for it to end).
    exec: Mutex<()>,
    /// The flags of those who pass the gate but are not the server's RESP
    /// clients (Memcached connections, the delayed `flush_all`), from
    /// [`Gate::join`]; forgotten once dropped.
    others: Mutex<Vec<Weak<Busy>>>,
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

    /// A flag for someone who is not one of the server's RESP clients but
    /// must not run while the gate is closed; [`Gate::close`] waits for it
    /// as long as it lives.
    pub(crate) fn join(&self) -> Arc<Busy> {
        let busy = Arc::new(Busy::default());
        let mut others = self.others.lock();
        others.retain(|o| o.strong_count() > 0);
        others.push(Arc::downgrade(&busy));
        busy
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
            if !std::ptr::eq(&client.busy, own) {
                client.busy.wait_out();
            }
        }
        let others: Vec<Arc<Busy>> = self.others.lock().iter().filter_map(Weak::upgrade).collect();
        for other in &others {
            other.wait_out();
        }
        Closed { gate: self, _exec: exec }
    }
}

impl Busy {
    /// Waits until the flag's owner has left the gate.
    fn wait_out(&self) {
        let mut spins = 0u32;
        while self.0.load(Ordering::SeqCst) {
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::state::ClientInfo;
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64};

    /// A client bumps two counters inside the gate; a transaction reads
    /// both with the gate closed and must never see them apart. The client
    /// is a RESP client (`joined` false) or one with a flag from
    /// [`Gate::join`], which `close` finds without being told.
    fn transactions_exclude(joined: bool) {
        let gate = Arc::new(Gate::default());
        let (a, b) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let addr = "127.0.0.1:1".parse().unwrap();
        let client = Arc::new(ClientInfo::new(1, addr, addr));
        let other = gate.join();
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (gate, a, b, client, other, stop) = (
                Arc::clone(&gate),
                Arc::clone(&a),
                Arc::clone(&b),
                Arc::clone(&client),
                Arc::clone(&other),
                Arc::clone(&stop),
            );
            std::thread::spawn(move || {
                let flag = if joined { &*other } else { &client.busy };
                while !stop.load(Ordering::Relaxed) {
                    let _in = gate.enter(flag);
                    a.fetch_add(1, Ordering::Relaxed);
                    std::hint::spin_loop();
                    b.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        // Close the gate a fixed number of times, and on until the writer
        // has run (however the threads are scheduled on a busy host).
        let own = Busy::default();
        let mut checks = 0;
        while checks < 5_000 || a.load(Ordering::Relaxed) < 1_000 {
            let closed = gate.close(&own, || if joined { Vec::new() } else { vec![Arc::clone(&client)] });
            assert_eq!(a.load(Ordering::Relaxed), b.load(Ordering::Relaxed), "a command ran inside a transaction");
            drop(closed);
            checks += 1;
        }
        stop.store(true, Ordering::Relaxed);
        writer.join().unwrap();
    }

    #[test]
    fn a_closed_gate_excludes_every_command() {
        transactions_exclude(false);
    }

    #[test]
    fn a_closed_gate_excludes_those_who_joined() {
        transactions_exclude(true);
    }

    #[test]
    fn dropped_flags_are_forgotten() {
        let gate = Gate::default();
        let kept = gate.join();
        for _ in 0..10 {
            drop(gate.join());
        }
        let _ = gate.join();
        assert_eq!(gate.others.lock().len(), 2, "the kept flag and the last one");
        // A flag left raised by someone gone does not hold a transaction up.
        let gone = gate.join();
        let _in = std::mem::ManuallyDrop::new(gate.enter(&gone));
        drop(gone);
        drop(gate.close(&Busy::default(), Vec::new));
        assert!(Arc::strong_count(&kept) == 1);
    }
}
