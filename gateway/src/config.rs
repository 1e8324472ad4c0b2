//! The gateway's configuration: where each service's instances are, how to balance between
//! them, sessions, limits. Every option is a flag or an environment variable with a working
//! local default.

use std::{net::SocketAddr, time::Duration};

use clap::Parser;
use shop_contracts::IdentityKey;
use shop_platform::config::{DEV_IDENTITY_KEY, LogFormat, parse_identity_key};

use crate::{
    client_ip::TrustedProxies,
    upstream::{HealthPolicy, InstanceSpec, Policy, parse_instances},
};

#[derive(Debug, Clone, Parser)]
#[command(name = "gateway", about = "The shop's one public entry")]
pub struct Config {
    /// Address to serve HTTP on: the URL of the whole system.
    #[arg(long, env = "GATEWAY_LISTEN_ADDR", default_value = "127.0.0.1:8080")]
    pub listen_addr: SocketAddr,

    /// User service instances: comma-separated base URLs, each optionally `=weight`.
    #[arg(long, env = "USER_UPSTREAMS", default_value = "http://127.0.0.1:8081")]
    pub user_upstreams: Instances,

    /// Product service instances.
    #[arg(long, env = "PRODUCT_UPSTREAMS", default_value = "http://127.0.0.1:8082")]
    pub product_upstreams: Instances,

    /// Order service instances.
    #[arg(long, env = "ORDER_UPSTREAMS", default_value = "http://127.0.0.1:8083")]
    pub order_upstreams: Instances,

    /// Reverse-proxy mode (the cluster stage): every request goes to one of these instances,
    /// each a whole shop with its own sessions, and the gateway keeps no sessions and mints no
    /// identities of its own. The `*_UPSTREAMS` are then not used.
    #[arg(long, env = "SITE_UPSTREAMS")]
    pub site_upstreams: Option<Instances>,

    /// Search service instances; without them `/api/search` answers 404.
    #[arg(long, env = "SEARCH_UPSTREAMS")]
    pub search_upstreams: Option<Instances>,

    /// How requests are spread over a service's instances.
    #[arg(long, env = "LB_POLICY", value_enum, default_value_t = Policy::RoundRobin)]
    pub lb_policy: Policy,

    /// Consecutive failed requests (connection failures, time-outs, server errors other than
    /// 503) after which an instance is ejected; server errors never eject the last healthy one.
    #[arg(long, env = "EJECT_AFTER_FAILURES", default_value_t = 3)]
    pub eject_after_failures: u32,

    /// Milliseconds between two active health checks (`/readyz`) of every instance; an
    /// ejected instance is checked ten times as often.
    #[arg(long, env = "HEALTH_CHECK_INTERVAL_MS", default_value_t = 2000)]
    pub health_check_interval_ms: u64,

    /// Milliseconds to wait for an instance's response headers before answering 504.
    #[arg(long, env = "UPSTREAM_TIMEOUT_MS", default_value_t = 10_000)]
    pub upstream_timeout_ms: u64,

    /// Milliseconds a whole request may take before the gateway answers 504.
    #[arg(long, env = "REQUEST_TIMEOUT_MS", default_value_t = 30_000)]
    pub request_timeout_ms: u64,

    /// Requests handled at once; more are refused at once with 503 instead of queueing.
    #[arg(long, env = "MAX_CONCURRENT_REQUESTS", default_value_t = 1024)]
    pub max_concurrent_requests: usize,

    /// Largest request body accepted, in bytes (larger: 413).
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_body_bytes: usize,

    /// Milliseconds within which a request's whole body must have arrived (later: 408).
    /// A slow client is cut off here, and it never counts against an instance's health.
    #[arg(long, env = "BODY_READ_TIMEOUT_MS", default_value_t = 5_000)]
    pub body_read_timeout_ms: u64,

    /// Requests per minute from one client IP (0: no limit; likewise for the two below).
    #[arg(long, env = "RATE_LIMIT_PER_MINUTE", default_value_t = 1200)]
    pub rate_limit_per_minute: u32,

    /// Requests per minute from one session.
    #[arg(long, env = "SESSION_RATE_LIMIT_PER_MINUTE", default_value_t = 600)]
    pub session_rate_limit_per_minute: u32,

    /// Sign-in attempts per minute from one client IP; registrations are counted apart
    /// against the same number.
    #[arg(long, env = "LOGIN_RATE_LIMIT_PER_MINUTE", default_value_t = 10)]
    pub login_rate_limit_per_minute: u32,

    /// Where sessions and rate-limit counts are kept: `redis`, shared by every gateway
    /// instance, or `memory`, this process only (the early stages; no Redis is used).
    #[arg(long, env = "SESSION_STORE", value_enum, default_value_t = SessionStoreKind::Redis)]
    pub session_store: SessionStoreKind,

    /// Redis for sessions and rate limits, shared by every gateway instance.
    #[arg(long, env = "REDIS_URL", default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,

    /// Prefix of every Redis key the gateway writes.
    #[arg(long, env = "REDIS_KEY_PREFIX", default_value = "shop:gateway:")]
    pub redis_key_prefix: String,

    /// Mark the session cookie `Secure` (only sent over HTTPS). Turn on behind TLS.
    #[arg(long, env = "SESSION_COOKIE_SECURE", default_value_t = false)]
    pub session_cookie_secure: bool,

    /// Minutes of inactivity after which a session expires.
    #[arg(long, env = "SESSION_IDLE_MINUTES", default_value_t = 30)]
    pub session_idle_minutes: u32,

    /// The origins (`https://shop.example`, comma-separated) browsers open the shop at: a
    /// state-changing request with the session cookie must come from one of them or from
    /// `ALLOWED_ORIGINS`. Default: from the listen address, `http://localhost:<port>` and
    /// `http://127.0.0.1:<port>` when it is a loopback or every address, else
    /// `http://<address>`. The request's `Host` is never trusted for this.
    #[arg(long, env = "PUBLIC_ORIGIN", value_delimiter = ',')]
    pub public_origin: Vec<String>,

    /// Extra origins (`https://shop.example`) allowed to send state-changing requests with the
    /// session cookie, besides the shop's own (`PUBLIC_ORIGIN`).
    #[arg(long, env = "ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// Bearer token a scraper must send for the gateway's `/metrics`
    /// (`Authorization: Bearer <token>`). Unset: `/metrics` answers loopback clients only.
    #[arg(long, env = "METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// Proxies in front of the gateway (an Ingress controller), as addresses or networks
    /// (`10.0.0.0/8`), comma-separated: behind one of them, the client is taken from
    /// `X-Forwarded-For`. None by default: the socket peer is the client.
    #[arg(long, env = "GATEWAY_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: TrustedProxies,

    /// Secret (at least 32 bytes) shared with the services that signs identity tokens.
    #[arg(long, env = "IDENTITY_KEY", default_value = DEV_IDENTITY_KEY, hide_env_values = true,
          value_parser = parse_identity_key)]
    pub identity_key: IdentityKey,

    /// Development mode: allows the public development identity key. Never in production.
    #[arg(long, env = "SHOP_DEVELOPMENT", default_value_t = false)]
    pub development: bool,

    /// Seconds an identity token minted for one request stays valid (at most 3600).
    #[arg(long, env = "IDENTITY_TOKEN_TTL_SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u32).range(1..=shop_contracts::identity::MAX_TOKEN_LIFETIME_SECONDS))]
    pub identity_token_ttl_seconds: u32,

    /// The evolution stage this system runs as (`services`, `monolith`, …), shown by the
    /// storefront's "about this system" page.
    #[arg(long, env = "SHOP_STAGE", default_value = "services")]
    pub stage: String,

    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,

    /// Seconds to let in-flight requests finish after SIGTERM / Ctrl-C.
    #[arg(long, env = "SHUTDOWN_GRACE_SECONDS", default_value_t = 10)]
    pub shutdown_grace_seconds: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SessionStoreKind {
    Redis,
    Memory,
}

/// A service's instances: comma-separated base URLs, each optionally `=weight`.
#[derive(Debug, Clone)]
pub struct Instances(pub Vec<InstanceSpec>);

impl std::str::FromStr for Instances {
    type Err = String;
    fn from_str(list: &str) -> Result<Self, Self::Err> {
        parse_instances(list).map(Self)
    }
}

impl Config {
    pub fn upstream_timeout(&self) -> Duration {
        Duration::from_millis(self.upstream_timeout_ms)
    }

    pub fn body_read_timeout(&self) -> Duration {
        Duration::from_millis(self.body_read_timeout_ms)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// The origins a browser may send state changes from: the shop's own and the allowed ones.
    pub fn trusted_origins(&self) -> Vec<String> {
        let own = if self.public_origin.is_empty() {
            let (ip, port) = (self.listen_addr.ip(), self.listen_addr.port());
            if ip.is_loopback() || ip.is_unspecified() {
                vec![format!("http://localhost:{port}"), format!("http://127.0.0.1:{port}")]
            } else {
                vec![format!("http://{}", self.listen_addr)]
            }
        } else {
            self.public_origin.clone()
        };
        own.into_iter().chain(self.allowed_origins.iter().cloned()).collect()
    }

    /// When an instance is ejected and how often every instance is checked.
    pub fn health_policy(&self) -> HealthPolicy {
        HealthPolicy {
            eject_after_failures: self.eject_after_failures,
            check_interval: Duration::from_millis(self.health_check_interval_ms),
        }
    }
}
