//! Sessions: the `shop_session` cookie names a record in Redis, so any gateway instance
//! sharing that Redis serves any client's session — or, in the early stages, a record in this
//! process's memory, which no other instance sees. Owns the session stores, the cookie
//! settings of the session layer and the gauge of sessions held.

mod epochs;
mod memory;
mod renewal;
mod store;

use axum::{
    body::HttpBody,
    extract::Request,
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use shop_platform::ApiError;
use tower::layer::util::Stack;
use tower_sessions::{Expiry, SessionManagerLayer, SessionStore, cookie::SameSite, cookie::time::Duration};

pub use epochs::SessionEpochs;
pub use memory::MemorySessionStore;
pub use renewal::{RENEWED_AT, RenewOnActivity, RenewOnActivityLayer};
pub use store::RedisSessionStore;

/// Where the sessions live.
#[derive(Debug, Clone)]
pub enum Sessions {
    /// Shared by every gateway instance that uses the same Redis.
    Redis(RedisSessionStore),
    /// In this process only.
    Memory(MemorySessionStore),
}

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "shop_session";

/// Whether the request carries a session cookie at all, well-formed or not: the CSRF check
/// and the personal-data headers are strict and do not care which.
pub fn carries_cookie(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .any(|pair| pair.trim().starts_with(&format!("{SESSION_COOKIE}=")))
}

/// The session middleware: an HttpOnly, SameSite=Lax cookie for the whole site whose session
/// expires after `idle_timeout` without a request, renewed on activity as [`renewal`]
/// describes. `secure` marks it HTTPS-only; turn it off only when the gateway is served over
/// plain HTTP (local runs, tests).
pub fn session_layer<S: SessionStore + Clone>(
    store: S,
    secure: bool,
    idle_timeout: Duration,
) -> Stack<RenewOnActivityLayer, SessionManagerLayer<S>> {
    let sessions = SessionManagerLayer::new(store)
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(secure)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle_timeout));
    Stack::new(RenewOnActivityLayer::new(idle_timeout), sessions)
}

/// Goes outside the session layer. When the store fails to save a session, tower-sessions
/// answers a bare 500 of its own (every other error of the gateway is a problem document):
/// that is the session store being unreachable, a 503 to retry, not a bug.
pub async fn store_failure_is_unavailable(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let bare = response.status() == StatusCode::INTERNAL_SERVER_ERROR
        && !response.headers().contains_key(header::CONTENT_TYPE)
        && response.body().size_hint().exact() == Some(0);
    if bare {
        return ApiError::Unavailable("the session store is unreachable; retry shortly".into()).into_response();
    }
    response
}

/// Keeps `gateway_sessions_active` current: the sessions held, counted every 30 s until
/// `stopped` turns true.
pub async fn count_active(sessions: Sessions, mut stopped: tokio::sync::watch::Receiver<bool>) {
    loop {
        let count = match &sessions {
            Sessions::Redis(store) => store.count().await,
            Sessions::Memory(store) => Ok(store.count()),
        };
        match count {
            Ok(count) => metrics::gauge!("gateway_sessions_active").set(count as f64),
            Err(error) => tracing::warn!(%error, "cannot count sessions"),
        }
        tokio::select! {
            _ = stopped.wait_for(|stopped| *stopped) => return,
            () = tokio::time::sleep(std::time::Duration::from_secs(30)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};

    #[test]
    fn a_session_cookie_is_found_among_others_and_not_in_a_longer_name() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("theme=dark; shop_session=abc"));
        assert!(super::carries_cookie(&headers));
        headers.insert(header::COOKIE, HeaderValue::from_static("not_shop_session=abc"));
        assert!(!super::carries_cookie(&headers));
    }
}
