//! Unit tests of the hash commands: table tests of `execute` (arguments,
//! options, Redis's error replies), random picks, scans, TTLs, events and
//! footprints.

use crate::db::notify::EventClass;
use crate::db::tests::manual_db;
use crate::db::tests::{WRONGTYPE, bulk, err, int, run};
use crate::db::{Db, DbError, Reply};

/// The bulk strings of an array reply, sorted.
fn sorted(r: Reply) -> Vec<Vec<u8>> {
    let Reply::Array(items) = r else { panic!("not an array: {r:?}") };
    let mut v: Vec<Vec<u8>> = items.into_iter().map(|i| i.as_bytes().expect("bulk").to_vec()).collect();
    v.sort();
    v
}

fn bytes(items: &[&str]) -> Vec<Vec<u8>> {
    items.iter().map(|s| s.as_bytes().to_vec()).collect()
}

#[test]
fn field_commands_follow_redis() {
    let (db, _) = manual_db();
    let table: &[(&[&str], Reply)] = &[
        (&["HSET", "h", "f1", "v1", "f2", "v2"], int(2)),
        (&["hset", "h", "f1", "x", "f3", "v3"], int(1)),
        (&["HSET", "h", "f1"], err("ERR wrong number of arguments for 'hset' command")),
        (&["HSET", "h", "f1", "v", "f2"], err("ERR wrong number of arguments for 'hset' command")),
        (&["HSET", "h"], err("ERR wrong number of arguments for 'hset' command")),
        (&["HMSET", "h", "f4", "v4", "f5"], err("ERR wrong number of arguments for 'hmset' command")),
        (&["HMSET", "h", "f4", "v4"], Reply::OK),
        (&["HSETNX", "h", "f4", "other"], int(0)),
        (&["HSETNX", "h", "f5", "v5"], int(1)),
        (&["HGET", "h", "f1"], bulk("x")),
        (&["HGET", "h", "nope"], Reply::Null),
        (&["HGET", "nokey", "f1"], Reply::Null),
        (&["HMGET", "h", "f1", "nope", "f2"], Reply::Array(vec![bulk("x"), Reply::Null, bulk("v2")])),
        (&["HMGET", "nokey", "a", "b"], Reply::Array(vec![Reply::Null, Reply::Null])),
        (&["HLEN", "h"], int(5)),
        (&["HLEN", "nokey"], int(0)),
        (&["HSTRLEN", "h", "f2"], int(2)),
        (&["HSTRLEN", "h", "nope"], int(0)),
        (&["HEXISTS", "h", "f3"], int(1)),
        (&["HEXISTS", "h", "nope"], int(0)),
        (&["HDEL", "h", "f3", "f3", "nope"], int(1)),
        (&["HDEL", "nokey", "f"], int(0)),
        (&["HKEYS", "nokey"], Reply::Array(vec![])),
        (&["HVALS", "nokey"], Reply::Array(vec![])),
        (&["HGETALL", "nokey"], Reply::Map(vec![])),
        (&["HGET", "h"], err("ERR wrong number of arguments for 'hget' command")),
        (&["HDEL", "h"], err("ERR wrong number of arguments for 'hdel' command")),
    ];
    for (args, want) in table {
        assert_eq!(&run(&db, args), want, "{args:?}");
    }
    assert_eq!(sorted(run(&db, &["HKEYS", "h"])), bytes(&["f1", "f2", "f4", "f5"]));
    assert_eq!(sorted(run(&db, &["HVALS", "h"])), bytes(&["v2", "v4", "v5", "x"]));
    let Reply::Map(mut pairs) = run(&db, &["HGETALL", "h"]) else { panic!("HGETALL answers a map") };
    pairs.sort_by(|a, b| a.0.as_bytes().cmp(&b.0.as_bytes()));
    assert_eq!(pairs[0], (bulk("f1"), bulk("x")));
    assert_eq!(pairs.len(), 4);
    assert_eq!(db.hgetall(b"h").unwrap().len(), 4);
    assert_eq!(db.hdel(b"h", &[b"f1", b"f2", b"f4", b"f5"]).unwrap(), 4);
    assert_eq!(db.hlen(b"h"), Ok(0));
    assert_eq!(db.used_memory(), 0, "the emptied hash is deleted");
}

#[test]
fn every_hash_command_refuses_another_type() {
    let (db, _) = manual_db();
    db.execute(&["SET", "s", "x"]);
    for args in [
        &["HSET", "s", "f", "v"][..],
        &["HMSET", "s", "f", "v"],
        &["HSETNX", "s", "f", "v"],
        &["HGET", "s", "f"],
        &["HMGET", "s", "f"],
        &["HDEL", "s", "f"],
        &["HEXISTS", "s", "f"],
        &["HLEN", "s"],
        &["HSTRLEN", "s", "f"],
        &["HKEYS", "s"],
        &["HVALS", "s"],
        &["HGETALL", "s"],
        &["HINCRBY", "s", "f", "1"],
        &["HINCRBYFLOAT", "s", "f", "1"],
        &["HRANDFIELD", "s"],
        &["HRANDFIELD", "s", "2", "WITHVALUES"],
        &["HSCAN", "s", "0"],
        &["HSCAN", "s", "0", "COUNT", "0"],
    ] {
        assert_eq!(run(&db, args), err(WRONGTYPE), "{args:?}");
    }
    assert_eq!(run(&db, &["GET", "s"]), bulk("x"), "untouched");
}

#[test]
fn counters_follow_redis() {
    let (db, _) = manual_db();
    let table: &[(&[&str], Reply)] = &[
        (&["HINCRBY", "h", "n", "5"], int(5)),
        (&["HINCRBY", "h", "n", "-7"], int(-2)),
        (&["HINCRBY", "h", "n", "x"], err("ERR value is not an integer or out of range")),
        (&["HINCRBY", "h", "n", "1.5"], err("ERR value is not an integer or out of range")),
        (&["HSET", "h", "s", "abc", "big", "9223372036854775807", "f", "1.5"], int(3)),
        (&["HINCRBY", "h", "s", "1"], err("ERR hash value is not an integer")),
        (&["HINCRBY", "h", "big", "1"], err("ERR increment or decrement would overflow")),
        (&["HINCRBY", "h", "big", "-1"], int(i64::MAX - 1)),
        (&["HINCRBYFLOAT", "h", "f", "0.1"], bulk("1.6")),
        (&["HINCRBYFLOAT", "h", "x", "10.5"], bulk("10.5")),
        (&["HINCRBYFLOAT", "h", "x", "0.1"], bulk("10.6")),
        (&["HINCRBYFLOAT", "h", "x", "-0.6"], bulk("10")),
        (&["HGET", "h", "x"], bulk("10")),
        (&["HINCRBYFLOAT", "h", "e", "5.0e3"], bulk("5000")),
        (&["HINCRBYFLOAT", "h", "n", "1"], bulk("-1")),
        (&["HINCRBYFLOAT", "h", "s", "1"], err("ERR hash value is not a float")),
        (&["HINCRBYFLOAT", "h", "f", "abc"], err("ERR value is not a valid float")),
        (&["HINCRBYFLOAT", "h", "f", "nan"], err("ERR value is not a valid float")),
        (&["HINCRBYFLOAT", "h", "f", "inf"], err("ERR value is NaN or Infinity")),
        (&["HINCRBYFLOAT", "h", "f", "-inf"], err("ERR value is NaN or Infinity")),
        (&["HSET", "h", "huge", "1e308"], int(1)),
        (&["HSET", "h", "inf", "inf"], int(1)),
        (&["HINCRBYFLOAT", "h", "inf", "1"], err("ERR increment would produce NaN or Infinity")),
        (&["HGET", "h", "huge"], bulk("1e308")),
        (&["HINCRBY", "fresh", "n", "x"], err("ERR value is not an integer or out of range")),
        (&["HINCRBY", "fresh", "n", "1"], int(1)),
    ];
    for (args, want) in table {
        assert_eq!(&run(&db, args), want, "{args:?}");
    }
    assert_eq!(db.hincrbyfloat(b"h", b"f", f64::NAN), Err(DbError::Invalid("value is NaN or Infinity")));
    assert_eq!(db.hincrbyfloat(b"h", b"f", f64::INFINITY), Err(DbError::Invalid("value is NaN or Infinity")));
    // A failed increment on a new key leaves no empty hash behind.
    assert_eq!(run(&db, &["HINCRBY", "gone", "n", "x"]), err("ERR value is not an integer or out of range"));
    assert_eq!(run(&db, &["HINCRBYFLOAT", "gone", "n", "inf"]), err("ERR value is NaN or Infinity"));
    assert_eq!(run(&db, &["HLEN", "gone"]), int(0));
}

#[test]
fn hincrbyfloat_computes_in_long_double_as_redis() {
    // Found by the differential test: Redis computes HINCRBYFLOAT in
    // 80-bit long double (as INCRBYFLOAT) and prints the sum with
    // `%.17Lf`; an f64 sum overflowed, or printed other digits.
    let (db, _) = manual_db();
    let table: &[(&[&str], Reply)] = &[
        (&["HINCRBYFLOAT", "h", "f", "0.1"], bulk("0.1")),
        (&["HINCRBYFLOAT", "h", "f", "0.2"], bulk("0.3")),
        // Past f64's range, within long double's.
        (&["HINCRBYFLOAT", "h", "tiny", "1e-400"], bulk("0")),
        (&["HGET", "h", "tiny"], bulk("0")),
        (&["HSET", "h", "big", "1.7976931348623157e308"], int(1)),
        (
            &["HINCRBYFLOAT", "h", "big", "1.7976931348623157e308"],
            bulk(concat!(
                "3595386269724631399918420935482088680967728938886583569706288415303532570462487927094037372167741711288575",
                "8683885104137861741672690227211071579455605295523414699795537257678967123632658809118886985907489458125496",
                "1338834769297758245552436667197907705664206565009503223382416235440319971852753604933726679072768",
            )),
        ),
        (&["HSET", "h", "hex", "0x10"], int(1)),
        (&["HINCRBYFLOAT", "h", "hex", "0x1p-1"], bulk("16.5")),
        (&["HINCRBYFLOAT", "h", "f", "1e-5000"], err("ERR value is not a valid float")),
        (&["HSET", "h", "sp", " 1"], int(1)),
        (&["HINCRBYFLOAT", "h", "sp", "1"], err("ERR hash value is not a float")),
        (&["SET", "s", "x"], Reply::OK),
        (&["HINCRBYFLOAT", "s", "f", "x"], err("ERR value is not a valid float")),
        (&["HINCRBYFLOAT", "s", "f", "1"], err("WRONGTYPE Operation against a key holding the wrong kind of value")),
    ];
    for (args, want) in table {
        assert_eq!(&run(&db, args), want, "{args:?}");
    }
    assert_eq!(db.hincrbyfloat(b"h", b"f", 0.2), Ok(0.5));
}

#[test]
fn hrandfield_follows_redis_counts() {
    let (db, _) = manual_db();
    let range = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
    let table: &[(&[&str], Reply)] = &[
        (&["HRANDFIELD", "nokey"], Reply::Null),
        (&["HRANDFIELD", "nokey", "3"], Reply::Array(vec![])),
        (&["HRANDFIELD", "nokey", "-3", "WITHVALUES"], Reply::Pairs(vec![])),
        (&["HSET", "h", "a", "1", "b", "2", "c", "3"], int(3)),
        (&["HRANDFIELD", "h", "0"], Reply::Array(vec![])),
        (&["HRANDFIELD", "h", "x"], err("ERR value is not an integer or out of range")),
        (&["HRANDFIELD", "h", "-9223372036854775808"], err(range)),
        (&["HRANDFIELD", "h", "1", "WITHVALUE"], err("ERR syntax error")),
        (&["HRANDFIELD", "h", "1", "WITHVALUES", "x"], err("ERR syntax error")),
        (&["HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"], err("ERR value is out of range")),
        (&["HRANDFIELD", "h", "-4611686018427387904", "withvalues"], err("ERR value is out of range")),
        // Count errors come before the key's type.
        (&["SET", "s", "x"], Reply::OK),
        (&["HRANDFIELD", "s", "x"], err("ERR value is not an integer or out of range")),
        (&["HRANDFIELD", "s", "1", "bad"], err("ERR syntax error")),
    ];
    for (args, want) in table {
        assert_eq!(&run(&db, args), want, "{args:?}");
    }
    let one = run(&db, &["HRANDFIELD", "h"]);
    assert!([bulk("a"), bulk("b"), bulk("c")].contains(&one), "{one:?}");
    // Positive: distinct, at most the size.
    for n in 1..=5 {
        let got = sorted(run(&db, &["HRANDFIELD", "h", &n.to_string()]));
        assert_eq!(got.len(), n.min(3));
        let mut dedup = got.clone();
        dedup.dedup();
        assert_eq!(dedup, got);
    }
    assert_eq!(sorted(run(&db, &["HRANDFIELD", "h", "100"])), bytes(&["a", "b", "c"]));
    // Negative: exactly |count|, repeats allowed, all seen eventually.
    let got = sorted(run(&db, &["HRANDFIELD", "h", "-200"]));
    assert_eq!(got.len(), 200);
    let mut dedup = got;
    dedup.dedup();
    assert_eq!(dedup, bytes(&["a", "b", "c"]));
    // WITHVALUES: field/value pairs that belong together.
    let Reply::Pairs(pairs) = run(&db, &["HRANDFIELD", "h", "-10", "WITHVALUES"]) else { panic!() };
    assert_eq!(pairs.len(), 10);
    for (f, v) in pairs {
        let want = match f.as_bytes() {
            Some(b"a") => "1",
            Some(b"b") => "2",
            _ => "3",
        };
        assert_eq!(v, bulk(want));
    }
    // RESP2 flattens them, RESP3 nests them.
    let one = run(&db, &["HRANDFIELD", "h", "1", "WITHVALUES"]);
    let Reply::Array(flat) = one.clone().into_resp2_shape() else { panic!() };
    assert_eq!(flat.len(), 2);
    let Reply::Array(nested) = one.into_resp3_shape() else { panic!() };
    assert_eq!(nested, vec![Reply::Array(flat)]);
    assert_eq!(db.hrandfield(b"h", 2, false).unwrap().iter().filter(|fv| fv.value.is_none()).count(), 2);
}

/// A negative count asks for that many picks in one reply. Past 512 MB the
/// three random-pick commands refuse it (Redis would stream it until memory
/// runs out); the key is untouched. The count comes from the fuzzer.
#[test]
fn a_huge_negative_count_is_refused_and_loses_nothing() {
    let (db, _) = manual_db();
    for setup in [&["HSET", "h", "f", "v", "g", "w"][..], &["SADD", "s", "a", "b"], &["ZADD", "z", "1", "a"]] {
        run(&db, setup);
    }
    let too_large = err("ERR count is too large: the reply would exceed 512 MB (proto-max-bulk-len)");
    for args in [
        &["HRANDFIELD", "h", "-35555555555555"][..],
        &["HRANDFIELD", "h", "-9223372036854775807"],
        &["HRANDFIELD", "h", "-35555555555555", "WITHVALUES"],
        &["SRANDMEMBER", "s", "-35555555555555"],
        &["ZRANDMEMBER", "z", "-35555555555555"],
        &["ZRANDMEMBER", "z", "-35555555555555", "WITHSCORES"],
    ] {
        assert_eq!(run(&db, args), too_large, "{args:?}");
    }
    assert_eq!(db.hrandfield(b"h", -(1 << 40), false), Err(DbError::ReplyTooLarge));
    // An absent key still answers an empty array, whatever the count.
    assert_eq!(run(&db, &["HRANDFIELD", "nokey", "-35555555555555"]), Reply::Array(vec![]));
    assert_eq!(run(&db, &["SRANDMEMBER", "nokey", "-35555555555555"]), Reply::Array(vec![]));
    assert_eq!(run(&db, &["ZRANDMEMBER", "nokey", "-35555555555555"]), Reply::Array(vec![]));
    // Nothing was lost, and counts under the limit still work.
    assert_eq!(sorted(run(&db, &["HKEYS", "h"])), bytes(&["f", "g"]));
    assert_eq!(run(&db, &["SCARD", "s"]), int(2));
    assert_eq!(run(&db, &["ZCARD", "z"]), int(1));
    assert_eq!(sorted(run(&db, &["SRANDMEMBER", "s", "-1000"])).len(), 1000);
}

#[test]
fn hrandfield_covers_a_big_hash_uniformly_enough() {
    let (db, _) = manual_db();
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = (0..100).map(|i| (format!("f{i}").into_bytes(), b"v".to_vec())).collect();
    let refs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(f, v)| (&f[..], &v[..])).collect();
    assert_eq!(db.hset(b"h", &refs), Ok(100));
    let mut seen = std::collections::HashMap::new();
    for fv in db.hrandfield(b"h", -10_000, false).unwrap() {
        *seen.entry(fv.field).or_insert(0) += 1;
    }
    assert_eq!(seen.len(), 100);
    assert!(seen.values().all(|&c| c > 40 && c < 200), "{seen:?}");
    let distinct = db.hrandfield(b"h", 30, true).unwrap();
    let set: std::collections::HashSet<_> = distinct.iter().map(|fv| fv.field.clone()).collect();
    assert_eq!(set.len(), 30);
    assert!(distinct.iter().all(|fv| fv.value.as_deref() == Some(&b"v"[..])));
}

/// Runs a full HSCAN with `opts`, returning every item and the number of calls.
fn full_scan(db: &Db, key: &str, opts: &[&str]) -> (Vec<Reply>, usize) {
    let mut cursor = "0".to_string();
    let mut items = Vec::new();
    let mut calls = 0;
    loop {
        let mut args = vec!["HSCAN", key, &cursor];
        args.extend_from_slice(opts);
        let Reply::Array(page) = run(db, &args) else { panic!("scan reply") };
        let [Reply::Bulk(next), Reply::Array(got)] = &page[..] else { panic!("scan page {page:?}") };
        items.extend(got.iter().cloned());
        calls += 1;
        cursor = String::from_utf8(next.clone()).unwrap();
        if cursor == "0" {
            return (items, calls);
        }
    }
}

#[test]
fn hscan_follows_redis() {
    let (db, _) = manual_db();
    for i in 0..500 {
        db.execute(&["HSET", "h", &format!("f{i}"), &format!("v{i}")]);
    }
    let (items, calls) = full_scan(&db, "h", &[]);
    assert_eq!(items.len(), 1000, "field, value pairs, each once");
    assert!(calls > 1);
    for pair in items.chunks(2) {
        let f = String::from_utf8(pair[0].as_bytes().unwrap().to_vec()).unwrap();
        assert_eq!(pair[1], bulk(&f.replace('f', "v")));
    }
    let (items, calls) = full_scan(&db, "h", &["count", "1000", "NOVALUES"]);
    assert_eq!((items.len(), calls), (500, 1));
    let (items, _) = full_scan(&db, "h", &["MATCH", "f1?", "COUNT", "7"]);
    let mut fields: Vec<_> = items.chunks(2).map(|p| p[0].clone()).collect();
    fields.sort_by(|a, b| a.as_bytes().cmp(&b.as_bytes()));
    assert_eq!(fields, (10..20).map(|i| bulk(&format!("f{i}"))).collect::<Vec<_>>());
    let empty = Reply::Array(vec![bulk("0"), Reply::Array(vec![])]);
    db.execute(&["SET", "s", "x"]);
    let table: &[(&[&str], Reply)] = &[
        (&["HSCAN", "h", "x"], err("ERR invalid cursor")),
        // strtoul: -1 wraps to the largest cursor (past the end here).
        (&["HSCAN", "h", "-1"], Reply::Array(vec![bulk("0"), Reply::Array(vec![])])),
        (&["HSCAN", "h", " 1"], err("ERR invalid cursor")),
        (&["HSCAN", "nokey", "x"], err("ERR invalid cursor")),
        (&["HSCAN", "h", "0", "COUNT", "0"], err("ERR syntax error")),
        (&["HSCAN", "h", "0", "COUNT", "x"], err("ERR value is not an integer or out of range")),
        (&["HSCAN", "h", "0", "COUNT"], err("ERR syntax error")),
        (&["HSCAN", "h", "0", "MATCH"], err("ERR syntax error")),
        (&["HSCAN", "h", "0", "BOGUS"], err("ERR syntax error")),
        // An absent key answers an empty page before the options are read.
        (&["HSCAN", "nokey", "0"], empty.clone()),
        (&["HSCAN", "nokey", "0", "COUNT", "0"], empty.clone()),
        (&["HSCAN", "s", "0", "BOGUS"], err(WRONGTYPE)),
        (&["HSCAN", "h", "18446744073709551615"], empty),
        (&["HSCAN", "h", "18446744073709551616"], err("ERR invalid cursor")),
    ];
    for (args, want) in table {
        assert_eq!(&run(&db, args), want, "{args:?}");
    }
}

#[test]
fn hash_writes_keep_the_ttl() {
    let (db, _) = manual_db();
    let k: &[u8] = b"h";
    db.execute(&["HSET", "h", "a", "1", "b", "2"]);
    let deadline = db.tx(&[k], |tx| {
        let d = tx.now() + 10_000;
        tx.write(k, |_, dl| *dl = Some(d));
        d
    });
    let ttl = |db: &Db| db.tx(&[k], |tx| tx.read(k, |_, d| d));
    for args in [
        &["HSET", "h", "c", "3"][..],
        &["HMSET", "h", "c", "4"],
        &["HSETNX", "h", "d", "1"],
        &["HDEL", "h", "d"],
        &["HINCRBY", "h", "a", "1"],
        &["HINCRBYFLOAT", "h", "a", "1.5"],
    ] {
        assert!(!run(&db, args).is_error(), "{args:?}");
        assert_eq!(ttl(&db), Some(Some(deadline)), "{args:?}");
    }
}

#[test]
fn hash_commands_publish_redis_events() {
    let (db, _) = manual_db();
    let events = db.subscribe_keyspace(&[EventClass::Hash, EventClass::Generic], 64);
    let drain = || std::iter::from_fn(|| events.try_recv()).map(|e| e.name).collect::<Vec<_>>();
    db.execute(&["HSET", "h", "a", "1", "b", "x"]);
    db.execute(&["HSET", "h", "a", "1"]);
    db.execute(&["HSETNX", "h", "a", "1"]);
    db.execute(&["HSETNX", "h", "c", "1"]);
    db.execute(&["HINCRBY", "h", "a", "1"]);
    db.execute(&["HINCRBY", "h", "b", "1"]);
    db.execute(&["HINCRBYFLOAT", "h", "a", "1"]);
    db.execute(&["HDEL", "h", "nope"]);
    db.execute(&["HDEL", "h", "a", "b"]);
    db.execute(&["HDEL", "h", "c"]);
    assert_eq!(drain(), ["hset", "hset", "hset", "hincrby", "hincrbyfloat", "hdel", "hdel", "del"]);
}

#[test]
fn footprint_follows_the_fields() {
    let (db, _) = manual_db();
    let big = "x".repeat(1000);
    for i in 0..20 {
        db.execute(&["HSET", "h", &format!("f{i}"), &big]);
    }
    let full = db.used_memory();
    assert!(full >= 20_000, "{full}");
    for i in 0..19 {
        db.execute(&["HDEL", "h", &format!("f{i}")]);
    }
    assert!(db.used_memory() < full - 18_000, "{} vs {full}", db.used_memory());
    db.execute(&["HDEL", "h", "f19"]);
    assert_eq!(db.used_memory(), 0);
}

#[test]
fn hash_writes_respect_maxmemory() {
    let db = Db::builder().maxmemory(5_000).shards(2).build().unwrap();
    let big = vec![b'x'; 2000];
    let mut refused = false;
    for i in 0..10u8 {
        match db.hset(b"h", &[(&[i], &big)]) {
            Ok(_) => {}
            Err(e) => {
                assert_eq!(e, DbError::OutOfMemory);
                refused = true;
                break;
            }
        }
    }
    assert!(refused);
    assert_eq!(run(&db, &["HSET", "h", "y", "z"]), Reply::from(DbError::OutOfMemory));
    assert!(db.hlen(b"h").unwrap() >= 1);
    assert_eq!(run(&db, &["HDEL", "h", "y"]), int(0), "deletes still run");
}

#[test]
fn the_container_keeps_its_accounting() {
    use super::Hash;
    let mut h = Hash::new();
    assert!(h.insert(b"a", b"12"));
    assert!(!h.insert(b"a", b"1234"));
    assert_eq!(h.get(b"a"), Some(&b"1234"[..]));
    assert!(h.insert(b"bb", b""));
    let f = h.footprint();
    assert!(f >= 7, "{f}");
    assert_eq!(h.remove(b"a").as_deref(), Some(&b"1234"[..]));
    assert_eq!(h.remove(b"a"), None);
    assert_eq!(h.len(), 1);
    let g: Hash = [(&b"bb"[..], &b""[..])].into_iter().collect();
    assert_eq!(g, h);
    h.validate();
}

/// `n` fields `f0..` with values `v0..`.
fn filled(n: usize) -> super::Hash {
    let mut h = super::Hash::new();
    for i in 0..n {
        assert!(h.insert(format!("f{i}").as_bytes(), format!("v{i}").as_bytes()));
    }
    h
}

#[test]
fn small_hashes_are_packed_until_129_fields() {
    let mut h = filled(128);
    assert!(h.is_packed());
    h.validate();
    assert!(!h.insert(b"f5", b"again"), "an update stays packed");
    assert!(h.is_packed());
    assert_eq!(h.get(b"f5"), Some(&b"again"[..]));
    let packed = h.clone();
    assert!(h.insert(b"f128", b"v128"));
    assert!(!h.is_packed(), "129 fields convert");
    h.validate();
    assert_eq!(h.len(), 129);
    assert_eq!(h.get(b"f128"), Some(&b"v128"[..]));
    assert_eq!(h.remove(b"f128").as_deref(), Some(&b"v128"[..]));
    assert!(!h.is_packed(), "conversion is one way");
    assert_eq!(h, packed, "equal across forms");
    assert_eq!(packed, h);
    assert_ne!(h, filled(128));
    h.validate();
}

#[test]
fn a_long_field_or_value_converts() {
    let long = [b'x'; 65];
    let edge = [b'y'; 64];
    let mut h = filled(3);
    assert!(h.insert(&edge, &edge));
    assert!(h.is_packed(), "64 bytes fit");
    let mut by_value = h.clone();
    assert!(!by_value.insert(b"f1", &long));
    assert!(!by_value.is_packed());
    assert_eq!(by_value.get(b"f1"), Some(&long[..]));
    assert_eq!(by_value.len(), 4);
    by_value.validate();
    let mut by_new_value = h.clone();
    assert!(by_new_value.insert(b"new", &long));
    assert!(!by_new_value.is_packed());
    let mut by_field = h.clone();
    assert!(by_field.insert(&long, b"v"));
    assert!(!by_field.is_packed());
    assert_eq!(by_field.get(&long), Some(&b"v"[..]));
    assert_eq!(by_field.len(), 5);
    by_field.validate();
    // A long field that is looked up but not stored changes nothing.
    assert_eq!(h.get(&long), None);
    assert_eq!(h.remove(&long), None);
    assert!(h.is_packed());
    assert_eq!(h.get(&edge), Some(&edge[..]));
}

#[test]
fn packed_updates_and_removals_keep_the_buffer_consistent() {
    let mut h = filled(20);
    assert!(!h.insert(b"f3", b""));
    assert!(!h.insert(b"f4", &[b'z'; 64]));
    assert!(!h.insert(b"f4", b"short"));
    assert!(h.insert(b"", b"empty field"));
    h.validate();
    assert_eq!(h.get(b"f3"), Some(&b""[..]));
    assert_eq!(h.get(b"f4"), Some(&b"short"[..]));
    assert_eq!(h.get(b""), Some(&b"empty field"[..]));
    assert_eq!(h.remove(b"f0").as_deref(), Some(&b"v0"[..]));
    assert_eq!(h.remove(b"f19").as_deref(), Some(&b"v19"[..]));
    assert_eq!(h.remove(b"f0"), None);
    h.validate();
    assert_eq!(h.len(), 19);
    let mut fields: Vec<Vec<u8>> = h.iter().map(|(f, _)| f.to_vec()).collect();
    fields.sort();
    assert_eq!(fields.len(), 19);
    for f in fields {
        assert!(h.remove(&f).is_some());
        h.validate();
    }
    assert!(h.is_empty());
    assert_eq!(h.footprint(), 0);
}

#[test]
fn footprint_drops_after_deletes_in_both_forms() {
    for n in [100, 1000] {
        let mut h = filled(n);
        assert_eq!(h.is_packed(), n <= 128);
        let full = h.footprint();
        for i in 0..n - 5 {
            h.remove(format!("f{i}").as_bytes());
        }
        h.validate();
        let small = h.footprint();
        assert!(small * 4 < full, "{n} fields: {full} -> {small}");
    }
    let h = filled(100);
    let payload: usize = h.iter().map(|(f, v)| f.len() + v.len()).sum();
    assert!(h.footprint() < payload * 2, "packed is tight: {} for {payload}", h.footprint());
}

#[test]
fn object_encoding_reports_the_real_form() {
    let (db, _) = manual_db();
    let fv: Vec<(String, String)> = (0..128).map(|i| (format!("f{i}"), "v".to_string())).collect();
    let pairs: Vec<(&[u8], &[u8])> = fv.iter().map(|(f, v)| (f.as_bytes(), v.as_bytes())).collect();
    db.hset(b"h", &pairs).unwrap();
    assert_eq!(db.object_encoding(b"h"), Some("listpack"));
    db.hset(b"h", &[(b"one more", b"v")]).unwrap();
    assert_eq!(db.object_encoding(b"h"), Some("hashtable"));
    db.hdel(b"h", &[b"one more", b"f0", b"f1"]).unwrap();
    assert_eq!(db.object_encoding(b"h"), Some("hashtable"), "stays a table, as Redis");
    db.hset(b"long", &[(b"f", &[b'x'; 65])]).unwrap();
    assert_eq!(db.object_encoding(b"long"), Some("hashtable"));
    db.hset(b"small", &[(b"f", &[b'x'; 64])]).unwrap();
    assert_eq!(db.object_encoding(b"small"), Some("listpack"));
    db.validate();
}

/// Every field HSCAN returns for `key`, following the cursor to the end,
/// and the number of calls.
fn hscan_all(db: &Db, key: &str, extra: &[&str]) -> (Vec<Vec<u8>>, usize) {
    let mut cursor = "0".to_string();
    let mut out = Vec::new();
    let mut calls = 0;
    loop {
        let mut args = vec!["HSCAN", key, &cursor, "NOVALUES"];
        args.extend_from_slice(extra);
        let Reply::Array(page) = run(db, &args) else { panic!("HSCAN") };
        calls += 1;
        let [Reply::Bulk(next), Reply::Array(items)] = &page[..] else { panic!("HSCAN page") };
        out.extend(items.iter().map(|i| i.as_bytes().expect("bulk").to_vec()));
        cursor = String::from_utf8_lossy(next).into_owned();
        if cursor == "0" {
            out.sort();
            return (out, calls);
        }
    }
}

#[test]
fn hscan_and_hrandfield_on_both_forms() {
    let (db, _) = manual_db();
    for (key, n) in [("packed", 100usize), ("table", 300)] {
        let fv: Vec<(String, String)> = (0..n).map(|i| (format!("f{i}"), format!("v{i}"))).collect();
        let pairs: Vec<(&[u8], &[u8])> = fv.iter().map(|(f, v)| (f.as_bytes(), v.as_bytes())).collect();
        db.hset(key.as_bytes(), &pairs).unwrap();
        let mut all: Vec<Vec<u8>> = fv.iter().map(|(f, _)| f.as_bytes().to_vec()).collect();
        all.sort();
        let (got, calls) = hscan_all(&db, key, &["COUNT", "5"]);
        assert_eq!(got, all, "{key}");
        assert_eq!(calls == 1, n <= 128, "{key}: a packed hash scans in one call ({calls})");
        let (got, _) = hscan_all(&db, key, &["MATCH", "f1*"]);
        let want: Vec<_> = all.iter().filter(|f| f.starts_with(b"f1")).cloned().collect();
        assert_eq!(got, want, "{key}");
        // A cursor left over from a table scan ends the scan of a packed hash.
        let Reply::Array(page) = run(&db, &["HSCAN", key, "140737488355327"]) else { panic!() };
        assert_eq!(page[0] == bulk("0"), n <= 128, "{key}");

        let picks = db.hrandfield(key.as_bytes(), 10, true).unwrap();
        assert_eq!(picks.len(), 10);
        let distinct: std::collections::HashSet<_> = picks.iter().map(|p| p.field.clone()).collect();
        assert_eq!(distinct.len(), 10, "{key}");
        for p in &picks {
            let i = &p.field[1..];
            assert_eq!(p.value.as_deref(), Some(&[b"v", i].concat()[..]), "{key}");
        }
        let every = db.hrandfield(key.as_bytes(), n as i64 + 5, false).unwrap();
        let mut every: Vec<_> = every.into_iter().map(|p| p.field).collect();
        every.sort();
        assert_eq!(every, all, "{key}");
        let mut seen = std::collections::HashSet::new();
        for _ in 0..50 {
            for p in db.hrandfield(key.as_bytes(), -100, false).unwrap() {
                assert!(all.contains(&p.field));
                seen.insert(p.field);
            }
        }
        assert!(seen.len() > n * 3 / 4, "{key}: picks spread ({} of {n})", seen.len());
        assert_eq!(db.object_encoding(key.as_bytes()), Some(if n <= 128 { "listpack" } else { "hashtable" }));
    }
    db.validate();
}
