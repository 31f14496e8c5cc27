//! Feeds arbitrary command sequences to `Db::execute` under a manual clock,
//! with and without a memory bound, and validates every internal invariant
//! (engine structure, weights equal to footprints, no empty aggregates)
//! after each command. Any panic is a bug: bad input must give an error
//! reply.
//!
//! Input: the first byte picks the configuration; then commands separated
//! by `\n`, each a list of arguments separated by spaces. A first argument
//! of one byte below 0x80 picks a command name from the table (so the
//! fuzzer reaches every command); `~N` as a whole command advances the
//! clock by N milliseconds.

#![no_main]

use embercache::Db;
use embercache::db::{MaxMemoryPolicy, command};
use embercache::time::ManualClock;
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    let Some((&config, script)) = data.split_first() else { return };
    let clock = ManualClock::new();
    let maxmemory = if config & 0x80 != 0 { 4096 } else { 0 };
    let Ok(db) = Db::builder()
        .clock(clock.clone())
        .shards(usize::from(config >> 3 & 3) + 1)
        .maxmemory(maxmemory)
        .maxmemory_policy(MaxMemoryPolicy::ALL[usize::from(config & 7)])
        .build()
    else {
        return;
    };
    let mut names: Vec<&'static str> =
        command::all().filter(|c| c.flags & command::BLOCKING == 0).map(|c| c.name).collect();
    names.sort_unstable();
    for line in script.split(|&b| b == b'\n').take(64) {
        if let Some(ms) = line.strip_prefix(b"~") {
            let ms = ms.iter().fold(0u64, |a, &d| a.wrapping_mul(10).wrapping_add(u64::from(d % 10))) % 100_000;
            clock.advance(Duration::from_millis(ms));
            continue;
        }
        let mut args: Vec<&[u8]> = line.split(|&b| b == b' ').take(32).collect();
        if let Some(first) = args.first_mut()
            && let [b] = **first
            && b < 0x80
            && !names.is_empty()
        {
            *first = names[usize::from(b) % names.len()].as_bytes();
        }
        let _ = db.execute(&args);
        db.validate();
    }
});
