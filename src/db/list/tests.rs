//! Unit tests of the list container and commands: replies and errors as
//! Redis gives them, events, TTLs, the memory footprint.

use super::*;
use crate::db::notify::{Event, EventClass};
use crate::db::tests::WRONGTYPE;
use crate::db::tests::manual_db;
use crate::db::{Db, DbError, Reply, Value};

fn b(s: &str) -> Reply {
    Reply::bulk(s)
}

fn arr(items: &[&str]) -> Reply {
    Reply::bulks(items)
}

fn err(text: &str) -> Reply {
    Reply::Error(text.into())
}

/// Runs each command and compares its reply.
fn table(db: &Db, rows: &[(&[&str], Reply)]) {
    for (args, want) in rows {
        assert_eq!(&db.execute(args), want, "{args:?}");
    }
}

const NOT_INT: &str = "ERR value is not an integer or out of range";
const SYNTAX: &str = "ERR syntax error";
const LONG_MIN: &str = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";

#[test]
fn container_keeps_its_byte_count() {
    let mut l: List = [&b"ab"[..], b"c", b"ab", b"d", b"ab"].into_iter().collect();
    l.validate();
    assert_eq!(l.remove_matches(b"ab", 1, true), 1);
    assert_eq!(l.iter().collect::<Vec<_>>(), [&b"ab"[..], b"c", b"ab", b"d"]);
    assert_eq!(l.remove_matches(b"ab", 0, false), 2);
    assert_eq!(l.iter().collect::<Vec<_>>(), [&b"c"[..], b"d"]);
    l.validate();
    l.push(End::Left, b"x");
    l.set(0, b"yyy");
    assert_eq!(l.range(1..10).collect::<Vec<_>>(), [&b"c"[..], b"d"]);
    assert_eq!(l.range(5..10).count(), 0);
    assert_eq!(l.pop(End::Right).as_deref(), Some(&b"d"[..]));
    l.validate();
    for i in 0..1000 {
        l.push_back(format!("{i}").as_bytes());
    }
    let big = l.footprint();
    while l.len() > 1 {
        l.pop_front();
    }
    l.validate();
    assert!(l.footprint() < big / 4, "popping gives memory back");
}

#[test]
fn push_pop_and_counts() {
    let (db, _) = manual_db();
    db.execute(&["SET", "s", "v"]);
    table(
        &db,
        &[
            (&["LPUSH", "l", "a", "b", "c"], Reply::Integer(3)),
            (&["RPUSH", "l", "d"], Reply::Integer(4)),
            (&["LRANGE", "l", "0", "-1"], arr(&["c", "b", "a", "d"])),
            (&["LPUSHX", "nope", "a"], Reply::Integer(0)),
            (&["RPUSHX", "l", "e", "f"], Reply::Integer(6)),
            (&["LPUSHX", "l", "z"], Reply::Integer(7)),
            (&["LPUSH", "s", "a"], err(WRONGTYPE)),
            (&["LPUSHX", "s", "a"], err(WRONGTYPE)),
            (&["LPOP", "l"], b("z")),
            (&["RPOP", "l"], b("f")),
            (&["LPOP", "l", "2"], arr(&["c", "b"])),
            (&["RPOP", "l", "2"], arr(&["e", "d"])),
            (&["LPOP", "l", "0"], Reply::Array(vec![])),
            (&["LPOP", "l", "-1"], err("ERR value is out of range, must be positive")),
            (&["LPOP", "l", "x"], err(NOT_INT)),
            (&["LPOP", "l", "1", "2"], err("ERR wrong number of arguments for 'lpop' command")),
            (&["RPOP", "l", "1", "2"], err("ERR wrong number of arguments for 'rpop' command")),
            (&["RPOP", "l", "10"], arr(&["a"])),
            (&["LLEN", "l"], Reply::Integer(0)),
            (&["LPOP", "l"], Reply::Null),
            (&["LPOP", "l", "0"], Reply::NullArray),
            (&["RPOP", "l", "3"], Reply::NullArray),
            (&["LPOP", "s"], err(WRONGTYPE)),
            (&["LPOP", "s", "0"], err(WRONGTYPE)),
            (&["LLEN", "l"], Reply::Integer(0)),
            (&["LLEN", "s"], err(WRONGTYPE)),
            (&["lpush"], err("ERR wrong number of arguments for 'lpush' command")),
            (&["lpush", "l"], err("ERR wrong number of arguments for 'lpush' command")),
        ],
    );
    assert_eq!(db.lpop(b"l", None), Ok(None));
}

#[test]
fn reads_and_index_errors() {
    let (db, _) = manual_db();
    db.execute(&["RPUSH", "l", "a", "b", "c"]);
    db.execute(&["SET", "s", "v"]);
    table(
        &db,
        &[
            (&["LRANGE", "l", "-2", "100"], arr(&["b", "c"])),
            (&["LRANGE", "l", "2", "1"], arr(&[])),
            (&["LRANGE", "nope", "0", "-1"], arr(&[])),
            (&["LRANGE", "l", "x", "1"], err(NOT_INT)),
            (&["LRANGE", "nope", "0", "x"], err(NOT_INT)),
            (&["LRANGE", "s", "0", "1"], err(WRONGTYPE)),
            (&["LINDEX", "l", "0"], b("a")),
            (&["LINDEX", "l", "-1"], b("c")),
            (&["LINDEX", "l", "3"], Reply::Null),
            (&["LINDEX", "l", "-4"], Reply::Null),
            (&["LINDEX", "l", "x"], err(NOT_INT)),
            // Redis looks the key up before it reads the index.
            (&["LINDEX", "nope", "x"], Reply::Null),
            (&["LINDEX", "s", "x"], err(WRONGTYPE)),
            (&["LSET", "l", "-1", "C"], Reply::OK),
            (&["LSET", "l", "3", "x"], err("ERR index out of range")),
            (&["LSET", "l", "-4", "x"], err("ERR index out of range")),
            (&["LSET", "nope", "0", "x"], err("ERR no such key")),
            (&["LSET", "nope", "x", "x"], err("ERR no such key")),
            (&["LSET", "s", "x", "x"], err(WRONGTYPE)),
            (&["LSET", "l", "x", "x"], err(NOT_INT)),
            (&["LRANGE", "l", "0", "-1"], arr(&["a", "b", "C"])),
        ],
    );
}

#[test]
fn lrem_ltrim_linsert() {
    let (db, _) = manual_db();
    db.execute(&["RPUSH", "l", "a", "x", "b", "x", "c", "x"]);
    db.execute(&["SET", "s", "v"]);
    table(
        &db,
        &[
            (&["LREM", "l", "-2", "x"], Reply::Integer(2)),
            (&["LRANGE", "l", "0", "-1"], arr(&["a", "x", "b", "c"])),
            (&["LREM", "l", "0", "nope"], Reply::Integer(0)),
            (&["LREM", "l", "0", "x"], Reply::Integer(1)),
            (&["LREM", "l", "x", "a"], err(NOT_INT)),
            (&["LREM", "l", "-9223372036854775808", "a"], err(LONG_MIN)),
            (&["LREM", "nope", "1", "a"], Reply::Integer(0)),
            (&["LREM", "s", "1", "a"], err(WRONGTYPE)),
            (&["LINSERT", "l", "before", "b", "B"], Reply::Integer(4)),
            (&["LINSERT", "l", "AFTER", "c", "C"], Reply::Integer(5)),
            (&["LINSERT", "l", "after", "zz", "C"], Reply::Integer(-1)),
            (&["LINSERT", "nope", "after", "a", "C"], Reply::Integer(0)),
            (&["LINSERT", "l", "middle", "a", "C"], err(SYNTAX)),
            (&["LINSERT", "nope", "middle", "a", "C"], err(SYNTAX)),
            (&["LINSERT", "s", "before", "a", "C"], err(WRONGTYPE)),
            (&["LRANGE", "l", "0", "-1"], arr(&["a", "B", "b", "c", "C"])),
            (&["LTRIM", "l", "1", "-2"], Reply::OK),
            (&["LRANGE", "l", "0", "-1"], arr(&["B", "b", "c"])),
            (&["LTRIM", "l", "x", "1"], err(NOT_INT)),
            (&["LTRIM", "nope", "0", "1"], Reply::OK),
            (&["LTRIM", "s", "0", "1"], err(WRONGTYPE)),
            (&["LTRIM", "l", "5", "10"], Reply::OK),
            (&["LLEN", "l"], Reply::Integer(0)),
        ],
    );
}

#[test]
fn lpos_options_and_errors() {
    let (db, _) = manual_db();
    db.execute(&["RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c"]);
    db.execute(&["SET", "s", "v"]);
    let ints = |v: &[i64]| Reply::Array(v.iter().map(|&i| Reply::Integer(i)).collect());
    table(
        &db,
        &[
            (&["LPOS", "l", "c"], Reply::Integer(2)),
            (&["LPOS", "l", "c", "RANK", "2"], Reply::Integer(6)),
            (&["LPOS", "l", "c", "rank", "-1"], Reply::Integer(7)),
            (&["LPOS", "l", "c", "RANK", "4"], Reply::Null),
            (&["LPOS", "l", "c", "COUNT", "2"], ints(&[2, 6])),
            (&["LPOS", "l", "c", "COUNT", "0"], ints(&[2, 6, 7])),
            (&["LPOS", "l", "c", "RANK", "-1", "COUNT", "2"], ints(&[7, 6])),
            (&["LPOS", "l", "c", "COUNT", "0", "MAXLEN", "7"], ints(&[2, 6])),
            (&["LPOS", "l", "c", "RANK", "-1", "MAXLEN", "1"], Reply::Integer(7)),
            (&["LPOS", "l", "c", "RANK", "-1", "MAXLEN", "0"], Reply::Integer(7)),
            (&["LPOS", "l", "x"], Reply::Null),
            (&["LPOS", "l", "x", "COUNT", "1"], ints(&[])),
            (&["LPOS", "nope", "x"], Reply::Null),
            (&["LPOS", "nope", "x", "COUNT", "0"], ints(&[])),
            (&["LPOS", "s", "x"], err(WRONGTYPE)),
            (
                &["LPOS", "l", "c", "RANK", "0"],
                err(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                ),
            ),
            (&["LPOS", "l", "c", "RANK", "-9223372036854775808"], err(LONG_MIN)),
            (&["LPOS", "l", "c", "RANK", "x"], err(NOT_INT)),
            (&["LPOS", "l", "c", "COUNT", "-1"], err("ERR COUNT can't be negative")),
            (&["LPOS", "l", "c", "COUNT", "x"], err("ERR COUNT can't be negative")),
            (&["LPOS", "l", "c", "MAXLEN", "-1"], err("ERR MAXLEN can't be negative")),
            (&["LPOS", "l", "c", "MAXLEN"], err(SYNTAX)),
            (&["LPOS", "l", "c", "FOO", "1"], err(SYNTAX)),
            // Options are checked before the key.
            (&["LPOS", "s", "c", "COUNT", "-1"], err("ERR COUNT can't be negative")),
        ],
    );
}

#[test]
fn lmove_and_rpoplpush() {
    let (db, _) = manual_db();
    db.execute(&["RPUSH", "a", "1", "2", "3"]);
    db.execute(&["SET", "s", "v"]);
    table(
        &db,
        &[
            (&["LMOVE", "a", "b", "LEFT", "RIGHT"], b("1")),
            (&["LMOVE", "a", "b", "right", "left"], b("3")),
            (&["LRANGE", "b", "0", "-1"], arr(&["3", "1"])),
            (&["RPOPLPUSH", "b", "a"], b("1")),
            (&["LRANGE", "a", "0", "-1"], arr(&["1", "2"])),
            // The same key rotates.
            (&["LMOVE", "a", "a", "LEFT", "RIGHT"], b("1")),
            (&["LRANGE", "a", "0", "-1"], arr(&["2", "1"])),
            (&["RPOPLPUSH", "a", "a"], b("1")),
            (&["LRANGE", "a", "0", "-1"], arr(&["1", "2"])),
            (&["LMOVE", "a", "b", "UP", "LEFT"], err(SYNTAX)),
            (&["LMOVE", "a", "b", "LEFT", "DOWN"], err(SYNTAX)),
            (&["LMOVE", "nope", "b", "LEFT", "LEFT"], Reply::Null),
            (&["LMOVE", "nope", "s", "LEFT", "LEFT"], Reply::Null),
            (&["LMOVE", "s", "b", "LEFT", "LEFT"], err(WRONGTYPE)),
            (&["LMOVE", "a", "s", "LEFT", "LEFT"], err(WRONGTYPE)),
            (&["RPOPLPUSH", "a", "s"], err(WRONGTYPE)),
            (&["LRANGE", "a", "0", "-1"], arr(&["1", "2"])),
        ],
    );
    // A one-item list rotating onto itself survives.
    db.execute(&["RPUSH", "one", "x"]);
    assert_eq!(db.execute(&["LMOVE", "one", "one", "LEFT", "LEFT"]), b("x"));
    assert_eq!(db.execute(&["LRANGE", "one", "0", "-1"]), arr(&["x"]));
}

#[test]
fn lmpop_parsing() {
    let (db, _) = manual_db();
    db.execute(&["RPUSH", "b", "1", "2", "3"]);
    db.execute(&["SET", "s", "v"]);
    let popped = |key: &str, items: &[&str]| Reply::Array(vec![b(key), arr(items)]);
    table(
        &db,
        &[
            (&["LMPOP", "2", "a", "b", "LEFT"], popped("b", &["1"])),
            (&["LMPOP", "2", "a", "b", "right", "count", "5"], popped("b", &["3", "2"])),
            (&["LMPOP", "1", "b", "LEFT"], Reply::NullArray),
            (&["LMPOP", "2", "s", "b", "LEFT"], err(WRONGTYPE)),
            (&["LMPOP", "0", "a", "LEFT"], err("ERR numkeys should be greater than 0")),
            (&["LMPOP", "-1", "a", "LEFT"], err("ERR numkeys should be greater than 0")),
            (&["LMPOP", "x", "a", "LEFT"], err("ERR numkeys should be greater than 0")),
            (&["LMPOP", "5", "a", "LEFT"], err(SYNTAX)),
            (&["LMPOP", "9223372036854775807", "a", "LEFT"], err(SYNTAX)),
            (&["LMPOP", "1", "a", "MIDDLE"], err(SYNTAX)),
            (&["LMPOP", "1", "a", "LEFT", "COUNT"], err(SYNTAX)),
            (&["LMPOP", "1", "a", "LEFT", "COUNT", "0"], err("ERR count should be greater than 0")),
            (&["LMPOP", "1", "a", "LEFT", "COUNT", "x"], err("ERR count should be greater than 0")),
            (&["LMPOP", "1", "a", "LEFT", "COUNT", "1", "COUNT", "1"], err(SYNTAX)),
            (&["LMPOP", "1", "a", "LEFT", "FOO", "1"], err(SYNTAX)),
            (&["LMPOP", "1", "a"], err("ERR wrong number of arguments for 'lmpop' command")),
        ],
    );
}

#[test]
fn blocking_commands_parse_timeouts_as_redis() {
    let (db, _) = manual_db();
    db.execute(&["RPUSH", "l", "1", "2", "3", "4"]);
    db.execute(&["SET", "s", "v"]);
    let popped = |key: &str, items: &[&str]| Reply::Array(vec![b(key), arr(items)]);
    table(
        &db,
        &[
            (&["BLPOP", "nope", "l", "0"], arr(&["l", "1"])),
            (&["BRPOP", "l", "1.5"], arr(&["l", "4"])),
            (&["BLMOVE", "l", "m", "LEFT", "RIGHT", "0"], b("2")),
            (&["BRPOPLPUSH", "l", "m", "0"], b("3")),
            (&["BLMPOP", "0", "2", "l", "m", "LEFT", "COUNT", "9"], popped("m", &["3", "2"])),
            (&["BLPOP", "l", "-1"], err("ERR timeout is negative")),
            (&["BLPOP", "l", "-inf"], err("ERR timeout is negative")),
            (&["BLPOP", "l", "x"], err("ERR timeout is not a float or out of range")),
            (&["BLPOP", "l", "nan"], err("ERR timeout is not a float or out of range")),
            (&["BLPOP", "l", "inf"], err("ERR timeout is out of range")),
            (&["BLPOP", "l", "1e300"], err("ERR timeout is out of range")),
            (&["BLPOP", "s", "0"], err(WRONGTYPE)),
            // The timeout is read before the keys.
            (&["BLPOP", "s", "x"], err("ERR timeout is not a float or out of range")),
            (&["BLMOVE", "s", "m", "LEFT", "LEFT", "0"], err(WRONGTYPE)),
            (&["BLMOVE", "l", "m", "UP", "LEFT", "x"], err(SYNTAX)),
            (&["BLMOVE", "l", "m", "LEFT", "LEFT", "x"], err("ERR timeout is not a float or out of range")),
            (&["BRPOPLPUSH", "l", "m", "-2"], err("ERR timeout is negative")),
            // BLMPOP checks its keys and options before the timeout.
            (&["BLMPOP", "x", "0", "l", "LEFT"], err("ERR numkeys should be greater than 0")),
            (&["BLMPOP", "x", "1", "l", "LEFT"], err("ERR timeout is not a float or out of range")),
            (&["BLMPOP", "x", "1", "l", "LEFT", "COUNT", "0"], err("ERR count should be greater than 0")),
            (&["BLMPOP", "0", "1", "s", "LEFT"], err(WRONGTYPE)),
            (&["blpop", "l"], err("ERR wrong number of arguments for 'blpop' command")),
        ],
    );
    // Short waits on nothing time out with a null array, like Redis's `*-1`.
    table(
        &db,
        &[
            (&["BLPOP", "nope", "0.01"], Reply::NullArray),
            (&["BRPOP", "nope", "0.001"], Reply::NullArray),
            (&["BLMPOP", "0.01", "1", "nope", "LEFT"], Reply::NullArray),
            (&["BLMOVE", "nope", "m", "LEFT", "LEFT", "0.01"], Reply::NullArray),
            (&["BRPOPLPUSH", "nope", "m", "0.01"], Reply::NullArray),
        ],
    );
}

#[test]
fn typed_api_checks_its_arguments() {
    let (db, _) = manual_db();
    assert_eq!(db.lmpop(&[], End::Left, 1), Err(DbError::Invalid("numkeys should be greater than 0")));
    assert_eq!(db.lmpop(&[b"k"], End::Left, 0), Err(DbError::Invalid("count should be greater than 0")));
    assert!(db.lpos(b"k", b"x", LposOptions { rank: 0, ..LposOptions::default() }).is_err());
    assert_eq!(db.lpush(b"k", &[]), Ok(0));
    assert_eq!(db.rpush(b"k", &[b"a", b"b"]), Ok(2));
    assert_eq!(db.lpop(b"k", Some(5)), Ok(Some(vec![b"a".to_vec(), b"b".to_vec()])));
    assert_eq!(db.lrem(b"k", i64::MIN, b"a"), Ok(0));
}

fn drain(events: &crate::db::notify::KeyspaceEvents) -> Vec<(&'static str, String)> {
    std::iter::from_fn(|| events.try_recv())
        .map(|Event { name, key, .. }| (name, String::from_utf8_lossy(&key).into_owned()))
        .collect()
}

#[test]
fn events_follow_redis() {
    let (db, _) = manual_db();
    let events = db.subscribe_keyspace(&[EventClass::List, EventClass::Generic], 100);
    let ev = |list: &[(&'static str, &str)]| list.iter().map(|&(n, k)| (n, k.to_string())).collect::<Vec<_>>();
    db.execute(&["RPUSH", "l", "a", "b", "c"]);
    db.execute(&["LPUSHX", "l", "z"]);
    db.execute(&["LPUSHX", "nope", "z"]);
    assert_eq!(drain(&events), ev(&[("rpush", "l"), ("lpush", "l")]));
    db.execute(&["LSET", "l", "0", "y"]);
    db.execute(&["LINSERT", "l", "BEFORE", "a", "x"]);
    db.execute(&["LINSERT", "l", "BEFORE", "nope", "x"]);
    db.execute(&["LREM", "l", "0", "nope"]);
    db.execute(&["LREM", "l", "0", "x"]);
    db.execute(&["LPOP", "l", "0"]);
    assert_eq!(drain(&events), ev(&[("lset", "l"), ("linsert", "l"), ("lrem", "l")]));
    db.execute(&["LMOVE", "l", "m", "RIGHT", "LEFT"]);
    db.execute(&["RPOP", "l"]);
    db.execute(&["LTRIM", "l", "0", "-1"]);
    db.execute(&["LTRIM", "l", "5", "6"]);
    assert_eq!(
        drain(&events),
        ev(&[("lpush", "m"), ("rpop", "l"), ("rpop", "l"), ("ltrim", "l"), ("ltrim", "l"), ("del", "l")])
    );
    db.execute(&["LMPOP", "1", "m", "LEFT"]);
    assert_eq!(drain(&events), ev(&[("lpop", "m"), ("del", "m")]));
}

#[test]
fn ttls_survive_list_writes() {
    let (db, _) = manual_db();
    db.execute(&["RPUSH", "k", "a", "b", "c", "d"]);
    let deadline = db.tx(&[b"k"], |tx| {
        let d = tx.now() + 10_000;
        tx.write(b"k", |_, dl| *dl = Some(d));
        d
    });
    let ttl = || db.tx(&[b"k"], |tx| tx.read(b"k", |_, d| d)).flatten();
    for cmd in [
        &["LPUSH", "k", "x"][..],
        &["RPUSHX", "k", "y"],
        &["LPOP", "k"],
        &["RPOP", "k", "1"],
        &["LSET", "k", "0", "z"],
        &["LINSERT", "k", "AFTER", "z", "w"],
        &["LREM", "k", "1", "w"],
        &["LTRIM", "k", "0", "-1"],
        &["LMOVE", "k", "k", "LEFT", "RIGHT"],
        &["LMPOP", "1", "k", "LEFT"],
    ] {
        assert!(!db.execute(cmd).is_error(), "{cmd:?}");
        assert_eq!(ttl(), Some(deadline), "{cmd:?} keeps the TTL");
    }
    // Emptied and recreated: the new list has no TTL.
    db.execute(&["LTRIM", "k", "1", "0"]);
    db.execute(&["RPUSH", "k", "a"]);
    assert_eq!(ttl(), None);
    // The destination of a move keeps its own TTL.
    let d2 = db.tx(&[b"k"], |tx| {
        let d = tx.now() + 5_000;
        tx.write(b"k", |_, dl| *dl = Some(d));
        d
    });
    db.execute(&["RPUSH", "src", "1"]);
    db.execute(&["LMOVE", "src", "k", "LEFT", "LEFT"]);
    assert_eq!(ttl(), Some(d2));
}

#[test]
fn weights_follow_the_list() {
    let (db, _) = manual_db();
    let item = "x".repeat(1000);
    db.execute(&["RPUSH", "k", &item, &item, &item]);
    let three = db.used_memory();
    assert!(three >= 3000, "{three}");
    db.execute(&["LPOP", "k", "2"]);
    assert!(db.used_memory() < three - 1500);
    db.read(b"k", |v| match v {
        Value::List(l) => l.validate(),
        _ => unreachable!(),
    });
    db.execute(&["LPOP", "k"]);
    assert_eq!(db.used_memory(), 0);
}
