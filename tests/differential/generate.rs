//! Random commands over a small alphabet of keys, members and numbers, so
//! that commands collide: every deterministic command of the keyspace,
//! with its options (valid, conflicting and malformed), wrong types, wrong
//! arities and unknown commands.
//!
//! Absolute times are written `@S+n` (seconds) and `@MS+n` (milliseconds)
//! from a base far in the future; the runner substitutes the same number
//! for both servers, so deadlines compare exactly.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::Union;

/// One command's arguments, its name first.
pub(crate) type Args = Vec<Vec<u8>>;
/// A strategy for a run of arguments.
type P = BoxedStrategy<Args>;

pub(crate) const KEYS: &[&str] = &["a", "b", "c", "d", "e", "f"];
const MEMBERS: &[&str] = &["m", "n", "o", "", "1", "-2", "x y", "zz"];
const VALUES: &[&str] = &[
    "",
    "v",
    "0",
    "1",
    "-1",
    "10",
    "-0",
    "1.5",
    "0.1",
    "inf",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "abc",
    " 7",
    "1e3",
    "\0\u{7f}é",
    "007",
    // Past Redis's 64-byte listpack limit (hashes and lists convert).
    "a long value, longer than sixty-four bytes, so that packed encodings convert",
];
const INTS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "3",
    "-3",
    "10",
    "-10",
    "100",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "-0",
    "x",
    "",
    "1.0",
    " 1",
    "+1",
];
const INDEXES: &[&str] = &["0", "1", "2", "-1", "-2", "-100", "100", "3", "x", "-9223372036854775808"];
const FLOATS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "1.5",
    "-2.5",
    "0.1",
    "1e3",
    "inf",
    "-inf",
    "+inf",
    "nan",
    "x",
    "",
    "1e308",
    "3",
    " 1",
    "1e-7",
    "0x10",
    "1.7976931348623157e308",
    "1e-400",
    "0x1p-2",
    "5.",
];
const COUNTS: &[&str] = &["0", "1", "2", "3", "-1", "100", "x", "-100"];
const SCORE_BOUNDS: &[&str] = &[
    "-inf", "+inf", "inf", "0", "(0", "1", "(1", "1.5", "(1.5", "-2.5", "x", "(", "((1", "[1", "nan", "(inf", "3", "",
    " 1", "1e400", "(0x10", "5.", "1e", "1 ",
];
const LEX_BOUNDS: &[&str] = &["-", "+", "[m", "(m", "[n", "(o", "[", "(", "m", "[zz", "(1", "[x y", "[-2", "(", "[~"];
const PATTERNS: &[&str] = &["*", "a", "[a-c]", "?", "*z*", "m*", "\\*", "[^a]", "[", "x y"];
/// Relative seconds: large (nothing expires while a case runs), zero,
/// negative (deletes at once), malformed, overflowing.
const SECS: &[&str] =
    &["100", "1000", "100000", "0", "-1", "x", "9223372036854775807", "-9223372036854775808", "1.5", ""];
const MILLIS: &[&str] = &["100000", "1000000", "100000000", "0", "-1", "x", "9223372036854775807"];
const AT_SECS: &[&str] = &["@S+0", "@S+1000", "@S+2000", "@MS+0", "1", "0", "-1", "x"];
const AT_MILLIS: &[&str] = &["@MS+0", "@MS+500000", "@MS+1000000", "@S+0", "1", "0", "-1", "x"];

/// Parts a command is made of: a literal word or a strategy of arguments.
pub(crate) trait Part {
    fn part(self) -> P;
}

impl Part for &'static str {
    fn part(self) -> P {
        Just(vec![self.as_bytes().to_vec()]).boxed()
    }
}

impl Part for P {
    fn part(self) -> P {
        self
    }
}

/// A command (or fragment): its parts in order.
macro_rules! c {
    ($($p:expr),+ $(,)?) => { seq(vec![$(Part::part($p)),+]) };
}

fn seq(parts: Vec<P>) -> P {
    parts.prop_map(|v| v.concat()).boxed()
}

/// One of `xs`.
fn pick(xs: &'static [&'static str]) -> P {
    prop::sample::select(xs).prop_map(|s| vec![s.as_bytes().to_vec()]).boxed()
}

fn alt(ps: Vec<P>) -> P {
    Union::new(ps).boxed()
}

fn opt(p: P) -> P {
    prop_oneof![Just(Vec::new()), p].boxed()
}

fn rep(p: P, n: std::ops::Range<usize>) -> P {
    vec(p, n).prop_map(|v| v.concat()).boxed()
}

fn key() -> P {
    pick(KEYS)
}
fn keys(n: std::ops::Range<usize>) -> P {
    rep(key(), n)
}
/// The members: [`MEMBERS`], or with `$DIFF_BIG_MEMBERS` set, 300 of
/// them (m0…m299), so collections grow past Redis's listpack and intset
/// limits (an exploration knob: lexicographic ranges over big sorted sets
/// of mixed scores are not deterministic in Redis).
fn member() -> P {
    if std::env::var_os("DIFF_BIG_MEMBERS").is_some() {
        static BIG: std::sync::LazyLock<Vec<&'static str>> =
            std::sync::LazyLock::new(|| (0..300).map(|i| &*Box::leak(format!("m{i}").into_boxed_str())).collect());
        return prop::sample::select(BIG.as_slice()).prop_map(|s| vec![s.as_bytes().to_vec()]).boxed();
    }
    pick(MEMBERS)
}
fn value() -> P {
    pick(VALUES)
}
fn int() -> P {
    pick(INTS)
}
fn index() -> P {
    pick(INDEXES)
}
fn float() -> P {
    pick(FLOATS)
}
fn count() -> P {
    pick(COUNTS)
}
fn score_bound() -> P {
    pick(SCORE_BOUNDS)
}
fn lex_bound() -> P {
    pick(LEX_BOUNDS)
}

/// `numkeys key…`, numkeys usually right, sometimes not (0, too many, negative, malformed).
fn numkeys() -> P {
    (vec(pick(KEYS), 1..4), 0..12u8)
        .prop_map(|(ks, wrong)| {
            let n = match wrong {
                0 => b"0".to_vec(),
                1 => (ks.len() + 1).to_string().into_bytes(),
                2 => b"-1".to_vec(),
                3 => b"x".to_vec(),
                _ => ks.len().to_string().into_bytes(),
            };
            let mut out = vec![n];
            out.extend(ks.into_iter().flatten());
            out
        })
        .boxed()
}

/// ZUNION/ZINTER/ZDIFF(STORE) arguments after the name (and destination):
/// numkeys, keys, then WEIGHTS (one per key, usually), AGGREGATE, WITHSCORES.
fn zset_algebra(weights: bool, withscores: bool) -> P {
    (
        vec(prop::sample::select(KEYS), 1..4),
        vec(prop::sample::select(FLOATS), 4),
        0..4u8,
        0..6u8,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(move |(ks, ws, w, agg, with, swap)| {
            let mut out = vec![ks.len().to_string().into_bytes()];
            out.extend(ks.iter().map(|k| k.as_bytes().to_vec()));
            let mut opts: Vec<Vec<Vec<u8>>> = Vec::new();
            if weights && w > 0 {
                // Usually one weight per key; w == 1: one fewer (a syntax error when > 0 keys).
                let n = if w == 1 { ks.len() - 1 } else { ks.len() };
                let mut o = vec![b"WEIGHTS".to_vec()];
                o.extend(ws.iter().take(n).map(|s| s.as_bytes().to_vec()));
                opts.push(o);
            }
            if weights && agg < 4 {
                let a = ["SUM", "MIN", "MAX", "AVG"][agg as usize];
                opts.push(vec![b"AGGREGATE".to_vec(), a.as_bytes().to_vec()]);
            }
            if withscores && with {
                opts.push(vec![b"WITHSCORES".to_vec()]);
            }
            if swap {
                opts.reverse();
            }
            out.extend(opts.into_iter().flatten());
            out
        })
        .boxed()
}

fn strings() -> Vec<P> {
    let set_option = alt(vec![
        c!["NX"],
        c!["XX"],
        c!["GET"],
        c!["KEEPTTL"],
        c!["EX", pick(SECS)],
        c!["PX", pick(MILLIS)],
        // No past times: Redis 7.0 keeps such a key until its expiry cycle
        // finds it (DBSIZE counts it meanwhile), which is not deterministic.
        c!["EXAT", pick(&["@S+0", "@S+1000", "@MS+0", "0", "-1", "x"])],
        c!["PXAT", pick(&["@MS+0", "@MS+500000", "0", "-1", "x"])],
        c!["ex"],
        c!["BOGUS"],
    ]);
    let getex_option = alt(vec![
        c!["EX", pick(SECS)],
        c!["PX", pick(MILLIS)],
        c!["EXAT", pick(AT_SECS)],
        c!["PXAT", pick(AT_MILLIS)],
        c!["PERSIST"],
        c!["KEEPTTL"],
    ]);
    vec![
        c!["SET", key(), value(), rep(set_option.clone(), 0..2)],
        c!["SET", key(), value(), rep(set_option, 0..4)],
        c!["GET", key()],
        c!["GETDEL", key()],
        c!["GETEX", key(), rep(getex_option, 0..3)],
        c!["GETSET", key(), value()],
        c!["SETNX", key(), value()],
        c!["SETEX", key(), pick(SECS), value()],
        c!["PSETEX", key(), pick(MILLIS), value()],
        c!["MSET", rep(c![key(), value()], 1..4)],
        c!["MSET", key(), value(), key()],
        c!["MSETNX", rep(c![key(), value()], 1..3)],
        c!["MGET", keys(1..4)],
        c!["APPEND", key(), value()],
        c!["STRLEN", key()],
        c!["SETRANGE", key(), pick(&["0", "1", "3", "10", "-1", "x", "536870912"]), value()],
        c!["GETRANGE", key(), index(), index()],
        c!["SUBSTR", key(), index(), index()],
        c!["INCR", key()],
        c!["DECR", key()],
        c!["INCRBY", key(), int()],
        c!["DECRBY", key(), int()],
        c!["INCRBYFLOAT", key(), float()],
    ]
}

fn bitmaps() -> Vec<P> {
    let bit_offset = pick(&["0", "1", "7", "8", "15", "100", "-1", "x", "4294967296"]);
    let unit = opt(pick(&["BYTE", "BIT", "bit", "WORD"]));
    let field_type = pick(&["u1", "i1", "u8", "i8", "u4", "i5", "i64", "u63", "u64", "i65", "i0", "x8", "U8"]);
    let field_offset = pick(&["0", "1", "7", "#1", "#2", "100", "-1", "x", "#-1", "4294967296"]);
    let field_op = alt(vec![
        c!["GET", field_type.clone(), field_offset.clone()],
        c!["SET", field_type.clone(), field_offset.clone(), int()],
        c!["INCRBY", field_type, field_offset, int()],
        c!["OVERFLOW", pick(&["WRAP", "SAT", "FAIL", "sat", "NONE"])],
        c!["GET"],
    ]);
    let ro_type = pick(&["u8", "i8", "u4", "i64", "u64"]);
    vec![
        c!["SETBIT", key(), bit_offset.clone(), pick(&["0", "1", "2", "x"])],
        c!["GETBIT", key(), bit_offset],
        c!["BITCOUNT", key()],
        c!["BITCOUNT", key(), index(), index(), unit.clone()],
        c!["BITPOS", key(), pick(&["0", "1", "2"])],
        c!["BITPOS", key(), pick(&["0", "1"]), index(), opt(c![index(), unit])],
        c!["BITOP", pick(&["AND", "OR", "XOR", "NOT", "and", "NAND"]), key(), keys(1..4)],
        c!["BITFIELD", key(), rep(field_op, 0..4)],
        c!["BITFIELD_RO", key(), rep(c!["GET", ro_type, pick(&["0", "3", "#1", "x"])], 0..3)],
    ]
}

fn lists() -> Vec<P> {
    let end = || pick(&["LEFT", "RIGHT", "left", "UP"]);
    // RANK not -9223372036854775808: see LREM.
    let rank = pick(&["1", "-1", "2", "-2", "0", "x", "9223372036854775807", "-9223372036854775807"]);
    let lpos_option = alt(vec![c!["RANK", rank], c!["COUNT", count()], c!["MAXLEN", count()], c!["BOGUS"], c!["RANK"]]);
    vec![
        c!["LPUSH", key(), rep(member(), 1..4)],
        c!["RPUSH", key(), rep(member(), 1..4)],
        c!["RPUSH", key(), rep(member(), 20..60)],
        c!["LPUSHX", key(), rep(member(), 1..3)],
        c!["RPUSHX", key(), rep(member(), 1..3)],
        c!["LPOP", key(), opt(count())],
        c!["RPOP", key(), opt(count())],
        c!["LLEN", key()],
        c!["LINDEX", key(), index()],
        c!["LSET", key(), index(), member()],
        c!["LRANGE", key(), index(), index()],
        c!["LTRIM", key(), index(), index()],
        // Not -9223372036854775808: Redis 7.0 negates it (overflow), 7.2 refuses it.
        c!["LREM", key(), pick(&["0", "1", "2", "-1", "-2", "100", "-100", "x", "9223372036854775807"]), member()],
        c!["LINSERT", key(), pick(&["BEFORE", "AFTER", "after", "MIDDLE"]), member(), member()],
        c!["LPOS", key(), member(), rep(lpos_option, 0..3)],
        c!["LMOVE", key(), key(), end(), end()],
        c!["RPOPLPUSH", key(), key()],
        c!["LMPOP", numkeys(), end(), opt(c!["COUNT", count()])],
    ]
}

fn hashes() -> Vec<P> {
    let field = member;
    vec![
        c!["HSET", key(), rep(c![field(), value()], 1..4)],
        c!["HSET", key(), rep(c![field(), value()], 20..60)],
        c!["HSET", key(), field()],
        c!["HSETNX", key(), field(), value()],
        c!["HMSET", key(), rep(c![field(), value()], 1..3)],
        c!["HGET", key(), field()],
        c!["HMGET", key(), rep(field(), 1..4)],
        c!["HDEL", key(), rep(field(), 1..3)],
        c!["HEXISTS", key(), field()],
        c!["HLEN", key()],
        c!["HSTRLEN", key(), field()],
        c!["HKEYS", key()],
        c!["HVALS", key()],
        c!["HGETALL", key()],
        c!["HINCRBY", key(), field(), int()],
        c!["HINCRBYFLOAT", key(), field(), float()],
        // With a count at least the hash's size, the whole hash: comparable as a set.
        c!["HRANDFIELD", key(), "100000", opt(c!["WITHVALUES"])],
        c!["HRANDFIELD", key(), "0"],
        c!["HSCAN", key(), "0", opt(c!["MATCH", pick(PATTERNS)]), "COUNT", "1000"],
    ]
}

fn sets() -> Vec<P> {
    vec![
        c!["SADD", key(), rep(member(), 1..4)],
        c!["SADD", key(), rep(member(), 20..60)],
        c!["SREM", key(), rep(member(), 1..3)],
        c!["SCARD", key()],
        c!["SISMEMBER", key(), member()],
        c!["SMISMEMBER", key(), rep(member(), 1..4)],
        c!["SMEMBERS", key()],
        c!["SINTER", keys(1..4)],
        c!["SUNION", keys(1..4)],
        c!["SDIFF", keys(1..4)],
        c!["SINTERSTORE", key(), keys(1..4)],
        c!["SUNIONSTORE", key(), keys(1..4)],
        c!["SDIFFSTORE", key(), keys(1..4)],
        c!["SINTERCARD", numkeys(), opt(c!["LIMIT", count()])],
        c!["SMOVE", key(), key(), member()],
        // Counts at least the set's size (or 0): deterministic as sets.
        c!["SRANDMEMBER", key(), pick(&["100000", "0"])],
        c!["SPOP", key(), pick(&["100000", "0", "-1"])],
        c!["SSCAN", key(), "0", opt(c!["MATCH", pick(PATTERNS)]), "COUNT", "1000"],
    ]
}

fn zsets() -> Vec<P> {
    let zadd_flag = pick(&["NX", "XX", "GT", "LT", "CH", "INCR", "nx", "ch"]);
    let limit = || c!["LIMIT", pick(&["0", "1", "2", "-1", "x"]), pick(&["-1", "0", "1", "2", "10", "x"])];
    let zrange_index = c!["ZRANGE", key(), index(), index(), opt(c!["REV"]), opt(c!["WITHSCORES"])];
    let zrange_score = c![
        "ZRANGE",
        key(),
        score_bound(),
        score_bound(),
        "BYSCORE",
        opt(c!["REV"]),
        opt(limit()),
        opt(c!["WITHSCORES"])
    ];
    let zrange_lex = c!["ZRANGE", key(), lex_bound(), lex_bound(), "BYLEX", opt(c!["REV"]), opt(limit())];
    let zrange_option =
        alt(vec![c!["BYSCORE"], c!["BYLEX"], c!["REV"], c!["WITHSCORES"], limit(), c!["LIMIT", "0"], c!["FOO"]]);
    let zrange_any = alt(vec![index(), score_bound(), lex_bound()]);
    let zrange_chaos = c!["ZRANGE", key(), zrange_any.clone(), zrange_any.clone(), rep(zrange_option.clone(), 0..4)];
    let zrangestore = c!["ZRANGESTORE", key(), key(), zrange_any.clone(), zrange_any, rep(zrange_option, 0..3)];
    let min_max = || pick(&["MIN", "MAX", "min", "MID"]);
    vec![
        c!["ZADD", key(), rep(zadd_flag.clone(), 0..3), rep(c![float(), member()], 1..3)],
        c!["ZADD", key(), rep(zadd_flag, 0..4), rep(c![pick(&["1", "2", "-1", "1.5", "inf"]), member()], 0..2)],
        c!["ZADD", key(), float(), member(), float()],
        c!["ZADD", key(), rep(c![pick(&["0", "1", "2.5", "-1"]), member()], 20..60)],
        c!["ZINCRBY", key(), float(), member()],
        c!["ZSCORE", key(), member()],
        c!["ZMSCORE", key(), rep(member(), 1..4)],
        c!["ZCARD", key()],
        c!["ZCOUNT", key(), score_bound(), score_bound()],
        c!["ZLEXCOUNT", key(), lex_bound(), lex_bound()],
        c!["ZRANK", key(), member()],
        c!["ZREVRANK", key(), member()],
        c!["ZREM", key(), rep(member(), 1..3)],
        zrange_index,
        zrange_score,
        zrange_lex,
        zrange_chaos,
        zrangestore,
        c!["ZREVRANGE", key(), index(), index(), opt(c!["WITHSCORES"])],
        c!["ZRANGEBYSCORE", key(), score_bound(), score_bound(), opt(c!["WITHSCORES"]), opt(limit())],
        c!["ZREVRANGEBYSCORE", key(), score_bound(), score_bound(), opt(limit()), opt(c!["WITHSCORES"])],
        c!["ZRANGEBYLEX", key(), lex_bound(), lex_bound(), opt(limit())],
        c!["ZREVRANGEBYLEX", key(), lex_bound(), lex_bound(), opt(limit())],
        c!["ZREMRANGEBYRANK", key(), index(), index()],
        c!["ZREMRANGEBYSCORE", key(), score_bound(), score_bound()],
        c!["ZREMRANGEBYLEX", key(), lex_bound(), lex_bound()],
        c!["ZPOPMIN", key(), opt(count())],
        c!["ZPOPMAX", key(), opt(count())],
        c!["ZMPOP", numkeys(), min_max(), opt(c!["COUNT", count()])],
        c!["ZUNION", zset_algebra(true, true)],
        c!["ZINTER", zset_algebra(true, true)],
        c!["ZDIFF", zset_algebra(false, true)],
        c!["ZUNIONSTORE", key(), zset_algebra(true, false)],
        c!["ZINTERSTORE", key(), zset_algebra(true, false)],
        c!["ZDIFFSTORE", key(), zset_algebra(false, false)],
        c!["ZINTERCARD", numkeys(), opt(c!["LIMIT", count()])],
        c!["ZRANDMEMBER", key(), "100000", opt(c!["WITHSCORES"])],
        c!["ZSCAN", key(), "0", opt(c!["MATCH", pick(PATTERNS)]), "COUNT", "1000"],
    ]
}

fn generic() -> Vec<P> {
    let relative_flag = opt(pick(&["NX", "XX"]));
    let any_flag = rep(pick(&["NX", "XX", "GT", "LT", "gt", "YY"]), 0..2);
    vec![
        c!["DEL", keys(1..4)],
        c!["UNLINK", keys(1..3)],
        c!["EXISTS", keys(1..4)],
        c!["TOUCH", keys(1..3)],
        c!["TYPE", key()],
        c!["RENAME", key(), key()],
        c!["RENAMENX", key(), key()],
        c!["COPY", key(), key(), rep(pick(&["REPLACE", "replace", "BOGUS"]), 0..2)],
        c!["COPY", key(), key(), "DB", pick(&["0", "1", "2", "x"]), rep(pick(&["REPLACE", "BOGUS"]), 0..2)],
        c!["MOVE", key(), pick(&["0", "1", "2", "-1", "x", "99999999999"])],
        c!["SWAPDB", pick(&["0", "1", "2", "x"]), pick(&["0", "1", "x"])],
        c!["EXPIRE", key(), pick(SECS), relative_flag.clone()],
        c!["PEXPIRE", key(), pick(MILLIS), relative_flag],
        c!["EXPIREAT", key(), pick(AT_SECS), any_flag.clone()],
        c!["PEXPIREAT", key(), pick(AT_MILLIS), any_flag],
        c!["TTL", key()],
        c!["PTTL", key()],
        c!["EXPIRETIME", key()],
        c!["PEXPIRETIME", key()],
        c!["PERSIST", key()],
        c!["DBSIZE"],
        c!["KEYS", pick(PATTERNS)],
        c![
            "SCAN",
            "0",
            opt(c!["MATCH", pick(PATTERNS)]),
            "COUNT",
            "1000",
            opt(c!["TYPE", pick(&["string", "list", "hash", "set", "zset", "none"])])
        ],
        c!["PFADD", key(), rep(member(), 0..3)],
        c!["PFCOUNT", keys(1..3)],
        c!["PFMERGE", key(), keys(0..3)],
        c!["PUBLISH", member(), value()],
        c!["PUBSUB", pick(&["CHANNELS", "NUMPAT", "channels", "NOSUCH"]), opt(pick(PATTERNS))],
        c!["PUBSUB", "NUMSUB", rep(member(), 0..3)],
        c!["SELECT", pick(&["0", "1", "x", "-1", "16", ""])],
        c!["PING", opt(value())],
        c!["ECHO", value()],
        c!["NOSUCHCOMMAND", opt(value())],
    ]
}

/// The blocking commands, with timeouts that end them quickly when there is
/// nothing to take (never 0 or infinite: nothing else pushes), negative
/// or malformed ones.
fn blocking() -> Vec<P> {
    // Not absurd ones (1e400, 1e20): Redis converts them to milliseconds
    // with undefined results (1e400 blocks for good).
    // Nor a negative one above -0.001 s: Redis rounds it up to 0 (forever).
    let timeout = || pick(&["0.01", "0.001", "-1", "x", "", "-0.002", "0x1p-7"]);
    let end = || pick(&["LEFT", "RIGHT", "UP"]);
    let min_max = || pick(&["MIN", "MAX", "MID"]);
    vec![
        c!["BLPOP", keys(1..3), timeout()],
        c!["BRPOP", keys(1..3), timeout()],
        c!["BLMOVE", key(), key(), end(), end(), timeout()],
        c!["BRPOPLPUSH", key(), key(), timeout()],
        c!["BLMPOP", timeout(), numkeys(), end(), opt(c!["COUNT", count()])],
        c!["BZPOPMIN", keys(1..3), timeout()],
        c!["BZPOPMAX", keys(1..3), timeout()],
        c!["BZMPOP", timeout(), numkeys(), min_max(), opt(c!["COUNT", count()])],
    ]
}

/// SCAN and its kin with any options, malformed ones included (followed to
/// the end of their iteration by the runner).
fn scans() -> Vec<P> {
    let option = || {
        alt(vec![
            c!["MATCH", pick(PATTERNS)],
            c!["COUNT", pick(&["1", "2", "0", "-1", "x", "1000"])],
            c!["TYPE", pick(&["string", "LIST", "zset", "nosuch"])],
            c!["BOGUS"],
            c!["COUNT"],
        ])
    };
    let cursor = || pick(&["0", "x", "", "-0", " 0"]);
    vec![
        c!["SCAN", cursor(), rep(option(), 0..3)],
        c!["SSCAN", key(), cursor(), rep(option(), 0..3)],
        c!["HSCAN", key(), cursor(), rep(option(), 0..3)],
        c!["ZSCAN", key(), cursor(), rep(option(), 0..3)],
    ]
}

/// Every command family's generators; `$DIFF_FAMILIES` (comma-separated
/// names: strings, bitmaps, lists, hashes, sets, zsets, generic, blocking,
/// scans)
/// picks some, to chase a divergence.
pub(crate) fn all_commands() -> Vec<P> {
    type Family = (&'static str, fn() -> Vec<P>);
    let families: [Family; 9] = [
        ("strings", strings),
        ("bitmaps", bitmaps),
        ("lists", lists),
        ("hashes", hashes),
        ("sets", sets),
        ("zsets", zsets),
        ("generic", generic),
        ("blocking", blocking),
        ("scans", scans),
    ];
    let wanted = std::env::var("DIFF_FAMILIES").ok();
    let chosen = |name: &str| wanted.as_deref().is_none_or(|w| w.split(',').any(|x| x.trim() == name));
    families.iter().filter(|(name, _)| chosen(name)).flat_map(|(_, f)| f()).collect()
}

/// A generated command, shown as redis-cli takes it.
#[derive(Clone)]
pub(crate) struct Cmd(pub(crate) Args);

impl std::fmt::Debug for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&render(&self.0))
    }
}

/// A command as redis-cli would take it.
pub(crate) fn render(args: &[Vec<u8>]) -> String {
    let mut s = String::new();
    for (i, a) in args.iter().enumerate() {
        let a = String::from_utf8_lossy(a);
        let plain = !a.is_empty() && a.chars().all(|c| c.is_ascii_graphic() && c != '"' && c != '\'' && c != '\\');
        if i > 0 {
            s.push(' ');
        }
        if plain {
            s.push_str(&a);
        } else {
            s.push_str(&format!("{a:?}"));
        }
    }
    s
}

/// A command: usually as generated; sometimes with its name lowercased,
/// cut short (wrong arity) or with a stray argument appended.
pub(crate) fn command(families: Vec<P>) -> BoxedStrategy<Cmd> {
    (alt(families), 0..20u8, any::<prop::sample::Index>())
        .prop_map(|(mut args, mutate, at)| {
            match mutate {
                0 => args[0].make_ascii_lowercase(),
                1 if args.len() > 1 => {
                    args.truncate(1 + at.index(args.len() - 1));
                    // Without a count these answer a random pick: not comparable.
                    let random = ["HRANDFIELD", "SRANDMEMBER", "SPOP", "ZRANDMEMBER"];
                    if args.len() == 2 && random.iter().any(|r| args[0].eq_ignore_ascii_case(r.as_bytes())) {
                        args.push(b"0".to_vec());
                    }
                }
                2 => args.push(b"EXTRA".to_vec()),
                _ => {}
            }
            Cmd(args)
        })
        .boxed()
}

/// The RESP3 subset: commands whose replies have RESP3 shapes (doubles,
/// maps, sets, pairs, nulls), over the same alphabet.
pub(crate) fn resp3_commands() -> Vec<P> {
    let fills = vec![
        c!["ZADD", key(), rep(c![float(), member()], 1..4)],
        c!["HSET", key(), rep(c![member(), value()], 1..4)],
        c!["SADD", key(), rep(member(), 1..4)],
        c!["RPUSH", key(), rep(member(), 1..3)],
        c!["SET", key(), value()],
    ];
    let reads = vec![
        c!["ZSCORE", key(), member()],
        c!["ZMSCORE", key(), rep(member(), 1..3)],
        c!["ZINCRBY", key(), float(), member()],
        c!["ZADD", key(), "INCR", float(), member()],
        c!["ZRANGE", key(), index(), index(), opt(c!["REV"]), "WITHSCORES"],
        c!["ZRANGE", key(), score_bound(), score_bound(), "BYSCORE", "WITHSCORES"],
        c!["ZRANGEBYSCORE", key(), score_bound(), score_bound(), "WITHSCORES"],
        c!["ZPOPMIN", key(), opt(count())],
        c!["ZPOPMAX", key(), opt(count())],
        c!["ZMPOP", numkeys(), pick(&["MIN", "MAX"]), opt(c!["COUNT", count()])],
        c!["ZUNION", zset_algebra(true, true)],
        c!["ZINTER", zset_algebra(true, true)],
        c!["ZDIFF", zset_algebra(false, true)],
        c!["ZRANDMEMBER", key(), "100000", "WITHSCORES"],
        c!["ZSCAN", key(), "0", "COUNT", "1000"],
        c!["HGETALL", key()],
        c!["HRANDFIELD", key(), "100000", "WITHVALUES"],
        c!["HSCAN", key(), "0", "COUNT", "1000"],
        c!["HINCRBYFLOAT", key(), member(), float()],
        c!["INCRBYFLOAT", key(), float()],
        c!["SMEMBERS", key()],
        c!["SINTER", keys(1..3)],
        c!["SUNION", keys(1..3)],
        c!["SDIFF", keys(1..3)],
        c!["SMISMEMBER", key(), rep(member(), 1..3)],
        c!["GET", key()],
        c!["LPOP", key(), opt(count())],
        c!["LMPOP", numkeys(), "LEFT", opt(c!["COUNT", count()])],
        c!["LPOS", key(), member(), opt(c!["COUNT", count()])],
        c!["HMGET", key(), rep(member(), 1..3)],
        c!["TTL", key()],
        c!["EXISTS", keys(1..3)],
        c!["KEYS", "*"],
        c!["SCAN", "0", "COUNT", "1000"],
        c!["NOSUCHCOMMAND"],
    ];
    [fills, reads].concat()
}
