//! The engine both tiered front ends share: L1 (an embercache [`Cache`]
//! keyed by the L2 key's bytes), the link, the breaker, and the read and
//! write paths with their fallbacks.

use super::TieredError;
use super::breaker::{Admit, Breaker};
use super::coherence::{Coherence, Evict, Ticket};
use super::link::{L2Conn, Link, unreachable};
use super::options::{Invalidation, Options, Topology, WriteFailure};
use super::stats::{Count, Counters, TieredStats};
use crate::{Cache, Expiry, Op};
use redis::Pipeline;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// An L1 entry: the value L2 had (`None`: no such key), the ticket of its
/// fill, and its remaining TTL in L2 at that time.
#[derive(Debug, Clone)]
pub(crate) struct Entry<T> {
    pub(crate) value: Option<T>,
    ticket: Ticket,
    ttl: Option<Duration>,
}

/// L1 entries live as long as their TTL in L2, at most `max`.
struct EntryExpiry {
    max: Option<Duration>,
}

impl EntryExpiry {
    fn ttl<T>(&self, e: &Entry<T>) -> Option<Duration> {
        match (e.ttl, self.max) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

impl<T: Send + Sync> Expiry<Vec<u8>, Entry<T>> for EntryExpiry {
    fn expire_after_create(&self, _key: &Vec<u8>, value: &Entry<T>) -> Option<Duration> {
        self.ttl(value)
    }

    fn expire_after_update(&self, _key: &Vec<u8>, value: &Entry<T>, _current: Option<Duration>) -> Option<Duration> {
        self.ttl(value)
    }
}

impl<T: Clone + Send + Sync + 'static> Evict for Cache<Vec<u8>, Entry<T>> {
    fn remove(&self, key: &[u8]) {
        Cache::remove(self, key);
    }

    fn clear(&self) {
        Cache::clear(self);
    }
}

/// What a read from L2 gives: the value (`None`: no such key) and its
/// remaining TTL, or why it could not be used (a value that does not
/// decode, a key of another type).
pub(crate) type Fetched<T> = Result<(Option<T>, Option<Duration>), TieredError>;

/// How a front end reads a key from L2: the command, and what its reply
/// means (`None`: no such key).
pub(crate) trait Read<T> {
    fn command(&self, key: &[u8]) -> redis::Cmd;
    fn parse(&self, key: &[u8], reply: redis::Value) -> Result<Option<T>, TieredError>;
}

/// What [`Core::lookup`] found.
pub(crate) enum Lookup<T> {
    /// A fresh entry's value (`None`: L2 has no such key).
    Fresh(Option<T>),
    /// Nothing fresh; an entry that may serve as stale, if any.
    Miss(Option<Entry<T>>),
}

pub(crate) struct Core<T> {
    l1: Cache<Vec<u8>, Entry<T>>,
    link: Arc<Link>,
    breaker: Breaker,
    pub(crate) counters: Counters,
}

impl<T: Clone + Send + Sync + 'static> Core<T> {
    /// Builds L1 and the link, starts the link's supervisor on the current
    /// tokio runtime and waits (up to twice the connect timeout) for L2.
    pub(crate) async fn start(
        topology: Topology,
        invalidation: Invalidation,
        options: Options,
        l1_capacity: u64,
    ) -> Result<Arc<Self>, TieredError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(TieredError::Config("a tiered cache needs a tokio runtime".into()));
        }
        let l1: Cache<Vec<u8>, Entry<T>> = Cache::builder()
            .max_capacity(l1_capacity.max(1))
            .expiry(EntryExpiry { max: options.max_l1_ttl })
            .build()
            .map_err(|e| TieredError::Config(e.to_string()))?;
        let coherence = Arc::new(Coherence::new(Box::new(l1.clone())));
        let breaker = Breaker::new(options.breaker_failures, options.breaker_open_for);
        let wait = options.connect_timeout * 2;
        let link = Link::new(topology, invalidation, options, coherence);
        tokio::spawn(Arc::clone(&link).supervise());
        if !link.wait_up(wait).await {
            let why = link.last_error().unwrap_or_else(|| "no answer".into());
            link.close();
            return Err(TieredError::Unavailable(why));
        }
        Ok(Arc::new(Core { l1, link, breaker, counters: Counters::default() }))
    }

    fn options(&self) -> &Options {
        self.link.options()
    }

    fn coherence(&self) -> &Coherence {
        &self.link.coherence
    }

    /// L1's answer for `key`.
    pub(crate) fn lookup(&self, key: &[u8]) -> Lookup<T> {
        match self.l1.get(key) {
            Some(e) if self.coherence().fresh(key, e.ticket) => {
                self.counters.add(Count::L1Hit);
                Lookup::Fresh(e.value)
            }
            other => {
                self.counters.add(Count::L1Miss);
                Lookup::Miss(other)
            }
        }
    }

    /// The ticket to take before reading `key` from L2.
    pub(crate) fn ticket(&self, key: &[u8]) -> Ticket {
        self.coherence().ticket(key)
    }

    /// Keeps what L2 had for `key` (read under `ticket`; `started` is when
    /// the read was sent, to shorten the TTL by its round trip).
    fn entry(value: Option<T>, ticket: Ticket, ttl: Option<Duration>, started: Instant) -> Entry<T> {
        let ttl = ttl.map(|t| t.saturating_sub(started.elapsed()));
        Entry { value, ticket, ttl }
    }

    pub(crate) fn store(&self, key: Vec<u8>, entry: Entry<T>) {
        if entry.ttl != Some(Duration::ZERO) {
            self.l1.insert(key, entry);
        }
    }

    /// Runs `op` on L2 through the breaker, under the command timeout.
    pub(crate) async fn l2<R, F, Fut>(&self, op: F) -> Result<R, TieredError>
    where
        F: FnOnce(L2Conn) -> Fut,
        Fut: Future<Output = redis::RedisResult<R>>,
    {
        let Some(conn) = self.link.conn() else {
            return Err(TieredError::Unavailable(self.link.last_error().unwrap_or_else(|| "not connected".into())));
        };
        if self.breaker.admit() == Admit::Refuse {
            self.counters.add(Count::Rejected);
            return Err(TieredError::CircuitOpen);
        }
        let limit = self.options().command_timeout;
        let result = tokio::time::timeout(limit, op(conn)).await;
        let failed = match &result {
            Ok(Ok(_)) => false,
            Ok(Err(e)) => unreachable(e),
            Err(_) => true,
        };
        if failed {
            self.counters.add(Count::L2Error);
            if self.breaker.failure() {
                self.counters.add(Count::BreakerTrip);
            }
        } else {
            self.breaker.success();
        }
        match result {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) if unreachable(&e) => Err(TieredError::Unavailable(e.to_string())),
            Ok(Err(e)) => Err(TieredError::Redis(e.to_string())),
            Err(_) => Err(TieredError::Timeout(limit)),
        }
    }

    /// Reads `key`: L1 if fresh, else L2 as `read` says (concurrent
    /// misses of the same key share one L2 read), filling L1.
    pub(crate) async fn get(&self, key: &[u8], read: &impl Read<T>) -> Result<Option<T>, TieredError> {
        let stale = match self.lookup(key) {
            Lookup::Fresh(v) => return Ok(v),
            Lookup::Miss(stale) => stale,
        };
        if !self.coherence().is_up() {
            return self.fallback(key, stale, TieredError::Unavailable("not connected".into()));
        }
        // The coalescing table serves an entry already in L1 as is: a
        // stale one goes first.
        if stale.is_some() {
            self.l1.remove(key);
        }
        let flight = self.l1.try_get_or_insert_with_async(key.to_vec(), self.fill(key, read)).await;
        match flight {
            Ok(e) if self.coherence().fresh(key, e.ticket) => Ok(e.value),
            // Joined a read that an invalidation overtook (or that began
            // before this call): read again, without caching.
            Ok(_) => match self.fill(key, read).await {
                Ok(e) => Ok(e.value),
                Err(e) => self.fallback(key, stale, e),
            },
            Err(e) => self.fallback(key, stale, (*e).clone()),
        }
    }

    /// The L2 read of a miss, as an L1 entry.
    async fn fill(&self, key: &[u8], read: &impl Read<T>) -> Result<Entry<T>, TieredError> {
        let ticket = self.ticket(key);
        let started = Instant::now();
        let pipe = self.read_pipe(key, read);
        let mut replies = self.l2_batch::<redis::Value>(vec![pipe]).await?;
        self.counters.add(Count::L2Read);
        let (value, ttl) = self.parse(key, read, replies.pop().unwrap_or(redis::Value::Nil))?;
        Ok(Self::entry(value, ticket, ttl, started))
    }

    /// The values of `keys`, in order: L1's fresh ones, the others read
    /// from L2 in one batch (filling L1).
    pub(crate) async fn get_many(&self, keys: &[Vec<u8>], read: &impl Read<T>) -> Result<Vec<Option<T>>, TieredError> {
        let mut out: Vec<Option<T>> = vec![None; keys.len()];
        let mut missing = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            match self.lookup(k) {
                Lookup::Fresh(v) => out[i] = v,
                Lookup::Miss(stale) => missing.push((i, self.ticket(k), stale)),
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let pipes = missing.iter().map(|&(i, _, _)| self.read_pipe(&keys[i], read)).collect();
        let started = Instant::now();
        match self.l2_batch::<redis::Value>(pipes).await {
            Ok(replies) => {
                self.counters.add(Count::L2Read);
                for ((i, ticket, _), reply) in missing.into_iter().zip(replies) {
                    let (value, ttl) = self.parse(&keys[i], read, reply)?;
                    self.store(keys[i].clone(), Self::entry(value.clone(), ticket, ttl, started));
                    out[i] = value;
                }
                Ok(out)
            }
            Err(e) => {
                for (i, _, stale) in missing {
                    out[i] = self.fallback(&keys[i], stale, e.clone())?;
                }
                Ok(out)
            }
        }
    }

    /// `read`'s command for `key`, with `PTTL` after it unless the options
    /// say not to read TTLs.
    fn read_pipe(&self, key: &[u8], read: &impl Read<T>) -> Pipeline {
        let mut pipe = redis::pipe();
        pipe.add_command(read.command(key));
        if self.options().read_ttl {
            pipe.cmd("PTTL").arg(key);
        }
        pipe
    }

    /// The replies of [`Core::read_pipe`]: the value as `read` makes it,
    /// and the TTL.
    fn parse(&self, key: &[u8], read: &impl Read<T>, replies: redis::Value) -> Fetched<T> {
        let mut replies = match replies {
            redis::Value::Array(v) => v.into_iter(),
            other => vec![other].into_iter(),
        };
        let value = replies.next().unwrap_or(redis::Value::Nil);
        let ttl = match replies.next() {
            Some(redis::Value::Int(ms)) => super::pttl(ms),
            _ => None,
        };
        Ok((read.parse(key, value)?, ttl))
    }

    /// A failed read: the stale entry if the options allow it (put back in
    /// L1 for the next reader), else the error.
    pub(crate) fn fallback(
        &self,
        key: &[u8],
        stale: Option<Entry<T>>,
        err: TieredError,
    ) -> Result<Option<T>, TieredError> {
        let bound = self.options().stale_if_error;
        match (bound, stale) {
            (Some(bound), Some(e)) if self.coherence().stale_ok(key, e.ticket, bound) => {
                self.counters.add(Count::StaleServed);
                let value = e.value.clone();
                self.l1.compute(key.to_vec(), |current| if current.is_none() { Op::Put(e) } else { Op::Nop });
                Ok(value)
            }
            _ => Err(err),
        }
    }

    /// Runs `pipes` on L2 and gives each one's reply: a server gets them
    /// as one pipeline; a cluster gets them concurrently, each on its own
    /// (a cluster pipeline must stay within one slot: give each key its
    /// own pipe).
    pub(crate) async fn l2_batch<R>(&self, pipes: Vec<redis::Pipeline>) -> Result<Vec<R>, TieredError>
    where
        R: redis::FromRedisValue + Send + 'static,
    {
        self.l2(|conn| run_batch(conn, pipes)).await
    }

    /// Sends `pipes` (which change `keys`) to L2, then drops the keys from
    /// L1. While L2 is unavailable: fails, or queues.
    pub(crate) async fn write(&self, keys: &[&[u8]], mut pipes: Vec<redis::Pipeline>) -> Result<(), TieredError> {
        if let Some(channel) = self.link.channel() {
            let mut announce = redis::pipe();
            for key in keys {
                announce.cmd("PUBLISH").arg(channel).arg(*key).ignore();
            }
            pipes.push(announce);
        }
        let queueing = matches!(self.options().write_failure, WriteFailure::Queue { .. });
        // Queued writes go first: a new one waits behind them.
        if queueing && !self.link.queue.lock().is_empty() {
            return self.enqueue(keys, pipes);
        }
        // Kept for the queue only when queueing: a write's commands are
        // not copied otherwise.
        let sent = if queueing {
            self.l2_batch::<redis::Value>(pipes.clone()).await
        } else {
            self.l2_batch::<redis::Value>(std::mem::take(&mut pipes)).await
        };
        // Even a write that timed out may have happened.
        for key in keys {
            self.coherence().invalidate(key);
        }
        match sent {
            Ok(_) => {
                self.counters.add(Count::L2Write);
                Ok(())
            }
            // Not sent, or lost with the connection: queued (the tiered
            // writes are idempotent, so a replay of one that did land is
            // harmless).
            Err(TieredError::Unavailable(_) | TieredError::CircuitOpen | TieredError::Timeout(_)) if queueing => {
                self.enqueue(keys, pipes)
            }
            Err(e) => Err(e),
        }
    }

    fn enqueue(&self, keys: &[&[u8]], pipes: Vec<Pipeline>) -> Result<(), TieredError> {
        let WriteFailure::Queue { max } = self.options().write_failure else {
            return Err(TieredError::Unavailable("L2 is unavailable".into()));
        };
        let mut queue = self.link.queue.lock();
        if queue.len() + pipes.len() > max {
            return Err(TieredError::QueueFull(max));
        }
        queue.extend(pipes);
        drop(queue);
        self.counters.add(Count::Queued);
        for key in keys {
            self.coherence().invalidate(key);
        }
        Ok(())
    }

    /// Drops `key` from L1 (this process learned it changed).
    pub(crate) fn forget(&self, key: &[u8]) {
        self.coherence().invalidate(key);
    }

    pub(crate) fn stats(&self) -> TieredStats {
        let link = &self.link;
        self.counters.snapshot(
            link,
            self.breaker.state(),
            self.l1.len(),
            self.coherence().invalidations.load(Ordering::Relaxed),
        )
    }

    pub(crate) fn close(&self) {
        self.link.close();
    }

    /// Waits until the link is up again, at most `timeout`.
    pub(crate) async fn wait_connected(&self, timeout: Duration) -> bool {
        self.link.wait_up(timeout).await
    }
}

impl<T> Drop for Core<T> {
    fn drop(&mut self) {
        self.link.close();
    }
}

/// See [`Core::l2_batch`].
async fn run_batch<R>(conn: L2Conn, pipes: Vec<Pipeline>) -> redis::RedisResult<Vec<R>>
where
    R: redis::FromRedisValue + Send + 'static,
{
    match conn {
        L2Conn::Single(mut c) if pipes.len() == 1 => {
            let reply: redis::Value = pipes[0].query_async(&mut c).await?;
            Ok(vec![R::from_owned_redis_value(reply)?])
        }
        L2Conn::Single(mut c) => {
            let mut all = redis::pipe();
            let mut sizes = Vec::with_capacity(pipes.len());
            for p in &pipes {
                let mut n = 0;
                for cmd in p.cmd_iter() {
                    all.add_command(cmd.clone());
                    n += 1;
                }
                sizes.push(n);
            }
            let values: Vec<redis::Value> = all.query_async(&mut c).await?;
            let mut values = values.into_iter();
            sizes
                .into_iter()
                .map(|n| {
                    let part: Vec<redis::Value> = values.by_ref().take(n).collect();
                    R::from_owned_redis_value(redis::Value::Array(part))
                })
                .collect()
        }
        L2Conn::Cluster(c) => {
            let mut tasks = tokio::task::JoinSet::new();
            for (i, p) in pipes.into_iter().enumerate() {
                let mut c = c.clone();
                tasks.spawn(async move { (i, p.query_async::<redis::Value>(&mut c).await) });
            }
            let mut out: Vec<Option<redis::Value>> = Vec::new();
            out.resize_with(tasks.len(), || None);
            while let Some(done) = tasks.join_next().await {
                let (i, r) =
                    done.map_err(|e| redis::RedisError::from((redis::ErrorKind::IoError, "task", e.to_string())))?;
                if let Some(slot) = out.get_mut(i) {
                    *slot = Some(r?);
                }
            }
            out.into_iter().map(|v| R::from_owned_redis_value(v.unwrap_or(redis::Value::Nil))).collect()
        }
    }
}
