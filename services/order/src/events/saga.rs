//! The order's side of the checkout saga: the product service answers `order.placed` with
//! `inventory.reserved` or `inventory.rejected`, and this consumer settles the order.
//!
//! - `inventory.reserved`: the payment step runs ([`payment::charge`]); approved → confirmed
//!   and `order.confirmed` (the reservation becomes sold stock), declined → cancelled with
//!   reason `payment_declined` and `order.cancelled` (the reservation is released).
//! - `inventory.rejected`: rejected, naming the products, and `order.rejected`.
//!
//! Only a pending order is settled. One that is no longer pending was cancelled meanwhile (by
//! its customer or the deadline) — the product service already has that `order.cancelled` and
//! releases the stock — or was settled by an earlier copy of the same event: either way,
//! nothing happens.

use anyhow::{Context, bail};
use shop_contracts::events::{Cause, Envelope, Event, InventoryRejected, InventoryReserved};
use shop_messaging::{ConsumerSpec, Handler};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    domain::{
        order::{CancelReason, OrderStatus, Transition, rejection_reason},
        payment::{self, PaymentOutcome},
    },
    events::settle,
    store,
};

/// The durable consumer of the `inventory` stream.
pub fn spec() -> ConsumerSpec {
    ConsumerSpec::new("order-saga", &[InventoryReserved::TYPE, InventoryRejected::TYPE])
}

/// Settles orders from the product service's answers.
#[derive(Debug, Clone, Copy, Default)]
pub struct SagaHandler;

impl Handler for SagaHandler {
    async fn handle<'a>(&'a self, tx: &'a mut PgConnection, event: &'a Envelope) -> anyhow::Result<()> {
        match event.event_type.as_str() {
            InventoryReserved::TYPE => reserved(tx, event, event.decode::<InventoryReserved>()?).await,
            InventoryRejected::TYPE => rejected(tx, event, event.decode::<InventoryRejected>()?).await,
            other => bail!("order-saga does not handle {other} events"),
        }
    }
}

/// The order, locked, if it is still pending. An order that does not exist is an error: this
/// service placed every order the product service answers for.
async fn pending_order(tx: &mut PgConnection, order_id: Uuid) -> anyhow::Result<Option<store::orders::OrderState>> {
    let order = store::orders::lock(tx, order_id)
        .await?
        .with_context(|| format!("no order {order_id}"))?;
    if order.status == OrderStatus::Pending {
        Ok(Some(order))
    } else {
        tracing::info!(%order_id, status = %order.status, "order already settled; nothing to do");
        Ok(None)
    }
}

async fn reserved(tx: &mut PgConnection, event: &Envelope, reserved: InventoryReserved) -> anyhow::Result<()> {
    let Some(order) = pending_order(tx, reserved.order_id).await? else {
        return Ok(());
    };
    let transition = match payment::charge(&order.payment_token) {
        PaymentOutcome::Approved => Transition::Confirm,
        PaymentOutcome::Declined => Transition::Cancel(CancelReason::PaymentDeclined),
    };
    settle(tx, order.id, &transition, Cause::reacting_to(event)).await?;
    Ok(())
}

async fn rejected(tx: &mut PgConnection, event: &Envelope, rejected: InventoryRejected) -> anyhow::Result<()> {
    let Some(order) = pending_order(tx, rejected.order_id).await? else {
        return Ok(());
    };
    let names = store::orders::product_names(&mut *tx, order.id).await?;
    let transition = Transition::Reject {
        reason: rejection_reason(&rejected.lines, &names),
    };
    settle(tx, order.id, &transition, Cause::reacting_to(event)).await?;
    Ok(())
}
