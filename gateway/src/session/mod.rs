//! Sessions: the `shop_session` cookie names a record in Redis, so any gateway instance
//! sharing that Redis serves any client's session. Owns the session store and the cookie
//! settings of the session layer.

mod store;

use tower_sessions::{Expiry, SessionManagerLayer, cookie::SameSite, cookie::time::Duration};

pub use store::RedisSessionStore;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "shop_session";

/// The session middleware: an HttpOnly, SameSite=Lax cookie for the whole site that expires after
/// `idle_timeout` without a request that touches the session. `secure` marks it HTTPS-only; turn
/// it off only when the gateway is served over plain HTTP (local runs, tests).
pub fn session_layer(
    store: RedisSessionStore,
    secure: bool,
    idle_timeout: Duration,
) -> SessionManagerLayer<RedisSessionStore> {
    SessionManagerLayer::new(store)
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(secure)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle_timeout))
}
