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
