//! Events: what the product service publishes — catalog and stock changes, enqueued in the
//! outbox by the transaction that makes them — and, one module per consumer, how it handles
//! what it consumes.

pub mod reservations;

use shop_contracts::{
    catalog::ProductSnapshot,
    events::{Cause, Envelope, InventoryAdjusted, ProductCreated, ProductDeactivated, ProductUpdated},
};

use crate::store::products::{InventoryRow, ProductRow};

/// The `source` of every event this service publishes.
pub const SOURCE: &str = "product";

pub fn product_created(product: ProductSnapshot, cause: Cause) -> Envelope {
    let (id, version) = (product.id, product.version);
    Envelope::new(SOURCE, id, version, &ProductCreated { product }, cause)
}

pub fn product_updated(product: ProductSnapshot, cause: Cause) -> Envelope {
    let (id, version) = (product.id, product.version);
    Envelope::new(SOURCE, id, version, &ProductUpdated { product }, cause)
}

pub fn product_deactivated(product: ProductSnapshot, cause: Cause) -> Envelope {
    let (id, version) = (product.id, product.version);
    Envelope::new(SOURCE, id, version, &ProductDeactivated { product }, cause)
}

/// New stock levels of a product; versioned by the inventory row's own version.
pub fn inventory_adjusted(levels: &InventoryRow, cause: Cause) -> Envelope {
    let event = InventoryAdjusted {
        product_id: levels.product_id,
        on_hand: levels.on_hand,
        reserved: levels.reserved,
        sold: levels.sold,
    };
    Envelope::new(SOURCE, levels.product_id, levels.version, &event, cause)
}

/// The stock levels of a product that was just created: all on hand, none reserved or sold.
pub fn initial_stock(product: &ProductRow) -> InventoryRow {
    InventoryRow {
        product_id: product.id,
        on_hand: product.on_hand,
        reserved: 0,
        sold: 0,
        version: 1,
    }
}
