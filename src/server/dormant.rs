//! [`Dormant`]: a future that a connection's loop can poll beside its
//! read every time the read waits, at the cost of one atomic load unless
//! the future itself was woken.
//!
//! A connection waits on its socket and, beside it, on rare events: the
//! server's shutdown, a push for the client. `tokio::select!` polls every
//! branch each time the task wakes, and most wake-ups are the socket's; a
//! `Notify` or `watch` future polled again takes its waiter list's lock to
//! check its waker, every time (about 220 instructions per request in
//! callgrind for the Memcached connection's one such branch, its shutdown
//! watch; the RESP connection has two). [`Dormant`] gives its future a waker
//! of its own, which sets a flag before waking the task, and polls the
//! future only when that flag is set (or on its first poll, to register).

use parking_lot::Mutex;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

/// `F`, polled only after its own waker fired (see the module's docs).
pub(crate) struct Dormant<F> {
    inner: Pin<Box<F>>,
    signal: Arc<Signal>,
    /// Wakes through `signal`: the waker `inner` is polled with.
    own: Waker,
    /// The task's waker last given to `signal`.
    task: Option<Waker>,
    /// Whether `inner` has been polled since it was (re)placed: it is
    /// registered with `own` and needs polling again only when woken.
    armed: bool,
}

/// The flag `inner`'s wake-ups set, and the task they wake.
struct Signal {
    woken: AtomicBool,
    task: Mutex<Option<Waker>>,
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        if let Some(task) = &*self.task.lock() {
            task.wake_by_ref();
        }
    }
}

impl<F: Future> Dormant<F> {
    pub(crate) fn new(inner: F) -> Self {
        let signal = Arc::new(Signal { woken: AtomicBool::new(false), task: Mutex::new(None) });
        let own = Waker::from(Arc::clone(&signal));
        Dormant { inner: Box::pin(inner), signal, own, task: None, armed: false }
    }

    /// Replaces the future (after it completed, say), to be polled next time.
    pub(crate) fn set(&mut self, inner: F) {
        self.inner.set(inner);
        self.armed = false;
    }
}

impl<F: Future> Future for Dormant<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        if !this.task.as_ref().is_some_and(|t| t.will_wake(cx.waker())) {
            // A first poll, or the future moved to another task.
            *this.signal.task.lock() = Some(cx.waker().clone());
            this.task = Some(cx.waker().clone());
        }
        if this.armed {
            if !this.signal.woken.load(Ordering::Acquire) {
                return Poll::Pending;
            }
            // Cleared before the poll: a wake-up during it polls again.
            this.signal.woken.store(false, Ordering::Release);
        }
        this.armed = true;
        this.inner.as_mut().poll(&mut Context::from_waker(&this.own))
    }
}

#[cfg(test)]
mod tests {
    use super::Dormant;
    use parking_lot::Mutex;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::task::{Context, Poll, Wake, Waker};

    /// Counts how often a task was woken.
    struct CountWakes(AtomicUsize);

    impl Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn task() -> (Arc<CountWakes>, Waker) {
        let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&wakes));
        (wakes, waker)
    }

    /// A future that keeps the waker of its last poll, counts its polls,
    /// and is ready once `fired` is set.
    #[derive(Default)]
    struct Probe {
        polls: AtomicUsize,
        fired: AtomicBool,
        waker: Mutex<Option<Waker>>,
    }

    impl Probe {
        fn future(self: &Arc<Self>) -> impl Future<Output = ()> + use<> {
            let probe = Arc::clone(self);
            std::future::poll_fn(move |cx| {
                probe.polls.fetch_add(1, Ordering::SeqCst);
                *probe.waker.lock() = Some(cx.waker().clone());
                if probe.fired.load(Ordering::SeqCst) { Poll::Ready(()) } else { Poll::Pending }
            })
        }

        fn fire(&self) {
            self.fired.store(true, Ordering::SeqCst);
            if let Some(w) = self.waker.lock().take() {
                w.wake();
            }
        }

        fn polls(&self) -> usize {
            self.polls.load(Ordering::SeqCst)
        }
    }

    #[test]
    fn polls_its_future_only_after_the_future_was_woken() {
        let probe = Arc::new(Probe::default());
        let (wakes, waker) = task();
        let mut cx = Context::from_waker(&waker);
        let dormant = Dormant::new(probe.future());
        let mut dormant = std::pin::pin!(dormant);
        assert!(dormant.as_mut().poll(&mut cx).is_pending());
        assert_eq!(probe.polls(), 1, "the first poll registers");
        for _ in 0..5 {
            assert!(dormant.as_mut().poll(&mut cx).is_pending());
        }
        assert_eq!(probe.polls(), 1, "not woken: not polled again");
        probe.fire();
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1, "the future's wake-up wakes the task");
        assert_eq!(dormant.as_mut().poll(&mut cx), Poll::Ready(()));
        assert_eq!(probe.polls(), 2);
    }

    #[test]
    fn a_wake_up_reaches_the_task_that_polled_last() {
        let probe = Arc::new(Probe::default());
        let (first, first_waker) = task();
        let (second, second_waker) = task();
        let dormant = Dormant::new(probe.future());
        let mut dormant = std::pin::pin!(dormant);
        assert!(dormant.as_mut().poll(&mut Context::from_waker(&first_waker)).is_pending());
        assert!(dormant.as_mut().poll(&mut Context::from_waker(&second_waker)).is_pending());
        assert_eq!(probe.polls(), 1, "moving to another task does not poll the future");
        probe.fire();
        assert_eq!(first.0.load(Ordering::SeqCst), 0);
        assert_eq!(second.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_replaced_future_is_polled_at_once() {
        let (old, new) = (Arc::new(Probe::default()), Arc::new(Probe::default()));
        let (_wakes, waker) = task();
        let mut cx = Context::from_waker(&waker);
        let mut dormant = Dormant::new(old.future());
        assert!(std::pin::Pin::new(&mut dormant).poll(&mut cx).is_pending());
        dormant.set(new.future());
        assert!(std::pin::Pin::new(&mut dormant).poll(&mut cx).is_pending());
        assert_eq!((old.polls(), new.polls()), (1, 1));
        new.fire();
        assert_eq!(std::pin::Pin::new(&mut dormant).poll(&mut cx), Poll::Ready(()));
    }
}
