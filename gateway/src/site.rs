//! Reverse-proxy mode, the cluster stage's front: every request goes to one of several
//! instances of a whole shop (`SITE_UPSTREAMS`), balanced by the configured policy, with the
//! same health checks, ejection and retries as the edge. It keeps no sessions and mints no
//! identities: each instance behind it does that for itself, which is what the stage is about.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use axum::{
    Router,
    extract::{ConnectInfo, FromRef, Request, State},
    response::{IntoResponse, Response},
    routing::get,
};
use shop_platform::{ApiError, Json, server};
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use crate::{
    client_ip::{ClientIp, TrustedProxies},
    config::Config,
    forward,
    proxy::{CONNECT_TIMEOUT, Proxy},
    upstream::Pool,
};

/// The reverse proxy's state.
#[derive(Clone, FromRef)]
struct Site {
    pool: Pool,
    proxy: Proxy,
    trusted_proxies: Arc<TrustedProxies>,
}

/// The reverse proxy's HTTP service: its own `/healthz` and `/readyz`, everything else
/// forwarded.
fn app(site: Site) -> Router {
    Router::new()
        .route("/healthz", get(|| async { Json(serde_json::json!({"status": "ok"})) }))
        .route("/readyz", get(readyz))
        .fallback(proxied)
        .layer(axum::middleware::from_fn(|request, next| {
            shop_platform::metrics::track_requests(State("gateway"), request, next)
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(site)
}

async fn proxied(
    State(site): State<Site>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ClientIp(client): ClientIp,
    request: Request,
) -> Response {
    let context = forward::forwarded(peer.ip(), &request, None);
    forward::to_pool(&site.proxy, &site.pool, "/", client, &context, request, true).await
}

async fn readyz(State(site): State<Site>) -> Response {
    if site.pool.has_healthy_instance() {
        Json(serde_json::json!({"status": "ready"})).into_response()
    } else {
        ApiError::Unavailable("no healthy instance of the shop".into()).into_response()
    }
}

pub(crate) async fn run(config: Config, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    let instances = config.site_upstreams.clone().context("SITE_UPSTREAMS is not set")?;
    let site = Site {
        pool: Pool::new("site", instances.0, config.lb_policy, config.health_policy()),
        proxy: Proxy::new(CONNECT_TIMEOUT, config.upstream_timeout()),
        trusted_proxies: Arc::new(config.trusted_proxies.clone()),
    };
    let (stop_checks, mut checks_stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(site.pool.clone().run_health_checks(site.proxy.clone(), async move {
        let _ = checks_stopped.wait_for(|stopped| *stopped).await;
    }));
    let listen_addr = config.listen_addr;
    let grace = Duration::from_secs(config.shutdown_grace_seconds);
    let listener = TcpListener::bind(listen_addr)
        .await
        .with_context(|| format!("cannot listen on {listen_addr}"))?;
    tracing::info!(address = %listener.local_addr()?, policy = ?config.lb_policy, "reverse proxy listening");
    let served = server::serve(listener, app(site), grace, shutdown).await;
    let _ = stop_checks.send(true);
    served
}
