//! The numbered databases of a server and the commands between them:
//! MOVE, COPY … DB and SWAPDB.
//!
//! Each database is a [`Db`]. SWAPDB swaps two of them in the table, so a
//! client that selected database `a` sees what was in `b` from its next
//! command on, as in Redis. The table is read on every command, so a
//! session keeps a handle to its database and the generation of the table
//! it was read from, and reads the table again only when the generation
//! has moved ([`Databases::refresh`]: one load of a line only SWAPDB
//! writes). SWAPDB runs with the gate closed (see [`super::gate`]): no
//! other client's command is running, and each one after it sees the new
//! table.
//!
//! As in Redis 7.0: a SWAPDB aborts the transactions of clients watching a
//! key of either database that exists in either; the other watched keys
//! stay watched on their database index (now holding the other data). It
//! publishes no keyspace event and sends no tracking invalidation. MOVE
//! tells the watchers and tracking clients of the key in both databases,
//! COPY those of the destination.
//!
//! The Memcached listener serves database 0 as the table has it: each of
//! its connections reads the table again (the same generation check)
//! when it starts a batch of requests, inside the gate.
//!
//! A client blocked (BLPOP and the like) waits on its index, as in Redis:
//! when a SWAPDB moves the data it waits on, its wait is cancelled (taking
//! nothing) and run again on the data swapped in, with the deadline it
//! began with, so it is served at once if that data has what it waits for.

use super::replies::arity;
use super::session::Session;
use crate::db::args::parse_i64;
use crate::db::{CopyOptions, Db, DbError, Reply};
use parking_lot::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The databases of a server, by index.
pub(crate) struct Databases {
    table: RwLock<Vec<Db>>,
    /// Bumped by every SWAPDB, after the table changed.
    generation: AtomicU64,
    /// Told of every SWAPDB (after the table changed): blocked clients
    /// follow their index to the data swapped in.
    swaps: tokio::sync::watch::Sender<u64>,
    len: usize,
}

impl Databases {
    pub(crate) fn new(dbs: Vec<Db>) -> Self {
        Databases {
            len: dbs.len(),
            table: RwLock::new(dbs),
            generation: AtomicU64::new(0),
            swaps: tokio::sync::watch::Sender::new(0),
        }
    }

    /// How many there are.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Database `index`.
    pub(crate) fn get(&self, index: usize) -> Option<Db> {
        self.table.read().get(index).cloned()
    }

    /// Every database, by index.
    pub(crate) fn all(&self) -> Vec<Db> {
        self.table.read().clone()
    }

    /// Points `handle` at database `index` if the table changed since
    /// `seen` (its generation when `handle` was read), updating `seen`.
    pub(crate) fn refresh(&self, index: usize, handle: &mut Db, seen: &mut u64) {
        let now = self.generation.load(Ordering::Acquire);
        if now != *seen {
            if let Some(db) = self.get(index) {
                *handle = db;
            }
            *seen = now;
        }
    }

    /// Database `index` and the generation of the table it was read from.
    pub(crate) fn handle(&self, index: usize) -> Option<(Db, u64)> {
        let now = self.generation.load(Ordering::Acquire);
        self.get(index).map(|db| (db, now))
    }

    /// Swaps databases `a` and `b` (valid, distinct indexes), each keeping
    /// its keyspace notifications on the channels of its new index.
    fn swap(&self, a: usize, b: usize) {
        let mut table = self.table.write();
        table.swap(a, b);
        for i in [a, b] {
            let db = &table[i];
            db.set_notify_keyspace_events(db.notify_keyspace_events(), u32::try_from(i).unwrap_or(u32::MAX));
        }
        drop(table);
        self.generation.fetch_add(1, Ordering::Release);
        self.swaps.send_modify(|n| *n += 1);
    }

    /// A receiver that changes with every SWAPDB.
    pub(crate) fn swaps(&self) -> tokio::sync::watch::Receiver<u64> {
        self.swaps.subscribe()
    }
}

/// Redis's reply to a database index beyond the configured ones.
fn out_of_range() -> Reply {
    Reply::Error("ERR DB index is out of range".into())
}

const NOT_INTEGER: &str = "ERR value is not an integer or out of range";

/// An integer argument that fits in 32 bits, with the errors of Redis's
/// `getIntFromObjectOrReply`.
fn int32(arg: &[u8]) -> Result<i64, Reply> {
    match parse_i64(arg) {
        None => Err(Reply::Error(NOT_INTEGER.into())),
        Some(n) if i32::try_from(n).is_err() => {
            Err(Reply::Error("ERR value is out of range, value must between -2147483648 and 2147483647".into()))
        }
        Some(n) => Ok(n),
    }
}

/// `index` as a database of `dbs`, or Redis's out-of-range error.
fn in_range(dbs: &Databases, index: i64) -> Result<usize, Reply> {
    usize::try_from(index).ok().filter(|&i| i < dbs.len()).ok_or_else(out_of_range)
}

/// Runs MOVE, SWAPDB or COPY: `name` (lowercase) is one of them.
pub(crate) fn run(session: &mut Session, name: &str, args: &[Vec<u8>]) -> Reply {
    let reply = match name {
        "move" => move_key(session, args),
        "swapdb" => swapdb(session, args),
        _ => copy(session, args),
    };
    reply.unwrap_or_else(|e| e)
}

/// ```text
/// MOVE key db
/// ```
fn move_key(session: &mut Session, args: &[Vec<u8>]) -> Result<Reply, Reply> {
    let [_, key, index] = args else { return Err(arity("move")) };
    let dbs = &session.state.dbs;
    let to = in_range(dbs, int32(index)?)?;
    if to == session.db {
        return Err(DbError::SameObject.into());
    }
    let _inside = session.enter_gate();
    let Some(dst) = dbs.get(to) else { return Err(out_of_range()) };
    let src = session.current_now();
    Ok(src.move_to(key, &dst).into())
}

/// ```text
/// COPY source destination [DB destination-db] [REPLACE]
/// ```
///
/// Within the selected database, the `Db`'s COPY.
fn copy(session: &mut Session, args: &[Vec<u8>]) -> Result<Reply, Reply> {
    if args.len() < 3 {
        return Err(arity("copy"));
    }
    let (src, dst) = (&args[1], &args[2]);
    let mut replace = false;
    let mut to = session.db;
    let mut i = 3;
    while i < args.len() {
        if args[i].eq_ignore_ascii_case(b"replace") {
            replace = true;
        } else if args[i].eq_ignore_ascii_case(b"db")
            && let Some(n) = args.get(i + 1)
        {
            to = in_range(&session.state.dbs, int32(n)?)?;
            i += 1;
        } else {
            return Err(DbError::Syntax.into());
        }
        i += 1;
    }
    if to == session.db && src == dst {
        return Err(DbError::SameObject.into());
    }
    let _inside = session.enter_gate();
    let from = session.current_now();
    let result = if to == session.db {
        from.copy(src, dst, CopyOptions { db: 0, replace })
    } else {
        let Some(target) = session.state.dbs.get(to) else { return Err(out_of_range()) };
        from.copy_to(src, &target, dst, replace)
    };
    Ok(result.into())
}

/// ```text
/// SWAPDB index1 index2
/// ```
fn swapdb(session: &mut Session, args: &[Vec<u8>]) -> Result<Reply, Reply> {
    let [_, a, b] = args else { return Err(arity("swapdb")) };
    let a = int32(a).map_err(|_| Reply::Error("ERR invalid first DB index".into()))?;
    let b = int32(b).map_err(|_| Reply::Error("ERR invalid second DB index".into()))?;
    let state = std::sync::Arc::clone(&session.state);
    let (a, b) = (in_range(&state.dbs, a)?, in_range(&state.dbs, b)?);
    if a == b {
        return Ok(Reply::OK);
    }
    // No other client's command runs until the swap is done (inside EXEC,
    // this client holds the gate already).
    let _closed = session.close_gate();
    let (Some(x), Some(y)) = (state.dbs.get(a), state.dbs.get(b)) else { return Err(out_of_range()) };
    // Redis 7.0's touchAllWatchedKeysInDb: a watched key of either index
    // that exists in either database aborts its watchers' transactions.
    for i in [a, b] {
        if let Some(w) = state.watches.get(i) {
            w.touch_existing(&x, &y);
        }
    }
    state.dbs.swap(a, b);
    // The watches stay on their index, now observing the other database.
    for (i, db) in [(a, &y), (b, &x)] {
        if let Some(w) = state.watches.get(i) {
            w.rebind(db);
        }
    }
    Ok(Reply::OK)
}
