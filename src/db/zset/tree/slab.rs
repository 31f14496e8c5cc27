//! The slab of members: each member's bytes (inline when short) and exact
//! score in a 32-byte [`Slot`] addressed by a `u32` id; freed ids are reused.

/// Members up to this long live inside their slot (no allocation, one
/// cache miss less per comparison); the slot is 32 bytes either way.
const INLINE: usize = 22;

/// A member's bytes: inline when short, else on the heap.
#[derive(Debug, Clone)]
pub(in crate::db::zset) enum Member {
    Inline { len: u8, buf: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl Member {
    pub(in crate::db::zset) fn new(bytes: &[u8]) -> Member {
        match u8::try_from(bytes.len()) {
            Ok(len) if bytes.len() <= INLINE => {
                let mut buf = [0; INLINE];
                buf[..bytes.len()].copy_from_slice(bytes);
                Member::Inline { len, buf }
            }
            _ => Member::Heap(bytes.into()),
        }
    }

    /// From owned bytes (kept on the heap as they are when long).
    pub(in crate::db::zset) fn from_box(bytes: Box<[u8]>) -> Member {
        if bytes.len() <= INLINE { Member::new(&bytes) } else { Member::Heap(bytes) }
    }

    #[inline]
    pub(in crate::db::zset) fn as_bytes(&self) -> &[u8] {
        match self {
            Member::Inline { len, buf } => buf.get(..usize::from(*len)).unwrap_or(buf),
            Member::Heap(b) => b,
        }
    }

    /// Bytes allocated outside the slot.
    pub(super) fn heap_len(&self) -> usize {
        match self {
            Member::Inline { .. } => 0,
            Member::Heap(b) => crate::db::value::alloc_size(b.len()),
        }
    }

    pub(in crate::db::zset) fn into_vec(self) -> Vec<u8> {
        match self {
            Member::Inline { .. } => self.as_bytes().to_vec(),
            Member::Heap(b) => b.into_vec(),
        }
    }

    pub(super) const EMPTY: Member = Member::Inline { len: 0, buf: [0; INLINE] };
}

/// A member and its exact score (`-0.0` kept as given).
#[derive(Debug, Clone)]
pub(in crate::db::zset) struct Slot {
    pub(in crate::db::zset) member: Member,
    pub(in crate::db::zset) score: f64,
}

const _: () = assert!(std::mem::size_of::<Slot>() == 32);

/// The `u64` that sorts as `score` does (`-0.0` as `0.0`; no NaN here).
#[inline]
pub(in crate::db::zset) fn order_key(score: f64) -> u64 {
    let s = if score == 0.0 { 0.0 } else { score };
    let bits = s.to_bits();
    if bits >> 63 == 1 { !bits } else { bits | (1 << 63) }
}

/// The slab of members.
#[derive(Debug, Clone, Default)]
pub(super) struct Slab {
    pub(super) slots: Vec<Slot>,
    pub(super) free: Vec<u32>,
    /// Sum of the live members' lengths.
    pub(super) bytes: usize,
}

impl Slab {
    #[inline]
    pub(super) fn member(&self, id: u32) -> &[u8] {
        self.slots.get(id as usize).map_or(&[], |s| s.member.as_bytes())
    }

    #[inline]
    pub(super) fn key(&self, id: u32) -> u64 {
        self.slots.get(id as usize).map_or(0, |s| order_key(s.score))
    }

    pub(super) fn alloc(&mut self, member: Member, score: f64) -> u32 {
        self.bytes += member.heap_len();
        let slot = Slot { member, score };
        match self.free.pop() {
            Some(id) => {
                if let Some(s) = self.slots.get_mut(id as usize) {
                    *s = slot;
                }
                id
            }
            None => {
                grow(&mut self.slots);
                self.slots.push(slot);
                u32::try_from(self.slots.len() - 1).unwrap_or(u32::MAX)
            }
        }
    }

    pub(super) fn release(&mut self, id: u32) -> Slot {
        let empty = Slot { member: Member::EMPTY, score: 0.0 };
        let slot = self.slots.get_mut(id as usize).map_or(empty.clone(), |s| std::mem::replace(s, empty));
        self.bytes -= slot.member.heap_len();
        self.free.push(id);
        slot
    }
}

/// Makes room for one more element of an arena: by a quarter once the
/// arena is large (not doubling: the slack is memory the set pays for;
/// large reallocations remap pages rather than copy), amortised O(1).
pub(super) fn grow<T>(v: &mut Vec<T>) {
    if v.len() == v.capacity() && v.len() >= 64 {
        v.reserve_exact(v.len() / 4);
    }
}
