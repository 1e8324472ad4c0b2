//! The order service's HTTP API: the signed-in customer's cart, checkout and orders.

mod cart;
mod orders;

use shop_platform::openapi::IdentitySecurity;
use sqlx::PgPool;
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
    )
)]
struct ApiDoc;

pub fn router() -> OpenApiRouter<PgPool> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(cart::get_cart, cart::clear_cart))
        .routes(routes!(cart::add_item))
        .routes(routes!(cart::set_quantity, cart::remove_item))
        .routes(routes!(orders::list_orders, orders::checkout))
        .routes(routes!(orders::get_order))
        .routes(routes!(orders::cancel_order))
}
