//! The order's own commands, whoever issues them.
//!
//! [`settle`] is the one way a placed order changes status. The customer cancelling it
//! ([`crate::api`]), the saga answering for stock and payment ([`crate::events::saga`]) and the
//! pending deadline ([`crate::deadline`]) all settle orders through it, so every change gets
//! its history row and its event, in the transaction of whoever asked.

use chrono::Utc;
use shop_contracts::events::Cause;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{domain::order::Transition, events, store};

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
    events::order_settled(tx, order_id, transition, changed, cause).await?;
    Ok(true)
}
