//! Consumers that keep the catalog replica current: `search-products` (product snapshots) and
//! `search-stock` (stock levels, for the in-stock flag). Each change is merged into the search
//! database in the consumer's transaction, guarded by version, one statement per batch; the projector then writes the
//! changed rows to the index in batches.

use shop_contracts::events::{Envelope, InventoryAdjusted, ProductChange};
use shop_messaging::{ConsumerSpec, Handler};
use sqlx::PgConnection;

use crate::catalog;

pub fn product_spec() -> ConsumerSpec<ProductChange> {
    ConsumerSpec::new("search-products")
}

pub fn stock_spec() -> ConsumerSpec<InventoryAdjusted> {
    ConsumerSpec::new("search-stock")
}

/// Merges product snapshots. A stale or repeated event changes nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProductMerger;

impl Handler for ProductMerger {
    type Events = ProductChange;

    async fn handle(&self, tx: &mut PgConnection, envelope: &Envelope, change: ProductChange) -> anyhow::Result<()> {
        self.handle_batch(tx, vec![(envelope, change)]).await
    }

    /// One statement for the batch (see [`catalog::apply_products`]).
    async fn handle_batch(&self, tx: &mut PgConnection, events: Vec<(&Envelope, ProductChange)>) -> anyhow::Result<()> {
        let products: Vec<_> = events
            .into_iter()
            .map(|(envelope, change)| (change.into_snapshot(), envelope.occurred_at))
            .collect();
        catalog::apply_products(tx, products.iter().map(|(product, at)| (product, *at))).await?;
        Ok(())
    }
}

/// Merges stock levels, versioned by the event's aggregate version. A stale or repeated event
/// changes nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct StockMerger;

impl Handler for StockMerger {
    type Events = InventoryAdjusted;

    async fn handle(&self, tx: &mut PgConnection, envelope: &Envelope, stock: InventoryAdjusted) -> anyhow::Result<()> {
        self.handle_batch(tx, vec![(envelope, stock)]).await
    }

    /// One statement for the batch (see [`catalog::apply_stocks`]).
    async fn handle_batch(
        &self,
        tx: &mut PgConnection,
        events: Vec<(&Envelope, InventoryAdjusted)>,
    ) -> anyhow::Result<()> {
        let stocks = events
            .iter()
            .map(|(envelope, stock)| (stock, envelope.aggregate_version, envelope.occurred_at));
        catalog::apply_stocks(tx, stocks).await?;
        Ok(())
    }
}
