//! Where values come from: the [`Loader`] and [`AsyncLoader`] traits a
//! user implements (or a closure, through the builder), and the [`Spawn`]
//! trait that runs an async loader's background refreshes.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

/// Loads values by key for a [`LoadingCache`](super::LoadingCache), on the
/// calling thread.
///
/// `Ok(None)` means the key does not exist (it is cached as absent when the
/// builder sets a [`negative_ttl`](super::LoadingCacheBuilder::negative_ttl)).
/// The cache calls a loader from many threads at once, but never twice at
/// once for one key.
///
/// ```
/// use embercache::cache::loading::Loader;
///
/// struct Squares;
/// impl Loader<u64, u64> for Squares {
///     type Error = std::convert::Infallible;
///     fn load(&self, key: &u64) -> Result<Option<u64>, Self::Error> {
///         Ok(Some(key * key))
///     }
/// }
/// ```
pub trait Loader<K, V>: Send + Sync + 'static {
    /// What a failed load reports; callers receive it as `Arc<Self::Error>`.
    type Error: Send + Sync + 'static;

    /// Loads the value of `key`: `Ok(None)` if there is none.
    fn load(&self, key: &K) -> Result<Option<V>, Self::Error>;

    /// Loads several keys in one call (one query, one round trip). Returns
    /// the keys found or known to be absent, in any order; a requested key
    /// missing from the result counts as absent, and keys not requested
    /// are ignored. The default calls [`load`](Self::load) for each key.
    fn load_many(&self, keys: &[K]) -> Result<Vec<(K, Option<V>)>, Self::Error>
    where
        K: Clone,
    {
        keys.iter().map(|k| Ok((k.clone(), self.load(k)?))).collect()
    }
}

/// Loads values by key for a [`LoadingCache`](super::LoadingCache) without
/// blocking a thread: the same contract as [`Loader`], with futures that
/// are `Send`. The futures may be polled by any executor (or by
/// [`LoadingCache::get`](super::LoadingCache::get), on the calling thread).
///
/// ```
/// use embercache::cache::loading::AsyncLoader;
///
/// struct Users;
/// impl AsyncLoader<u64, String> for Users {
///     type Error = std::io::Error;
///     async fn load(&self, id: &u64) -> Result<Option<String>, Self::Error> {
///         Ok(Some(format!("user {id}")))
///     }
/// }
/// ```
pub trait AsyncLoader<K, V>: Send + Sync + 'static {
    /// What a failed load reports; callers receive it as `Arc<Self::Error>`.
    type Error: Send + Sync + 'static;

    /// Loads the value of `key`: `Ok(None)` if there is none.
    fn load(&self, key: &K) -> impl Future<Output = Result<Option<V>, Self::Error>> + Send;

    /// Loads several keys at once; the contract of [`Loader::load_many`].
    /// The default awaits [`load`](Self::load) for each key in turn.
    fn load_many(&self, keys: &[K]) -> impl Future<Output = Result<Vec<(K, Option<V>)>, Self::Error>> + Send
    where
        K: Clone + Send + Sync,
        V: Send,
    {
        async move {
            let mut out = Vec::with_capacity(keys.len());
            for k in keys {
                out.push((k.clone(), self.load(k).await?));
            }
            Ok(out)
        }
    }
}

/// A background refresh, handed to a [`Spawn`].
pub type RefreshTask = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Runs an async loader's background refreshes: hand the task to your
/// executor. Any `Fn(RefreshTask)` closure is a `Spawn`; with tokio,
/// `|task| { tokio::spawn(task); }`. The cache never starts a runtime.
pub trait Spawn: Send + Sync + 'static {
    /// Runs `task` to completion in the background.
    fn spawn(&self, task: RefreshTask);
}

impl<F> Spawn for F
where
    F: Fn(RefreshTask) + Send + Sync + 'static,
{
    fn spawn(&self, task: RefreshTask) {
        self(task);
    }
}

/// A closure as a [`Loader`] (see
/// [`LoadingCacheBuilder::loader_fn`](super::LoadingCacheBuilder::loader_fn)).
pub(super) struct FnLoader<F, E>(pub(super) F, pub(super) PhantomData<fn() -> E>);

impl<K, V, E, F> Loader<K, V> for FnLoader<F, E>
where
    F: Fn(&K) -> Result<Option<V>, E> + Send + Sync + 'static,
    E: Send + Sync + 'static,
{
    type Error = E;
    fn load(&self, key: &K) -> Result<Option<V>, E> {
        (self.0)(key)
    }
}

/// A closure returning a future as an [`AsyncLoader`] (see
/// [`LoadingCacheBuilder::async_loader_fn`](super::LoadingCacheBuilder::async_loader_fn)).
pub(super) struct AsyncFnLoader<F, E>(pub(super) F, pub(super) PhantomData<fn() -> E>);

impl<K, V, E, F, Fut> AsyncLoader<K, V> for AsyncFnLoader<F, E>
where
    K: Clone,
    F: Fn(K) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<V>, E>> + Send + 'static,
    E: Send + Sync + 'static,
{
    type Error = E;
    fn load(&self, key: &K) -> impl Future<Output = Result<Option<V>, E>> + Send {
        (self.0)(key.clone())
    }
}

type LoadFuture<'a, T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'a>>;

/// [`AsyncLoader`] with boxed futures, so that it can be shared as a trait
/// object (the cache's type does not name the loader's).
pub(super) trait DynAsyncLoader<K, V, E>: Send + Sync {
    fn load<'a>(&'a self, key: &'a K) -> LoadFuture<'a, Option<V>, E>;
    fn load_many<'a>(&'a self, keys: &'a [K]) -> LoadFuture<'a, Vec<(K, Option<V>)>, E>;
}

impl<K, V, L> DynAsyncLoader<K, V, L::Error> for L
where
    K: Clone + Send + Sync + 'static,
    V: Send + 'static,
    L: AsyncLoader<K, V>,
{
    fn load<'a>(&'a self, key: &'a K) -> LoadFuture<'a, Option<V>, L::Error> {
        Box::pin(AsyncLoader::load(self, key))
    }

    fn load_many<'a>(&'a self, keys: &'a [K]) -> LoadFuture<'a, Vec<(K, Option<V>)>, L::Error> {
        Box::pin(AsyncLoader::load_many(self, keys))
    }
}

/// The cache's loader, sync or async, behind one interface.
pub(super) enum Source<K, V, E> {
    Sync(Arc<dyn Loader<K, V, Error = E>>),
    Async(Arc<dyn DynAsyncLoader<K, V, E>>),
}

impl<K, V, E> Source<K, V, E> {
    pub(super) fn is_async(&self) -> bool {
        matches!(self, Source::Async(_))
    }
}

impl<K, V, E> Source<K, V, E>
where
    K: Clone + Send + Sync + 'static,
    V: Send + 'static,
    E: Send + Sync + 'static,
{
    pub(super) fn from_sync(l: impl Loader<K, V, Error = E>) -> Self {
        Source::Sync(Arc::new(l))
    }

    pub(super) fn from_async(l: impl AsyncLoader<K, V, Error = E>) -> Self {
        Source::Async(Arc::new(l))
    }

    /// Loads one key. A sync loader runs inside the first poll.
    pub(super) async fn load(&self, key: &K) -> Result<Option<V>, E> {
        match self {
            Source::Sync(l) => l.load(key),
            Source::Async(l) => l.load(key).await,
        }
    }

    /// Loads a batch of keys.
    pub(super) async fn load_many(&self, keys: &[K]) -> Result<Vec<(K, Option<V>)>, E> {
        match self {
            Source::Sync(l) => l.load_many(keys),
            Source::Async(l) => l.load_many(keys).await,
        }
    }
}
