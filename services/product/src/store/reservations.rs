//! Reservation rows: one per order this service has heard of, with the stock it holds.

use shop_contracts::events::OrderLine;
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::domain::reservation::ReservationStatus;

/// The order's reservation status, locking the row (if any) until the transaction ends.
pub async fn status_for_update(db: impl PgExecutor<'_>, order_id: Uuid) -> sqlx::Result<Option<ReservationStatus>> {
    let status: Option<String> = sqlx::query_scalar!(
        "SELECT status FROM reservations WHERE order_id = $1 FOR UPDATE",
        order_id
    )
    .fetch_optional(db)
    .await?;
    status
        .map(|s| s.parse().map_err(|e| sqlx::Error::Decode(Box::new(e))))
        .transpose()
}

/// Records the order's reservation. A concurrent insert for the same order makes this fail
/// (primary key), so only one of two racing events takes effect; the other is retried.
pub async fn insert(db: impl PgExecutor<'_>, order_id: Uuid, status: ReservationStatus) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO reservations (order_id, status) VALUES ($1, $2)",
        order_id,
        status.as_str()
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn set_status(db: impl PgExecutor<'_>, order_id: Uuid, status: ReservationStatus) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE reservations SET status = $2, updated_at = now() WHERE order_id = $1",
        order_id,
        status.as_str()
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Records the order's reservation as held, with the stock it holds: lines must be one per
/// product with a positive quantity that fits the column. Fails like [`insert`] on a race.
pub async fn insert_held(db: impl PgExecutor<'_>, order_id: Uuid, lines: &[(Uuid, i32)]) -> sqlx::Result<()> {
    sqlx::query!(
        "WITH reservation AS (INSERT INTO reservations (order_id, status) VALUES ($1, $2) RETURNING order_id)
         INSERT INTO reservation_lines (order_id, product_id, quantity)
         SELECT r.order_id, l.product_id, l.quantity
         FROM reservation r, UNNEST($3::uuid[], $4::int4[]) AS l(product_id, quantity)",
        order_id,
        ReservationStatus::Held.as_str(),
        &lines.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        &lines.iter().map(|(_, quantity)| *quantity).collect::<Vec<_>>(),
    )
    .execute(db)
    .await?;
    Ok(())
}

/// What the reservation holds, in product-id order.
pub async fn lines(db: impl PgExecutor<'_>, order_id: Uuid) -> sqlx::Result<Vec<OrderLine>> {
    let rows = sqlx::query!(
        "SELECT product_id, quantity FROM reservation_lines WHERE order_id = $1 ORDER BY product_id",
        order_id
    )
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|row| {
            let quantity = u32::try_from(row.quantity).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
            Ok(OrderLine {
                product_id: row.product_id,
                quantity,
            })
        })
        .collect()
}
