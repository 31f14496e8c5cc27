//! Unit tests of [`ZSet`] and its tree (nodes of 8 entries under test, so
//! a few hundred members make trees three or four levels deep), against a
//! plain sorted-`Vec` model.

use super::*;
use proptest::prelude::*;
use std::collections::HashMap;

/// The model: member → exact score, sorted on demand in Redis's order;
/// `.1`: whether Redis would have made it a skiplist (a packed set stores
/// `-0` as `0`).
#[derive(Default)]
struct Model(HashMap<Vec<u8>, f64>, bool);

impl Model {
    /// Redis's `zsetAdd`: an equal score leaves the stored one; a new
    /// member past 128 makes a skiplist; a listpack stores `-0` as `0`.
    fn insert(&mut self, m: Vec<u8>, s: f64) -> Option<f64> {
        let old = self.0.get(&m).copied();
        if old == Some(s) {
            return old;
        }
        if old.is_none() && self.0.len() >= LISTPACK_ENTRIES {
            self.1 = true;
        }
        let stored = if s == 0.0 && !self.1 { 0.0 } else { s };
        self.0.insert(m, stored);
        old
    }

    /// A set built whole: packed if small, its zeros then stored as such.
    fn rebuild(&mut self) {
        self.1 = self.0.len() > LISTPACK_ENTRIES;
        if !self.1 {
            self.0.values_mut().filter(|s| **s == 0.0).for_each(|s| *s = 0.0);
        }
    }

    fn sorted(&self) -> Vec<(Vec<u8>, f64)> {
        let mut v: Vec<_> = self.0.iter().map(|(m, s)| (m.clone(), *s)).collect();
        v.sort_by(|a, b| cmp_entries((&a.0, a.1), (&b.0, b.1)));
        v
    }
}

fn owned<'a>(it: impl Iterator<Item = (&'a [u8], f64)>) -> Vec<(Vec<u8>, u64)> {
    it.map(|(m, s)| (m.to_vec(), s.to_bits())).collect()
}

fn bits(v: &[(Vec<u8>, f64)]) -> Vec<(Vec<u8>, u64)> {
    v.iter().map(|(m, s)| (m.clone(), s.to_bits())).collect()
}

#[derive(Debug, Clone)]
enum Op {
    Insert(u16, f64),
    Remove(u16),
    PopMin,
    PopMax,
    RemoveRanks(u16, u16),
    Check(u16),
    Select(u16),
    Scores(f64, bool, f64, bool),
    Range(u16, u16),
    Rebuild,
}

fn member(i: u16) -> Vec<u8> {
    // Decimal strings: lengths vary and byte order differs from number order.
    i.to_string().into_bytes()
}

fn score() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => prop::sample::select(vec![f64::NEG_INFINITY, -2.0, -1.0, -0.0, 0.0, 0.5, 1.0, 2.0, f64::INFINITY]),
        1 => -1e6..1e6f64,
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (0..300u16, score()).prop_map(|(m, s)| Op::Insert(m, s)),
        4 => (0..300u16).prop_map(Op::Remove),
        1 => Just(Op::PopMin),
        1 => Just(Op::PopMax),
        1 => (0..300u16, 0..40u16).prop_map(|(a, n)| Op::RemoveRanks(a, a + n)),
        2 => (0..300u16).prop_map(Op::Check),
        2 => (0..300u16).prop_map(Op::Select),
        2 => (score(), any::<bool>(), score(), any::<bool>()).prop_map(|(a, x, b, y)| Op::Scores(a, x, b, y)),
        1 => (0..300u16, 0..300u16).prop_map(|(a, b)| Op::Range(a, b)),
        1 => Just(Op::Rebuild),
    ]
}

fn apply(z: &mut ZSet, model: &mut Model, op: &Op) {
    match *op {
        Op::Insert(m, s) => {
            let got = z.insert(&member(m), s).unwrap().map(f64::to_bits);
            assert_eq!(got, model.insert(member(m), s).map(f64::to_bits));
        }
        Op::Remove(m) => {
            assert_eq!(z.remove(&member(m)).map(f64::to_bits), model.0.remove(&member(m)).map(f64::to_bits))
        }
        Op::PopMin | Op::PopMax => {
            let sorted = model.sorted();
            let want = if matches!(op, Op::PopMin) { sorted.first() } else { sorted.last() };
            let got = if matches!(op, Op::PopMin) { z.pop_min() } else { z.pop_max() };
            assert_eq!(
                got.as_ref().map(|(m, s)| (m.clone(), s.to_bits())),
                want.map(|(m, s)| (m.clone(), s.to_bits()))
            );
            if let Some((m, _)) = want {
                model.0.remove(m);
            }
        }
        Op::RemoveRanks(a, b) => {
            let sorted = model.sorted();
            let (a, b) = (a as usize, b as usize);
            let gone = sorted.get(a.min(sorted.len())..b.min(sorted.len())).unwrap_or_default();
            assert_eq!(z.remove_ranks(a..b), gone.len());
            for (m, _) in gone {
                model.0.remove(m);
            }
        }
        Op::Check(m) => {
            let sorted = model.sorted();
            let rank = sorted.iter().position(|(x, _)| *x == member(m));
            assert_eq!(z.rank(&member(m)), rank);
            assert_eq!(z.rev_rank(&member(m)), rank.map(|r| sorted.len() - 1 - r));
            assert_eq!(z.score(&member(m)).map(f64::to_bits), model.0.get(&member(m)).map(|s| s.to_bits()));
        }
        Op::Select(r) => {
            let sorted = model.sorted();
            let got = z.get_by_rank(r as usize).map(|(m, s)| (m.to_vec(), s.to_bits()));
            assert_eq!(got, sorted.get(r as usize).map(|(m, s)| (m.clone(), s.to_bits())));
        }
        Op::Scores(a, ax, b, bx) => {
            let (min, max) = (ScoreBound { value: a, exclusive: ax }, ScoreBound { value: b, exclusive: bx });
            let want: Vec<_> = model.sorted().into_iter().filter(|(_, s)| min.below(*s) && max.above(*s)).collect();
            assert_eq!(owned(z.range(z.score_ranks(&min, &max))), bits(&want));
        }
        Op::Range(a, b) => {
            let sorted = model.sorted();
            let (a, b) = (a as usize, b as usize);
            let want = sorted.get(a.min(sorted.len())..b.clamp(a.min(sorted.len()), sorted.len())).unwrap_or_default();
            assert_eq!(owned(z.range(a..b)), bits(want));
            let mut back = owned(z.range(a..b).rev());
            back.reverse();
            assert_eq!(back, bits(want));
        }
        Op::Rebuild => {
            let pairs = model.0.iter().map(|(m, s)| (m.clone().into_boxed_slice(), *s)).collect();
            let rebuilt = ZSet::from_distinct(pairs);
            rebuilt.validate();
            assert_eq!(&rebuilt, z);
            model.rebuild();
            assert_eq!(owned(rebuilt.iter()), bits(&model.sorted()));
            let copy = z.clone();
            copy.validate();
            *z = rebuilt;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every operation agrees with the model; the tree's invariants hold
    /// after each step; iteration matches the model's order.
    #[test]
    fn zset_matches_a_sorted_vec(ops in prop::collection::vec(op(), 1..400)) {
        let mut z = ZSet::new();
        let mut model = Model::default();
        for op in &ops {
            apply(&mut z, &mut model, op);
            z.validate();
            prop_assert_eq!(z.len(), model.0.len());
        }
        prop_assert_eq!(owned(z.iter()), bits(&model.sorted()));
    }
}

#[test]
fn equal_scores_order_by_member_bytes_and_negative_zero_ties_with_zero() {
    let mut z = ZSet::new();
    for (m, s) in [(&b"b"[..], 0.0), (b"a", -0.0), (b"ab", 0.0), (b"", 1.0), (b"c", -1.0)] {
        z.insert(m, s).unwrap();
    }
    let order: Vec<_> = z.iter().map(|(m, _)| m.to_vec()).collect();
    assert_eq!(order, [&b"c"[..], b"a", b"ab", b"b", b""]);
    // A packed set stores -0 as 0, as Redis's listpack does.
    assert!(z.score(b"a").unwrap().is_sign_positive());
    assert_eq!(z.insert(b"x", f64::NAN), Err(DbError::ScoreNan));
    z.validate();
}

#[test]
fn lex_ranks_follow_bytes_when_scores_are_equal() {
    let mut z = ZSet::new();
    for m in ["a", "b", "ba", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"] {
        z.insert(m.as_bytes(), 0.0).unwrap();
    }
    let lex = |a: &str, b: &str| {
        let r = z.lex_ranks(&LexBound::parse(a.as_bytes()).unwrap(), &LexBound::parse(b.as_bytes()).unwrap());
        z.range(r).map(|(m, _)| String::from_utf8(m.to_vec()).unwrap()).collect::<Vec<_>>().join(",")
    };
    assert_eq!(lex("[b", "(c"), "b,ba");
    assert_eq!(lex("(b", "[c"), "ba,c");
    assert_eq!(lex("-", "[a"), "a");
    assert_eq!(lex("(k", "+"), "l");
    assert_eq!(lex("[c", "[b"), "");
    assert_eq!(lex("+", "-"), "");
    assert_eq!(lex("-", "+").len(), 26);
}

#[test]
fn lex_ranges_over_mixed_scores_walk_as_redis_listpacks() {
    // Found by the differential test: with members of different scores,
    // Redis walks its listpack in score order (the result Redis documents
    // as unspecified, but it is deterministic for small sets).
    use crate::db::Reply;
    use crate::db::tests::{bulk, int, run};
    let (db, _) = crate::db::tests::manual_db();
    let table: &[(&[&str], Reply)] = &[
        (&["ZADD", "e", "1", "a", "2", "c", "3", "b"], int(3)),
        (&["ZRANGEBYLEX", "e", "[b", "+"], Reply::Array(vec![bulk("c"), bulk("b")])),
        (&["ZRANGEBYLEX", "e", "-", "(c"], Reply::Array(vec![bulk("a")])),
        (&["ZREVRANGEBYLEX", "e", "+", "[b"], Reply::Array(vec![bulk("b"), bulk("c")])),
        (&["ZLEXCOUNT", "e", "[b", "+"], int(2)),
        // The offset skips without checking the range.
        (&["ZADD", "f", "1", "b", "2", "z", "3", "c"], int(3)),
        (&["ZRANGEBYLEX", "f", "[a", "[m", "LIMIT", "2", "5"], Reply::Array(vec![bulk("c")])),
        (&["ZLEXCOUNT", "f", "[a", "[m"], int(1)),
        // Nothing unless the last member is at or after min.
        (&["ZADD", "g", "1", "m", "2", "a"], int(2)),
        (&["ZRANGEBYLEX", "g", "[b", "+"], Reply::Array(vec![])),
        (&["ZADD", "d", "-1", "zz", "inf", "EXTRA"], int(2)),
        (&["ZREMRANGEBYLEX", "d", "[", "(m"], int(0)),
        (&["ZCARD", "d"], int(2)),
    ];
    for (args, want) in table {
        assert_eq!(&run(&db, args), want, "{args:?}");
    }
}

#[test]
fn negative_zero_is_stored_as_redis_stores_it() {
    // Found by the differential test: Redis's listpack stores an integral
    // score as an integer, so `ZADD z -0 m` then ZSCORE answers 0; a
    // skiplist (past 128 members, for good) keeps -0; an equal score
    // (0 for -0) leaves the stored one as it is.
    let neg = |z: &ZSet, m: &[u8]| z.score(m).unwrap().is_sign_negative();
    let mut z = ZSet::new();
    z.insert(b"a", -0.0).unwrap();
    assert!(!neg(&z, b"a"));
    for i in 0..LISTPACK_ENTRIES {
        z.insert(i.to_string().as_bytes(), 1.0).unwrap();
    }
    assert!(!z.is_packed());
    z.insert(b"b", -0.0).unwrap();
    assert!(neg(&z, b"b"));
    z.insert(b"b", 0.0).unwrap();
    assert!(neg(&z, b"b"), "an equal score is not stored again");
    for i in 0..LISTPACK_ENTRIES {
        z.remove(i.to_string().as_bytes());
    }
    assert!(!z.is_packed(), "a skiplist stays one");
    let mut long = ZSet::new();
    long.insert(&[b'x'; 65], -0.0).unwrap();
    assert!(!long.is_packed() && neg(&long, &[b'x'; 65]));
    let built = ZSet::from_distinct(vec![(Box::from(&b"m"[..]), -0.0)]);
    assert!(built.is_packed() && !neg(&built, b"m"));
    // Through the commands: ZADD and ZINCRBY answer the score they
    // computed, the set stores 0 (Double equality ignores the sign: bits).
    use crate::db::Reply;
    use crate::db::tests::run;
    let sign = |r: Reply| match r {
        Reply::Double(d) => d.is_sign_negative(),
        other => panic!("not a double: {other:?}"),
    };
    let (db, _) = crate::db::tests::manual_db();
    assert_eq!(run(&db, &["ZADD", "k", "CH", "-0", "1", "16", "zz"]), Reply::Integer(2));
    assert!(!sign(run(&db, &["ZSCORE", "k", "1"])));
    assert!(sign(run(&db, &["ZINCRBY", "i", "-0", "m"])));
    assert!(!sign(run(&db, &["ZSCORE", "i", "m"])));
}

#[test]
fn ascending_inserts_pack_nodes_and_shrinking_compacts() {
    let mut z = ZSet::new();
    for i in 0..2000u32 {
        z.insert(&i.to_be_bytes(), f64::from(i)).unwrap();
    }
    z.validate();
    let full = z.footprint();
    for i in 0..1900u32 {
        z.remove(&i.to_be_bytes());
    }
    z.validate();
    assert_eq!(z.len(), 100);
    assert!(z.footprint() * 4 < full, "{} vs {full}", z.footprint());
    assert_eq!(z.get_by_rank(0), Some((&1900u32.to_be_bytes()[..], 1900.0)));
    while z.pop_max().is_some() {}
    z.validate();
    assert!(z.is_empty());
}

#[test]
fn updates_that_keep_the_order_and_that_move_members() {
    let mut z = ZSet::new();
    for i in 0..100u16 {
        z.insert(&i.to_be_bytes(), f64::from(i)).unwrap();
    }
    assert_eq!(z.insert(&5u16.to_be_bytes(), 5.5), Ok(Some(5.0)));
    assert_eq!(z.insert(&6u16.to_be_bytes(), -1.0), Ok(Some(6.0)));
    z.validate();
    assert_eq!(z.rank(&6u16.to_be_bytes()), Some(0));
    assert_eq!(z.rank(&5u16.to_be_bytes()), Some(6));
    assert_eq!(z.rev_rank(&99u16.to_be_bytes()), Some(0));
}

#[test]
fn footprint_follows_growth() {
    let mut z = ZSet::new();
    assert_eq!(z.footprint(), 0);
    z.insert(b"member", 1.0).unwrap();
    let one = z.footprint();
    assert!(one >= 6 + 24, "{one}");
    for i in 0..1000u32 {
        z.insert(&i.to_le_bytes(), 1.0).unwrap();
    }
    assert!(z.footprint() > one + 1000 * (4 + 24));
}
