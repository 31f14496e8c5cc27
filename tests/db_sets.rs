//! Model-based test of the set commands: random command sequences run
//! through `Db::execute` and through a plain `HashMap`/`BTreeSet` model with
//! Redis's semantics, comparing every reply (wrong-type errors included, by
//! mixing in string keys written with SET). Unordered replies are compared
//! sorted; random picks, pops and scans are checked against the model's
//! contents (and pops then applied to it).
//!
//! Keys expire under a manual clock: the model keeps each key's deadline
//! by Redis's rules (writes keep it, STOREs and SET clear it, an emptied set
//! is deleted with it) and drops a key once the clock reaches its deadline;
//! PEXPIRE, PERSIST and PTTL are checked against it, and DBSIZE right after
//! `run_pending_tasks`.

use embercache::Db;
use embercache::db::Reply;
use embercache::time::ManualClock;
use proptest::prelude::*;
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

const KEYS: [&str; 4] = ["s0", "s1", "s2", "s3"];
const MEMBERS: [&str; 6] = ["a", "b", "c", "d", "1", "ab"];

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

#[derive(Debug, Clone, Copy)]
enum Algebra {
    Inter,
    Union,
    Diff,
}

#[derive(Debug, Clone)]
enum Op {
    Set(usize),
    SAdd(usize, Vec<usize>),
    SRem(usize, Vec<usize>),
    SMembers(usize),
    SIsMember(usize, usize),
    SMIsMember(usize, Vec<usize>),
    SCard(usize),
    SPop(usize, Option<usize>),
    SRandMember(usize, Option<i64>),
    SMove(usize, usize, usize),
    Compute(Algebra, Vec<usize>),
    Store(Algebra, usize, Vec<usize>),
    SInterCard(Vec<usize>, Option<i64>),
    SScan(usize, usize, bool),
    PExpire(Target, i64),
    Persist(usize),
    PTtl(usize),
    /// Moves the clock forward by this many milliseconds.
    Advance(u64),
    /// `run_pending_tasks`, then DBSIZE.
    Pending,
}

fn algebra() -> impl Strategy<Value = Algebra> {
    prop_oneof![Just(Algebra::Inter), Just(Algebra::Union), Just(Algebra::Diff)]
}

/// The key a PEXPIRE targets: `KEYS[i]`, or the `i`-th (modulo their
/// number) of the keys the model holds, so that most deadlines land on
/// live keys.
#[derive(Debug, Clone, Copy)]
enum Target {
    Key(usize),
    Live(usize),
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![1 => (0..KEYS.len()).prop_map(Target::Key), 3 => (0..8usize).prop_map(Target::Live)]
}

/// PEXPIRE's milliseconds: mostly 1..=50 (multiples of 5 favoured, so
/// that the clock often lands exactly on a deadline), sometimes not
/// positive (deleting the key).
fn pexpire_ms() -> impl Strategy<Value = i64> {
    prop_oneof![5 => 1..=50i64, 4 => (1..=10i64).prop_map(|x| 5 * x), 1 => -2..=0i64]
}

/// How far the clock moves: 0..=30 ms, multiples of 5 favoured.
fn advance_ms() -> impl Strategy<Value = u64> {
    prop_oneof![0..=30u64, (0..=6u64).prop_map(|x| 5 * x)]
}

fn op() -> impl Strategy<Value = Op> {
    let k = 0..KEYS.len();
    let m = 0..MEMBERS.len();
    let ms = prop::collection::vec(m.clone(), 1..4);
    let ks = prop::collection::vec(k.clone(), 1..4);
    prop_oneof![
        1 => k.clone().prop_map(Op::Set),
        8 => (k.clone(), ms.clone()).prop_map(|(k, m)| Op::SAdd(k, m)),
        3 => (k.clone(), ms.clone()).prop_map(|(k, m)| Op::SRem(k, m)),
        2 => k.clone().prop_map(Op::SMembers),
        1 => (k.clone(), m.clone()).prop_map(|(k, m)| Op::SIsMember(k, m)),
        1 => (k.clone(), ms).prop_map(|(k, m)| Op::SMIsMember(k, m)),
        1 => k.clone().prop_map(Op::SCard),
        2 => (k.clone(), prop::option::of(0..5usize)).prop_map(|(k, c)| Op::SPop(k, c)),
        2 => (k.clone(), prop::option::of(-6..7i64)).prop_map(|(k, c)| Op::SRandMember(k, c)),
        3 => (k.clone(), k.clone(), m).prop_map(|(s, d, m)| Op::SMove(s, d, m)),
        3 => (algebra(), ks.clone()).prop_map(|(a, k)| Op::Compute(a, k)),
        3 => (algebra(), k.clone(), ks.clone()).prop_map(|(a, d, k)| Op::Store(a, d, k)),
        2 => (ks, prop::option::of(-1..4i64)).prop_map(|(k, l)| Op::SInterCard(k, l)),
        10 => (target(), pexpire_ms()).prop_map(|(t, ms)| Op::PExpire(t, ms)),
        1 => k.clone().prop_map(Op::Persist),
        2 => k.clone().prop_map(Op::PTtl),
        6 => advance_ms().prop_map(Op::Advance),
        1 => Just(Op::Pending),
        1 => (k, 1..5usize, any::<bool>()).prop_map(|(k, c, p)| Op::SScan(k, c, p)),
    ]
}

#[derive(Debug, Clone)]
enum Val {
    Str,
    Set(BTreeSet<String>),
}

type Members = BTreeSet<String>;

fn err(s: &str) -> Reply {
    Reply::Error(s.to_string())
}

fn strs(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[derive(Default)]
struct Model {
    keys: HashMap<&'static str, Val>,
    /// Deadlines (model milliseconds) of the keys that have one.
    deadlines: HashMap<&'static str, u64>,
    /// The clock, in milliseconds since the start.
    now: u64,
}

impl Model {
    /// The set at `key`: Ok(None) if absent, Err for another type.
    fn set(&self, key: &str) -> Result<Option<&Members>, Reply> {
        match self.keys.get(key) {
            None => Ok(None),
            Some(Val::Set(s)) => Ok(Some(s)),
            Some(Val::Str) => Err(err(WRONGTYPE)),
        }
    }

    /// Stores `members` at `key`, keeping its deadline (deleting the key,
    /// deadline included, when empty).
    fn put(&mut self, key: &'static str, members: Members) {
        if members.is_empty() {
            self.delete(key);
        } else {
            self.keys.insert(key, Val::Set(members));
        }
    }

    /// Replaces `key` with `members` as the STORE commands do: the
    /// deadline is cleared.
    fn store(&mut self, key: &'static str, members: Members) {
        self.deadlines.remove(key);
        self.put(key, members);
    }

    fn delete(&mut self, key: &str) {
        self.keys.remove(key);
        self.deadlines.remove(key);
    }

    /// Moves the clock forward: every key whose deadline has come expires.
    fn advance(&mut self, ms: u64) {
        self.now += ms;
        let now = self.now;
        let due: Vec<&str> = self.deadlines.iter().filter(|&(_, &d)| d <= now).map(|(k, _)| *k).collect();
        for k in due {
            self.delete(k);
        }
    }

    fn target(&self, t: Target) -> &'static str {
        let mut live: Vec<&'static str> = self.keys.keys().copied().collect();
        live.sort();
        match t {
            Target::Live(i) if !live.is_empty() => live[i % live.len()],
            Target::Live(i) | Target::Key(i) => KEYS[i % KEYS.len()],
        }
    }

    fn pexpire(&mut self, key: &'static str, ms: i64) -> Reply {
        if !self.keys.contains_key(key) {
            return Reply::Integer(0);
        }
        match u64::try_from(ms) {
            Ok(ms) if ms > 0 => {
                self.deadlines.insert(key, self.now + ms);
            }
            _ => self.delete(key),
        }
        Reply::Integer(1)
    }

    fn persist(&mut self, key: &str) -> Reply {
        Reply::from(self.keys.contains_key(key) && self.deadlines.remove(key).is_some())
    }

    fn pttl(&self, key: &str) -> Reply {
        Reply::Integer(match (self.keys.contains_key(key), self.deadlines.get(key)) {
            (false, _) => -2,
            (true, None) => -1,
            (true, Some(&d)) => (d - self.now) as i64,
        })
    }

    fn owned(&self, key: &str) -> Result<Members, Reply> {
        Ok(self.set(key)?.cloned().unwrap_or_default())
    }

    fn compute(&self, op: Algebra, keys: &[&str]) -> Result<Members, Reply> {
        let sets: Vec<Option<&Members>> = keys.iter().map(|k| self.set(k)).collect::<Result<_, _>>()?;
        let empty = Members::new();
        Ok(match op {
            Algebra::Inter if sets.iter().any(Option::is_none) => Members::new(),
            Algebra::Inter => {
                let mut out = sets[0].cloned().unwrap_or_default();
                for s in &sets[1..] {
                    out.retain(|m| s.unwrap_or(&empty).contains(m));
                }
                out
            }
            Algebra::Union => sets.iter().flatten().flat_map(|s| s.iter().cloned()).collect(),
            Algebra::Diff => {
                let mut out = sets[0].cloned().unwrap_or_default();
                for s in sets[1..].iter().flatten() {
                    out.retain(|m| !s.contains(m));
                }
                out
            }
        })
    }
}

/// The members of an array or set reply, sorted (with repeats).
fn members_of(r: &Reply) -> Option<Vec<String>> {
    let (Reply::Array(items) | Reply::Set(items)) = r else { return None };
    let mut v: Vec<String> =
        items.iter().map(|i| i.as_bytes().map(|b| String::from_utf8_lossy(b).into_owned())).collect::<Option<_>>()?;
    v.sort();
    Some(v)
}

fn set_reply(members: &Members) -> Reply {
    Reply::Set(members.iter().map(Reply::bulk).collect())
}

/// Compares a SET-shaped reply, whatever its order, with the model's.
fn same_set(got: Reply, want: Result<Members, Reply>) -> Result<(), TestCaseError> {
    match want {
        Err(e) => prop_assert_eq!(got, e),
        Ok(want) => {
            prop_assert!(matches!(got, Reply::Set(_)), "{:?}", got);
            prop_assert_eq!(members_of(&got), members_of(&set_reply(&want)));
        }
    }
    Ok(())
}

fn run_case(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let clock = ManualClock::new();
    let db = Db::builder().clock(clock.clone()).build().expect("db");
    let mut m = Model::default();
    let key = |k: usize| KEYS[k];
    let names = |ms: &[usize]| ms.iter().map(|&i| MEMBERS[i].to_string()).collect::<Vec<_>>();
    for op in ops {
        match op {
            Op::Set(k) => {
                prop_assert_eq!(db.execute(&["SET", key(k), "x"]), Reply::OK);
                m.deadlines.remove(key(k));
                m.keys.insert(key(k), Val::Str);
            }
            Op::SAdd(k, ms) => {
                let mut args = strs(&["SADD", key(k)]);
                args.extend(names(&ms));
                let want = m.owned(key(k)).map(|mut s| {
                    let added = names(&ms).into_iter().filter(|x| s.insert(x.clone())).count();
                    m.put(key(k), s);
                    Reply::Integer(added as i64)
                });
                prop_assert_eq!(db.execute(&args), want.unwrap_or_else(|e| e));
            }
            Op::SRem(k, ms) => {
                let mut args = strs(&["SREM", key(k)]);
                args.extend(names(&ms));
                let want = m.owned(key(k)).map(|mut s| {
                    let removed = names(&ms).iter().filter(|x| s.remove(*x)).count();
                    if m.keys.contains_key(key(k)) {
                        m.put(key(k), s);
                    }
                    Reply::Integer(removed as i64)
                });
                prop_assert_eq!(db.execute(&args), want.unwrap_or_else(|e| e));
            }
            Op::SMembers(k) => same_set(db.execute(&["SMEMBERS", key(k)]), m.owned(key(k)))?,
            Op::SIsMember(k, i) => {
                let want = m.owned(key(k)).map(|s| Reply::from(s.contains(MEMBERS[i])));
                prop_assert_eq!(db.execute(&["SISMEMBER", key(k), MEMBERS[i]]), want.unwrap_or_else(|e| e));
            }
            Op::SMIsMember(k, ms) => {
                let mut args = strs(&["SMISMEMBER", key(k)]);
                args.extend(names(&ms));
                let want = m
                    .owned(key(k))
                    .map(|s| Reply::Array(names(&ms).iter().map(|x| Reply::from(s.contains(x))).collect()));
                prop_assert_eq!(db.execute(&args), want.unwrap_or_else(|e| e));
            }
            Op::SCard(k) => {
                let want = m.owned(key(k)).map(|s| Reply::Integer(s.len() as i64));
                prop_assert_eq!(db.execute(&["SCARD", key(k)]), want.unwrap_or_else(|e| e));
            }
            Op::SPop(k, count) => {
                let mut args = strs(&["SPOP", key(k)]);
                if let Some(c) = count {
                    args.push(c.to_string());
                }
                let got = db.execute(&args);
                let mut s = match m.owned(key(k)) {
                    Err(e) => {
                        prop_assert_eq!(got, e);
                        continue;
                    }
                    Ok(s) => s,
                };
                let popped = match (count, &got) {
                    (None, Reply::Null) if s.is_empty() => Vec::new(),
                    (None, Reply::Bulk(b)) => vec![String::from_utf8_lossy(b).into_owned()],
                    (Some(_), Reply::Set(_)) => members_of(&got).unwrap_or_default(),
                    _ => return Err(TestCaseError::fail(format!("{args:?}: {got:?}"))),
                };
                prop_assert_eq!(popped.len(), count.unwrap_or(1).min(s.len()));
                for p in &popped {
                    prop_assert!(s.remove(p), "popped {} not in the set", p);
                }
                if m.keys.contains_key(key(k)) {
                    m.put(key(k), s);
                }
            }
            Op::SRandMember(k, count) => {
                let mut args = strs(&["SRANDMEMBER", key(k)]);
                if let Some(c) = count {
                    args.push(c.to_string());
                }
                let got = db.execute(&args);
                let s = match m.owned(key(k)) {
                    Err(e) => {
                        prop_assert_eq!(got, e);
                        continue;
                    }
                    Ok(s) => s,
                };
                let picks = match (count, &got) {
                    (None, Reply::Null) if s.is_empty() => Vec::new(),
                    (None, Reply::Bulk(b)) => vec![String::from_utf8_lossy(b).into_owned()],
                    (Some(_), Reply::Array(_)) => members_of(&got).unwrap_or_default(),
                    _ => return Err(TestCaseError::fail(format!("{args:?}: {got:?}"))),
                };
                let want_len = match count {
                    _ if s.is_empty() => 0,
                    None => 1,
                    Some(c) if c >= 0 => (c as usize).min(s.len()),
                    Some(c) => c.unsigned_abs() as usize,
                };
                prop_assert_eq!(picks.len(), want_len);
                prop_assert!(picks.iter().all(|p| s.contains(p)));
                if count.is_some_and(|c| c >= 0) {
                    let distinct: BTreeSet<_> = picks.iter().collect();
                    prop_assert_eq!(distinct.len(), picks.len());
                }
            }
            Op::SMove(src, dst, i) => {
                let member = MEMBERS[i];
                let want = match (m.set(key(src)), m.set(key(dst))) {
                    (Ok(None), _) => Reply::Integer(0),
                    (Err(e), _) | (_, Err(e)) => e,
                    (Ok(Some(s)), _) if src == dst => Reply::from(s.contains(member)),
                    (Ok(Some(s)), _) if !s.contains(member) => Reply::Integer(0),
                    (Ok(Some(_)), _) => {
                        let mut from = m.owned(key(src)).unwrap_or_default();
                        from.remove(member);
                        m.put(key(src), from);
                        let mut to = m.owned(key(dst)).unwrap_or_default();
                        to.insert(member.to_string());
                        m.put(key(dst), to);
                        Reply::Integer(1)
                    }
                };
                prop_assert_eq!(db.execute(&["SMOVE", key(src), key(dst), member]), want);
            }
            Op::Compute(op, ks) => {
                let name = match op {
                    Algebra::Inter => "SINTER",
                    Algebra::Union => "SUNION",
                    Algebra::Diff => "SDIFF",
                };
                let keys: Vec<&str> = ks.iter().map(|&k| key(k)).collect();
                let mut args = vec![name];
                args.extend(&keys);
                same_set(db.execute(&args), m.compute(op, &keys))?;
            }
            Op::Store(op, d, ks) => {
                let name = match op {
                    Algebra::Inter => "SINTERSTORE",
                    Algebra::Union => "SUNIONSTORE",
                    Algebra::Diff => "SDIFFSTORE",
                };
                let keys: Vec<&str> = ks.iter().map(|&k| key(k)).collect();
                let mut args = vec![name, key(d)];
                args.extend(&keys);
                let want = m.compute(op, &keys).map(|s| {
                    let n = s.len();
                    m.store(key(d), s);
                    Reply::Integer(n as i64)
                });
                prop_assert_eq!(db.execute(&args), want.unwrap_or_else(|e| e));
            }
            Op::SInterCard(ks, limit) => {
                let keys: Vec<&str> = ks.iter().map(|&k| key(k)).collect();
                let mut args = strs(&["SINTERCARD", &keys.len().to_string()]);
                args.extend(keys.iter().map(|k| k.to_string()));
                if let Some(l) = limit {
                    args.extend(strs(&["LIMIT", &l.to_string()]));
                }
                let want = match limit {
                    Some(l) if l < 0 => err("ERR LIMIT can't be negative"),
                    _ => match m.compute(Algebra::Inter, &keys) {
                        Err(e) => e,
                        Ok(s) => {
                            let l = limit.unwrap_or(0) as usize;
                            Reply::Integer(if l > 0 { s.len().min(l) } else { s.len() } as i64)
                        }
                    },
                };
                prop_assert_eq!(db.execute(&args), want);
            }
            Op::SScan(k, count, pattern) => {
                let mut cursor = "0".to_string();
                let mut seen = Members::new();
                let mut done = false;
                for _ in 0..10_000 {
                    let mut args = strs(&["SSCAN", key(k), &cursor, "COUNT", &count.to_string()]);
                    if pattern {
                        args.extend(strs(&["MATCH", "a*"]));
                    }
                    let got = db.execute(&args);
                    if let Err(e) = m.set(key(k)) {
                        prop_assert_eq!(got, e);
                        done = true;
                        break;
                    }
                    let Reply::Array(page) = got else { return Err(TestCaseError::fail("SSCAN reply")) };
                    let [Reply::Bulk(next), items @ Reply::Array(_)] = &page[..] else {
                        return Err(TestCaseError::fail("SSCAN page"));
                    };
                    seen.extend(members_of(items).unwrap_or_default());
                    cursor = String::from_utf8_lossy(next).into_owned();
                    if cursor == "0" {
                        let want: Members = m
                            .owned(key(k))
                            .unwrap_or_default()
                            .into_iter()
                            .filter(|x| !pattern || x.starts_with('a'))
                            .collect();
                        prop_assert_eq!(&seen, &want);
                        done = true;
                        break;
                    }
                }
                prop_assert!(done, "SSCAN never ended");
            }
            Op::PExpire(t, ms) => {
                let k = m.target(t);
                let want = m.pexpire(k, ms);
                prop_assert_eq!(db.execute(&["PEXPIRE", k, &ms.to_string()]), want);
            }
            Op::Persist(k) => prop_assert_eq!(db.execute(&["PERSIST", key(k)]), m.persist(key(k))),
            Op::PTtl(k) => prop_assert_eq!(db.execute(&["PTTL", key(k)]), m.pttl(key(k))),
            Op::Advance(ms) => {
                clock.advance(Duration::from_millis(ms));
                m.advance(ms);
            }
            Op::Pending => {
                db.run_pending_tasks();
                prop_assert_eq!(db.execute(&["DBSIZE"]), Reply::Integer(m.keys.len() as i64));
            }
        }
    }
    // Final state: every key's members (or type) and time to live.
    for k in KEYS {
        prop_assert_eq!(db.execute(&["PTTL", k]), m.pttl(k), "PTTL {}", k);
        same_set(db.execute(&["SMEMBERS", k]), m.owned(k))?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn sets_match_the_model(ops in prop::collection::vec(op(), 1..60)) {
        run_case(ops)?;
    }
}
