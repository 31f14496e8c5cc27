//! Blocking pops (BLPOP, BRPOP, BLMOVE, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP):
//! callers wait on keys and are served in FIFO order when data arrives.

use super::command::Command;
use super::keyspace::Key;
use super::{Db, DbResult, Shared};
use parking_lot::{Condvar, Mutex};
use std::time::{Duration, Instant};

pub(super) const COMMANDS: &[Command] = &[];

/// The registry of blocked callers.
#[derive(Debug, Default)]
pub(crate) struct Blocking {
    lock: Mutex<usize>,
    cond: Condvar,
}

impl Blocking {
    /// Whether any caller waits (writers skip the rest when none does).
    pub(crate) fn has_waiters(&self) -> bool {
        *self.lock.lock() > 0
    }

    /// Serves the callers waiting on `keys`, first come first served.
    pub(crate) fn serve(&self, _db: &Shared, _keys: &[Key]) {
        let _g = self.lock.lock();
        self.cond.notify_all();
    }
}

impl Db {
    /// Runs `attempt` until it returns `Some`, waiting between tries for one
    /// of `keys` to receive data, at most `timeout` (`None`: forever).
    /// Returns `Ok(None)` on timeout.
    pub(crate) fn block_on<R>(
        &self,
        keys: &[&[u8]],
        timeout: Option<Duration>,
        mut attempt: impl FnMut(&Db) -> DbResult<Option<R>>,
    ) -> DbResult<Option<R>> {
        let _ = keys;
        let deadline = timeout.map(|t| Instant::now() + t);
        let b = &self.inner.blocking;
        loop {
            if let Some(r) = attempt(self)? {
                return Ok(Some(r));
            }
            let mut g = b.lock.lock();
            *g += 1;
            let timed_out = match deadline {
                Some(d) => b.cond.wait_until(&mut g, d).timed_out(),
                None => {
                    b.cond.wait(&mut g);
                    false
                }
            };
            *g -= 1;
            if timed_out {
                return attempt(self);
            }
        }
    }
}
