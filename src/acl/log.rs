//! The ACL log (`ACL LOG`): recent denied commands, keys and channels and
//! failed authentications, newest first, bounded. A denial like one of the
//! ten latest entries (same reason, context, object and user, within a
//! minute) bumps that entry's count instead of adding one, as Redis does.

use super::error::{Denied, DeniedReason};
use crate::db::Reply;
use std::collections::VecDeque;
use std::time::{SystemTime, UNIX_EPOCH};

/// Redis's `acllog-max-len` default.
pub const DEFAULT_LOG_MAX_LEN: usize = 128;
/// Entries further apart than this are not grouped (Redis's 60 s).
const GROUPING_MS: i64 = 60_000;
/// How many recent entries a new one is compared with.
const GROUPING_SCAN: usize = 10;

/// Why an entry was logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogReason {
    /// A command was refused.
    Command,
    /// A key was refused.
    Key,
    /// A channel was refused.
    Channel,
    /// An authentication failed.
    Auth,
}

impl LogReason {
    /// The name `ACL LOG` shows.
    pub fn name(self) -> &'static str {
        match self {
            LogReason::Command => "command",
            LogReason::Key => "key",
            LogReason::Channel => "channel",
            LogReason::Auth => "auth",
        }
    }
}

/// One entry of the ACL log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogEntry {
    /// How many times it happened (grouped).
    pub count: u64,
    /// Why.
    pub reason: LogReason,
    /// Where: `toplevel` (`multi` and `lua` are Redis's other contexts).
    pub context: &'static str,
    /// The command, key or channel refused, or the command that failed to authenticate.
    pub object: Vec<u8>,
    /// The user refused (or who failed to authenticate).
    pub username: Vec<u8>,
    /// The client, as the caller described it (a server gives `CLIENT INFO`'s line).
    pub client_info: String,
    /// A unique id, increasing.
    pub entry_id: u64,
    /// When the entry was created, Unix ms.
    pub created_ms: i64,
    /// When it last happened, Unix ms.
    pub updated_ms: i64,
}

#[derive(Debug)]
pub(crate) struct Log {
    entries: VecDeque<LogEntry>,
    next_id: u64,
    max_len: usize,
}

pub(crate) fn now_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

impl Log {
    pub(crate) fn new() -> Log {
        Log { entries: VecDeque::new(), next_id: 0, max_len: DEFAULT_LOG_MAX_LEN }
    }

    /// Logs `reason` on `object` by `username`.
    pub(crate) fn add(&mut self, reason: LogReason, object: &[u8], username: &[u8], client_info: &str, now: i64) {
        let similar = self.entries.iter().take(GROUPING_SCAN).position(|e| {
            e.reason == reason
                && e.object == object
                && e.username == username
                && (now - e.updated_ms).abs() <= GROUPING_MS
        });
        if let Some(at) = similar
            && let Some(mut e) = self.entries.remove(at)
        {
            e.count += 1;
            e.updated_ms = now;
            client_info.clone_into(&mut e.client_info);
            self.entries.push_front(e);
            return;
        }
        self.entries.push_front(LogEntry {
            count: 1,
            reason,
            context: "toplevel",
            object: object.to_vec(),
            username: username.to_vec(),
            client_info: client_info.to_string(),
            entry_id: self.next_id,
            created_ms: now,
            updated_ms: now,
        });
        self.next_id += 1;
        self.entries.truncate(self.max_len);
    }

    pub(crate) fn add_denied(&mut self, d: &Denied, client_info: &str) {
        let reason = match d.reason {
            DeniedReason::Command => LogReason::Command,
            DeniedReason::Key => LogReason::Key,
            DeniedReason::Channel => LogReason::Channel,
            DeniedReason::NoSuchUser => return,
        };
        self.add(reason, &d.object, &d.user, client_info, now_ms());
    }

    pub(crate) fn latest(&self, n: usize) -> Vec<LogEntry> {
        self.entries.iter().take(n).cloned().collect()
    }

    pub(crate) fn set_max_len(&mut self, n: usize) {
        self.max_len = n;
        self.entries.truncate(n);
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
}

impl LogEntry {
    /// The entry as `ACL LOG` shows it (Redis 7.2's fields).
    pub fn to_reply(&self, now_ms: i64) -> Reply {
        let field = |name: &str, v: Reply| (Reply::bulk(name), v);
        let age = (now_ms - self.updated_ms) as f64 / 1000.0;
        let int = |n: u64| Reply::Integer(i64::try_from(n).unwrap_or(i64::MAX));
        Reply::Map(vec![
            field("count", int(self.count)),
            field("reason", Reply::bulk(self.reason.name())),
            field("context", Reply::bulk(self.context)),
            field("object", Reply::bulk(&self.object)),
            field("username", Reply::bulk(&self.username)),
            field("age-seconds", Reply::Double(age)),
            field("client-info", Reply::bulk(&self.client_info)),
            field("entry-id", int(self.entry_id)),
            field("timestamp-created", Reply::Integer(self.created_ms)),
            field("timestamp-last-updated", Reply::Integer(self.updated_ms)),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_bounds_and_orders() {
        let mut log = Log::new();
        log.set_max_len(3);
        log.add(LogReason::Command, b"set", b"bob", "c1", 1_000);
        log.add(LogReason::Command, b"set", b"bob", "c2", 2_000);
        assert_eq!(log.latest(10).len(), 1);
        assert_eq!((log.latest(1)[0].count, log.latest(1)[0].client_info.as_str()), (2, "c2"));
        log.add(LogReason::Command, b"set", b"bob", "c3", 2_000 + GROUPING_MS + 1);
        assert_eq!(log.latest(10).len(), 2, "more than a minute later: a new entry");
        log.add(LogReason::Key, b"k", b"bob", "", 70_000);
        log.add(LogReason::Auth, b"AUTH", b"amy", "", 70_000);
        let all = log.latest(10);
        assert_eq!(all.len(), 3, "bounded");
        assert_eq!(all[0].reason, LogReason::Auth, "newest first");
        assert!(all[0].entry_id > all[1].entry_id);
        log.clear();
        assert!(log.latest(10).is_empty());
    }
}
