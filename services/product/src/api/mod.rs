//! HTTP API of the product service: one module per resource, merged here.

mod catalog_feed;
mod categories;
mod products;
pub mod search;

use axum::extract::FromRef;
use shop_platform::{
    openapi::IdentitySecurity,
    replica::{self, ReadPool},
};
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

/// What the handlers share: the database, the pool its catalog reads go to (a replica, when
/// one is configured), and the catalog cache in front of them.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub db: PgPool,
    pub read: ReadPool,
    pub catalog: CatalogCache,
}

/// The database alone, with no replica and the cache off.
impl From<PgPool> for AppState {
    fn from(db: PgPool) -> Self {
        Self {
            read: ReadPool::primary_only(db.clone()),
            db,
            catalog: CatalogCache::default(),
        }
    }
}

/// The API over `state`, remembering each caller's writes for their reads from the replica.
pub fn routes(state: AppState) -> OpenApiRouter {
    replica::routes(router(), state)
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(products::router())
        .merge(categories::router())
        .merge(catalog_feed::router())
}
