//! The gateway's own operational endpoints: `/healthz` (alive), `/readyz` (ready to serve)
//! and `/metrics` (Prometheus).

use axum::{Router, extract::State, routing::get};
use shop_platform::{ApiError, Json};

use crate::state::{AppState, Readiness};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { Json(serde_json::json!({"status": "ok"})) }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(|| async { shop_platform::metrics::handle().render() }))
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
