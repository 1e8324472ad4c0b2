//! Keeps the product replica current from the product service's events. Each carries a full
//! snapshot, which [`store::catalog::apply_snapshots`] stores unless the replica already has
//! that version or a newer one — so a repeated, late or reordered event changes nothing.

use shop_contracts::{
    catalog::ProductSnapshot,
    events::{Envelope, ProductChange},
};
use shop_messaging::{ConsumerSpec, Handler};
use sqlx::PgConnection;

use crate::{shards::ShardId, store};

/// The shard's durable consumer of the `product` stream (every shard keeps the whole
/// replica): `order-catalog` when unsharded.
pub fn spec(shard: ShardId) -> ConsumerSpec<ProductChange> {
    ConsumerSpec::new(&shard.name("order-catalog"))
}

/// Applies product snapshots to the replica.
#[derive(Debug, Clone, Copy, Default)]
pub struct CatalogHandler;

impl Handler for CatalogHandler {
    type Events = ProductChange;

    async fn handle(&self, tx: &mut PgConnection, envelope: &Envelope, change: ProductChange) -> anyhow::Result<()> {
        self.handle_batch(tx, vec![(envelope, change)]).await
    }

    /// One statement for the batch: a catch-up of thousands of products costs a few round trips.
    async fn handle_batch(&self, tx: &mut PgConnection, events: Vec<(&Envelope, ProductChange)>) -> anyhow::Result<()> {
        let snapshots: Vec<ProductSnapshot> = events.into_iter().map(|(_, change)| change.into_snapshot()).collect();
        let changed = store::catalog::apply_snapshots(&mut *tx, &snapshots).await?;
        if changed < snapshots.len() as u64 {
            tracing::debug!(
                skipped = snapshots.len() as u64 - changed,
                "replica already had these versions or newer"
            );
        }
        Ok(())
    }
}
