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

/// Ready when Redis answers and every service has a healthy instance.
async fn readyz(State(readiness): State<Readiness>) -> Result<Json<serde_json::Value>, ApiError> {
    if let Some(redis) = &readiness.redis {
        redis::cmd("PING")
            .query_async::<String>(&mut redis.clone())
            .await
            .map_err(|e| ApiError::Unavailable(format!("redis: {e}")))?;
    }
    if let Some(pool) = readiness.pools.all().find(|pool| !pool.has_healthy_instance()) {
        return Err(ApiError::Unavailable(format!(
            "no healthy instance of the {} service",
            pool.service()
        )));
    }
    Ok(Json(serde_json::json!({"status": "ready"})))
}
