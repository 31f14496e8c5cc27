//! Model-based test of the hash commands: random command sequences run
//! through `Db::execute` and through a plain `HashMap`/`BTreeMap` model with
//! Redis's semantics, comparing every reply (wrong-type errors included, by
//! mixing in string keys written with SET). Replies whose order Redis leaves
//! open are compared sorted; random picks and scans are checked against the
//! model's contents.
//!
//! Expiry runs under a `ManualClock`: the model keeps each key's deadline,
//! PEXPIRE/PERSIST/PTTL are mixed in, the clock is advanced by hand (the
//! model dropping every key whose deadline has come), and DBSIZE is compared
//! right after `run_pending_tasks`. Hash writes keep the key's TTL; a hash
//! emptied by HDEL is deleted, TTL and all; SET clears the TTL.

use embercache::Db;
use embercache::db::Reply;
use embercache::time::ManualClock;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

const KEYS: [&str; 3] = ["k0", "k1", "k2"];
const FIELDS: [&str; 5] = ["f0", "f1", "f2", "f10", "g"];
const VALUES: [&str; 10] = ["0", "7", "-3", "x", "1.5", "007", "+1", "", "9223372036854775806", "-0.25"];
const INCRS: [&str; 7] = ["1", "-2", "100", "x", "9223372036854775807", "-9223372036854775808", "1.5"];
const FLOAT_INCRS: [&str; 6] = ["0.5", "-1.25", "3", "x", "inf", "1e3"];

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

#[derive(Debug, Clone)]
enum Op {
    Set(usize, usize),
    HSet(usize, Vec<(usize, usize)>, bool),
    HMSet(usize, Vec<(usize, usize)>),
    HSetNx(usize, usize, usize),
    HGet(usize, usize),
    HMGet(usize, Vec<usize>),
    HDel(usize, Vec<usize>),
    HExists(usize, usize),
    HLen(usize),
    HStrLen(usize, usize),
    HKeys(usize),
    HVals(usize),
    HGetAll(usize),
    HIncrBy(usize, usize, usize),
    HIncrByFloat(usize, usize, usize),
    HRandField(usize, Option<i64>, bool),
    HScan(usize, usize, bool, bool),
    /// HSET past the packed form's limits: 130 fields `n0..n129` (`true`),
    /// or field `g` with a 65-byte value (`false`); OBJECT ENCODING is
    /// then `hashtable`.
    Grow(usize, bool),
    PExpire(usize, i64),
    Persist(usize),
    PTtl(usize),
    /// Not a command: moves the clock forward by this many milliseconds.
    Advance(u64),
    /// Not a command: moves the clock to the key's deadline (1 ms short of
    /// it if the flag is set); stays put if the key has none.
    AdvanceTo(usize, bool),
    /// `run_pending_tasks`, then DBSIZE.
    DbSize,
}

fn op() -> impl Strategy<Value = Op> {
    let k = 0..KEYS.len();
    let f = 0..FIELDS.len();
    let v = 0..VALUES.len();
    let pairs = prop::collection::vec((f.clone(), v.clone()), 1..4);
    let fields = prop::collection::vec(f.clone(), 1..4);
    prop_oneof![
        1 => (k.clone(), v.clone()).prop_map(|(k, v)| Op::Set(k, v)),
        6 => (k.clone(), pairs.clone(), prop::bool::weighted(0.1)).prop_map(|(k, p, odd)| Op::HSet(k, p, odd)),
        1 => (k.clone(), pairs).prop_map(|(k, p)| Op::HMSet(k, p)),
        2 => (k.clone(), f.clone(), v.clone()).prop_map(|(k, f, v)| Op::HSetNx(k, f, v)),
        3 => (k.clone(), f.clone()).prop_map(|(k, f)| Op::HGet(k, f)),
        1 => (k.clone(), fields.clone()).prop_map(|(k, f)| Op::HMGet(k, f)),
        3 => (k.clone(), fields).prop_map(|(k, f)| Op::HDel(k, f)),
        1 => (k.clone(), f.clone()).prop_map(|(k, f)| Op::HExists(k, f)),
        1 => k.clone().prop_map(Op::HLen),
        1 => (k.clone(), f.clone()).prop_map(|(k, f)| Op::HStrLen(k, f)),
        1 => k.clone().prop_map(Op::HKeys),
        1 => k.clone().prop_map(Op::HVals),
        2 => k.clone().prop_map(Op::HGetAll),
        3 => (k.clone(), f.clone(), 0..INCRS.len()).prop_map(|(k, f, i)| Op::HIncrBy(k, f, i)),
        2 => (k.clone(), f.clone(), 0..FLOAT_INCRS.len()).prop_map(|(k, f, i)| Op::HIncrByFloat(k, f, i)),
        2 => (k.clone(), prop::option::of(-6..7i64), any::<bool>()).prop_map(|(k, c, w)| Op::HRandField(k, c, w)),
        2 => (k.clone(), 1..6usize, any::<bool>(), any::<bool>()).prop_map(|(k, c, m, n)| Op::HScan(k, c, m, n)),
        1 => (k.clone(), any::<bool>()).prop_map(|(k, many)| Op::Grow(k, many)),
        3 => (k.clone(), prop_oneof![9 => 1i64..=50, 1 => -2i64..=0]).prop_map(|(k, ms)| Op::PExpire(k, ms)),
        1 => k.clone().prop_map(Op::Persist),
        2 => k.clone().prop_map(Op::PTtl),
        2 => (0u64..=30).prop_map(Op::Advance),
        2 => (k, any::<bool>()).prop_map(|(k, early)| Op::AdvanceTo(k, early)),
        1 => Just(Op::DbSize),
    ]
}

#[derive(Debug, Clone)]
enum Val {
    Str,
    Hash(BTreeMap<String, String>),
}

/// Redis's `string2ll`: no `+`, no leading zeros, no `-0`.
fn strict_i64(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if digits.starts_with('0') && (digits.len() > 1 || s.starts_with('-')) {
        return None;
    }
    s.parse().ok()
}

/// Redis's `strtold` reading: decimal forms, `inf`; no NaN, no spaces.
fn strict_f64(s: &str) -> Option<f64> {
    if s.is_empty() || s.trim() != s || s.to_ascii_lowercase().contains("nan") {
        return None;
    }
    s.parse().ok()
}

/// How HINCRBYFLOAT stores a number.
fn fixed(f: f64) -> String {
    if f == f.trunc() && f.abs() < 1e17 { format!("{}", f as i64) } else { format!("{f}") }
}

fn err(s: &str) -> Reply {
    Reply::Error(s.to_string())
}

fn bulk(s: &str) -> Reply {
    Reply::bulk(s)
}

#[derive(Default)]
struct Model {
    keys: HashMap<&'static str, Val>,
    /// Deadlines (model milliseconds) of the keys that have a TTL.
    deadlines: HashMap<&'static str, u64>,
    /// Milliseconds the clock has been advanced.
    now: u64,
}

impl Model {
    /// The hash at `key`: Ok(None) if absent, Err for another type.
    fn hash(&self, key: &str) -> Result<Option<&BTreeMap<String, String>>, Reply> {
        match self.keys.get(key) {
            None => Ok(None),
            Some(Val::Hash(h)) => Ok(Some(h)),
            Some(Val::Str) => Err(err(WRONGTYPE)),
        }
    }

    fn hash_mut(&mut self, key: &'static str) -> Result<&mut BTreeMap<String, String>, Reply> {
        match self.keys.entry(key).or_insert_with(|| Val::Hash(BTreeMap::new())) {
            Val::Hash(h) => Ok(h),
            Val::Str => Err(err(WRONGTYPE)),
        }
    }

    /// Deletes `key` (and its deadline) if it holds an empty hash.
    fn tidy(&mut self, key: &str) {
        if let Some(Val::Hash(h)) = self.keys.get(key)
            && h.is_empty()
        {
            self.remove(key);
        }
    }

    fn remove(&mut self, key: &str) {
        self.keys.remove(key);
        self.deadlines.remove(key);
    }

    /// PEXPIRE: a deadline `ms` from now; a non-positive `ms` deletes the key.
    fn pexpire(&mut self, key: &'static str, ms: i64) -> Reply {
        if !self.keys.contains_key(key) {
            return Reply::Integer(0);
        }
        if ms <= 0 {
            self.remove(key);
        } else {
            self.deadlines.insert(key, self.now + ms.unsigned_abs());
        }
        Reply::Integer(1)
    }

    fn pttl(&self, key: &str) -> Reply {
        Reply::Integer(match (self.keys.contains_key(key), self.deadlines.get(key)) {
            (false, _) => -2,
            (true, None) => -1,
            (true, Some(&d)) => (d - self.now) as i64,
        })
    }

    /// Moves the clock: a key expires exactly when it reaches its deadline.
    fn advance(&mut self, ms: u64) {
        self.now += ms;
        let now = self.now;
        let due: Vec<&'static str> = self.deadlines.iter().filter(|&(_, &d)| d <= now).map(|(&k, _)| k).collect();
        for key in due {
            self.remove(key);
        }
    }

    fn read<R>(&self, key: &str, f: impl FnOnce(&BTreeMap<String, String>) -> R, absent: R) -> Result<R, Reply> {
        Ok(self.hash(key)?.map_or(absent, f))
    }

    fn write(
        &mut self,
        key: &'static str,
        f: impl FnOnce(&mut BTreeMap<String, String>) -> Result<Reply, Reply>,
    ) -> Reply {
        let r = self.hash_mut(key).and_then(f);
        self.tidy(key);
        r.unwrap_or_else(|e| e)
    }
}

fn strs(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn sorted_bulks(r: &Reply) -> Option<Vec<Vec<u8>>> {
    let Reply::Array(items) = r else { return None };
    let mut v: Vec<Vec<u8>> = items.iter().map(|i| i.as_bytes().map(<[u8]>::to_vec)).collect::<Option<_>>()?;
    v.sort();
    Some(v)
}

fn run_case(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let clock = ManualClock::new();
    let db = Db::builder().clock(clock.clone()).build().expect("valid configuration");
    let mut m = Model::default();
    for op in ops {
        let key = |k: usize| KEYS[k];
        let hmset = matches!(op, Op::HMSet(..));
        let keys = matches!(op, Op::HKeys(_));
        match op {
            Op::Set(k, v) => {
                prop_assert_eq!(db.execute(&["SET", key(k), VALUES[v]]), Reply::OK);
                m.keys.insert(key(k), Val::Str);
                m.deadlines.remove(key(k));
            }
            Op::HSet(k, pairs, true) => {
                let mut args = strs(&["HSET", key(k)]);
                for (f, v) in &pairs {
                    args.extend(strs(&[FIELDS[*f], VALUES[*v]]));
                }
                args.pop();
                prop_assert_eq!(db.execute(&args), err("ERR wrong number of arguments for 'hset' command"));
            }
            Op::HSet(k, pairs, false) | Op::HMSet(k, pairs) => {
                let mut args = strs(&[if hmset { "HMSET" } else { "HSET" }, key(k)]);
                for (f, v) in &pairs {
                    args.extend(strs(&[FIELDS[*f], VALUES[*v]]));
                }
                let want = m.write(key(k), |h| {
                    let mut created = 0;
                    for (f, v) in &pairs {
                        created += i64::from(h.insert(FIELDS[*f].into(), VALUES[*v].into()).is_none());
                    }
                    Ok(if hmset { Reply::OK } else { Reply::Integer(created) })
                });
                prop_assert_eq!(db.execute(&args), want, "{:?}", args);
            }
            Op::HSetNx(k, f, v) => {
                let want = m.write(key(k), |h| {
                    let new = !h.contains_key(FIELDS[f]);
                    if new {
                        h.insert(FIELDS[f].into(), VALUES[v].into());
                    }
                    Ok(Reply::from(new))
                });
                prop_assert_eq!(db.execute(&["HSETNX", key(k), FIELDS[f], VALUES[v]]), want);
            }
            Op::HGet(k, f) => {
                let want = m.read(key(k), |h| Reply::bulk_or_null(h.get(FIELDS[f])), Reply::Null);
                prop_assert_eq!(db.execute(&["HGET", key(k), FIELDS[f]]), want.unwrap_or_else(|e| e));
            }
            Op::HMGet(k, fs) => {
                let mut args = strs(&["HMGET", key(k)]);
                args.extend(fs.iter().map(|&f| FIELDS[f].to_string()));
                let want = m.read(
                    key(k),
                    |h| Reply::Array(fs.iter().map(|&f| Reply::bulk_or_null(h.get(FIELDS[f]))).collect()),
                    Reply::Array(vec![Reply::Null; fs.len()]),
                );
                prop_assert_eq!(db.execute(&args), want.unwrap_or_else(|e| e));
            }
            Op::HDel(k, fs) => {
                let mut args = strs(&["HDEL", key(k)]);
                args.extend(fs.iter().map(|&f| FIELDS[f].to_string()));
                let want = match m.hash(key(k)) {
                    Err(e) => e,
                    Ok(None) => Reply::Integer(0),
                    Ok(Some(_)) => m.write(key(k), |h| {
                        Ok(Reply::Integer(fs.iter().filter(|&&f| h.remove(FIELDS[f]).is_some()).count() as i64))
                    }),
                };
                prop_assert_eq!(db.execute(&args), want);
            }
            Op::HExists(k, f) => {
                let want = m.read(key(k), |h| Reply::from(h.contains_key(FIELDS[f])), Reply::Integer(0));
                prop_assert_eq!(db.execute(&["HEXISTS", key(k), FIELDS[f]]), want.unwrap_or_else(|e| e));
            }
            Op::HLen(k) => {
                let want = m.read(key(k), |h| Reply::Integer(h.len() as i64), Reply::Integer(0));
                prop_assert_eq!(db.execute(&["HLEN", key(k)]), want.unwrap_or_else(|e| e));
            }
            Op::HStrLen(k, f) => {
                let want = m.read(
                    key(k),
                    |h| Reply::Integer(h.get(FIELDS[f]).map_or(0, |v| v.len() as i64)),
                    Reply::Integer(0),
                );
                prop_assert_eq!(db.execute(&["HSTRLEN", key(k), FIELDS[f]]), want.unwrap_or_else(|e| e));
            }
            Op::HKeys(k) | Op::HVals(k) => {
                let got = db.execute(&[if keys { "HKEYS" } else { "HVALS" }, key(k)]);
                match m.hash(key(k)) {
                    Err(e) => prop_assert_eq!(got, e),
                    Ok(h) => {
                        let mut want: Vec<Vec<u8>> = h
                            .map(|h| {
                                h.iter().map(|(f, v)| if keys { f.clone() } else { v.clone() }.into_bytes()).collect()
                            })
                            .unwrap_or_default();
                        want.sort();
                        prop_assert_eq!(sorted_bulks(&got), Some(want));
                    }
                }
            }
            Op::HGetAll(k) => {
                let got = db.execute(&["HGETALL", key(k)]);
                match m.hash(key(k)) {
                    Err(e) => prop_assert_eq!(got, e),
                    Ok(h) => {
                        let Reply::Map(mut pairs) = got else { return Err(TestCaseError::fail("HGETALL: not a map")) };
                        pairs.sort_by(|a, b| a.0.as_bytes().cmp(&b.0.as_bytes()));
                        let want: Vec<(Reply, Reply)> =
                            h.into_iter().flatten().map(|(f, v)| (bulk(f), bulk(v))).collect();
                        prop_assert_eq!(pairs, want);
                    }
                }
            }
            Op::HIncrBy(k, f, i) => {
                let want = match strict_i64(INCRS[i]) {
                    None => err("ERR value is not an integer or out of range"),
                    Some(by) => m.write(key(k), |h| {
                        let old = match h.get(FIELDS[f]) {
                            None => 0,
                            Some(v) => strict_i64(v).ok_or_else(|| err("ERR hash value is not an integer"))?,
                        };
                        let n = old.checked_add(by).ok_or_else(|| err("ERR increment or decrement would overflow"))?;
                        h.insert(FIELDS[f].into(), n.to_string());
                        Ok(Reply::Integer(n))
                    }),
                };
                prop_assert_eq!(db.execute(&["HINCRBY", key(k), FIELDS[f], INCRS[i]]), want);
            }
            Op::HIncrByFloat(k, f, i) => {
                // The model adds in f64, exact below 2^50 for these
                // increments; Redis (and embercache) add in 80-bit long
                // double, whose larger sums (and their digits) the unit
                // tests and the differential test check: there the model
                // takes the reply as the new value.
                let mut inexact = false;
                let want = match strict_f64(FLOAT_INCRS[i]) {
                    None => err("ERR value is not a valid float"),
                    Some(by) if !by.is_finite() => err("ERR value is NaN or Infinity"),
                    Some(by) => m.write(key(k), |h| {
                        let old = match h.get(FIELDS[f]) {
                            None => 0.0,
                            Some(v) => strict_f64(v).ok_or_else(|| err("ERR hash value is not a float"))?,
                        };
                        let n = old + by;
                        inexact = old.abs() >= 2f64.powi(50) || n.abs() >= 2f64.powi(50);
                        h.insert(FIELDS[f].into(), fixed(n));
                        Ok(bulk(&fixed(n)))
                    }),
                };
                let got = db.execute(&["HINCRBYFLOAT", key(k), FIELDS[f], FLOAT_INCRS[i]]);
                match (&got, inexact) {
                    (Reply::Bulk(text), true) => {
                        let text = String::from_utf8(text.clone()).unwrap_or_default();
                        m.write(key(k), |h| {
                            h.insert(FIELDS[f].into(), text.clone());
                            Ok(Reply::OK)
                        });
                    }
                    _ => prop_assert_eq!(got, want),
                }
            }
            Op::HRandField(k, count, with_values) => check_hrandfield(&db, &m, key(k), count, with_values)?,
            Op::HScan(k, count, pattern, no_values) => check_hscan(&db, &m, key(k), count, pattern, no_values)?,
            Op::Grow(k, many) => {
                let long = "x".repeat(65);
                let pairs: Vec<(String, String)> = if many {
                    (0..130).map(|i| (format!("n{i}"), i.to_string())).collect()
                } else {
                    vec![(FIELDS[4].to_string(), long)]
                };
                let mut args = strs(&["HSET", key(k)]);
                for (f, v) in &pairs {
                    args.extend([f.clone(), v.clone()]);
                }
                let want = m.write(key(k), |h| {
                    let created = pairs.iter().filter(|(f, v)| h.insert(f.clone(), v.clone()).is_none()).count();
                    Ok(Reply::Integer(created as i64))
                });
                prop_assert_eq!(db.execute(&args), want.clone(), "{:?}", &args[..3]);
                if matches!(want, Reply::Integer(_)) {
                    prop_assert_eq!(db.execute(&["OBJECT", "ENCODING", key(k)]), bulk("hashtable"));
                }
            }
            Op::PExpire(k, ms) => {
                let args = strs(&["PEXPIRE", key(k), &ms.to_string()]);
                prop_assert_eq!(db.execute(&args), m.pexpire(key(k), ms), "{:?} at {} ms", args, m.now);
            }
            Op::Persist(k) => {
                let want = Reply::from(m.keys.contains_key(key(k)) && m.deadlines.remove(key(k)).is_some());
                prop_assert_eq!(db.execute(&["PERSIST", key(k)]), want, "PERSIST {} at {} ms", key(k), m.now);
            }
            Op::PTtl(k) => {
                prop_assert_eq!(db.execute(&["PTTL", key(k)]), m.pttl(key(k)), "PTTL {} at {} ms", key(k), m.now);
            }
            Op::AdvanceTo(k, early) => {
                let ms = m.deadlines.get(key(k)).map_or(0, |&d| d - m.now - u64::from(early));
                clock.advance(Duration::from_millis(ms));
                m.advance(ms);
            }
            Op::Advance(ms) => {
                clock.advance(Duration::from_millis(ms));
                m.advance(ms);
            }
            Op::DbSize => {
                // Expired keys count in DBSIZE until reclaimed.
                db.run_pending_tasks();
                prop_assert_eq!(db.execute(&["DBSIZE"]), Reply::Integer(m.keys.len() as i64), "at {} ms", m.now);
            }
        }
        // A hash past the packed limits is a table (the way back is closed).
        for k in KEYS {
            if let Ok(Some(h)) = m.hash(k)
                && (h.len() > 128 || h.iter().any(|(f, v)| f.len() > 64 || v.len() > 64))
            {
                prop_assert_eq!(db.execute(&["OBJECT", "ENCODING", k]), bulk("hashtable"), "{}", k);
            }
        }
    }
    db.validate();
    for k in KEYS {
        prop_assert_eq!(db.execute(&["PTTL", k]), m.pttl(k), "final PTTL {}", k);
        check_hscan(&db, &m, k, 10, false, false)?;
    }
    db.run_pending_tasks();
    prop_assert_eq!(db.execute(&["DBSIZE"]), Reply::Integer(m.keys.len() as i64), "final DBSIZE");
    Ok(())
}

fn check_hrandfield(db: &Db, m: &Model, key: &str, count: Option<i64>, with_values: bool) -> Result<(), TestCaseError> {
    let Some(count) = count else {
        let got = db.execute(&["HRANDFIELD", key]);
        match m.hash(key) {
            Err(e) => prop_assert_eq!(got, e),
            Ok(None) => prop_assert_eq!(got, Reply::Null),
            Ok(Some(h)) => {
                let f = String::from_utf8(got.as_bytes().unwrap_or_default().to_vec()).unwrap_or_default();
                prop_assert!(h.contains_key(&f), "{} not in {:?}", f, h);
            }
        }
        return Ok(());
    };
    let mut args = strs(&["HRANDFIELD", key, &count.to_string()]);
    if with_values {
        args.push("WITHVALUES".into());
    }
    let got = db.execute(&args);
    let h = match m.hash(key) {
        Err(e) => {
            prop_assert_eq!(got, e);
            return Ok(());
        }
        Ok(h) => h.cloned().unwrap_or_default(),
    };
    // Field/value pairs with WITHVALUES, fields alone without.
    let items: Vec<(Reply, Option<Reply>)> = match got {
        Reply::Pairs(pairs) if with_values => pairs.into_iter().map(|(f, v)| (f, Some(v))).collect(),
        Reply::Array(fields) if !with_values => fields.into_iter().map(|f| (f, None)).collect(),
        got => return Err(TestCaseError::fail(format!("{args:?}: {got:?}"))),
    };
    let want_len = if h.is_empty() {
        0
    } else if count >= 0 {
        (count as usize).min(h.len())
    } else {
        count.unsigned_abs() as usize
    };
    prop_assert_eq!(items.len(), want_len);
    let mut fields = Vec::new();
    for (f, v) in items {
        let f = String::from_utf8(f.as_bytes().unwrap_or_default().to_vec()).unwrap_or_default();
        let Some(value) = h.get(&f) else { return Err(TestCaseError::fail(format!("{f} not in the hash"))) };
        if let Some(v) = v {
            prop_assert_eq!(v, bulk(value));
        }
        fields.push(f);
    }
    if count >= 0 {
        let distinct: BTreeSet<_> = fields.iter().collect();
        prop_assert_eq!(distinct.len(), fields.len(), "positive counts pick distinct fields");
    }
    Ok(())
}

fn check_hscan(
    db: &Db,
    m: &Model,
    key: &str,
    count: usize,
    pattern: bool,
    no_values: bool,
) -> Result<(), TestCaseError> {
    let mut cursor = "0".to_string();
    let mut seen = BTreeMap::new();
    for _ in 0..10_000 {
        let mut args = strs(&["HSCAN", key, &cursor, "COUNT", &count.to_string()]);
        if pattern {
            args.extend(strs(&["MATCH", "f*"]));
        }
        if no_values {
            args.push("NOVALUES".into());
        }
        let got = db.execute(&args);
        if let Err(e) = m.hash(key) {
            prop_assert_eq!(got, e);
            return Ok(());
        }
        let Reply::Array(page) = got else { return Err(TestCaseError::fail("HSCAN: not an array")) };
        let [Reply::Bulk(next), Reply::Array(items)] = &page[..] else { return Err(TestCaseError::fail("HSCAN page")) };
        let step = if no_values { 1 } else { 2 };
        for chunk in items.chunks(step) {
            let f = String::from_utf8(chunk[0].as_bytes().unwrap_or_default().to_vec()).unwrap_or_default();
            let v = chunk.get(1).and_then(|v| v.as_bytes()).map(|v| String::from_utf8_lossy(v).into_owned());
            seen.insert(f, v);
        }
        cursor = String::from_utf8_lossy(next).into_owned();
        if cursor == "0" {
            let want: BTreeMap<String, Option<String>> = m
                .hash(key)
                .ok()
                .flatten()
                .into_iter()
                .flatten()
                .filter(|(f, _)| !pattern || f.starts_with('f'))
                .map(|(f, v)| (f.clone(), (!no_values).then(|| v.clone())))
                .collect();
            prop_assert_eq!(seen, want);
            return Ok(());
        }
    }
    Err(TestCaseError::fail("HSCAN never ended"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn hashes_match_the_model(ops in prop::collection::vec(op(), 1..60)) {
        run_case(ops)?;
    }
}
