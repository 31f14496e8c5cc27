//! Walking the keyspace: KEYS, SCAN and RANDOMKEY.
//!
//! A SCAN cursor is `(shard << 48) | position`: each call covers one
//! window of scan positions (`cursor::position` of the key's engine hash)
//! in one shard, sized by COUNT and the shard's size (`cursor::window`).
//! Positions and shards are fixed for a key's life, so Redis's guarantee
//! holds across any growth, shrinking or rehashing: a key present for the
//! whole scan is returned (here exactly once), and a cursor is never
//! invalidated by writes.

use super::super::args::{self, is};
use super::super::cursor::{self, POSITION_BITS};
use super::super::glob;
use super::super::keyspace::{Key, Stored, Tx};
use super::super::{Db, DbError, Reply};
use crate::engine::evict::lfu::next_random;
use crate::engine::shard::Shard;

/// Positions within a shard are below this.
const SPAN: u64 = 1 << POSITION_BITS;
/// Random shards tried by RANDOMKEY before it walks the keyspace.
const RANDOM_TRIES: usize = 64;

/// The options of SCAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanOptions<'a> {
    /// `MATCH pattern`: only keys matching this glob pattern.
    pub pattern: Option<&'a [u8]>,
    /// `COUNT count`: about how many keys one call looks at (default 10);
    /// it sizes the window of positions a call covers, so a call may return
    /// more or fewer.
    pub count: usize,
    /// `TYPE type`: only keys whose TYPE is this name (any case); an
    /// unknown name matches nothing, as in Redis 7.
    pub type_name: Option<&'a [u8]>,
}

impl Default for ScanOptions<'_> {
    fn default() -> Self {
        ScanOptions { pattern: None, count: 10, type_name: None }
    }
}

impl ScanOptions<'_> {
    fn wants(&self, key: &[u8], stored: &Stored) -> bool {
        self.pattern.is_none_or(|p| p == b"*" || glob::matches(p, key))
            && self.type_name.is_none_or(|t| t.eq_ignore_ascii_case(stored.value.type_name().as_bytes()))
    }
}

impl Db {
    /// KEYS: every key matching the glob `pattern`, taken atomically (all
    /// shards locked while it runs, as Redis blocks while it runs).
    pub fn keys(&self, pattern: &[u8]) -> Vec<Vec<u8>> {
        let all = pattern == b"*";
        let mut out = Vec::new();
        let mut tx = Tx::all(&self.inner);
        tx.for_each_live(|k, _, _| {
            if all || glob::matches(pattern, k) {
                out.push(k.to_vec());
            }
        });
        tx.finish();
        out
    }

    /// SCAN: one step of an iteration over the keys, starting from cursor 0.
    /// Returns the next cursor (0 when the iteration is complete) and the
    /// keys of this step. Every key that exists during the whole iteration
    /// is returned once, whatever is written meanwhile. Does not count as
    /// an access.
    pub fn scan(&self, cursor: u64, opts: &ScanOptions<'_>) -> (u64, Vec<Vec<u8>>) {
        let engine = &self.inner.engine;
        let n = engine.shard_count();
        let mut shard = usize::try_from(cursor >> POSITION_BITS).unwrap_or(usize::MAX);
        let mut start = cursor & (SPAN - 1);
        let now = self.now();
        while shard < n {
            let step = engine.with_shard(shard, |s| {
                if s.len() == 0 {
                    return None;
                }
                let (from, to) = cursor::window(start, opts.count, s.len());
                let mut keys = Vec::new();
                for (i, e) in s.slab.iter() {
                    let p = cursor::position(engine.hash(&*e.key));
                    if (from..to).contains(&p) && !s.is_expired(i, e, now) && opts.wants(&e.key, &e.value) {
                        keys.push(e.key.to_vec());
                    }
                }
                Some((to, keys))
            });
            let Some(Some((to, keys))) = step else {
                // An empty shard: on to the next in the same call.
                shard += 1;
                start = 0;
                continue;
            };
            let next = if to < SPAN {
                (shard as u64) << POSITION_BITS | to
            } else if shard + 1 < n {
                ((shard + 1) as u64) << POSITION_BITS
            } else {
                0
            };
            return (next, keys);
        }
        (0, Vec::new())
    }

    /// RANDOMKEY: a key picked at random (a random shard, then a random
    /// entry of it; expired keys are skipped), `None` when there is none.
    pub fn randomkey(&self) -> Option<Vec<u8>> {
        let engine = &self.inner.engine;
        if engine.len() == 0 {
            return None;
        }
        let n = engine.shard_count();
        let now = self.now();
        for _ in 0..RANDOM_TRIES.max(2 * n) {
            let i = (next_random() % n as u64) as usize;
            if let Some(key) = engine.with_shard(i, |s| random_live(s, now)).flatten() {
                return Some(key);
            }
        }
        // Keys are few among many shards, or mostly expired: look everywhere.
        let start = (next_random() % n as u64) as usize;
        (0..n).find_map(|k| engine.with_shard((start + k) % n, |s| first_live(s, now)).flatten())
    }
}

/// A random live key of `s`, if the entry picked has not expired.
fn random_live(s: &Shard<Key, Stored>, now: u64) -> Option<Vec<u8>> {
    let i = s.random_entry()?;
    let e = s.entry(i)?;
    (!s.is_expired(i, e, now)).then(|| e.key.to_vec())
}

/// The first live key of `s` in slab order.
fn first_live(s: &Shard<Key, Stored>, now: u64) -> Option<Vec<u8>> {
    s.slab.iter().find(|(i, e)| !s.is_expired(*i, e, now)).map(|(_, e)| e.key.to_vec())
}

pub(super) fn cmd_keys(db: &Db, a: &[&[u8]]) -> Reply {
    Reply::bulks(db.keys(a[1]))
}

/// ```text
/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
/// ```
pub(super) fn cmd_scan(db: &Db, a: &[&[u8]]) -> Reply {
    let cursor = match args::cursor(a[1]) {
        Ok(c) => c,
        Err(e) => return e.into(),
    };
    let mut opts = ScanOptions::default();
    let mut i = 2;
    while i < a.len() {
        let Some(&value) = a.get(i + 1) else { return DbError::Syntax.into() };
        if is(a[i], "COUNT") {
            match args::int(value) {
                Ok(n) if n < 1 => return DbError::Syntax.into(),
                Ok(n) => opts.count = usize::try_from(n).unwrap_or(usize::MAX),
                Err(e) => return e.into(),
            }
        } else if is(a[i], "MATCH") {
            opts.pattern = Some(value);
        } else if is(a[i], "TYPE") {
            opts.type_name = Some(value);
        } else {
            return DbError::Syntax.into();
        }
        i += 2;
    }
    let (next, keys) = db.scan(cursor, &opts);
    Reply::Array(vec![Reply::bulk(next.to_string()), Reply::bulks(keys)])
}

pub(super) fn cmd_randomkey(db: &Db, _: &[&[u8]]) -> Reply {
    Reply::from(db.randomkey())
}
