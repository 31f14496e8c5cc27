//! User code that panics (hash, weigher, listener, loader, compute closure)
//! must never leave the cache inconsistent.

use embercache::{Cache, Op};
use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};

static HASH_PANICS: AtomicBool = AtomicBool::new(false);

#[derive(Clone, PartialEq, Eq, Debug)]
struct Touchy(u32);

impl Hash for Touchy {
    fn hash<H: Hasher>(&self, h: &mut H) {
        if HASH_PANICS.load(Ordering::SeqCst) && self.0 == 13 {
            panic!("unlucky hash");
        }
        self.0.hash(h);
    }
}

#[test]
fn panicking_hash_weigher_listener_and_closures() {
    let cache: Cache<Touchy, u32> = Cache::builder()
        .max_weight(50)
        .weigher(|k: &Touchy, _| if k.0 == 99 { panic!("bad weigher") } else { 1 })
        .eviction_listener(|k: Touchy, _, _| {
            if k.0 == 7 {
                panic!("bad listener")
            }
        })
        .shards(1)
        .build()
        .unwrap();
    for i in 0..40 {
        cache.insert(Touchy(i), i);
    }
    HASH_PANICS.store(true, Ordering::SeqCst);
    assert!(catch_unwind(AssertUnwindSafe(|| cache.insert(Touchy(13), 0))).is_err());
    assert!(catch_unwind(AssertUnwindSafe(|| cache.get(&Touchy(13)))).is_err());
    HASH_PANICS.store(false, Ordering::SeqCst);
    assert!(catch_unwind(AssertUnwindSafe(|| cache.insert(Touchy(99), 0))).is_err());
    assert!(catch_unwind(AssertUnwindSafe(|| cache.compute(Touchy(3), |_| panic!("bad closure")))).is_err());
    assert_eq!(cache.get(&Touchy(3)), Some(3), "a panicking closure changes nothing");
    // The listener panics when key 7 leaves; the removal itself is done.
    assert!(catch_unwind(AssertUnwindSafe(|| cache.remove(&Touchy(7)))).is_err());
    assert_eq!(cache.get(&Touchy(7)), None);
    assert!(catch_unwind(AssertUnwindSafe(|| cache.get_or_insert_with(Touchy(200), || panic!("bad loader")))).is_err());
    cache.validate();
    // Still fully usable.
    for i in 100..200 {
        cache.insert(Touchy(i), i);
    }
    cache.compute(Touchy(1), |_| Op::Put(1));
    cache.validate();
    assert!(cache.weighted_size() <= 50);
}
