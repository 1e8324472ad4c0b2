//! What every request passes before it is handled: rate limits, the body's size and read-time
//! limits, the overall time limit and the cross-site request check.
//!
//! **CSRF.** The session cookie is `SameSite=Lax`, so browsers do not send it on cross-site
//! POSTs from other sites' forms in the first place. As a second line, a state-changing
//! request (anything but GET, HEAD, OPTIONS) that carries the session cookie — and every
//! sign-in — must come from the shop itself: `Sec-Fetch-Site: same-origin` (or `none`, typed by
//! the user), or, from browsers that do not send that header, an `Origin` equal to one of the
//! shop's configured origins (`PUBLIC_ORIGIN`, `ALLOWED_ORIGINS`). The request's `Host` is not
//! a witness: a page on a domain rebound to the shop's address would send a matching `Host`
//! and `Origin` of its own. Requests with neither header come from
//! non-browser clients (curl, other services), which cannot be tricked into sending a cookie.
//! A request with two `Origin` or two `Sec-Fetch-Site` headers is refused: no browser sends
//! that, and it hopes a check reads the harmless one.

use std::{sync::Arc, time::Duration};

use axum::{
    extract::{Request, State},
    http::{HeaderMap, Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use shop_platform::{ApiError, request_body};
use tower_sessions::{Session, session::Id};

use crate::{
    client_ip::ClientIp,
    limits::{self, Decision},
    session,
    state::{AllowedOrigins, RateLimits, RequestLimits},
};

const LOGIN_PATH: &str = "/api/auth/login";
const REGISTER_PATH: &str = "/api/users";
const MINUTE: Duration = Duration::from_secs(60);

/// The session id the session layer read from the request: the last `shop_session` cookie,
/// and only if it is a well-formed id. Reading it from the layer, not the headers, keeps the
/// limits on the very session the request will use, whatever decoys or
/// oversized values a client sends (those are no session, and never reach Redis).
fn session_id(request: &Request) -> Option<Id> {
    request.extensions().get::<Session>()?.id()
}

fn is_login(request: &Request) -> bool {
    request.method() == Method::POST && request.uri().path() == LOGIN_PATH
}

/// A registration answers whether an address has an account (409), so it is limited like a
/// sign-in: finding out which addresses are customers costs as many requests as guessing
/// passwords (docs/reliability.md, "Account enumeration").
fn is_registration(request: &Request) -> bool {
    request.method() == Method::POST && request.uri().path() == REGISTER_PATH
}

/// Per client IP, per session, and for sign-ins and registrations per IP: 429 with
/// `Retry-After` past a limit.
pub async fn rate_limit(
    State(limits): State<Arc<RateLimits>>,
    ClientIp(client): ClientIp,
    request: Request,
    next: Next,
) -> Response {
    let ip = client.to_string();
    let mut checks = vec![("ip", ip.clone(), limits.per_ip)];
    if let Some(session) = session_id(&request) {
        checks.push(("session", session.to_string(), limits.per_session));
    }
    if is_login(&request) {
        checks.push(("login", ip, limits.sign_ins_per_ip));
    } else if is_registration(&request) {
        checks.push(("register", ip, limits.sign_ins_per_ip));
    }
    // A limit of 0 turns that check off.
    for (scope, subject, limit) in checks.into_iter().filter(|(_, _, limit)| *limit > 0) {
        match limits.limiter.check(scope, &subject, limit, MINUTE).await {
            Ok(Decision::Allowed { .. }) => {}
            Ok(Decision::Limited { retry_after }) => {
                metrics::counter!("gateway_rate_limited_total", "scope" => scope).increment(1);
                return limits::too_many_requests(retry_after);
            }
            // Sessions need Redis anyway; a limiter outage is logged, not turned into an outage.
            Err(error) => tracing::warn!(%error, "rate limiter unavailable; request let through"),
        }
    }
    next.run(request).await
}

/// Refuses bodies over the limit up front when their length is declared, and reads every
/// other body whole under the size limit and the body-read time-out
/// ([`shop_platform::request_body`]) before the request goes further.
pub async fn client_body(State(limits): State<RequestLimits>, request: Request, next: Next) -> Response {
    let limit = limits.max_body_bytes;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return ApiError::PayloadTooLarge(limit).into_response();
    }
    match request_body::read_whole(request, limit, Some(limits.body_read_timeout)).await {
        Ok(request) => next.run(request).await,
        Err(refused) => refused.into_response(),
    }
}

/// See the module documentation.
pub async fn csrf(State(allowed): State<Arc<AllowedOrigins>>, request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let needs_check = !safe && (session::carries_cookie(request.headers()) || is_login(&request));
    if needs_check && !same_origin(request.headers(), &allowed.0) {
        metrics::counter!("gateway_csrf_rejected_total").increment(1);
        return ApiError::Forbidden("cross-site request refused: it must come from the shop's own pages")
            .into_response();
    }
    next.run(request).await
}

fn same_origin(headers: &HeaderMap, allowed: &[String]) -> bool {
    // A browser sends each at most once; two are a forgery that hopes one of them is read.
    if ["sec-fetch-site", "origin"]
        .iter()
        .any(|name| headers.get_all(*name).iter().count() > 1)
    {
        return false;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match (header("sec-fetch-site"), header("origin")) {
        (Some("same-origin" | "none"), _) => true,
        (Some(_), _) => false,
        (None, Some(origin)) => allowed.iter().any(|allowed| allowed == origin),
        (None, None) => true,
    }
}

/// The whole request, upstream included, within `limit`; else 504.
pub async fn time_limit(State(limits): State<RequestLimits>, request: Request, next: Next) -> Response {
    let limit = limits.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::GatewayTimeout(format!("the request took longer than {limit:?}")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (header::HeaderName::from_static(k), HeaderValue::from_static(v)))
            .collect()
    }

    #[test]
    fn only_the_shops_own_pages_may_send_state_changes() {
        let allowed = vec!["http://localhost:8080".to_owned(), "https://shop.example".to_owned()];
        assert!(same_origin(&headers(&[("sec-fetch-site", "same-origin")]), &allowed));
        assert!(!same_origin(
            &headers(&[("sec-fetch-site", "cross-site"), ("origin", "http://localhost:8080"),]),
            &allowed
        ));
        assert!(same_origin(&headers(&[("origin", "http://localhost:8080")]), &allowed));
        assert!(same_origin(
            &headers(&[("origin", "https://shop.example"), ("host", "gw:8080")]),
            &allowed
        ));
        assert!(!same_origin(
            &headers(&[("origin", "https://evil.example"), ("host", "gw:8080")]),
            &allowed
        ));
        assert!(same_origin(&headers(&[]), &allowed), "non-browser clients");
    }

    #[test]
    fn a_host_that_matches_the_origin_is_no_proof_of_the_shop() {
        // What a page on a domain rebound to the gateway's address sends.
        let rebound = headers(&[("origin", "http://evil.example:8080"), ("host", "evil.example:8080")]);
        assert!(!same_origin(&rebound, &["http://localhost:8080".to_owned()]));
    }
}
