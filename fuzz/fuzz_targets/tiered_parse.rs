//! Feeds arbitrary bytes to the parsers of the `tiered` feature: what a
//! Redis server or another client can put before them (a `CLUSTER NODES`
//! reply, a keyspace-notification channel, a stored value decoded as a
//! typed cache's value, a string or hash reply). Any panic is a bug.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    embercache::tiered::fuzz_parsers(data);
});
