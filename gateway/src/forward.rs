//! Forwarding a public request to an instance of the service that owns it: pick an instance,
//! mint the caller's identity token, proxy, retry elsewhere only when that is safe, and log
//! and count what happened.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Instant,
};

use axum::{
    body::Body,
    extract::{ConnectInfo, Request, State},
    http::{Method, header},
    response::{IntoResponse, Response},
};
use shop_contracts::identity::{END_SESSIONS_HEADER, EndSessions};
use shop_platform::ApiError;
use tower_sessions::Session;

use crate::{
    auth::{end_sessions, session_identity},
    client_ip::ClientIp,
    proxy::{Forwarded, Proxy, ProxyError},
    routes,
    session::SessionEpochs,
    state::{IdentityTokens, Upstreams},
    upstream::{self, Pool},
};

/// Requests that may be sent again after a connection failure: idempotent, and without a
/// body that was already consumed by the first attempt.
fn retryable(request: &Request) -> bool {
    let idempotent = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::DELETE
    );
    let no_body = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .is_none_or(|length| length.as_bytes() == b"0")
        && !request.headers().contains_key(header::TRANSFER_ENCODING);
    idempotent && no_body
}

pub async fn forward(
    State(upstreams): State<Upstreams>,
    State(epochs): State<Arc<SessionEpochs>>,
    State(tokens): State<Arc<IdentityTokens>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ClientIp(client): ClientIp,
    session: Session,
    request: Request,
) -> Response {
    let Some((prefix, owner)) = routes::route(request.uri().path()) else {
        return ApiError::NotFound("route").into_response();
    };
    let Some(pool) = upstreams.pools.of(owner) else {
        return ApiError::NotFound("route").into_response();
    };
    let identity_token = match session_identity(&epochs, &session).await {
        Ok(identity) => identity.map(|identity| tokens.mint(&identity)),
        Err(error) => return error.into_response(),
    };
    let context = forwarded(peer.ip(), &request, identity_token);
    let mut response = to_pool(&upstreams.proxy, pool, prefix, client, &context, request, false).await;
    if let Some(value) = response.headers_mut().remove(END_SESSIONS_HEADER) {
        let end = value.to_str().ok().and_then(EndSessions::parse);
        let ended = match end {
            Some(end) => end_sessions(&epochs, &session, end).await,
            None => Err(ApiError::Internal(anyhow::anyhow!(
                "malformed {END_SESSIONS_HEADER}: {value:?}"
            ))),
        };
        // The change itself is done, but the client must not believe its other sessions ended.
        if let Err(error) = ended {
            tracing::error!(%error, "a user's sessions could not be ended");
            return error.into_response();
        }
    }
    response
}

/// The response header naming the instance that answered, set by the reverse proxy of the
/// cluster stage so that a reader (and its demonstration) can see where each request went.
pub const INSTANCE_HEADER: &str = "x-shop-instance";

/// What the gateway tells the instance about a request from `peer`.
pub fn forwarded(peer: IpAddr, request: &Request, identity_token: Option<String>) -> Forwarded {
    Forwarded {
        client_ip: peer,
        proto: "http",
        host: request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned),
        request_id: request
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        identity_token,
    }
}

/// Proxies `request` to an instance of `pool` picked for `client`, trying another instance
/// after a connection failure when that is safe; `name_instance` sets [`INSTANCE_HEADER`] on
/// the answer.
pub async fn to_pool(
    proxy: &Proxy,
    pool: &Pool,
    prefix: &'static str,
    client: IpAddr,
    context: &Forwarded,
    request: Request,
    name_instance: bool,
) -> Response {
    let method = request.method().clone();
    let retry = retryable(&request);
    let (parts, body) = request.into_parts();
    let mut body = Some(body);
    let mut tried: Vec<String> = Vec::new();
    loop {
        let excluded: Vec<&str> = tried.iter().map(String::as_str).collect();
        let Some(lease) = pool.pick(client, &excluded) else {
            return ApiError::Unavailable(format!("no healthy instance of the {} service", pool.service()))
                .into_response();
        };
        let instance = lease.url().to_owned();
        let attempt = Request::from_parts(parts.clone(), body.take().unwrap_or_else(Body::empty));
        let started = Instant::now();
        let outcome = proxy.forward(&instance, attempt, context).await;
        let elapsed = started.elapsed();
        let status = match &outcome {
            Ok(response) => response.status().as_u16(),
            Err(ProxyError::Timeout(_)) => 504,
            Err(_) => 502,
        };
        lease.record(prefix, status, elapsed);
        tracing::info!(
            %method, route = prefix, status, latency_ms = elapsed.as_secs_f64() * 1000.0,
            upstream = instance, request_id = context.request_id, "proxied"
        );
        match outcome {
            Ok(mut response) => {
                if upstream::counts_as_failure(response.status()) {
                    lease.answered_with_error();
                } else {
                    lease.succeeded();
                }
                if name_instance && let Ok(value) = axum::http::HeaderValue::from_str(&instance) {
                    response.headers_mut().insert(INSTANCE_HEADER, value);
                }
                return response;
            }
            Err(ProxyError::Connect(error)) => {
                lease.failed();
                if retry {
                    tracing::warn!(upstream = instance, %error, "instance unreachable; trying another");
                    tried.push(instance);
                    continue;
                }
                return ApiError::BadGateway(format!("the {} service could not be reached", pool.service()))
                    .into_response();
            }
            Err(ProxyError::Timeout(after)) => {
                lease.failed();
                return ApiError::GatewayTimeout(format!(
                    "the {} service did not answer within {after:?}",
                    pool.service()
                ))
                .into_response();
            }
            Err(ProxyError::Upstream(error)) => {
                lease.failed();
                tracing::warn!(upstream = instance, %error, "upstream failed");
                return ApiError::BadGateway(format!("the {} service failed to answer", pool.service()))
                    .into_response();
            }
        }
    }
}
