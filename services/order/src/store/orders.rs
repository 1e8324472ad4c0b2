//! Orders, their lines and their status history.

use chrono::{DateTime, Utc};
use shop_contracts::Money;
use sqlx::{Acquire, PgExecutor, PgPool, Postgres, types::Json};
use uuid::Uuid;

use crate::domain::order::{NewOrder, OrderLine, OrderStatus, ShippingAddress, StatusChange};

/// Stores a new order with its lines and the first entry of its history, all or nothing.
/// Inside a caller's transaction (with the event it publishes, say) it joins that one.
///
/// A second order with the same user and idempotency key violates
/// `orders_user_idempotency_key`.
pub async fn insert_order<'c>(db: impl Acquire<'c, Database = Postgres>, order: &NewOrder) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO orders (id, user_id, status, currency, total_minor, shipping_address,
                             idempotency_key, request_fingerprint, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
    )
    .bind(order.id)
    .bind(order.user_id)
    .bind(NewOrder::INITIAL_STATUS.as_str())
    .bind(order.total.currency.as_str())
    .bind(order.total.amount_minor)
    .bind(Json(&order.shipping_address))
    .bind(order.idempotency_key.as_str())
    .bind(&order.request_fingerprint)
    .bind(order.placed_at)
    .execute(&mut *tx)
    .await?;

    let line_numbers: Vec<i32> = (1..).take(order.lines.len()).collect();
    sqlx::query(
        "INSERT INTO order_items (order_id, line_no, product_id, sku, product_name,
                                  unit_price_minor, quantity, line_total_minor)
         SELECT $1, line.*
         FROM UNNEST($2::integer[], $3::uuid[], $4::text[], $5::text[], $6::bigint[], $7::integer[], $8::bigint[])
              AS line",
    )
    .bind(order.id)
    .bind(line_numbers)
    .bind(order.lines.iter().map(|l| l.product_id).collect::<Vec<_>>())
    .bind(order.lines.iter().map(|l| l.sku.as_str()).collect::<Vec<_>>())
    .bind(order.lines.iter().map(|l| l.product_name.as_str()).collect::<Vec<_>>())
    .bind(
        order
            .lines
            .iter()
            .map(|l| l.unit_price.amount_minor)
            .collect::<Vec<_>>(),
    )
    .bind(order.lines.iter().map(|l| i32::from(l.quantity)).collect::<Vec<_>>())
    .bind(
        order
            .lines
            .iter()
            .map(|l| l.line_total.amount_minor)
            .collect::<Vec<_>>(),
    )
    .execute(&mut *tx)
    .await?;

    sqlx::query("INSERT INTO order_status_history (order_id, status, occurred_at) VALUES ($1, $2, $3)")
        .bind(order.id)
        .bind(NewOrder::INITIAL_STATUS.as_str())
        .bind(order.placed_at)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// An order as it appears in a list of orders.
#[derive(Debug, Clone)]
pub struct OrderSummary {
    pub id: Uuid,
    pub status: OrderStatus,
    pub total: Money,
    /// Units over all lines.
    pub item_count: i64,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: Uuid,
    status: String,
    currency: String,
    total_minor: i64,
    item_count: i64,
    created_at: DateTime<Utc>,
}

/// Where a page of a user's orders starts: strictly after this `(created_at, id)`.
pub type Position = (DateTime<Utc>, Uuid);

/// A page of the user's orders, newest first.
pub async fn list_for_user(
    db: &PgPool,
    user_id: Uuid,
    after: Option<Position>,
    limit: i64,
) -> sqlx::Result<Vec<OrderSummary>> {
    let (after_created, after_id) = after.unzip();
    sqlx::query_as::<_, SummaryRow>(
        "SELECT o.id, o.status, o.currency, o.total_minor, o.created_at,
                (SELECT COALESCE(sum(i.quantity), 0) FROM order_items i WHERE i.order_id = o.id)::bigint
                    AS item_count
         FROM orders o
         WHERE o.user_id = $1 AND ($2::timestamptz IS NULL OR (o.created_at, o.id) < ($2, $3))
         ORDER BY o.created_at DESC, o.id DESC
         LIMIT $4",
    )
    .bind(user_id)
    .bind(after_created)
    .bind(after_id)
    .bind(limit)
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|row| {
        Ok(OrderSummary {
            id: row.id,
            status: super::status(&row.status)?,
            total: super::money(row.total_minor, &row.currency)?,
            item_count: row.item_count,
            created_at: row.created_at,
        })
    })
    .collect()
}

/// An order with everything in it.
#[derive(Debug, Clone)]
pub struct OrderDetails {
    pub id: Uuid,
    pub user_id: Uuid,
    pub status: OrderStatus,
    pub total: Money,
    pub shipping_address: ShippingAddress,
    pub lines: Vec<OrderLine>,
    /// Oldest first.
    pub history: Vec<StatusChange>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct OrderRow {
    id: Uuid,
    user_id: Uuid,
    status: String,
    currency: String,
    total_minor: i64,
    shipping_address: Json<ShippingAddress>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct LineRow {
    product_id: Uuid,
    sku: String,
    product_name: String,
    unit_price_minor: i64,
    quantity: i32,
    line_total_minor: i64,
}

#[derive(sqlx::FromRow)]
struct StatusRow {
    status: String,
    reason: Option<String>,
    occurred_at: DateTime<Utc>,
}

/// The order with this id, whoever it belongs to: the caller decides who may see it.
pub async fn find(db: &PgPool, id: Uuid) -> sqlx::Result<Option<OrderDetails>> {
    let mut conn = db.acquire().await?;
    let Some(order) = sqlx::query_as::<_, OrderRow>(
        "SELECT id, user_id, status, currency, total_minor, shipping_address, created_at, updated_at
         FROM orders WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let lines = lines(&mut *conn, id, &order.currency).await?;
    let history = sqlx::query_as::<_, StatusRow>(
        "SELECT status, reason, occurred_at FROM order_status_history WHERE order_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|row| {
        Ok(StatusChange {
            status: super::status(&row.status)?,
            reason: row.reason,
            occurred_at: row.occurred_at,
        })
    })
    .collect::<sqlx::Result<_>>()?;
    Ok(Some(OrderDetails {
        id: order.id,
        user_id: order.user_id,
        status: super::status(&order.status)?,
        total: super::money(order.total_minor, &order.currency)?,
        shipping_address: order.shipping_address.0,
        lines,
        history,
        created_at: order.created_at,
        updated_at: order.updated_at,
    }))
}

async fn lines(db: impl PgExecutor<'_>, order_id: Uuid, currency: &str) -> sqlx::Result<Vec<OrderLine>> {
    sqlx::query_as::<_, LineRow>(
        "SELECT product_id, sku, product_name, unit_price_minor, quantity, line_total_minor
         FROM order_items WHERE order_id = $1 ORDER BY line_no",
    )
    .bind(order_id)
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|row| {
        Ok(OrderLine {
            product_id: row.product_id,
            unit_price: super::money(row.unit_price_minor, currency)?,
            quantity: super::quantity(row.quantity)?,
            line_total: super::money(row.line_total_minor, currency)?,
            sku: row.sku,
            product_name: row.product_name,
        })
    })
    .collect()
}
