//! Renewal on activity. tower-sessions writes a session back only when its data changes, so
//! an idle timeout alone would sign an active shopper out one window after signing in. A
//! request that finds a signed-in session last renewed a tenth of the window ago or more marks
//! it changed; the session layer then saves it with a whole window in Redis and sends the
//! cookie again. An active session costs one Redis write per tenth of the window, not one per
//! request, and ends between nine tenths of the window and the whole window after its last
//! request.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use axum::http::Request;
use tower::{Layer, Service};
use tower_sessions::{
    Session,
    cookie::time::{Duration, OffsetDateTime},
    session::Error,
};

/// The session entry holding when the session was last renewed (Unix seconds).
pub const RENEWED_AT: &str = "renewed_at";

/// Renews the sessions of the requests it wraps; it must sit inside the session layer.
#[derive(Debug, Clone)]
pub struct RenewOnActivityLayer {
    every: Duration,
}

impl RenewOnActivityLayer {
    /// Renewal for sessions that expire after `idle_timeout` without a request.
    pub fn new(idle_timeout: Duration) -> Self {
        Self {
            every: idle_timeout / 10,
        }
    }
}

impl<S> Layer<S> for RenewOnActivityLayer {
    type Service = RenewOnActivity<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RenewOnActivity {
            inner,
            every: self.every,
        }
    }
}

/// The service of [`RenewOnActivityLayer`].
#[derive(Debug, Clone)]
pub struct RenewOnActivity<S> {
    inner: S,
    every: Duration,
}

impl<S, B> Service<Request<B>> for RenewOnActivity<S>
where
    S: Service<Request<B>> + Clone + Send + 'static,
    S::Response: Send,
    S::Future: Send,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let session = request.extensions().get::<Session>().cloned();
        let every = self.every;
        // The service that was polled ready is the one to call; leave a fresh clone behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let response = inner.call(request).await?;
            if let Some(session) = session
                && let Err(error) = renew_if_due(&session, every).await
            {
                tracing::warn!(%error, "cannot renew the session");
            }
            Ok(response)
        })
    }
}

async fn renew_if_due(session: &Session, every: Duration) -> Result<(), Error> {
    if session.id().is_none() && !session.is_modified() {
        // No session cookie and nothing stored by this request: there is no session.
        return Ok(());
    }
    let renewed_at: Option<i64> = session.get(RENEWED_AT).await?;
    if session.is_empty().await {
        // Unknown, expired or just ended: nothing to renew, and nothing must be created.
        return Ok(());
    }
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let due = renewed_at.is_none_or(|at| now - at >= every.whole_seconds());
    // A session this request changed is saved anyway: stamp it at no extra cost.
    if due || session.is_modified() {
        session.insert(RENEWED_AT, now).await?;
    }
    Ok(())
}
