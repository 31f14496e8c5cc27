//! Feeds arbitrary request and response headers (and a status) through the
//! tower `CacheLayer`: the directives parser (Cache-Control, Pragma, Vary,
//! Age, Expires, Date), the storing policy and the hit path. Two identical
//! requests run in a row (a miss, then perhaps a hit); neither may panic,
//! and the origin's body always reaches the client unchanged.
//!
//! Input: the first byte picks the status and the method; then lines
//! `name: value`, request headers before an empty line, response headers
//! after it.

#![no_main]

use bytes::Bytes;
use embercache::http::{CacheLayer, CacheOptions};
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use libfuzzer_sys::fuzz_target;
use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use tower_layer::Layer;
use tower_service::Service;

#[derive(Clone)]
struct Origin {
    status: StatusCode,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Service<Request<Full<Bytes>>> for Origin {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<Full<Bytes>>) -> Self::Future {
        let mut res = Response::new(Full::new(Bytes::from_static(b"origin body")));
        *res.status_mut() = self.status;
        for (n, v) in &self.headers {
            res.headers_mut().append(n.clone(), v.clone());
        }
        ready(Ok(res))
    }
}

/// Polls `fut` to completion on this thread (the origin never pends).
fn block_on<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1000 {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return Some(v);
        }
    }
    None
}

fn headers(text: &[u8]) -> Vec<(HeaderName, HeaderValue)> {
    text.split(|&b| b == b'\n')
        .filter_map(|line| {
            let at = line.iter().position(|&b| b == b':')?;
            let name = HeaderName::from_bytes(line[..at].trim_ascii()).ok()?;
            let value = HeaderValue::from_bytes(line[at + 1..].trim_ascii()).ok()?;
            Some((name, value))
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let split = rest.windows(2).position(|w| w == b"\n\n").unwrap_or(rest.len());
    let (req_part, res_part) = rest.split_at(split);
    let statuses = [200u16, 203, 204, 301, 304, 404, 500];
    let status = StatusCode::from_u16(statuses[usize::from(pick) % statuses.len()]).unwrap_or(StatusCode::OK);
    let method = [Method::GET, Method::HEAD, Method::POST, Method::DELETE][usize::from(pick >> 4) % 4].clone();
    let origin = Origin { status, headers: headers(res_part) };
    let Ok(layer) = CacheLayer::new(CacheOptions::new()) else { return };
    let mut service = layer.layer(origin);
    let req_headers = headers(req_part);
    for _ in 0..2 {
        let mut req = Request::new(Full::new(Bytes::new()));
        *req.method_mut() = method.clone();
        *req.uri_mut() = "http://example.test/page?q=1".parse().unwrap_or_default();
        for (n, v) in &req_headers {
            req.headers_mut().append(n.clone(), v.clone());
        }
        let Some(Ok(res)) = block_on(service.call(req)) else { return };
        let Some(Ok(body)) = block_on(res.into_body().collect()) else { return };
        if method != Method::HEAD {
            assert_eq!(body.to_bytes(), Bytes::from_static(b"origin body"), "the body arrives unchanged");
        }
    }
});
