//! Model-based test of the generic key commands: random sequences of DEL,
//! EXISTS, TYPE, RENAME, COPY, the EXPIRE family, TTLs, PERSIST, TOUCH,
//! KEYS, SCAN, RANDOMKEY, DBSIZE and FLUSHDB, with the clock moved by hand
//! between them, run through `Db::execute` and against a plain model of
//! Redis's semantics; every reply is compared. Also SCAN's guarantee under
//! growth between calls.

use embercache::Db;
use embercache::db::Reply;
use embercache::time::ManualClock;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const KEYS: &[&str] = &["a", "b", "c", "ab", "ba"];
const PATTERNS: &[&str] = &["*", "a*", "?", "[ab]", "*b", "b?"];
const EXPIRE_OPTS: &[&str] = &["NX", "XX", "GT", "LT", "nx", "gt"];

#[derive(Debug, Clone)]
enum Op {
    Set(usize, u8),
    SetPx(usize, u8, i64),
    Get(usize),
    Del(Vec<usize>, bool),
    Exists(Vec<usize>),
    Touch(Vec<usize>),
    Type(usize),
    Rename(usize, usize, bool),
    Copy(usize, usize, bool),
    /// Command index (EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT), key, amount
    /// (relative to now for the AT forms), options.
    Expire(usize, usize, i64, Vec<usize>),
    /// An amount that overflows.
    ExpireHuge(usize, usize),
    Ttl(usize, usize),
    Persist(usize),
    Keys(usize),
    Scan(usize, usize),
    RandomKey,
    DbSize,
    FlushDb,
    Advance(u64),
}

fn key() -> impl Strategy<Value = usize> {
    0..KEYS.len()
}

fn keys() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(key(), 1..4)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (key(), 0..4u8).prop_map(|(k, v)| Op::Set(k, v)),
        2 => (key(), 0..4u8, 1..3000i64).prop_map(|(k, v, ms)| Op::SetPx(k, v, ms)),
        2 => key().prop_map(Op::Get),
        2 => (keys(), any::<bool>()).prop_map(|(k, u)| Op::Del(k, u)),
        2 => keys().prop_map(Op::Exists),
        1 => keys().prop_map(Op::Touch),
        1 => key().prop_map(Op::Type),
        2 => (key(), key(), any::<bool>()).prop_map(|(a, b, nx)| Op::Rename(a, b, nx)),
        2 => (key(), key(), any::<bool>()).prop_map(|(a, b, r)| Op::Copy(a, b, r)),
        6 => (0..4usize, key(), -3..3000i64, prop::collection::vec(0..EXPIRE_OPTS.len(), 0..3))
            .prop_map(|(c, k, n, o)| Op::Expire(c, k, n, o)),
        1 => (0..4usize, key()).prop_map(|(c, k)| Op::ExpireHuge(c, k)),
        4 => (0..4usize, key()).prop_map(|(c, k)| Op::Ttl(c, k)),
        2 => key().prop_map(Op::Persist),
        1 => (0..PATTERNS.len()).prop_map(Op::Keys),
        1 => (1..5usize, 0..PATTERNS.len()).prop_map(|(c, p)| Op::Scan(c, p)),
        1 => Just(Op::RandomKey),
        1 => Just(Op::DbSize),
        1 => Just(Op::FlushDb),
        4 => (0..2500u64).prop_map(Op::Advance),
    ]
}

/// Redis's semantics over a map: key -> (value, deadline in unix ms).
struct Model {
    now: i64,
    map: BTreeMap<String, (String, Option<i64>)>,
}

impl Model {
    fn purge(&mut self) {
        let now = self.now;
        self.map.retain(|_, (_, d)| d.is_none_or(|d| d > now));
    }

    fn matching(&self, pattern: &str) -> BTreeSet<String> {
        self.map.keys().filter(|k| glob(pattern.as_bytes(), k.as_bytes())).cloned().collect()
    }
}

/// A tiny glob for the model's patterns: `*`, `?` and `[..]` without ranges.
fn glob(p: &[u8], t: &[u8]) -> bool {
    match (p.first(), t.first()) {
        (None, _) => t.is_empty(),
        (Some(b'*'), _) => glob(&p[1..], t) || (!t.is_empty() && glob(p, &t[1..])),
        (Some(_), None) => false,
        (Some(b'?'), Some(_)) => glob(&p[1..], &t[1..]),
        (Some(b'['), Some(c)) => {
            let end = p.iter().position(|&x| x == b']').unwrap_or(p.len());
            p[1..end].contains(c) && glob(p.get(end + 1..).unwrap_or_default(), &t[1..])
        }
        (Some(a), Some(c)) => a == c && glob(&p[1..], &t[1..]),
    }
}

fn int(n: i64) -> Reply {
    Reply::Integer(n)
}

fn err(s: &str) -> Reply {
    Reply::Error(s.to_string())
}

const EXPIRE_CMDS: [&str; 4] = ["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"];

/// The model's EXPIRE: the whole of Redis's `expireGenericCommand`.
fn model_expire(m: &mut Model, cmd: usize, k: &str, n: i64, opts: &[&str]) -> Reply {
    let has = |o: &str| opts.iter().any(|x| x.eq_ignore_ascii_case(o));
    let (nx, xx, gt, lt) = (has("NX"), has("XX"), has("GT"), has("LT"));
    if nx && (xx || gt || lt) {
        return err("ERR NX and XX, GT or LT options at the same time are not compatible");
    }
    if gt && lt {
        return err("ERR GT and LT options at the same time are not compatible");
    }
    let invalid = err(&format!("ERR invalid expire time in '{}' command", EXPIRE_CMDS[cmd].to_lowercase()));
    let seconds = cmd.is_multiple_of(2);
    let absolute = cmd >= 2;
    let Some(ms) = (if seconds { n.checked_mul(1000) } else { Some(n) }) else { return invalid };
    let Some(when) = (if absolute { Some(ms) } else { ms.checked_add(m.now) }) else { return invalid };
    let now = m.now;
    let Some((_, deadline)) = m.map.get_mut(k) else { return int(0) };
    let current = *deadline;
    if (nx && current.is_some())
        || (xx && current.is_none())
        || (gt && current.is_none_or(|c| when <= c))
        || (lt && current.is_some_and(|c| when >= c))
    {
        return int(0);
    }
    if when <= now {
        m.map.remove(k);
    } else {
        *deadline = Some(when);
    }
    int(1)
}

fn scan_all(db: &Db, count: usize, pattern: &str) -> Vec<String> {
    let mut cursor = "0".to_string();
    let mut out = Vec::new();
    loop {
        let count = count.to_string();
        let r = db.execute(&["SCAN", &cursor, "COUNT", &count, "MATCH", pattern]);
        let Reply::Array(parts) = r else { panic!("SCAN reply {r:?}") };
        let [Reply::Bulk(next), Reply::Array(batch)] = &parts[..] else { panic!("SCAN shape {parts:?}") };
        out.extend(batch.iter().map(|k| String::from_utf8_lossy(k.as_bytes().unwrap_or_default()).into_owned()));
        cursor = String::from_utf8_lossy(next).into_owned();
        if cursor == "0" {
            return out;
        }
    }
}

fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let clock = ManualClock::new();
    let db = Db::builder().clock(clock.clone()).shards(4).build().map_err(|e| TestCaseError::fail(e.to_string()))?;
    // Learn the Db's unix time from a deadline read back.
    db.execute(&["SET", "probe", "x"]);
    db.execute(&["PEXPIRE", "probe", "1000000000"]);
    let Reply::Integer(t) = db.execute(&["PEXPIRETIME", "probe"]) else { panic!("PEXPIRETIME") };
    db.execute(&["DEL", "probe"]);
    let mut m = Model { now: t - 1_000_000_000, map: BTreeMap::new() };

    for (step, op) in ops.iter().enumerate() {
        m.purge();
        let s = |i: &usize| KEYS[*i].to_string();
        let (cmd, want): (Vec<String>, Reply) = match op {
            Op::Set(k, v) => {
                m.map.insert(s(k), (format!("v{v}"), None));
                (vec!["SET".into(), s(k), format!("v{v}")], Reply::OK)
            }
            Op::SetPx(k, v, ms) => {
                m.map.insert(s(k), (format!("v{v}"), Some(m.now + ms)));
                (vec!["SET".into(), s(k), format!("v{v}"), "PX".into(), ms.to_string()], Reply::OK)
            }
            Op::Get(k) => (vec!["GET".into(), s(k)], Reply::bulk_or_null(m.map.get(&s(k)).map(|(v, _)| v))),
            Op::Del(ks, unlink) => {
                let n = ks.iter().filter(|k| m.map.remove(&s(k)).is_some()).count();
                let name = if *unlink { "UNLINK" } else { "DEL" };
                (std::iter::once(name.to_string()).chain(ks.iter().map(s)).collect(), Reply::count(n))
            }
            Op::Exists(ks) | Op::Touch(ks) => {
                let n = ks.iter().filter(|k| m.map.contains_key(&s(k))).count();
                let name = if matches!(op, Op::Exists(_)) { "EXISTS" } else { "TOUCH" };
                (std::iter::once(name.to_string()).chain(ks.iter().map(s)).collect(), Reply::count(n))
            }
            Op::Type(k) => {
                let t = if m.map.contains_key(&s(k)) { "string" } else { "none" };
                (vec!["TYPE".into(), s(k)], Reply::Simple(t))
            }
            Op::Rename(a, b, nx) => {
                let name = if *nx { "RENAMENX" } else { "RENAME" };
                let want = if !m.map.contains_key(&s(a)) {
                    err("ERR no such key")
                } else if a == b {
                    if *nx { int(0) } else { Reply::OK }
                } else if *nx && m.map.contains_key(&s(b)) {
                    int(0)
                } else {
                    let e = m.map.remove(&s(a)).unwrap_or_default();
                    m.map.insert(s(b), e);
                    if *nx { int(1) } else { Reply::OK }
                };
                (vec![name.into(), s(a), s(b)], want)
            }
            Op::Copy(a, b, replace) => {
                let want = if a == b {
                    err("ERR source and destination objects are the same")
                } else if !m.map.contains_key(&s(a)) || (!replace && m.map.contains_key(&s(b))) {
                    int(0)
                } else {
                    let e = m.map[&s(a)].clone();
                    m.map.insert(s(b), e);
                    int(1)
                };
                let mut cmd = vec!["COPY".into(), s(a), s(b)];
                if *replace {
                    cmd.push("REPLACE".into());
                }
                (cmd, want)
            }
            Op::Expire(c, k, n, opts) => {
                // The AT forms take `n` relative to now (seconds or ms).
                let n = match c {
                    0 => n.div_euclid(1000),
                    2 => m.now.div_euclid(1000) + n.div_euclid(1000),
                    3 => m.now + n,
                    _ => *n,
                };
                let opts: Vec<&str> = opts.iter().map(|&o| EXPIRE_OPTS[o]).collect();
                let want = model_expire(&mut m, *c, &s(k), n, &opts);
                let cmd = [EXPIRE_CMDS[*c].to_string(), s(k), n.to_string()]
                    .into_iter()
                    .chain(opts.iter().map(|o| o.to_string()))
                    .collect();
                (cmd, want)
            }
            Op::ExpireHuge(c, k) => {
                // EXPIRE/EXPIREAT overflow in the unit, PEXPIRE adding now;
                // PEXPIREAT this far is valid.
                let n = match c {
                    0 | 2 => i64::MAX / 1000 + 1,
                    1 => i64::MAX - 1000,
                    _ => i64::MAX - 10_000,
                };
                let want = model_expire(&mut m, *c, &s(k), n, &[]);
                (vec![EXPIRE_CMDS[*c].into(), s(k), n.to_string()], want)
            }
            Op::Ttl(c, k) => {
                let name = ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"][*c];
                let want = match m.map.get(&s(k)) {
                    None => int(-2),
                    Some((_, None)) => int(-1),
                    Some((_, Some(d))) => {
                        let v = if *c >= 2 { *d } else { (d - m.now).max(0) };
                        int(if c % 2 == 0 { (v + 500) / 1000 } else { v })
                    }
                };
                (vec![name.into(), s(k)], want)
            }
            Op::Persist(k) => {
                let had = m.map.get_mut(&s(k)).is_some_and(|(_, d)| d.take().is_some());
                (vec!["PERSIST".into(), s(k)], Reply::from(had))
            }
            Op::Keys(p) => {
                let got = db.execute(&["KEYS", PATTERNS[*p]]);
                let Reply::Array(items) = got else { panic!("KEYS reply") };
                let got: BTreeSet<String> = items
                    .iter()
                    .map(|r| String::from_utf8_lossy(r.as_bytes().unwrap_or_default()).into_owned())
                    .collect();
                prop_assert_eq!(got.len(), items.len(), "KEYS returned a key twice");
                prop_assert_eq!(got, m.matching(PATTERNS[*p]), "step {}: KEYS {}", step, PATTERNS[*p]);
                continue;
            }
            Op::Scan(count, p) => {
                let got = scan_all(&db, *count, PATTERNS[*p]);
                let set: BTreeSet<String> = got.iter().cloned().collect();
                prop_assert_eq!(set.len(), got.len(), "SCAN returned a key twice");
                prop_assert_eq!(set, m.matching(PATTERNS[*p]), "step {}: SCAN MATCH {}", step, PATTERNS[*p]);
                continue;
            }
            Op::RandomKey => {
                let got = db.execute(&["RANDOMKEY"]);
                match got {
                    Reply::Null => prop_assert!(m.map.is_empty(), "step {}: RANDOMKEY null with keys", step),
                    Reply::Bulk(k) => {
                        prop_assert!(m.map.contains_key(&String::from_utf8_lossy(&k).into_owned()), "step {}", step)
                    }
                    other => prop_assert!(false, "RANDOMKEY {:?}", other),
                }
                continue;
            }
            Op::DbSize => {
                // DBSIZE counts expired keys not yet reclaimed, as Redis does.
                db.run_pending_tasks();
                (vec!["DBSIZE".into()], Reply::count(m.map.len()))
            }
            Op::FlushDb => {
                m.map.clear();
                (vec!["FLUSHDB".into()], Reply::OK)
            }
            Op::Advance(ms) => {
                clock.advance(Duration::from_millis(*ms));
                m.now += i64::try_from(*ms).unwrap_or(0);
                continue;
            }
        };
        let got = db.execute(&cmd);
        prop_assert_eq!(got, want, "step {}: {:?}", step, cmd);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn key_commands_match_the_model(ops in prop::collection::vec(op(), 1..60)) {
        run(&ops)?;
    }
}

#[test]
fn scan_guarantee_holds_with_inserts_and_deletes_between_calls() {
    let db = Db::builder().shards(16).build().expect("valid");
    for i in 0..3000 {
        db.execute(&["SET", &format!("stable:{i}"), "v"]);
    }
    let mut cursor = "0".to_string();
    let mut seen: Vec<String> = Vec::new();
    let mut round = 0;
    loop {
        let r = db.execute(&["SCAN", &cursor, "COUNT", "7"]);
        let Reply::Array(parts) = r else { panic!("SCAN reply") };
        let [Reply::Bulk(next), Reply::Array(batch)] = &parts[..] else { panic!("SCAN shape") };
        seen.extend(batch.iter().map(|k| String::from_utf8_lossy(k.as_bytes().unwrap_or_default()).into_owned()));
        cursor = String::from_utf8_lossy(next).into_owned();
        if cursor == "0" {
            break;
        }
        // The keyspace grows a lot while the scan runs, and other keys come and go.
        for j in 0..40 {
            db.execute(&["SET", &format!("added:{round}:{j}"), "v"]);
        }
        if round > 0 {
            db.execute(&["DEL", &format!("added:{}:{}", round - 1, round % 40)]);
        }
        round += 1;
    }
    let stable: BTreeSet<&String> = seen.iter().filter(|k| k.starts_with("stable:")).collect();
    assert_eq!(stable.len(), 3000, "every key present for the whole scan is returned");
    let all: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(all.len(), seen.len(), "nothing returned twice");
    assert!(round > 16, "{round} rounds");
}
