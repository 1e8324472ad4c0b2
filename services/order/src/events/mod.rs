//! What the order service publishes, and how it handles what it consumes:
//!
//! - it publishes `order.placed` at checkout and `order.confirmed`, `order.cancelled` or
//!   `order.rejected` whenever an order settles — each through the outbox, in the transaction
//!   that changes the order;
//! - [`saga`] reacts to the product service's `inventory.*` events (the payment step runs
//!   there);
//! - [`catalog`] keeps the product replica current from `product.*` events.

pub mod catalog;
pub mod saga;

use chrono::Utc;
use shop_contracts::events::{self, Cause, Envelope, OrderCancelled, OrderConfirmed, OrderPlaced, OrderRejected};
use shop_messaging::outbox;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    domain::order::{NewOrder, Transition},
    store,
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

/// Applies `transition` to the order, with its history row, and enqueues the event that
/// announces it — all in `tx`. False (and nothing changed or published) if the order's status
/// does not allow it, or there is no such order.
pub async fn settle(
    tx: &mut PgConnection,
    order_id: Uuid,
    transition: &Transition,
    cause: Cause,
) -> sqlx::Result<bool> {
    let Some(changed) = store::orders::apply_transition(tx, order_id, transition, Utc::now()).await? else {
        return Ok(false);
    };
    let user_id = changed.user_id;
    let envelope = match transition {
        Transition::Confirm => Envelope::new(
            SOURCE,
            order_id,
            changed.version,
            &OrderConfirmed { order_id, user_id },
            cause,
        ),
        Transition::Cancel(reason) => {
            let event = OrderCancelled {
                order_id,
                user_id,
                reason: reason.as_str().to_owned(),
            };
            Envelope::new(SOURCE, order_id, changed.version, &event, cause)
        }
        Transition::Reject { reason } => {
            let event = OrderRejected {
                order_id,
                user_id,
                reason: reason.clone(),
            };
            Envelope::new(SOURCE, order_id, changed.version, &event, cause)
        }
    };
    outbox::enqueue(tx, &envelope).await?;
    Ok(true)
}
