//! Small synchronization helpers shared by the engine and the stats.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

static NEXT_THREAD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // `const` and `Copy`: no destructor, so it is readable at any point of
    // a thread's life, even from other thread-local destructors.
    static THREAD_INDEX: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// A small number for the current thread, handed out round-robin on first
/// use and fixed for the thread's life. Used to pick a per-thread stripe of
/// a striped counter or lock, so that threads do not share cache lines.
#[inline]
pub(crate) fn thread_index() -> usize {
    THREAD_INDEX.with(|c| {
        let v = c.get();
        if v != usize::MAX {
            return v;
        }
        let v = NEXT_THREAD.fetch_add(1, Ordering::Relaxed) % (usize::MAX - 1);
        c.set(v);
        v
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_per_thread_distinct_across_threads() {
        let a = thread_index();
        assert_eq!(a, thread_index());
        let b = std::thread::spawn(thread_index).join().unwrap();
        assert_ne!(a, b);
    }
}
