//! The pending deadline: an order that stock and payment have not settled in time is
//! cancelled (reason `timeout`, with its history row and `order.cancelled`), so no order stays
//! pending forever — not even when the product service or the broker is down for good.

use std::{future::Future, time::Duration};

use anyhow::Context;
use chrono::Utc;
use shop_contracts::events::Cause;
use shop_messaging::wakeup;
use sqlx::PgPool;

use crate::{
    commands,
    domain::order::{CancelReason, Transition},
    store,
};

/// Orders cancelled per transaction.
pub const BATCH: i64 = 100;
/// How often [`run`] looks for overdue orders.
pub const SWEEP_EVERY: Duration = Duration::from_secs(2);

/// Cancels every order pending for longer than `timeout`, in batches of [`BATCH`]; returns
/// how many. Orders another transaction holds (a consumer settling them, another replica's
/// sweep) are skipped and, if still pending, cancelled by a later sweep.
pub async fn cancel_stuck_orders(db: &PgPool, timeout: Duration) -> anyhow::Result<usize> {
    let placed_before = Utc::now() - chrono::Duration::from_std(timeout).context("pending timeout out of range")?;
    let transition = Transition::Cancel(CancelReason::Timeout);
    let mut cancelled = 0;
    loop {
        let mut tx = db.begin().await?;
        let overdue = store::orders::lock_overdue(&mut tx, placed_before, BATCH).await?;
        for &order_id in &overdue {
            if commands::settle(&mut tx, order_id, &transition, Cause::new_flow()).await? {
                cancelled += 1;
            }
        }
        wakeup::commit(tx).await?;
        if (overdue.len() as i64) < BATCH {
            return Ok(cancelled);
        }
    }
}

/// Sweeps every [`SWEEP_EVERY`] until `stop` completes. A failed sweep is logged and tried
/// again at the next one.
pub async fn run(db: PgPool, timeout: Duration, stop: impl Future<Output = ()> + Send) {
    tokio::pin!(stop);
    let mut ticks = tokio::time::interval(SWEEP_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut stop => return,
            _ = ticks.tick() => {}
        }
        match cancel_stuck_orders(&db, timeout).await {
            Ok(0) => {}
            Ok(cancelled) => tracing::info!(cancelled, ?timeout, "cancelled orders pending past the deadline"),
            Err(error) => tracing::warn!(error = format!("{error:#}"), "pending-deadline sweep failed; retrying"),
        }
    }
}
