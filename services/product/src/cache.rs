//! The catalog's reads through the cache, when it is on (`CATALOG_CACHE`): products by id,
//! listing pages and categories, cache-aside in Redis behind an in-process layer
//! ([`shop_cache`]). The service's own `product.*` and `inventory.adjusted` events invalidate
//! what they change once applied ([`crate::events::cache`]); the TTL is only a backstop.
//!
//! Two scopes: each product's own, and one for everything that lists products (listing pages,
//! categories with their product counts), which any change to any product invalidates, since
//! a stock or price change can move a product on any page.

use shop_cache::{Cache, CacheConfig};
use uuid::Uuid;

/// Listing pages and categories.
const LISTINGS: &str = "listings";

/// The catalog cache, or nothing when it is off: reads then go straight to the database.
#[derive(Clone, Default)]
pub struct CatalogCache(Option<Cache>);

impl CatalogCache {
    /// The cache, when `enabled`. Listings found under the same key prefix were written by an
    /// earlier run, perhaps over another database (a reset, a fresh demo catalog): they are
    /// dropped; products by id cannot collide (UUIDv7).
    pub async fn new(enabled: bool, config: &CacheConfig) -> anyhow::Result<Self> {
        let cache = Self(enabled.then(|| Cache::new("catalog", config)).transpose()?);
        if let Some(cache) = &cache.0
            && let Err(error) = cache.invalidate(LISTINGS).await
        {
            tracing::warn!(%error, "Redis unreachable at start: catalog reads go to the database until it is back");
        }
        Ok(cache)
    }

    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// A product by id, found or not.
    pub async fn product<T, E>(
        &self,
        id: Uuid,
        load: impl AsyncFnOnce() -> Result<Option<T>, E>,
    ) -> Result<Option<T>, E>
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
    {
        self.read(&product_scope(id), "", load).await
    }

    /// Anything that lists products, under `key`.
    pub async fn listing<T, E>(
        &self,
        key: &str,
        load: impl AsyncFnOnce() -> Result<Option<T>, E>,
    ) -> Result<Option<T>, E>
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
    {
        self.read(LISTINGS, key, load).await
    }

    async fn read<T, E>(
        &self,
        scope: &str,
        key: &str,
        load: impl AsyncFnOnce() -> Result<Option<T>, E>,
    ) -> Result<Option<T>, E>
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
    {
        match &self.0 {
            Some(cache) => cache.get_or_load(scope, key, load).await,
            None => load().await,
        }
    }

    /// The product `id` changed (its details, price or stock): its entry and every listing go.
    pub async fn product_changed(&self, id: Uuid) -> anyhow::Result<()> {
        if let Some(cache) = &self.0 {
            cache.invalidate(&product_scope(id)).await?;
            cache.invalidate(LISTINGS).await?;
        }
        Ok(())
    }

    /// A category was added. Categories have no events of their own, so their one write
    /// invalidates directly.
    pub async fn categories_changed(&self) -> anyhow::Result<()> {
        if let Some(cache) = &self.0 {
            cache.invalidate(LISTINGS).await?;
        }
        Ok(())
    }
}

fn product_scope(id: Uuid) -> String {
    format!("product:{id}")
}
