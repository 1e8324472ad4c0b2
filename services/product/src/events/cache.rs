//! Consumers `product-cache-catalog` and `product-cache-stock`: the service's own catalog and
//! stock events, read back to invalidate the catalog cache once they are applied. Both carry
//! the product's id as their aggregate id. An invalidation Redis does not take fails the
//! event, which is delivered again.

use std::marker::PhantomData;

use shop_contracts::{
    event_set,
    events::{Envelope, EventSet, InventoryAdjusted, ProductCreated, ProductDeactivated, ProductUpdated},
};
use shop_messaging::{ConsumerSpec, Handler};
use sqlx::PgConnection;

use crate::cache::CatalogCache;

event_set! {
    /// Changes to a product's details, price or status.
    pub enum CatalogChange {
        Created(ProductCreated),
        Updated(ProductUpdated),
        Deactivated(ProductDeactivated),
    }
}

pub fn catalog_spec() -> ConsumerSpec<CatalogChange> {
    ConsumerSpec::new("product-cache-catalog")
}

/// Every stock change ends in an `inventory.adjusted` with the product's new levels.
pub fn stock_spec() -> ConsumerSpec<InventoryAdjusted> {
    ConsumerSpec::new("product-cache-stock")
}

/// Invalidates the product an event of `E` is about.
pub struct Invalidation<E> {
    cache: CatalogCache,
    events: PhantomData<fn() -> E>,
}

impl<E> Invalidation<E> {
    pub fn new(cache: CatalogCache) -> Self {
        Self {
            cache,
            events: PhantomData,
        }
    }
}

impl<E: EventSet> Handler for Invalidation<E> {
    type Events = E;

    async fn handle(&self, _: &mut PgConnection, envelope: &Envelope, _: E) -> anyhow::Result<()> {
        self.cache.product_changed(envelope.aggregate_id).await
    }
}
