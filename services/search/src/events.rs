//! Consumers that keep the catalog replica current: `search-products` (product snapshots) and
//! `search-stock` (stock levels, for the in-stock flag). Each change is merged into the search
//! database in the consumer's transaction, guarded by version; the projector then writes the
//! changed rows to the index in batches.

use shop_contracts::events::{Envelope, Event, InventoryAdjusted, ProductCreated, ProductDeactivated, ProductUpdated};
use shop_messaging::{ConsumerSpec, Handler};
use sqlx::PgConnection;

use crate::catalog;

pub fn product_spec() -> ConsumerSpec {
    ConsumerSpec::new(
        "search-products",
        &[ProductCreated::TYPE, ProductUpdated::TYPE, ProductDeactivated::TYPE],
    )
}

pub fn stock_spec() -> ConsumerSpec {
    ConsumerSpec::new("search-stock", &[InventoryAdjusted::TYPE])
}

/// Both consumers' handler: the event's type says which change it is. A stale or repeated
/// event changes nothing.
#[derive(Clone)]
pub struct CatalogMerger;

impl Handler for CatalogMerger {
    async fn handle(&self, tx: &mut PgConnection, event: &Envelope) -> anyhow::Result<()> {
        let at = event.occurred_at;
        match event.event_type.as_str() {
            ProductCreated::TYPE => catalog::apply_product(tx, &event.decode::<ProductCreated>()?.product, at).await?,
            ProductUpdated::TYPE => catalog::apply_product(tx, &event.decode::<ProductUpdated>()?.product, at).await?,
            ProductDeactivated::TYPE => {
                catalog::apply_product(tx, &event.decode::<ProductDeactivated>()?.product, at).await?
            }
            InventoryAdjusted::TYPE => {
                let stock = event.decode::<InventoryAdjusted>()?;
                catalog::apply_stock(tx, &stock, event.aggregate_version, at).await?
            }
            other => anyhow::bail!("the search catalog does not handle {other} events"),
        };
        Ok(())
    }
}
