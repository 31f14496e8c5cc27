//! Which arguments of a call are keys (and how each is used), and which
//! are Pub/Sub channels: Redis 7's key-spec walk, with its special case
//! for `SET` (whose `GET` option makes the key read as well as written).
//!
//! Nothing here trusts the arguments: a count that is not a number, or
//! points past the end, yields no keys for the call (as Redis does: the
//! command then fails its own argument checks).

use super::{BeginSearch, CommandSpec, FindKeys, KeySpec, key};
use std::ops::ControlFlow;

/// The access a key argument needs, for ACL `%R~` and `%W~` patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// The command reads the value (Redis's `access` key flag).
    pub read: bool,
    /// The command changes or removes it (`update`, `insert`, `delete`).
    pub write: bool,
}

/// One key argument of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRef {
    /// Its position in the arguments (the name is 0).
    pub index: usize,
    /// Its spec's [`key`] flags (for `SET`, as the call's options make them).
    pub flags: u16,
}

impl KeyRef {
    /// The access it needs.
    pub fn access(&self) -> Access {
        Access {
            read: self.flags & key::ACCESS != 0,
            write: self.flags & (key::UPDATE | key::INSERT | key::DELETE) != 0,
        }
    }
}

/// How a command uses a channel argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChannelKind {
    /// PUBLISH's channel.
    Publish,
    /// SUBSCRIBE's channels.
    Subscribe,
    /// PSUBSCRIBE's patterns.
    PatternSubscribe,
    /// UNSUBSCRIBE's channels (never checked by ACL rules).
    Unsubscribe,
    /// PUNSUBSCRIBE's patterns (never checked by ACL rules).
    PatternUnsubscribe,
}

/// One channel argument of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Channel {
    /// Its position in the arguments.
    pub index: usize,
    /// How it is used.
    pub kind: ChannelKind,
}

impl CommandSpec {
    /// The key arguments of the call `args` (name first), in order. Empty
    /// for a call whose key count or positions do not fit its arguments.
    pub fn keys<A: AsRef<[u8]>>(&self, args: &[A]) -> Vec<KeyRef> {
        let mut out = Vec::new();
        let _ = self.for_each_key(args, |k| {
            out.push(k);
            ControlFlow::<()>::Continue(())
        });
        out
    }

    /// The key arguments themselves (see [`CommandSpec::keys`]).
    pub fn key_args<'a, A: AsRef<[u8]>>(&self, args: &'a [A]) -> Vec<&'a [u8]> {
        self.keys(args).into_iter().filter_map(|k| args.get(k.index).map(AsRef::as_ref)).collect()
    }

    /// Calls `f` with each key argument of `args` until it breaks; no
    /// allocation.
    pub(crate) fn for_each_key<A: AsRef<[u8]>, B>(
        &self,
        args: &[A],
        mut f: impl FnMut(KeyRef) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        if self.key_specs.iter().any(|s| s.flags & key::VARIABLE_FLAGS != 0) {
            return variable_flags_keys(self, args, f);
        }
        // As Redis: any spec that does not fit the call voids them all.
        if !self.key_specs.iter().all(|s| s.flags & key::NOT_KEY != 0 || spec_range(s, args).is_some()) {
            return ControlFlow::Continue(());
        }
        for spec in self.key_specs.iter().filter(|s| s.flags & key::NOT_KEY == 0) {
            let Some((first, last, step)) = spec_range(spec, args) else { continue };
            let mut i = first;
            while i <= last {
                f(KeyRef { index: i, flags: spec.flags })?;
                i = match i.checked_add(step) {
                    Some(next) => next,
                    None => break,
                };
            }
        }
        ControlFlow::Continue(())
    }

    /// The channel arguments of `args` (PUBLISH, SUBSCRIBE, PSUBSCRIBE,
    /// UNSUBSCRIBE, PUNSUBSCRIBE); empty for other commands.
    pub fn channels<A: AsRef<[u8]>>(&self, args: &[A]) -> Vec<Channel> {
        let (kind, only_first) = match self.name {
            "publish" => (ChannelKind::Publish, true),
            "subscribe" => (ChannelKind::Subscribe, false),
            "psubscribe" => (ChannelKind::PatternSubscribe, false),
            "unsubscribe" => (ChannelKind::Unsubscribe, false),
            "punsubscribe" => (ChannelKind::PatternUnsubscribe, false),
            _ => return Vec::new(),
        };
        let end = if only_first { args.len().min(2) } else { args.len() };
        (1..end).map(|index| Channel { index, kind }).collect()
    }
}

/// The first and last argument positions and the step of `spec`'s keys in
/// `args`, or `None` if they do not fit (an out-of-range or non-numeric
/// count, a missing keyword, too few arguments).
fn spec_range<A: AsRef<[u8]>>(spec: &KeySpec, args: &[A]) -> Option<(usize, usize, usize)> {
    let argc = i64::try_from(args.len()).ok()?;
    let mut first = match spec.begin {
        BeginSearch::Index(i) => i64::from(i),
        BeginSearch::Keyword { keyword, start_from } => keyword_start(args, argc, keyword, i64::from(start_from))?,
        BeginSearch::Unknown => return None,
    };
    let (last, step) = match spec.find {
        FindKeys::Range { last_key, key_step, limit } => {
            let (last_key, limit) = (i64::from(last_key), i64::from(limit));
            let last = if last_key >= 0 {
                first + last_key
            } else if limit <= 0 {
                argc + last_key
            } else {
                first + ((argc - first) / limit + last_key)
            };
            (last, i64::from(key_step))
        }
        FindKeys::KeyNum { key_num_idx, first_key, key_step } => {
            let at = usize::try_from(first + i64::from(key_num_idx)).ok()?;
            let count = std::str::from_utf8(args.get(at)?.as_ref()).ok()?.parse::<i64>().ok()?;
            if count < 0 {
                return None;
            }
            first += i64::from(first_key);
            (first.checked_add(count)? - 1, i64::from(key_step))
        }
        FindKeys::Unknown => return None,
    };
    if step < 1 || first < 1 || last >= argc || last < first {
        return None;
    }
    Some((usize::try_from(first).ok()?, usize::try_from(last).ok()?, usize::try_from(step).ok()?))
}

/// The position after `keyword`, searched from `start_from` toward the end
/// (or, negative, from the end toward the start), as Redis searches.
fn keyword_start<A: AsRef<[u8]>>(args: &[A], argc: i64, keyword: &str, start_from: i64) -> Option<i64> {
    let (start, end, forward) =
        if start_from > 0 { (start_from, argc - 1, true) } else { (argc + start_from, 0, false) };
    let mut i = start;
    while i != end {
        if i >= argc || i < 1 {
            return None;
        }
        if args.get(usize::try_from(i).ok()?)?.as_ref().eq_ignore_ascii_case(keyword.as_bytes()) {
            return Some(i + 1);
        }
        i += if forward { 1 } else { -1 };
    }
    None
}

/// Keys of a command whose flags depend on its arguments: in this catalog,
/// `SET`, whose key is read as well when `GET` is among its options.
fn variable_flags_keys<A: AsRef<[u8]>, B>(
    cmd: &CommandSpec,
    args: &[A],
    mut f: impl FnMut(KeyRef) -> ControlFlow<B>,
) -> ControlFlow<B> {
    if cmd.name != "set" || args.len() < 2 {
        return ControlFlow::Continue(());
    }
    let get = args.iter().skip(3).any(|a| a.as_ref().eq_ignore_ascii_case(b"get"));
    let flags = if get { key::RW | key::ACCESS | key::UPDATE } else { key::OW | key::UPDATE };
    f(KeyRef { index: 1, flags })
}
