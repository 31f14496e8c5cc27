//! A Memcached connection as a pump serves it (see `server::pump`): its
//! session, its client slot, and its place in `curr_connections`.

use super::session::{Session, Shared};
use crate::db::Db;
use crate::server::ClientSlot;
use crate::server::pump::{Answer, Pumped};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// A plain-TCP Memcached connection handed to a pump.
pub(super) struct McConn {
    pub(super) session: Session,
    pub(super) _slot: ClientSlot,
    pub(super) _counted: Counted,
}

/// Takes a connection off the `curr_connections` statistic when dropped
/// (the listener counted it in).
pub(super) struct Counted(pub(super) Arc<Shared>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.stats.curr_connections.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Pumped for McConn {
    fn answer(&mut self, input: &[u8], out: &mut Vec<u8>) -> Answer {
        let progress = self.session.process(input, out);
        Answer { consumed: progress.consumed, close: progress.close, hand_off: false }
    }

    fn lookups<'a>(input: &'a [u8], each: impl FnMut(&'a [u8])) {
        super::text::get_keys(input, each);
    }

    fn db(&self) -> &Db {
        &self.session.db
    }
}
