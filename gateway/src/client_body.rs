//! The client's request body, read under the gateway's limits: at most `MAX_BODY_BYTES`, all
//! of it within `BODY_READ_TIMEOUT_MS` of the request's arrival.
//!
//! A body that breaks a limit, or that the client abandons, fails while it is being streamed
//! to an instance, so the forwarding fails too. That failure is the client's, not the
//! instance's: [`BodyWatch`] records what happened to the body, and the forwarding asks it
//! before counting a failure toward ejecting the instance (see `forward`). Otherwise a few
//! oversized or trickled bodies from one anonymous client could take a service out of
//! rotation for everyone.

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU8, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    body::{Body, Bytes, HttpBody},
    extract::Request,
    http::Extensions,
    response::{IntoResponse, Response},
};
use hyper::body::{Frame, SizeHint};
use shop_platform::ApiError;
use tokio::time::{Instant, Sleep};

/// What happened to a request's body so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyState {
    /// Not (completely) read yet.
    Reading,
    /// Read to its end within the limits.
    Complete,
    /// Longer than the limit.
    TooLarge,
    /// Not complete within the body-read time-out.
    TimedOut,
    /// The client's connection failed part-way.
    Aborted,
}

impl BodyState {
    fn from_u8(value: u8) -> Self {
        match value {
            1 => Self::Complete,
            2 => Self::TooLarge,
            3 => Self::TimedOut,
            4 => Self::Aborted,
            _ => Self::Reading,
        }
    }

    fn as_u8(self) -> u8 {
        match self {
            Self::Reading => 0,
            Self::Complete => 1,
            Self::TooLarge => 2,
            Self::TimedOut => 3,
            Self::Aborted => 4,
        }
    }
}

/// Shared view of one request's [`BodyState`], kept in the request's extensions.
#[derive(Debug, Clone)]
pub struct BodyWatch {
    state: Arc<AtomicU8>,
    limit: usize,
    timeout: Duration,
}

impl BodyWatch {
    pub fn of(extensions: &Extensions) -> Option<&Self> {
        extensions.get::<Self>()
    }

    pub fn state(&self) -> BodyState {
        BodyState::from_u8(self.state.load(Ordering::Acquire))
    }

    /// Records `state` unless the body already ended one way or another.
    fn settle(&self, state: BodyState) {
        let _ = self.state.compare_exchange(
            BodyState::Reading.as_u8(),
            state.as_u8(),
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }

    /// The answer for a request whose body was the client's fault; None while it is not.
    pub fn client_fault(&self) -> Option<Response> {
        let error = match self.state() {
            BodyState::Reading | BodyState::Complete => return None,
            BodyState::TooLarge => ApiError::PayloadTooLarge(self.limit),
            BodyState::TimedOut => {
                ApiError::RequestTimeout(format!("the request body did not arrive within {:?}", self.timeout))
            }
            BodyState::Aborted => ApiError::BadRequest("the request body was cut off".into()),
        };
        Some(error.into_response())
    }

    /// An upstream time-out while the client was still sending the body is the client's
    /// delay, not the instance's: it is answered as a body-read time-out. None when the body
    /// had arrived (the instance was slow).
    pub fn blame_timeout_on_client(&self) -> Option<Response> {
        self.settle(BodyState::TimedOut);
        self.client_fault()
    }
}

/// Wraps `request`'s body in the limits and puts its [`BodyWatch`] in the extensions.
pub fn guard(request: Request, limit: usize, timeout: Duration) -> (Request, BodyWatch) {
    let watch = BodyWatch {
        state: Arc::new(AtomicU8::new(BodyState::Reading.as_u8())),
        limit,
        timeout,
    };
    let (mut parts, body) = request.into_parts();
    if body.is_end_stream() {
        watch.settle(BodyState::Complete);
    }
    parts.extensions.insert(watch.clone());
    let body = LimitedBody {
        inner: body,
        watch: watch.clone(),
        seen: 0,
        deadline: Box::pin(tokio::time::sleep_until(Instant::now() + timeout)),
    };
    (Request::from_parts(parts, Body::new(body)), watch)
}

/// Why the client's body stopped.
#[derive(Debug, thiserror::Error)]
#[error("request body refused: {0:?}")]
pub struct BodyRefused(BodyState);

struct LimitedBody {
    inner: Body,
    watch: BodyWatch,
    seen: usize,
    deadline: Pin<Box<Sleep>>,
}

impl LimitedBody {
    fn refuse(&self, state: BodyState) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        self.watch.settle(state);
        Poll::Ready(Some(Err(axum::Error::new(BodyRefused(state)))))
    }
}

impl HttpBody for LimitedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.deadline.as_mut().poll(cx).is_ready() {
            return self.refuse(BodyState::TimedOut);
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                self.watch.settle(BodyState::Complete);
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(_))) => self.refuse(BodyState::Aborted),
            Poll::Ready(Some(Ok(frame))) => {
                self.seen += frame.data_ref().map_or(0, Bytes::len);
                if self.seen > self.watch.limit {
                    return self.refuse(BodyState::TooLarge);
                }
                if self.inner.is_end_stream() {
                    self.watch.settle(BodyState::Complete);
                }
                Poll::Ready(Some(Ok(frame)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
