//! Unit tests of the string commands: argument parsing and Redis's exact
//! replies (tables run through `execute`), wrong types, the TTL rules and
//! keyspace events.

use super::{Expiration, GetExOption, SetOptions};
use crate::db::notify::EventClass;
use crate::db::tests::manual_db;
use crate::db::tests::{WRONGTYPE, bulk, int};
use crate::db::{Db, DbError, List, Reply, Value};
use std::time::Duration;

fn err(text: &str) -> Reply {
    Reply::Error(text.into())
}

/// Runs each command in order and checks its reply.
pub(crate) fn table(db: &Db, rows: &[(&[&str], Reply)]) {
    for (args, want) in rows {
        assert_eq!(&db.execute(args), want, "{args:?}");
    }
}

/// Stores a list at `key` (the other types' commands live elsewhere).
pub(crate) fn put_list(db: &Db, key: &str) {
    let mut list = List::new();
    list.push_back(b"x");
    db.tx(&[key.as_bytes()], |tx| tx.put(key.as_bytes(), Value::List(list), None));
}

/// Gives `key` a deadline 10 s from now.
pub(crate) fn give_ttl(db: &Db, key: &str) -> u64 {
    let k = key.as_bytes();
    db.tx(&[k], |tx| {
        let at = tx.now() + 10_000;
        tx.write(k, |_, d| *d = Some(at));
        at
    })
}

/// The deadline of `key` (`None`: persistent or missing).
pub(crate) fn ttl_of(db: &Db, key: &str) -> Option<u64> {
    let k = key.as_bytes();
    db.tx(&[k], |tx| tx.read(k, |_, d| d)).flatten()
}

const NOT_INT: &str = "ERR value is not an integer or out of range";
const SYNTAX: &str = "ERR syntax error";

#[test]
fn set_parses_options_as_redis() {
    let (db, _) = manual_db();
    put_list(&db, "l");
    table(
        &db,
        &[
            (&["SET", "k", "v", "nx", "NX"], Reply::OK),
            (&["SET", "k", "v", "EX", "10", "ex", "20"], Reply::OK),
            (&["SET", "k", "v", "EX", "1", "PX", "2"], err(SYNTAX)),
            (&["SET", "k", "v", "NX", "XX"], err(SYNTAX)),
            (&["SET", "k", "v", "KEEPTTL", "PX", "5"], err(SYNTAX)),
            (&["SET", "k", "v", "PXAT", "5", "KEEPTTL"], err(SYNTAX)),
            (&["SET", "k", "v", "EX"], err(SYNTAX)),
            (&["SET", "k", "v", "PERSIST"], err(SYNTAX)),
            // Keywords are all read before the number.
            (&["SET", "k", "v", "EX", "abc", "NX", "XX"], err(SYNTAX)),
            (&["SET", "k", "v", "EX", "abc"], err(NOT_INT)),
            (&["SET", "k", "v", "EX", "0"], err("ERR invalid expire time in 'set' command")),
            (&["SET", "k", "v", "PX", "-1"], err("ERR invalid expire time in 'set' command")),
            (&["SET", "k", "v", "EX", "9223372036854775807"], err("ERR invalid expire time in 'set' command")),
            (&["SET", "k", "v", "PX", "9223372036854775807"], err("ERR invalid expire time in 'set' command")),
            (&["SET", "k", "w", "GET", "NX"], bulk("v")),
            (&["GET", "k"], bulk("v")),
            (&["SET", "new", "w", "get", "xx"], Reply::Null),
            (&["GET", "new"], Reply::Null),
            (&["SET", "k", "w", "KeepTTL", "Get"], bulk("v")),
            // GET on another type: WRONGTYPE, and nothing is set.
            (&["SET", "l", "v", "GET"], err(WRONGTYPE)),
            (&["GET", "l"], err(WRONGTYPE)),
            (&["SET", "l", "v"], Reply::OK),
            (&["GET", "l"], bulk("v")),
            (&["set", "k"], err("ERR wrong number of arguments for 'set' command")),
        ],
    );
}

#[test]
fn get_variants_follow_redis() {
    let (db, _) = manual_db();
    put_list(&db, "l");
    table(
        &db,
        &[
            (&["GETEX", "missing", "EX", "abc"], Reply::Null),
            (&["GETEX", "l", "EX", "abc"], err(WRONGTYPE)),
            (&["SET", "k", "v"], Reply::OK),
            (&["GETEX", "k", "EX", "abc"], err(NOT_INT)),
            (&["GETEX", "k", "EX", "0"], err("ERR invalid expire time in 'getex' command")),
            (&["GETEX", "k", "PERSIST", "EX", "1"], err(SYNTAX)),
            (&["GETEX", "k", "EX", "1", "PERSIST"], err(SYNTAX)),
            (&["GETEX", "k", "NX"], err(SYNTAX)),
            (&["GETEX", "k", "KEEPTTL"], err(SYNTAX)),
            (&["GETEX", "k", "ex", "100", "EX", "200"], bulk("v")),
            (&["GETEX", "k", "persist"], bulk("v")),
            (&["GETEX", "k"], bulk("v")),
            (&["GETEX", "l"], err(WRONGTYPE)),
            (&["GETDEL", "l"], err(WRONGTYPE)),
            (&["GETDEL", "k"], bulk("v")),
            (&["GETDEL", "k"], Reply::Null),
            (&["GETSET", "k", "1"], Reply::Null),
            (&["GETSET", "k", "2"], bulk("1")),
            (&["GETSET", "l", "2"], err(WRONGTYPE)),
            (&["MGET", "k", "l", "missing", "k"], Reply::Array(vec![bulk("2"), Reply::Null, Reply::Null, bulk("2")])),
            (&["SETNX", "k", "3"], int(0)),
            (&["SETNX", "n", "3"], int(1)),
            (&["SETNX", "l", "3"], int(0)),
            (&["SETEX", "k", "0", "v"], err("ERR invalid expire time in 'setex' command")),
            (&["PSETEX", "k", "-5", "v"], err("ERR invalid expire time in 'psetex' command")),
            (&["SETEX", "k", "x", "v"], err(NOT_INT)),
            (&["SETEX", "l", "100", "v"], Reply::OK),
            (&["SETEX", "k", "100"], err("ERR wrong number of arguments for 'setex' command")),
            (&["MSET", "a", "1", "b"], err("ERR wrong number of arguments for 'mset' command")),
            (&["MSETNX", "a", "1", "b"], err("ERR wrong number of arguments for 'msetnx' command")),
            (&["MSET", "a", "1", "a", "2", "b", "3"], Reply::OK),
            (&["MGET", "a", "b"], Reply::Array(vec![bulk("2"), bulk("3")])),
            (&["MSETNX", "c", "1", "a", "9"], int(0)),
            (&["GET", "c"], Reply::Null),
            (&["MSETNX", "c", "1", "d", "2", "c", "3"], int(1)),
            (&["MGET", "c", "d"], Reply::Array(vec![bulk("3"), bulk("2")])),
        ],
    );
}

#[test]
fn counters_follow_redis() {
    let (db, _) = manual_db();
    put_list(&db, "l");
    table(
        &db,
        &[
            (&["INCR", "n"], int(1)),
            (&["INCRBY", "n", "-11"], int(-10)),
            (&["DECR", "n"], int(-11)),
            (&["DECRBY", "n", "-1"], int(-10)),
            (&["GET", "n"], bulk("-10")),
            (&["DECR", "m"], int(-1)),
            (&["INCRBY", "n", "1.5"], err(NOT_INT)),
            (&["INCRBY", "n", "01"], err(NOT_INT)),
            (&["INCRBY", "l", "x"], err(NOT_INT)),
            (&["INCR", "l"], err(WRONGTYPE)),
            (&["DECRBY", "n", "-9223372036854775808"], err("ERR decrement would overflow")),
            (&["SET", "big", "9223372036854775807"], Reply::OK),
            (&["INCR", "big"], err("ERR increment or decrement would overflow")),
            (&["DECRBY", "m", "9223372036854775807"], int(i64::MIN)),
            (&["DECR", "m"], err("ERR increment or decrement would overflow")),
            (&["INCRBY", "incr", "x", "y"], err("ERR wrong number of arguments for 'incrby' command")),
        ],
    );
    for bad in ["abc", "", " 1", "1 ", "01", "-0", "+1", "1.0", "9223372036854775808"] {
        db.execute(&["SET", "s", bad]);
        assert_eq!(db.execute(&["INCR", "s"]), err(NOT_INT), "{bad:?}");
        assert_eq!(db.execute(&["GET", "s"]), bulk(bad), "unchanged");
    }
}

#[test]
fn incrbyfloat_follows_redis() {
    let (db, _) = manual_db();
    put_list(&db, "l");
    table(
        &db,
        &[
            (&["SET", "f", "10.50"], Reply::OK),
            (&["INCRBYFLOAT", "f", "0.1"], bulk("10.6")),
            (&["INCRBYFLOAT", "f", "-5"], bulk("5.6")),
            (&["SET", "g", "5.0e3"], Reply::OK),
            (&["INCRBYFLOAT", "g", "2.0e2"], bulk("5200")),
            (&["GET", "g"], bulk("5200")),
            (&["INCRBYFLOAT", "h", "0x10"], bulk("16")),
            (&["INCRBYFLOAT", "h", "+.5"], bulk("16.5")),
            (&["INCRBYFLOAT", "h", "1e3"], bulk("1016.5")),
            (&["INCRBYFLOAT", "h", "inf"], err("ERR increment would produce NaN or Infinity")),
            (&["INCRBYFLOAT", "h", "nan"], err("ERR value is not a valid float")),
            (&["INCRBYFLOAT", "h", " 1"], err("ERR value is not a valid float")),
            (&["INCRBYFLOAT", "h", "abc"], err("ERR value is not a valid float")),
            (&["GET", "h"], bulk("1016.5")),
            (&["SET", "s", "abc"], Reply::OK),
            (&["INCRBYFLOAT", "s", "1"], err("ERR value is not a valid float")),
            (&["INCRBYFLOAT", "l", "1"], err(WRONGTYPE)),
            // The key's type is checked before the increment is read.
            (&["INCRBYFLOAT", "l", "abc"], err(WRONGTYPE)),
            (&["INCRBYFLOAT", "z", "-0"], bulk("0")),
        ],
    );
}

#[test]
fn ranges_follow_redis() {
    let (db, _) = manual_db();
    put_list(&db, "l");
    table(
        &db,
        &[
            (&["APPEND", "k", "Hello"], int(5)),
            (&["APPEND", "k", " World"], int(11)),
            (&["STRLEN", "k"], int(11)),
            (&["STRLEN", "missing"], int(0)),
            (&["STRLEN", "l"], err(WRONGTYPE)),
            (&["APPEND", "l", "x"], err(WRONGTYPE)),
            (&["GETRANGE", "k", "0", "4"], bulk("Hello")),
            (&["SUBSTR", "k", "-5", "-1"], bulk("World")),
            (&["GETRANGE", "k", "0", "-100"], bulk("H")),
            (&["GETRANGE", "k", "-1", "-5"], bulk("")),
            (&["GETRANGE", "missing", "0", "-1"], bulk("")),
            (&["GETRANGE", "k", "x", "1"], err(NOT_INT)),
            (&["GETRANGE", "l", "0", "1"], err(WRONGTYPE)),
            (&["SETRANGE", "k", "6", "Redis"], int(11)),
            (&["GET", "k"], bulk("Hello Redis")),
            (&["SETRANGE", "p", "3", "ab"], int(5)),
            (&["GET", "p"], bulk("\0\0\0ab")),
            (&["SETRANGE", "q", "3", ""], int(0)),
            (&["GET", "q"], Reply::Null),
            (&["SETRANGE", "p", "100", ""], int(5)),
            (&["SETRANGE", "p", "-1", "x"], err("ERR offset is out of range")),
            (&["SETRANGE", "p", "x", "x"], err(NOT_INT)),
            (&["SETRANGE", "l", "0", "x"], err(WRONGTYPE)),
            (
                &["SETRANGE", "p", "536870911", "ab"],
                err("ERR string exceeds maximum allowed size (proto-max-bulk-len)"),
            ),
            (&["SETRANGE", "q", "536870912", "a"], err("ERR string exceeds maximum allowed size (proto-max-bulk-len)")),
            (&["GET", "q"], Reply::Null),
        ],
    );
}

#[test]
fn typed_api_matches_the_commands() {
    let (db, _) = manual_db();
    let both = SetOptions { keep_ttl: true, expiration: Some(Expiration::Seconds(5)), ..SetOptions::default() };
    assert_eq!(db.set(b"k", b"v", both), Err(DbError::Syntax));
    assert!(db.set(b"k", b"v", SetOptions::default()).unwrap().stored);
    assert_eq!(db.getex(b"k", Some(GetExOption::Persist)), Ok(Some(b"v".to_vec())));
    assert_eq!(db.getset(b"k", b"w"), Ok(Some(b"v".to_vec())));
    assert_eq!(db.mget(&[b"k", b"x"]), vec![Some(b"w".to_vec()), None]);
    db.mset(&[(b"a", b"1"), (b"b", b"2")]).unwrap();
    assert_eq!(db.msetnx(&[(b"a", b"3")]), Ok(false));
    assert_eq!(db.incrby(b"a", 41), Ok(42));
    assert_eq!(db.decrby(b"a", i64::MIN), Err(DbError::Invalid("decrement would overflow")));
    assert_eq!(db.incrbyfloat(b"a", 0.5), Ok(42.5));
    assert_eq!(db.incrbyfloat(b"a", f64::NAN), Err(DbError::NanOrInfinity));
    assert_eq!(db.append(b"a", b"0"), Ok(5));
    assert_eq!(db.setrange(b"a", 0, b"9"), Ok(5));
    assert_eq!(db.getrange(b"a", 0, 1), Ok(b"92".to_vec()));
    assert_eq!(db.strlen(b"a"), Ok(5));
    assert_eq!(db.getdel(b"a"), Ok(Some(b"92.50".to_vec())));
    assert_eq!(db.setnx(b"a", b"x"), Ok(true));
    assert_eq!(db.setex(b"a", 0, b"x"), Err(DbError::InvalidExpire("setex")));
    assert_eq!(db.psetex(b"a", 10, b"y"), Ok(()));
}

#[test]
fn expirations_apply_to_the_millisecond() {
    let (db, clock) = manual_db();
    let unix_now = db.inner.unix_ms(db.now());
    let pxat = (unix_now + 500).to_string();
    table(
        &db,
        &[
            (&["SET", "a", "1", "PX", "100"], Reply::OK),
            (&["PSETEX", "b", "200", "2"], Reply::OK),
            (&["SET", "c", "3", "PXAT", &pxat], Reply::OK),
            (&["SET", "d", "4"], Reply::OK),
            (&["GETEX", "d", "PX", "300"], bulk("4")),
        ],
    );
    let alive = |keys: &[&str]| keys.iter().map(|k| db.execute(&["GET", k]) != Reply::Null).collect::<Vec<_>>();
    clock.advance(Duration::from_millis(100));
    assert_eq!(alive(&["a", "b", "c", "d"]), [false, true, true, true]);
    clock.advance(Duration::from_millis(100));
    assert_eq!(alive(&["b", "c", "d"]), [false, true, true]);
    clock.advance(Duration::from_millis(100));
    assert_eq!(alive(&["c", "d"]), [true, false]);
    clock.advance(Duration::from_millis(200));
    assert_eq!(alive(&["c"]), [false]);
    // EXAT/PXAT already past: SET stores nothing, GETEX answers and deletes.
    db.execute(&["SET", "e", "5"]);
    assert_eq!(db.execute(&["GETEX", "e", "PXAT", "1"]), bulk("5"));
    assert_eq!(db.execute(&["GET", "e"]), Reply::Null);
    assert_eq!(db.execute(&["SET", "f", "6", "EXAT", "1"]), Reply::OK);
    assert_eq!(db.execute(&["GET", "f"]), Reply::Null);
}

#[test]
fn ttls_are_kept_or_cleared_as_in_redis() {
    let (db, _) = manual_db();
    // (setup, command, whether the old deadline survives)
    let cases: &[(&[&str], &[&str], bool)] = &[
        (&["SET", "k", "v"], &["APPEND", "k", "x"], true),
        (&["SET", "k", "v"], &["SETRANGE", "k", "5", "x"], true),
        (&["SET", "k", "1"], &["INCR", "k"], true),
        (&["SET", "k", "1"], &["DECRBY", "k", "5"], true),
        (&["SET", "k", "1"], &["INCRBYFLOAT", "k", "1.5"], true),
        (&["SET", "k", "v"], &["SET", "k", "w", "KEEPTTL"], true),
        (&["SET", "k", "v"], &["SET", "k", "w", "NX"], true),
        (&["SET", "k", "v"], &["GETEX", "k"], true),
        (&["SET", "k", "v"], &["GET", "k"], true),
        (&["SET", "k", "v"], &["SETBIT", "k", "100", "1"], true),
        (&["PFADD", "k", "a"], &["PFADD", "k", "b"], true),
        (&["PFADD", "k", "a"], &["PFMERGE", "k", "other"], true),
        (&["SET", "k", "v"], &["SET", "k", "w"], false),
        (&["SET", "k", "v"], &["SET", "k", "w", "XX", "GET"], false),
        (&["SET", "k", "v"], &["GETSET", "k", "w"], false),
        (&["SET", "k", "v"], &["MSET", "k", "w", "z", "1"], false),
        (&["SET", "k", "v"], &["GETEX", "k", "PERSIST"], false),
    ];
    for (setup, command, kept) in cases {
        db.execute(setup);
        let at = give_ttl(&db, "k");
        assert!(!db.execute(command).is_error(), "{command:?}");
        let want = if *kept { Some(at) } else { None };
        assert_eq!(ttl_of(&db, "k"), want, "{command:?}");
        db.tx(&[b"k"], |tx| tx.take(b"k"));
    }
    // Commands that set a new deadline.
    for command in [&["SETEX", "k", "100", "v"][..], &["SET", "k", "v", "EX", "100"], &["GETEX", "k", "EX", "100"]] {
        db.execute(&["SET", "k", "v"]);
        give_ttl(&db, "k");
        db.execute(command);
        assert_eq!(ttl_of(&db, "k"), Some(db.now() + 100_000), "{command:?}");
    }
}

#[test]
fn events_carry_redis_names() {
    let (db, _) = manual_db();
    let events = db.subscribe_keyspace(&[EventClass::String, EventClass::Generic], 64);
    let expect = |command: &[&str], names: &[(EventClass, &str)]| {
        db.execute(command);
        let got: Vec<(EventClass, &str)> =
            std::iter::from_fn(|| events.try_recv()).map(|e| (e.class, e.name)).collect();
        assert_eq!(got, names, "{command:?}");
    };
    use EventClass::{Generic, String};
    expect(&["SET", "k", "1"], &[(String, "set")]);
    expect(&["SET", "k", "1", "EX", "5"], &[(String, "set"), (Generic, "expire")]);
    expect(&["SET", "k", "1", "NX"], &[]);
    expect(&["SETEX", "k", "5", "1"], &[(String, "set"), (Generic, "expire")]);
    expect(&["INCRBY", "k", "2"], &[(String, "incrby")]);
    expect(&["INCRBYFLOAT", "k", "2"], &[(String, "incrbyfloat")]);
    expect(&["APPEND", "k", "0"], &[(String, "append")]);
    expect(&["SETRANGE", "k", "0", "9"], &[(String, "setrange")]);
    expect(&["SETRANGE", "k", "0", ""], &[]);
    expect(&["GETEX", "k", "EX", "5"], &[(Generic, "expire")]);
    expect(&["GETEX", "k", "PERSIST"], &[(Generic, "persist")]);
    expect(&["GETEX", "k", "PERSIST"], &[]);
    expect(&["GETEX", "k", "PXAT", "1"], &[(Generic, "del")]);
    expect(&["MSET", "a", "1", "b", "2"], &[(String, "set"), (String, "set")]);
    expect(&["GETSET", "a", "3"], &[(String, "set")]);
    expect(&["GETDEL", "a"], &[(Generic, "del")]);
    expect(&["GETDEL", "a"], &[]);
    expect(&["INCR", "b", "x"], &[]);
}
