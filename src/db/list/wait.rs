//! The typed methods of the blocking list commands: each is its
//! non-blocking form, retried by [`Db::block_on`] whenever one of its keys
//! receives items, callers served first come first served.
//!
//! A `timeout` of `None` waits forever. On timeout they return `Ok(None)`.
//! An error (a key of another type, OOM for BLMOVE) ends the wait, on the
//! first try or on a later one, as Redis 7 re-running the command would.

use super::End;
use super::ops::Popped;
use crate::db::{Db, DbResult};
use std::time::Duration;

impl Db {
    /// BLPOP: pops the head of the first non-empty list among `keys`,
    /// waiting up to `timeout` for one. Returns the key and the item.
    pub fn blpop(&self, keys: &[&[u8]], timeout: Option<Duration>) -> DbResult<Option<(Vec<u8>, Vec<u8>)>> {
        self.bpop(keys, End::Left, timeout)
    }

    /// BRPOP: as [`Db::blpop`], at the tail.
    pub fn brpop(&self, keys: &[&[u8]], timeout: Option<Duration>) -> DbResult<Option<(Vec<u8>, Vec<u8>)>> {
        self.bpop(keys, End::Right, timeout)
    }

    fn bpop(&self, keys: &[&[u8]], end: End, timeout: Option<Duration>) -> DbResult<Option<(Vec<u8>, Vec<u8>)>> {
        let popped = self.blmpop(keys, end, 1, timeout)?;
        Ok(popped.and_then(|(key, mut items)| Some((key, items.pop()?))))
    }

    /// BLMPOP: [`Db::lmpop`], waiting up to `timeout` for one of `keys` to
    /// hold items.
    pub fn blmpop(
        &self,
        keys: &[&[u8]],
        end: End,
        count: usize,
        timeout: Option<Duration>,
    ) -> DbResult<Option<Popped>> {
        self.block_on(keys, timeout, |db| db.lmpop(keys, end, count))
    }

    /// BLMOVE: [`Db::lmove`], waiting up to `timeout` for `src` to hold items.
    pub fn blmove(
        &self,
        src: &[u8],
        dst: &[u8],
        from: End,
        to: End,
        timeout: Option<Duration>,
    ) -> DbResult<Option<Vec<u8>>> {
        self.block_on(&[src], timeout, |db| db.lmove(src, dst, from, to))
    }

    /// BRPOPLPUSH: `BLMOVE src dst RIGHT LEFT timeout`.
    pub fn brpoplpush(&self, src: &[u8], dst: &[u8], timeout: Option<Duration>) -> DbResult<Option<Vec<u8>>> {
        self.blmove(src, dst, End::Right, End::Left, timeout)
    }
}
