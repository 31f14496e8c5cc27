//! [`CacheBody`], the layer's response body, and bounded buffering of the
//! inner service's bodies.

use ::http::HeaderMap;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The body of a response from a [`CacheService`](super::CacheService):
/// either a complete body in memory (a cache hit, or a response that was
/// buffered to be stored) or the inner service's body, streamed, possibly
/// behind the part of it already buffered.
pub struct CacheBody<B: Body> {
    kind: Kind<B>,
}

enum Kind<B: Body> {
    Full { data: Option<Bytes>, trailers: Option<HeaderMap> },
    Stream(Box<Stream<B>>),
}

struct Stream<B: Body> {
    /// What was read while buffering, replayed first.
    prefix: VecDeque<Bytes>,
    rest: Option<Pin<Box<B>>>,
    /// An error met while buffering, delivered after `prefix`.
    error: Option<B::Error>,
    trailers: Option<HeaderMap>,
}

impl<B: Body> CacheBody<B> {
    /// A complete body.
    pub(crate) fn full(data: Bytes, trailers: Option<HeaderMap>) -> Self {
        CacheBody { kind: Kind::Full { data: Some(data).filter(|d| !d.is_empty()), trailers } }
    }

    /// The inner service's body, untouched.
    pub(crate) fn passthrough(body: B) -> Self {
        Self::stream(Stream { prefix: VecDeque::new(), rest: Some(Box::pin(body)), error: None, trailers: None })
    }

    fn stream(s: Stream<B>) -> Self {
        CacheBody { kind: Kind::Stream(Box::new(s)) }
    }
}

impl<B: Body> fmt::Debug for CacheBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Full { data, .. } => {
                f.debug_struct("CacheBody::Full").field("len", &data.as_ref().map_or(0, Bytes::len)).finish()
            }
            Kind::Stream(_) => f.write_str("CacheBody::Stream"),
        }
    }
}

fn to_bytes<D: Buf>(mut data: D) -> Bytes {
    data.copy_to_bytes(data.remaining())
}

impl<B> Body for CacheBody<B>
where
    B: Body,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match &mut self.get_mut().kind {
            Kind::Full { data, trailers } => {
                let frame = data.take().map(Frame::data).or_else(|| trailers.take().map(Frame::trailers));
                Poll::Ready(frame.map(Ok))
            }
            Kind::Stream(s) => {
                if let Some(prefix) = s.prefix.pop_front() {
                    return Poll::Ready(Some(Ok(Frame::data(prefix))));
                }
                if let Some(e) = s.error.take() {
                    return Poll::Ready(Some(Err(e)));
                }
                if let Some(rest) = s.rest.as_mut() {
                    match rest.as_mut().poll_frame(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Some(frame)) => return Poll::Ready(Some(frame.map(|f| f.map_data(to_bytes)))),
                        Poll::Ready(None) => s.rest = None,
                    }
                }
                Poll::Ready(s.trailers.take().map(|t| Ok(Frame::trailers(t))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full { data, trailers } => data.is_none() && trailers.is_none(),
            Kind::Stream(s) => {
                s.prefix.is_empty()
                    && s.error.is_none()
                    && s.trailers.is_none()
                    && s.rest.as_ref().is_none_or(|r| r.is_end_stream())
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full { data, .. } => SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64)),
            Kind::Stream(s) => {
                let prefix = s.prefix.iter().map(|p| p.len() as u64).sum::<u64>();
                let rest = s.rest.as_ref().map_or_else(|| SizeHint::with_exact(0), |r| r.size_hint());
                let mut hint = SizeHint::new();
                hint.set_lower(rest.lower().saturating_add(prefix));
                if let Some(upper) = rest.upper() {
                    hint.set_upper(upper.saturating_add(prefix));
                }
                hint
            }
        }
    }
}

/// What reading a body with a limit gave.
pub(crate) enum Buffered<B: Body> {
    /// The whole body (and its trailers), within the limit.
    Complete { data: Bytes, trailers: Option<HeaderMap> },
    /// Over the limit, or failed: a body that replays what was read, then
    /// the rest of the stream (or the error).
    Partial(CacheBody<B>),
}

/// Reads `body` until its end or until more than `limit` bytes came.
pub(crate) async fn buffer<B: Body>(body: B, limit: usize) -> Buffered<B> {
    let mut body = Box::pin(body);
    let hint = usize::try_from(body.size_hint().lower()).unwrap_or(usize::MAX);
    let mut buf = BytesMut::with_capacity(hint.min(limit));
    let mut trailers: Option<HeaderMap> = None;
    let partial = |buf: BytesMut, last: Option<Bytes>, rest, error, trailers| {
        let prefix = [Some(buf.freeze()), last].into_iter().flatten().filter(|b| !b.is_empty()).collect();
        Buffered::Partial(CacheBody::stream(Stream { prefix, rest, error, trailers }))
    };
    loop {
        match body.frame().await {
            None => return Buffered::Complete { data: buf.freeze(), trailers },
            Some(Err(e)) => return partial(buf, None, None, Some(e), trailers),
            Some(Ok(frame)) => match frame.into_data() {
                // The frame that goes over the limit is not copied.
                Ok(data) if buf.len().saturating_add(data.remaining()) > limit => {
                    return partial(buf, Some(to_bytes(data)), Some(body), None, trailers);
                }
                Ok(data) => buf.put(data),
                Err(frame) => {
                    if let Ok(t) = frame.into_trailers() {
                        trailers.get_or_insert_with(HeaderMap::new).extend(t);
                    }
                }
            },
        }
    }
}
