//! The order service's HTTP API: the signed-in customer's cart, checkout and orders.

mod cart;
mod orders;

use axum::extract::FromRef;
use shop_platform::{
    openapi::IdentitySecurity,
    replica::{self, ReadPool},
};
use sqlx::PgPool;

use crate::shards::Shards;
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Order service",
        description = "Carts, checkout and orders of the signed-in customer, priced from the order \
                       service's own replica of the product catalog."
    ),
    modifiers(&IdentitySecurity),
    tags(
        (name = "cart", description = "The signed-in customer's cart, priced at today's prices whenever it is read"),
        (name = "orders", description = "Checkout and the signed-in customer's orders (administrators may read any order)"),
        (name = "admin", description = "Every customer's orders, for administrators"),
    )
)]
struct ApiDoc;

/// What the handlers share: the shards — one database each, with the pool its reads go to (a
/// replica, when the one shard of an unsharded service has one).
#[derive(Clone, FromRef)]
pub struct AppState {
    pub shards: Shards,
}

/// The database alone, unsharded, with no replica.
impl From<PgPool> for AppState {
    fn from(db: PgPool) -> Self {
        Self { shards: db.into() }
    }
}

/// Where a caller's writes are remembered for their reads: the first shard's pools (only an
/// unsharded service has a replica).
impl FromRef<AppState> for ReadPool {
    fn from_ref(state: &AppState) -> Self {
        state.shards.first().read.clone()
    }
}

/// The API over `state`, remembering each caller's writes for their reads from the replica.
pub fn routes(state: AppState) -> OpenApiRouter {
    replica::routes(router(), state)
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(cart::get_cart, cart::clear_cart))
        .routes(routes!(cart::add_item))
        .routes(routes!(cart::set_quantity, cart::remove_item))
        .routes(routes!(orders::list_orders, orders::checkout))
        .routes(routes!(orders::get_order))
        .routes(routes!(orders::cancel_order))
        .routes(routes!(orders::list_all_orders))
}
