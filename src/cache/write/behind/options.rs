//! [`WriteBehindBuilder`] and the policies it takes: [`FullQueue`] and
//! [`RetryPolicy`].

use super::error::{FailedBatch, WriteBehindError};
use super::{ErrorCallback, WriteBehind};
use crate::cache::write::Writer;
use crate::{Cache, ConfigError};
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

/// What `put` and `remove` do when the queue holds `capacity` keys and the
/// key is not already queued (a queued key is always overwritten in place).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FullQueue {
    /// Wait for the flusher to make room, at most this long, then fail with
    /// [`WriteBehindError::QueueFull`].
    Block(Duration),
    /// Fail at once with [`WriteBehindError::QueueFull`].
    Reject,
}

impl Default for FullQueue {
    /// Block for at most five seconds: long enough to ride out a slow
    /// batch, short enough that a database outage surfaces as errors.
    fn default() -> Self {
        FullQueue::Block(Duration::from_secs(5))
    }
}

/// How often a failed batch is tried again before it is given up and
/// reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0: try once).
    pub max_retries: u32,
    /// The wait before the first retry; it doubles for each further one.
    pub backoff: Duration,
}

impl Default for RetryPolicy {
    /// Three retries, after 50 ms, 100 ms and 200 ms.
    fn default() -> Self {
        RetryPolicy { max_retries: 3, backoff: Duration::from_millis(50) }
    }
}

impl RetryPolicy {
    /// The wait before retry number `n` (from 1).
    pub(super) fn delay(&self, n: u32) -> Duration {
        self.backoff.saturating_mul(1u32 << n.saturating_sub(1).min(16))
    }
}

/// The settings of a [`WriteBehind`].
pub(super) struct Config {
    pub(super) batch_size: usize,
    pub(super) interval: Duration,
    pub(super) capacity: usize,
    pub(super) when_full: FullQueue,
    pub(super) retry: RetryPolicy,
}

/// Builds a [`WriteBehind`]; from [`WriteBehind::builder`].
#[must_use]
pub struct WriteBehindBuilder<K, V, W: Writer<K, V>> {
    cache: Cache<K, V>,
    writer: W,
    config: Config,
    on_error: Option<ErrorCallback<K, V, W::Error>>,
}

impl<K, V, W> WriteBehindBuilder<K, V, W>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    W: Writer<K, V>,
    W::Error: 'static,
{
    pub(super) fn new(cache: Cache<K, V>, writer: W) -> Self {
        let config = Config {
            batch_size: 256,
            interval: Duration::from_millis(100),
            capacity: 10_000,
            when_full: FullQueue::default(),
            retry: RetryPolicy::default(),
        };
        WriteBehindBuilder { cache, writer, config, on_error: None }
    }

    /// The most writes handed to one `write_many` call (default 256). The
    /// flusher also starts a batch as soon as this many keys are queued.
    pub fn batch_size(mut self, n: usize) -> Self {
        self.config.batch_size = n;
        self
    }

    /// The longest a queued write waits before the flusher takes it
    /// (default 100 ms).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.config.interval = interval;
        self
    }

    /// The most distinct keys queued at once (default 10,000); the batch
    /// being written does not count. See [`when_full`](Self::when_full).
    pub fn capacity(mut self, n: usize) -> Self {
        self.config.capacity = n;
        self
    }

    /// What a write does when the queue is full (default
    /// [`FullQueue::Block`] for five seconds).
    pub fn when_full(mut self, policy: FullQueue) -> Self {
        self.config.when_full = policy;
        self
    }

    /// How failed batches are retried (default [`RetryPolicy::default`]).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.config.retry = policy;
        self
    }

    /// Called on the flusher thread for each batch given up after its
    /// retries. Keep it short; a panic in it is caught.
    pub fn on_error(mut self, f: impl Fn(&FailedBatch<'_, K, V, W::Error>) + Send + Sync + 'static) -> Self {
        self.on_error = Some(Arc::new(f));
        self
    }

    /// Checks the settings and starts the flusher thread.
    pub fn build(self) -> Result<WriteBehind<K, V, W>, WriteBehindError> {
        let c = &self.config;
        if c.batch_size == 0 {
            return Err(ConfigError::ZeroSize("batch_size").into());
        }
        if c.capacity == 0 {
            return Err(ConfigError::ZeroSize("capacity").into());
        }
        if c.interval.is_zero() {
            return Err(ConfigError::ZeroDuration("interval").into());
        }
        WriteBehind::start(self.cache, self.writer, self.config, self.on_error)
    }
}
