//! Events: what the product service publishes and, one module per consumer, how it handles
//! what it consumes.
//!
//! The functions here build the service's events from the rows a change leaves behind, for the
//! caller's transaction (the one that makes the change) to enqueue: catalog changes
//! (`product.*`) and stock levels (`inventory.adjusted`) are enqueued here; the answers to
//! orders (`inventory.reserved`, `.rejected`, `.committed`, `.released`) are returned, for the
//! reservation handler to enqueue together with the stock levels they moved, in one statement.

pub mod cache;
pub mod reservations;

use shop_contracts::{
    catalog::ProductSnapshot,
    events::{
        Cause, Envelope, InventoryAdjusted, InventoryCommitted, InventoryRejected, InventoryReleased,
        InventoryReserved, OrderLine, ProductCreated, ProductDeactivated, ProductUpdated, RejectedLine,
    },
};
use shop_messaging::outbox;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    domain::reservation::Step,
    store::products::{InventoryRow, ProductRow},
};

/// The `source` of every event this service publishes.
pub const SOURCE: &str = "product";

/// Enqueues `product.created` and the starting `inventory.adjusted` of each of the products,
/// just created, in order and with one statement. Each product starts a flow of its own.
pub async fn products_created(tx: &mut PgConnection, products: &[ProductRow]) -> anyhow::Result<()> {
    let mut envelopes = Vec::with_capacity(products.len() * 2);
    for product in products {
        let cause = Cause::new_flow();
        let stock = InventoryRow {
            product_id: product.id,
            on_hand: product.on_hand,
            reserved: 0,
            sold: 0,
            version: 1,
        };
        let event = ProductCreated {
            product: ProductSnapshot::try_from(product.clone())?,
        };
        envelopes.push(Envelope::new(SOURCE, product.id, product.version, &event, cause));
        envelopes.push(stock_levels(&stock, cause));
    }
    Ok(outbox::enqueue_all(tx, &envelopes).await?)
}

/// Enqueues `product.updated` with the product's snapshot after the change.
pub async fn product_updated(tx: &mut PgConnection, product: &ProductRow, cause: Cause) -> anyhow::Result<()> {
    let event = ProductUpdated {
        product: ProductSnapshot::try_from(product.clone())?,
    };
    let envelope = Envelope::new(SOURCE, product.id, product.version, &event, cause);
    Ok(outbox::enqueue(tx, &envelope).await?)
}

/// Enqueues `product.deactivated` with the product's snapshot after the change.
pub async fn product_deactivated(tx: &mut PgConnection, product: &ProductRow, cause: Cause) -> anyhow::Result<()> {
    let event = ProductDeactivated {
        product: ProductSnapshot::try_from(product.clone())?,
    };
    let envelope = Envelope::new(SOURCE, product.id, product.version, &event, cause);
    Ok(outbox::enqueue(tx, &envelope).await?)
}

/// Enqueues `inventory.adjusted` with a product's new stock levels.
pub async fn inventory_adjusted(tx: &mut PgConnection, levels: &InventoryRow, cause: Cause) -> sqlx::Result<()> {
    outbox::enqueue(tx, &stock_levels(levels, cause)).await
}

/// `inventory.adjusted` for these levels; versioned by the inventory row's own version.
pub fn stock_levels(levels: &InventoryRow, cause: Cause) -> Envelope {
    let event = InventoryAdjusted {
        product_id: levels.product_id,
        on_hand: levels.on_hand,
        reserved: levels.reserved,
        sold: levels.sold,
    };
    Envelope::new(SOURCE, levels.product_id, levels.version, &event, cause)
}

/// `inventory.reserved`: every line of the order is held.
pub fn inventory_reserved(order_id: Uuid, lines: Vec<OrderLine>, cause: Cause) -> Envelope {
    let event = InventoryReserved { order_id, lines };
    Envelope::new(SOURCE, order_id, Step::Reserve.version(), &event, cause)
}

/// `inventory.rejected`: these lines could not be held, so nothing was.
pub fn inventory_rejected(order_id: Uuid, lines: Vec<RejectedLine>, cause: Cause) -> Envelope {
    let event = InventoryRejected { order_id, lines };
    Envelope::new(SOURCE, order_id, Step::Reserve.version(), &event, cause)
}

/// `inventory.committed`: the order's held lines are sold stock now.
pub fn inventory_committed(order_id: Uuid, lines: Vec<OrderLine>, cause: Cause) -> Envelope {
    let event = InventoryCommitted { order_id, lines };
    Envelope::new(SOURCE, order_id, Step::Commit.version(), &event, cause)
}

/// `inventory.released`: the order's lines went back to stock, by `step` (a release
/// of held stock, or a restock of sold stock).
pub fn inventory_released(order_id: Uuid, lines: Vec<OrderLine>, step: Step, cause: Cause) -> Envelope {
    let event = InventoryReleased { order_id, lines };
    Envelope::new(SOURCE, order_id, step.version(), &event, cause)
}
