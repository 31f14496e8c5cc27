//! Unit tests of the layer, driven through `tower::ServiceExt::oneshot`
//! against a hand-written origin service that counts its calls.

use super::*;
use crate::time::ManualClock;
use ::http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::AtomicUsize;
use std::task::{Context, Poll};
use tokio::sync::Semaphore;
use tower::ServiceExt;
use tower_service::Service;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Boom;

/// A body of chunks, optionally failing after them, with trailers.
#[derive(Default)]
struct TestBody {
    chunks: VecDeque<Bytes>,
    fail: bool,
    trailers: Option<HeaderMap>,
    exact: bool,
}

impl TestBody {
    fn of(chunks: &[&'static str]) -> Self {
        TestBody { chunks: chunks.iter().map(|c| Bytes::from_static(c.as_bytes())).collect(), ..Self::default() }
    }
}

impl Body for TestBody {
    type Data = Bytes;
    type Error = Boom;

    fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Boom>>> {
        let frame = match self.chunks.pop_front() {
            Some(c) => Some(Ok(Frame::data(c))),
            None if std::mem::take(&mut self.fail) => Some(Err(Boom)),
            None => self.trailers.take().map(|t| Ok(Frame::trailers(t))),
        };
        Poll::Ready(frame)
    }

    fn size_hint(&self) -> SizeHint {
        let len: u64 = self.chunks.iter().map(|c| c.len() as u64).sum();
        if self.exact { SizeHint::with_exact(len) } else { SizeHint::new() }
    }
}

type Handler = Arc<dyn Fn(&Request<()>, usize) -> Result<Response<TestBody>, Boom> + Send + Sync>;

/// The inner service: counts calls, answers with `handler(request, call
/// number)`, and waits for a permit of `gate` when it has one.
#[derive(Clone)]
struct Origin {
    calls: Arc<AtomicUsize>,
    handler: Handler,
    gate: Option<Arc<Semaphore>>,
}

impl Service<Request<()>> for Origin {
    type Response = Response<TestBody>;
    type Error = Boom;
    type Future = Pin<Box<dyn Future<Output = Result<Response<TestBody>, Boom>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Boom>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<()>) -> Self::Future {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let result = (self.handler)(&req, n);
        let gate = self.gate.clone();
        Box::pin(async move {
            if let Some(gate) = gate {
                let _permit = gate.acquire().await;
            }
            result
        })
    }
}

/// A 200 with these headers; its body says which call made it.
fn reply(headers: &'static [(&'static str, &'static str)]) -> Handler {
    Arc::new(move |_, n| {
        let mut response =
            Response::new(TestBody { chunks: [Bytes::from(format!("call {n}"))].into(), ..TestBody::default() });
        for (k, v) in headers {
            response.headers_mut().append(*k, HeaderValue::from_static(v));
        }
        Ok(response)
    })
}

struct Fixture {
    service: CacheService<Origin>,
    calls: Arc<AtomicUsize>,
    clock: ManualClock,
    layer: CacheLayer,
}

fn fixture_with(options: CacheOptions, handler: Handler) -> Fixture {
    let clock = ManualClock::new();
    let layer = CacheLayer::new(options.clock(clock.clone())).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let origin = Origin { calls: calls.clone(), handler, gate: None };
    Fixture { service: layer.layer(origin), calls, clock, layer }
}

fn fixture(headers: &'static [(&'static str, &'static str)]) -> Fixture {
    fixture_with(CacheOptions::new(), reply(headers))
}

struct Got {
    status: StatusCode,
    headers: HeaderMap,
    body: Result<Bytes, Boom>,
}

impl Got {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(self.body.as_ref().unwrap()).into_owned()
    }
}

fn request(method: &str, uri: &str, headers: &[(&'static str, &'static str)]) -> Request<()> {
    let mut builder = Request::builder().method(method).uri(uri).header("host", "example.test");
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    builder.body(()).unwrap()
}

impl Fixture {
    async fn send(&self, req: Request<()>) -> Result<Got, Boom> {
        let response = self.service.clone().oneshot(req).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map(|c| c.to_bytes());
        Ok(Got { status: parts.status, headers: parts.headers, body })
    }
    async fn get(&self, uri: &str, headers: &[(&'static str, &'static str)]) -> Got {
        self.send(request("GET", uri, headers)).await.unwrap()
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn miss_then_hit_with_age() {
    let f = fixture(&[("cache-control", "public, max-age=60"), ("age", "3")]);
    let first = f.get("/a?x=1", &[]).await;
    assert_eq!(
        (first.header("x-cache"), first.header("age"), first.text().as_str()),
        (Some("MISS"), Some("3"), "call 1")
    );
    f.clock.advance(Duration::from_secs(5));
    let second = f.get("/a?x=1", &[]).await;
    assert_eq!(
        (second.header("x-cache"), second.header("age"), second.text().as_str()),
        (Some("HIT"), Some("8"), "call 1")
    );
    assert_eq!(second.header("cache-control"), Some("public, max-age=60"));
    f.get("/a?x=2", &[]).await;
    f.get("/b", &[]).await;
    assert_eq!(f.calls(), 3, "query strings and paths are different keys");
}

#[tokio::test]
async fn max_age_expires_and_s_maxage_wins() {
    let f = fixture(&[("cache-control", "max-age=10")]);
    f.get("/", &[]).await;
    f.clock.advance(Duration::from_secs(9));
    assert_eq!(f.get("/", &[]).await.header("x-cache"), Some("HIT"));
    f.clock.advance(Duration::from_secs(2));
    assert_eq!(f.get("/", &[]).await.text(), "call 2");
    let f = fixture(&[("cache-control", "max-age=100, s-maxage=5")]);
    f.get("/", &[]).await;
    f.clock.advance(Duration::from_secs(6));
    assert_eq!(f.get("/", &[]).await.text(), "call 2");
}

#[tokio::test]
async fn responses_that_are_not_stored() {
    let cases: &[&'static [(&'static str, &'static str)]] = &[
        &[("cache-control", "no-store, max-age=60")],
        &[("cache-control", "private, max-age=60")],
        &[("cache-control", "no-cache, max-age=60")],
        &[("cache-control", "max-age=0")],
        &[("cache-control", "max-age=oops")],
        &[],
        &[("cache-control", "public")],
        &[("cache-control", "max-age=60"), ("vary", "*")],
        &[("cache-control", "max-age=60"), ("vary", "bad header")],
        &[("cache-control", "max-age=60"), ("set-cookie", "sid=1")],
        &[("cache-control", "max-age=60"), ("age", "60")],
    ];
    for headers in cases {
        let f = fixture(headers);
        f.get("/", &[]).await;
        let again = f.get("/", &[]).await;
        assert_eq!((again.text().as_str(), again.header("x-cache")), ("call 2", Some("MISS")), "{headers:?}");
    }
}

#[tokio::test]
async fn default_ttl_applies_without_explicit_freshness() {
    let f = fixture_with(CacheOptions::new().default_ttl(Duration::from_secs(5)), reply(&[]));
    f.get("/", &[]).await;
    assert_eq!(f.get("/", &[]).await.header("x-cache"), Some("HIT"));
    f.clock.advance(Duration::from_secs(5));
    assert_eq!(f.get("/", &[]).await.text(), "call 2");
}

#[tokio::test]
async fn statuses_are_configurable() {
    let not_found: Handler = Arc::new(|_, _| {
        let mut r = Response::new(TestBody::of(&["gone"]));
        *r.status_mut() = StatusCode::NOT_FOUND;
        r.headers_mut().insert("cache-control", HeaderValue::from_static("max-age=60"));
        Ok(r)
    });
    let f = fixture_with(CacheOptions::new(), not_found.clone());
    f.get("/", &[]).await;
    f.get("/", &[]).await;
    assert_eq!(f.calls(), 2, "only 200 by default");
    let f = fixture_with(CacheOptions::new().cacheable_statuses([StatusCode::NOT_FOUND]), not_found);
    f.get("/", &[]).await;
    let hit = f.get("/", &[]).await;
    assert_eq!((hit.status, hit.header("x-cache"), f.calls()), (StatusCode::NOT_FOUND, Some("HIT"), 1));
}

#[tokio::test]
async fn request_directives() {
    let f = fixture(&[("cache-control", "max-age=60")]);
    f.get("/", &[]).await;
    let refreshed = f.get("/", &[("cache-control", "no-cache")]).await;
    assert_eq!((refreshed.text().as_str(), refreshed.header("x-cache")), ("call 2", Some("MISS")));
    assert_eq!(f.get("/", &[]).await.text(), "call 2", "no-cache stores the new response");
    assert_eq!(f.get("/", &[("pragma", "no-cache")]).await.text(), "call 3");
    assert_eq!(f.get("/", &[("cache-control", "no-store")]).await.text(), "call 4");
    assert_eq!(f.get("/", &[]).await.text(), "call 3", "no-store neither reads nor stores");
    f.clock.advance(Duration::from_secs(2));
    assert_eq!(f.get("/", &[("cache-control", "max-age=5")]).await.text(), "call 3");
    assert_eq!(f.get("/", &[("cache-control", "max-age=1")]).await.text(), "call 5");
    assert_eq!(f.get("/", &[]).await.header("age"), Some("0"));
}

#[tokio::test]
async fn authorization_needs_a_shared_permission() {
    let f = fixture(&[("cache-control", "max-age=60")]);
    f.get("/", &[("authorization", "Bearer a")]).await;
    f.get("/", &[("authorization", "Bearer a")]).await;
    assert_eq!(f.calls(), 2);
    let f = fixture(&[("cache-control", "public, max-age=60")]);
    f.get("/", &[("authorization", "Bearer a")]).await;
    assert_eq!(f.get("/", &[]).await.header("x-cache"), Some("HIT"));
}

#[tokio::test]
async fn vary_selects_variants() {
    let f = fixture(&[("cache-control", "max-age=60"), ("vary", "Accept-Language")]);
    assert_eq!(f.get("/", &[("accept-language", "en")]).await.text(), "call 1");
    assert_eq!(f.get("/", &[("accept-language", "fr")]).await.text(), "call 2");
    assert_eq!(f.get("/", &[("accept-language", "en")]).await.text(), "call 1");
    assert_eq!(f.get("/", &[("accept-language", "fr")]).await.text(), "call 2");
    assert_eq!(f.get("/", &[]).await.text(), "call 3", "an absent header is a value of its own");
    assert_eq!(f.get("/", &[]).await.text(), "call 3");
    assert_eq!(f.calls(), 3);
}

#[tokio::test]
async fn unsafe_methods_invalidate_on_success() {
    let f = fixture(&[("cache-control", "max-age=60")]);
    f.get("/doc", &[]).await;
    f.send(request("HEAD", "/doc", &[])).await.unwrap();
    f.send(request("OPTIONS", "/doc", &[])).await.unwrap();
    assert_eq!(f.get("/doc", &[]).await.text(), "call 1", "OPTIONS is safe");
    let posted = f.send(request("POST", "/doc", &[])).await.unwrap();
    assert_eq!((posted.text().as_str(), posted.header("x-cache")), ("call 4", None));
    assert_eq!(f.get("/doc", &[]).await.text(), "call 5");
    assert_eq!(f.send(request("HEAD", "/doc", &[])).await.unwrap().header("x-cache"), Some("MISS"));
    f.send(request("DELETE", "/other", &[])).await.unwrap();
    assert_eq!(f.get("/doc", &[]).await.text(), "call 5", "another target is untouched");

    let failing: Handler = Arc::new(|req, n| {
        let mut r = reply(&[("cache-control", "max-age=60")])(req, n)?;
        if req.method() == ::http::Method::PUT {
            *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        }
        Ok(r)
    });
    let f = fixture_with(CacheOptions::new(), failing);
    f.get("/doc", &[]).await;
    f.send(request("PUT", "/doc", &[])).await.unwrap();
    assert_eq!(f.get("/doc", &[]).await.text(), "call 1", "a failed write invalidates nothing");
}

#[tokio::test]
async fn head_is_cached_on_its_own() {
    let f = fixture(&[("cache-control", "max-age=60")]);
    let head = || request("HEAD", "/", &[]);
    assert_eq!(f.send(head()).await.unwrap().header("x-cache"), Some("MISS"));
    assert_eq!(f.send(head()).await.unwrap().header("x-cache"), Some("HIT"));
    assert_eq!(f.get("/", &[]).await.text(), "call 2");
    assert_eq!(f.calls(), 2);
}

#[tokio::test]
async fn errors_pass_through_and_are_not_cached() {
    let f = fixture_with(CacheOptions::new(), Arc::new(|_, _| Err(Boom)));
    assert_eq!(f.send(request("GET", "/", &[])).await.err(), Some(Boom));
    assert_eq!(f.send(request("GET", "/", &[])).await.err(), Some(Boom));
    assert_eq!(f.calls(), 2);
    let f = fixture_with(
        CacheOptions::new(),
        Arc::new(|_, _| {
            let mut r = Response::new(TestBody { fail: true, ..TestBody::of(&["par", "tial"]) });
            r.headers_mut().insert("cache-control", HeaderValue::from_static("max-age=60"));
            Ok(r)
        }),
    );
    let got = f.send(request("GET", "/", &[])).await.unwrap();
    assert_eq!(got.body, Err(Boom), "a body error reaches the client");
    let response = f.service.clone().oneshot(request("GET", "/", &[])).await.unwrap();
    let mut body = response.into_body();
    assert_eq!(body.frame().await.unwrap().unwrap().into_data().unwrap(), "partial");
    assert_eq!(body.frame().await.unwrap().err(), Some(Boom));
    assert_eq!(f.calls(), 2);
}

#[tokio::test]
async fn long_bodies_stream_through_uncached() {
    let chunks: Handler = Arc::new(|_, _| {
        let mut r = Response::new(TestBody::of(&["0123456", "789abcd", "efghij", "klm"]));
        r.headers_mut().insert("cache-control", HeaderValue::from_static("max-age=60"));
        Ok(r)
    });
    let f = fixture_with(CacheOptions::new().max_body_bytes(10), chunks);
    let response = f.service.clone().oneshot(request("GET", "/", &[])).await.unwrap();
    let mut body = response.into_body();
    assert_eq!(body.frame().await.unwrap().unwrap().into_data().unwrap(), "0123456", "the buffered prefix");
    assert_eq!(body.frame().await.unwrap().unwrap().into_data().unwrap(), "789abcd", "the frame over the limit");
    assert_eq!(body.frame().await.unwrap().unwrap().into_data().unwrap(), "efghij", "then the stream");
    assert_eq!(f.get("/", &[]).await.text(), "0123456789abcdefghijklm");
    assert_eq!(f.calls(), 2);

    // A size hint over the limit is not even buffered.
    let exact: Handler = Arc::new(|_, _| {
        let mut r = Response::new(TestBody { exact: true, ..TestBody::of(&["0123456789", "x"]) });
        r.headers_mut().insert("cache-control", HeaderValue::from_static("max-age=60"));
        Ok(r)
    });
    let f = fixture_with(CacheOptions::new().max_body_bytes(10), exact);
    let mut body = f.service.clone().oneshot(request("GET", "/", &[])).await.unwrap().into_body();
    assert_eq!(body.frame().await.unwrap().unwrap().into_data().unwrap(), "0123456789");
    assert_eq!(f.get("/", &[]).await.text(), "0123456789x");
    assert_eq!(f.calls(), 2);
}

#[tokio::test]
async fn trailers_are_kept() {
    let with_trailers: Handler = Arc::new(|_, _| {
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
        let mut r = Response::new(TestBody { trailers: Some(trailers), ..TestBody::of(&["a", "b"]) });
        r.headers_mut().insert("cache-control", HeaderValue::from_static("max-age=60"));
        Ok(r)
    });
    let f = fixture_with(CacheOptions::new(), with_trailers);
    for expected in ["MISS", "HIT"] {
        let response = f.service.clone().oneshot(request("GET", "/", &[])).await.unwrap();
        assert_eq!(response.headers().get("x-cache").unwrap(), expected);
        let collected = response.into_body().collect().await.unwrap();
        assert_eq!(collected.trailers().and_then(|t| t.get("grpc-status")).unwrap(), "0");
        assert_eq!(collected.to_bytes(), "ab");
    }
}

type Gated = (CacheService<Origin>, Arc<Semaphore>, Arc<AtomicUsize>);

/// A service whose origin answers with `headers` after waiting for a
/// permit of the returned gate.
fn gated(headers: &'static [(&'static str, &'static str)]) -> Gated {
    let layer = CacheLayer::new(CacheOptions::new()).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(0));
    let origin = Origin { calls: calls.clone(), handler: reply(headers), gate: Some(gate.clone()) };
    (layer.layer(origin), gate, calls)
}

/// Starts `n` concurrent GETs of `/`, opens the gate once they are all
/// under way, and returns the responses' bodies and how many origin calls
/// had started before the gate opened.
async fn concurrent(
    n: usize,
    (service, gate, calls): &(CacheService<Origin>, Arc<Semaphore>, Arc<AtomicUsize>),
) -> (Vec<String>, usize) {
    let before = calls.load(Ordering::SeqCst);
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let service = service.clone();
            tokio::spawn(async move {
                let response = service.oneshot(request("GET", "/", &[])).await.unwrap();
                response.into_body().collect().await.unwrap().to_bytes()
            })
        })
        .collect();
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    let started = calls.load(Ordering::SeqCst) - before;
    gate.add_permits(n);
    let mut bodies = Vec::new();
    for t in tasks {
        bodies.push(String::from_utf8_lossy(&t.await.unwrap()).into_owned());
    }
    (bodies, started)
}

#[tokio::test]
async fn concurrent_misses_call_the_origin_once() {
    let (bodies, started) = concurrent(100, &gated(&[("cache-control", "max-age=60")])).await;
    assert_eq!(started, 1, "99 requests wait for the first");
    assert!(bodies.iter().all(|b| b == "call 1"), "{bodies:?}");
}

#[tokio::test]
async fn waiters_fetch_for_themselves_when_the_response_is_private() {
    let service = gated(&[("cache-control", "private, max-age=60")]);
    let (mut bodies, started) = concurrent(10, &service).await;
    assert_eq!(started, 1, "they waited for the first");
    bodies.sort();
    bodies.dedup();
    assert_eq!(bodies.len(), 10, "no private response is shared: {bodies:?}");
    // Now the target is known to be uncacheable: nobody waits.
    let (bodies, started) = concurrent(10, &service).await;
    assert_eq!(started, 10, "hit-for-miss: misses are not coalesced");
    assert!(bodies.iter().all(|b| b.starts_with("call ")), "{bodies:?}");
}

#[tokio::test]
async fn an_uncacheable_target_heals_once_its_response_may_be_stored() {
    let flip: Handler = Arc::new(|req, n| {
        let private: &'static [(&'static str, &'static str)] = &[("cache-control", "private, max-age=60")];
        let public: &'static [(&'static str, &'static str)] = &[("cache-control", "max-age=60")];
        reply(if n == 1 { private } else { public })(req, n)
    });
    let f = fixture_with(CacheOptions::new(), flip);
    assert_eq!(f.get("/", &[]).await.text(), "call 1");
    assert_eq!(f.get("/", &[]).await.text(), "call 2");
    assert_eq!(f.get("/", &[]).await.header("x-cache"), Some("HIT"));
    assert_eq!(f.calls(), 2);
}

#[tokio::test]
async fn the_budget_bounds_the_cache() {
    let f = fixture_with(CacheOptions::new().max_weight(64 << 10), reply(&[("cache-control", "max-age=60")]));
    for i in 0..2_000 {
        f.get(&format!("/item/{i}"), &[]).await;
    }
    assert!(f.layer.weighted_size() <= 64 << 10, "{}", f.layer.weighted_size());
    f.layer.clear();
    assert_eq!(f.layer.weighted_size(), 0);
}

#[tokio::test]
async fn odd_headers_do_not_panic() {
    let odd: Handler = Arc::new(|_, _| {
        let mut r = Response::new(TestBody::of(&["x"]));
        let h = r.headers_mut();
        h.insert("cache-control", HeaderValue::from_bytes(b"max-age=\"60, \xff=\"\"\", s-maxage").unwrap());
        h.insert("vary", HeaderValue::from_bytes(b"\xfe, accept").unwrap());
        h.insert("age", HeaderValue::from_bytes(b"\xff").unwrap());
        Ok(r)
    });
    let f = fixture_with(CacheOptions::new(), odd);
    let mut req = request("GET", "/%ff?%e9", &[("pragma", ",,,\"")]);
    req.headers_mut().insert("cache-control", HeaderValue::from_bytes(b"max-age=\xff\t, no-cache=\"").unwrap());
    f.send(req).await.unwrap();
    f.get("/%ff?%e9", &[]).await;
    assert_eq!(f.calls(), 2);
}

#[test]
fn zero_durations_are_refused() {
    assert_eq!(
        CacheLayer::new(CacheOptions::new().max_ttl(Duration::ZERO)).err(),
        Some(ConfigError::ZeroDuration("max_ttl"))
    );
    let e = CacheLayer::new(CacheOptions::new().default_ttl(Duration::ZERO)).err();
    assert_eq!(e, Some(ConfigError::ZeroDuration("default_ttl")));
}
