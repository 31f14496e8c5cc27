//! Model-based tests of `Cache` against a plain `HashMap` reference under a
//! manual clock (proptest).
//!
//! - Unbounded: the cache must agree with the model on every lookup, and
//!   expire each entry exactly at its deadline.
//! - Bounded: every value the cache returns is the model's; the bound holds
//!   after every write; listener causes match what the model knows.

use embercache::time::ManualClock;
use embercache::{Cache, CompResult, EvictionPolicy, Op, RemovalCause};
use proptest::prelude::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
enum Cmd {
    Insert(u8, u16),
    InsertTtl(u8, u16, u16),
    Get(u8),
    Peek(u8),
    Remove(u8),
    Add(u8, u16),
    Advance(u16),
    RunPending,
    Retain(u8),
}

fn cmd() -> impl Strategy<Value = Cmd> {
    prop_oneof![
        4 => (any::<u8>(), any::<u16>()).prop_map(|(k, v)| Cmd::Insert(k, v)),
        2 => (any::<u8>(), any::<u16>(), 1..3_000u16).prop_map(|(k, v, t)| Cmd::InsertTtl(k, v, t)),
        4 => any::<u8>().prop_map(Cmd::Get),
        1 => any::<u8>().prop_map(Cmd::Peek),
        1 => any::<u8>().prop_map(Cmd::Remove),
        1 => (any::<u8>(), any::<u16>()).prop_map(|(k, v)| Cmd::Add(k, v)),
        2 => (0..2_500u16).prop_map(Cmd::Advance),
        1 => Just(Cmd::RunPending),
        1 => (1..5u8).prop_map(Cmd::Retain),
    ]
}

fn policy() -> impl Strategy<Value = EvictionPolicy> {
    prop_oneof![
        Just(EvictionPolicy::Adaptive),
        Just(EvictionPolicy::Lru),
        Just(EvictionPolicy::Lfu),
        Just(EvictionPolicy::Random)
    ]
}

/// The reference: key -> (value, deadline in ms or None).
#[derive(Default)]
struct Model {
    map: HashMap<u8, (u16, Option<u64>)>,
    now: u64,
}

impl Model {
    fn live(&self, k: u8) -> Option<u16> {
        self.map.get(&k).filter(|(_, d)| d.is_none_or(|d| d > self.now)).map(|e| e.0)
    }
}

type Events = Arc<Mutex<Vec<(u8, u16, RemovalCause)>>>;

fn build(cap: Option<u64>, policy: EvictionPolicy, shards: usize) -> (Cache<u8, u16>, ManualClock, Events) {
    let clock = ManualClock::new();
    let events: Events = Arc::default();
    let e2 = Arc::clone(&events);
    let mut b = Cache::builder()
        .policy(policy)
        .shards(shards)
        .clock(clock.clone())
        .eviction_listener(move |k, v, c| e2.lock().unwrap().push((k, v, c)));
    if let Some(cap) = cap {
        b = b.max_capacity(cap);
    }
    (b.build().unwrap(), clock, events)
}

/// Applies `cmd` to both; returns what the cache answered for lookups.
fn step(
    cache: &Cache<u8, u16>,
    clock: &ManualClock,
    model: &mut Model,
    cmd: &Cmd,
) -> Option<(Option<u16>, Option<u16>)> {
    match *cmd {
        Cmd::Insert(k, v) => {
            cache.insert(k, v);
            model.map.insert(k, (v, None));
        }
        Cmd::InsertTtl(k, v, t) => {
            cache.insert_with_ttl(k, v, Duration::from_millis(u64::from(t)));
            model.map.insert(k, (v, Some(model.now + u64::from(t))));
        }
        Cmd::Get(k) => return Some((cache.get(&k), model.live(k))),
        Cmd::Peek(k) => return Some((cache.peek(&k), model.live(k))),
        Cmd::Remove(k) => {
            let got = cache.remove(&k);
            let want = model.live(k);
            model.map.remove(&k);
            return Some((got, want));
        }
        Cmd::Add(k, d) => {
            let r = cache.compute(k, |v| Op::Put(v.copied().unwrap_or(0).wrapping_add(d)));
            let want = model.live(k).unwrap_or(0).wrapping_add(d);
            model.map.insert(k, (want, None));
            return Some((r.into_value(), Some(want)));
        }
        Cmd::Advance(ms) => {
            clock.advance(Duration::from_millis(u64::from(ms)));
            model.now += u64::from(ms);
        }
        Cmd::RunPending => cache.run_pending_tasks(),
        Cmd::Retain(m) => {
            cache.retain(|k, _| k % m != 0);
            model.map.retain(|k, _| k % m != 0);
        }
    }
    None
}

/// Every `Expired` notice since `before` names a value whose deadline (as
/// the model knew it before the step) has passed.
fn check_expiry_notices(
    events: &Events,
    before: usize,
    prior: &HashMap<u8, (u16, Option<u64>)>,
    now: u64,
) -> Result<(), TestCaseError> {
    for (k, v, cause) in events.lock().unwrap()[before..].iter() {
        if *cause == RemovalCause::Expired {
            let (pv, pd) = prior.get(k).copied().unwrap_or((u16::MAX, None));
            prop_assert_eq!(pv, *v, "expired value of {}", k);
            prop_assert!(pd.is_some_and(|d| d <= now), "{} expired early: deadline {:?}, now {}", k, pd, now);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn unbounded_cache_equals_the_model(policy in policy(), shards in prop_oneof![Just(1usize), Just(4)], cmds in prop::collection::vec(cmd(), 1..300)) {
        let (cache, clock, events) = build(None, policy, shards);
        let mut model = Model::default();
        for c in &cmds {
            let before = events.lock().unwrap().len();
            let prior = model.map.clone();
            if let Some((got, want)) = step(&cache, &clock, &mut model, c) {
                prop_assert_eq!(got, want, "{:?}", c);
            }
            cache.validate();
            check_expiry_notices(&events, before, &prior, model.now)?;
        }
        cache.run_pending_tasks();
        let live = model.map.keys().filter(|&&k| model.live(k).is_some()).count() as u64;
        prop_assert_eq!(cache.len(), live);
        // Nothing is ever evicted for size without a bound, and every
        // expiry notice concerns an entry whose deadline has passed.
        for (_, _, cause) in events.lock().unwrap().iter() {
            prop_assert_ne!(*cause, RemovalCause::Size);
        }
    }

    #[test]
    fn bounded_cache_is_a_subset_within_the_bound(policy in policy(), cap in 1u64..40, shards in prop_oneof![Just(1usize), Just(2)], cmds in prop::collection::vec(cmd(), 1..300)) {
        let (cache, clock, events) = build(Some(cap), policy, shards);
        let mut model = Model::default();
        for c in &cmds {
            let before = events.lock().unwrap().len();
            let prior = model.map.clone();
            if let Some((got, want)) = step(&cache, &clock, &mut model, c) {
                match c {
                    // A lookup may miss what was evicted, never return a wrong value.
                    Cmd::Get(_) | Cmd::Peek(_) | Cmd::Remove(_) if got.is_some() => {
                        prop_assert_eq!(got, want, "{:?}", c);
                    }
                    Cmd::Add(..) => {
                        // The value may have been evicted before the add: then the
                        // cache started from 0, and the model must follow.
                        if let (Some(g), Some(w)) = (got, want) && g != w {
                            let k = match c { Cmd::Add(k, _) => *k, _ => unreachable!() };
                            model.map.insert(k, (g, None));
                        }
                    }
                    _ => {}
                }
            }
            cache.validate();
            prop_assert!(cache.len() <= cap, "len {} over {}", cache.len(), cap);
            check_expiry_notices(&events, before, &prior, model.now)?;
        }
    }
}

#[test]
fn compute_results() {
    let (cache, _, _) = build(Some(10), EvictionPolicy::Adaptive, 1);
    assert_eq!(cache.compute(1, |_| Op::Put(5)), CompResult::Inserted(5));
    assert_eq!(cache.compute(1, |v| Op::Put(v.unwrap() + 1)), CompResult::ReplacedWith(6));
    assert_eq!(cache.compute(1, |_| Op::Remove), CompResult::Removed(6));
    assert_eq!(cache.compute(1, |_| Op::Remove), CompResult::StillNone);
}
