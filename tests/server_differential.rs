#![cfg(feature = "server")]
//! Differential test: random command sequences over a small alphabet of
//! keys and members, sent to embercache's RESP server and to a real
//! `redis-server` (started here on a free loopback port, killed at the
//! end), every reply compared as raw RESP bytes, or after the few
//! normalizations listed in `differential/compare.rs` (unordered replies
//! sorted, clock readings within a tolerance, Redis 7.0's `%.17g` scores).
//!
//! Needs `redis-server` on `PATH` (or `$REDIS_SERVER`); without it the
//! tests are skipped loudly, except under `CI=true`, where they fail.
//! `PROPTEST_CASES` sets the number of cases, `DIFF_COMMANDS` their
//! longest sequence (default 40).

mod differential;
#[path = "support/redis.rs"]
mod redis_support;

use differential::generate;

/// Every deterministic command of the keyspace, in RESP2.
#[test]
fn resp2_replies_match_redis() {
    differential::run("resp2_replies_match_redis", file!(), false, generate::all_commands(), 256);
}

/// Replies with RESP3 shapes (doubles, maps, sets, pairs, nulls) after
/// `HELLO 3` on both.
#[test]
fn resp3_replies_match_redis() {
    differential::run(
        "resp3_replies_match_redis",
        file!(),
        true,
        [generate::resp3_commands(), generate::all_commands()].concat(),
        128,
    );
}

/// One example per normalization (see `differential/compare.rs`), so that
/// each is known to be needed and to hold against the real server.
#[test]
fn normalizations_accept_their_examples() {
    differential::run_fixed(
        "normalizations_accept_their_examples",
        false,
        &[
            // Unordered replies.
            &[
                &["SADD", "s", "c", "a", "b", "1", "2"],
                &["SMEMBERS", "s"],
                &["HSET", "h", "b", "1", "a", "2"],
                &["HGETALL", "h"],
            ],
            // Clock readings.
            &[&["SET", "k", "v", "EX", "100"], &["TTL", "k"], &["PTTL", "k"], &["PEXPIRETIME", "k"]],
            // %.17g scores.
            &[
                &["ZADD", "z", "0.1", "m", "1e-7", "n"],
                &["ZSCORE", "z", "m"],
                &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
            ],
            // SCAN followed to the end.
            &[&["MSET", "a", "1", "b", "2", "c", "3", "d", "4", "e", "5", "f", "6"], &["SCAN", "0", "COUNT", "1000"]],
            // BITCOUNT/BITPOS option errors before the lookup (7.2).
            &[
                &["RPUSH", "l", "x"],
                &["SET", "k", "v"],
                &["BITCOUNT", "l", "0"],
                &["BITCOUNT", "nokey", "0", "1", "WORD"],
                &["BITCOUNT", "k", "-1", "-2", "WORD"],
                &["BITPOS", "l", "1", "x"],
            ],
            // ZRANK's fourth argument (7.2).
            &[&["ZADD", "z", "1", "m"], &["ZRANK", "z", "m", "EXTRA"]],
            // A corrupt sparse HyperLogLog: the case stops there.
            &[&["PFADD", "p", "-2"], &["APPEND", "p", "1"], &["PFADD", "p", "1"], &["GET", "p"]],
        ],
    );
}
