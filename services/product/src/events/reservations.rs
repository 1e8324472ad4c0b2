//! Consumer `product-inventory`: holds stock when an order is placed, makes it sold stock when
//! the order is confirmed and puts it back when the order is cancelled. Each step is guarded
//! by the reservation's current state (see [`reservation::step`]), so a repeated or late
//! event changes nothing.

use anyhow::Context;
use shop_contracts::{
    event_set,
    events::{Cause, Envelope, OrderCancelled, OrderConfirmed, OrderLine, OrderPlaced},
};
use shop_messaging::{ConsumerSpec, Handler, outbox};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    domain::reservation::{self, OrderEvent, ReservationStatus, Step, Stock},
    events,
    store::{products, reservations},
};

pub const CONSUMER: &str = "product-inventory";

event_set! {
    /// What the order service says about an order that concerns its stock.
    pub enum OrderProgress {
        Placed(OrderPlaced),
        Confirmed(OrderConfirmed),
        Cancelled(OrderCancelled),
    }
}

pub fn spec() -> ConsumerSpec<OrderProgress> {
    ConsumerSpec::new(CONSUMER)
}

/// The handler of [`CONSUMER`].
#[derive(Debug, Clone, Copy, Default)]
pub struct StockReservations;

impl Handler for StockReservations {
    type Events = OrderProgress;

    async fn handle(&self, tx: &mut PgConnection, envelope: &Envelope, progress: OrderProgress) -> anyhow::Result<()> {
        let (order_event, order_id, lines) = match progress {
            OrderProgress::Placed(placed) => (OrderEvent::Placed, placed.order_id, placed.lines),
            OrderProgress::Confirmed(confirmed) => (OrderEvent::Confirmed, confirmed.order_id, Vec::new()),
            OrderProgress::Cancelled(cancelled) => (OrderEvent::Cancelled, cancelled.order_id, Vec::new()),
        };
        let current = reservations::status_for_update(&mut *tx, order_id).await?;
        let cause = Cause::reacting_to(envelope);
        match reservation::step(order_event, current) {
            Step::Reserve => reserve(tx, order_id, &lines, cause).await,
            step @ (Step::Commit | Step::Release | Step::Restock) => settle(tx, order_id, step, cause).await,
            Step::Tombstone => Ok(reservations::insert(&mut *tx, order_id, ReservationStatus::Released).await?),
            Step::Ignore => Ok(()),
        }
    }
}

/// Holds every line of a newly placed order, or nothing if any line cannot be held.
async fn reserve(tx: &mut PgConnection, order_id: Uuid, placed: &[OrderLine], cause: Cause) -> anyhow::Result<()> {
    let lines = reservation::merge_lines(placed);
    let product_ids: Vec<Uuid> = lines.iter().map(|line| line.product_id).collect();
    let stock: Vec<Stock> = products::lock_stock(&mut *tx, &product_ids)
        .await?
        .into_iter()
        .map(|row| Stock {
            product_id: row.product_id,
            active: row.active,
            available: row.on_hand - row.reserved,
        })
        .collect();
    if let Err(rejected) = reservation::check(&lines, &stock) {
        reservations::insert(&mut *tx, order_id, ReservationStatus::Rejected).await?;
        outbox::enqueue(tx, &events::inventory_rejected(order_id, rejected, cause)).await?;
        return Ok(());
    }
    let quantities = quantities(&lines)?;
    reservations::insert_held(&mut *tx, order_id, &quantities).await?;
    let levels = move_stock(tx, &quantities, Step::Reserve).await?;
    let answer = events::inventory_reserved(order_id, lines, cause);
    publish(tx, answer, &levels, cause).await
}

/// Commits or releases what a held (or, for a late cancellation, committed) reservation holds.
async fn settle(tx: &mut PgConnection, order_id: Uuid, step: Step, cause: Cause) -> anyhow::Result<()> {
    let lines = reservations::lines(&mut *tx, order_id).await?;
    let quantities = quantities(&lines)?;
    let product_ids: Vec<Uuid> = lines.iter().map(|line| line.product_id).collect();
    products::lock_stock(&mut *tx, &product_ids).await?;
    let levels = move_stock(tx, &quantities, step).await?;
    let answer = if step == Step::Commit {
        reservations::set_status(&mut *tx, order_id, ReservationStatus::Committed).await?;
        events::inventory_committed(order_id, lines, cause)
    } else {
        reservations::set_status(&mut *tx, order_id, ReservationStatus::Released).await?;
        events::inventory_released(order_id, lines, step, cause)
    };
    publish(tx, answer, &levels, cause).await
}

fn quantities(lines: &[OrderLine]) -> anyhow::Result<Vec<(Uuid, i32)>> {
    lines
        .iter()
        .map(|line| {
            let quantity = i32::try_from(line.quantity).context("a reserved quantity exceeds the stock range")?;
            Ok((line.product_id, quantity))
        })
        .collect()
}

async fn move_stock(
    tx: &mut PgConnection,
    quantities: &[(Uuid, i32)],
    step: Step,
) -> anyhow::Result<Vec<products::InventoryRow>> {
    let changes: Vec<_> = quantities
        .iter()
        .map(|(id, quantity)| (*id, step.moves(*quantity)))
        .collect();
    Ok(products::move_stock(tx, &changes).await?)
}

/// Enqueues the answer to the order, then the stock levels it moved, with one statement.
async fn publish(
    tx: &mut PgConnection,
    answer: Envelope,
    levels: &[products::InventoryRow],
    cause: Cause,
) -> anyhow::Result<()> {
    let envelopes: Vec<Envelope> = std::iter::once(answer)
        .chain(levels.iter().map(|row| events::stock_levels(row, cause)))
        .collect();
    Ok(outbox::enqueue_all(tx, &envelopes).await?)
}
