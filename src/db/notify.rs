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

/// Which events are published on Redis's keyspace channels
/// (`__keyspace@<db>__:<key>` and `__keyevent@<db>__:<event>`), in the bits
/// of Redis's `notify-keyspace-events` letters; see [`ChannelEvents::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChannelEvents(u32);

/// Bits of [`ChannelEvents`] beyond the [`EventClass`] bits.
const KEYSPACE: u32 = 1 << 16;
const KEYEVENT: u32 = 1 << 17;
const STREAM: u32 = 1 << 18;
const KEY_MISS: u32 = 1 << 19;
const MODULE: u32 = 1 << 20;
/// `A`: every class but `n` and `m` (streams and modules included).
const ALL: u32 = ((1 << 8) - 1) | STREAM | MODULE;

impl ChannelEvents {
    /// No notifications (Redis's default, `""`).
    pub const NONE: ChannelEvents = ChannelEvents(0);

    /// Parses a `notify-keyspace-events` value: `K` (keyspace channel),
    /// `E` (keyevent channel), the class letters `g$lshzxetdmn` and `A`.
    /// Unknown letters are an error naming the letter. Without `K` or `E`
    /// nothing is published, as in Redis. `t` (streams), `d` (modules) and
    /// `m` (key misses) are accepted and kept but produce nothing here.
    pub fn parse(flags: &str) -> Result<ChannelEvents, char> {
        let mut bits = 0;
        for c in flags.chars() {
            bits |= match c {
                'A' => ALL,
                'K' => KEYSPACE,
                'E' => KEYEVENT,
                't' => STREAM,
                'm' => KEY_MISS,
                'd' => MODULE,
                c => match EventClass::parse_set(c.encode_utf8(&mut [0; 4])) {
                    Some(classes) => classes.iter().fold(0, |b, c| b | c.bit()),
                    None => return Err(c),
                },
            };
        }
        Ok(ChannelEvents(bits))
    }

    /// The canonical letters, as `CONFIG GET notify-keyspace-events` shows them.
    pub fn to_flags(self) -> String {
        let b = self.0;
        let mut out = String::new();
        if b & ALL == ALL {
            out.push('A');
        } else {
            let letters = [
                (EventClass::Generic.bit(), 'g'),
                (EventClass::String.bit(), '$'),
                (EventClass::List.bit(), 'l'),
                (EventClass::Set.bit(), 's'),
                (EventClass::Hash.bit(), 'h'),
                (EventClass::ZSet.bit(), 'z'),
                (EventClass::Expired.bit(), 'x'),
                (EventClass::Evicted.bit(), 'e'),
                (STREAM, 't'),
                (MODULE, 'd'),
                (EventClass::New.bit(), 'n'),
            ];
            out.extend(letters.iter().filter(|(bit, _)| b & bit != 0).map(|(_, c)| c));
        }
        if b & EventClass::New.bit() != 0 && b & ALL == ALL {
            out.push('n');
        }
        for (bit, c) in [(KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm')] {
            if b & bit != 0 {
                out.push(c);
            }
        }
        out
    }

    /// The classes published (none unless `K` or `E` is set).
    fn classes(self) -> u32 {
        if self.0 & (KEYSPACE | KEYEVENT) == 0 { 0 } else { self.0 & ((1 << 16) - 1) }
    }
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
    /// What is published on the keyspace channels ([`ChannelEvents`] bits).
    channels: AtomicU32,
    /// The database number in the channel names.
    index: AtomicU32,
}

impl Notifier {
    /// Whether anyone listens to `class`.
    #[inline]
    pub(crate) fn wants(&self, class: EventClass) -> bool {
        (self.wanted.load(Ordering::Relaxed) | ChannelEvents(self.channels.load(Ordering::Relaxed)).classes())
            & class.bit()
            != 0
    }

    /// Sets what is published on the keyspace channels of database `index`.
    pub(crate) fn set_channels(&self, events: ChannelEvents, index: u32) {
        self.index.store(index, Ordering::Relaxed);
        self.channels.store(events.0, Ordering::Relaxed);
    }

    /// What is published on the keyspace channels.
    pub(crate) fn channels(&self) -> ChannelEvents {
        ChannelEvents(self.channels.load(Ordering::Relaxed))
    }

    /// Publishes `name` on `key` to the keyspace channels through `hub`, as
    /// configured.
    pub(crate) fn publish_channels(&self, hub: &super::pubsub::Hub, class: EventClass, name: &str, key: &[u8]) {
        let events = ChannelEvents(self.channels.load(Ordering::Relaxed));
        if events.classes() & class.bit() == 0 {
            return;
        }
        let index = self.index.load(Ordering::Relaxed);
        if events.0 & KEYSPACE != 0 {
            let mut channel = format!("__keyspace@{index}__:").into_bytes();
            channel.extend_from_slice(key);
            hub.publish(&channel, name.as_bytes());
        }
        if events.0 & KEYEVENT != 0 {
            hub.publish(format!("__keyevent@{index}__:{name}").as_bytes(), key);
        }
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
        if self.wanted.load(Ordering::Relaxed) & event.class.bit() == 0 {
            return;
        }
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
