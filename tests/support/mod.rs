//! Shared by the persistence tests: a canonical dump of a `Db`'s contents
//! (every key's type, full value and deadline) to compare stores, and a
//! generator of random write commands over every type.

#![allow(dead_code)]

use embercache::Db;
use embercache::db::Reply;
use proptest::prelude::*;
use std::collections::BTreeMap;

/// A key's contents: type, value rendered canonically (aggregates sorted
/// where Redis leaves the order open), and PEXPIRETIME (-1: none).
pub(crate) type Dump = BTreeMap<Vec<u8>, (String, Reply, i64)>;

fn sorted(r: Reply) -> Reply {
    match r {
        Reply::Array(mut v) => {
            v.sort_by_key(|x| format!("{x:?}"));
            Reply::Array(v)
        }
        other => other,
    }
}

/// Everything in `db`, canonically.
pub(crate) fn dump(db: &Db) -> Dump {
    let mut out = Dump::new();
    for key in db.keys(b"*") {
        let k: &[u8] = &key;
        let ty = match db.execute(&[&b"TYPE"[..], k]) {
            Reply::Simple(s) => s,
            other => panic!("TYPE gave {other:?}"),
        };
        let value = match ty {
            "string" => db.execute(&[&b"GET"[..], k]),
            "list" => db.execute(&[&b"LRANGE"[..], k, b"0", b"-1"]),
            "hash" => {
                let pairs = match db.execute(&[&b"HGETALL"[..], k]) {
                    Reply::Map(v) => v.into_iter().map(|(f, v)| Reply::Array(vec![f, v])).collect(),
                    other => panic!("HGETALL gave {other:?}"),
                };
                sorted(Reply::Array(pairs))
            }
            "set" => match db.execute(&[&b"SMEMBERS"[..], k]) {
                Reply::Set(v) => sorted(Reply::Array(v)),
                other => panic!("SMEMBERS gave {other:?}"),
            },
            "zset" => db.execute(&[&b"ZRANGE"[..], k, b"0", b"-1", b"WITHSCORES"]).into_resp2_shape(),
            other => panic!("unknown type {other}"),
        };
        let at = db.execute(&[&b"PEXPIRETIME"[..], k]).as_integer().unwrap_or(-3);
        out.insert(key, (ty.to_string(), value, at));
    }
    out
}

/// Asserts two dumps are equal, deadlines within `slack_ms` (two stores'
/// unix clocks are read at slightly different moments).
pub(crate) fn assert_same(a: &Dump, b: &Dump, slack_ms: i64) {
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "same keys");
    for (k, (ta, va, xa)) in a {
        let (tb, vb, xb) = &b[k];
        assert_eq!((ta, va), (tb, vb), "key {:?}", String::from_utf8_lossy(k));
        assert_eq!(*xa < 0, *xb < 0, "deadline presence of {:?}", String::from_utf8_lossy(k));
        assert!((xa - xb).abs() <= slack_ms, "deadline of {:?}: {xa} vs {xb}", String::from_utf8_lossy(k));
    }
}

/// A write command over a few keys of every type (args as strings).
pub(crate) fn write_command() -> impl Strategy<Value = Vec<String>> {
    let key = prop::sample::select(vec!["s", "l", "h", "t", "z", "a", "b"]);
    let word = prop::sample::select(vec!["x", "y", "zz", "", "10", "-3", "1.5", "héllo", "a b"]);
    let field = prop::sample::select(vec!["f1", "f2", "f3", "g"]);
    let score = prop::sample::select(vec!["0", "1", "-2.5", "1e3", "-inf", "+inf", "3"]);
    prop_oneof![
        (key.clone(), word.clone()).prop_map(|(k, v)| vec!["SET".into(), k.into(), v.into()]),
        (key.clone(), word.clone()).prop_map(|(k, v)| vec!["APPEND".into(), k.into(), v.into()]),
        key.clone().prop_map(|k| vec!["INCR".into(), k.into()]),
        (key.clone(), prop::collection::vec(word.clone(), 1..4)).prop_map(|(k, vs)| {
            let mut c = vec!["RPUSH".to_string(), k.into()];
            c.extend(vs.into_iter().map(String::from));
            c
        }),
        (key.clone(), word.clone()).prop_map(|(k, v)| vec!["LPUSH".into(), k.into(), v.into()]),
        key.clone().prop_map(|k| vec!["LPOP".into(), k.into()]),
        key.clone().prop_map(|k| vec!["RPOP".into(), k.into()]),
        (key.clone(), word.clone()).prop_map(|(k, v)| vec!["LREM".into(), k.into(), "0".into(), v.into()]),
        (key.clone(), field.clone(), word.clone()).prop_map(|(k, f, v)| vec![
            "HSET".into(),
            k.into(),
            f.into(),
            v.into()
        ]),
        (key.clone(), field.clone()).prop_map(|(k, f)| vec!["HINCRBY".into(), k.into(), f.into(), "2".into()]),
        (key.clone(), field.clone()).prop_map(|(k, f)| vec!["HDEL".into(), k.into(), f.into()]),
        (key.clone(), word.clone()).prop_map(|(k, m)| vec!["SADD".into(), k.into(), m.into()]),
        (key.clone(), word.clone()).prop_map(|(k, m)| vec!["SREM".into(), k.into(), m.into()]),
        key.clone().prop_map(|k| vec!["SPOP".into(), k.into()]),
        (key.clone(), score.clone(), word.clone()).prop_map(|(k, s, m)| vec![
            "ZADD".into(),
            k.into(),
            s.into(),
            m.into()
        ]),
        (key.clone(), word.clone()).prop_map(|(k, m)| vec!["ZINCRBY".into(), k.into(), "2".into(), m.into()]),
        (key.clone(), word.clone()).prop_map(|(k, m)| vec!["ZREM".into(), k.into(), m.into()]),
        key.clone().prop_map(|k| vec!["ZPOPMIN".into(), k.into()]),
        (key.clone(), 1..100_000i64).prop_map(|(k, ms)| vec!["PEXPIRE".into(), k.into(), ms.to_string()]),
        key.clone().prop_map(|k| vec!["PERSIST".into(), k.into()]),
        key.clone().prop_map(|k| vec!["DEL".into(), k.into()]),
        (key.clone(), key.clone()).prop_map(|(a, b)| vec!["RENAME".into(), a.into(), b.into()]),
        (key.clone(), key.clone()).prop_map(|(a, b)| vec!["SUNIONSTORE".into(), a.into(), b.into(), a.into()]),
        (key.clone(), key).prop_map(|(a, b)| vec!["LMOVE".into(), a.into(), b.into(), "LEFT".into(), "RIGHT".into()]),
    ]
}

/// Runs `cmd` on `db`.
pub(crate) fn run(db: &Db, cmd: &[String]) -> Reply {
    db.execute(cmd)
}

/// A fresh, empty directory under the system's temporary directory.
pub(crate) fn tempdir(tag: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let d = std::env::temp_dir().join(format!(
        "embercache-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temporary directory");
    d
}
