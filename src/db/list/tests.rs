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
            (&["LPOP", "l", "x"], err("ERR value is out of range, must be positive")),
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

/// A list in the given form holding `items`: a deque is made by pushing a
/// 65-byte item, then popping it.
fn list_in_form(items: &[Vec<u8>], packed: bool) -> List {
    let mut l: List = items.iter().map(|i| &i[..]).collect();
    if !packed {
        l.push_back(&[b'L'; 65]);
        l.pop_back();
    }
    assert_eq!(l.is_packed(), packed);
    l
}

/// Compares the list with the model, both ways, by index, and checks its
/// invariants.
fn check_same(l: &List, model: &std::collections::VecDeque<Vec<u8>>) {
    l.validate();
    assert_eq!(l.len(), model.len());
    assert_eq!(l.is_empty(), model.is_empty());
    assert_eq!(l.iter().len(), model.len());
    assert!(l.iter().eq(model.iter().map(|v| &v[..])));
    assert!(l.iter().rev().eq(model.iter().rev().map(|v| &v[..])));
    for (i, v) in model.iter().enumerate() {
        assert_eq!(l.get(i), Some(&v[..]));
    }
    assert_eq!(l.get(model.len()), None);
}

#[test]
fn packed_converts_past_129_items() {
    let mut l = List::new();
    for i in 0..128 {
        l.push_back(format!("{i}").as_bytes());
    }
    assert!(l.is_packed());
    l.validate();
    let packed = l.footprint();
    l.push_front(b"one too many");
    assert!(!l.is_packed(), "the 129th item converts");
    l.validate();
    assert!(l.footprint() > packed);
    assert_eq!(l.len(), 129);
    assert_eq!(l.get(0), Some(&b"one too many"[..]));
    assert_eq!(l.get(128), Some(&b"127"[..]));
    // One way: popping back under the limit keeps the deque.
    while l.len() > 1 {
        l.pop_back();
    }
    assert!(!l.is_packed());
    // LINSERT and LSET past the limits convert too.
    let mut l: List = (0..128).map(|_| &b"x"[..]).collect();
    l.insert(5, b"y");
    assert!(!l.is_packed());
    let mut l: List = [&b"a"[..], b"b"].into_iter().collect();
    assert!(!l.set(2, &[b'z'; 65]), "out of range");
    assert!(l.is_packed(), "a failed LSET changes nothing");
    assert!(l.set(1, &[b'z'; 64]));
    assert!(l.is_packed());
    assert!(l.set(1, &[b'z'; 65]));
    assert!(!l.is_packed());
    assert_eq!(l.get(1), Some(&[b'z'; 65][..]));
    l.validate();
}

#[test]
fn packed_converts_at_a_65_byte_item() {
    for end in [End::Left, End::Right] {
        let mut l: List = [&b"a"[..], &[b'b'; 64]].into_iter().collect();
        assert!(l.is_packed(), "64 bytes fit");
        l.push(end, &[b'c'; 65]);
        assert!(!l.is_packed());
        l.validate();
        let want: Vec<Vec<u8>> = match end {
            End::Left => vec![vec![b'c'; 65], b"a".to_vec(), vec![b'b'; 64]],
            End::Right => vec![b"a".to_vec(), vec![b'b'; 64], vec![b'c'; 65]],
        };
        check_same(&l, &want.into_iter().collect());
    }
}

#[test]
fn packed_iterates_both_ways() {
    let items: Vec<Vec<u8>> = (0..40).map(|i| vec![b'a' + (i % 26) as u8; i]).collect();
    for packed in [true, false] {
        let l = list_in_form(&items, packed);
        let mut it = l.iter();
        assert_eq!(it.len(), 40);
        assert_eq!(it.next(), Some(&items[0][..]));
        assert_eq!(it.next_back(), Some(&items[39][..]));
        assert_eq!(it.len(), 38);
        // Meeting in the middle yields every item once.
        let mut front = Vec::new();
        let mut back = Vec::new();
        while let Some(f) = it.next() {
            front.push(f);
            let Some(b) = it.next_back() else { break };
            back.push(b);
        }
        assert_eq!(it.next(), None);
        assert_eq!(it.next_back(), None);
        back.reverse();
        front.extend(back);
        assert!(front.iter().eq(items[1..39].iter()), "packed: {packed}");
        for (s, e) in [(0, 40), (3, 10), (10, 3), (39, 100), (50, 60), (0, 0), (20, 21)] {
            let want: Vec<&[u8]> = items.iter().take(e).skip(s).map(|v| &v[..]).collect();
            assert_eq!(l.range(s..e).collect::<Vec<_>>(), want, "{s}..{e}");
            assert_eq!(l.range(s..e).len(), want.len());
            assert!(l.range(s..e).rev().eq(want.iter().rev().copied()));
        }
        assert_eq!(l.iter().enumerate().rev().take(2).map(|(i, _)| i).collect::<Vec<_>>(), [39, 38]);
    }
}

#[test]
fn both_forms_follow_a_deque() {
    use std::collections::VecDeque;
    // A small deterministic generator: no dependency needed.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for packed in [true, false] {
        for round in 0..20 {
            let start: Vec<Vec<u8>> = (0..next(30)).map(|i| format!("i{}", i % 5).into_bytes()).collect();
            let mut l = list_in_form(&start, packed);
            let mut m: VecDeque<Vec<u8>> = start.into_iter().collect();
            for step in 0..60 {
                // Short items (and few enough pushes) keep a packed list packed.
                let item = format!("i{}", next(6)).into_bytes();
                let len = m.len();
                match next(12) {
                    0 => {
                        l.push_front(&item);
                        m.push_front(item);
                    }
                    1 => {
                        l.push(End::Right, &item);
                        m.push_back(item);
                    }
                    2 => assert_eq!(l.pop_front().map(Vec::from), m.pop_front()),
                    3 => assert_eq!(l.pop(End::Right).map(Vec::from), m.pop_back()),
                    4 => {
                        let i = next(len + 2);
                        let ok = i < len;
                        assert_eq!(l.set(i, &item), ok);
                        if ok {
                            m[i] = item;
                        }
                    }
                    5 => {
                        let i = next(len + 1);
                        l.insert(i, &item);
                        m.insert(i, item);
                    }
                    6 => {
                        let i = next(len + 2);
                        assert_eq!(l.remove(i).map(Vec::from), m.remove(i));
                    }
                    7 => {
                        let (a, b) = (next(len + 3), next(len + 3));
                        l.keep_range(a..b);
                        let kept: VecDeque<_> = m.iter().take(b).skip(a).cloned().collect();
                        m = kept;
                    }
                    8 => {
                        let drop = format!("i{}", next(6)).into_bytes();
                        l.retain_items(|b| b != drop);
                        m.retain(|b| *b != drop);
                    }
                    9 => {
                        let (limit, from_tail) = (next(3), next(2) == 1);
                        let total = m.iter().filter(|b| **b == item).count();
                        let n = if limit == 0 { total } else { limit.min(total) };
                        assert_eq!(l.remove_matches(&item, limit, from_tail), n);
                        let mut left = n;
                        let mut kept: Vec<Vec<u8>> = Vec::new();
                        let walk: Box<dyn Iterator<Item = &Vec<u8>>> =
                            if from_tail { Box::new(m.iter().rev()) } else { Box::new(m.iter()) };
                        for b in walk {
                            if left > 0 && *b == item {
                                left -= 1;
                            } else {
                                kept.push(b.clone());
                            }
                        }
                        if from_tail {
                            kept.reverse();
                        }
                        m = kept.into_iter().collect();
                    }
                    10 => assert_eq!(l.position(&item), m.iter().position(|b| *b == item)),
                    _ => {
                        let (a, b) = (next(len + 3), next(len + 3));
                        assert!(l.range(a..b).eq(m.iter().take(b).skip(a).map(|v| &v[..])));
                    }
                }
                assert_eq!(l.is_packed(), packed && m.len() <= 128, "round {round} step {step}");
                check_same(&l, &m);
                if packed {
                    assert!(l.footprint() <= 64 + (l.len() * 4 + 10) * 9 / 8 + 64, "tight capacity: {}", l.footprint());
                }
            }
        }
    }
}

#[test]
fn packed_footprint_is_tight_and_drops_after_pops() {
    let mut l = List::new();
    assert_eq!(l.footprint(), 0);
    for i in 0..100 {
        l.push_back(format!("item-{i:011}").as_bytes());
    }
    assert!(l.is_packed());
    let full = l.footprint();
    // 100 entries of 16 + 2 bytes, within an eighth (and the allocator's rounding).
    assert!((1800..=1800 * 9 / 8 + 64).contains(&full), "{full}");
    for _ in 0..80 {
        l.pop_front();
    }
    l.validate();
    assert!(l.footprint() < full / 3, "{} after pops, {full} full", l.footprint());
    l.keep_range(0..0);
    assert!(l.is_empty());
    assert_eq!(l.footprint(), 0, "an empty packed list frees its buffer");
    l.validate();
    // LREM and LTRIM give memory back too.
    let mut l: List = (0..100).map(|_| &b"0123456789abcdef"[..]).collect();
    let full = l.footprint();
    l.remove_matches(b"0123456789abcdef", 90, false);
    assert!(l.footprint() < full / 3);
    l.push_back(b"x");
    l.retain_items(|b| b == b"x");
    assert_eq!(l.len(), 1);
    assert!(l.footprint() <= 64);
    l.validate();
    // Lists in either form compare by their items.
    let items: Vec<Vec<u8>> = vec![b"a".to_vec(), b"b".to_vec()];
    assert_eq!(list_in_form(&items, true), list_in_form(&items, false));
}
