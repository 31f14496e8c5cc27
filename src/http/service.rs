//! [`CacheService`]: the request path (lookup, coalesced fetch, storing,
//! invalidation).

use super::Shared;
use super::body::{self, Buffered, CacheBody};
use super::directives::{CacheControl, Seconds};
use super::key::{self, Slot, Target};
use super::policy;
use super::stored::{Stored, Value, X_CACHE};
use ::http::header::{AUTHORIZATION, HeaderName, HeaderValue};
use ::http::{Method, Request, Response};
use http_body::Body;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_service::Service;

/// The future of a [`CacheService`] call.
pub type ResponseFuture<B, E> = Pin<Box<dyn Future<Output = Result<Response<CacheBody<B>>, E>> + Send>>;

/// A service answering from the cache of the [`CacheLayer`](super::CacheLayer)
/// that made it, and calling its inner service on misses. See the
/// [module docs](super) for the semantics.
#[derive(Clone)]
pub struct CacheService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> CacheService<S> {
    pub(super) fn new(inner: S, shared: Arc<Shared>) -> Self {
        CacheService { inner, shared }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: std::fmt::Debug> std::fmt::Debug for CacheService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheService").field("inner", &self.inner).finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for CacheService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Body + Send + 'static,
    ResBody::Data: Send,
    ResBody::Error: Send,
{
    type Response = Response<CacheBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        // The service that was polled ready goes with this request; the
        // clone waits for the next `poll_ready`.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(serve(self.shared.clone(), inner, req))
    }
}

/// Waiters of a flight learn this when the leader did not store what it
/// fetched.
#[derive(Debug)]
struct NotShared;

/// A response to store, produced by [`fetch`].
struct Keep {
    target: Target,
    generation: u64,
    vary: Arc<[HeaderName]>,
    stored: Arc<Stored>,
}

impl Keep {
    fn slot(&self) -> Slot {
        Slot::Entry { target: self.target.clone(), generation: self.generation, selected: self.stored.selected.clone() }
    }
}

impl Shared {
    /// Stores a fetched response and remembers its `Vary` names.
    fn keep(&self, keep: Keep) {
        self.learn(&keep.target, keep.generation, Some(&keep.vary));
        self.cache.insert(keep.slot(), Value::Entry(keep.stored));
    }
}

async fn serve<S, ReqBody, B>(
    shared: Arc<Shared>,
    mut inner: S,
    req: Request<ReqBody>,
) -> Result<Response<CacheBody<B>>, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<B>>,
    B: Body,
{
    let method = req.method().clone();
    if method != Method::GET && method != Method::HEAD {
        return pass(&shared, inner, req).await;
    }
    let directives = CacheControl::parse_request(req.headers());
    if directives.no_store {
        return Ok(miss(inner.call(req).await?.map(CacheBody::passthrough)));
    }
    let target = Target::new(&req, &method);
    let index = shared.index(&target);
    if directives.no_cache {
        return fetch_and_keep(&shared, inner, req, target, index.generation).await;
    }
    let slot = Slot::Entry {
        target: target.clone(),
        generation: index.generation,
        selected: key::select(req.headers(), &index.vary),
    };
    let acceptable = |stored: &Stored, now| match directives.max_age {
        Some(Seconds::Valid(max_age)) => stored.age(now) <= max_age,
        _ => true,
    };
    if let Some(Value::Entry(stored)) = shared.cache.get(&slot) {
        let now = shared.now();
        if acceptable(&stored, now) {
            return Ok(stored.hit(now));
        }
        return fetch_and_keep(&shared, inner, req, target, index.generation).await;
    }
    if index.uncacheable {
        return fetch_and_keep(&shared, inner, req, target, index.generation).await;
    }

    // A miss: one caller per variant fetches, the others wait for it.
    let mut parts = Some((inner, req));
    let mut own = None;
    let flight = slot.clone();
    let outcome = shared
        .cache
        .try_get_or_insert_with_async(slot, async {
            let Some((inner, req)) = parts.take() else { return Err(NotShared) };
            match fetch(&shared, inner, req, target.clone(), index.generation).await {
                Err(e) => {
                    own = Some(Err(e));
                    Err(NotShared)
                }
                Ok((response, keep)) => {
                    own = Some(Ok(response));
                    match keep {
                        // Stored by the flight under its key.
                        Some(keep) if keep.slot() == flight => {
                            shared.learn(&keep.target, keep.generation, Some(&keep.vary));
                            Ok(Value::Entry(keep.stored))
                        }
                        // It varies on headers this variant's key did not
                        // know of: stored under its own key, not shared.
                        Some(keep) => {
                            shared.keep(keep);
                            Err(NotShared)
                        }
                        None => Err(NotShared),
                    }
                }
            }
        })
        .await;
    match (own, parts) {
        (Some(own), _) => own,
        (None, Some((inner, req))) => match outcome {
            Ok(Value::Entry(stored)) if acceptable(&stored, shared.now()) => Ok(stored.hit(shared.now())),
            _ => fetch_and_keep(&shared, inner, req, target, index.generation).await,
        },
        (None, None) => unreachable!("only the flight's leader takes the request, and it always records its outcome"),
    }
}

/// A method that is not looked up: passed through, and an unsafe one
/// that succeeds invalidates its target.
async fn pass<S, ReqBody, B>(
    shared: &Shared,
    mut inner: S,
    req: Request<ReqBody>,
) -> Result<Response<CacheBody<B>>, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<B>>,
    B: Body,
{
    let safe = matches!(*req.method(), Method::OPTIONS | Method::TRACE);
    let targets = (!safe).then(|| [Target::new(&req, &Method::GET), Target::new(&req, &Method::HEAD)]);
    let response = inner.call(req).await?;
    let status = response.status();
    if let Some(targets) = targets
        && !(status.is_client_error() || status.is_server_error())
    {
        targets.iter().for_each(|t| shared.invalidate(t));
    }
    Ok(response.map(CacheBody::passthrough))
}

/// Fetches without coalescing and stores the response if it may be.
async fn fetch_and_keep<S, ReqBody, B>(
    shared: &Shared,
    inner: S,
    req: Request<ReqBody>,
    target: Target,
    generation: u64,
) -> Result<Response<CacheBody<B>>, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<B>>,
    B: Body,
{
    let (response, keep) = fetch(shared, inner, req, target, generation).await?;
    if let Some(keep) = keep {
        shared.keep(keep);
    }
    Ok(response)
}

/// Calls the inner service; reads the body into memory if the response may
/// be stored and is short enough, and says what to store (or notes in the
/// target's index that it could not be stored).
async fn fetch<S, ReqBody, B>(
    shared: &Shared,
    mut inner: S,
    req: Request<ReqBody>,
    target: Target,
    generation: u64,
) -> Result<(Response<CacheBody<B>>, Option<Keep>), S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<B>>,
    B: Body,
{
    let headers = req.headers().clone();
    let response = inner.call(req).await?;
    let limit = shared.options.max_body_bytes;
    let storable =
        policy::storable(response.status(), response.headers(), headers.contains_key(AUTHORIZATION), &shared.options)
            .filter(|_| response.body().size_hint().lower() <= limit as u64);
    let Some(storable) = storable else {
        shared.learn(&target, generation, None);
        return Ok((miss(response.map(CacheBody::passthrough)), None));
    };
    let (parts, body) = response.into_parts();
    match body::buffer(body, limit).await {
        Buffered::Partial(body) => {
            shared.learn(&target, generation, None);
            Ok((miss(Response::from_parts(parts, body)), None))
        }
        Buffered::Complete { data, trailers } => {
            let selected = key::select(&headers, &storable.vary);
            let stored = Stored::new(&parts, data.clone(), trailers.clone(), selected).fresh(shared.now(), &storable);
            let keep = Keep { target, generation, vary: storable.vary.into(), stored: Arc::new(stored) };
            Ok((miss(Response::from_parts(parts, CacheBody::full(data, trailers))), Some(keep)))
        }
    }
}

/// Marks a response of `GET` or `HEAD` as fetched from the inner service.
fn miss<B>(mut response: Response<B>) -> Response<B> {
    response.headers_mut().insert(X_CACHE, HeaderValue::from_static("MISS"));
    response
}
