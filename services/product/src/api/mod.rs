//! HTTP API of the product service: one module per resource, merged here.

mod catalog_feed;
mod categories;
mod products;
pub mod search;

use shop_platform::openapi::IdentitySecurity;
use sqlx::PgPool;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

#[derive(OpenApi)]
#[openapi(
    info(title = "Product service", description = "Catalog, categories, prices and inventory. \
        Reads are public; writes need an administrator."),
    modifiers(&IdentitySecurity),
    tags(
        (name = "products", description = "The catalog"),
        (name = "categories", description = "Product categories"),
        (name = "internal", description = "Service-to-service; never exposed by the gateway"),
        (name = "operations", description = "Health and metrics"),
    )
)]
struct ApiDoc;

pub fn router() -> OpenApiRouter<PgPool> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(products::router())
        .merge(categories::router())
        .merge(catalog_feed::router())
}
