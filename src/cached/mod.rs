//! The caches of [`#[cached]`](macro@crate::cached) functions, by name (feature
//! `macros`): their [`stats`], [`clear`], and the list of those
//! [`registered`].
//!
//! A `#[cached]` function's cache is built and registered on its first
//! call, under the name given by its `name = "..."` option or, by default,
//! its path (`my_crate::users::user_name`). A lookup by name matches the
//! caches registered under exactly that name or, if there are none, every
//! cache whose path ends in `::name` — so `stats("user_name")` finds
//! `my_crate::users::user_name`. When several caches match, their stats
//! are added up and [`clear`] clears them all.
//!
//! ```
//! # #[cfg(feature = "macros")] {
//! #[embercache::cached(max_capacity = 100)]
//! fn square(n: u64) -> u64 {
//!     n * n
//! }
//!
//! assert_eq!(embercache::cached::stats("square"), None, "not called yet");
//! square(3);
//! square(3);
//! let s = embercache::cached::stats("square").unwrap();
//! assert_eq!((s.totals.hits, s.totals.misses, s.totals.entries), (1, 1, 1));
//! assert!(embercache::cached::clear("square"));
//! # }
//! ```

mod private;

/// What the code of `#[cached]` calls; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use super::private::*;
}

use crate::Cache;
use crate::stats::CacheStats;
use parking_lot::Mutex;
use std::hash::Hash;

/// What the registry needs of a cache, whatever its types.
trait Registered: Send + Sync {
    fn stats(&self) -> CacheStats;
    fn clear(&self);
}

impl<K, V> Registered for Cache<K, V>
where
    K: Hash + Eq + Send + Sync,
    V: Send + Sync,
{
    fn stats(&self) -> CacheStats {
        Cache::stats(self)
    }

    fn clear(&self) {
        Cache::clear(self);
    }
}

/// Every `#[cached]` cache built so far, in order of first call. Written
/// once per function; read only by the functions below, never on a call's
/// path.
static REGISTRY: Mutex<Vec<(&'static str, Box<dyn Registered>)>> = Mutex::new(Vec::new());

fn register(name: &'static str, cache: Box<dyn Registered>) {
    REGISTRY.lock().push((name, cache));
}

/// Runs `f` on each cache matching `name` (see the [module docs](self));
/// returns the names matched.
fn matching(name: &str, mut f: impl FnMut(&dyn Registered)) -> Vec<&'static str> {
    let registry = REGISTRY.lock();
    let exact = registry.iter().any(|(n, _)| *n == name);
    let mut names = Vec::new();
    for (n, cache) in registry.iter() {
        let hit = if exact { *n == name } else { n.strip_suffix(name).is_some_and(|p| p.ends_with("::")) };
        if hit {
            f(cache.as_ref());
            names.push(*n);
        }
    }
    names
}

/// The stats of the `#[cached]` function(s) matching a name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CachedStats {
    /// The names of the caches that matched (usually one).
    pub functions: Vec<&'static str>,
    /// Their counters, added up: `hits` are calls answered from the cache,
    /// `misses` calls that found no value (each ran the body or waited on
    /// a call that did), `load_successes` and `load_failures` runs of the
    /// body that stored a value or not (an `Err`, a `None`, a panic), and
    /// `entries` the values held now.
    pub totals: CacheStats,
}

/// The stats of the `#[cached]` function(s) matching `name`, or `None` if
/// none has been called yet.
pub fn stats(name: &str) -> Option<CachedStats> {
    let mut totals = CacheStats::default();
    let functions = matching(name, |c| totals.merge(&c.stats()));
    (!functions.is_empty()).then_some(CachedStats { functions, totals })
}

/// Removes every value cached by the `#[cached]` function(s) matching
/// `name` (their stats stay). Returns whether any matched.
pub fn clear(name: &str) -> bool {
    !matching(name, |c| c.clear()).is_empty()
}

/// The names of the `#[cached]` caches built so far, in order of first call.
pub fn registered() -> Vec<&'static str> {
    REGISTRY.lock().iter().map(|(n, _)| *n).collect()
}
