//! The circuit breaker in front of L2: after `failures` consecutive
//! failures it opens and refuses commands for `open_for`, so a dead or
//! drowning L2 is not hammered and callers fail (or fall back) at once;
//! then it lets one command through (half-open): success closes it,
//! failure opens it again.

use parking_lot::Mutex;
use std::time::{Duration, Instant};

/// The breaker's state, as reported in the statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Commands go through.
    Closed,
    /// Commands are refused until the probe time.
    Open,
    /// One probe is in flight; others are refused.
    HalfOpen,
}

#[derive(Debug)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen,
}

#[derive(Debug)]
pub(crate) struct Breaker {
    state: Mutex<State>,
    failures: u32,
    open_for: Duration,
}

/// What [`Breaker::admit`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Go ahead.
    Pass,
    /// Go ahead as the half-open probe.
    Probe,
    /// Refused: the breaker is open.
    Refuse,
}

impl Breaker {
    pub(crate) fn new(failures: u32, open_for: Duration) -> Self {
        Breaker { state: Mutex::new(State::Closed { failures: 0 }), failures: failures.max(1), open_for }
    }

    pub(crate) fn admit(&self) -> Admit {
        let mut s = self.state.lock();
        match *s {
            State::Closed { .. } => Admit::Pass,
            State::Open { until } if Instant::now() >= until => {
                *s = State::HalfOpen;
                Admit::Probe
            }
            State::Open { .. } | State::HalfOpen => Admit::Refuse,
        }
    }

    /// A command succeeded.
    pub(crate) fn success(&self) {
        let mut s = self.state.lock();
        if !matches!(*s, State::Closed { failures: 0 }) {
            *s = State::Closed { failures: 0 };
        }
    }

    /// A command failed; `true` if this opened the breaker.
    pub(crate) fn failure(&self) -> bool {
        let mut s = self.state.lock();
        let open = match *s {
            State::Closed { failures } => failures + 1 >= self.failures,
            State::HalfOpen => true,
            State::Open { .. } => false,
        };
        *s = match *s {
            _ if open => State::Open { until: Instant::now() + self.open_for },
            State::Closed { failures } => State::Closed { failures: failures + 1 },
            State::Open { until } => State::Open { until },
            State::HalfOpen => State::HalfOpen,
        };
        open
    }

    pub(crate) fn state(&self) -> BreakerState {
        match *self.state.lock() {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen => BreakerState::HalfOpen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_failures_probes_and_closes() {
        let b = Breaker::new(3, Duration::from_millis(30));
        assert_eq!(b.admit(), Admit::Pass);
        assert!(!b.failure());
        b.success();
        // The count is of consecutive failures: a success resets it.
        assert!(!b.failure());
        assert!(!b.failure());
        assert!(b.failure());
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.admit(), Admit::Refuse);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(b.admit(), Admit::Probe);
        // Only one probe at a time.
        assert_eq!(b.admit(), Admit::Refuse);
        assert!(b.failure(), "a failed probe opens it again");
        assert_eq!(b.admit(), Admit::Refuse);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(b.admit(), Admit::Probe);
        b.success();
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.admit(), Admit::Pass);
    }
}
