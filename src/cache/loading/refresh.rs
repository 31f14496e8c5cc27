//! Running loads off the reader's path: a small elastic thread pool for
//! sync loaders' refreshes, and a minimal `block_on` that lets the sync
//! API share the async code.
//!
//! The pool starts a thread when a refresh is queued and fewer than its
//! cap are running; a thread drains the queue and ends when it is empty, so
//! an idle cache holds no threads. The queue holds at most one refresh per
//! key (each one owns its key's flight), so it is bounded by the number of
//! keys being refreshed.

use parking_lot::Mutex;
use std::collections::VecDeque;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;

/// A unit of background work.
pub(super) type Job = Box<dyn FnOnce() + Send + 'static>;

struct Queue {
    jobs: VecDeque<Job>,
    running: usize,
}

/// The pool of refresh threads of one cache.
pub(super) struct RefreshPool {
    queue: Arc<Mutex<Queue>>,
    max_threads: usize,
}

impl RefreshPool {
    pub(super) fn new(max_threads: usize) -> Self {
        RefreshPool { queue: Arc::new(Mutex::new(Queue { jobs: VecDeque::new(), running: 0 })), max_threads }
    }

    /// Queues `job`, starting a thread if fewer than the cap are running.
    /// If no thread can be started and none is running, the job is dropped
    /// (a dropped refresh abandons its flight, so nothing waits for it).
    pub(super) fn submit(&self, job: Job) {
        let mut q = self.queue.lock();
        q.jobs.push_back(job);
        if q.running >= self.max_threads {
            return;
        }
        q.running += 1;
        drop(q);
        let queue = Arc::clone(&self.queue);
        let started = std::thread::Builder::new().name("embercache-refresh".into()).spawn(move || work(&queue));
        if started.is_err() {
            let mut q = self.queue.lock();
            q.running -= 1;
            let orphans = if q.running == 0 { std::mem::take(&mut q.jobs) } else { VecDeque::new() };
            drop(q);
            drop(orphans);
        }
    }
}

/// A pool thread: runs jobs until the queue is empty. A panicking job (a
/// loader that panics) is contained: its flight is abandoned by unwinding,
/// and the thread goes on.
fn work(queue: &Mutex<Queue>) {
    loop {
        let job = {
            let mut q = queue.lock();
            match q.jobs.pop_front() {
                Some(job) => job,
                None => {
                    q.running -= 1;
                    return;
                }
            }
        };
        let _ = catch_unwind(AssertUnwindSafe(job));
    }
}

struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Drives `fut` to completion on this thread, parking while it waits.
/// Only for the cache's own futures: they wait on flights (which wake us)
/// and on the user's loader.
pub(super) fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc::channel;

    #[test]
    fn the_pool_runs_every_job_on_at_most_its_cap_of_threads() {
        let pool = RefreshPool::new(2);
        let (tx, rx) = channel();
        let live = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        for i in 0..20 {
            let (tx, live, peak) = (tx.clone(), Arc::clone(&live), Arc::clone(&peak));
            pool.submit(Box::new(move || {
                let n = live.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(n, Ordering::SeqCst);
                if i == 3 {
                    live.fetch_sub(1, Ordering::SeqCst);
                    panic!("a loader panics");
                }
                live.fetch_sub(1, Ordering::SeqCst);
                tx.send(i).unwrap();
            }));
        }
        drop(tx);
        let mut done: Vec<i32> = rx.iter().collect();
        done.sort_unstable();
        assert_eq!(done, (0..20).filter(|&i| i != 3).collect::<Vec<_>>());
        assert!(peak.load(Ordering::SeqCst) <= 2);
    }

    #[test]
    fn block_on_waits_for_a_wake_from_another_thread() {
        let (tx, rx) = channel::<Waker>();
        let ready = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let r2 = Arc::clone(&ready);
        let t = std::thread::spawn(move || {
            let w = rx.recv().unwrap();
            r2.store(true, Ordering::SeqCst);
            w.wake();
        });
        let mut sent = Some(tx);
        let v = block_on(std::future::poll_fn(|cx| {
            if ready.load(Ordering::SeqCst) {
                return Poll::Ready(5);
            }
            if let Some(tx) = sent.take() {
                tx.send(cx.waker().clone()).unwrap();
            }
            Poll::Pending
        }));
        assert_eq!(v, 5);
        t.join().unwrap();
    }
}
