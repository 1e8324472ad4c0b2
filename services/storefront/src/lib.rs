//! The storefront: the web shop a person opens at `/`, server-rendered HTML with a little
//! progressive JavaScript.
//!
//! **Where it lives.** It is a library the gateway mounts in its own `app()`, in front of the
//! public API. Every page is built from calls to that public API only — the same requests a
//! browser's script or `curl` could make — dispatched in-process into the gateway's public-API
//! router ([`api::Shopper`]): the browser's cookies and client address go with each call, so
//! the gateway's session, identity tokens, rate limits (per shopper, not per storefront) and
//! cross-site checks apply unchanged, and any `Set-Cookie` comes back to the browser with the
//! page. The storefront never opens a database, never sees a password hash, and never mints
//! an identity: it cannot do more than the shopper could with the API. Being inside the
//! gateway's edge it costs no extra network hop, and every evolution stage that puts the
//! gateway's edge in front of the services (the monolith included) serves the same pages on
//! the same port.
//!
//! **Forms** post to the storefront, which makes the matching API call; the gateway's
//! `Origin` / `Sec-Fetch-Site` check sees the browser's headers on that call, so a forged
//! cross-site form is refused exactly as a forged API call is. Every page escapes what it
//! shows (templates are checked at compile time and escape by default), and pages carry a
//! `Content-Security-Policy` that allows only the shop's own scripts, styles and pictures.
//!
//! **Live order status** is polled: the order page's script asks `/orders/{id}/status` for the
//! status block once a second until the saga is done (see `assets/shop.js`). No service pushes
//! order changes, so a Server-Sent Events stream would only move the same polling into the
//! gateway while holding a connection (and a slot of the gateway's concurrency limit) per open
//! page; polling stays stateless, passes the same guards as every request, and stops by itself.
//! Without JavaScript the page refreshes itself while the order is pending.

pub mod api;
mod assets;
mod images;
mod model;
mod pages;
mod views;

use std::sync::Arc;

use axum::{Router, middleware::from_fn_with_state, routing::get};

pub use api::OwnerOf;
use api::PublicApi;

/// What the gateway tells the storefront.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The evolution stage this system runs as, shown on the "about this system" page.
    pub stage: String,
}

#[derive(Clone)]
struct Storefront {
    api: PublicApi,
    stage: Arc<str>,
}

/// The shop's pages, pictures and assets in front of `api`, the gateway's public-API router
/// (with its session layer and guards); anything the storefront does not serve goes to `api`.
/// `owner_of` names the service behind an API path, for the "which services answered" note.
pub fn mount(api: Router, owner_of: OwnerOf, settings: Settings) -> Router {
    let state = Storefront {
        api: PublicApi::new(api, owner_of),
        stage: settings.stage.into(),
    };
    pages::router()
        .route("/images/products/{category}/{file}", get(images::product_image))
        .route("/assets/{file}", get(assets::serve))
        .fallback(pages::not_ours)
        .layer(from_fn_with_state(state.clone(), pages::shopper_context))
        .with_state(state)
}
