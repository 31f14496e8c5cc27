//! Feeds arbitrary operation sequences to a `Cache` under a manual clock and
//! checks it against a plain `HashMap` model, validating every internal
//! invariant after each step.
//!
//! Each operation takes 4 bytes: opcode, key, and a 16-bit argument. The
//! first byte picks the configuration (policy, bound, shards, TTL/TTI).

#![no_main]

use embercache::time::ManualClock;
use embercache::{Cache, EvictionPolicy, Op};
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    let Some((&config, ops)) = data.split_first() else { return };
    let policy = match config % 3 {
        0 => EvictionPolicy::Adaptive,
        1 => EvictionPolicy::Lru,
        _ => EvictionPolicy::Lfu,
    };
    let bounded = config & 4 != 0;
    let shards = if config & 8 != 0 { 4 } else { 1 };
    let tti = config & 16 != 0;
    let clock = ManualClock::new();
    let mut b = Cache::builder().policy(policy).shards(shards).clock(clock.clone());
    if bounded {
        b = b.max_capacity(u64::from(config >> 5) + 1);
    }
    if tti {
        b = b.time_to_idle(Duration::from_millis(700));
    }
    let cache: Cache<u8, u16> = b.build().expect("valid configuration");
    // Model (exact only when unbounded and without TTI): key -> (value, deadline).
    let exact = !bounded && !tti;
    let mut model: HashMap<u8, (u16, Option<u64>)> = HashMap::new();
    let mut now = 0u64;
    let live = |m: &HashMap<u8, (u16, Option<u64>)>, k: u8, now: u64| {
        m.get(&k).filter(|e| e.1.is_none_or(|d| d > now)).map(|e| e.0)
    };
    for op in ops.chunks_exact(4) {
        let (k, arg) = (op[1], u16::from_le_bytes([op[2], op[3]]));
        match op[0] % 9 {
            0 => {
                cache.insert(k, arg);
                model.insert(k, (arg, None));
            }
            1 => {
                let ttl = u64::from(arg % 5_000) + 1;
                cache.insert_with_ttl(k, arg, Duration::from_millis(ttl));
                model.insert(k, (arg, Some(now + ttl)));
            }
            2 => {
                let got = cache.get(&k);
                if exact {
                    assert_eq!(got, live(&model, k, now));
                } else if let Some(v) = got {
                    assert_eq!(Some(v), model.get(&k).map(|e| e.0));
                }
            }
            3 => {
                let got = cache.remove(&k);
                if exact {
                    assert_eq!(got, live(&model, k, now));
                }
                model.remove(&k);
            }
            4 => {
                let ms = u64::from(arg % 3_000);
                clock.advance(Duration::from_millis(ms));
                now += ms;
            }
            5 => cache.run_pending_tasks(),
            6 => {
                let r = cache.compute(k, |v| Op::Put(v.copied().unwrap_or(0).wrapping_add(arg)));
                // A bounded cache may refuse the value: a shard whose share of
                // a tiny bound is zero holds nothing.
                match r.into_value() {
                    Some(v) => {
                        if exact {
                            assert_eq!(v, live(&model, k, now).unwrap_or(0).wrapping_add(arg));
                        }
                        model.insert(k, (v, None));
                    }
                    None => {
                        assert!(bounded, "an unbounded cache refused a value");
                        model.remove(&k);
                    }
                }
            }
            7 => {
                let m = (arg % 4 + 2) as u8;
                cache.retain(|k, _| k % m != 0);
                model.retain(|k, _| k % m != 0);
            }
            _ => {
                if bounded {
                    cache.set_max_capacity(u64::from(arg % 64) + 1);
                }
            }
        }
        cache.validate();
    }
    if exact {
        cache.run_pending_tasks();
        let n = model.keys().filter(|&&k| live(&model, k, now).is_some()).count() as u64;
        assert_eq!(cache.len(), n);
    }
});
