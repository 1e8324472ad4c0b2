//! What the order service publishes, and how it handles what it consumes:
//!
//! - [`order_placed`] and [`order_settled`] build the order's events from the order and
//!   enqueue them in the caller's transaction, the one that changes the order: `order.placed`
//!   at checkout, and `order.confirmed`, `order.cancelled` or `order.rejected` whenever an
//!   order settles ([`crate::commands::settle`]);
//! - [`saga`] reacts to the product service's `inventory.*` events (the payment step runs
//!   there);
//! - [`catalog`] keeps the product replica current from `product.*` events.

pub mod catalog;
pub mod saga;

use shop_contracts::events::{self, Cause, Envelope, OrderCancelled, OrderConfirmed, OrderPlaced, OrderRejected};
use shop_messaging::outbox;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    domain::order::{NewOrder, Transition},
    store::orders::Transitioned,
};

/// The `source` of every event this service publishes.
pub const SOURCE: &str = "order";

/// Enqueues `order.placed` for an order just stored in the transaction `tx`.
pub async fn order_placed(tx: &mut PgConnection, order: &NewOrder, cause: Cause) -> sqlx::Result<()> {
    let event = OrderPlaced {
        order_id: order.id,
        user_id: order.user_id,
        lines: order
            .lines
            .iter()
            .map(|line| events::OrderLine {
                product_id: line.product_id,
                quantity: line.quantity.get(),
            })
            .collect(),
        total: order.total,
    };
    // A new order is at version 1; every transition adds one.
    outbox::enqueue(tx, &Envelope::new(SOURCE, order.id, 1, &event, cause)).await
}

/// Enqueues the event that announces `transition`, just applied to the order in `tx`:
/// `order.confirmed`, `order.cancelled` or `order.rejected`.
pub async fn order_settled(
    tx: &mut PgConnection,
    order_id: Uuid,
    transition: &Transition,
    changed: Transitioned,
    cause: Cause,
) -> sqlx::Result<()> {
    let Transitioned { user_id, version } = changed;
    let envelope = match transition {
        Transition::Confirm => Envelope::new(SOURCE, order_id, version, &OrderConfirmed { order_id, user_id }, cause),
        Transition::Cancel(reason) => {
            let event = OrderCancelled {
                order_id,
                user_id,
                reason: reason.as_str().to_owned(),
            };
            Envelope::new(SOURCE, order_id, version, &event, cause)
        }
        Transition::Reject { reason } => {
            let event = OrderRejected {
                order_id,
                user_id,
                reason: reason.clone(),
            };
            Envelope::new(SOURCE, order_id, version, &event, cause)
        }
    };
    outbox::enqueue(tx, &envelope).await
}
