//! Server-assisted client-side caching: CLIENT TRACKING.
//!
//! - Default mode: the keys a tracking client reads are remembered; the
//!   first change to one (by anyone, in any database, as in Redis) sends
//!   that client an `invalidate` message with the key and forgets it.
//! - BCAST mode: the client names key prefixes (none: every key) and hears
//!   of every change to a matching key, without reads being remembered.
//! - OPTIN/OPTOUT (with CLIENT CACHING yes|no), NOLOOP (no message for the
//!   client's own changes) and REDIRECT (messages go to another client, as
//!   `message __redis__:invalidate` on RESP2 pub/sub) are supported.
//! - FLUSHDB/FLUSHALL send a null invalidation (everything) to every
//!   tracking client.
//!
//! Messages are RESP3 push messages `invalidate [keys]`; over RESP2 a client
//! must redirect to a subscriber of `__redis__:invalidate`.

use super::state::{ClientInfo, Push};
use crate::db::observe::Observer;
use crate::db::{Db, Reply};
use parking_lot::Mutex;
use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Weak};

thread_local! {
    /// The client whose command this thread is running (for NOLOOP).
    static CURRENT: Cell<u64> = const { Cell::new(0) };
}

/// Marks the commands run on this thread until dropped as `client`'s.
pub(crate) struct Running(u64);

impl Running {
    pub(crate) fn enter(client: u64) -> Self {
        let before = CURRENT.with(|c| c.replace(client));
        Running(before)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

/// One tracking client's settings.
#[derive(Clone)]
pub(crate) struct Mode {
    pub(crate) bcast: bool,
    pub(crate) prefixes: Vec<Vec<u8>>,
    pub(crate) noloop: bool,
    /// Where messages go (the client itself, or its REDIRECT target).
    pub(crate) target: Weak<ClientInfo>,
    /// Whether the target gets RESP2 pub/sub messages rather than pushes.
    pub(crate) redirect: bool,
}

impl Mode {
    /// A mode whose messages go to the tracking client `info` itself (no
    /// REDIRECT).
    pub(crate) fn to_self(info: &Arc<ClientInfo>, bcast: bool, prefixes: Vec<Vec<u8>>, noloop: bool) -> Mode {
        Mode { bcast, prefixes, noloop, target: Arc::downgrade(info), redirect: false }
    }
}

#[derive(Default)]
struct Table {
    /// Default mode: key -> clients that read it.
    keys: HashMap<Box<[u8]>, HashSet<u64>, ahash::RandomState>,
    /// Every tracking client.
    clients: HashMap<u64, Mode>,
    bcast: usize,
}

/// The tracking table of a server.
#[derive(Default)]
pub(crate) struct Tracking {
    table: Mutex<Table>,
    dbs: Mutex<Vec<Db>>,
}

impl Tracking {
    /// Observes `db` (interest is declared while anyone tracks).
    pub(crate) fn attach(&self, db: &Db) {
        self.dbs.lock().push(db.clone());
    }

    fn set_interest(&self, before: bool, after: bool) {
        if before != after {
            for db in self.dbs.lock().iter() {
                db.inner.observers.interest(after);
            }
        }
    }

    /// Turns tracking on for `client` with `mode`.
    pub(crate) fn enable(&self, client: u64, mode: Mode) {
        let mut t = self.table.lock();
        let before = !t.clients.is_empty();
        if let Some(old) = t.clients.insert(client, mode.clone())
            && old.bcast
        {
            t.bcast -= 1;
        }
        if mode.bcast {
            t.bcast += 1;
        }
        drop(t);
        self.set_interest(before, true);
    }

    /// Turns tracking off for `client`.
    pub(crate) fn forget_client(&self, client: u64) {
        let mut t = self.table.lock();
        let before = !t.clients.is_empty();
        if let Some(old) = t.clients.remove(&client) {
            if old.bcast {
                t.bcast -= 1;
            }
            t.keys.retain(|_, ids| {
                ids.remove(&client);
                !ids.is_empty()
            });
        }
        let after = !t.clients.is_empty();
        drop(t);
        self.set_interest(before, after);
    }

    /// Remembers that `client` (in default mode) read `keys`.
    pub(crate) fn remember(&self, client: u64, keys: &[&[u8]]) {
        let mut t = self.table.lock();
        if t.clients.get(&client).is_none_or(|m| m.bcast) {
            return;
        }
        for key in keys {
            t.keys.entry((*key).into()).or_default().insert(client);
        }
    }

    /// Keys remembered, for CLIENT TRACKINGINFO and INFO.
    pub(crate) fn tracked_keys(&self) -> usize {
        self.table.lock().keys.len()
    }

    pub(crate) fn tracking_clients(&self) -> usize {
        self.table.lock().clients.len()
    }

    pub(crate) fn mode(&self, client: u64) -> Option<Mode> {
        self.table.lock().clients.get(&client).cloned()
    }

    fn send(mode: &Mode, keys: Option<Vec<Vec<u8>>>) {
        let Some(target) = mode.target.upgrade() else { return };
        let keys = match keys {
            Some(keys) => Reply::Array(keys.into_iter().map(Reply::Bulk).collect()),
            None => Reply::NullArray,
        };
        let msg = if mode.redirect {
            Push::Message(vec![Reply::bulk("message"), Reply::bulk("__redis__:invalidate"), keys])
        } else {
            Push::Message(vec![Reply::bulk("invalidate"), keys])
        };
        target.push(msg);
    }
}

impl Observer for Tracking {
    fn modified(&self, key: &[u8]) {
        let me = CURRENT.with(Cell::get);
        let mut t = self.table.lock();
        if t.clients.is_empty() {
            return;
        }
        let mut to: Vec<Mode> = Vec::new();
        if let Some(ids) = t.keys.remove(key) {
            to.extend(ids.into_iter().filter_map(|id| t.clients.get(&id).filter(|m| !(m.noloop && id == me)).cloned()));
        }
        if t.bcast > 0 {
            to.extend(
                t.clients
                    .iter()
                    .filter(|(id, m)| m.bcast && !(m.noloop && **id == me))
                    .filter(|(_, m)| m.prefixes.is_empty() || m.prefixes.iter().any(|p| key.starts_with(p)))
                    .map(|(_, m)| m.clone()),
            );
        }
        drop(t);
        for mode in &to {
            Self::send(mode, Some(vec![key.to_vec()]));
        }
    }

    fn flushed(&self) {
        let mut t = self.table.lock();
        t.keys.clear();
        let modes: Vec<Mode> = t.clients.values().cloned().collect();
        drop(t);
        for mode in &modes {
            Self::send(mode, None);
        }
    }
}
