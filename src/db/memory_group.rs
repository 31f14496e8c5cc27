//! Databases that share one memory bound: what
//! [`DbBuilder::share_memory`](super::DbBuilder::share_memory) builds, as
//! Redis's `maxmemory` bounds all of a server's numbered databases together.
//!
//! Each member's engine adds every change of its weight to the group's
//! total and to its own part of it as it publishes it (two atomic adds,
//! only when the weight moved),
//! so checking the bound before a write reads one number however many
//! databases there are. Over the bound, a write evicts from the largest
//! member first, by that member's policy, then from the next largest, and
//! so on; only when none has anything its policy may evict does it fail
//! with the OOM error. Redis picks its victims from samples of every
//! database; taking the largest first keeps the members' shares of the
//! bound in proportion to their use without sampling them all on every
//! write.

use super::Shared;
use parking_lot::Mutex;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Weak};

/// The members and their total weight.
pub(crate) struct MemoryGroup {
    /// What the members weigh together, kept by their engines.
    pub(crate) used: Arc<AtomicU64>,
    /// Held weakly: a member dropped leaves (its engine takes its weight out).
    members: Mutex<Vec<Weak<Shared>>>,
}

impl MemoryGroup {
    /// `db`'s group, made (with `db` its first member) on first use.
    pub(crate) fn of(db: &Arc<Shared>) -> Arc<MemoryGroup> {
        Arc::clone(db.memory.get_or_init(|| {
            let group = MemoryGroup { used: Arc::new(AtomicU64::new(0)), members: Mutex::new(Vec::new()) };
            group.admit(db);
            Arc::new(group)
        }))
    }

    /// Makes `db` (not yet a member of any group) one of this group's.
    pub(crate) fn join(self: &Arc<Self>, db: &Arc<Shared>) {
        if db.memory.set(Arc::clone(self)).is_ok() {
            self.admit(db);
        }
    }

    fn admit(&self, db: &Arc<Shared>) {
        db.engine.join_pool(Arc::clone(&self.used));
        let mut members = self.members.lock();
        members.retain(|m| m.strong_count() > 0);
        members.push(Arc::downgrade(db));
    }

    /// The members still alive, the largest first (each engine keeps its
    /// part of the total: one load per member).
    pub(crate) fn by_size(&self) -> Vec<Arc<Shared>> {
        let mut members: Vec<(u64, Arc<Shared>)> = self
            .members
            .lock()
            .iter()
            .filter_map(Weak::upgrade)
            .map(|m| (m.engine.pooled_own().unwrap_or(0), m))
            .collect();
        members.sort_by_key(|(size, _)| std::cmp::Reverse(*size));
        members.into_iter().map(|(_, m)| m).collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::db::{Db, DbError, MaxMemoryPolicy, Reply};

    fn member(max: u64, policy: MaxMemoryPolicy, with: Option<&Db>) -> Db {
        let b = Db::builder().maxmemory(max).maxmemory_policy(policy);
        match with {
            Some(db) => b.share_memory(db),
            None => b,
        }
        .build()
        .unwrap()
    }

    fn pooled(db: &Db) -> u64 {
        db.inner.engine.pooled_size().expect("a member of a group")
    }

    /// The group's total is the sum of what its members hold, through
    /// every kind of change, and a member dropped leaves it.
    #[test]
    fn the_total_follows_every_change() {
        let a = member(0, MaxMemoryPolicy::NoEviction, None);
        a.execute(&["SET", "before", "joined"]);
        let b = member(0, MaxMemoryPolicy::NoEviction, Some(&a));
        let c = member(0, MaxMemoryPolicy::NoEviction, Some(&b));
        let dbs = [&a, &b, &c];
        let sum = || dbs.iter().map(|d| d.used_memory()).sum::<u64>();
        assert_eq!(pooled(&a), sum(), "what a held before the group was made counts");
        let steps: &[&[&str]] = &[
            &["SET", "k", "v"],
            &["APPEND", "k", "more and more"],
            &["RPUSH", "l", "a", "b", "c"],
            &["LPOP", "l"],
            &["HSET", "h", "f", "v", "g", "w"],
            &["SADD", "s", "x", "y"],
            &["ZADD", "z", "1", "m"],
            &["DEL", "k", "h"],
            &["PEXPIRE", "s", "1"],
            &["FLUSHDB"],
        ];
        for (i, step) in steps.iter().enumerate() {
            dbs[i % 3].execute(step);
            assert_eq!(pooled(&a), sum(), "after {step:?}");
            assert_eq!(pooled(&c), pooled(&a), "one total for the group");
            for db in dbs {
                assert_eq!(db.inner.engine.pooled_own(), Some(db.used_memory()), "each member's part");
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
        b.execute(&["GET", "s"]);
        c.execute(&["SET", "big", &"x".repeat(10_000)]);
        assert_eq!(pooled(&a), sum());
        drop(c);
        assert_eq!(pooled(&a), a.used_memory() + b.used_memory(), "a dropped member takes its weight out");
    }

    /// Databases joined while in use, with writes going on: the total is
    /// exact once they stop (no write counted twice or missed).
    #[test]
    fn joining_at_run_time_counts_every_write_once() {
        let a = member(0, MaxMemoryPolicy::NoEviction, None);
        let b = member(0, MaxMemoryPolicy::NoEviction, None);
        let writers: Vec<_> = [a.clone(), b.clone()]
            .into_iter()
            .map(|db| {
                std::thread::spawn(move || {
                    for i in 0..20_000u32 {
                        let key = format!("k{}", i % 500);
                        if i % 3 == 0 {
                            db.execute(&["DEL", &key]);
                        } else {
                            db.execute(&["APPEND", &key, "some bytes"]);
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(2));
        b.share_memory_with(&a);
        a.share_memory_with(&b);
        for w in writers {
            w.join().unwrap();
        }
        assert_eq!(pooled(&a), a.used_memory() + b.used_memory());
        assert_eq!(a.inner.engine.pooled_own(), Some(a.used_memory()));
        assert_eq!(b.inner.engine.pooled_own(), Some(b.used_memory()));
    }

    /// A write over the bound evicts from the largest member first, then
    /// from the others; with nothing any policy may evict, it fails.
    #[test]
    fn writes_evict_across_the_group() {
        let value = "x".repeat(1000);
        let a = member(32 * 1024, MaxMemoryPolicy::AllKeysLru, None);
        let b = member(32 * 1024, MaxMemoryPolicy::AllKeysLru, Some(&a));
        for i in 0..100 {
            a.execute(&["SET", &format!("a{i}"), &value]);
        }
        let before = a.dbsize();
        assert!(a.used_memory() <= 33 * 1024, "a alone stays within the bound");
        // b holds nothing: its writes make room in a.
        for i in 0..10 {
            assert_eq!(b.execute(&["SET", &format!("b{i}"), &value]), Reply::OK);
        }
        assert_eq!(b.dbsize(), 10);
        assert!(a.dbsize() < before, "a was evicted from");
        assert!(a.used_memory() + b.used_memory() <= 33 * 1024);

        // noeviction in every member: the group's bound refuses the write.
        let c = member(8 * 1024, MaxMemoryPolicy::NoEviction, None);
        let d = member(8 * 1024, MaxMemoryPolicy::NoEviction, Some(&c));
        for i in 0..20 {
            c.execute(&["SET", &format!("c{i}"), &value]);
        }
        assert_eq!(d.set(b"d", value.as_bytes(), Default::default()).unwrap_err(), DbError::OutOfMemory);
        assert_eq!(d.dbsize(), 0);

        // A volatile policy evicts only keys with a TTL: found in the other member.
        let e = member(8 * 1024, MaxMemoryPolicy::VolatileLru, None);
        let f = member(8 * 1024, MaxMemoryPolicy::VolatileLru, Some(&e));
        for i in 0..7 {
            e.execute(&["SET", &format!("e{i}"), &value, "EX", "100"]);
        }
        for i in 0..5 {
            assert_eq!(f.execute(&["SET", &format!("f{i}"), &value]), Reply::OK);
        }
        assert_eq!(f.dbsize(), 5, "f's keys have no TTL: e's were evicted");
        assert!(e.dbsize() < 7);
    }
}
