//! In-process PUBLISH/SUBSCRIBE with channel and pattern subscriptions,
//! bounded per subscriber: a slow subscriber loses messages (counted), it
//! never blocks publishers.
//!
//! A [`Subscription`] is one subscriber (one connection, in server terms):
//! one queue, any number of channels and glob patterns, changed with its
//! `subscribe`/`unsubscribe`/`psubscribe`/`punsubscribe` methods. A message
//! published to a channel reaches every subscription to that channel and,
//! once per pattern, every subscription to a matching pattern (so a
//! subscriber of both gets it twice, as in Redis). Dropping the
//! subscription unsubscribes it from everything.
//!
//! SUBSCRIBE itself is connection state, so it is not in the command table;
//! PUBLISH and PUBSUB CHANNELS/NUMSUB/NUMPAT/HELP are.

pub(crate) mod queue;

use super::command::Command;
use super::glob;
use super::keys::{clip, help, subcommand};
use super::{Db, DbError, Reply};
use parking_lot::RwLock;
use queue::{Inbox, Outbox, Sent, Wake, bounded_with_wake};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

pub(super) const COMMANDS: &[Command] = &[
    Command { name: "publish", arity: 3, flags: 0, run: cmd_publish, stream: None },
    Command { name: "pubsub", arity: -2, flags: 0, run: cmd_pubsub, stream: None },
];

/// A message delivered to a subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The channel it was published to.
    pub channel: Arc<[u8]>,
    /// The pattern it matched, for a pattern subscription (Redis's
    /// `pmessage`); `None` for a channel subscription (`message`).
    pub pattern: Option<Arc<[u8]>>,
    /// What was published.
    pub payload: Arc<[u8]>,
}

type Map = HashMap<Box<[u8]>, Vec<Member>, ahash::RandomState>;

/// One subscription's place in a channel's or pattern's list.
struct Member {
    id: u64,
    out: Outbox<Message>,
}

#[derive(Default)]
struct State {
    channels: Map,
    patterns: Map,
}

impl State {
    fn map(&mut self, pattern: bool) -> &mut Map {
        if pattern { &mut self.patterns } else { &mut self.channels }
    }
}

/// The registry of subscribers.
#[derive(Default)]
pub(crate) struct Hub {
    state: RwLock<State>,
    /// Memberships (channel and pattern) of all subscriptions: publishers
    /// skip the lock when there are none.
    members: AtomicUsize,
    next_id: AtomicU64,
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub").field("members", &self.members.load(Ordering::Relaxed)).finish_non_exhaustive()
    }
}

impl Hub {
    /// Adds subscription `id` to `name` (a channel, or a pattern).
    fn join(&self, pattern: bool, name: &[u8], id: u64, out: &Outbox<Message>) {
        let mut state = self.state.write();
        let list = state.map(pattern).entry(name.into()).or_default();
        if !list.iter().any(|m| m.id == id) {
            list.push(Member { id, out: out.clone() });
            self.members.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Removes subscription `id` from `names`.
    fn leave<'a>(&self, pattern: bool, names: impl IntoIterator<Item = &'a [u8]>, id: u64) {
        let mut state = self.state.write();
        let map = state.map(pattern);
        for name in names {
            let Some(list) = map.get_mut(name) else { continue };
            let before = list.len();
            list.retain(|m| m.id != id);
            self.members.fetch_sub(before - list.len(), Ordering::Relaxed);
            if list.is_empty() {
                map.remove(name);
            }
        }
    }

    /// Delivers `payload` to the subscribers of `channel` and of the
    /// patterns matching it; returns how many deliveries were made (a full
    /// queue counts: its subscriber loses the message and counts the loss).
    pub(crate) fn publish(&self, channel: &[u8], payload: &[u8]) -> usize {
        if self.members.load(Ordering::Relaxed) == 0 {
            return 0;
        }
        let (channel, payload): (Arc<[u8]>, Arc<[u8]>) = (channel.into(), payload.into());
        let mut receivers = 0;
        let mut gone = false;
        {
            let state = self.state.read();
            let mut deliver = |members: &[Member], pattern: Option<&[u8]>| {
                let pattern: Option<Arc<[u8]>> = pattern.map(Into::into);
                for m in members {
                    let msg = Message {
                        channel: Arc::clone(&channel),
                        pattern: pattern.clone(),
                        payload: Arc::clone(&payload),
                    };
                    match m.out.send(msg) {
                        Sent::Queued | Sent::Dropped => receivers += 1,
                        Sent::Gone => gone = true,
                    }
                }
            };
            if let Some(members) = state.channels.get(&*channel) {
                deliver(members, None);
            }
            for (pattern, members) in &state.patterns {
                if glob::matches(pattern, &channel) {
                    deliver(members, Some(pattern));
                }
            }
        }
        if gone {
            self.prune();
        }
        receivers
    }

    /// Forgets members whose subscription vanished without unsubscribing.
    fn prune(&self) {
        let mut state = self.state.write();
        let State { channels, patterns } = &mut *state;
        let mut removed = 0;
        for map in [channels, patterns] {
            map.retain(|_, list| {
                let before = list.len();
                list.retain(|m| m.out.is_alive());
                removed += before - list.len();
                !list.is_empty()
            });
        }
        self.members.fetch_sub(removed, Ordering::Relaxed);
    }
}

/// A subscriber: a bounded queue of [`Message`]s and the channels and
/// patterns it listens to. Made by [`Db::subscribe`] or [`Db::psubscribe`];
/// dropping it unsubscribes from everything.
pub struct Subscription {
    db: Db,
    id: u64,
    out: Outbox<Message>,
    inbox: Inbox<Message>,
    channels: HashSet<Box<[u8]>>,
    patterns: HashSet<Box<[u8]>>,
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("channels", &self.channels.len())
            .field("patterns", &self.patterns.len())
            .field("dropped", &self.dropped())
            .finish_non_exhaustive()
    }
}

impl Subscription {
    fn new(db: &Db, capacity: usize) -> Self {
        Self::with_wake(db, capacity, None)
    }

    /// An empty subscription whose queue calls `wake` after each message
    /// (the server wakes the connection's task with it).
    pub(crate) fn with_wake(db: &Db, capacity: usize, wake: Option<Wake>) -> Self {
        let (out, inbox) = bounded_with_wake(capacity, wake);
        let id = db.inner.pubsub.next_id.fetch_add(1, Ordering::Relaxed);
        Subscription { db: db.clone(), id, out, inbox, channels: HashSet::new(), patterns: HashSet::new() }
    }

    fn join(&mut self, pattern: bool, names: &[&[u8]]) {
        let hub = &self.db.inner.pubsub;
        let set = if pattern { &mut self.patterns } else { &mut self.channels };
        for &name in names {
            if set.insert(name.into()) {
                hub.join(pattern, name, self.id, &self.out);
            }
        }
    }

    fn leave(&mut self, pattern: bool, names: &[&[u8]]) {
        let set = if pattern { &mut self.patterns } else { &mut self.channels };
        let mine: Vec<&[u8]> = names.iter().copied().filter(|n| set.remove(*n)).collect();
        self.db.inner.pubsub.leave(pattern, mine, self.id);
    }

    /// SUBSCRIBE: also listen to `channels`.
    pub fn subscribe(&mut self, channels: &[&[u8]]) {
        self.join(false, channels);
    }

    /// UNSUBSCRIBE: stop listening to `channels` (others are ignored).
    pub fn unsubscribe(&mut self, channels: &[&[u8]]) {
        self.leave(false, channels);
    }

    /// PSUBSCRIBE: also listen to channels matching the glob `patterns`.
    pub fn psubscribe(&mut self, patterns: &[&[u8]]) {
        self.join(true, patterns);
    }

    /// PUNSUBSCRIBE: stop listening to `patterns` (others are ignored).
    pub fn punsubscribe(&mut self, patterns: &[&[u8]]) {
        self.leave(true, patterns);
    }

    /// The channels listened to, in no particular order.
    pub fn channels(&self) -> impl Iterator<Item = &[u8]> {
        self.channels.iter().map(|c| &**c)
    }

    /// The patterns listened to, in no particular order.
    pub fn patterns(&self) -> impl Iterator<Item = &[u8]> {
        self.patterns.iter().map(|p| &**p)
    }

    /// Channels plus patterns: the count SUBSCRIBE and its kin reply with.
    pub fn count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    /// The counter behind [`Subscription::dropped`], shareable across threads.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn drop_counter(&self) -> Arc<AtomicU64> {
        self.inbox.drop_counter()
    }

    /// The next message, if one is queued.
    pub fn try_recv(&self) -> Option<Message> {
        self.inbox.try_recv()
    }

    /// The next message, waiting up to `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Message> {
        self.inbox.recv_timeout(timeout)
    }

    /// Messages lost because this subscriber's queue was full.
    pub fn dropped(&self) -> u64 {
        self.inbox.dropped()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let hub = &self.db.inner.pubsub;
        hub.leave(false, self.channels.iter().map(|c| &**c), self.id);
        hub.leave(true, self.patterns.iter().map(|p| &**p), self.id);
    }
}

impl Db {
    /// PUBLISH: sends `message` to the subscribers of `channel` and of the
    /// patterns matching it; returns how many received it (a subscriber
    /// whose queue is full counts, and loses the message).
    pub fn publish(&self, channel: &[u8], message: &[u8]) -> usize {
        self.inner.pubsub.publish(channel, message)
    }

    /// SUBSCRIBE: a subscription to `channels` that queues at most
    /// `capacity` messages (later ones are dropped and counted until it
    /// catches up).
    pub fn subscribe(&self, channels: &[&[u8]], capacity: usize) -> Subscription {
        let mut sub = Subscription::new(self, capacity);
        sub.subscribe(channels);
        sub
    }

    /// PSUBSCRIBE: a subscription to the channels matching the glob
    /// `patterns`, queueing at most `capacity` messages.
    pub fn psubscribe(&self, patterns: &[&[u8]], capacity: usize) -> Subscription {
        let mut sub = Subscription::new(self, capacity);
        sub.psubscribe(patterns);
        sub
    }

    /// PUBSUB CHANNELS: the channels with at least one subscriber (pattern
    /// subscriptions aside), matching the glob `pattern` if given.
    pub fn pubsub_channels(&self, pattern: Option<&[u8]>) -> Vec<Vec<u8>> {
        let state = self.inner.pubsub.state.read();
        state.channels.keys().filter(|c| pattern.is_none_or(|p| glob::matches(p, c))).map(|c| c.to_vec()).collect()
    }

    /// PUBSUB NUMSUB: the number of subscribers of each of `channels`
    /// (pattern subscriptions aside).
    pub fn pubsub_numsub(&self, channels: &[&[u8]]) -> Vec<usize> {
        let state = self.inner.pubsub.state.read();
        channels.iter().map(|c| state.channels.get(*c).map_or(0, Vec::len)).collect()
    }

    /// PUBSUB NUMPAT: the number of distinct patterns subscribed to.
    pub fn pubsub_numpat(&self) -> usize {
        self.inner.pubsub.state.read().patterns.len()
    }
}

fn cmd_publish(db: &Db, a: &[&[u8]]) -> Reply {
    Reply::count(db.publish(a[1], a[2]))
}

/// The lines of `PUBSUB HELP` after its header, as Redis words them
/// (without the shard channel subcommands, which do not exist here).
const HELP: &[&str] = &[
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
];

/// ```text
/// PUBSUB CHANNELS [pattern]
/// PUBSUB NUMSUB [channel ...]
/// PUBSUB NUMPAT
/// PUBSUB HELP
/// ```
fn cmd_pubsub(db: &Db, a: &[&[u8]]) -> Reply {
    const SUBS: &[(&str, i32)] = &[("channels", -2), ("numsub", -2), ("numpat", 2), ("help", 2)];
    let sub = match subcommand(a, "PUBSUB", SUBS) {
        Ok(sub) => sub,
        Err(e) => return e.into(),
    };
    match sub {
        "channels" if a.len() > 3 => DbError::SubcommandSyntax { name: clip(a[1]), command: "PUBSUB" }.into(),
        "channels" => Reply::bulks(db.pubsub_channels(a.get(2).copied())),
        "numsub" => {
            let counts = db.pubsub_numsub(&a[2..]);
            Reply::Array(a[2..].iter().zip(counts).flat_map(|(c, n)| [Reply::bulk(c), Reply::count(n)]).collect())
        }
        "numpat" => Reply::count(db.pubsub_numpat()),
        _ => help("PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", HELP),
    }
}
