//! Keyspace notifications in process: which key, which event, as Redis's
//! `notify-keyspace-events` publishes them, delivered to subscribers through
//! bounded queues. A full queue drops the event (and counts the drop) rather
//! than slow the writer down; with no subscriber, events cost nothing.

use super::pubsub::queue::{Inbox, Outbox, Sent, bounded};
use parking_lot::RwLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The class of a keyspace event (Redis's `notify-keyspace-events` letters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventClass {
    /// `g`: DEL, EXPIRE, RENAME, … on any type.
    Generic,
    /// `$`: string commands.
    String,
    /// `l`: list commands.
    List,
    /// `s`: set commands.
    Set,
    /// `h`: hash commands.
    Hash,
    /// `z`: sorted-set commands.
    ZSet,
    /// `x`: a key expired.
    Expired,
    /// `e`: a key was evicted for memory.
    Evicted,
    /// `n`: a key was created.
    New,
}

impl EventClass {
    fn bit(self) -> u32 {
        1 << (self as u32)
    }

    /// The classes named by a Redis `notify-keyspace-events` string (`A` is
    /// every class but `n`; `K`/`E` are accepted and ignored: in process
    /// there is one channel kind). `None` on an unknown letter.
    pub fn parse_set(flags: &str) -> Option<Vec<EventClass>> {
        let mut out = Vec::new();
        for c in flags.chars() {
            match c {
                'g' => out.push(EventClass::Generic),
                '$' => out.push(EventClass::String),
                'l' => out.push(EventClass::List),
                's' => out.push(EventClass::Set),
                'h' => out.push(EventClass::Hash),
                'z' => out.push(EventClass::ZSet),
                'x' => out.push(EventClass::Expired),
                'e' => out.push(EventClass::Evicted),
                'n' => out.push(EventClass::New),
                'A' => out.extend([
                    EventClass::Generic,
                    EventClass::String,
                    EventClass::List,
                    EventClass::Set,
                    EventClass::Hash,
                    EventClass::ZSet,
                    EventClass::Expired,
                    EventClass::Evicted,
                ]),
                'K' | 'E' => {}
                _ => return None,
            }
        }
        Some(out)
    }
}

/// One keyspace event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Its class.
    pub class: EventClass,
    /// Redis's event name: `set`, `del`, `expired`, `lpush`, `zadd`, …
    pub name: &'static str,
    /// The key.
    pub key: Vec<u8>,
}

struct Subscriber {
    classes: u32,
    out: Outbox<Event>,
}

/// The registry of subscribers.
#[derive(Default)]
pub(crate) struct Notifier {
    /// Union of the subscribers' classes: the writers' fast check.
    wanted: AtomicU32,
    subs: RwLock<Vec<Subscriber>>,
}

impl Notifier {
    /// Whether anyone listens to `class`.
    #[inline]
    pub(crate) fn wants(&self, class: EventClass) -> bool {
        self.wanted.load(Ordering::Relaxed) & class.bit() != 0
    }

    pub(crate) fn subscribe(&self, classes: &[EventClass], capacity: usize) -> KeyspaceEvents {
        let (out, inbox) = bounded(capacity);
        let mask = classes.iter().fold(0, |m, c| m | c.bit());
        let mut subs = self.subs.write();
        subs.retain(|s| s.out.is_alive());
        subs.push(Subscriber { classes: mask, out });
        self.wanted.fetch_or(mask, Ordering::Relaxed);
        KeyspaceEvents { inbox }
    }

    pub(crate) fn publish(&self, event: Event) {
        let mut gone = false;
        {
            let subs = self.subs.read();
            for s in subs.iter().filter(|s| s.classes & event.class.bit() != 0) {
                if s.out.send(event.clone()) == Sent::Gone {
                    gone = true;
                }
            }
        }
        if gone {
            self.prune();
        }
    }

    /// Forgets subscribers whose receiver was dropped.
    fn prune(&self) {
        let mut subs = self.subs.write();
        subs.retain(|s| s.out.is_alive());
        let mask = subs.iter().fold(0, |m, s| m | s.classes);
        self.wanted.store(mask, Ordering::Relaxed);
    }
}

/// A subscription to keyspace events (see `Db::subscribe_keyspace`).
/// Dropping it unsubscribes.
#[derive(Debug)]
pub struct KeyspaceEvents {
    inbox: Inbox<Event>,
}

impl KeyspaceEvents {
    /// The next event, if one is queued.
    pub fn try_recv(&self) -> Option<Event> {
        self.inbox.try_recv()
    }

    /// The next event, waiting up to `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Event> {
        self.inbox.recv_timeout(timeout)
    }

    /// Events dropped because this subscriber's queue was full.
    pub fn dropped(&self) -> u64 {
        self.inbox.dropped()
    }
}
