//! Model-based test of the list commands: random command sequences run
//! through `Db::execute` and through a plain `VecDeque` model written from
//! Redis's documentation; every reply must match, errors included (a string
//! key is mixed in with SET). Blocking commands run with a 1 ms timeout.
//!
//! Expiry runs under a `ManualClock`: the model keeps each key's deadline,
//! PEXPIRE/PERSIST/PTTL are mixed in, the clock is advanced by hand (the
//! model dropping every key whose deadline has come), and DBSIZE is compared
//! right after `run_pending_tasks`. List writes keep the key's TTL; a list
//! emptied by a command is deleted, TTL and all; SET clears the TTL.
//!
//! Lists start packed (listpack); `Grow` pushes one past the packed limits
//! (129 items, or a 65-byte item), after which OBJECT ENCODING must say
//! `quicklist` for as long as the key lives (one way, as Redis). Every case
//! ends with `Db::validate` (each entry's weight is its footprint).

use embercache::Db;
use embercache::db::Reply;
use embercache::time::ManualClock;
use proptest::prelude::*;
use std::collections::{HashMap, VecDeque};
use std::time::Duration;

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

/// A list command, or a step of the clock or the keyspace's upkeep:
/// `Advance` moves the clock by `ms`; `AdvanceTo` moves it to `key`'s
/// deadline (1 ms short of it if `early`), or not at all if `key` has none;
/// `DbSize` runs `run_pending_tasks`, then DBSIZE. `Grow` is RPUSH of 130
/// short items (`many`) or of one 65-byte item.
#[derive(Debug, Clone)]
enum Cmd {
    Push { left: bool, only_existing: bool, key: &'static str, items: Vec<&'static str> },
    Pop { left: bool, key: &'static str, count: Option<i64> },
    Range { key: &'static str, start: i64, stop: i64 },
    Index { key: &'static str, index: i64 },
    Set { key: &'static str, index: i64, item: &'static str },
    Len { key: &'static str },
    Rem { key: &'static str, count: i64, item: &'static str },
    Trim { key: &'static str, start: i64, stop: i64 },
    Insert { key: &'static str, before: bool, pivot: &'static str, item: &'static str },
    Pos { key: &'static str, item: &'static str, rank: Option<i64>, count: Option<i64>, maxlen: Option<i64> },
    Move { src: &'static str, dst: &'static str, from_left: bool, to_left: bool, blocking: bool },
    MPop { keys: Vec<&'static str>, left: bool, count: Option<i64>, blocking: bool },
    BPop { keys: Vec<&'static str>, left: bool },
    SetString { key: &'static str, value: &'static str },
    PExpire { key: &'static str, ms: i64 },
    Persist { key: &'static str },
    PTtl { key: &'static str },
    Advance { ms: u64 },
    AdvanceTo { key: &'static str, early: bool },
    DbSize,
    Grow { key: &'static str, many: bool },
}

fn key() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["a", "b", "c", "s"])
}

fn item() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["x", "y", "z", ""])
}

fn cmd() -> impl Strategy<Value = Cmd> {
    let idx = -5i64..6;
    prop_oneof![
        6 => (any::<bool>(), prop::bool::weighted(0.2), key(), prop::collection::vec(item(), 1..5))
            .prop_map(|(left, only_existing, key, items)| Cmd::Push { left, only_existing, key, items }),
        3 => (any::<bool>(), key(), prop::option::of(-1i64..5)).prop_map(|(left, key, count)| Cmd::Pop { left, key, count }),
        2 => (key(), idx.clone(), idx.clone()).prop_map(|(key, start, stop)| Cmd::Range { key, start, stop }),
        1 => (key(), idx.clone()).prop_map(|(key, index)| Cmd::Index { key, index }),
        1 => (key(), idx.clone(), item()).prop_map(|(key, index, item)| Cmd::Set { key, index, item }),
        1 => key().prop_map(|key| Cmd::Len { key }),
        2 => (key(), -3i64..4, item()).prop_map(|(key, count, item)| Cmd::Rem { key, count, item }),
        1 => (key(), idx.clone(), idx).prop_map(|(key, start, stop)| Cmd::Trim { key, start, stop }),
        1 => (key(), any::<bool>(), item(), item())
            .prop_map(|(key, before, pivot, item)| Cmd::Insert { key, before, pivot, item }),
        2 => (key(), item(), prop::option::of(-3i64..4), prop::option::of(-1i64..3), prop::option::of(-1i64..5))
            .prop_map(|(key, item, rank, count, maxlen)| Cmd::Pos { key, item, rank, count, maxlen }),
        2 => (key(), key(), any::<bool>(), any::<bool>(), prop::bool::weighted(0.2))
            .prop_map(|(src, dst, from_left, to_left, blocking)| Cmd::Move { src, dst, from_left, to_left, blocking }),
        2 => (prop::collection::vec(key(), 1..4), any::<bool>(), prop::option::of(0i64..4), prop::bool::weighted(0.2))
            .prop_map(|(keys, left, count, blocking)| Cmd::MPop { keys, left, count, blocking }),
        1 => (prop::collection::vec(key(), 1..3), any::<bool>()).prop_map(|(keys, left)| Cmd::BPop { keys, left }),
        1 => (key(), item()).prop_map(|(key, value)| Cmd::SetString { key, value }),
        3 => (key(), prop_oneof![9 => 1i64..=50, 1 => -2i64..=0]).prop_map(|(key, ms)| Cmd::PExpire { key, ms }),
        1 => key().prop_map(|key| Cmd::Persist { key }),
        2 => key().prop_map(|key| Cmd::PTtl { key }),
        2 => (0u64..=30).prop_map(|ms| Cmd::Advance { ms }),
        3 => (key(), any::<bool>()).prop_map(|(key, early)| Cmd::AdvanceTo { key, early }),
        1 => Just(Cmd::DbSize),
        1 => (key(), any::<bool>()).prop_map(|(key, many)| Cmd::Grow { key, many }),
    ]
}

impl Cmd {
    /// The command as Redis arguments.
    fn args(&self) -> Vec<String> {
        let end = |left: bool| if left { "LEFT" } else { "RIGHT" }.to_string();
        let mut a: Vec<String> = Vec::new();
        let s = |x: &str| x.to_string();
        match self {
            Cmd::Push { left, only_existing, key, items } => {
                let name = match (left, only_existing) {
                    (true, false) => "LPUSH",
                    (false, false) => "RPUSH",
                    (true, true) => "LPUSHX",
                    (false, true) => "RPUSHX",
                };
                a.extend([s(name), s(key)]);
                a.extend(items.iter().map(|i| s(i)));
            }
            Cmd::Pop { left, key, count } => {
                a.extend([s(if *left { "LPOP" } else { "RPOP" }), s(key)]);
                a.extend(count.map(|c| c.to_string()));
            }
            Cmd::Range { key, start, stop } => a.extend([s("LRANGE"), s(key), start.to_string(), stop.to_string()]),
            Cmd::Index { key, index } => a.extend([s("LINDEX"), s(key), index.to_string()]),
            Cmd::Set { key, index, item } => a.extend([s("LSET"), s(key), index.to_string(), s(item)]),
            Cmd::Len { key } => a.extend([s("LLEN"), s(key)]),
            Cmd::Rem { key, count, item } => a.extend([s("LREM"), s(key), count.to_string(), s(item)]),
            Cmd::Trim { key, start, stop } => a.extend([s("LTRIM"), s(key), start.to_string(), stop.to_string()]),
            Cmd::Insert { key, before, pivot, item } => {
                a.extend([s("LINSERT"), s(key), s(if *before { "before" } else { "After" }), s(pivot), s(item)])
            }
            Cmd::Pos { key, item, rank, count, maxlen } => {
                a.extend([s("LPOS"), s(key), s(item)]);
                for (name, v) in [("RANK", rank), ("count", count), ("MaxLen", maxlen)] {
                    if let Some(v) = v {
                        a.extend([s(name), v.to_string()]);
                    }
                }
            }
            Cmd::Move { src, dst, from_left, to_left, blocking } => {
                a.extend([
                    s(if *blocking { "BLMOVE" } else { "LMOVE" }),
                    s(src),
                    s(dst),
                    end(*from_left),
                    end(*to_left),
                ]);
                if *blocking {
                    a.push(s("0.001"));
                }
            }
            Cmd::MPop { keys, left, count, blocking } => {
                if *blocking {
                    a.extend([s("BLMPOP"), s("0.001")]);
                } else {
                    a.push(s("LMPOP"));
                }
                a.push(keys.len().to_string());
                a.extend(keys.iter().map(|k| s(k)));
                a.push(end(*left));
                if let Some(c) = count {
                    a.extend([s("COUNT"), c.to_string()]);
                }
            }
            Cmd::BPop { keys, left } => {
                a.push(s(if *left { "BLPOP" } else { "BRPOP" }));
                a.extend(keys.iter().map(|k| s(k)));
                a.push(s("0.001"));
            }
            Cmd::SetString { key, value } => a.extend([s("SET"), s(key), s(value)]),
            Cmd::PExpire { key, ms } => a.extend([s("PEXPIRE"), s(key), ms.to_string()]),
            Cmd::Persist { key } => a.extend([s("PERSIST"), s(key)]),
            Cmd::PTtl { key } => a.extend([s("PTTL"), s(key)]),
            Cmd::Advance { .. } | Cmd::AdvanceTo { .. } => {}
            Cmd::DbSize => a.push(s("DBSIZE")),
            Cmd::Grow { key, many } => {
                a.extend([s("RPUSH"), s(key)]);
                a.extend(grow_items(*many));
            }
        }
        a
    }
}

#[derive(Debug, Clone)]
enum Entry {
    List(VecDeque<String>),
    Str,
}

/// The reference: Redis's documented semantics over plain collections.
#[derive(Debug, Default)]
struct Model {
    keys: HashMap<&'static str, Entry>,
    /// Deadlines (model milliseconds) of the keys that have a TTL.
    deadlines: HashMap<&'static str, u64>,
    /// Milliseconds the clock has been advanced.
    now: u64,
    /// The lists that have been past the packed limits since created.
    converted: std::collections::HashSet<&'static str>,
}

fn err(text: &str) -> Reply {
    Reply::Error(text.to_string())
}

fn bulks(items: &[String]) -> Reply {
    Reply::bulks(items)
}

/// Redis's start/stop clamping (LRANGE, LTRIM): the kept index range.
fn clamp(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 { (start + len).max(0) } else { start };
    let stop = if stop < 0 { stop + len } else { stop };
    if start > stop || start >= len {
        return None;
    }
    Some((start as usize, stop.min(len - 1) as usize))
}

fn index(i: i64, len: usize) -> Option<usize> {
    let i = if i < 0 { i + len as i64 } else { i };
    (0..len as i64).contains(&i).then_some(i as usize)
}

/// The items `Grow` pushes.
fn grow_items(many: bool) -> Vec<String> {
    if many { (0..130).map(|i| format!("g{i}")).collect() } else { vec!["L".repeat(65)] }
}

/// Whether a list has been past the packed limits.
fn over_limits(l: &VecDeque<String>) -> bool {
    l.len() > 128 || l.iter().any(|i| i.len() > 64)
}

fn pop_end(l: &mut VecDeque<String>, left: bool) -> Option<String> {
    if left { l.pop_front() } else { l.pop_back() }
}

impl Model {
    /// The list at `key`: `Ok(None)` absent, `Err` wrong type.
    fn list(&mut self, key: &str) -> Result<Option<&mut VecDeque<String>>, Reply> {
        match self.keys.get_mut(key) {
            None => Ok(None),
            Some(Entry::List(l)) => Ok(Some(l)),
            Some(Entry::Str) => Err(err(WRONGTYPE)),
        }
    }

    /// Deletes emptied lists, as Redis does, and the deadlines of deleted
    /// keys (a key created later starts without a TTL).
    fn clean(&mut self) {
        self.keys.retain(|_, e| !matches!(e, Entry::List(l) if l.is_empty()));
        self.deadlines.retain(|k, _| self.keys.contains_key(k));
        for (k, e) in &self.keys {
            if let Entry::List(l) = e
                && over_limits(l)
            {
                self.converted.insert(k);
            }
        }
        self.converted.retain(|k| matches!(self.keys.get(k), Some(Entry::List(_))));
    }

    fn apply(&mut self, cmd: &Cmd) -> Reply {
        let r = self.reply(cmd).unwrap_or_else(|e| e);
        self.clean();
        r
    }

    fn reply(&mut self, cmd: &Cmd) -> Result<Reply, Reply> {
        Ok(match cmd {
            Cmd::Push { left, only_existing, key, items } => {
                if self.list(key)?.is_none() {
                    if *only_existing {
                        return Ok(Reply::Integer(0));
                    }
                    self.keys.insert(key, Entry::List(VecDeque::new()));
                }
                let l = self.list(key)?.expect("created");
                for i in items {
                    if *left { l.push_front(i.to_string()) } else { l.push_back(i.to_string()) }
                }
                Reply::Integer(l.len() as i64)
            }
            Cmd::Pop { left, key, count } => {
                if count.is_some_and(|c| c < 0) {
                    return Err(err("ERR value is out of range, must be positive"));
                }
                let Some(l) = self.list(key)? else {
                    return Ok(if count.is_some() { Reply::NullArray } else { Reply::Null });
                };
                match count {
                    None => Reply::bulk(pop_end(l, *left).expect("lists are never empty")),
                    Some(n) => {
                        let items: Vec<String> = (0..*n).map_while(|_| pop_end(l, *left)).collect();
                        bulks(&items)
                    }
                }
            }
            Cmd::Range { key, start, stop } => {
                let Some(l) = self.list(key)? else { return Ok(Reply::Array(vec![])) };
                match clamp(*start, *stop, l.len()) {
                    Some((a, b)) => bulks(&l.range(a..=b).cloned().collect::<Vec<_>>()),
                    None => Reply::Array(vec![]),
                }
            }
            Cmd::Index { key, index: i } => {
                let Some(l) = self.list(key)? else { return Ok(Reply::Null) };
                index(*i, l.len()).map_or(Reply::Null, |i| Reply::bulk(&l[i]))
            }
            Cmd::Set { key, index: i, item } => {
                let Some(l) = self.list(key)? else { return Err(err("ERR no such key")) };
                let Some(i) = index(*i, l.len()) else { return Err(err("ERR index out of range")) };
                l[i] = item.to_string();
                Reply::OK
            }
            Cmd::Len { key } => Reply::Integer(self.list(key)?.map_or(0, |l| l.len() as i64)),
            Cmd::Rem { key, count, item } => {
                let Some(l) = self.list(key)? else { return Ok(Reply::Integer(0)) };
                let limit = if *count == 0 { usize::MAX } else { count.unsigned_abs() as usize };
                let mut removed: i64 = 0;
                let mut kept: Vec<String> = Vec::new();
                let order: Vec<String> =
                    if *count < 0 { l.iter().rev().cloned().collect() } else { l.iter().cloned().collect() };
                for x in order {
                    if x == *item && (removed as usize) < limit {
                        removed += 1;
                    } else {
                        kept.push(x);
                    }
                }
                if *count < 0 {
                    kept.reverse();
                }
                *l = kept.into();
                Reply::Integer(removed)
            }
            Cmd::Trim { key, start, stop } => {
                let Some(l) = self.list(key)? else { return Ok(Reply::OK) };
                *l = match clamp(*start, *stop, l.len()) {
                    Some((a, b)) => l.range(a..=b).cloned().collect(),
                    None => VecDeque::new(),
                };
                Reply::OK
            }
            Cmd::Insert { key, before, pivot, item } => {
                let Some(l) = self.list(key)? else { return Ok(Reply::Integer(0)) };
                let Some(i) = l.iter().position(|x| x == pivot) else { return Ok(Reply::Integer(-1)) };
                l.insert(if *before { i } else { i + 1 }, item.to_string());
                Reply::Integer(l.len() as i64)
            }
            Cmd::Pos { key, item, rank, count, maxlen } => {
                if *rank == Some(0) {
                    return Err(err(
                        "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                    ));
                }
                if count.is_some_and(|c| c < 0) {
                    return Err(err("ERR COUNT can't be negative"));
                }
                if maxlen.is_some_and(|m| m < 0) {
                    return Err(err("ERR MAXLEN can't be negative"));
                }
                let Some(l) = self.list(key)? else {
                    return Ok(if count.is_some() { Reply::Array(vec![]) } else { Reply::Null });
                };
                let rank = rank.unwrap_or(1);
                let scan = match maxlen {
                    Some(m) if *m > 0 => (*m as usize).min(l.len()),
                    _ => l.len(),
                };
                let order: Vec<usize> =
                    if rank > 0 { (0..l.len()).take(scan).collect() } else { (0..l.len()).rev().take(scan).collect() };
                let matches: Vec<usize> = order.into_iter().filter(|&i| l[i] == *item).collect();
                let from = (rank.unsigned_abs() - 1) as usize;
                let found: Vec<usize> = matches.into_iter().skip(from).collect();
                match count {
                    None => found.first().map_or(Reply::Null, |&i| Reply::Integer(i as i64)),
                    Some(c) => {
                        let take = if *c == 0 { found.len() } else { *c as usize };
                        Reply::Array(found.into_iter().take(take).map(|i| Reply::Integer(i as i64)).collect())
                    }
                }
            }
            Cmd::Move { src, dst, from_left, to_left, blocking } => {
                let null = if *blocking { Reply::NullArray } else { Reply::Null };
                if self.list(src)?.is_none() {
                    return Ok(null);
                }
                if self.list(dst)?.is_none() {
                    self.keys.insert(dst, Entry::List(VecDeque::new()));
                }
                let v = pop_end(self.list(src)?.expect("present"), *from_left).expect("lists are never empty");
                let d = self.list(dst)?.expect("present");
                if *to_left {
                    d.push_front(v.clone())
                } else {
                    d.push_back(v.clone())
                }
                Reply::bulk(v)
            }
            Cmd::MPop { keys, left, count, blocking } => {
                if *count == Some(0) {
                    return Err(err("ERR count should be greater than 0"));
                }
                let n = count.unwrap_or(1);
                for key in keys {
                    if let Some(l) = self.list(key)? {
                        let items: Vec<String> = (0..n).map_while(|_| pop_end(l, *left)).collect();
                        return Ok(Reply::Array(vec![Reply::bulk(key), bulks(&items)]));
                    }
                }
                let _ = blocking;
                Reply::NullArray
            }
            Cmd::BPop { keys, left } => {
                for key in keys {
                    if let Some(l) = self.list(key)? {
                        let v = pop_end(l, *left).expect("lists are never empty");
                        return Ok(Reply::Array(vec![Reply::bulk(key), Reply::bulk(v)]));
                    }
                }
                Reply::NullArray
            }
            Cmd::SetString { key, .. } => {
                self.keys.insert(key, Entry::Str);
                self.deadlines.remove(key);
                Reply::OK
            }
            Cmd::PExpire { key, ms } => {
                if !self.keys.contains_key(key) {
                    return Ok(Reply::Integer(0));
                }
                if *ms <= 0 {
                    self.keys.remove(key);
                } else {
                    self.deadlines.insert(key, self.now + ms.unsigned_abs());
                }
                Reply::Integer(1)
            }
            Cmd::Persist { key } => Reply::from(self.keys.contains_key(key) && self.deadlines.remove(key).is_some()),
            Cmd::PTtl { key } => Reply::Integer(match (self.keys.contains_key(key), self.deadlines.get(key)) {
                (false, _) => -2,
                (true, None) => -1,
                (true, Some(&d)) => (d - self.now) as i64,
            }),
            Cmd::Advance { .. } | Cmd::AdvanceTo { .. } => {
                self.now += match cmd {
                    Cmd::AdvanceTo { key, early } => {
                        self.deadlines.get(key).map_or(0, |&d| d - self.now - u64::from(*early))
                    }
                    Cmd::Advance { ms } => *ms,
                    _ => unreachable!(),
                };
                let now = self.now;
                // A key expires exactly when the clock reaches its deadline
                // (`clean` then drops the deadlines).
                let due: Vec<&'static str> =
                    self.deadlines.iter().filter(|&(_, &d)| d <= now).map(|(&k, _)| k).collect();
                for key in due {
                    self.keys.remove(key);
                }
                Reply::OK
            }
            Cmd::DbSize => Reply::Integer(self.keys.len() as i64),
            Cmd::Grow { key, many } => {
                if self.list(key)?.is_none() {
                    self.keys.insert(key, Entry::List(VecDeque::new()));
                }
                let l = self.list(key)?.expect("created");
                l.extend(grow_items(*many));
                Reply::Integer(l.len() as i64)
            }
        })
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn lists_behave_as_the_model(cmds in prop::collection::vec(cmd(), 1..60)) {
        let clock = ManualClock::new();
        let db = Db::builder().clock(clock.clone()).build().expect("valid configuration");
        let mut model = Model::default();
        for cmd in &cmds {
            match cmd {
                Cmd::Advance { .. } | Cmd::AdvanceTo { .. } => {
                    let before = model.now;
                    model.apply(cmd);
                    clock.advance(Duration::from_millis(model.now - before));
                    continue;
                }
                // Expired keys count in DBSIZE until reclaimed.
                Cmd::DbSize => db.run_pending_tasks(),
                _ => {}
            }
            let args = cmd.args();
            let got = db.execute(&args);
            let want = model.apply(cmd);
            prop_assert_eq!(got, want, "{:?} at {} ms", args, model.now);
            for key in ["a", "b", "c"] {
                if let Some(Entry::List(_)) = model.keys.get(key) {
                    let want = if model.converted.contains(key) { "quicklist" } else { "listpack" };
                    prop_assert_eq!(db.execute(&["OBJECT", "ENCODING", key]), Reply::bulk(want), "{} after {:?}", key, args);
                }
            }
        }
        for key in ["a", "b", "c", "s"] {
            let got = db.execute(&["PTTL", key]);
            let want = model.apply(&Cmd::PTtl { key });
            prop_assert_eq!(got, want, "final PTTL {}", key);
        }
        for key in ["a", "b", "c"] {
            let got = db.execute(&["LRANGE", key, "0", "-1"]);
            let want = model.apply(&Cmd::Range { key, start: 0, stop: -1 });
            prop_assert_eq!(got, want, "final {}", key);
        }
        db.run_pending_tasks();
        prop_assert_eq!(db.execute(&["DBSIZE"]), model.apply(&Cmd::DbSize), "final DBSIZE");
        db.validate();
    }
}
