//! Warming a batch of lookups: the lines a lookup of each key will touch
//! are requested from memory for all the keys first, so that their misses
//! overlap instead of following one another.
//!
//! A lookup walks a chain of dependent loads: the table's control bytes
//! and slot, the slab entry the slot names, the key's bytes (compared) and
//! the value's. When the store is larger than the caches, each link can be
//! a miss that starts only once the one before it has ended. A batch (a
//! Memcached `get` of several keys) walks the chains in stages instead,
//! each stage issuing prefetches for the next link of every key:
//!
//! 0. each key's home in its shard's table: the control bytes and the
//!    slots of its first probe group ([`Home`](super::home::Home));
//! 1. each key's first candidate in the table (its control bytes and slot,
//!    now on their way, are read), then a prefetch of the slab entry it
//!    names;
//! 2. that entry (now on its way), then prefetches of its key's and
//!    value's first lines ([`Warm`]);
//!
//! and the batch's own lookups then find most of their lines cached. A
//! prefetch is only a hint: a stale candidate (another key with the same
//! tag, an entry replaced meanwhile) costs a wasted line, never a wrong
//! answer, since the lookups that follow look every key up as usual, under
//! the lock again.
//!
//! Measured with `memaslap -d 16` (16 keys per get, 1 KiB values) against
//! `embercache-server --io-threads 1`, four rounds: the two stages served
//! 4–17% more per second than no warming in every round, 7–11% more than
//! the first stage alone, and 5–8% more than one stage that finds each
//! entry and warms its value in three rounds of four (BENCHMARKS.md).
//! Stage 0 came later, with [`Home`](super::home::Home): a build with it
//! (this stage, and each lookup's own prefetch of its table lines) beside
//! one without, four rounds of five seconds, served 3–10% more in every
//! round (user time per key 517–643 ns against
//! 622–782 ns).
//!
//! A lookup of one key has no batch, but part of its chain can still
//! overlap: [`value`] (a lookup's hook) prefetches the value's first lines as
//! soon as the entry is found, before the key is compared, so the key's
//! miss and the value's are waited for once. Behind Memcached's `get` and
//! Redis's `GET` (`Db::read`), it took embercache-server's user time per
//! request from 1.26–1.59 µs to 1.26–1.42 µs (`memaslap`, one key per get,
//! four rounds, the two binaries side by side; the kernel's part, about
//! 6.3 µs, unchanged), while an in-process loop of random gets over
//! 400 000 values of 1 KiB showed no difference above its noise.

use super::Engine;
use super::slab::Entry;
use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};

/// Asks for the cache line holding `p` (a hint: it never faults and reads
/// nothing the program sees; a no-op where the target has no stable
/// prefetch instruction).
#[inline(always)]
pub(crate) fn line<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetcht0` takes any address, valid or not, and changes no
    // state the program can observe. The call needs `unsafe` on the
    // stable compilers we build with (1.88 and 1.95 both refuse it
    // without); the allow is for a compiler that makes it safe.
    #[allow(unused_unsafe)]
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// What a warmed lookup will read of a key or value besides the entry.
pub(crate) trait Warm {
    /// Prefetches the first lines a lookup reads behind `self`.
    fn warm(&self);
}

impl Warm for Box<[u8]> {
    #[inline]
    fn warm(&self) {
        line(self.as_ptr());
    }
}

/// Keys of a batch warmed at once, at most (the rest are looked up cold).
pub(crate) const BATCH: usize = 32;

impl<K, V, S> Engine<K, V, S>
where
    K: Hash + Eq + Warm,
    V: Warm,
    S: BuildHasher,
{
    /// Warms the lines that looking each of `keys` up will read (see the
    /// module's documentation). Changes nothing: no statistics, no policy.
    pub(crate) fn warm<'q, Q>(&self, keys: impl Iterator<Item = &'q Q>)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized + 'q,
    {
        let mut hashes = [0u64; BATCH];
        let mut keys_in = 0;
        for (key, hash) in keys.take(BATCH).zip(&mut hashes) {
            *hash = self.hash(key);
            let shard = self.slot(*hash).lock.read();
            shard.home.warm(&shard.table, *hash);
            keys_in += 1;
        }
        let mut found = [(0u64, 0u32); BATCH];
        let mut n = 0;
        for &hash in &hashes[..keys_in] {
            let shard = self.slot(hash).lock.read();
            if let Some(&i) = shard.table.iter_hash(hash).next() {
                shard.slab.warm_entry(i);
                found[n] = (hash, i);
                n += 1;
            }
        }
        for &(hash, i) in &found[..n] {
            let shard = self.slot(hash).lock.read();
            if let Some(e) = shard.slab.get(i) {
                e.key.warm();
                e.value.warm();
            }
        }
    }
}

/// The candidate hook for [`Engine::lookup_with`] of a caller that copies
/// the value out: the value's first lines are requested as soon as its
/// entry is found, before the key is compared, so the key's miss and the
/// value's overlap. A lookup of one key has no batch to warm, but its
/// chain (the table, the entry, then the key and the value behind it) can
/// still end in two misses at once instead of two in a row.
#[inline]
pub(crate) fn value<K, V: Warm>(e: &Entry<K, V>) {
    e.value.warm();
}

#[cfg(test)]
mod tests {
    use super::{Warm, line};

    /// A prefetch is a hint: of a live value, of one past its end, of an
    /// empty allocation and of no object at all, it reads nothing (run
    /// under Miri in `.ci/run`).
    #[test]
    fn prefetching_any_address_is_harmless() {
        let bytes: Box<[u8]> = vec![1, 2, 3].into_boxed_slice();
        bytes.warm();
        line(bytes.as_ptr().wrapping_add(4096));
        Box::<[u8]>::default().warm();
        line(std::ptr::null::<u64>());
        line(std::ptr::without_provenance::<u8>(0x10));
        assert_eq!(*bytes, [1, 2, 3]);
    }
}
