//! A selector: one set of permissions — commands, key patterns, channel
//! patterns. Every user has a root selector; more in parentheses
//! (`(~cache:* +get)`) grant alternatives: a call is allowed if any
//! selector allows it.
//!
//! Command rules follow Redis 7.2+: a bitmap over the catalog's command ids
//! gives the answer, and the rules are also kept in order (a later rule for
//! the same command replaces an earlier one, `+cmd` also drops `cmd|sub`
//! rules) so that describing the selector and applying the description to
//! a fresh selector gives the same bitmap.

use super::error::{DeniedReason, RuleErrorKind};
use crate::db::catalog::{self, COUNT, ChannelKind, CommandSpec, flag};
use crate::db::glob;
use std::ops::ControlFlow;

const WORDS: usize = COUNT.div_ceil(64);

/// A key pattern and the access it grants.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct KeyPattern {
    pub(crate) read: bool,
    pub(crate) write: bool,
    pub(crate) pattern: Box<[u8]>,
}

impl KeyPattern {
    /// Written as Redis writes it, except a read-write `*` pattern (from
    /// `%RW~*`; `~*` itself means `allkeys`): Redis writes it `~*`, which
    /// reads back as `allkeys`, dropping the patterns before it and
    /// refusing the ones after (so ACL SAVE wrote a file ACL LOAD refused;
    /// found by the `acl_rules` fuzz target). Here it is `%RW~*`, which
    /// reads back as itself.
    fn describe(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(match (self.read, self.write) {
            (true, true) if &*self.pattern == b"*" => b"%RW~",
            (true, true) => b"~",
            (true, false) => b"%R~",
            _ => b"%W~",
        });
        out.extend_from_slice(&self.pattern);
    }
}

/// One rule of the ordered command rules: allowed or not, and the lowercase
/// name (`get`, `config|get`, `select|0`, `@string`).
type CommandRule = (bool, Box<[u8]>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Selector {
    /// Every key (`~*`, `allkeys`).
    pub(crate) all_keys: bool,
    /// Every channel (`&*`, `allchannels`).
    pub(crate) all_channels: bool,
    /// Every command, with no exception since `+@all` (the fast path).
    pub(crate) all_commands: bool,
    /// Started from `+@all` (Redis's reserved "future commands" bit): the
    /// description starts with `+@all`, else `-@all`.
    future: bool,
    allowed: [u64; WORDS],
    /// First arguments allowed for otherwise denied commands (`+select|0`).
    first_args: Vec<(u16, Vec<Box<[u8]>>)>,
    rules: Vec<CommandRule>,
    pub(crate) keys: Vec<KeyPattern>,
    pub(crate) channels: Vec<Box<[u8]>>,
}

impl Default for Selector {
    /// A new user's: no commands, keys or channels (Redis's default
    /// `acl-pubsub-default resetchannels`).
    fn default() -> Self {
        Selector {
            all_keys: false,
            all_channels: false,
            all_commands: false,
            future: false,
            allowed: [0; WORDS],
            first_args: Vec::new(),
            rules: Vec::new(),
            keys: Vec::new(),
            channels: Vec::new(),
        }
    }
}

fn is(op: &[u8], word: &str) -> bool {
    op.eq_ignore_ascii_case(word.as_bytes())
}

/// Patterns and first arguments may not hold what splits a rule line.
fn has_spaces(s: &[u8]) -> bool {
    s.iter().any(|&b| b == b' ' || b == 0 || b == b'\t' || b == b'\r' || b == b'\n')
}

impl Selector {
    /// Every command on every key and channel: nothing to check.
    pub(crate) fn allows_everything(&self) -> bool {
        self.all_commands && self.all_keys && self.all_channels
    }

    /// Applies one selector rule (`~pat`, `%R~pat`, `&pat`, `+cmd`,
    /// `-@cat`, `allkeys`, …), as Redis's ACL SETUSER does.
    pub(crate) fn apply(&mut self, op: &[u8]) -> Result<(), RuleErrorKind> {
        if is(op, "allkeys") || op == b"~*" {
            self.all_keys = true;
            self.keys.clear();
        } else if is(op, "resetkeys") {
            self.all_keys = false;
            self.keys.clear();
        } else if is(op, "allchannels") || op == b"&*" {
            self.all_channels = true;
            self.channels.clear();
        } else if is(op, "resetchannels") {
            self.all_channels = false;
            self.channels.clear();
        } else if is(op, "allcommands") || is(op, "+@all") {
            self.set_all_commands(true);
        } else if is(op, "nocommands") || is(op, "-@all") {
            self.set_all_commands(false);
        } else {
            match op {
                [b'~' | b'%', ..] => self.add_key_pattern(op)?,
                [b'&', pattern @ ..] => {
                    if self.all_channels {
                        return Err(RuleErrorKind::ChannelPatternAfterAll);
                    }
                    if has_spaces(pattern) {
                        return Err(RuleErrorKind::Syntax);
                    }
                    if !self.channels.iter().any(|c| **c == *pattern) {
                        self.channels.push(pattern.into());
                    }
                }
                [sign @ (b'+' | b'-'), b'@', category @ ..] => {
                    let bits = catalog::cat::by_name(category).ok_or(RuleErrorKind::UnknownCommand)?;
                    let allow = *sign == b'+';
                    self.update_rules(&op[1..], allow);
                    for cmd in catalog::all() {
                        self.set_category(cmd, bits, allow);
                    }
                }
                [b'+', name @ ..] => self.allow_command(name)?,
                [b'-', name @ ..] => {
                    let cmd = catalog::lookup(name).ok_or(RuleErrorKind::UnknownCommand)?;
                    self.change_perm(cmd, false);
                    self.update_rules(cmd.name.as_bytes(), false);
                }
                _ => return Err(RuleErrorKind::Syntax),
            }
        }
        Ok(())
    }

    fn set_all_commands(&mut self, on: bool) {
        self.allowed = [if on { u64::MAX } else { 0 }; WORDS];
        self.all_commands = on;
        self.future = on;
        self.rules.clear();
        self.first_args.clear();
    }

    fn add_key_pattern(&mut self, op: &[u8]) -> Result<(), RuleErrorKind> {
        if self.all_keys {
            return Err(RuleErrorKind::KeyPatternAfterAll);
        }
        let (mut read, mut write, mut at) = (true, true, 1);
        if op[0] == b'%' {
            (read, write) = (false, false);
            while at < op.len() {
                match op[at] {
                    b'R' | b'r' if !read => read = true,
                    b'W' | b'w' if !write => write = true,
                    b'~' if read || write => {
                        at += 1;
                        break;
                    }
                    _ => return Err(RuleErrorKind::Syntax),
                }
                at += 1;
            }
            if !read && !write {
                return Err(RuleErrorKind::Syntax);
            }
        }
        let pattern = &op[at..];
        if has_spaces(pattern) {
            return Err(RuleErrorKind::Syntax);
        }
        match self.keys.iter_mut().find(|k| *k.pattern == *pattern) {
            Some(k) => {
                k.read |= read;
                k.write |= write;
            }
            None => self.keys.push(KeyPattern { read, write, pattern: pattern.into() }),
        }
        Ok(())
    }

    /// `+cmd`, `+cmd|sub` (a subcommand of a container), `+cmd|arg` (a
    /// first argument of another command: Redis's deprecated form).
    fn allow_command(&mut self, name: &[u8]) -> Result<(), RuleErrorKind> {
        let Some(bar) = name.iter().rposition(|&b| b == b'|') else {
            let cmd = catalog::lookup(name).ok_or(RuleErrorKind::UnknownCommand)?;
            self.change_perm(cmd, true);
            self.update_rules(cmd.name.as_bytes(), true);
            return Ok(());
        };
        let (base, sub) = (&name[..bar], &name[bar + 1..]);
        let cmd = catalog::lookup(base).ok_or(RuleErrorKind::UnknownCommand)?;
        if cmd.name.contains('|') {
            return Err(RuleErrorKind::FirstArgOfSubcommand);
        }
        if sub.is_empty() || has_spaces(sub) {
            return Err(RuleErrorKind::Syntax);
        }
        if cmd.subcommands.is_empty() {
            let list = match self.first_args.iter_mut().find(|(id, _)| *id == cmd.id) {
                Some((_, list)) => list,
                None => {
                    self.first_args.push((cmd.id, Vec::new()));
                    let last = self.first_args.len() - 1;
                    &mut self.first_args[last].1
                }
            };
            if !list.iter().any(|a| a.eq_ignore_ascii_case(sub)) {
                list.push(sub.into());
            }
        } else {
            let sub = cmd.subcommand(sub).ok_or(RuleErrorKind::UnknownCommand)?;
            self.change_perm(sub, true);
        }
        self.update_rules(name, true);
        Ok(())
    }

    fn set_bit(&mut self, id: u16, on: bool) {
        let (word, bit) = (usize::from(id) / 64, 1u64 << (id % 64));
        if let Some(w) = self.allowed.get_mut(word) {
            if on {
                *w |= bit;
            } else {
                *w &= !bit;
                self.all_commands = false;
            }
        }
    }

    fn bit(&self, id: u16) -> bool {
        self.allowed.get(usize::from(id) / 64).is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    /// Allows or denies `cmd`, and all its subcommands for a container.
    fn change_perm(&mut self, cmd: &CommandSpec, allow: bool) {
        self.set_bit(cmd.id, allow);
        self.first_args.retain(|(id, _)| *id != cmd.id);
        for sub in cmd.subcommands {
            self.set_bit(sub.id, allow);
        }
    }

    fn set_category(&mut self, cmd: &CommandSpec, bits: u32, allow: bool) {
        if cmd.categories & bits != 0 {
            self.change_perm(cmd, allow);
        }
        for sub in cmd.subcommands {
            self.set_category(sub, bits, allow);
        }
    }

    /// Appends `rule`, first dropping earlier rules it overrides: the same
    /// name, or a `name|…` under it.
    fn update_rules(&mut self, rule: &[u8], allow: bool) {
        let rule: Box<[u8]> = rule.to_ascii_lowercase().into();
        self.rules
            .retain(|(_, r)| !(r == &rule || (r.len() > rule.len() && r.starts_with(&rule) && r[rule.len()] == b'|')));
        self.rules.push((allow, rule));
    }

    /// The command rules: `+@all` or `-@all`, then the kept rules.
    pub(crate) fn describe_commands(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(if self.future { b"+@all" } else { b"-@all" });
        for (allow, rule) in &self.rules {
            out.extend_from_slice(if *allow { b" +" } else { b" -" });
            out.extend_from_slice(rule);
        }
    }

    /// The key patterns, space separated (`~*` for all keys).
    pub(crate) fn describe_keys(&self, out: &mut Vec<u8>) {
        if self.all_keys {
            out.extend_from_slice(b"~*");
            return;
        }
        for (i, k) in self.keys.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            k.describe(out);
        }
    }

    /// The channel patterns, space separated (`&*` for all channels).
    pub(crate) fn describe_channels(&self, out: &mut Vec<u8>) {
        if self.all_channels {
            out.extend_from_slice(b"&*");
            return;
        }
        for (i, c) in self.channels.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            out.push(b'&');
            out.extend_from_slice(c);
        }
    }

    /// The whole selector as rules (`~* &* +@all`, `%R~a resetchannels &c -@all +get`).
    pub(crate) fn describe(&self, out: &mut Vec<u8>) {
        if self.all_keys || !self.keys.is_empty() {
            self.describe_keys(out);
            out.push(b' ');
        }
        if self.all_channels {
            out.extend_from_slice(b"&* ");
        } else {
            out.extend_from_slice(b"resetchannels ");
            if !self.channels.is_empty() {
                self.describe_channels(out);
                out.push(b' ');
            }
        }
        self.describe_commands(out);
    }

    /// What the selector allows, comparable: two selectors with equal
    /// permissions allow exactly the same calls.
    #[cfg(test)]
    pub(crate) fn permissions(&self) -> impl PartialEq + std::fmt::Debug {
        let allowed: Vec<bool> = (0..COUNT).map(|id| self.bit(u16::try_from(id).unwrap_or(u16::MAX))).collect();
        let mut first_args: Vec<(u16, Vec<Vec<u8>>)> = self
            .first_args
            .iter()
            .filter(|(id, _)| !self.bit(*id))
            .map(|(id, l)| {
                let mut l: Vec<Vec<u8>> = l.iter().map(|a| a.to_ascii_lowercase()).collect();
                l.sort();
                (*id, l)
            })
            .collect();
        first_args.sort();
        let mut keys = self.keys.clone();
        keys.sort();
        let mut channels = self.channels.clone();
        channels.sort();
        (allowed, first_args, self.all_keys, keys, self.all_channels, channels)
    }

    /// Whether this selector allows `args` (resolved to `cmd`); else why
    /// not and at which argument.
    pub(crate) fn check<A: AsRef<[u8]>>(&self, cmd: &CommandSpec, args: &[A]) -> Result<(), (DeniedReason, usize)> {
        if !self.all_commands && !cmd.has_flag(flag::NO_AUTH) && !self.bit(cmd.id) {
            let at = if cmd.name.contains('|') { 2 } else { 1 };
            let allowed = self.first_args.iter().find(|(id, _)| *id == cmd.id).is_some_and(|(_, list)| {
                args.get(at).is_some_and(|a| list.iter().any(|f| f.eq_ignore_ascii_case(a.as_ref())))
            });
            if !allowed {
                return Err((DeniedReason::Command, 0));
            }
        }
        if !self.all_keys && !cmd.key_specs.is_empty() {
            let refused = cmd.for_each_key(args, |k| {
                let access = k.access();
                let key = args.get(k.index).map_or(&[][..], AsRef::as_ref);
                let ok = self
                    .keys
                    .iter()
                    .any(|p| (p.read || !access.read) && (p.write || !access.write) && glob::matches(&p.pattern, key));
                if ok { ControlFlow::Continue(()) } else { ControlFlow::Break(k.index) }
            });
            if let ControlFlow::Break(index) = refused {
                return Err((DeniedReason::Key, index));
            }
        }
        if !self.all_channels && cmd.has_flag(flag::PUBSUB) {
            for ch in cmd.channels(args) {
                let name = args.get(ch.index).map_or(&[][..], AsRef::as_ref);
                let ok = match ch.kind {
                    ChannelKind::Publish | ChannelKind::Subscribe => {
                        self.channels.iter().any(|p| glob::matches(p, name))
                    }
                    ChannelKind::PatternSubscribe => self.channels.iter().any(|p| **p == *name),
                    _ => true,
                };
                if !ok {
                    return Err((DeniedReason::Channel, ch.index));
                }
            }
        }
        Ok(())
    }
}
