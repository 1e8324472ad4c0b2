//! Keeps the product replica current from the product service's events. Each carries a full
//! snapshot, which [`store::catalog::apply_snapshot`] stores unless the replica already has
//! that version or a newer one — so a repeated, late or reordered event changes nothing.

use shop_contracts::events::{Envelope, ProductChange};
use shop_messaging::{ConsumerSpec, Handler};
use sqlx::PgConnection;

use crate::store;

/// The durable consumer of the `product` stream.
pub fn spec() -> ConsumerSpec<ProductChange> {
    ConsumerSpec::new("order-catalog")
}

/// Applies product snapshots to the replica.
#[derive(Debug, Clone, Copy, Default)]
pub struct CatalogHandler;

impl Handler for CatalogHandler {
    type Events = ProductChange;

    async fn handle(&self, tx: &mut PgConnection, _: &Envelope, change: ProductChange) -> anyhow::Result<()> {
        let snapshot = change.into_snapshot();
        if !store::catalog::apply_snapshot(&mut *tx, &snapshot).await? {
            tracing::debug!(product_id = %snapshot.id, version = snapshot.version, "replica already newer; skipped");
        }
        Ok(())
    }
}
