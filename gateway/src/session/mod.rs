//! Sessions: the `shop_session` cookie names a record in Redis, so any gateway instance
//! sharing that Redis serves any client's session. Owns the session store and the cookie
//! settings of the session layer.

mod renewal;
mod store;

use tower::layer::util::Stack;
use tower_sessions::{Expiry, SessionManagerLayer, cookie::SameSite, cookie::time::Duration};

pub use renewal::{RENEWED_AT, RenewOnActivity, RenewOnActivityLayer};
pub use store::RedisSessionStore;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "shop_session";

/// The session middleware: an HttpOnly, SameSite=Lax cookie for the whole site whose session
/// expires after `idle_timeout` without a request, renewed on activity as [`renewal`]
/// describes. `secure` marks it HTTPS-only; turn it off only when the gateway is served over
/// plain HTTP (local runs, tests).
pub fn session_layer(
    store: RedisSessionStore,
    secure: bool,
    idle_timeout: Duration,
) -> Stack<RenewOnActivityLayer, SessionManagerLayer<RedisSessionStore>> {
    let sessions = SessionManagerLayer::new(store)
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(secure)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle_timeout));
    Stack::new(RenewOnActivityLayer::new(idle_timeout), sessions)
}
