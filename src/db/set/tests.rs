//! Unit tests of the set commands: table tests of `execute` (arguments,
//! options, Redis's error replies), random picks, set algebra, SMOVE,
//! scans, TTLs, events and footprints.

use crate::db::notify::EventClass;
use crate::db::tests::manual_db;
use crate::db::tests::{WRONGTYPE, bulk, err, int, run};
use crate::db::{Db, DbError, Reply};

/// The bulk strings of an array or set reply, sorted.
fn sorted(r: Reply) -> Vec<String> {
    let (Reply::Array(items) | Reply::Set(items)) = r else { panic!("not a collection: {r:?}") };
    let mut v: Vec<String> =
        items.into_iter().map(|i| String::from_utf8(i.as_bytes().expect("bulk").to_vec()).unwrap()).collect();
    v.sort();
    v
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Whether `key` exists (EXISTS lives in another family).
fn exists(db: &Db, key: &str) -> bool {
    let k = key.as_bytes();
    db.tx(&[k], |tx| tx.exists(k))
}

/// The members of the set at `key`, sorted.
fn members(db: &Db, key: &str) -> Vec<String> {
    sorted(run(db, &["SMEMBERS", key]))
}

#[test]
fn member_commands_follow_redis() {
    let (db, _) = manual_db();
    let table: &[(&[&str], Reply)] = &[
        (&["SADD", "s", "a", "b", "a"], int(2)),
        (&["sadd", "s", "b", "c"], int(1)),
        (&["SADD", "s"], err("ERR wrong number of arguments for 'sadd' command")),
        (&["SCARD", "s"], int(3)),
        (&["SCARD", "nokey"], int(0)),
        (&["SISMEMBER", "s", "a"], int(1)),
        (&["SISMEMBER", "s", "z"], int(0)),
        (&["SISMEMBER", "nokey", "a"], int(0)),
        (&["SMISMEMBER", "s", "a", "z", "c"], Reply::Array(vec![int(1), int(0), int(1)])),
        (&["SMISMEMBER", "nokey", "a"], Reply::Array(vec![int(0)])),
        (&["SMISMEMBER", "s"], err("ERR wrong number of arguments for 'smismember' command")),
        (&["SREM", "s", "a", "a", "z"], int(1)),
        (&["SREM", "nokey", "a"], int(0)),
        (&["SMEMBERS", "nokey"], Reply::Set(vec![])),
    ];
    for (args, want) in table {
        assert_eq!(&run(&db, args), want, "{args:?}");
    }
    assert_eq!(members(&db, "s"), strings(&["b", "c"]));
    assert!(matches!(run(&db, &["SMEMBERS", "s"]), Reply::Set(_)));
    assert_eq!(db.srem(b"s", &[b"b", b"c"]), Ok(2));
    assert_eq!(db.used_memory(), 0, "the emptied set is deleted");
}

#[test]
fn every_set_command_refuses_another_type() {
    let (db, _) = manual_db();
    db.execute(&["SET", "str", "x"]);
    db.execute(&["SADD", "s", "a"]);
    for args in [
        &["SADD", "str", "a"][..],
        &["SREM", "str", "a"],
        &["SMEMBERS", "str"],
        &["SISMEMBER", "str", "a"],
        &["SMISMEMBER", "str", "a"],
        &["SCARD", "str"],
        &["SPOP", "str"],
        &["SPOP", "str", "0"],
        &["SRANDMEMBER", "str"],
        &["SRANDMEMBER", "str", "-2"],
        &["SMOVE", "str", "s", "a"],
        &["SMOVE", "s", "str", "a"],
        &["SSCAN", "str", "0"],
        &["SINTER", "s", "str"],
        &["SINTER", "nokey", "str"],
        &["SINTERCARD", "2", "nokey", "str"],
        &["SUNION", "s", "str"],
        &["SDIFF", "nokey", "str"],
        &["SINTERSTORE", "d", "str"],
        &["SUNIONSTORE", "d", "s", "str"],
        &["SDIFFSTORE", "d", "s", "str"],
    ] {
        assert_eq!(run(&db, args), err(WRONGTYPE), "{args:?}");
    }
    assert_eq!(run(&db, &["GET", "str"]), bulk("x"), "untouched");
    assert_eq!(members(&db, "s"), strings(&["a"]), "nothing moved");
    assert!(!exists(&db, "d"));
    assert_eq!(run(&db, &["SMOVE", "nokey", "str", "a"]), int(0), "an absent source answers 0 first");
}

#[test]
fn spop_and_srandmember_follow_redis_counts() {
    let (db, _) = manual_db();
    let range = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
    let table: &[(&[&str], Reply)] = &[
        (&["SPOP", "nokey"], Reply::Null),
        (&["SPOP", "nokey", "2"], Reply::Set(vec![])),
        (&["SRANDMEMBER", "nokey"], Reply::Null),
        (&["SRANDMEMBER", "nokey", "-2"], Reply::Array(vec![])),
        (&["SADD", "s", "a", "b", "c", "d", "e"], int(5)),
        (&["SPOP", "s", "-1"], err("ERR value is out of range, must be positive")),
        (&["SPOP", "s", "x"], err("ERR value is out of range, must be positive")),
        (&["SPOP", "s", "1", "2"], err("ERR syntax error")),
        (&["SPOP", "s", "0"], Reply::Set(vec![])),
        (&["SRANDMEMBER", "s", "x"], err("ERR value is not an integer or out of range")),
        (&["SRANDMEMBER", "s", "-9223372036854775808"], err(range)),
        (&["SRANDMEMBER", "s", "1", "2"], err("ERR syntax error")),
        (&["SRANDMEMBER", "s", "0"], Reply::Array(vec![])),
        (&["SCARD", "s"], int(5)),
    ];
    for (args, want) in table {
        assert_eq!(&run(&db, args), want, "{args:?}");
    }
    let all = strings(&["a", "b", "c", "d", "e"]);
    assert_eq!(sorted(run(&db, &["SRANDMEMBER", "s", "10"])), all);
    for n in 1..5 {
        let got = sorted(run(&db, &["SRANDMEMBER", "s", &n.to_string()]));
        let mut dedup = got.clone();
        dedup.dedup();
        assert_eq!((got.len(), dedup.len()), (n, n));
    }
    let many = sorted(run(&db, &["SRANDMEMBER", "s", "-100"]));
    assert_eq!(many.len(), 100);
    let mut dedup = many;
    dedup.dedup();
    assert_eq!(dedup, all);
    let one = run(&db, &["SRANDMEMBER", "s"]);
    assert!(all.iter().any(|m| bulk(m) == one));

    let popped = sorted(run(&db, &["SPOP", "s", "2"]));
    assert_eq!(popped.len(), 2);
    let left = members(&db, "s");
    assert_eq!(left.len(), 3);
    assert!(popped.iter().all(|m| !left.contains(m)));
    let Reply::Bulk(one) = run(&db, &["SPOP", "s"]) else { panic!("SPOP answers a member") };
    assert!(left.contains(&String::from_utf8(one).unwrap()));
    assert_eq!(sorted(run(&db, &["SPOP", "s", "9"])).len(), 2);
    assert!(!exists(&db, "s"));
    assert_eq!(db.used_memory(), 0);
}

#[test]
fn smove_is_atomic_and_follows_redis() {
    let (db, _) = manual_db();
    db.execute(&["SADD", "src", "a", "b"]);
    db.execute(&["SADD", "dst", "b"]);
    let table: &[(&[&str], Reply)] = &[
        (&["SMOVE", "src", "dst", "z"], int(0)),
        (&["SMOVE", "nokey", "dst", "a"], int(0)),
        (&["SMOVE", "src", "src", "a"], int(1)),
        (&["SMOVE", "src", "src", "z"], int(0)),
        (&["SMOVE", "src", "dst", "a"], int(1)),
        (&["SMOVE", "src", "dst", "b"], int(1)),
        (&["SMOVE", "dst", "new", "a"], int(1)),
    ];
    for (args, want) in table {
        assert_eq!(&run(&db, args), want, "{args:?}");
    }
    assert_eq!(run(&db, &["SCARD", "src"]), int(0), "emptied source deleted");
    assert_eq!(members(&db, "dst"), strings(&["b"]));
    assert_eq!(members(&db, "new"), strings(&["a"]));
}

#[test]
fn set_algebra_follows_redis() {
    let (db, _) = manual_db();
    db.execute(&["SADD", "a", "1", "2", "3", "4"]);
    db.execute(&["SADD", "b", "2", "3", "5"]);
    db.execute(&["SADD", "c", "3", "4", "5", "6"]);
    assert_eq!(sorted(run(&db, &["SINTER", "a", "b", "c"])), strings(&["3"]));
    assert_eq!(sorted(run(&db, &["SINTER", "a", "a"])), strings(&["1", "2", "3", "4"]));
    assert_eq!(run(&db, &["SINTER", "a", "nokey"]), Reply::Set(vec![]));
    assert!(matches!(run(&db, &["SINTER", "a", "b"]), Reply::Set(_)));
    assert_eq!(sorted(run(&db, &["SUNION", "a", "nokey", "b"])), strings(&["1", "2", "3", "4", "5"]));
    assert_eq!(sorted(run(&db, &["SDIFF", "a", "b"])), strings(&["1", "4"]));
    assert_eq!(sorted(run(&db, &["SDIFF", "a", "nokey", "c"])), strings(&["1", "2"]));
    assert_eq!(run(&db, &["SDIFF", "nokey", "a"]), Reply::Set(vec![]));
    assert_eq!(run(&db, &["SDIFF", "a", "b", "a"]), Reply::Set(vec![]));
    assert_eq!(sorted(run(&db, &["SDIFF", "a"])), strings(&["1", "2", "3", "4"]));

    let table: &[(&[&str], Reply)] = &[
        (&["SINTERCARD", "2", "a", "b"], int(2)),
        (&["SINTERCARD", "2", "a", "b", "LIMIT", "1"], int(1)),
        (&["SINTERCARD", "2", "a", "b", "limit", "0"], int(2)),
        (&["SINTERCARD", "2", "a", "b", "LIMIT", "5", "LIMIT", "1"], int(1)),
        (&["SINTERCARD", "3", "a", "b", "nokey"], int(0)),
        (&["SINTERCARD", "1", "a"], int(4)),
        (&["SINTERCARD", "0", "a"], err("ERR numkeys should be greater than 0")),
        (&["SINTERCARD", "-1", "a"], err("ERR numkeys should be greater than 0")),
        (&["SINTERCARD", "x", "a"], err("ERR numkeys should be greater than 0")),
        (&["SINTERCARD", "3", "a", "b"], err("ERR Number of keys can't be greater than number of args")),
        (&["SINTERCARD", "9223372036854775807", "a"], err("ERR Number of keys can't be greater than number of args")),
        (&["SINTERCARD", "2", "a", "b", "LIMIT", "-1"], err("ERR LIMIT can't be negative")),
        (&["SINTERCARD", "2", "a", "b", "LIMIT", "x"], err("ERR LIMIT can't be negative")),
        (&["SINTERCARD", "2", "a", "b", "LIMIT"], err("ERR syntax error")),
        (&["SINTERCARD", "1", "a", "b"], err("ERR syntax error")),
        (&["SINTERCARD", "1"], err("ERR wrong number of arguments for 'sintercard' command")),
        (&["SINTERSTORE", "d"], err("ERR wrong number of arguments for 'sinterstore' command")),
        (&["SINTERSTORE", "d", "a", "b"], int(2)),
        (&["SUNIONSTORE", "u", "a", "b"], int(5)),
        (&["SDIFFSTORE", "x", "a", "b"], int(2)),
        // The destination may be a source.
        (&["SINTERSTORE", "a", "a", "c"], int(2)),
    ];
    for (args, want) in table {
        assert_eq!(&run(&db, args), want, "{args:?}");
    }
    assert_eq!(members(&db, "d"), strings(&["2", "3"]));
    assert_eq!(members(&db, "u"), strings(&["1", "2", "3", "4", "5"]));
    assert_eq!(members(&db, "x"), strings(&["1", "4"]));
    assert_eq!(members(&db, "a"), strings(&["3", "4"]));
}

#[test]
fn stores_replace_any_type_clear_the_ttl_and_delete_on_empty() {
    let (db, _) = manual_db();
    db.execute(&["SADD", "a", "1", "2"]);
    db.execute(&["SET", "dst", "string", "EX", "100"]);
    let d: &[u8] = b"dst";
    let ttl = |db: &Db| db.tx(&[d], |tx| tx.read(d, |_, dl| dl));
    assert!(matches!(ttl(&db), Some(Some(_))));
    assert_eq!(run(&db, &["SUNIONSTORE", "dst", "a"]), int(2));
    assert_eq!(ttl(&db), Some(None), "STORE clears the TTL");
    assert_eq!(members(&db, "dst"), strings(&["1", "2"]));
    for op in ["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"] {
        db.execute(&["SET", "dst", "string"]);
        assert_eq!(run(&db, &[op, "dst", "nokey"]), int(0), "{op}");
        assert_eq!(ttl(&db), None, "{op}: an empty result deletes the destination");
    }
    assert_eq!(run(&db, &["SDIFFSTORE", "dst", "a", "a"]), int(0));
    assert_eq!(ttl(&db), None);
}

#[test]
fn set_writes_keep_the_ttl() {
    let (db, _) = manual_db();
    let k: &[u8] = b"s";
    db.execute(&["SADD", "s", "a", "b", "c", "d"]);
    db.execute(&["SADD", "other", "x"]);
    let deadline = db.tx(&[k], |tx| {
        let d = tx.now() + 10_000;
        tx.write(k, |_, dl| *dl = Some(d));
        d
    });
    let ttl = |db: &Db| db.tx(&[k], |tx| tx.read(k, |_, d| d));
    for args in [
        &["SADD", "s", "e"][..],
        &["SREM", "s", "e"],
        &["SPOP", "s"],
        &["SPOP", "s", "1"],
        &["SMOVE", "other", "s", "x"],
        &["SMOVE", "s", "other", "x"],
    ] {
        assert!(!run(&db, args).is_error(), "{args:?}");
        assert_eq!(ttl(&db), Some(Some(deadline)), "{args:?}");
    }
}

#[test]
fn set_commands_publish_redis_events() {
    let (db, _) = manual_db();
    let events = db.subscribe_keyspace(&[EventClass::Set, EventClass::Generic], 64);
    let drain = || std::iter::from_fn(|| events.try_recv()).map(|e| (e.name, e.key)).collect::<Vec<_>>();
    let ev = |name: &'static str, key: &str| (name, key.as_bytes().to_vec());
    db.execute(&["SADD", "s", "a", "b", "c"]);
    db.execute(&["SADD", "s", "a"]);
    db.execute(&["SREM", "s", "z"]);
    db.execute(&["SREM", "s", "a"]);
    assert_eq!(drain(), [ev("sadd", "s"), ev("srem", "s")]);
    db.execute(&["SMOVE", "s", "t", "b"]);
    db.execute(&["SADD", "u", "c"]);
    db.execute(&["SMOVE", "s", "u", "c"]);
    assert_eq!(drain(), [ev("srem", "s"), ev("sadd", "t"), ev("sadd", "u"), ev("srem", "s"), ev("del", "s")]);
    db.execute(&["SPOP", "u", "0"]);
    db.execute(&["SPOP", "u"]);
    db.execute(&["SADD", "v", "1", "2"]);
    db.execute(&["SPOP", "v", "5"]);
    assert_eq!(drain(), [ev("spop", "u"), ev("del", "u"), ev("sadd", "v"), ev("spop", "v"), ev("del", "v")]);
    db.execute(&["SADD", "a", "1"]);
    db.execute(&["SINTERSTORE", "d", "a"]);
    db.execute(&["SUNIONSTORE", "d", "a"]);
    db.execute(&["SDIFFSTORE", "d", "a"]);
    db.execute(&["SDIFFSTORE", "d", "a", "a"]);
    db.execute(&["SDIFFSTORE", "d", "a", "a"]);
    assert_eq!(
        drain(),
        [ev("sadd", "a"), ev("sinterstore", "d"), ev("sunionstore", "d"), ev("sdiffstore", "d"), ev("del", "d")]
    );
}

#[test]
fn sscan_follows_redis() {
    let (db, _) = manual_db();
    for i in 0..300 {
        db.execute(&["SADD", "s", &format!("m{i}")]);
    }
    let mut seen = Vec::new();
    let mut cursor = 0;
    loop {
        let (next, page) = db.sscan(b"s", cursor, &Default::default()).unwrap();
        seen.extend(page);
        // Churn between calls: members present throughout are still seen.
        db.execute(&["SADD", "s", &format!("new{next}")]);
        db.execute(&["SREM", "s", &format!("new{cursor}")]);
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    for i in 0..300 {
        assert!(seen.contains(&format!("m{i}").into_bytes()), "m{i}");
    }
    let empty = Reply::Array(vec![bulk("0"), Reply::Array(vec![])]);
    db.execute(&["SET", "str", "x"]);
    let table: &[(&[&str], Reply)] = &[
        (&["SSCAN", "s", "x"], err("ERR invalid cursor")),
        (&["SSCAN", "s", "0", "COUNT", "0"], err("ERR syntax error")),
        (&["SSCAN", "s", "0", "NOVALUES"], err("ERR NOVALUES option can only be used in HSCAN")),
        (&["SSCAN", "nokey", "0", "NOVALUES"], empty.clone()),
        (&["SSCAN", "nokey", "0"], empty),
        (&["SSCAN", "str", "0", "BOGUS"], err(WRONGTYPE)),
    ];
    for (args, want) in table {
        assert_eq!(&run(&db, args), want, "{args:?}");
    }
    let Reply::Array(page) = run(&db, &["SSCAN", "s", "0", "match", "m29?", "count", "1000"]) else { panic!() };
    assert_eq!(page[0], bulk("0"));
    assert_eq!(sorted(page[1].clone()), (290..300).map(|i| format!("m{i}")).collect::<Vec<_>>());
}

#[test]
fn footprint_follows_the_members() {
    let (db, _) = manual_db();
    let big = "x".repeat(500);
    for i in 0..40 {
        db.execute(&["SADD", "s", &format!("{i}{big}")]);
    }
    let full = db.used_memory();
    assert!(full >= 20_000, "{full}");
    assert_eq!(sorted(run(&db, &["SPOP", "s", "39"])).len(), 39);
    assert!(db.used_memory() < full - 18_000, "{} vs {full}", db.used_memory());
}

#[test]
fn set_writes_respect_maxmemory() {
    let db = Db::builder().maxmemory(5_000).shards(2).build().unwrap();
    let big = vec![b'x'; 2000];
    let mut refused = false;
    for i in 0..10u8 {
        let mut m = big.clone();
        m.push(i);
        if let Err(e) = db.sadd(b"s", &[&m]) {
            assert_eq!(e, DbError::OutOfMemory);
            refused = true;
            break;
        }
    }
    assert!(refused);
    assert_eq!(run(&db, &["SUNIONSTORE", "d", "s"]), Reply::from(DbError::OutOfMemory));
    assert!(!run(&db, &["SPOP", "s"]).is_error(), "pops still run");
}

#[test]
fn the_container_keeps_its_accounting() {
    use super::Set;
    let mut s: Set = [&b"a"[..], b"bb", b"a"].into_iter().collect();
    assert_eq!(s.len(), 2);
    assert!(s.footprint() >= 3);
    assert!(s.remove(b"a"));
    assert!(!s.remove(b"a"));
    assert!(s.insert_owned(b"ccc"[..].into()));
    assert!(!s.insert_owned(b"ccc"[..].into()));
    s.retain(|m| m.len() == 3);
    assert_eq!(s.iter().collect::<Vec<_>>(), [&b"ccc"[..]]);
    s.table().validate();
    assert_eq!(s.pop_random().as_deref(), Some(&b"ccc"[..]));
    assert_eq!(s.pop_random(), None);
    assert_eq!(s, Set::new());
}
