use super::{SLOTS, Table, capacity_for, tag};
use proptest::prelude::*;
use std::collections::HashMap;

/// A hash from a few bits of choice: `home` picks the group (low bits),
/// `top` the tag, so tests can crowd one group or collide tags.
fn hash(home: u64, top: u8) -> u64 {
    (u64::from(top) << 56) | home
}

#[test]
fn finds_what_it_holds_and_nothing_else() {
    let mut t = Table::new();
    assert_eq!(t.find(7, |_| true), None);
    assert_eq!(t.first(7), None);
    let hashes: Vec<u64> = (0..1000u64).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15)).collect();
    for (i, &h) in hashes.iter().enumerate() {
        t.insert(h, i as u32, |j| hashes[j as usize]);
    }
    assert_eq!(t.len(), 1000);
    t.validate(|j| hashes[j as usize]);
    for (i, &h) in hashes.iter().enumerate() {
        assert_eq!(t.find(h, |j| j == i as u32), Some(i as u32));
    }
    assert_eq!(t.find(hashes[3], |j| j == 4000), None);
}

#[test]
fn a_crowded_group_overflows_and_gives_back_its_counts() {
    let mut t = Table::new();
    t.reserve(100, |_| 0);
    // Forty entries whose home is group 0: three groups' worth.
    let hashes: Vec<u64> = (0..40u64).map(|i| hash(0, (i % 3) as u8 + 1)).collect();
    for (i, &h) in hashes.iter().enumerate() {
        t.insert(h, i as u32, |j| hashes[j as usize]);
    }
    t.validate(|j| hashes[j as usize]);
    assert!(t.groups[0].overflow >= (40 - SLOTS) as u32);
    for (i, &h) in hashes.iter().enumerate() {
        assert_eq!(t.find(h, |j| j == i as u32), Some(i as u32), "{i}");
    }
    for (i, &h) in hashes.iter().enumerate().rev() {
        assert_eq!(t.remove(h, |j| j == i as u32), Some(i as u32));
        t.validate(|j| hashes[j as usize]);
    }
    assert_eq!(t.len(), 0);
    assert!(t.groups.iter().all(|g| g.overflow == 0));
}

#[test]
fn a_probe_wraps_around_the_last_group() {
    let mut t = Table::new();
    t.reserve(30, |_| 0);
    let last = (t.groups.len() - 1) as u64;
    let hashes: Vec<u64> = (0..20u64).map(|i| hash(last, i as u8)).collect();
    for (i, &h) in hashes.iter().enumerate() {
        t.insert(h, i as u32, |j| hashes[j as usize]);
    }
    t.validate(|j| hashes[j as usize]);
    assert!(t.groups[0].tags.iter().any(|&tg| tg != super::FREE), "the overflow went to group 0");
}

#[test]
fn tags_are_never_free_and_capacity_steps_fit() {
    assert_ne!(tag(0), super::FREE);
    assert_eq!(tag(u64::MAX), 0xFF);
    assert!(capacity_for(0) >= 1);
    for n in [1, 10, 11, 1000, 28_572, 1 << 20] {
        let c = capacity_for(n);
        assert!(c >= n && c < 2 * n + 11, "{n} -> {c}");
    }
    let mut t = Table::new();
    for i in 0..100u32 {
        t.insert(u64::from(i), i, u64::from);
        assert!(t.len() <= t.capacity());
    }
    assert_eq!(t.capacity(), capacity_for(100));
    t.clear();
    assert_eq!((t.len(), t.find(5, |_| true)), (0, None));
    assert_eq!(t.capacity(), capacity_for(100), "clear keeps the allocation");
}

#[derive(Debug, Clone)]
enum Op {
    Insert { home: u64, top: u8 },
    Remove(usize),
    Reserve(usize),
    Clear,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0..16u64, 0..4u8).prop_map(|(home, top)| Op::Insert { home, top }),
        4 => any::<usize>().prop_map(Op::Remove),
        1 => (0..64usize).prop_map(Op::Reserve),
        1 => Just(Op::Clear),
    ]
}

proptest! {
    /// The table against a map from index to hash, with hashes crowded on
    /// a few groups and tags so that overflows and tag collisions abound.
    #[test]
    fn behaves_like_a_map(ops in proptest::collection::vec(op(), 1..300)) {
        let mut t = Table::new();
        let mut model: HashMap<u32, u64> = HashMap::new();
        let mut next = 0u32;
        for op in ops {
            match op {
                Op::Insert { home, top } => {
                    let h = hash(home, top);
                    let m = &model;
                    t.insert(h, next, |j| m[&j]);
                    model.insert(next, h);
                    next += 1;
                }
                Op::Remove(pick) => {
                    let mut keys: Vec<u32> = model.keys().copied().collect();
                    keys.sort_unstable();
                    if let Some(&i) = keys.get(pick % keys.len().max(1)) {
                        prop_assert_eq!(t.remove(model[&i], |j| j == i), Some(i));
                        model.remove(&i);
                    }
                    prop_assert_eq!(t.remove(hash(3, 3), |j| j == u32::MAX), None);
                }
                Op::Reserve(n) => {
                    let m = &model;
                    t.reserve(n, |j| m[&j]);
                    prop_assert!(t.capacity() >= t.len() + n);
                }
                Op::Clear => {
                    t.clear();
                    model.clear();
                }
            }
            t.validate(|j| model[&j]);
            prop_assert_eq!(t.len(), model.len());
            for (&i, &h) in &model {
                prop_assert_eq!(t.find(h, |j| j == i), Some(i));
            }
        }
    }
}
