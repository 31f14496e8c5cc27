//! MOVE and COPY … DB: a key from one keyspace to another (the server's
//! numbered databases are one [`Db`] each).
//!
//! Both keyspaces' shards of the key are locked together, in an order fixed
//! by the keyspaces' addresses (so two moves in opposite directions cannot
//! deadlock): no one sees the key in both or in neither. The value keeps
//! its time to live (carried as a unix time, as the keyspaces' clocks may
//! have different origins) and its Memcached client flags; its CAS unique
//! is drawn afresh in the destination, as uniques come from each
//! keyspace's own counter and one carried over could repeat a unique the
//! destination already handed out.

use super::wakes_poppers;
use crate::db::keyspace::{Deadline, Tx};
use crate::db::notify::EventClass;
use crate::db::{CopyOptions, Db, DbError, DbResult, Value};
use std::sync::Arc;

impl Db {
    /// Whether `self` and `other` are handles of the same keyspace.
    pub fn same_keyspace(&self, other: &Db) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// MOVE: moves `key` with its time to live and client flags to the
    /// keyspace `dst`; returns whether it moved (not when `key` is absent
    /// here or exists in `dst`). Publishes `move_from` here and `move_to`
    /// in `dst`; both keyspaces' observers (WATCH, tracking) hear of the
    /// change. Fails with "source and destination objects are the same"
    /// when `dst` is this keyspace.
    pub fn move_to(&self, key: &[u8], dst: &Db) -> DbResult<bool> {
        if self.same_keyspace(dst) {
            return Err(DbError::SameObject);
        }
        Ok(self.tx_pair(key, dst, key, |from, to| {
            if !from.exists(key) || to.exists(key) {
                return false;
            }
            let Some((value, deadline, flags)) =
                from.write_item(key, |v, d, meta| v.take().map(|v| (v, *d, meta.flags)))
            else {
                return false;
            };
            from.event(EventClass::Generic, "move_from", key);
            let deadline = carry(from, to, deadline);
            put_item(to, key, value, deadline, flags);
            to.event(EventClass::Generic, "move_to", key);
            true
        }))
    }

    /// COPY … DB: copies `src` with its time to live and client flags to
    /// `dst_key` of the keyspace `dst`, replacing what is there only with
    /// `replace`; returns whether it copied. Publishes `copy_to` in `dst`.
    /// Within one keyspace this is [`Db::copy`].
    pub fn copy_to(&self, src: &[u8], dst: &Db, dst_key: &[u8], replace: bool) -> DbResult<bool> {
        if self.same_keyspace(dst) {
            return self.copy(src, dst_key, CopyOptions { db: 0, replace });
        }
        dst.make_room()?;
        Ok(self.tx_pair(src, dst, dst_key, |from, to| {
            if !from.exists(src) || (!replace && to.exists(dst_key)) {
                return false;
            }
            let Some((value, deadline, flags)) = from.read_item(src, |v, d, flags| (v.clone(), d, flags)) else {
                return false;
            };
            let deadline = carry(from, to, deadline);
            put_item(to, dst_key, value, deadline, flags);
            to.event(EventClass::Generic, "copy_to", dst_key);
            true
        }))
    }

    /// Runs `f` with the write locks of `key`'s shard here and of
    /// `other_key`'s in `other` (another keyspace), taken in address order;
    /// this side's locks are released first.
    fn tx_pair<R>(&self, key: &[u8], other: &Db, other_key: &[u8], f: impl FnOnce(&mut Tx<'_>, &mut Tx<'_>) -> R) -> R {
        let (mut here, mut there) = if Arc::as_ptr(&self.inner) < Arc::as_ptr(&other.inner) {
            let here = Tx::new(&self.inner, &[key]);
            (here, Tx::new(&other.inner, &[other_key]))
        } else {
            let there = Tx::new(&other.inner, &[other_key]);
            (Tx::new(&self.inner, &[key]), there)
        };
        let r = f(&mut here, &mut there);
        here.finish();
        there.finish();
        r
    }
}

/// A deadline of `from`'s clock on `to`'s clock.
fn carry(from: &Tx<'_>, to: &Tx<'_>, deadline: Deadline) -> Deadline {
    deadline.map(|d| to.db().engine_ms(from.db().unix_ms(d)))
}

/// Stores `value` at `key` with `deadline` and client `flags` (a fresh CAS
/// unique), waking clients blocked on the key if it is a list or sorted set.
fn put_item(tx: &mut Tx<'_>, key: &[u8], value: Value, deadline: Deadline, flags: u32) {
    let wakes = wakes_poppers(&value);
    tx.write_item(key, |v, d, meta| {
        *v = Some(value);
        *d = deadline;
        meta.flags = flags;
        meta.cas = 0;
    });
    if wakes {
        tx.signal_ready(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Reply;
    use crate::db::item::Fetch;
    use crate::db::notify::EventClass;

    fn set_item(db: &Db, key: &[u8], flags: u32) {
        crate::db::item::tests::set(db, key, b"v", flags);
    }

    fn item(db: &Db, key: &[u8]) -> Option<(u32, u64)> {
        db.item_fetch(key, Fetch { cas: true, ..Fetch::default() }, |i| (i.flags, i.cas))
    }

    #[test]
    fn move_keeps_the_value_ttl_and_flags() {
        let (a, b) = (Db::new(), Db::new());
        a.execute(&["RPUSH", "l", "x", "y"]);
        a.execute(&["PEXPIRE", "l", "100000"]);
        let events = b.subscribe_keyspace(&[EventClass::Generic], 16);
        let from_events = a.subscribe_keyspace(&[EventClass::Generic], 16);
        assert_eq!(a.move_to(b"l", &b), Ok(true));
        assert_eq!(a.exists(&[b"l"]), 0);
        assert_eq!(b.execute(&["LRANGE", "l", "0", "-1"]), Reply::Array(vec![Reply::bulk("x"), Reply::bulk("y")]));
        let Reply::Integer(ttl) = b.execute(&["PTTL", "l"]) else { panic!("PTTL is an integer") };
        assert!((99_000..=100_000).contains(&ttl), "the TTL moves with the key: {ttl}");
        assert_eq!(from_events.try_recv().map(|e| e.name), Some("move_from"));
        assert_eq!(events.try_recv().map(|e| (e.name, e.key)), Some(("move_to", b"l".to_vec())));
        // Absent here, or present there: nothing moves.
        assert_eq!(a.move_to(b"l", &b), Ok(false));
        a.execute(&["SET", "l", "other"]);
        assert_eq!(a.move_to(b"l", &b), Ok(false));
        assert_eq!(a.execute(&["GET", "l"]), Reply::bulk("other"));
        assert_eq!(a.move_to(b"l", &a.clone()), Err(DbError::SameObject));
        // Memcached flags move; the CAS unique is the destination's own.
        set_item(&a, b"item", 42);
        assert_eq!(a.move_to(b"item", &b), Ok(true));
        let (flags, new_cas) = item(&b, b"item").unwrap_or_else(|| panic!("moved"));
        assert_eq!(flags, 42);
        assert_ne!(new_cas, 0);
        a.validate();
        b.validate();
    }

    #[test]
    fn copy_to_another_keyspace() {
        let (a, b) = (Db::new(), Db::new());
        a.execute(&["HSET", "h", "f", "v"]);
        a.execute(&["EXPIRE", "h", "100"]);
        set_item(&a, b"item", 7);
        let events = b.subscribe_keyspace(&[EventClass::Generic], 16);
        assert_eq!(a.copy_to(b"h", &b, b"h2", false), Ok(true));
        assert_eq!(b.execute(&["HGET", "h2", "f"]), Reply::bulk("v"));
        assert_eq!(a.execute(&["HGET", "h", "f"]), Reply::bulk("v"), "the source stays");
        assert!(matches!(b.execute(&["TTL", "h2"]), Reply::Integer(99 | 100)));
        assert_eq!(events.try_recv().map(|e| (e.name, e.key)), Some(("copy_to", b"h2".to_vec())));
        assert_eq!(a.copy_to(b"h", &b, b"h2", false), Ok(false), "the destination exists");
        assert_eq!(a.copy_to(b"item", &b, b"h2", true), Ok(true), "REPLACE");
        assert_eq!(b.execute(&["TYPE", "h2"]), Reply::Simple("string"));
        assert_eq!(b.execute(&["TTL", "h2"]), Reply::Integer(-1), "the source's TTL (none) replaces it");
        assert_eq!(item(&b, b"h2").map(|(f, _)| f), Some(7));
        assert_eq!(a.copy_to(b"nope", &b, b"x", true), Ok(false));
        // Within one keyspace it is COPY.
        assert_eq!(a.copy_to(b"h", &a.clone(), b"h", false), Err(DbError::SameObject));
        assert_eq!(a.copy_to(b"h", &a.clone(), b"h3", false), Ok(true));
        a.validate();
        b.validate();
    }

    /// Two moves in opposite directions at once do not deadlock.
    #[test]
    fn opposite_moves_do_not_deadlock() {
        let (a, b) = (Db::new(), Db::new());
        std::thread::scope(|s| {
            for (from, to) in [(&a, &b), (&b, &a)] {
                s.spawn(move || {
                    for _ in 0..2000 {
                        from.execute(&["SET", "k", "v"]);
                        let _ = from.move_to(b"k", to);
                    }
                });
            }
        });
        a.validate();
        b.validate();
    }
}
