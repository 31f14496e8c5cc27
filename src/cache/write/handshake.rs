//! The write-through handshake: which cache update may follow a database
//! write or read without leaving a stale value behind.
//!
//! Keys hash to *stripes*; each stripe counts the writes that have begun
//! on it (`started`) and those in progress (`in_flight`), under a small
//! lock that is never held while the database is called.
//!
//! - A writer *begins* (`started += 1`, `in_flight += 1`), calls the
//!   database, then *ends*: under the stripe lock it learns whether it was
//!   **alone** — no other write of the stripe was in progress when it began
//!   (`in_flight` was 0) and none began since (`started` unchanged) — and
//!   only then may it store its value; otherwise, or if the database call
//!   failed, it removes the key. Either runs under the stripe lock, and then
//!   `in_flight -= 1`.
//! - A loader (a reader that missed and reads the database) notes, under
//!   the lock, `started` and whether `in_flight` was 0; after its read it
//!   stores the value, under the lock, only if `in_flight` was 0 and
//!   `started` is unchanged: no write overlapped its read.
//!
//! # Why no stale value survives
//!
//! Take the last change a write or a load makes to a key's entry, once all
//! have ended (evictions only remove, so they cannot make it stale).
//!
//! - A removal leaves nothing to be stale.
//! - A writer's store of `v`: it was alone, so every other write of the key
//!   either ended before it began — its database call came earlier — or
//!   began after it ended and then made a later change of its own (store
//!   or removal), which contradicts "last". So `v` was the last value
//!   written to the database.
//! - A loader's store of `v`: no write was in progress when it noted
//!   `started`, and none began before its store, so the database held `v`
//!   for its whole read and no write has changed it since (such a write
//!   would end with a change of its own, after this one).
//!
//! Overlap is judged per stripe, not per key: writes to other keys of the
//! stripe only make a writer or loader remove instead of store (a miss
//! later), never store something stale. The checks live in one place,
//! [`Handshake`], generic over its lock so that the model test can run the
//! very same code under `shuttle`'s scheduler.

/// Counters of one stripe.
#[derive(Debug, Default)]
pub(crate) struct Stripe {
    /// Writes begun on this stripe since it was created.
    started: u64,
    /// Writes begun and not yet ended.
    in_flight: u64,
}

/// The lock around a [`Stripe`]: `parking_lot` in the library, `shuttle`'s
/// mutex in the model test.
pub(crate) trait StripeLock: Send + Sync {
    /// A lock around a fresh stripe.
    fn new() -> Self;
    /// Runs `f` with the stripe locked.
    fn with<R>(&self, f: impl FnOnce(&mut Stripe) -> R) -> R;
}

impl StripeLock for parking_lot::Mutex<Stripe> {
    fn new() -> Self {
        parking_lot::Mutex::new(Stripe::default())
    }

    fn with<R>(&self, f: impl FnOnce(&mut Stripe) -> R) -> R {
        f(&mut self.lock())
    }
}

/// A write in progress, from [`Handshake::begin_write`].
#[derive(Debug)]
#[must_use = "a begun write must be ended, or its stripe never stores again"]
pub(crate) struct WriteTicket {
    stripe: usize,
    started: u64,
    /// No other write of the stripe was in progress when this one began.
    first: bool,
}

/// A load in progress, from [`Handshake::begin_load`].
#[derive(Debug)]
pub(crate) struct LoadTicket {
    stripe: usize,
    started: u64,
    /// No write of the stripe was in progress when the load began.
    quiet: bool,
}

/// The striped counters and the begin/end steps of writes and loads.
pub(crate) struct Handshake<L> {
    stripes: Box<[L]>,
    mask: u64,
    /// Test only: skip the checks (every write and load stores), so the
    /// model test can show that it catches the races they prevent.
    #[cfg(test)]
    unchecked: bool,
}

impl<L: StripeLock> Handshake<L> {
    /// At least `n` stripes (rounded up to a power of two).
    pub(crate) fn new(n: usize) -> Self {
        let n = n.clamp(1, 1 << 20).next_power_of_two();
        Handshake {
            stripes: (0..n).map(|_| L::new()).collect(),
            mask: n as u64 - 1,
            #[cfg(test)]
            unchecked: false,
        }
    }

    /// Test only: the same handshake with its checks switched off.
    #[cfg(test)]
    pub(crate) fn unchecked(self) -> Self {
        Handshake { unchecked: true, ..self }
    }

    /// Whether the checks are switched off (never, outside tests).
    fn skip_checks(&self) -> bool {
        #[cfg(test)]
        return self.unchecked;
        #[cfg(not(test))]
        false
    }

    fn index(&self, hash: u64) -> usize {
        // Bits the engine's shard routing (20..52) and hashbrown (low bits,
        // top seven) lean on least, so a stripe holds keys of all shards.
        ((hash >> 8) & self.mask) as usize
    }

    /// A write of a key with this hash begins; call before the database.
    pub(crate) fn begin_write(&self, hash: u64) -> WriteTicket {
        let stripe = self.index(hash);
        self.stripes[stripe].with(|s| {
            s.started += 1;
            s.in_flight += 1;
            WriteTicket { stripe, started: s.started, first: s.in_flight == 1 }
        })
    }

    /// The write ends (its database call returned, or panicked): `apply`
    /// runs under the stripe lock and is told whether the write was alone,
    /// i.e. whether its value may be stored.
    pub(crate) fn end_write<R>(&self, ticket: WriteTicket, apply: impl FnOnce(bool) -> R) -> R {
        self.stripes[ticket.stripe].with(|s| {
            let alone = self.skip_checks() || (ticket.first && s.started == ticket.started);
            s.in_flight -= 1;
            apply(alone)
        })
    }

    /// A load of a key with this hash begins; call before the database.
    pub(crate) fn begin_load(&self, hash: u64) -> LoadTicket {
        let stripe = self.index(hash);
        self.stripes[stripe].with(|s| LoadTicket { stripe, started: s.started, quiet: s.in_flight == 0 })
    }

    /// The load read its value: `store` runs under the stripe lock if no
    /// write overlapped the load. Returns whether it ran.
    pub(crate) fn end_load(&self, ticket: LoadTicket, store: impl FnOnce()) -> bool {
        self.stripes[ticket.stripe].with(|s| {
            let safe = self.skip_checks() || (ticket.quiet && s.started == ticket.started);
            if safe {
                store();
            }
            safe
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type H = Handshake<parking_lot::Mutex<Stripe>>;

    #[test]
    fn a_lone_write_may_store() {
        let h = H::new(4);
        let t = h.begin_write(7);
        assert!(h.end_write(t, |alone| alone));
    }

    #[test]
    fn overlapping_writes_both_remove() {
        let h = H::new(4);
        let a = h.begin_write(7);
        let b = h.begin_write(7);
        assert!(!h.end_write(b, |alone| alone));
        assert!(!h.end_write(a, |alone| alone));
        // Once both ended, the next write is alone again.
        let c = h.begin_write(7);
        assert!(h.end_write(c, |alone| alone));
    }

    #[test]
    fn a_write_during_a_load_stops_its_store() {
        let h = H::new(4);
        let load = h.begin_load(7);
        let w = h.begin_write(7);
        h.end_write(w, |_| ());
        assert!(!h.end_load(load, || ()));
        // A load that begins while a write is in progress does not store.
        let w = h.begin_write(7);
        let load = h.begin_load(7);
        h.end_write(w, |_| ());
        assert!(!h.end_load(load, || ()));
        // A quiet load does.
        let load = h.begin_load(7);
        assert!(h.end_load(load, || ()));
    }

    #[test]
    fn stripes_are_independent() {
        let h = H::new(4);
        let a = h.begin_write(0);
        let b = h.begin_write(1 << 8);
        assert!(h.end_write(b, |alone| alone));
        assert!(h.end_write(a, |alone| alone));
    }
}
