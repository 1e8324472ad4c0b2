//! The order's side of the checkout saga: the product service answers `order.placed` with
//! `inventory.reserved` or `inventory.rejected`, and this consumer settles the order.
//!
//! - `inventory.reserved`: the payment step runs ([`payment::charge`]); approved → confirmed
//!   and `order.confirmed` (the reservation becomes sold stock), declined → cancelled with
//!   reason `payment_declined` and `order.cancelled` (the reservation is released).
//! - `inventory.rejected`: rejected, naming the products, and `order.rejected`.
//!
//! Each shard has its own consumer ([`spec`]), and every one reads every answer: the order id
//! names the order's shard, and a shard's consumer settles its own orders and passes over the
//! others' ([`SagaHandler`]).
//!
//! Only a pending order is settled. One that is no longer pending was cancelled meanwhile (by
//! its customer or the deadline) — the product service already has that `order.cancelled` and
//! releases the stock — or was settled by an earlier copy of the same event: either way,
//! nothing happens.

use anyhow::Context;
use shop_contracts::{
    event_set,
    events::{Cause, Envelope, InventoryRejected, InventoryReserved},
};
use shop_messaging::{ConsumerSpec, Handler};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    commands::settle,
    domain::{
        order::{CancelReason, OrderStatus, Transition, rejection_reason},
        payment::{self, PaymentOutcome},
    },
    shards::ShardId,
    store,
};

event_set! {
    /// The product service's answers to `order.placed`.
    pub enum InventoryAnswer {
        Reserved(InventoryReserved),
        Rejected(InventoryRejected),
    }
}

/// The shard's durable consumer of the `inventory` stream: `order-saga` when unsharded.
pub fn spec(shard: ShardId) -> ConsumerSpec<InventoryAnswer> {
    ConsumerSpec::new(&shard.name("order-saga"))
}

/// Settles the shard's orders from the product service's answers.
#[derive(Debug, Clone, Copy)]
pub struct SagaHandler {
    pub shard: ShardId,
}

/// The handler of an unsharded service.
impl Default for SagaHandler {
    fn default() -> Self {
        Self { shard: ShardId::SINGLE }
    }
}

impl Handler for SagaHandler {
    type Events = InventoryAnswer;

    async fn handle(&self, tx: &mut PgConnection, envelope: &Envelope, answer: InventoryAnswer) -> anyhow::Result<()> {
        let order_id = match &answer {
            InventoryAnswer::Reserved(event) => event.order_id,
            InventoryAnswer::Rejected(event) => event.order_id,
        };
        if !self.shard.holds_order(order_id) {
            return Ok(()); // another shard's order: its own consumer settles it
        }
        let cause = Cause::reacting_to(envelope);
        match answer {
            InventoryAnswer::Reserved(event) => reserved(tx, event, cause).await,
            InventoryAnswer::Rejected(event) => rejected(tx, event, cause).await,
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

async fn reserved(tx: &mut PgConnection, reserved: InventoryReserved, cause: Cause) -> anyhow::Result<()> {
    let Some(order) = pending_order(tx, reserved.order_id).await? else {
        return Ok(());
    };
    let transition = match payment::charge(&order.payment_token) {
        PaymentOutcome::Approved => Transition::Confirm,
        PaymentOutcome::Declined => Transition::Cancel(CancelReason::PaymentDeclined),
    };
    settle(tx, order.id, &transition, cause).await?;
    Ok(())
}

async fn rejected(tx: &mut PgConnection, rejected: InventoryRejected, cause: Cause) -> anyhow::Result<()> {
    let Some(order) = pending_order(tx, rejected.order_id).await? else {
        return Ok(());
    };
    let names = store::orders::product_names(&mut *tx, order.id).await?;
    let transition = Transition::Reject {
        reason: rejection_reason(&rejected.lines, &names),
    };
    settle(tx, order.id, &transition, cause).await?;
    Ok(())
}
