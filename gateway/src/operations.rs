//! The gateway's own operational endpoints: `/healthz` (alive), `/readyz` (ready to serve)
//! and `/metrics` (Prometheus; for the scraper only, see [`MetricsAccess`]).

use std::sync::Arc;

use axum::{
    Router,
    extract::State,
    http::{HeaderMap, header},
    routing::get,
};
use shop_platform::{ApiError, Json};

use crate::{
    client_ip::ClientIp,
    state::{AppState, MetricsAccess, Readiness},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { Json(serde_json::json!({"status": "ok"})) }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

async fn metrics(
    State(access): State<Arc<MetricsAccess>>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
) -> Result<String, ApiError> {
    let authorization = headers.get(header::AUTHORIZATION).map(|value| value.as_bytes());
    if !access.allows(client, authorization) {
        return Err(ApiError::Unauthorized(
            "the gateway's metrics are for its scraper: send the METRICS_TOKEN as a bearer token".into(),
        ));
    }
    Ok(shop_platform::metrics::handle().render())
}

/// Ready while the gateway can serve any part of the shop: while some service has a healthy
/// instance. What it cannot serve is listed (`degraded`), but it does not make the gateway
/// unready: with Redis away anonymous shoppers still browse, with search away everyone still
/// buys, and a readiness that failed on either would take every gateway instance out of the
/// load balancer and turn a partial outage into a whole one.
async fn readyz(State(readiness): State<Readiness>) -> Result<Json<serde_json::Value>, ApiError> {
    let mut unavailable = Vec::new();
    if let Some(redis) = &readiness.redis
        && let Err(error) = redis::cmd("PING").query_async::<String>(&mut redis.clone()).await
    {
        unavailable.push(format!("redis (sessions and sign-in): {error}"));
    }
    let mut serving = false;
    for pool in readiness.pools.all() {
        if pool.has_healthy_instance() {
            serving = true;
        } else {
            unavailable.push(format!("no healthy instance of the {} service", pool.service()));
        }
    }
    if !serving {
        return Err(ApiError::Unavailable(unavailable.join("; ")));
    }
    Ok(Json(if unavailable.is_empty() {
        serde_json::json!({"status": "ready"})
    } else {
        serde_json::json!({"status": "degraded", "unavailable": unavailable})
    }))
}
