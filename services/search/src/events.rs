//! Consumers that keep the index current: `search-products` (product snapshots) and
//! `search-stock` (stock levels, for the in-stock flag). Each change is merged into the
//! search database first, in the consumer's transaction, and the merged row is projected
//! into the index; the row's revision makes the projection order-proof.

use std::sync::Arc;

use chrono::Utc;
use shop_contracts::events::{Envelope, Event, InventoryAdjusted, ProductCreated, ProductDeactivated, ProductUpdated};
use shop_messaging::{ConsumerSpec, Handler};
use sqlx::PgConnection;

use crate::{
    catalog::{self, Projection},
    embedded::EmbeddedIndex,
};

pub fn product_spec() -> ConsumerSpec {
    ConsumerSpec::new(
        "search-products",
        &[ProductCreated::TYPE, ProductUpdated::TYPE, ProductDeactivated::TYPE],
    )
}

pub fn stock_spec() -> ConsumerSpec {
    ConsumerSpec::new("search-stock", &[InventoryAdjusted::TYPE])
}

/// Both consumers' handler: the event's type says which change it is.
#[derive(Clone)]
pub struct Indexer {
    pub index: Arc<EmbeddedIndex>,
}

impl Handler for Indexer {
    async fn handle(&self, tx: &mut PgConnection, event: &Envelope) -> anyhow::Result<()> {
        let merged = match event.event_type.as_str() {
            ProductCreated::TYPE => catalog::apply_product(tx, &event.decode::<ProductCreated>()?.product).await?,
            ProductUpdated::TYPE => catalog::apply_product(tx, &event.decode::<ProductUpdated>()?.product).await?,
            ProductDeactivated::TYPE => {
                catalog::apply_product(tx, &event.decode::<ProductDeactivated>()?.product).await?
            }
            InventoryAdjusted::TYPE => {
                catalog::apply_stock(tx, &event.decode::<InventoryAdjusted>()?, event.aggregate_version).await?
            }
            other => anyhow::bail!("the search indexer does not handle {other} events"),
        };
        // Nothing newer than what is known: a stale or repeated event.
        let Some(row) = merged else { return Ok(()) };
        let index = self.index.clone();
        tokio::task::spawn_blocking(move || match row.projection() {
            Projection::Index(document) => index.upsert(&[document]).map(drop),
            Projection::Remove { id, revision } => index.remove(id, revision).map(drop),
        })
        .await??;
        let lag = (Utc::now() - event.occurred_at).num_microseconds().unwrap_or(0) as f64 / 1e6;
        metrics::histogram!("search_freshness_seconds").record(lag.max(0.0));
        Ok(())
    }
}
