//! The gateway's state: what its handlers and middleware share, built once from the
//! configuration. It is made of parts, and each handler or middleware takes only the parts it
//! needs as `State<Part>` (axum's `FromRef`): forwarding takes the upstreams, the session
//! epochs and the identity tokens; the CSRF check takes the allowed origins; and so on.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use axum::{Router, extract::FromRef};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use shop_contracts::{Identity, IdentityKey};

use crate::{
    config::{Config, SessionStoreKind},
    limits::RateLimiter,
    proxy::{CONNECT_TIMEOUT, IN_PROCESS_URL, Proxy},
    routes::Pools,
    session::{MemorySessionStore, RedisSessionStore, SessionEpochs, Sessions},
    upstream::{InstanceSpec, Pool},
};

/// Everything a request handler needs, shared: the router clones its state for every
/// middleware of every request, so a clone is one reference count.
#[derive(Clone)]
pub struct AppState(Arc<Parts>);

impl std::ops::Deref for AppState {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.0
    }
}

/// `State<Part>` for each part of the state.
macro_rules! parts {
    ($($part:ty => $field:ident),* $(,)?) => {
        $(impl FromRef<AppState> for $part {
            fn from_ref(state: &AppState) -> Self {
                state.0.$field.clone()
            }
        })*
    };
}

parts!(
    Upstreams => upstreams,
    Arc<SessionEpochs> => epochs,
    Arc<IdentityTokens> => tokens,
    Arc<RateLimits> => rate_limits,
    RequestLimits => request_limits,
    Arc<AllowedOrigins> => allowed_origins,
    Arc<MetricsAccess> => metrics_access,
    Arc<crate::client_ip::TrustedProxies> => trusted_proxies,
    Readiness => readiness,
);

/// The parts of [`AppState`].
pub struct Parts {
    pub upstreams: Upstreams,
    /// Which of a user's sessions are over (see [`SessionEpochs`]).
    pub epochs: Arc<SessionEpochs>,
    pub tokens: Arc<IdentityTokens>,
    pub rate_limits: Arc<RateLimits>,
    pub request_limits: RequestLimits,
    pub allowed_origins: Arc<AllowedOrigins>,
    pub metrics_access: Arc<MetricsAccess>,
    /// Whose `X-Forwarded-For` is believed (see [`crate::client_ip`]).
    pub trusted_proxies: Arc<crate::client_ip::TrustedProxies>,
    pub readiness: Readiness,
    /// Where the sessions are kept, for the session layer.
    pub sessions: Sessions,
    /// The whole configuration, for wiring the router and serving it.
    pub config: Arc<Config>,
}

/// The instances of every service, and the client that reaches them.
#[derive(Clone)]
pub struct Upstreams {
    pub pools: Arc<Pools>,
    pub proxy: Proxy,
}

/// Signs the short-lived identity token a forwarded request carries.
pub struct IdentityTokens {
    key: IdentityKey,
    lifetime: chrono::Duration,
}

impl IdentityTokens {
    /// A token for `identity`, valid for the configured few seconds.
    pub fn mint(&self, identity: &Identity) -> String {
        self.key.mint(identity, self.lifetime)
    }

    /// The gateway's own service token, for the services' internal endpoints.
    pub fn mint_service(&self) -> String {
        self.key.mint_service("gateway", self.lifetime)
    }
}

/// The rate limiter and the limits it enforces, per minute (0: no limit).
pub struct RateLimits {
    pub limiter: RateLimiter,
    pub per_ip: u32,
    pub per_session: u32,
    /// Sign-ins per IP, and registrations per IP counted apart.
    pub sign_ins_per_ip: u32,
}

/// What one request may take: its body's size and read time, and its whole time.
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    pub max_body_bytes: usize,
    pub body_read_timeout: Duration,
    pub request_timeout: Duration,
}

/// Who may read the gateway's `/metrics`: with a token configured, whoever sends it as a
/// bearer token; without one, clients on the loopback only (a developer's machine). The
/// public port is the one thing the world reaches, and the counters tell it how the shop is
/// doing and who is being refused.
pub struct MetricsAccess {
    pub token: Option<String>,
}

impl MetricsAccess {
    pub fn allows(&self, client: std::net::IpAddr, authorization: Option<&[u8]>) -> bool {
        match &self.token {
            None => client.is_loopback(),
            Some(token) => authorization
                .and_then(|value| value.strip_prefix(b"Bearer "))
                .is_some_and(|sent| same_secret(sent, token.as_bytes())),
        }
    }
}

/// Compares in a time that depends on the length only, not on where the first difference is.
fn same_secret(sent: &[u8], expected: &[u8]) -> bool {
    sent.len() == expected.len() && sent.iter().zip(expected).fold(0, |differ, (a, b)| differ | (a ^ b)) == 0
}

/// The origins allowed to send state changes with the session cookie: the shop's own and the
/// configured others.
pub struct AllowedOrigins(pub Vec<String>);

/// What `/readyz` looks at: Redis, when sessions are kept there, and every service's instances.
#[derive(Clone)]
pub struct Readiness {
    pub redis: Option<ConnectionManager>,
    pub pools: Arc<Pools>,
}

impl AppState {
    /// Connects to Redis (unless sessions are kept in memory) and sets up the pools of the
    /// services' instances.
    pub async fn new(config: Config) -> anyhow::Result<Self> {
        let proxy = Proxy::new(CONNECT_TIMEOUT, config.upstream_timeout());
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
        let proxy = Proxy::new(CONNECT_TIMEOUT, config.upstream_timeout()).with_in_process(services);
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
        let prefix = &config.redis_key_prefix;
        let (sessions, epochs, limiter, redis) = match config.session_store {
            SessionStoreKind::Redis => {
                let redis = connect_redis(&config.redis_url).await?;
                (
                    Sessions::Redis(RedisSessionStore::new(redis.clone(), format!("{prefix}session:"))),
                    SessionEpochs::redis(redis.clone(), format!("{prefix}session-epoch:")),
                    RateLimiter::new(redis.clone(), format!("{prefix}ratelimit:")),
                    Some(redis),
                )
            }
            SessionStoreKind::Memory => (
                Sessions::Memory(MemorySessionStore::default()),
                SessionEpochs::memory(),
                RateLimiter::local(),
                None,
            ),
        };
        let pools = Arc::new(pools);
        Ok(Self(Arc::new(Parts {
            upstreams: Upstreams {
                pools: pools.clone(),
                proxy,
            },
            epochs: Arc::new(epochs),
            tokens: Arc::new(IdentityTokens {
                key: config.identity_key.clone(),
                lifetime: chrono::Duration::seconds(i64::from(config.identity_token_ttl_seconds)),
            }),
            rate_limits: Arc::new(RateLimits {
                limiter,
                per_ip: config.rate_limit_per_minute,
                per_session: config.session_rate_limit_per_minute,
                sign_ins_per_ip: config.login_rate_limit_per_minute,
            }),
            request_limits: RequestLimits {
                max_body_bytes: config.max_body_bytes,
                body_read_timeout: config.body_read_timeout(),
                request_timeout: config.request_timeout(),
            },
            allowed_origins: Arc::new(AllowedOrigins(config.trusted_origins())),
            metrics_access: Arc::new(MetricsAccess {
                token: config.metrics_token.clone().filter(|token| !token.is_empty()),
            }),
            trusted_proxies: Arc::new(config.trusted_proxies.clone()),
            readiness: Readiness { redis, pools },
            sessions,
            config: Arc::new(config),
        })))
    }
}

const REDIS_TIMEOUT: Duration = Duration::from_millis(500);

fn pool(config: &Config, service: &str, instances: &[InstanceSpec]) -> Pool {
    Pool::new(service, instances.to_vec(), config.lb_policy, config.health_policy())
}

/// Every Redis call is bounded: with Redis down or restarting, a request fails within about a
/// second (a 503, or the rate limits let it through) instead of waiting on reconnect attempts;
/// the connection is made again in the background once Redis is back.
async fn connect_redis(url: &str) -> anyhow::Result<ConnectionManager> {
    let client = redis::Client::open(url).context("invalid REDIS_URL")?;
    let bounded = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(REDIS_TIMEOUT))
        .set_response_timeout(Some(REDIS_TIMEOUT))
        .set_number_of_retries(1)
        .set_max_delay(REDIS_TIMEOUT);
    ConnectionManager::new_with_config(client, bounded)
        .await
        .with_context(|| format!("cannot connect to Redis at {url}"))
}
