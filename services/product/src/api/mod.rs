//! HTTP API of the product service: one module per resource, merged here.

mod catalog_feed;
mod categories;
mod products;
pub mod search;

use axum::extract::FromRef;
use shop_platform::openapi::IdentitySecurity;
use sqlx::PgPool;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::cache::CatalogCache;

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

/// What the handlers share: the database, and the catalog cache in front of it.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub db: PgPool,
    pub catalog: CatalogCache,
}

/// The database alone, with the cache off.
impl From<PgPool> for AppState {
    fn from(db: PgPool) -> Self {
        Self {
            db,
            catalog: CatalogCache::default(),
        }
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(products::router())
        .merge(categories::router())
        .merge(catalog_feed::router())
}
