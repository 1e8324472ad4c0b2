//! Headers every answer of the gateway carries, whichever service made it: browsers must not
//! guess a type other than the declared one, nor show the shop inside another site's frame;
//! and nothing personal — a session, a profile, a cart, an order — may be kept by a browser
//! or a cache along the way. The storefront's pages set the same, and more, themselves.

use axum::{
    extract::Request,
    http::{HeaderValue, header},
    middleware::Next,
    response::Response,
};

use crate::session;

/// API paths whose answers are always someone's own data.
const PERSONAL: [&str; 5] = ["/api/auth/", "/api/users", "/api/cart", "/api/orders", "/api/admin/"];

pub async fn set(request: Request, next: Next) -> Response {
    let personal = is_personal(request.uri().path()) || session::carries_cookie(request.headers());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let personal = personal || headers.contains_key(header::SET_COOKIE);
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static("frame-ancestors 'none'"));
    if personal {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

fn is_personal(path: &str) -> bool {
    PERSONAL.iter().any(|prefix| path.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_paths_are_recognised() {
        for path in [
            "/api/auth/session",
            "/api/users/me",
            "/api/cart",
            "/api/cart/items/x",
            "/api/orders/1",
            "/api/admin/orders",
        ] {
            assert!(is_personal(path), "{path}");
        }
        for path in ["/api/products", "/api/search", "/api/categories", "/"] {
            assert!(!is_personal(path), "{path}");
        }
    }
}
