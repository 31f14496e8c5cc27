//! Sorted sets: [`ZSet`], members ordered by score then by bytes, and the
//! sorted-set commands.
//!
//! A [`ZSet`] is two indexes over one copy of each member: a hash table
//! (member → slot, O(1) `score`) and an order-statistic B+tree (`tree`,
//! O(log n) rank, insert, remove and select; ranges O(log n + m)). The
//! commands live in `commands` (ZADD, ZINCRBY, ZREM, ZSCORE, ZMSCORE, ZCARD,
//! ZRANK, ZRANDMEMBER, ZSCAN), `range` (ZRANGE and its variants, ZCOUNT,
//! ZLEXCOUNT, ZREMRANGEBY*, ZRANGESTORE), `pop` (ZPOP*, ZMPOP and the
//! blocking pops) and `store` (ZUNION, ZINTER, ZDIFF, their STORE forms and
//! ZINTERCARD).
//!
//! Replies follow Redis 7: scores are [`Reply::Double`], and member/score
//! lists (ZRANGE and its variants, ZUNION/ZINTER/ZDIFF and ZRANDMEMBER with
//! WITHSCORES, ZPOPMIN/ZPOPMAX with a count) are [`Reply::Pairs`], which
//! RESP2 sends flat (`[member, score, member, score, …]`) and RESP3 as
//! `[[member, score], …]`. ZPOPMIN/ZPOPMAX without a count answer a flat
//! `[member, score]` array in both protocols, as do BZPOPMIN/BZPOPMAX
//! (`[key, member, score]`); ZMPOP/BZMPOP nest their pairs in both, and
//! ZSCAN's page is flat in both.

mod commands;
mod pop;
mod range;
mod store;
mod tree;

#[cfg(test)]
mod cmd_tests;
#[cfg(test)]
mod tests;

pub use commands::{ZAddOptions, ZAddOutcome, ZScanOptions};
pub use pop::{Popped, PoppedOne, ZEnd};
pub use range::{ZRangeBy, ZRangeSpec};
pub use store::{Aggregate, ZCombineOptions};

use super::args::{LexBound, ScoreBound};
use super::command::{BLOCKING, Command, DENYOOM, WRITE};
use super::keyspace::Tx;
use super::notify::EventClass;
use super::{DbError, DbResult, Reply, Value};
use hashbrown::HashTable;
use std::ops::Range;
use tree::{Cursor, Member, Slot, Tree, order_key};

pub(super) const COMMANDS: &[Command] = &[
    Command { name: "zadd", arity: -4, flags: WRITE | DENYOOM, run: commands::cmd_zadd, stream: None },
    Command { name: "zincrby", arity: 4, flags: WRITE | DENYOOM, run: commands::cmd_zincrby, stream: None },
    Command { name: "zrem", arity: -3, flags: WRITE, run: commands::cmd_zrem, stream: None },
    Command { name: "zscore", arity: 3, flags: 0, run: commands::cmd_zscore, stream: None },
    Command { name: "zmscore", arity: -3, flags: 0, run: commands::cmd_zmscore, stream: None },
    Command { name: "zcard", arity: 2, flags: 0, run: commands::cmd_zcard, stream: None },
    Command { name: "zrank", arity: -3, flags: 0, run: commands::cmd_zrank, stream: None },
    Command { name: "zrevrank", arity: -3, flags: 0, run: commands::cmd_zrevrank, stream: None },
    Command { name: "zrandmember", arity: -2, flags: 0, run: commands::cmd_zrandmember, stream: None },
    Command { name: "zscan", arity: -3, flags: 0, run: commands::cmd_zscan, stream: None },
    Command { name: "zcount", arity: 4, flags: 0, run: range::cmd_zcount, stream: None },
    Command { name: "zlexcount", arity: 4, flags: 0, run: range::cmd_zlexcount, stream: None },
    Command { name: "zrange", arity: -4, flags: 0, run: range::cmd_zrange, stream: None },
    Command { name: "zrangestore", arity: -5, flags: WRITE | DENYOOM, run: range::cmd_zrangestore, stream: None },
    Command { name: "zrevrange", arity: -4, flags: 0, run: range::cmd_zrevrange, stream: None },
    Command { name: "zrangebyscore", arity: -4, flags: 0, run: range::cmd_zrangebyscore, stream: None },
    Command { name: "zrevrangebyscore", arity: -4, flags: 0, run: range::cmd_zrevrangebyscore, stream: None },
    Command { name: "zrangebylex", arity: -4, flags: 0, run: range::cmd_zrangebylex, stream: None },
    Command { name: "zrevrangebylex", arity: -4, flags: 0, run: range::cmd_zrevrangebylex, stream: None },
    Command { name: "zremrangebyrank", arity: 4, flags: WRITE, run: range::cmd_zremrangebyrank, stream: None },
    Command { name: "zremrangebyscore", arity: 4, flags: WRITE, run: range::cmd_zremrangebyscore, stream: None },
    Command { name: "zremrangebylex", arity: 4, flags: WRITE, run: range::cmd_zremrangebylex, stream: None },
    Command { name: "zpopmin", arity: -2, flags: WRITE, run: pop::cmd_zpopmin, stream: None },
    Command { name: "zpopmax", arity: -2, flags: WRITE, run: pop::cmd_zpopmax, stream: None },
    Command { name: "zmpop", arity: -4, flags: WRITE, run: pop::cmd_zmpop, stream: None },
    Command { name: "bzpopmin", arity: -3, flags: WRITE | BLOCKING, run: pop::cmd_bzpopmin, stream: None },
    Command { name: "bzpopmax", arity: -3, flags: WRITE | BLOCKING, run: pop::cmd_bzpopmax, stream: None },
    Command { name: "bzmpop", arity: -5, flags: WRITE | BLOCKING, run: pop::cmd_bzmpop, stream: None },
    Command { name: "zunion", arity: -3, flags: 0, run: store::cmd_zunion, stream: None },
    Command { name: "zinter", arity: -3, flags: 0, run: store::cmd_zinter, stream: None },
    Command { name: "zdiff", arity: -3, flags: 0, run: store::cmd_zdiff, stream: None },
    Command { name: "zunionstore", arity: -4, flags: WRITE | DENYOOM, run: store::cmd_zunionstore, stream: None },
    Command { name: "zinterstore", arity: -4, flags: WRITE | DENYOOM, run: store::cmd_zinterstore, stream: None },
    Command { name: "zdiffstore", arity: -4, flags: WRITE | DENYOOM, run: store::cmd_zdiffstore, stream: None },
    Command { name: "zintercard", arity: -3, flags: 0, run: store::cmd_zintercard, stream: None },
];

/// A Redis sorted set: distinct byte-string members, each with a score,
/// ordered by score then by member bytes (as Redis orders equal scores).
///
/// Scores are never NaN. `-0.0` is kept as given but orders equal to
/// `0.0` (as in Redis, which compares doubles).
///
/// | operation | cost |
/// |---|---|
/// | [`score`](ZSet::score), [`contains`](ZSet::contains) | O(1) |
/// | [`insert`](ZSet::insert), [`remove`](ZSet::remove), [`rank`](ZSet::rank), pops | O(log n) |
/// | [`range`](ZSet::range) of `m` members, [`score_ranks`](ZSet::score_ranks) | O(log n + m), O(log n) |
/// | [`footprint`](ZSet::footprint) | O(1) |
///
/// Memory: about 70 bytes per member (8-byte members, a million of them,
/// as [`footprint`](ZSet::footprint) counts it): a 32-byte slot holding
/// the score and the member (inline up to 22 bytes, else on the heap),
/// about 10 bytes of hash buckets and about 25 bytes of tree nodes.
///
/// ```
/// use embercache::db::ZSet;
///
/// let mut z = ZSet::new();
/// z.insert(b"bob", 2.0)?;
/// z.insert(b"alice", 2.0)?;
/// z.insert(b"carol", 1.0)?;
/// let order: Vec<_> = z.iter().map(|(m, _)| m.to_vec()).collect();
/// assert_eq!(order, [b"carol".to_vec(), b"alice".to_vec(), b"bob".to_vec()]);
/// assert_eq!(z.rank(b"bob"), Some(2));
/// # Ok::<(), embercache::db::DbError>(())
/// ```
#[derive(Clone, Default)]
pub struct ZSet {
    /// Member → slot id in `tree` (hashed by member bytes).
    index: HashTable<u32>,
    hasher: ahash::RandomState,
    tree: Tree,
    /// Whether Redis would have converted this set from a listpack to a
    /// skiplist: it grew past [`LISTPACK_ENTRIES`] members or took a member
    /// longer than [`LISTPACK_VALUE`] bytes (sticky, as in Redis). While
    /// packed, a score of `-0` is stored as `0` (Redis's listpack stores
    /// integral scores as integers) and lexicographic ranges follow
    /// Redis's listpack walk ([`ZSet::lex_walk`]).
    spilled: bool,
}

impl std::fmt::Debug for ZSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter().map(|(m, s)| (String::from_utf8_lossy(m), s))).finish()
    }
}

impl PartialEq for ZSet {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(m, s)| other.score(m) == Some(s))
    }
}

/// Slabs at least this large are compacted once three quarters are free.
const COMPACT_MIN: usize = 64;

impl ZSet {
    /// An empty sorted set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.tree.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes, allocated capacity included: the hash table's buckets,
    /// the slab of members and scores, the member bytes and the tree's
    /// nodes. O(1).
    pub fn footprint(&self) -> usize {
        let cap = self.index.capacity();
        let buckets = match cap {
            0 => 0,
            1..8 => (cap + 1).next_power_of_two(),
            _ => (cap * 8 / 7).next_power_of_two(),
        };
        // A `u32` and a control byte per bucket, plus one group of control bytes.
        let index = if buckets == 0 { 0 } else { buckets * 5 + 16 };
        index + self.tree.footprint()
    }

    #[inline]
    fn hash(&self, member: &[u8]) -> u64 {
        self.hasher.hash_one(member)
    }

    /// One hash probe: `member`'s hash and, if present, its slot id.
    #[inline]
    fn probe(&self, member: &[u8]) -> (u64, Option<u32>) {
        let h = self.hash(member);
        let tree = &self.tree;
        (h, self.index.find(h, |&id| tree.member(id) == member).copied())
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.probe(member).1.map(|id| self.tree.score(id))
    }

    /// Whether `member` is in the set.
    pub fn contains(&self, member: &[u8]) -> bool {
        self.probe(member).1.is_some()
    }

    /// The 0-based rank of `member`, lowest score first.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        self.probe(member).1.map(|id| self.tree.rank(id))
    }

    /// `member`'s rank (lowest score first, or highest with `rev`) and
    /// score, with one hash probe.
    pub(super) fn rank_score(&self, member: &[u8], rev: bool) -> Option<(usize, f64)> {
        let id = self.probe(member).1?;
        let r = self.tree.rank(id);
        Some((if rev { self.len() - 1 - r } else { r }, self.tree.score(id)))
    }

    /// The 0-based rank of `member`, highest score first.
    pub fn rev_rank(&self, member: &[u8]) -> Option<usize> {
        self.rank(member).map(|r| self.len() - 1 - r)
    }

    /// Sets `member`'s score, adding it if absent; returns the previous
    /// score. A NaN score is refused (`ERR resulting score is not a number`).
    /// As in Redis, a score equal to the current one (`0` and `-0`
    /// included) leaves it as it is, and a packed set stores `-0` as `0`.
    pub fn insert(&mut self, member: &[u8], score: f64) -> DbResult<Option<f64>> {
        if score.is_nan() {
            return Err(DbError::ScoreNan);
        }
        match self.probe(member) {
            (_, Some(id)) => {
                let old = self.tree.score(id);
                if old != score {
                    self.set_score(id, score);
                }
                Ok(Some(old))
            }
            (h, None) => {
                self.insert_new(h, member, score);
                Ok(None)
            }
        }
    }

    /// Whether Redis would hold this set in a listpack (see `spilled`).
    pub fn is_packed(&self) -> bool {
        !self.spilled
    }

    /// `score` as this set stores it: a listpack stores `-0` as the integer 0.
    fn stored(&self, score: f64) -> f64 {
        if score == 0.0 && !self.spilled { 0.0 } else { score }
    }

    /// Marks the set as Redis would encode a new set of these members, and
    /// stores its zeros as such (sets built whole: stores, loads).
    fn settle_encoding(&mut self) {
        self.spilled = self.len() > LISTPACK_ENTRIES || self.iter().any(|(m, _)| m.len() > LISTPACK_VALUE);
        if !self.spilled {
            let negative_zero = |x: f64| x == 0.0 && x.is_sign_negative();
            let zeros: Vec<u32> =
                self.range_ids(0..self.len()).filter(|&id| negative_zero(self.tree.score(id))).collect();
            for id in zeros {
                self.tree.set_score(id, 0.0);
            }
        }
    }

    /// Changes the score of the member in slot `id` (stored as this set
    /// stores it, see `stored`).
    fn set_score(&mut self, id: u32, score: f64) {
        self.tree.set_score(id, self.stored(score));
    }

    /// Adds a member known to be absent, whose hash is `h` (a listpack too
    /// big for it becomes a skiplist first, as in Redis's `zsetAdd`).
    fn insert_new(&mut self, h: u64, member: &[u8], score: f64) {
        if self.len() >= LISTPACK_ENTRIES || member.len() > LISTPACK_VALUE {
            self.spilled = true;
        }
        let id = self.tree.insert(member, self.stored(score));
        let (tree, hasher) = (&self.tree, &self.hasher);
        self.index.insert_unique(h, id, |&i| hasher.hash_one(tree.member(i)));
    }

    /// Removes `member`, returning its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let h = self.hash(member);
        let tree = &self.tree;
        let entry = self.index.find_entry(h, |&id| tree.member(id) == member).ok()?;
        let (id, _) = entry.remove();
        let slot = self.tree.remove(id);
        self.maybe_compact();
        Some(slot.score)
    }

    /// Removes the member in slot `id` from both indexes.
    fn remove_id(&mut self, id: u32) -> Slot {
        let h = self.hash(self.tree.member(id));
        if let Ok(entry) = self.index.find_entry(h, |&x| x == id) {
            entry.remove();
        }
        self.tree.remove(id)
    }

    /// Removes and returns the member with the lowest score.
    pub fn pop_min(&mut self) -> Option<(Vec<u8>, f64)> {
        self.pop_end(ZEnd::Min)
    }

    /// Removes and returns the member with the highest score.
    pub fn pop_max(&mut self) -> Option<(Vec<u8>, f64)> {
        self.pop_end(ZEnd::Max)
    }

    fn pop_end(&mut self, end: ZEnd) -> Option<(Vec<u8>, f64)> {
        if self.is_empty() {
            return None;
        }
        let at = match end {
            ZEnd::Min => self.tree.first(),
            ZEnd::Max => self.tree.last(),
        };
        let slot = self.remove_id(self.tree.id_at(at));
        self.maybe_compact();
        Some((slot.member.into_vec(), slot.score))
    }

    /// Removes the members whose ranks are in `ranks`; returns how many.
    pub fn remove_ranks(&mut self, ranks: Range<usize>) -> usize {
        let ids: Vec<u32> = self.range_ids(ranks).collect();
        for &id in &ids {
            self.remove_id(id);
        }
        self.maybe_compact();
        ids.len()
    }

    /// Rebuilds densely once most of the slab is free (amortised O(1) per
    /// removal), so memory follows the set as it shrinks.
    fn maybe_compact(&mut self) {
        let used = self.tree.slots_used();
        if used >= COMPACT_MIN && self.len() * 4 < used {
            let slots = self.tree.drain_sorted();
            let spilled = self.spilled;
            *self = ZSet::from_sorted_slots(slots, std::mem::take(&mut self.hasher))
                .unwrap_or_else(|| unreachable!("a set's own members are distinct"));
            self.spilled = spilled;
        }
    }

    /// A set of `slots`, sorted by (score, member); `None` if a member
    /// repeats.
    fn from_sorted_slots(slots: Vec<Slot>, hasher: ahash::RandomState) -> Option<ZSet> {
        let tree = Tree::from_sorted(slots);
        let mut index = HashTable::with_capacity(tree.len());
        for id in 0..u32::try_from(tree.len()).unwrap_or(u32::MAX) {
            let m = tree.member(id);
            let h = hasher.hash_one(m);
            if index.find(h, |&i| tree.member(i) == m).is_some() {
                return None;
            }
            index.insert_unique(h, id, |&i| hasher.hash_one(tree.member(i)));
        }
        Some(ZSet { index, hasher, tree, spilled: false })
    }

    /// A set of distinct members with their scores, in any order
    /// (O(n log n), nodes packed densely). Callers guarantee distinct
    /// members and no NaN (a NaN would be stored as 0).
    pub(super) fn from_distinct(pairs: Vec<(Box<[u8]>, f64)>) -> ZSet {
        let mut slots: Vec<Slot> = pairs
            .into_iter()
            .map(|(member, score)| Slot {
                member: Member::from_box(member),
                score: if score.is_nan() { 0.0 } else { score },
            })
            .collect();
        slots.sort_unstable_by(|a, b| cmp_entries((a.member.as_bytes(), a.score), (b.member.as_bytes(), b.score)));
        let mut z = ZSet::from_sorted_slots(slots, ahash::RandomState::new())
            .unwrap_or_else(|| unreachable!("callers of from_distinct pass distinct members"));
        z.settle_encoding();
        z
    }

    /// A set from members and scores read from a file, in any order
    /// (sorted input is the fast case). `None` when a score is NaN or a
    /// member repeats: a file no writer of ours produces.
    pub(crate) fn from_untrusted(pairs: Vec<(Box<[u8]>, f64)>) -> Option<ZSet> {
        if pairs.iter().any(|(_, s)| s.is_nan()) {
            return None;
        }
        let mut slots: Vec<Slot> =
            pairs.into_iter().map(|(member, score)| Slot { member: Member::from_box(member), score }).collect();
        if !slots
            .windows(2)
            .all(|w| cmp_entries((w[0].member.as_bytes(), w[0].score), (w[1].member.as_bytes(), w[1].score)).is_lt())
        {
            slots.sort_unstable_by(|a, b| cmp_entries((a.member.as_bytes(), a.score), (b.member.as_bytes(), b.score)));
        }
        let mut z = ZSet::from_sorted_slots(slots, ahash::RandomState::new())?;
        z.settle_encoding();
        Some(z)
    }

    /// The members in order with their scores.
    pub fn iter(&self) -> Iter<'_> {
        self.range(0..self.len())
    }

    /// The members whose ranks (0-based, lowest score first) are in
    /// `ranks`, clamped to the set. O(log n) to start, O(1) per step.
    pub fn range(&self, ranks: Range<usize>) -> Iter<'_> {
        let end = ranks.end.min(self.len());
        let start = ranks.start.min(end);
        let cursor = |r| self.tree.select(r).unwrap_or(Cursor::NONE);
        let (front, back) = if start < end { (cursor(start), cursor(end - 1)) } else { (Cursor::NONE, Cursor::NONE) };
        Iter { tree: &self.tree, front, back, left: end - start }
    }

    fn range_ids(&self, ranks: Range<usize>) -> impl Iterator<Item = u32> + '_ {
        let it = self.range(ranks);
        let tree = it.tree;
        let mut c = it.front;
        (0..it.left).map(move |_| {
            let id = tree.id_at(c);
            c = tree.next(c);
            id
        })
    }

    /// The member of rank `rank` with its score.
    pub fn get_by_rank(&self, rank: usize) -> Option<(&[u8], f64)> {
        self.range(rank..rank.saturating_add(1)).next()
    }

    /// The ranks of the members whose scores are within `min..=max` (each
    /// end inclusive or not). O(log n).
    pub fn score_ranks(&self, min: &ScoreBound, max: &ScoreBound) -> Range<usize> {
        let (lo, hi) = (order_key(min.value), order_key(max.value));
        let start = if min.exclusive {
            self.tree.count_keys_while(|k| k <= lo)
        } else {
            self.tree.count_keys_while(|k| k < lo)
        };
        let end = if max.exclusive {
            self.tree.count_keys_while(|k| k < hi)
        } else {
            self.tree.count_keys_while(|k| k <= hi)
        };
        start..end.max(start)
    }

    /// The ranks of the members within the lexicographic range `min..max`.
    /// Meaningful when all scores are equal, as Redis documents. Otherwise,
    /// for a [packed](ZSet::is_packed) set, the members Redis picks from
    /// its listpack: nothing unless the last member is at or after `min`
    /// and the first at or before `max`; then the first member at or after
    /// `min`, if at or before `max`, and those after it while at or before
    /// `max`. For a bigger set, the ranks of the boundaries found by a
    /// descent assuming equal scores (where Redis's pick depends on its
    /// skiplist's random levels). O(n) for packed sets (n ≤ 128), O(log n)
    /// for others.
    pub fn lex_ranks(&self, min: &LexBound, max: &LexBound) -> Range<usize> {
        if self.is_packed() {
            return self.lex_walk(min, max, false, 0, None);
        }
        let start = self.tree.count_members_while(|m| !min.below(m));
        let end = self.tree.count_members_while(|m| max.above(m));
        start..end.max(start)
    }

    /// Redis's walk of a lexicographic range over a listpack, which is
    /// defined whatever the scores: nothing unless the last member is at
    /// or after `min` and the first at or before `max`; then, forward, the
    /// first member (lowest rank first) at or after `min` must be at or
    /// before `max`, `offset` members are skipped from it unchecked, and
    /// members are taken while at or before `max` (at most `count`).
    /// Reversed (`rev`), the same from the highest rank with the ends'
    /// roles swapped. The members taken are consecutive ranks. O(n).
    pub(crate) fn lex_walk(
        &self,
        min: &LexBound,
        max: &LexBound,
        rev: bool,
        offset: usize,
        count: Option<usize>,
    ) -> Range<usize> {
        let m: Vec<&[u8]> = self.iter().map(|(m, _)| m).collect();
        let n = m.len();
        let (Some(first), Some(last)) = (m.first(), m.last()) else { return 0..0 };
        if !min.below(last) || !max.above(first) {
            return 0..0;
        }
        let within = |taken: usize| count.is_none_or(|c| taken < c);
        if rev {
            let Some(top) = m.iter().rposition(|x| max.above(x)) else { return 0..0 };
            if !min.below(m[top]) {
                return 0..0;
            }
            let Some(top) = top.checked_sub(offset) else { return 0..0 };
            let mut low = top + 1;
            while low > 0 && within(top + 1 - low) && min.below(m[low - 1]) {
                low -= 1;
            }
            low..top + 1
        } else {
            let Some(start) = m.iter().position(|x| min.below(x)) else { return 0..0 };
            if !max.above(m[start]) {
                return 0..0;
            }
            let start = start.saturating_add(offset).min(n);
            let mut end = start;
            while end < n && within(end - start) && max.above(m[end]) {
                end += 1;
            }
            start..end
        }
    }

    /// A uniformly random member with its score. O(log n).
    pub(super) fn random(&self) -> Option<(&[u8], f64)> {
        if self.is_empty() {
            return None;
        }
        self.get_by_rank(random_below(self.len()))
    }
}

#[cfg(test)]
impl ZSet {
    /// Checks the tree's invariants and that the hash index maps exactly
    /// the live members to their slots.
    pub(super) fn validate(&self) {
        let ids = self.tree.validate();
        assert_eq!(self.index.len(), ids.len());
        for &id in &ids {
            assert_eq!(self.probe(self.tree.member(id)).1, Some(id));
        }
        let fwd: Vec<_> = self.iter().collect();
        let mut back: Vec<_> = self.iter().rev().collect();
        back.reverse();
        assert_eq!(fwd, back);
        assert_eq!(fwd.len(), self.len());
    }
}

/// Redis's `zset-max-listpack-entries`: a bigger set is a skiplist.
pub const LISTPACK_ENTRIES: usize = 128;
/// Redis's `zset-max-listpack-value`: a longer member makes a skiplist.
pub const LISTPACK_VALUE: usize = 64;

/// Redis's order of entries: by score (`-0.0` equal to `0.0`), then by bytes.
pub(super) fn cmp_entries(a: (&[u8], f64), b: (&[u8], f64)) -> std::cmp::Ordering {
    order_key(a.1).cmp(&order_key(b.1)).then_with(|| a.0.cmp(b.0))
}

/// An iterator over members in order with their scores (see [`ZSet::iter`]).
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    tree: &'a Tree,
    front: Cursor,
    back: Cursor,
    left: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let id = self.tree.id_at(self.front);
        if self.left > 0 {
            self.front = self.tree.next(self.front);
        }
        Some((self.tree.member(id), self.tree.score(id)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let id = self.tree.id_at(self.back);
        if self.left > 0 {
            self.back = self.tree.prev(self.back);
        }
        Some((self.tree.member(id), self.tree.score(id)))
    }
}

impl ExactSizeIterator for Iter<'_> {}

/// A uniform random number in `0..n` (`n > 0`), from a per-thread
/// splitmix64 stream seeded at random.
pub(super) fn random_below(n: usize) -> usize {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u64> = Cell::new(ahash::RandomState::new().hash_one(0x5eed_u64));
    }
    let x = STATE.with(|s| {
        let v = s.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        s.set(v);
        let mut z = v;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    });
    // Multiply-shift: unbiased enough for sampling (bias < n / 2^64).
    ((u128::from(x) * n as u128) >> 64) as usize
}

/// The sorted set in `slot`, created empty if absent and `create`;
/// `Ok(None)` if absent otherwise; `WRONGTYPE` if another type.
pub(super) fn zset_mut(slot: &mut Option<Value>, create: bool) -> DbResult<Option<&mut ZSet>> {
    match slot {
        Some(Value::ZSet(_)) => {}
        Some(_) => return Err(DbError::WrongType),
        None if create => *slot = Some(Value::ZSet(Box::default())),
        None => return Ok(None),
    }
    match slot {
        Some(Value::ZSet(z)) => Ok(Some(z)),
        _ => Ok(None),
    }
}

/// The sorted set `v`, or `WRONGTYPE`.
pub(super) fn as_zset(v: &Value) -> DbResult<&ZSet> {
    match v {
        Value::ZSet(z) => Ok(z),
        _ => Err(DbError::WrongType),
    }
}

/// Owned (member, score) pairs, as the typed commands return them.
pub type Pairs = Vec<(Vec<u8>, f64)>;

/// Copies `it` into owned pairs.
pub(super) fn to_pairs<'a>(it: impl Iterator<Item = (&'a [u8], f64)>) -> Pairs {
    it.map(|(m, s)| (m.to_vec(), s)).collect()
}

/// A member list: member/score [`Reply::Pairs`] when `withscores`, else an
/// array of the members.
pub(super) fn pairs_reply(pairs: Pairs, withscores: bool) -> Reply {
    if withscores {
        Reply::Pairs(pairs.into_iter().map(|(m, s)| (Reply::Bulk(m), Reply::Double(s))).collect())
    } else {
        Reply::Array(pairs.into_iter().map(|(m, _)| Reply::Bulk(m)).collect())
    }
}

/// Replaces `dst` with `z` (its TTL cleared), or deletes `dst` when `z` is
/// empty, with Redis's events; returns the number of members stored.
pub(super) fn store_result(tx: &mut Tx<'_>, dst: &[u8], z: ZSet, event: &'static str) -> usize {
    let n = z.len();
    if n == 0 {
        if tx.take(dst).is_some() {
            tx.event(EventClass::Generic, "del", dst);
        }
    } else {
        tx.put(dst, Value::ZSet(Box::new(z)), None);
        tx.event(EventClass::ZSet, event, dst);
        tx.signal_ready(dst);
    }
    n
}

/// A score, or null.
pub(super) fn score_reply(score: Option<f64>) -> Reply {
    score.map_or(Reply::Null, Reply::Double)
}
