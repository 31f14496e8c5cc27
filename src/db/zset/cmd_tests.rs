//! Table tests of the sorted-set commands through `Db::execute`: parsing,
//! options in any case, Redis's exact errors and reply shapes; plus events,
//! TTLs and blocking.

use crate::db::notify::EventClass;
use crate::db::tests::WRONGTYPE;
use crate::db::tests::manual_db;
use crate::db::{Db, DbError, Reply};
use std::time::Duration;

fn run(db: &Db, cmd: &str) -> Reply {
    let args: Vec<&str> = cmd.split(' ').collect();
    db.execute(&args)
}

fn err(text: &str) -> Reply {
    Reply::Error(text.into())
}

fn bulks(items: &str) -> Reply {
    Reply::Array(items.split(' ').filter(|s| !s.is_empty()).map(Reply::bulk).collect())
}

/// `"a 1 b 2"` as a WITHSCORES reply: member/score pairs.
fn scored(items: &str) -> Reply {
    let parts: Vec<&str> = items.split(' ').filter(|s| !s.is_empty()).collect();
    Reply::Pairs(parts.chunks(2).map(|p| (Reply::bulk(p[0]), Reply::Double(p[1].parse().unwrap()))).collect())
}

/// `"a 1"` as a flat `[member, score]` array (ZPOPMIN without a count).
fn flat_scored(items: &str) -> Reply {
    scored(items).into_resp2_shape()
}

/// Runs each `(command, expected reply)` in order on one database.
fn table(db: &Db, rows: &[(&str, Reply)]) {
    for (cmd, want) in rows {
        assert_eq!(&run(db, cmd), want, "{cmd}");
    }
}

const SYNTAX: &str = "ERR syntax error";
const NOT_FLOAT: &str = "ERR value is not a valid float";
const NOT_INT: &str = "ERR value is not an integer or out of range";
#[test]
fn zadd_options_and_errors() {
    let (db, _) = manual_db();
    table(
        &db,
        &[
            ("ZADD z 1 a 2 b", Reply::Integer(2)),
            ("ZADD z nx xx 1 a", err("ERR XX and NX options at the same time are not compatible")),
            ("ZADD z gt lt 1 a", err("ERR GT, LT, and/or NX options at the same time are not compatible")),
            ("ZADD z NX GT 1 a", err("ERR GT, LT, and/or NX options at the same time are not compatible")),
            ("ZADD z incr 1 a 2 b", err("ERR INCR option supports a single increment-element pair")),
            ("ZADD z nx 1", err(SYNTAX)),
            ("ZADD z 1 a 2", err(SYNTAX)),
            ("ZADD z x a", err(NOT_FLOAT)),
            ("ZADD z nan a", err(NOT_FLOAT)),
            ("ZADD z 1 a x b", err(NOT_FLOAT)),
            ("ZADD z Ch 5 a 3 c", Reply::Integer(2)),
            ("ZADD z 5 a", Reply::Integer(0)),
            ("ZADD z XX 10 new", Reply::Integer(0)),
            ("ZADD z XX INCR 1 new", Reply::Null),
            ("ZADD z INCR 2.5 a", Reply::Double(7.5)),
            ("ZADD z GT 1 a", Reply::Integer(0)),
            ("ZADD z GT CH 100 a", Reply::Integer(1)),
            ("ZADD z LT INCR 1 a", Reply::Null),
            ("ZADD z LT INCR -1 a", Reply::Double(99.0)),
            ("ZADD z NX 1 a", Reply::Integer(0)),
            ("ZADD z GT 1 fresh", Reply::Integer(1)),
            ("ZSCORE z a", Reply::Double(99.0)),
            ("ZSCORE z nope", Reply::Null),
            ("ZADD z +inf i", Reply::Integer(1)),
            ("ZINCRBY z -inf i", err("ERR resulting score is not a number (NaN)")),
            ("ZINCRBY z x i", err(NOT_FLOAT)),
            ("ZINCRBY z 2 b", Reply::Double(4.0)),
            ("ZINCRBY new 2 b", Reply::Double(2.0)),
            ("SET s v", Reply::OK),
            ("ZADD s 1 a", err(WRONGTYPE)),
            ("ZADD s x a", err(NOT_FLOAT)),
            ("ZCARD z", Reply::Integer(5)),
            ("ZCARD nope", Reply::Integer(0)),
            ("ZCARD s", err(WRONGTYPE)),
            ("ZMSCORE z a nope b", Reply::Array(vec![Reply::Double(99.0), Reply::Null, Reply::Double(4.0)])),
            ("ZMSCORE nope a", Reply::Array(vec![Reply::Null])),
            ("ZMSCORE s a", err(WRONGTYPE)),
            ("ZREM z a nope b", Reply::Integer(2)),
            ("ZREM nope a", Reply::Integer(0)),
            ("ZREM s a", err(WRONGTYPE)),
        ],
    );
    // Typed API: NaN scores and empty pair lists are refused.
    assert_eq!(db.zadd(b"z", &[(f64::NAN, b"m")], Default::default()), Err(DbError::ScoreNan));
    assert_eq!(db.zadd(b"z", &[], Default::default()), Err(DbError::Syntax));
}

#[test]
fn zrank_and_zrevrank() {
    let (db, _) = manual_db();
    table(
        &db,
        &[
            ("ZADD z 1 a 2 b 3 c", Reply::Integer(3)),
            ("ZRANK z a", Reply::Integer(0)),
            ("ZREVRANK z a", Reply::Integer(2)),
            ("ZRANK z c withscore", Reply::Array(vec![Reply::Integer(2), Reply::Double(3.0)])),
            ("ZREVRANK z c WITHSCORE", Reply::Array(vec![Reply::Integer(0), Reply::Double(3.0)])),
            ("ZRANK z nope", Reply::Null),
            ("ZRANK z nope WITHSCORE", Reply::NullArray),
            ("ZRANK nope a WITHSCORE", Reply::NullArray),
            ("ZRANK z a WITHSCORES", err(SYNTAX)),
            ("ZRANK z a WITHSCORE x", err("ERR wrong number of arguments for 'zrank' command")),
            ("ZREVRANK z a WITHSCORE x", err("ERR wrong number of arguments for 'zrevrank' command")),
        ],
    );
}

#[test]
fn zrange_forms_and_their_errors() {
    let (db, _) = manual_db();
    run(&db, "ZADD z 1 a 2 b 3 c 4 d 5 e");
    run(&db, "ZADD l 0 a 0 b 0 c 0 d");
    table(
        &db,
        &[
            ("ZRANGE z 0 -1", bulks("a b c d e")),
            ("ZRANGE z 1 2 WITHSCORES", scored("b 2 c 3")),
            ("ZRANGE z 0 1 rev", bulks("e d")),
            ("ZRANGE z -2 -1", bulks("d e")),
            ("ZRANGE z 3 1", bulks("")),
            ("ZRANGE z (1 3 BYSCORE", bulks("b c")),
            ("ZRANGE z 3 (1 BYSCORE REV", bulks("c b")),
            ("ZRANGE z -inf +inf BYSCORE LIMIT 1 2", bulks("b c")),
            ("ZRANGE z +inf -inf byscore rev limit 1 2 withscores", scored("d 4 c 3")),
            ("ZRANGE z -inf +inf BYSCORE LIMIT -1 2", bulks("")),
            ("ZRANGE z -inf +inf BYSCORE LIMIT 4 -5", bulks("e")),
            ("ZRANGE z -inf +inf BYSCORE LIMIT 9 1", bulks("")),
            ("ZRANGE l [b (d BYLEX", bulks("b c")),
            ("ZRANGE l + - BYLEX REV LIMIT 1 2", bulks("c b")),
            (
                "ZRANGE z 0 -1 LIMIT 0 1",
                err("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"),
            ),
            ("ZRANGE z 0 -1 LIMIT 5 -1", bulks("a b c d e")),
            (
                "ZRANGE l - + BYLEX WITHSCORES",
                err("ERR syntax error, WITHSCORES not supported in combination with BYLEX"),
            ),
            ("ZRANGE z a b BYSCORE", err("ERR min or max is not a float")),
            ("ZRANGE z a b BYLEX", err("ERR min or max not valid string range item")),
            ("ZRANGE z 0 x", err(NOT_INT)),
            ("ZRANGE z 0 -1 FOO", err(SYNTAX)),
            ("ZRANGE z 0 -1 BYSCORE BYLEX", err(SYNTAX)),
            ("ZRANGE z 0 -1 LIMIT 1", err(SYNTAX)),
            ("ZRANGE z 0 -1 BYSCORE LIMIT x 1", err(NOT_INT)),
            ("ZRANGE nope 0 -1", bulks("")),
            ("SET s v", Reply::OK),
            ("ZRANGE s 0 -1", err(WRONGTYPE)),
            ("ZRANGE s 0 -1 FOO", err(SYNTAX)),
            ("ZREVRANGE z 0 1 WITHSCORES", scored("e 5 d 4")),
            ("ZREVRANGE z 0 1 REV", err(SYNTAX)),
            ("ZREVRANGE z 0 1 BYSCORE", err(SYNTAX)),
            ("ZRANGEBYSCORE z 2 4", bulks("b c d")),
            ("ZRANGEBYSCORE z -inf +inf WITHSCORES LIMIT 1 1", scored("b 2")),
            ("ZRANGEBYSCORE z 2 4 REV", err(SYNTAX)),
            ("ZREVRANGEBYSCORE z 4 2", bulks("d c b")),
            ("ZREVRANGEBYSCORE z (4 (2", bulks("c")),
            ("ZRANGEBYLEX l - (c", bulks("a b")),
            (
                "ZRANGEBYLEX l - + WITHSCORES",
                err("ERR syntax error, WITHSCORES not supported in combination with BYLEX"),
            ),
            ("ZREVRANGEBYLEX l + - LIMIT 0 2", bulks("d c")),
            ("ZRANGEBYLEX l a c", err("ERR min or max not valid string range item")),
        ],
    );
}

#[test]
fn zrangestore_replaces_or_deletes_and_clears_the_ttl() {
    let (db, _) = manual_db();
    run(&db, "ZADD z 1 a 2 b 3 c");
    let ttl = |db: &Db, k: &[u8]| db.tx(&[k], |tx| tx.read(k, |_, d| d).flatten());
    db.tx(&[b"d"], |tx| {
        let now = tx.now();
        tx.write(b"d", |v, d| {
            *v = Some(crate::db::Value::String(b"x".to_vec()));
            *d = Some(now + 10_000);
        })
    });
    table(
        &db,
        &[
            ("ZRANGESTORE d z 0 -1 WITHSCORES", err(SYNTAX)),
            ("ZRANGESTORE d z 1 -1", Reply::Integer(2)),
            ("ZRANGE d 0 -1 WITHSCORES", scored("b 2 c 3")),
        ],
    );
    assert_eq!(ttl(&db, b"d"), None);
    assert!(db.read(b"d", |_| ()).is_some());
    table(
        &db,
        &[
            ("ZRANGESTORE d z 5 2 BYSCORE REV LIMIT 0 1", Reply::Integer(1)),
            ("ZRANGE d 0 -1", bulks("c")),
            ("ZRANGESTORE d nope 0 -1", Reply::Integer(0)),
            ("ZRANGE d 0 -1", bulks("")),
            ("ZCARD d", Reply::Integer(0)),
            ("SET s v", Reply::OK),
            ("ZRANGESTORE d s 0 -1", err(WRONGTYPE)),
            ("ZRANGESTORE s z 0 0", Reply::Integer(1)),
            ("ZRANGE s 0 -1", bulks("a")),
        ],
    );
}

#[test]
fn zcount_zlexcount_and_zremrange() {
    let (db, _) = manual_db();
    run(&db, "ZADD z 1 a 2 b 3 c 4 d 5 e");
    run(&db, "ZADD l 0 a 0 b 0 c 0 d");
    run(&db, "SET s v");
    table(
        &db,
        &[
            ("ZCOUNT z 2 4", Reply::Integer(3)),
            ("ZCOUNT z (2 (4", Reply::Integer(1)),
            ("ZCOUNT z 4 2", Reply::Integer(0)),
            ("ZCOUNT z -inf +inf", Reply::Integer(5)),
            ("ZCOUNT z x 1", err("ERR min or max is not a float")),
            ("ZCOUNT nope 1 2", Reply::Integer(0)),
            ("ZCOUNT s 1 2", err(WRONGTYPE)),
            ("ZLEXCOUNT l [b +", Reply::Integer(3)),
            ("ZLEXCOUNT l - +", Reply::Integer(4)),
            ("ZLEXCOUNT l b +", err("ERR min or max not valid string range item")),
            ("ZREMRANGEBYRANK z 0 0", Reply::Integer(1)),
            ("ZREMRANGEBYRANK z -1 -1", Reply::Integer(1)),
            ("ZREMRANGEBYRANK z 5 9", Reply::Integer(0)),
            ("ZREMRANGEBYRANK z x 1", err(NOT_INT)),
            ("ZRANGE z 0 -1", bulks("b c d")),
            ("ZREMRANGEBYSCORE z (2 3", Reply::Integer(1)),
            ("ZREMRANGEBYSCORE z 1 x", err("ERR min or max is not a float")),
            ("ZREMRANGEBYLEX l (a [c", Reply::Integer(2)),
            ("ZREMRANGEBYLEX l a c", err("ERR min or max not valid string range item")),
            ("ZRANGE l 0 -1", bulks("a d")),
            ("ZREMRANGEBYSCORE z -inf +inf", Reply::Integer(2)),
            ("ZCARD z", Reply::Integer(0)),
            ("ZREMRANGEBYRANK s 0 1", err(WRONGTYPE)),
            ("ZREMRANGEBYRANK nope 0 1", Reply::Integer(0)),
        ],
    );
}

#[test]
fn pops_and_their_errors() {
    let (db, _) = manual_db();
    run(&db, "ZADD z 1 a 2 b 3 c 4 d 5 e");
    run(&db, "SET s v");
    let mpop = |key: &str, items: &[(&str, f64)]| {
        let pairs = items.iter().map(|(m, s)| Reply::Array(vec![Reply::bulk(m), Reply::Double(*s)])).collect();
        Reply::Array(vec![Reply::bulk(key), Reply::Array(pairs)])
    };
    table(
        &db,
        &[
            ("ZPOPMIN z", flat_scored("a 1")),
            ("ZPOPMAX z 2", scored("e 5 d 4")),
            ("ZPOPMIN z 0", scored("")),
            ("ZPOPMIN z -1", err("ERR value is out of range, must be positive")),
            ("ZPOPMIN z x", err("ERR value is out of range, must be positive")),
            ("ZPOPMIN z 1 2", err(SYNTAX)),
            ("ZPOPMIN nope", flat_scored("")),
            ("ZPOPMAX nope 1", scored("")),
            ("ZPOPMIN s", err(WRONGTYPE)),
            ("ZMPOP 0 z MIN", err("ERR numkeys should be greater than 0")),
            ("ZMPOP x z MIN", err("ERR numkeys should be greater than 0")),
            ("ZMPOP 1 z FOO", err(SYNTAX)),
            ("ZMPOP 2 z MIN", err(SYNTAX)),
            ("ZMPOP 1 z MIN COUNT 0", err("ERR count should be greater than 0")),
            ("ZMPOP 1 z MIN COUNT 1 COUNT 1", err(SYNTAX)),
            ("ZMPOP 1 z MIN COUNT", err(SYNTAX)),
            ("ZMPOP 1 nope MIN", Reply::NullArray),
            ("ZMPOP 2 nope s MIN", err(WRONGTYPE)),
            ("ZMPOP 2 nope z max count 10", mpop("z", &[("c", 3.0), ("b", 2.0)])),
            ("ZADD z 1 a", Reply::Integer(1)),
            ("BZPOPMIN z -1", err("ERR timeout is negative")),
            ("BZPOPMIN z x", err("ERR timeout is not a float or out of range")),
            ("BZPOPMIN z inf", err("ERR timeout is out of range")),
            ("BZPOPMIN s 0", err(WRONGTYPE)),
            ("BZPOPMAX nope z 0", Reply::Array(vec![Reply::bulk("z"), Reply::bulk("a"), Reply::Double(1.0)])),
            ("BZPOPMIN nope 0.01", Reply::NullArray),
            ("BZMPOP x 0 z MIN", err("ERR numkeys should be greater than 0")),
            ("BZMPOP x 1 z MIN", err("ERR timeout is not a float or out of range")),
            ("BZMPOP 0.01 1 z MIN", Reply::NullArray),
            ("ZADD z 1 a 2 b", Reply::Integer(2)),
            ("BZMPOP 0 1 z MAX COUNT 5", mpop("z", &[("b", 2.0), ("a", 1.0)])),
        ],
    );
}

#[test]
fn blocked_pops_wake_when_a_member_arrives() {
    let (db, _) = manual_db();
    let waiter = {
        let db = db.clone();
        std::thread::spawn(move || db.bzpopmin(&[b"q", b"r"], Some(Duration::from_secs(30))))
    };
    // Wait until the waiter blocks (or gives up trying), then feed it.
    for _ in 0..1000 {
        if db.inner.blocking.has_waiters() {
            break;
        }
        std::thread::yield_now();
    }
    assert_eq!(run(&db, "ZADD r 7 m"), Reply::Integer(1));
    assert_eq!(waiter.join().unwrap(), Ok(Some((b"r".to_vec(), b"m".to_vec(), 7.0))));
    assert_eq!(run(&db, "ZCARD r"), Reply::Integer(0));
}

#[test]
fn union_inter_diff_and_their_errors() {
    let (db, _) = manual_db();
    run(&db, "ZADD a 1 x 2 y 3 z");
    run(&db, "ZADD b 10 y 20 z 30 w");
    db.tx(&[b"set"], |tx| {
        tx.write(b"set", |v, _| {
            *v = Some(crate::db::Value::Set(Box::new([&b"y"[..], b"w", b"q"].into_iter().collect())))
        })
    });
    run(&db, "SET s v");
    table(
        &db,
        &[
            ("ZUNION 2 a b WITHSCORES", scored("x 1 y 12 z 23 w 30")),
            ("ZUNION 2 a b WEIGHTS 2 1 AGGREGATE max WITHSCORES", scored("x 2 y 10 z 20 w 30")),
            ("ZUNION 2 a b aggregate MIN", bulks("x y z w")),
            ("ZINTER 2 a b WITHSCORES", scored("y 12 z 23")),
            ("ZINTER 2 a b AGGREGATE MIN WITHSCORES", scored("y 2 z 3")),
            ("ZINTER 2 a set WITHSCORES", scored("y 3")),
            ("ZUNION 2 set a WEIGHTS 5 1 WITHSCORES", scored("x 1 z 3 q 5 w 5 y 7")),
            ("ZDIFF 2 a b WITHSCORES", scored("x 1")),
            ("ZDIFF 2 b set", bulks("z")),
            ("ZDIFF 2 a a", bulks("")),
            ("ZDIFF 1 nope", bulks("")),
            ("ZINTER 2 a nope", bulks("")),
            ("ZUNION 0 a", err("ERR at least 1 input key is needed for 'zunion' command")),
            ("ZINTER -1 a", err("ERR at least 1 input key is needed for 'zinter' command")),
            ("ZDIFF 0 a", err("ERR at least 1 input key is needed for 'zdiff' command")),
            ("ZUNIONSTORE d 0 a", err("ERR at least 1 input key is needed for 'zunionstore' command")),
            ("ZINTERSTORE d 0 a", err("ERR at least 1 input key is needed for 'zinterstore' command")),
            ("ZDIFFSTORE d 0 a", err("ERR at least 1 input key is needed for 'zdiffstore' command")),
            ("ZUNION x a", err(NOT_INT)),
            ("ZUNION 3 a b", err(SYNTAX)),
            ("ZUNION 2 a b WEIGHTS 1", err(SYNTAX)),
            ("ZUNION 2 a b WEIGHTS 1 x", err("ERR weight value is not a float")),
            ("ZUNION 2 a b AGGREGATE FOO", err(SYNTAX)),
            ("ZUNION 2 a b AGGREGATE", err(SYNTAX)),
            ("ZUNION 2 a b WEIGHTS 1 1 WEIGHTS 1 1", err(SYNTAX)),
            ("ZUNION 1 s WEIGHTS x", err(WRONGTYPE)),
            ("ZUNION 2 a s", err(WRONGTYPE)),
            ("ZDIFF 2 a b WEIGHTS 1 2", err(SYNTAX)),
            ("ZDIFF 2 a b AGGREGATE SUM", err(SYNTAX)),
            ("ZUNIONSTORE d 2 a b WITHSCORES", err(SYNTAX)),
            ("ZUNIONSTORE d 2 a b", Reply::Integer(4)),
            ("ZRANGE d 0 -1 WITHSCORES", scored("x 1 y 12 z 23 w 30")),
            ("ZINTERSTORE d 2 d a WEIGHTS 1 -1", Reply::Integer(3)),
            ("ZRANGE d 0 -1 WITHSCORES", scored("x 0 y 10 z 20")),
            ("ZDIFFSTORE d 2 a d", Reply::Integer(0)),
            ("ZCARD d", Reply::Integer(0)),
            ("ZDIFFSTORE s 1 a", Reply::Integer(3)),
            ("ZRANGE s 0 0", bulks("x")),
            ("ZINTERCARD 2 a b", Reply::Integer(2)),
            ("ZINTERCARD 2 a b LIMIT 1", Reply::Integer(1)),
            ("ZINTERCARD 2 a b limit 0", Reply::Integer(2)),
            ("ZINTERCARD 2 a b LIMIT -1", err("ERR LIMIT can't be negative")),
            ("ZINTERCARD 2 a b LIMIT x", err("ERR LIMIT can't be negative")),
            ("ZINTERCARD 2 a b WEIGHTS 1 1", err(SYNTAX)),
            ("ZINTERCARD 2 a b WITHSCORES", err(SYNTAX)),
            ("ZINTERCARD 0 a", err("ERR at least 1 input key is needed for 'zintercard' command")),
        ],
    );
}

#[test]
fn aggregation_follows_redis_float_conventions() {
    let (db, _) = manual_db();
    run(&db, "ZADD p +inf m 1 n");
    run(&db, "ZADD q -inf m 0 n");
    table(
        &db,
        &[
            // inf + -inf is 0 in SUM.
            ("ZUNION 2 p q WITHSCORES", scored("m 0 n 1")),
            ("ZINTER 2 p q WITHSCORES", scored("m 0 n 1")),
            // 0 × inf is 0.
            ("ZUNION 1 p WEIGHTS 0 WITHSCORES", scored("m 0 n 0")),
            ("ZUNION 2 p q AGGREGATE MAX WITHSCORES", scored("n 1 m inf")),
            ("ZINTER 2 p q AGGREGATE MIN WITHSCORES", scored("m -inf n 0")),
        ],
    );
}

#[test]
fn zrandmember_forms() {
    let (db, _) = manual_db();
    run(&db, "ZADD z 1 a 2 b 3 c");
    run(&db, "SET s v");
    table(
        &db,
        &[
            ("ZRANDMEMBER nope", Reply::Null),
            ("ZRANDMEMBER nope 3", bulks("")),
            ("ZRANDMEMBER s", err(WRONGTYPE)),
            ("ZRANDMEMBER z 0", bulks("")),
            ("ZRANDMEMBER z 5", bulks("c b a")),
            ("ZRANDMEMBER z 3 WITHSCORES", scored("c 3 b 2 a 1")),
            ("ZRANDMEMBER z x", err(NOT_INT)),
            ("ZRANDMEMBER z 1 WITHSCORE", err(SYNTAX)),
            ("ZRANDMEMBER z 1 WITHSCORES x", err(SYNTAX)),
            (
                "ZRANDMEMBER z -9223372036854775808",
                err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"),
            ),
            ("ZRANDMEMBER z 9223372036854775807 WITHSCORES", err("ERR value is out of range")),
        ],
    );
    for _ in 0..20 {
        let Reply::Bulk(m) = run(&db, "ZRANDMEMBER z") else { panic!() };
        assert!([&b"a"[..], b"b", b"c"].contains(&m.as_slice()));
        let Reply::Array(two) = run(&db, "ZRANDMEMBER z 2") else { panic!() };
        assert_eq!(two.len(), 2);
        assert_ne!(two[0], two[1]);
        let Reply::Pairs(many) = run(&db, "ZRANDMEMBER z -7 WITHSCORES") else { panic!() };
        assert_eq!(many.len(), 7);
    }
}

#[test]
fn zscan_forms() {
    let (db, _) = manual_db();
    run(&db, "ZADD z 1 apple 2 banana 3 avocado");
    run(&db, "SET s v");
    let scan = |cursor: &str, items: &[(&str, &str)]| {
        let flat = items.iter().flat_map(|(m, s)| [Reply::bulk(m), Reply::bulk(s)]).collect();
        Reply::Array(vec![Reply::bulk(cursor), Reply::Array(flat)])
    };
    table(
        &db,
        &[
            ("ZSCAN z x", err("ERR invalid cursor")),
            ("ZSCAN z 1x", err("ERR invalid cursor")),
            ("ZSCAN z -", err("ERR invalid cursor")),
            ("ZSCAN z 0 COUNT 0", err(SYNTAX)),
            ("ZSCAN z 0 COUNT x", err(NOT_INT)),
            ("ZSCAN z 0 MATCH", err(SYNTAX)),
            ("ZSCAN z 0 NOVALUES", err("ERR NOVALUES option can only be used in HSCAN")),
            ("ZSCAN nope 0 COUNT 0", scan("0", &[])),
            ("ZSCAN s 0 COUNT 0", err(WRONGTYPE)),
            ("ZSCAN s 0", err(WRONGTYPE)),
            ("ZSCAN z 0 MATCH b*", scan("0", &[("banana", "2")])),
        ],
    );
    let Reply::Array(all) = run(&db, "ZSCAN z 0 COUNT 100") else { panic!() };
    assert_eq!(all[0], Reply::bulk("0"));
    let Reply::Array(items) = &all[1] else { panic!() };
    assert_eq!(items.len(), 6);
}

#[test]
fn events_follow_redis() {
    let (db, _) = manual_db();
    let events = db.subscribe_keyspace(&[EventClass::ZSet, EventClass::Generic], 64);
    for cmd in [
        "ZADD z 1 a 2 b",
        "ZADD z 1 a",
        "ZINCRBY z 1 a",
        "ZREM z a",
        "ZREM z nope",
        "ZPOPMIN z",
        "ZADD y 1 a 2 b 3 c",
        "ZREMRANGEBYRANK y 0 0",
        "ZREMRANGEBYSCORE y 2 2",
        "ZREMRANGEBYLEX y - +",
        "ZADD y 1 a",
        "ZUNIONSTORE d 1 y",
        "ZINTERSTORE d 1 y",
        "ZDIFFSTORE d 1 y",
        "ZRANGESTORE d y 0 -1",
        "ZRANGESTORE d nope 0 -1",
        "ZPOPMAX y",
    ] {
        assert!(!run(&db, cmd).is_error(), "{cmd}");
    }
    let got: Vec<String> = std::iter::from_fn(|| events.try_recv())
        .map(|e| format!("{}:{}", e.name, String::from_utf8_lossy(&e.key)))
        .collect();
    let want = [
        "zadd:z",
        "zincr:z",
        "zrem:z",
        "zpopmin:z",
        "del:z",
        "zadd:y",
        "zremrangebyrank:y",
        "zremrangebyscore:y",
        "zremrangebylex:y",
        "del:y",
        "zadd:y",
        "zunionstore:d",
        "zinterstore:d",
        "zdiffstore:d",
        "zrangestore:d",
        "del:d",
        "zpopmax:y",
        "del:y",
    ];
    assert_eq!(got, want);
}

#[test]
fn writes_keep_the_ttl_and_stores_clear_it() {
    let (db, _) = manual_db();
    run(&db, "ZADD z 1 a 2 b");
    let k: &[u8] = b"z";
    let ttl = |db: &Db| db.tx(&[k], |tx| tx.read(k, |_, d| d).flatten());
    let deadline = db.tx(&[k], |tx| {
        let d = tx.now() + 10_000;
        tx.write(k, |_, dl| *dl = Some(d));
        d
    });
    for cmd in [
        "ZADD z 3 c",
        "ZINCRBY z 1 a",
        "ZREM z c",
        "ZPOPMIN z",
        "ZADD z 5 e 6 f",
        "ZREMRANGEBYRANK z 0 0",
        "ZREMRANGEBYSCORE z 100 200",
        "ZMPOP 1 z MAX",
    ] {
        assert!(!run(&db, cmd).is_error(), "{cmd}");
        assert_eq!(ttl(&db), Some(deadline), "{cmd}");
    }
    assert_eq!(run(&db, "ZUNIONSTORE z 1 z"), Reply::Integer(1));
    assert_eq!(ttl(&db), None);
}

#[test]
fn weights_follow_the_members() {
    let (db, _) = manual_db();
    run(&db, "ZADD z 1 a");
    let one = db.used_memory();
    for i in 0..500 {
        run(&db, &format!("ZADD z {i} member-{i}"));
    }
    let many = db.used_memory();
    assert!(many > one + 500 * 30, "{one} -> {many}");
    run(&db, "ZREMRANGEBYRANK z 0 -1");
    assert_eq!(db.used_memory(), 0);
}
