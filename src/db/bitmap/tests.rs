//! Unit tests of the bitmap commands against Redis's replies.

use super::{BitField, BitFieldOp, BitFieldOverflow, BitPosRange, BitRange, BitUnit};
use crate::db::DbError;
use crate::db::Reply;
use crate::db::notify::EventClass;
use crate::db::string::tests::{give_ttl, put_list, table, ttl_of};
use crate::db::tests::manual_db;
use crate::db::tests::{WRONGTYPE, int};

fn err(text: &str) -> Reply {
    Reply::Error(text.into())
}

const OFFSET: &str = "ERR bit offset is not an integer or out of range";
const BIT: &str = "ERR bit is not an integer or out of range";
const NOT_INT: &str = "ERR value is not an integer or out of range";
const SYNTAX: &str = "ERR syntax error";
#[test]
fn setbit_and_getbit_follow_redis() {
    let (db, _) = manual_db();
    put_list(&db, "l");
    table(
        &db,
        &[
            (&["SETBIT", "k", "7", "1"], int(0)),
            (&["SETBIT", "k", "7", "1"], int(1)),
            (&["GET", "k"], Reply::Bulk(vec![1])),
            (&["SETBIT", "k", "16", "1"], int(0)),
            (&["GET", "k"], Reply::Bulk(vec![1, 0, 0x80])),
            (&["SETBIT", "k", "7", "0"], int(1)),
            (&["GETBIT", "k", "16"], int(1)),
            (&["GETBIT", "k", "17"], int(0)),
            (&["GETBIT", "k", "4294967295"], int(0)),
            (&["GETBIT", "missing", "3"], int(0)),
            (&["SETBIT", "k", "4294967296", "1"], err(OFFSET)),
            (&["SETBIT", "k", "-1", "1"], err(OFFSET)),
            (&["SETBIT", "k", "x", "1"], err(OFFSET)),
            (&["SETBIT", "k", "x", "2"], err(OFFSET)),
            (&["SETBIT", "k", "1", "2"], err(BIT)),
            (&["SETBIT", "k", "1", "-1"], err(BIT)),
            (&["SETBIT", "k", "1", "x"], err(BIT)),
            (&["GETBIT", "k", "4294967296"], err(OFFSET)),
            (&["GETBIT", "k", "01"], err(OFFSET)),
            (&["SETBIT", "l", "1", "1"], err(WRONGTYPE)),
            (&["SETBIT", "l", "1", "3"], err(BIT)),
            (&["GETBIT", "l", "1"], err(WRONGTYPE)),
            (&["GETBIT", "k", "1", "2"], err("ERR wrong number of arguments for 'getbit' command")),
        ],
    );
    assert_eq!(db.setbit(b"k", 1 << 32, true), Err(DbError::BitOffset));
}

#[test]
fn bitcount_follows_redis() {
    let (db, _) = manual_db();
    put_list(&db, "l");
    db.execute(&["SET", "k", "foobar"]);
    table(
        &db,
        &[
            (&["BITCOUNT", "k"], int(26)),
            (&["BITCOUNT", "k", "0", "0"], int(4)),
            (&["BITCOUNT", "k", "1", "1"], int(6)),
            (&["BITCOUNT", "k", "1", "1", "byte"], int(6)),
            (&["BITCOUNT", "k", "5", "30", "BIT"], int(17)),
            (&["BITCOUNT", "k", "-2", "-1"], int(7)),
            (&["BITCOUNT", "k", "-1", "-2"], int(0)),
            (&["BITCOUNT", "k", "-100", "-2"], int(22)),
            (&["BITCOUNT", "k", "3", "100"], int(10)),
            (&["BITCOUNT", "k", "0", "-100"], int(4)),
            (&["BITCOUNT", "k", "47", "47", "bit"], int(0)),
            (&["BITCOUNT", "k", "46", "100", "BIT"], int(1)),
            (&["BITCOUNT", "missing"], int(0)),
            (&["BITCOUNT", "missing", "0", "-1", "BIT"], int(0)),
            (&["BITCOUNT", "k", "1"], err(SYNTAX)),
            (&["BITCOUNT", "missing", "1"], err(SYNTAX)),
            (&["BITCOUNT", "k", "1", "2", "bits"], err(SYNTAX)),
            (&["BITCOUNT", "k", "1", "2", "BIT", "x"], err(SYNTAX)),
            (&["BITCOUNT", "k", "x", "2"], err(NOT_INT)),
            (&["BITCOUNT", "missing", "1", "x"], err(NOT_INT)),
            (&["BITCOUNT", "l"], err(WRONGTYPE)),
        ],
    );
    let whole = BitRange { start: 0, end: -1, unit: BitUnit::Bit };
    assert_eq!(db.bitcount(b"k", Some(whole)), Ok(26));
}

#[test]
fn bitpos_follows_redis() {
    let (db, _) = manual_db();
    put_list(&db, "l");
    db.tx(&[b"ones"], |tx| tx.put(b"ones", crate::db::Value::String(vec![0xff, 0xff, 0xff]), None));
    db.tx(&[b"z"], |tx| tx.put(b"z", crate::db::Value::String(vec![0x00, 0xff, 0xf0]), None));
    db.execute(&["SET", "empty", ""]);
    table(
        &db,
        &[
            // All ones: the first clear bit is past the string, unless an end is given.
            (&["BITPOS", "ones", "0"], int(24)),
            (&["BITPOS", "ones", "0", "1"], int(24)),
            (&["BITPOS", "ones", "0", "0", "-1"], int(-1)),
            (&["BITPOS", "ones", "0", "0", "-1", "BIT"], int(-1)),
            (&["BITPOS", "ones", "1"], int(0)),
            (&["BITPOS", "ones", "1", "5", "10", "bit"], int(5)),
            (&["BITPOS", "missing", "0"], int(0)),
            (&["BITPOS", "missing", "1"], int(-1)),
            (&["BITPOS", "missing", "0", "5", "9", "BIT"], int(0)),
            (&["BITPOS", "empty", "0"], int(-1)),
            (&["BITPOS", "empty", "1"], int(-1)),
            (&["BITPOS", "z", "1"], int(8)),
            (&["BITPOS", "z", "1", "2"], int(16)),
            (&["BITPOS", "z", "0"], int(0)),
            (&["BITPOS", "z", "0", "1"], int(20)),
            (&["BITPOS", "z", "0", "1", "-1"], int(20)),
            (&["BITPOS", "z", "0", "1", "1"], int(-1)),
            (&["BITPOS", "z", "0", "8", "19", "BIT"], int(-1)),
            (&["BITPOS", "z", "0", "8", "20", "BIT"], int(20)),
            (&["BITPOS", "z", "1", "2", "7", "bit"], int(-1)),
            (&["BITPOS", "z", "1", "7", "8", "bit"], int(8)),
            (&["BITPOS", "z", "1", "-1"], int(16)),
            (&["BITPOS", "z", "1", "-20", "-30"], int(-1)),
            (&["BITPOS", "z", "0", "-20", "-30"], int(0)),
            (&["BITPOS", "z", "1", "3", "1"], int(-1)),
            (&["BITPOS", "z", "2"], err("ERR The bit argument must be 1 or 0.")),
            (&["BITPOS", "z", "x"], err(NOT_INT)),
            (&["BITPOS", "z", "1", "x"], err(NOT_INT)),
            (&["BITPOS", "z", "1", "0", "x"], err(NOT_INT)),
            (&["BITPOS", "z", "1", "0", "1", "bits"], err(SYNTAX)),
            // The unit is read before the end, as in Redis.
            (&["BITPOS", "z", "1", "0", "x", "bits"], err(SYNTAX)),
            (&["BITPOS", "z", "1", "0", "1", "bit", "x"], err(SYNTAX)),
            (&["BITPOS", "l", "1"], err(WRONGTYPE)),
        ],
    );
    let range = BitPosRange { start: 1, end: None, unit: BitUnit::Bit };
    assert_eq!(db.bitpos(b"z", true, Some(range)), Ok(8));
    assert_eq!(db.bitpos(b"ones", false, Some(range)), Ok(24));
}

#[test]
fn setbit_keeps_ttl_and_signals_changes_only() {
    let (db, _) = manual_db();
    let events = db.subscribe_keyspace(&[EventClass::String], 16);
    let names = || std::iter::from_fn(|| events.try_recv()).map(|e| e.name).collect::<Vec<_>>();
    db.execute(&["SETBIT", "k", "3", "0"]);
    assert_eq!(names(), ["setbit"], "created");
    db.execute(&["SETBIT", "k", "3", "0"]);
    assert_eq!(names(), Vec::<&str>::new(), "unchanged");
    db.execute(&["SETBIT", "k", "3", "1"]);
    assert_eq!(names(), ["setbit"], "flipped");
    db.execute(&["SETBIT", "k", "20", "0"]);
    assert_eq!(names(), ["setbit"], "grown");
    let at = give_ttl(&db, "k");
    db.execute(&["SETBIT", "k", "100", "1"]);
    assert_eq!(ttl_of(&db, "k"), Some(at));
}

/// An array reply of integers and nulls (BITFIELD).
fn fields(values: &[Option<i64>]) -> Reply {
    Reply::Array(values.iter().map(|v| v.map_or(Reply::Null, Reply::Integer)).collect())
}

#[test]
fn bitop_follows_redis() {
    // Replies captured from redis-server 7.0.15 (BITOP was missing: found
    // by the differential test).
    let (db, _) = manual_db();
    let ok = Reply::OK;
    let events = db.subscribe_keyspace(&[EventClass::String, EventClass::Generic], 16);
    table(
        &db,
        &[
            (&["SET", "a", "foo"], ok.clone()),
            (&["SET", "b", "ab"], ok.clone()),
            (&["BITOP", "AND", "d", "a", "b"], int(3)),
            (&["GET", "d"], Reply::Bulk(vec![0x60, 0x62, 0])),
            (&["BITOP", "or", "d", "a", "b"], int(3)),
            (&["GET", "d"], Reply::bulk("goo")),
            (&["BITOP", "XOR", "d", "a", "b", "nokey"], int(3)),
            (&["GET", "d"], Reply::Bulk(vec![0x07, 0x0d, 0x6f])),
            (&["BITOP", "NOT", "d", "a"], int(3)),
            (&["GET", "d"], Reply::Bulk(vec![!b'f', !b'o', !b'o'])),
            (&["BITOP", "NOT", "d", "a", "b"], err("ERR BITOP NOT must be called with a single source key.")),
            (&["BITOP", "NAND", "d", "a"], err(SYNTAX)),
            (&["BITOP", "AND", "d", "nokey", "nokey2"], int(0)),
            (&["EXISTS", "d"], int(0)),
            (&["SET", "e", "v", "EX", "100"], ok.clone()),
            (&["BITOP", "OR", "e", "a"], int(3)),
            (&["TTL", "e"], int(-1)),
        ],
    );
    let names: Vec<_> = std::iter::from_fn(|| events.try_recv()).map(|e| e.name).collect();
    assert_eq!(names, ["set", "set", "set", "set", "set", "set", "del", "set", "expire", "set"]);
    put_list(&db, "l");
    table(
        &db,
        &[
            (&["BITOP", "OR", "d", "a", "l"], err(WRONGTYPE)),
            // The destination is replaced whatever it held.
            (&["BITOP", "AND", "l", "a"], int(3)),
            (&["TYPE", "l"], Reply::Simple("string")),
            (&["BITOP", "AND"], err("ERR wrong number of arguments for 'bitop' command")),
        ],
    );
}

#[test]
fn bitfield_follows_redis() {
    // Replies captured from redis-server 7.0.15 (BITFIELD was missing:
    // found by the differential test).
    let (db, _) = manual_db();
    const TYPE: &str =
        "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
    put_list(&db, "l");
    table(
        &db,
        &[
            (&["BITFIELD", "f", "SET", "u8", "0", "255", "GET", "u8", "0"], fields(&[Some(0), Some(255)])),
            (&["BITFIELD", "f", "INCRBY", "u8", "0", "10"], fields(&[Some(9)])),
            (&["BITFIELD", "f", "OVERFLOW", "SAT", "INCRBY", "u8", "0", "10"], fields(&[Some(19)])),
            (&["BITFIELD", "f", "overflow", "fail", "incrby", "u8", "0", "10", "get", "u8", "0"], {
                fields(&[Some(29), Some(29)])
            }),
            (&["BITFIELD", "f", "SET", "i8", "0", "200"], fields(&[Some(29)])),
            (&["BITFIELD", "f", "SET", "i8", "0", "-9223372036854775808"], fields(&[Some(-56)])),
            // Redis's overflow check wraps for i64::MIN: saturates at the maximum.
            (&["BITFIELD", "f", "OVERFLOW", "SAT", "SET", "i8", "0", "-9223372036854775808", "GET", "i8", "0"], {
                fields(&[Some(0), Some(127)])
            }),
            (&["BITFIELD", "f", "SET", "u63", "#1", "-1", "GET", "u63", "#1"], fields(&[Some(0), Some(i64::MAX)])),
            (&["STRLEN", "f"], int(16)),
            (&["BITFIELD", "f", "INCRBY", "i64", "0", "9223372036854775807", "INCRBY", "i64", "0", "1"], {
                fields(&[Some(-72057594037927936), Some(-72057594037927935)])
            }),
            (&["BITFIELD", "f", "OVERFLOW", "SAT", "INCRBY", "i64", "0", "9223372036854775807"], {
                fields(&[Some(9151314442816847872)])
            }),
            (&["BITFIELD", "f", "GET", "u64", "0"], err(TYPE)),
            (&["BITFIELD", "f", "GET", "i65", "0"], err(TYPE)),
            (&["BITFIELD", "f", "GET", "U8", "0"], err(TYPE)),
            (&["BITFIELD", "f", "GET", "i0", "0"], err(TYPE)),
            (&["BITFIELD", "f", "GET", "u8", "-1"], err(OFFSET)),
            (&["BITFIELD", "f", "GET", "u8", "#-1"], err(OFFSET)),
            (&["BITFIELD", "f", "GET", "u8", "4294967296"], err(OFFSET)),
            (&["BITFIELD", "f", "OVERFLOW", "NONE", "GET", "u8", "0"], err("ERR Invalid OVERFLOW type specified")),
            (&["BITFIELD", "f", "GET", "u8"], err(SYNTAX)),
            (&["BITFIELD", "f", "FOO"], err(SYNTAX)),
            (&["BITFIELD", "f", "SET", "i8", "0", "x"], err(NOT_INT)),
            (&["BITFIELD", "l", "GET", "u8", "0"], err(WRONGTYPE)),
            (&["BITFIELD", "l"], err(WRONGTYPE)),
            // Every operation is parsed before the key is looked at.
            (&["BITFIELD", "l", "SET", "u8", "0", "x"], err(NOT_INT)),
            (&["BITFIELD", "nokey", "GET", "i5", "3"], fields(&[Some(0)])),
            (&["EXISTS", "nokey"], int(0)),
            (&["BITFIELD_RO", "f", "GET", "u8", "0", "SET", "u8", "0", "1"], {
                err("ERR BITFIELD_RO only supports the GET subcommand")
            }),
            (&["BITFIELD_RO", "f", "GET", "i4", "#3"], fields(&[Some(0)])),
            // A write grows the string even when it fails on overflow.
            (&["BITFIELD", "g", "OVERFLOW", "FAIL", "SET", "u8", "100", "256"], fields(&[None])),
            (&["STRLEN", "g"], int(14)),
            (&["BITFIELD", "h", "INCRBY", "u2", "100", "1"], fields(&[Some(1)])),
            (&["GET", "h"], Reply::Bulk([&[0u8; 12][..], &[0x04]].concat())),
            (&["BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u1", "0", "-1", "INCRBY", "i1", "1", "-1"], {
                fields(&[None, None])
            }),
            (&["BITFIELD", "f", "OVERFLOW", "WRAP", "INCRBY", "i5", "0", "-100", "INCRBY", "u5", "0", "-100"], {
                fields(&[Some(11), Some(7)])
            }),
            (&["BITFIELD", "f", "GET", "i64", "0", "GET", "u1", "0"], fields(&[Some(4539628424389459968), Some(0)])),
            (&["BITFIELD"], err("ERR wrong number of arguments for 'bitfield' command")),
        ],
    );
    assert_eq!(
        db.bitfield(
            b"f",
            &[BitField { op: BitFieldOp::Get, signed: false, bits: 64, offset: 0, overflow: BitFieldOverflow::Wrap }]
        ),
        Err(DbError::Invalid(TYPE.strip_prefix("ERR ").unwrap_or(TYPE)))
    );
}

#[test]
fn bitfield_writes_keep_the_ttl_and_signal_setbit() {
    let (db, _) = manual_db();
    let events = db.subscribe_keyspace(&[EventClass::String], 16);
    db.execute(&["BITFIELD", "k", "GET", "u8", "0"]);
    db.execute(&["SET", "k", "x"]);
    let at = give_ttl(&db, "k");
    db.execute(&["BITFIELD", "k", "SET", "u8", "100", "1"]);
    assert_eq!(ttl_of(&db, "k"), Some(at));
    let names: Vec<_> = std::iter::from_fn(|| events.try_recv()).map(|e| e.name).collect();
    assert_eq!(names, ["set", "setbit"]);
}
