//! When an L1 entry may be served: the rule every read applies.
//!
//! An entry carries the [`Ticket`] taken *before* the L2 read that filled
//! it: the link's epoch and its key's stripe stamp. It is fresh while the
//! link is up, the epoch is the same (no disconnection, reconnection or
//! flush since), and its stripe saw no invalidation since. Invalidations
//! bump the stripe *and* remove the key, so whichever comes first, an
//! invalidation racing with a fill (the reply and the invalidation travel
//! separately) never leaves a stale entry that reads as fresh: either the
//! fill's ticket predates the bump, or the removal follows the insert.
//! Keys share stripes; an invalidation of one costs its neighbours one L2
//! read, never a stale value.

use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Stripes of invalidation stamps (a power of two).
const STRIPES: usize = 1 << 14;

/// What L1 does when told: remove a key, or everything.
pub(crate) trait Evict: Send + Sync {
    fn remove(&self, key: &[u8]);
    fn clear(&self);
}

/// The state of an entry's fill: see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ticket {
    epoch: u64,
    stamp: u64,
}

pub(crate) struct Coherence {
    epoch: AtomicU64,
    up: AtomicBool,
    stamps: Box<[AtomicU64]>,
    hasher: ahash::RandomState,
    l1: Box<dyn Evict>,
    /// Invalidation messages applied (keys, or whole flushes).
    pub(crate) invalidations: AtomicU64,
    /// While fenced: the epoch that was current before, and since when.
    fenced: Mutex<Option<(u64, Instant)>>,
}

impl Coherence {
    pub(crate) fn new(l1: Box<dyn Evict>) -> Self {
        Coherence {
            epoch: AtomicU64::new(0),
            up: AtomicBool::new(false),
            stamps: (0..STRIPES).map(|_| AtomicU64::new(0)).collect(),
            hasher: ahash::RandomState::new(),
            l1,
            invalidations: AtomicU64::new(0),
            fenced: Mutex::new(None),
        }
    }

    fn stripe(&self, key: &[u8]) -> &AtomicU64 {
        let i = (self.hasher.hash_one(key) as usize) & (STRIPES - 1);
        &self.stamps[i]
    }

    /// Taken before an L2 read whose result may be cached.
    pub(crate) fn ticket(&self, key: &[u8]) -> Ticket {
        Ticket { epoch: self.epoch.load(Ordering::Acquire), stamp: self.stripe(key).load(Ordering::Acquire) }
    }

    /// Whether an entry filled under `ticket` may be served as current.
    pub(crate) fn fresh(&self, key: &[u8], ticket: Ticket) -> bool {
        self.up.load(Ordering::Acquire)
            && self.epoch.load(Ordering::Acquire) == ticket.epoch
            && self.stripe(key).load(Ordering::Acquire) == ticket.stamp
    }

    /// Whether the link is up (commands may be sent).
    pub(crate) fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    /// `key` changed in L2 (an invalidation message, or this process's
    /// own write).
    pub(crate) fn invalidate(&self, key: &[u8]) {
        self.stripe(key).fetch_add(1, Ordering::AcqRel);
        self.l1.remove(key);
        self.invalidations.fetch_add(1, Ordering::Relaxed);
    }

    /// Everything may have changed (a flush in L2).
    pub(crate) fn invalidate_all(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.l1.clear();
        self.invalidations.fetch_add(1, Ordering::Relaxed);
    }

    /// The link is lost: nothing in L1 can be vouched for any more
    /// (invalidations could not arrive). Entries stay, for
    /// stale-if-error; none is fresh again.
    pub(crate) fn fence(&self) {
        let was_up = self.up.swap(false, Ordering::AcqRel);
        let before = self.epoch.fetch_add(1, Ordering::AcqRel);
        let mut fenced = self.fenced.lock();
        if was_up || fenced.is_none() {
            *fenced = Some((before, Instant::now()));
        }
    }

    /// Whether an entry filled under `ticket` may be served as stale: the
    /// link is fenced, the entry was fresh when the fence fell (nothing
    /// invalidated it before), and the fence is at most `bound` old.
    pub(crate) fn stale_ok(&self, key: &[u8], ticket: Ticket, bound: Duration) -> bool {
        if self.up.load(Ordering::Acquire) || self.stripe(key).load(Ordering::Acquire) != ticket.stamp {
            return false;
        }
        matches!(*self.fenced.lock(), Some((epoch, at)) if epoch == ticket.epoch && at.elapsed() <= bound)
    }

    /// The link is (re)established and invalidations flow again: L1 starts
    /// empty under a new epoch.
    pub(crate) fn connected(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.l1.clear();
        *self.fenced.lock() = None;
        self.up.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parking_lot::Mutex;
    use std::sync::Arc;

    #[derive(Default)]
    struct Log(Mutex<Vec<String>>);

    impl Evict for Arc<Log> {
        fn remove(&self, key: &[u8]) {
            self.0.lock().push(String::from_utf8_lossy(key).into_owned());
        }
        fn clear(&self) {
            self.0.lock().push("*".into());
        }
    }

    #[test]
    fn tickets_go_stale_on_invalidation_fence_and_flush() {
        let log = Arc::new(Log::default());
        let c = Coherence::new(Box::new(Arc::clone(&log)));
        let t = c.ticket(b"k");
        assert!(!c.fresh(b"k", t), "nothing is fresh before the link is up");
        c.connected();
        let t = c.ticket(b"k");
        assert!(c.fresh(b"k", t));
        // An invalidation between the ticket and the read of the entry.
        c.invalidate(b"k");
        assert!(!c.fresh(b"k", t));
        let t = c.ticket(b"k");
        let other = c.ticket(b"other");
        c.fence();
        assert!(!c.fresh(b"k", t) && !c.fresh(b"other", other));
        c.connected();
        assert!(!c.fresh(b"k", t), "an entry from before the outage never turns fresh again");
        let t = c.ticket(b"k");
        c.invalidate_all();
        assert!(!c.fresh(b"k", t));
        assert_eq!(*log.0.lock(), ["*", "k", "*", "*"]);
    }

    #[test]
    fn stale_entries_are_those_fresh_when_the_fence_fell() {
        let c = Coherence::new(Box::new(Arc::new(Log::default())));
        let bound = Duration::from_secs(60);
        c.connected();
        let good = c.ticket(b"a");
        let changed = c.ticket(b"b");
        c.invalidate(b"b");
        assert!(!c.stale_ok(b"a", good, bound), "not while up");
        c.fence();
        assert!(c.stale_ok(b"a", good, bound));
        assert!(!c.stale_ok(b"b", changed, bound), "invalidated before the fence: never");
        assert!(!c.stale_ok(b"a", good, Duration::ZERO), "past the bound");
        // A second fence (a failed reconnection) keeps the first one's epoch.
        c.fence();
        assert!(c.stale_ok(b"a", good, bound));
        let during = c.ticket(b"a");
        assert!(!c.stale_ok(b"a", during, bound));
        c.connected();
        assert!(!c.stale_ok(b"a", good, bound));
    }

    /// What the model and L1 hold for a key: the value (an L2 version)
    /// and the ticket it was read under.
    type Filled = (u64, Ticket);

    #[derive(Debug, Clone)]
    enum Op {
        /// A reader takes a ticket and reads L2 (the read is in flight).
        Send(u8),
        /// The oldest read in flight of this key lands in L1.
        Land(u8),
        /// Another client writes the key; its invalidation is delivered
        /// now (`true`) or held back with the link (`false`: the link is
        /// lost before it arrives).
        Write(u8, bool),
        Fence,
        Connect,
        FlushAll,
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        let key = 0u8..4;
        prop_oneof![
            4 => key.clone().prop_map(Op::Send),
            4 => key.clone().prop_map(Op::Land),
            3 => (key, any::<bool>()).prop_map(|(k, d)| Op::Write(k, d)),
            1 => Just(Op::Fence),
            1 => Just(Op::Connect),
            1 => Just(Op::FlushAll),
        ]
    }

    /// L1 without a cache: the entries `Evict` removes.
    #[derive(Default)]
    struct Entries(Mutex<std::collections::HashMap<Vec<u8>, Filled>>);

    impl Evict for Arc<Entries> {
        fn remove(&self, key: &[u8]) {
            self.0.lock().remove(key);
        }
        fn clear(&self) {
            self.0.lock().clear();
        }
    }

    proptest::proptest! {
        /// Against a plain model of L2 (a version per key): whatever the
        /// interleaving of reads in flight, invalidations, lost links and
        /// reconnections, an entry that reads as fresh holds L2's current
        /// version, and a stale-if-error entry holds the version L2 had
        /// when the link fell.
        #[test]
        fn a_fresh_entry_always_holds_l2s_current_value(ops in proptest::collection::vec(op(), 1..200)) {
            let entries = Arc::new(Entries::default());
            let c = Coherence::new(Box::new(Arc::clone(&entries)));
            let mut l2 = [0u64; 4];
            // Per key, reads in flight: the ticket and the version read.
            let mut flying: Vec<Vec<Filled>> = vec![Vec::new(); 4];
            // L2's versions when the link fell, as this process last heard
            // of them (a write whose invalidation was lost with the link is
            // the staleness stale-if-error accepts).
            let mut at_fence: Option<[u64; 4]> = None;
            c.connected();
            let mut up = true;
            for op in ops {
                match op {
                    Op::Send(k) => {
                        let t = c.ticket(&[k]);
                        flying[k as usize].push((l2[k as usize], t));
                    }
                    Op::Land(k) => {
                        if !flying[k as usize].is_empty() {
                            let (v, t) = flying[k as usize].remove(0);
                            entries.0.lock().insert(vec![k], (v, t));
                        }
                    }
                    Op::Write(k, delivered) => {
                        l2[k as usize] += 1;
                        if delivered && up {
                            c.invalidate(&[k]);
                        }
                        if !delivered && up {
                            // The push is lost with the connection.
                            c.fence();
                            let mut heard = l2;
                            heard[k as usize] -= 1;
                            at_fence = Some(heard);
                            up = false;
                        }
                    }
                    Op::Fence => {
                        if up {
                            c.fence();
                            at_fence = Some(l2);
                            up = false;
                        }
                    }
                    Op::Connect => {
                        c.connected();
                        at_fence = None;
                        up = true;
                    }
                    Op::FlushAll => {
                        l2 = l2.map(|v| v + 1);
                        if up {
                            c.invalidate_all();
                        }
                    }
                }
                for k in 0..4u8 {
                    let Some((v, t)) = entries.0.lock().get(&vec![k]).copied() else { continue };
                    if c.fresh(&[k], t) {
                        proptest::prop_assert_eq!(v, l2[k as usize], "fresh entry of key {} is stale", k);
                    }
                    if let Some(f) = at_fence
                        && c.stale_ok(&[k], t, Duration::from_secs(60))
                    {
                        proptest::prop_assert_eq!(v, f[k as usize], "stale entry of key {} is not the value at the fence", k);
                    }
                }
            }
        }
    }
}
