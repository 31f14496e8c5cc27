//! The shard lock: a reader-writer lock whose readers write only a cache
//! line of their own.
//!
//! A plain reader-writer lock (parking_lot's included) keeps its readers in
//! one word, so every read, even an uncontended one, writes the line that
//! every other core's reads write too: on hot keys that line bounces between
//! cores and throughput falls as threads are added. Here each thread counts
//! itself in one of [`STRIPES`] padded reader counters (picked by
//! [`thread_index`]), so readers on different cores touch different lines;
//! a writer raises a flag and waits until every stripe is empty. This is the
//! "big reader" lock of the Linux kernel (brlock, later percpu-rwsem),
//! plugged into `lock_api` so the guards are the usual safe ones.
//!
//! Readers back off while a writer holds or waits for the lock, so writers
//! are never starved. Waiters spin briefly (shard critical sections are
//! short), then sleep in `parking_lot_core`'s queues until an unlock wakes
//! them, so threads that outnumber the cores do not burn them spinning.
//!
//! Correctness is the store-buffering pattern made safe by sequential
//! consistency: a reader increments its stripe then loads the flag; a writer
//! stores the flag then loads every stripe, all `SeqCst`. In the single
//! total order of those operations, either the reader's increment precedes
//! the writer's load of that stripe (the writer waits for it), or the
//! writer's flag store precedes the reader's load of the flag (the reader
//! backs off). Every access to the lock's atomics is `SeqCst`, unlocks
//! included: a plain `Release` decrement is not part of the total order, and
//! Miri finds the race that allows (on x86 a locked decrement costs the
//! same either way).

use crate::sync::thread_index;
use crossbeam_utils::{Backoff, CachePadded};
use lock_api::{GuardNoSend, RawRwLock};
use parking_lot_core::{DEFAULT_PARK_TOKEN, DEFAULT_UNPARK_TOKEN};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};

/// Reader stripes per lock: enough for the cores of the machines we target
/// without making writers check too many lines.
pub(crate) const STRIPES: usize = 8;

/// The raw lock; use it through [`ShardLock`].
pub(crate) struct StripedRawLock {
    head: CachePadded<Head>,
    readers: [CachePadded<AtomicUsize>; STRIPES],
}

/// The line every reader reads and only writers (and the first use of a
/// stripe) write.
struct Head {
    writer: AtomicBool,
    /// Bit `s` is set once a reader has used stripe `s`; a writer waits only
    /// on those stripes (one or two on a small machine, not all eight).
    /// Bits are never cleared.
    used: AtomicU8,
    /// Some thread sleeps until the writer flag clears (parked on this
    /// flag's address).
    sleepers: AtomicBool,
    /// A writer sleeps until the readers drain (parked on this flag's
    /// address).
    drainer: AtomicBool,
}

/// The parking-queue key of a flag of a lock: its address.
fn queue_key(flag: &AtomicBool) -> usize {
    std::ptr::from_ref(flag) as usize
}

/// A reader-writer lock with striped readers.
pub(crate) type ShardLock<T> = lock_api::RwLock<StripedRawLock, T>;

impl StripedRawLock {
    #[inline]
    fn stripe(&self) -> &AtomicUsize {
        &self.readers[thread_index() % STRIPES]
    }

    /// Waits while `blocked()` holds: spins a little, then sleeps in the
    /// parking queue keyed by `announce` until a [`wake`](Self::wake) on the
    /// same flag. Sleeping rather than spinning matters when threads
    /// outnumber cores.
    fn wait_while(&self, announce: &AtomicBool, blocked: impl Fn() -> bool) {
        let backoff = Backoff::new();
        while blocked() {
            if !backoff.is_completed() {
                backoff.snooze();
                continue;
            }
            // SAFETY: the key is the address of a field of this lock, which
            // only this lock parks on; `validate` neither panics nor calls
            // into parking_lot.
            unsafe {
                parking_lot_core::park(
                    queue_key(announce),
                    // Under the queue's lock: announce the sleeper, then look
                    // again. The waker changes the state before it looks at
                    // the flag, so one of the two sees the other; and its
                    // wake-up takes the queue's lock, so it cannot slip
                    // between this check and the sleep. (Announcing before
                    // `park` loses wake-ups: Miri found it.)
                    || {
                        announce.store(true, Ordering::SeqCst);
                        blocked()
                    },
                    || {},
                    |_, _| {},
                    DEFAULT_PARK_TOKEN,
                    None,
                );
            }
        }
    }

    /// Wakes every thread sleeping in [`wait_while`](Self::wait_while) on
    /// `announce`, if any announced itself. Call after changing the state
    /// the sleepers wait on.
    #[inline]
    fn wake(announce: &AtomicBool) {
        if announce.load(Ordering::SeqCst) && announce.swap(false, Ordering::SeqCst) {
            // SAFETY: the key is the address of a field of this lock, which
            // only this lock parks on.
            unsafe { parking_lot_core::unpark_all(queue_key(announce), DEFAULT_UNPARK_TOKEN) };
        }
    }

    /// Waits until no writer holds the lock.
    fn wait_for_writer(&self) {
        self.wait_while(&self.head.sleepers, || self.head.writer.load(Ordering::SeqCst));
    }

    /// Takes a reader off `stripe` (an unlock, or a backed-off attempt) and
    /// wakes a writer sleeping until the readers drain. Every decrement must
    /// come here: a writer may have gone to sleep on any increment it saw.
    #[inline]
    fn leave(&self, stripe: &AtomicUsize) {
        stripe.fetch_sub(1, Ordering::SeqCst);
        Self::wake(&self.head.drainer);
    }

    /// Whether every stripe a reader has ever used is empty.
    #[inline]
    fn no_readers(&self) -> bool {
        let used = self.head.used.load(Ordering::SeqCst);
        (0..STRIPES).filter(|s| used & (1 << s) != 0).all(|s| self.readers[s].load(Ordering::SeqCst) == 0)
    }
}

// SAFETY: `RawRwLock` requires that an exclusive lock excludes every other
// lock, shared or exclusive, and that a shared lock excludes exclusive ones.
// - Writer vs writer: the `writer` flag is taken by a compare-exchange from
//   false to true, so at most one thread holds it; only `unlock_exclusive`
//   (called by the holder, per the trait contract) clears it.
// - Writer vs readers: see the module docs. A reader holds the lock only
//   after marking its stripe used, incrementing it and then seeing the flag
//   clear; a writer holds it only after setting the flag, reading the used
//   mask and seeing every used stripe at zero. All are SeqCst (the reader's
//   check of the mask is Acquire, so a bit set by another thread is ordered
//   before the increment). In the SeqCst total order, either the writer's
//   load of the mask follows the reader's marking (and its load of the
//   stripe then sees the increment, or follows it), or it precedes it, in
//   which case the writer's flag store precedes the reader's load of the
//   flag. Either way one observes the other, so they never both proceed.
// - A reader always decrements the stripe it incremented: the stripe is a
//   function of `thread_index()`, fixed for the thread's life, and the
//   guards are `GuardNoSend`, so unlock runs on the locking thread.
// - Happens-before: every access to the lock's atomics is `SeqCst`, so each
//   unlock is in the total order before the acquisition that observes it.
unsafe impl RawRwLock for StripedRawLock {
    #[allow(clippy::declare_interior_mutable_const, reason = "lock_api's required initializer")]
    const INIT: Self = StripedRawLock {
        head: CachePadded::new(Head {
            writer: AtomicBool::new(false),
            used: AtomicU8::new(0),
            sleepers: AtomicBool::new(false),
            drainer: AtomicBool::new(false),
        }),
        readers: [const { CachePadded::new(AtomicUsize::new(0)) }; STRIPES],
    };

    type GuardMarker = GuardNoSend;

    #[inline]
    fn lock_shared(&self) {
        if self.try_lock_shared() {
            return;
        }
        loop {
            // Wait for the writer without touching our stripe.
            self.wait_for_writer();
            if self.try_lock_shared() {
                return;
            }
        }
    }

    #[inline]
    fn try_lock_shared(&self) -> bool {
        let index = thread_index() % STRIPES;
        let bit = 1u8 << index;
        // Announce the stripe before using it (Acquire: a bit set by another
        // thread sharing the stripe is ordered before our increment).
        if self.head.used.load(Ordering::Acquire) & bit == 0 {
            self.head.used.fetch_or(bit, Ordering::SeqCst);
        }
        let stripe = &self.readers[index];
        stripe.fetch_add(1, Ordering::SeqCst);
        if !self.head.writer.load(Ordering::SeqCst) {
            return true;
        }
        // Back off, waking a writer that may have seen our increment and
        // gone to sleep waiting for it.
        self.leave(stripe);
        false
    }

    #[inline]
    unsafe fn unlock_shared(&self) {
        self.leave(self.stripe());
    }

    fn lock_exclusive(&self) {
        while self.head.writer.compare_exchange_weak(false, true, Ordering::SeqCst, Ordering::Relaxed).is_err() {
            self.wait_for_writer();
        }
        self.wait_while(&self.head.drainer, || !self.no_readers());
    }

    fn try_lock_exclusive(&self) -> bool {
        if self.head.writer.compare_exchange(false, true, Ordering::SeqCst, Ordering::Relaxed).is_err() {
            return false;
        }
        if self.no_readers() {
            return true;
        }
        self.head.writer.store(false, Ordering::SeqCst);
        false
    }

    #[inline]
    unsafe fn unlock_exclusive(&self) {
        self.head.writer.store(false, Ordering::SeqCst);
        Self::wake(&self.head.sleepers);
    }

    fn is_locked(&self) -> bool {
        self.head.writer.load(Ordering::Relaxed) || self.readers.iter().any(|r| r.load(Ordering::Relaxed) != 0)
    }

    fn is_locked_exclusive(&self) -> bool {
        self.head.writer.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn shared_then_exclusive() {
        let l = ShardLock::new(5u64);
        {
            let a = l.read();
            let b = l.read();
            assert_eq!(*a + *b, 10);
            assert!(l.try_write().is_none(), "readers exclude a writer");
        }
        *l.write() += 1;
        {
            let _w = l.write();
            assert!(l.try_read().is_none(), "a writer excludes readers");
            assert!(l.try_write().is_none(), "a writer excludes writers");
        }
        assert_eq!(*l.read(), 6);
        assert!(!l.is_locked());
    }

    /// Long holds make waiters sleep rather than spin; the unlock wakes
    /// them. (Under Miri too: its threads yield while spinning, so the
    /// waiters reach the parking path.)
    #[test]
    fn sleeping_waiters_are_woken() {
        use std::time::Duration;
        let l = Arc::new(ShardLock::new(0u32));
        // A writer waits for a reader that holds on.
        let r = l.read();
        let l2 = Arc::clone(&l);
        let w = std::thread::spawn(move || *l2.write() += 1);
        std::thread::sleep(Duration::from_millis(if cfg!(miri) { 5 } else { 50 }));
        assert_eq!(*r, 0);
        drop(r);
        w.join().unwrap();
        // Readers and a writer wait for a writer that holds on.
        let g = l.write();
        let waiters: Vec<_> = (0..4)
            .map(|i| {
                let l = Arc::clone(&l);
                std::thread::spawn(move || if i == 0 { *l.write() += 1 } else { assert!(*l.read() >= 1) })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(if cfg!(miri) { 5 } else { 50 }));
        drop(g);
        for t in waiters {
            t.join().unwrap();
        }
        assert_eq!(*l.read(), 2);
    }

    /// More threads than cores, all writing one lock: completes (waiters
    /// sleep instead of spinning the cores away) and loses nothing.
    #[test]
    fn oversubscribed_writers_lose_nothing() {
        let l = Arc::new(ShardLock::new(0u64));
        let (threads, rounds): (u64, u64) = if cfg!(miri) { (3, 10) } else { (16, 5_000) };
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let l = Arc::clone(&l);
                std::thread::spawn(move || {
                    for i in 0..rounds {
                        if i % 4 == 0 {
                            let _ = *l.read();
                        } else {
                            *l.write() += 1;
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(*l.read(), threads * (rounds - rounds.div_ceil(4)));
    }

    /// Readers and writers in equal numbers hammering one lock: readers
    /// that back off from a writer must wake it if it went to sleep on their
    /// increment (a lost wake-up here hangs the test).
    #[test]
    fn mixed_hammering_never_hangs() {
        let l = Arc::new(ShardLock::new(0u64));
        let (threads, rounds): (u64, u64) = if cfg!(miri) { (4, 20) } else { (8, 40_000) };
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let l = Arc::clone(&l);
                std::thread::spawn(move || {
                    for i in 0..rounds {
                        if (i + t) % 2 == 0 {
                            let _ = *l.read();
                        } else {
                            *l.write() += 1;
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(*l.read(), threads * rounds / 2);
    }

    /// Writers keep two fields equal under the lock; readers must never see
    /// them differ, and no increment may be lost. Small counts so that it
    /// also runs under Miri (`cargo +nightly miri test --lib engine::lock`).
    #[test]
    fn readers_never_see_a_half_write() {
        let l = Arc::new(ShardLock::new((0u64, 0u64)));
        let (writers, readers, rounds) = if cfg!(miri) { (2, 2, 20) } else { (4, 4, 2_000) };
        let mut handles = Vec::new();
        for _ in 0..writers {
            let l = Arc::clone(&l);
            handles.push(std::thread::spawn(move || {
                for _ in 0..rounds {
                    let mut g = l.write();
                    g.0 += 1;
                    std::hint::spin_loop();
                    g.1 += 1;
                }
            }));
        }
        for _ in 0..readers {
            let l = Arc::clone(&l);
            handles.push(std::thread::spawn(move || {
                for _ in 0..rounds {
                    let g = l.read();
                    assert_eq!(g.0, g.1, "torn read");
                }
            }));
        }
        for h in handles {
            h.join().unwrap();
        }
        let g = l.read();
        assert_eq!(*g, (writers * rounds, writers * rounds));
    }
}
