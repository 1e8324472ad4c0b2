//! Keeps the product replica current from the product service's events. Each carries a full
//! snapshot, which [`store::catalog::apply_snapshot`] stores unless the replica already has
//! that version or a newer one — so a repeated, late or reordered event changes nothing.

use anyhow::bail;
use shop_contracts::events::{Envelope, Event, ProductCreated, ProductDeactivated, ProductUpdated};
use shop_messaging::{ConsumerSpec, Handler};
use sqlx::PgConnection;

use crate::store;

/// The durable consumer of the `product` stream.
pub fn spec() -> ConsumerSpec {
    ConsumerSpec::new(
        "order-catalog",
        &[ProductCreated::TYPE, ProductUpdated::TYPE, ProductDeactivated::TYPE],
    )
}

/// Applies product snapshots to the replica.
#[derive(Debug, Clone, Copy, Default)]
pub struct CatalogHandler;

impl Handler for CatalogHandler {
    async fn handle<'a>(&'a self, tx: &'a mut PgConnection, event: &'a Envelope) -> anyhow::Result<()> {
        let snapshot = match event.event_type.as_str() {
            ProductCreated::TYPE => event.decode::<ProductCreated>()?.product,
            ProductUpdated::TYPE => event.decode::<ProductUpdated>()?.product,
            ProductDeactivated::TYPE => event.decode::<ProductDeactivated>()?.product,
            other => bail!("order-catalog does not handle {other} events"),
        };
        if !store::catalog::apply_snapshot(&mut *tx, &snapshot).await? {
            tracing::debug!(product_id = %snapshot.id, version = snapshot.version, "replica already newer; skipped");
        }
        Ok(())
    }
}
