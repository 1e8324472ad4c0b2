//! The gateway: the one public entry of the shop. It routes `/api/<service>/…` to that
//! service's instances with a configurable load-balancing policy, owns the session (cookie →
//! Redis), turns it into a short-lived signed identity token for the services, and enforces
//! limits. It serves the merged API documentation at `/docs`.
//!
//! The same code composes the evolution stages: with [`AppState::in_process`] the services
//! are one router in this process (the monolith), with `SESSION_STORE=memory` it needs no
//! Redis, and with `SITE_UPSTREAMS` it is a plain reverse proxy in front of whole shops
//! ([`site`]).
//!
//! This file only wires: the state is built in [`state`], the handlers and middleware live in
//! the modules named for what they do.

pub mod auth;
pub mod client_ip;
pub mod config;
pub mod docs;
pub mod forward;
pub mod guards;
pub mod limits;
pub mod operations;
pub mod proxy;
pub mod response_headers;
pub mod routes;
pub mod session;
pub mod site;
pub mod state;
pub mod upstream;

use std::{future::Future, time::Duration};

use anyhow::Context;
use axum::{
    BoxError, Router,
    error_handling::HandleErrorLayer,
    extract::State,
    http::Request,
    middleware::{from_fn, from_fn_with_state},
    routing::{get, post},
};
use shop_platform::{ApiError, server};
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

pub use config::Config;
pub use state::AppState;

use crate::session::Sessions;

/// The gateway's HTTP service.
pub fn app(state: AppState) -> Router {
    let config = &state.config;
    let (secure, idle) = (
        config.session_cookie_secure,
        tower_sessions::cookie::time::Duration::minutes(i64::from(config.session_idle_minutes)),
    );
    let overload = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(|_: BoxError| async {
            ApiError::Unavailable("the gateway is at capacity; retry shortly".into())
        }))
        .load_shed()
        .concurrency_limit(config.max_concurrent_requests);
    let api = Router::new()
        .route("/api/auth/login", post(auth::login))
        .route("/api/auth/logout", post(auth::logout))
        .route("/api/auth/session", get(auth::current_session))
        .merge(docs::router(&state.upstreams.pools))
        .merge(operations::router())
        .fallback(forward::forward)
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(from_fn_with_state(state.clone(), guards::csrf))
        .layer(from_fn_with_state(state.clone(), guards::rate_limit));
    let api = match &state.sessions {
        Sessions::Redis(store) => api.layer(session::session_layer(store.clone(), secure, idle)),
        Sessions::Memory(store) => api.layer(session::session_layer(store.clone(), secure, idle)),
    }
    .layer(from_fn(session::store_failure_is_unavailable))
    .with_state(state.clone());
    // The shop's pages, in front of the public API they are built from (see the storefront crate).
    let settings = storefront::Settings {
        stage: config.stage.clone(),
    };
    storefront::mount(api, routes::service_of, settings)
        .layer(from_fn_with_state(state.clone(), guards::client_body))
        .layer(from_fn(shop_platform::input::refuse_nul_in_uri))
        .layer(from_fn_with_state(state.clone(), guards::time_limit))
        .layer(overload)
        .layer(from_fn(response_headers::set))
        .layer(from_fn(|request, next| {
            shop_platform::metrics::track_requests(State("gateway"), request, next)
        }))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let request_id = request
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            tracing::info_span!("request", method = %request.method(), path = request.uri().path(), request_id)
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// Serves the gateway until `shutdown`: the edge in front of the services or, with
/// `SITE_UPSTREAMS`, the reverse proxy in front of whole shops.
pub async fn run(config: Config, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    tracing::debug!(?config, "starting the gateway");
    shop_platform::metrics::handle();
    if config.site_upstreams.is_some() {
        return site::run(config, shutdown).await;
    }
    let state = AppState::new(config).await?;
    serve(state, shutdown).await
}

/// Serves `state`'s edge on its listen address, with the health checks of its pools.
pub async fn serve(state: AppState, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    let config = state.config.clone();
    shop_platform::config::check_identity_key(&config.identity_key, config.development)?;
    let (stop_checks, checks_stopped) = tokio::sync::watch::channel(false);
    let upstreams = &state.upstreams;
    for pool in upstreams.pools.all() {
        let mut stopped = checks_stopped.clone();
        tokio::spawn(pool.clone().run_health_checks(upstreams.proxy.clone(), async move {
            let _ = stopped.wait_for(|stopped| *stopped).await;
        }));
    }
    tokio::spawn(session::count_active(state.sessions.clone(), checks_stopped));
    let listener = TcpListener::bind(config.listen_addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen_addr))?;
    tracing::info!(address = %listener.local_addr()?, "gateway listening");
    let grace = Duration::from_secs(config.shutdown_grace_seconds);
    let served = server::serve(listener, app(state), grace, shutdown).await;
    let _ = stop_checks.send(true);
    served
}
