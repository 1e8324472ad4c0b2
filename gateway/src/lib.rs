//! The gateway: the one public entry of the shop. It routes `/api/<service>/…` to that
//! service's instances with a configurable load-balancing policy, owns the session (cookie →
//! Redis), turns it into a short-lived signed identity token for the services, and enforces
//! limits. It serves the merged API documentation at `/docs`.

pub mod auth;
pub mod client_ip;
pub mod config;
pub mod docs;
pub mod forward;
pub mod guards;
pub mod limits;
pub mod proxy;
pub mod routes;
pub mod session;
pub mod upstream;

use std::{future::Future, ops::Deref, sync::Arc, time::Duration};

use anyhow::Context;
use axum::{
    BoxError, Router,
    error_handling::HandleErrorLayer,
    extract::State,
    http::Request,
    middleware::{from_fn, from_fn_with_state},
    routing::{get, post},
};
use shop_contracts::{Identity, IdentityKey};
use shop_platform::{ApiError, Json, server};
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::{
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

pub use config::Config;

use crate::{
    limits::RateLimiter,
    proxy::Proxy,
    routes::Pools,
    session::RedisSessionStore,
    upstream::{HealthPolicy, Pool},
};

/// Everything a request handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub config: Config,
    pub pools: Pools,
    pub proxy: Proxy,
    /// For the gateway's own calls: credential checks, documents, health checks.
    pub http: reqwest::Client,
    pub limiter: RateLimiter,
    pub redis: redis::aio::ConnectionManager,
}

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// Connects to Redis and sets up the upstream pools.
    pub async fn new(config: Config) -> anyhow::Result<Self> {
        let client = redis::Client::open(config.redis_url.as_str()).context("invalid REDIS_URL")?;
        let redis = redis::aio::ConnectionManager::new(client)
            .await
            .with_context(|| format!("cannot connect to Redis at {}", config.redis_url))?;
        let health = || HealthPolicy {
            eject_after_failures: config.eject_after_failures,
            check_interval: config.health_check_interval(),
        };
        let pool = |service: &str, instances: &[upstream::InstanceSpec]| {
            Pool::new(service, instances.to_vec(), config.lb_policy, health())
        };
        let pools = Pools {
            user: pool("user", &config.user_upstreams.0),
            product: pool("product", &config.product_upstreams.0),
            order: pool("order", &config.order_upstreams.0),
            search: config
                .search_upstreams
                .as_ref()
                .map(|instances| pool("search", &instances.0)),
        };
        Ok(Self(Arc::new(Shared {
            proxy: Proxy::new(Duration::from_secs(2), config.upstream_timeout()),
            http: reqwest::Client::builder().timeout(config.upstream_timeout()).build()?,
            limiter: RateLimiter::new(redis.clone(), format!("{}ratelimit:", config.redis_key_prefix)),
            pools,
            redis,
            config,
        })))
    }

    /// A token for `identity`, valid for the configured few seconds.
    pub fn mint(&self, identity: &Identity) -> String {
        self.config.identity_key.mint(
            identity,
            chrono::Duration::seconds(i64::from(self.config.identity_token_ttl_seconds)),
        )
    }

    pub fn identity_key(&self) -> &IdentityKey {
        &self.config.identity_key
    }
}

/// The gateway's HTTP service.
pub fn app(state: AppState) -> Router {
    let store = RedisSessionStore::new(state.redis.clone(), session_prefix(&state.config));
    let sessions = session::session_layer(
        store,
        state.config.session_cookie_secure,
        tower_sessions::cookie::time::Duration::minutes(i64::from(state.config.session_idle_minutes)),
    );
    let overload = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(|_: BoxError| async {
            ApiError::Unavailable("the gateway is at capacity; retry shortly".into())
        }))
        .load_shed()
        .concurrency_limit(state.config.max_concurrent_requests);
    let api = Router::new()
        .route("/api/auth/login", post(auth::login))
        .route("/api/auth/logout", post(auth::logout))
        .route("/api/auth/session", get(auth::current_session))
        .merge(docs::router(&state))
        .route("/healthz", get(|| async { Json(serde_json::json!({"status": "ok"})) }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(|| async { shop_platform::metrics::handle().render() }))
        .fallback(forward::forward)
        .layer(from_fn_with_state(state.clone(), guards::csrf))
        .layer(from_fn_with_state(state.clone(), guards::rate_limit))
        .layer(sessions)
        .with_state(state.clone());
    // The shop's pages, in front of the public API they are built from (see the storefront crate).
    let settings = storefront::Settings {
        stage: state.config.stage.clone(),
    };
    storefront::mount(api, routes::service_of, settings)
        .layer(RequestBodyLimitLayer::new(state.config.max_body_bytes))
        .layer(from_fn_with_state(state.clone(), guards::body_limit))
        .layer(from_fn_with_state(state.clone(), guards::time_limit))
        .layer(overload)
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

fn session_prefix(config: &Config) -> String {
    format!("{}session:", config.redis_key_prefix)
}

/// Keeps `gateway_sessions_active` current: the sessions in Redis, counted every 30 s.
async fn count_sessions(
    mut redis: redis::aio::ConnectionManager,
    prefix: String,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let mut count = 0usize;
        let mut cursor = 0u64;
        loop {
            let page: redis::RedisResult<(u64, Vec<String>)> = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{prefix}*"))
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut redis)
                .await;
            match page {
                Ok((next, keys)) => {
                    count += keys.len();
                    cursor = next;
                    if cursor == 0 {
                        metrics::gauge!("gateway_sessions_active").set(count as f64);
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot count sessions");
                    break;
                }
            }
        }
        tokio::select! {
            _ = stopped.wait_for(|stopped| *stopped) => return,
            () = tokio::time::sleep(Duration::from_secs(30)) => {}
        }
    }
}

/// Ready when Redis answers and every service has a healthy instance.
async fn readyz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let mut redis = state.redis.clone();
    redis::cmd("PING")
        .query_async::<String>(&mut redis)
        .await
        .map_err(|e| ApiError::Unavailable(format!("redis: {e}")))?;
    if let Some(pool) = state.pools.all().find(|pool| !pool.has_healthy_instance()) {
        return Err(ApiError::Unavailable(format!(
            "no healthy instance of the {} service",
            pool.service()
        )));
    }
    Ok(Json(serde_json::json!({"status": "ready"})))
}

pub async fn run(config: Config, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    tracing::info!(?config, "starting the gateway");
    shop_platform::metrics::handle();
    let listen_addr = config.listen_addr;
    let grace = Duration::from_secs(config.shutdown_grace_seconds);
    let state = AppState::new(config).await?;
    let (stop_checks, checks_stopped) = tokio::sync::watch::channel(false);
    for pool in state.pools.all() {
        let mut stopped = checks_stopped.clone();
        tokio::spawn(pool.clone().run_health_checks(state.http.clone(), async move {
            let _ = stopped.wait_for(|stopped| *stopped).await;
        }));
    }
    tokio::spawn(count_sessions(
        state.redis.clone(),
        session_prefix(&state.config),
        checks_stopped.clone(),
    ));
    let listener = TcpListener::bind(listen_addr)
        .await
        .with_context(|| format!("cannot listen on {listen_addr}"))?;
    tracing::info!(address = %listener.local_addr()?, "gateway listening");
    let served = server::serve(listener, app(state), grace, shutdown).await;
    let _ = stop_checks.send(true);
    served
}
