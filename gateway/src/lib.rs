//! The gateway: the one public entry of the shop. It routes `/api/<service>/…` to that
//! service's instances with a configurable load-balancing policy, owns the session (cookie →
//! Redis), turns it into a short-lived signed identity token for the services, and enforces
//! limits. It serves the merged API documentation at `/docs`.
//!
//! The same code composes the evolution stages: with [`AppState::in_process`] the services
//! are one router in this process (the monolith), with `SESSION_STORE=memory` it needs no
//! Redis, and with `SITE_UPSTREAMS` it is a plain reverse proxy in front of whole shops
//! ([`site`]).

pub mod auth;
pub mod client_body;
pub mod client_ip;
pub mod config;
pub mod docs;
pub mod forward;
pub mod guards;
pub mod limits;
pub mod proxy;
pub mod routes;
pub mod session;
pub mod site;
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
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

pub use config::Config;

use crate::{
    config::SessionStoreKind,
    limits::RateLimiter,
    proxy::{IN_PROCESS_URL, Proxy},
    routes::Pools,
    session::{MemorySessionStore, RedisSessionStore, SessionEpochs, Sessions},
    upstream::{HealthPolicy, InstanceSpec, Pool},
};

/// Everything a request handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub config: Config,
    pub pools: Pools,
    pub proxy: Proxy,
    pub limiter: RateLimiter,
    pub sessions: Sessions,
    /// Which of a user's sessions are over (see [`session::SessionEpochs`]).
    pub epochs: SessionEpochs,
    /// None when sessions and rate limits are kept in memory.
    pub redis: Option<redis::aio::ConnectionManager>,
}

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// Connects to Redis (unless sessions are kept in memory) and sets up the pools of the
    /// services' instances.
    pub async fn new(config: Config) -> anyhow::Result<Self> {
        let proxy = Proxy::new(Duration::from_secs(2), config.upstream_timeout());
        let pools = Pools {
            user: pool(&config, "user", &config.user_upstreams.0),
            product: pool(&config, "product", &config.product_upstreams.0),
            order: pool(&config, "order", &config.order_upstreams.0),
            search: config
                .search_upstreams
                .as_ref()
                .map(|instances| pool(&config, "search", &instances.0)),
        };
        Self::with(config, pools, proxy).await
    }

    /// Every service is `services`, a router in this process: the monolith's edge.
    pub async fn in_process(config: Config, services: Router) -> anyhow::Result<Self> {
        let proxy = Proxy::new(Duration::from_secs(2), config.upstream_timeout()).with_in_process(services);
        let here = [InstanceSpec {
            url: IN_PROCESS_URL.to_owned(),
            weight: 1,
        }];
        let pools = Pools {
            user: pool(&config, "user", &here),
            product: pool(&config, "product", &here),
            order: pool(&config, "order", &here),
            search: Some(pool(&config, "search", &here)),
        };
        Self::with(config, pools, proxy).await
    }

    async fn with(config: Config, pools: Pools, proxy: Proxy) -> anyhow::Result<Self> {
        let (sessions, epochs, limiter, redis) = match config.session_store {
            SessionStoreKind::Redis => {
                let redis = connect_redis(&config.redis_url).await?;
                let sessions = Sessions::Redis(RedisSessionStore::new(redis.clone(), session_prefix(&config)));
                let epochs = SessionEpochs::redis(redis.clone(), format!("{}session-epoch:", config.redis_key_prefix));
                let limiter = RateLimiter::new(redis.clone(), format!("{}ratelimit:", config.redis_key_prefix));
                (sessions, epochs, limiter, Some(redis))
            }
            SessionStoreKind::Memory => (
                Sessions::Memory(MemorySessionStore::default()),
                SessionEpochs::memory(),
                RateLimiter::local(),
                None,
            ),
        };
        Ok(Self(Arc::new(Shared {
            config,
            pools,
            proxy,
            limiter,
            sessions,
            epochs,
            redis,
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

fn pool(config: &Config, service: &str, instances: &[InstanceSpec]) -> Pool {
    let health = HealthPolicy {
        eject_after_failures: config.eject_after_failures,
        check_interval: config.health_check_interval(),
    };
    Pool::new(service, instances.to_vec(), config.lb_policy, health)
}

pub(crate) async fn connect_redis(url: &str) -> anyhow::Result<redis::aio::ConnectionManager> {
    let client = redis::Client::open(url).context("invalid REDIS_URL")?;
    redis::aio::ConnectionManager::new(client)
        .await
        .with_context(|| format!("cannot connect to Redis at {url}"))
}

/// The gateway's HTTP service.
pub fn app(state: AppState) -> Router {
    let (secure, idle) = (
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
        .layer(from_fn_with_state(state.clone(), guards::rate_limit));
    let api = match &state.sessions {
        Sessions::Redis(store) => api.layer(session::session_layer(store.clone(), secure, idle)),
        Sessions::Memory(store) => api.layer(session::session_layer(store.clone(), secure, idle)),
    }
    .with_state(state.clone());
    // The shop's pages, in front of the public API they are built from (see the storefront crate).
    let settings = storefront::Settings {
        stage: state.config.stage.clone(),
    };
    storefront::mount(api, routes::service_of, settings)
        .layer(from_fn_with_state(state.clone(), guards::client_body))
        .layer(from_fn(shop_platform::input::refuse_nul_in_uri))
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

/// Keeps `gateway_sessions_active` current: the sessions held, counted every 30 s.
async fn count_sessions(sessions: Sessions, mut stopped: tokio::sync::watch::Receiver<bool>) {
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
            () = tokio::time::sleep(Duration::from_secs(30)) => {}
        }
    }
}

/// Ready when Redis answers and every service has a healthy instance.
async fn readyz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    if let Some(redis) = &state.redis {
        redis::cmd("PING")
            .query_async::<String>(&mut redis.clone())
            .await
            .map_err(|e| ApiError::Unavailable(format!("redis: {e}")))?;
    }
    if let Some(pool) = state.pools.all().find(|pool| !pool.has_healthy_instance()) {
        return Err(ApiError::Unavailable(format!(
            "no healthy instance of the {} service",
            pool.service()
        )));
    }
    Ok(Json(serde_json::json!({"status": "ready"})))
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
    shop_platform::config::check_identity_key(state.identity_key(), state.config.development)?;
    let listen_addr = state.config.listen_addr;
    let grace = Duration::from_secs(state.config.shutdown_grace_seconds);
    let (stop_checks, checks_stopped) = tokio::sync::watch::channel(false);
    for pool in state.pools.all() {
        let mut stopped = checks_stopped.clone();
        tokio::spawn(pool.clone().run_health_checks(state.proxy.clone(), async move {
            let _ = stopped.wait_for(|stopped| *stopped).await;
        }));
    }
    tokio::spawn(count_sessions(state.sessions.clone(), checks_stopped.clone()));
    let listener = TcpListener::bind(listen_addr)
        .await
        .with_context(|| format!("cannot listen on {listen_addr}"))?;
    tracing::info!(address = %listener.local_addr()?, "gateway listening");
    let served = server::serve(listener, app(state), grace, shutdown).await;
    let _ = stop_checks.send(true);
    served
}
