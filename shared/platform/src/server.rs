//! Turns a service's API router into a complete HTTP service — health, readiness, metrics,
//! OpenAPI document, tracing, the body read whole within its limit, problem+json fallbacks — and serves it with
//! graceful shutdown.

use std::{future::Future, net::SocketAddr, process::ExitCode, sync::Arc, time::Duration};

use futures_util::future::BoxFuture;

use axum::{
    Extension, Router,
    extract::State,
    http::Request,
    middleware,
    response::{IntoResponse, Response},
    routing::get,
};
use shop_contracts::IdentityKey;
use sqlx::PgPool;
use tokio::{net::TcpListener, sync::Notify};
use tower_http::{
    catch_panic::CatchPanicLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};
use utoipa::openapi::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{error::ApiError, extract::Json};

/// Largest request body any service accepts; the gateway enforces its own limit in front.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;
const REQUEST_ID_HEADER: &str = "x-request-id";
const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

/// Everything that makes a service what it is; the rest is the same for every service.
pub struct Service {
    /// Short name used in metrics and logs, e.g. `product`.
    pub name: &'static str,
    /// The documented API routes, state already applied.
    pub api: OpenApiRouter,
    /// What `/readyz` checks.
    pub readiness: Readiness,
    /// Verifies the identity tokens minted by the gateway.
    pub identity_key: IdentityKey,
}

impl Service {
    pub fn into_router(self) -> Router {
        // Installed before the first request, so no measurement is lost.
        crate::metrics::handle();
        let (router, mut openapi) = self.api.merge(operations(self.readiness)).split_for_parts();
        crate::openapi::add_error_responses(&mut openapi);
        let openapi = Arc::new(openapi);
        router
            .route("/openapi.json", get(move || serve_openapi(openapi.clone())))
            .fallback(|| async { ApiError::NotFound("route") })
            .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
            .layer(middleware::from_fn(crate::input::refuse_nul_in_uri))
            .layer(Extension(self.identity_key))
            .layer(middleware::from_fn(crate::request_body::read_first))
            .layer(middleware::from_fn_with_state(
                self.name,
                crate::metrics::track_requests,
            ))
            .layer(CatchPanicLayer::custom(|_| {
                ApiError::Internal(anyhow::anyhow!("handler panicked")).into_response()
            }))
            .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let request_id = request
                    .headers()
                    .get(REQUEST_ID_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                tracing::info_span!("request", method = %request.method(), path = request.uri().path(), request_id)
            }))
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
    }
}

async fn serve_openapi(openapi: Arc<OpenApi>) -> Response {
    axum::Json(openapi.as_ref()).into_response()
}

/// What a service needs in order to take traffic. The gateway routes to an instance only
/// while its `/readyz` says so, so a check should fail only for what the service cannot serve
/// without: a service whose every request needs its database checks the database; one that
/// can still answer from elsewhere (the search index) checks that instead.
#[derive(Clone)]
pub struct Readiness(Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>);

impl Readiness {
    /// The service's database answers.
    pub fn database(db: PgPool) -> Self {
        Self::check(move || {
            let db = db.clone();
            async move { crate::db::ping(&db).await.map_err(|e| format!("database: {e}")) }
        })
    }

    /// At least one of `databases` answers: for a service whose data is split over several
    /// (shards), each of which serves only its own part of the requests.
    pub fn any_database(databases: Vec<PgPool>) -> Self {
        Self::check(move || {
            let databases = databases.clone();
            async move {
                let pings = futures_util::future::join_all(databases.iter().map(crate::db::ping)).await;
                if pings.iter().any(Result::is_ok) {
                    Ok(())
                } else {
                    Err(format!("none of the {} databases answers", databases.len()))
                }
            }
        })
    }

    /// Any other check; `Err` says what is missing.
    pub fn check<F, Fut>(check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        Self(Arc::new(move || Box::pin(check())))
    }
}

fn operations(readiness: Readiness) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
        .with_state(readiness)
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct Health {
    status: &'static str,
}

/// Liveness: the process is up and serving.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Readiness: what the service needs to serve answers (for most, its database).
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, body = Health),
    (status = 503, description = "A dependency is unreachable", body = crate::error::Problem, content_type = "application/problem+json"),
))]
async fn readyz(State(readiness): State<Readiness>) -> Result<Json<Health>, ApiError> {
    match tokio::time::timeout(READINESS_TIMEOUT, (readiness.0)()).await {
        Ok(Ok(())) => Ok(Json(Health { status: "ready" })),
        Ok(Err(missing)) => Err(ApiError::Unavailable(missing)),
        Err(_) => Err(ApiError::Unavailable(format!(
            "no answer within {}s",
            READINESS_TIMEOUT.as_secs()
        ))),
    }
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, content_type = "text/plain", body = String)))]
async fn metrics() -> String {
    crate::metrics::handle().render()
}

/// Serves `router` on `listener` until `shutdown` completes, then lets in-flight requests
/// finish for at most `grace` before returning.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    grace: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let stopping = Arc::new(Notify::new());
    let notify = stopping.clone();
    let server = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move {
            shutdown.await;
            notify.notify_one();
        });
    let drain_deadline = async {
        stopping.notified().await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        result = server => result?,
        () = drain_deadline => tracing::warn!(?grace, "connections still open after the grace period; closing"),
    }
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; draining");
}

/// The exit status of a service binary: errors are printed as one line, `error: …`.
pub fn exit_code(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", one_line(&error));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, skipping causes the previous message already quotes
/// (sqlx and io errors often repeat their source in their own text).
fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain().map(ToString::to_string) {
        if !line.ends_with(&cause) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&cause);
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_causes_are_printed_once() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let error = anyhow::Error::new(io)
            .context("talking: refused")
            .context("cannot connect");
        assert_eq!(one_line(&error), "cannot connect: talking: refused");
    }
}
