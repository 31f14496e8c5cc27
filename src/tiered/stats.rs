//! What a tiered cache reports: L1's hits and misses, the load it puts on
//! L2, and the state of the link, the breaker and the write queue.

use super::breaker::BreakerState;
use super::link::Link;
use crate::stats::Striped;
use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of a tiered cache's counters ([`TieredCache::stats`](super::TieredCache::stats)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TieredStats {
    /// Reads answered by L1.
    pub l1_hits: u64,
    /// Reads L1 could not answer (absent, or no longer vouched for).
    pub l1_misses: u64,
    /// Entries in L1.
    pub l1_entries: u64,
    /// Reads sent to L2 (a pipelined multi-key read counts once).
    pub l2_reads: u64,
    /// Writes sent to L2 and acknowledged.
    pub l2_writes: u64,
    /// L2 commands that failed to reach it or timed out.
    pub l2_errors: u64,
    /// Reads answered from an L1 entry that could no longer be vouched
    /// for, because L2 failed (`stale_if_error`).
    pub stale_served: u64,
    /// Invalidation messages applied.
    pub invalidations: u64,
    /// Whether the link to L2 is up.
    pub connected: bool,
    /// Times the link came up.
    pub connects: u64,
    /// Times the link was lost (each fenced L1).
    pub disconnects: u64,
    /// The last reason the link failed or was lost.
    pub last_error: Option<String>,
    /// The circuit breaker's state.
    pub breaker: BreakerState,
    /// Times the breaker opened.
    pub breaker_trips: u64,
    /// Commands refused while it was open.
    pub rejected: u64,
    /// Writes queued while L2 was unavailable.
    pub queued: u64,
    /// Writes waiting in the queue now.
    pub queue_len: u64,
    /// Queued writes replayed to L2.
    pub replayed: u64,
    /// Queued writes L2 refused when replayed (dropped).
    pub replay_failed: u64,
}

/// The tiered cache's own counters (striped: reads on every thread add to
/// them).
#[derive(Debug, Clone, Copy)]
#[repr(usize)]
pub(crate) enum Count {
    L1Hit,
    L1Miss,
    L2Read,
    L2Write,
    L2Error,
    StaleServed,
    BreakerTrip,
    Rejected,
    Queued,
}

const COUNTS: usize = Count::Queued as usize + 1;

#[derive(Debug, Default)]
pub(crate) struct Counters(Striped<COUNTS>);

impl Counters {
    #[inline]
    pub(crate) fn add(&self, c: Count) {
        self.0.add(c as usize, 1);
    }

    pub(crate) fn snapshot(
        &self,
        link: &Link,
        breaker: BreakerState,
        l1_entries: u64,
        invalidations: u64,
    ) -> TieredStats {
        let get = |c: Count| self.0.get(c as usize);
        let lc = &link.counters;
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        TieredStats {
            l1_hits: get(Count::L1Hit),
            l1_misses: get(Count::L1Miss),
            l1_entries,
            l2_reads: get(Count::L2Read),
            l2_writes: get(Count::L2Write),
            l2_errors: get(Count::L2Error),
            stale_served: get(Count::StaleServed),
            invalidations,
            connected: link.coherence.is_up(),
            connects: load(&lc.connects),
            disconnects: load(&lc.disconnects),
            last_error: link.last_error(),
            breaker,
            breaker_trips: get(Count::BreakerTrip),
            rejected: get(Count::Rejected),
            queued: get(Count::Queued),
            queue_len: link.queue.lock().len() as u64,
            replayed: load(&lc.queued_replayed),
            replay_failed: load(&lc.queued_failed),
        }
    }
}
