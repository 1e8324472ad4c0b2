//! Orders, their lines and their status history. An order's status changes only through
//! [`apply_transition`], which also records the change in the history.

use chrono::{DateTime, Utc};
use shop_contracts::{Address, Money};
use sqlx::{PgConnection, PgExecutor, PgPool, types::Json};
use uuid::Uuid;

use crate::domain::{
    order::{IdempotencyKey, NewOrder, OrderLine, OrderStatus, StatusChange, Transition},
    payment::PaymentToken,
};

/// Stores a new order with its lines and the first entry of its history, all or nothing.
/// One statement, so inside a caller's transaction (with the event it publishes, say) it is
/// part of that one.
///
/// A second order with the same user and idempotency key violates
/// `orders_user_idempotency_key`.
pub async fn insert_order(db: impl PgExecutor<'_>, order: &NewOrder) -> sqlx::Result<()> {
    let line_numbers: Vec<i32> = (1..).take(order.lines.len()).collect();
    // One statement: the order, its lines and the first entry of its history.
    sqlx::query!(
        "WITH placed AS (
             INSERT INTO orders (id, user_id, status, currency, total_minor, shipping_address,
                                 idempotency_key, request_fingerprint, payment_token, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
             RETURNING id
         ), items AS (
             INSERT INTO order_items (order_id, line_no, product_id, sku, product_name,
                                      unit_price_minor, quantity, line_total_minor)
             SELECT placed.id, line.*
             FROM placed, UNNEST($11::integer[], $12::uuid[], $13::text[], $14::text[], $15::bigint[],
                                 $16::integer[], $17::bigint[]) AS line
         )
         INSERT INTO order_status_history (order_id, status, occurred_at) SELECT id, $3, $10 FROM placed",
        order.id,
        order.user_id,
        NewOrder::INITIAL_STATUS.as_str(),
        order.total.currency.as_str(),
        order.total.amount_minor,
        Json(&order.shipping_address) as _,
        order.idempotency_key.as_str(),
        &order.request_fingerprint,
        order.payment_token.as_str(),
        order.placed_at,
        &line_numbers,
        &order.lines.iter().map(|l| l.product_id).collect::<Vec<_>>(),
        &order.lines.iter().map(|l| l.sku.as_str()).collect::<Vec<_>>() as _,
        &order.lines.iter().map(|l| l.product_name.as_str()).collect::<Vec<_>>() as _,
        &order
            .lines
            .iter()
            .map(|l| l.unit_price.amount_minor)
            .collect::<Vec<_>>(),
        &order.lines.iter().map(|l| i32::from(l.quantity)).collect::<Vec<_>>(),
        &order
            .lines
            .iter()
            .map(|l| l.line_total.amount_minor)
            .collect::<Vec<_>>(),
    )
    .execute(db)
    .await?;
    Ok(())
}

/// An order as it appears in a list of orders.
#[derive(Debug, Clone)]
pub struct OrderSummary {
    pub id: Uuid,
    pub user_id: Uuid,
    pub status: OrderStatus,
    pub total: Money,
    /// Units over all lines.
    pub item_count: i64,
    pub created_at: DateTime<Utc>,
}

struct SummaryRow {
    id: Uuid,
    user_id: Uuid,
    status: String,
    currency: String,
    total_minor: i64,
    item_count: i64,
    created_at: DateTime<Utc>,
}

/// Where a page of orders starts: strictly after this `(created_at, id)`.
pub type Position = (DateTime<Utc>, Uuid);

/// A page of the user's orders, newest first.
pub async fn list_for_user(
    db: &PgPool,
    user_id: Uuid,
    after: Option<Position>,
    limit: i64,
) -> sqlx::Result<Vec<OrderSummary>> {
    let (after_created, after_id) = after.unzip();
    let rows = sqlx::query_as!(
        SummaryRow,
        "SELECT o.id, o.user_id, o.status, o.currency, o.total_minor, o.created_at,
                (SELECT COALESCE(sum(i.quantity), 0) FROM order_items i WHERE i.order_id = o.id)::bigint
                    AS \"item_count!\"
         FROM orders o
         WHERE o.user_id = $1 AND ($2::timestamptz IS NULL OR (o.created_at, o.id) < ($2, $3))
         ORDER BY o.created_at DESC, o.id DESC
         LIMIT $4",
        user_id,
        after_created,
        after_id,
        limit,
    )
    .fetch_all(db)
    .await?;
    rows.into_iter().map(OrderSummary::try_from).collect()
}

/// A page of every user's orders in this database, newest first.
pub async fn list_all(db: &PgPool, after: Option<Position>, limit: i64) -> sqlx::Result<Vec<OrderSummary>> {
    let (after_created, after_id) = after.unzip();
    let rows = sqlx::query_as!(
        SummaryRow,
        "SELECT o.id, o.user_id, o.status, o.currency, o.total_minor, o.created_at,
                (SELECT COALESCE(sum(i.quantity), 0) FROM order_items i WHERE i.order_id = o.id)::bigint
                    AS \"item_count!\"
         FROM orders o
         WHERE $1::timestamptz IS NULL OR (o.created_at, o.id) < ($1, $2)
         ORDER BY o.created_at DESC, o.id DESC
         LIMIT $3",
        after_created,
        after_id,
        limit,
    )
    .fetch_all(db)
    .await?;
    rows.into_iter().map(OrderSummary::try_from).collect()
}

impl TryFrom<SummaryRow> for OrderSummary {
    type Error = sqlx::Error;

    fn try_from(row: SummaryRow) -> sqlx::Result<Self> {
        Ok(Self {
            id: row.id,
            user_id: row.user_id,
            status: super::status(&row.status)?,
            total: super::money(row.total_minor, &row.currency)?,
            item_count: row.item_count,
            created_at: row.created_at,
        })
    }
}

/// An order with everything in it.
#[derive(Debug, Clone)]
pub struct OrderDetails {
    pub id: Uuid,
    pub user_id: Uuid,
    pub status: OrderStatus,
    pub total: Money,
    pub shipping_address: Address,
    pub lines: Vec<OrderLine>,
    /// Oldest first.
    pub history: Vec<StatusChange>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl OrderDetails {
    /// The order as [`find`] reads it once [`insert_order`] has stored it: pending since it
    /// was placed.
    pub fn placed(order: NewOrder) -> Self {
        Self {
            id: order.id,
            user_id: order.user_id,
            status: NewOrder::INITIAL_STATUS,
            total: order.total,
            shipping_address: order.shipping_address,
            lines: order.lines,
            history: vec![StatusChange {
                status: NewOrder::INITIAL_STATUS,
                reason: None,
                occurred_at: order.placed_at,
            }],
            created_at: order.placed_at,
            updated_at: order.placed_at,
        }
    }
}

struct OrderRow {
    id: Uuid,
    user_id: Uuid,
    status: String,
    currency: String,
    total_minor: i64,
    shipping_address: Json<Address>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

struct LineRow {
    product_id: Uuid,
    sku: String,
    product_name: String,
    unit_price_minor: i64,
    quantity: i32,
    line_total_minor: i64,
}

struct StatusRow {
    status: String,
    reason: Option<String>,
    occurred_at: DateTime<Utc>,
}

/// The order with this id, whoever it belongs to: the caller decides who may see it.
pub async fn find(db: &PgPool, id: Uuid) -> sqlx::Result<Option<OrderDetails>> {
    let mut conn = db.acquire().await?;
    let Some(order) = sqlx::query_as!(
OrderRow,
"SELECT id, user_id, status, currency, total_minor, shipping_address AS \"shipping_address: Json<Address>\", created_at, updated_at
         FROM orders WHERE id = $1",
id,
)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let lines = lines(&mut *conn, id, &order.currency).await?;
    let history = sqlx::query_as!(
        StatusRow,
        "SELECT status, reason, occurred_at FROM order_status_history WHERE order_id = $1 ORDER BY id",
        id
    )
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
    sqlx::query_as!(
        LineRow,
        "SELECT product_id, sku, product_name, unit_price_minor, quantity, line_total_minor
         FROM order_items WHERE order_id = $1 ORDER BY line_no",
        order_id,
    )
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

/// The order a user placed with an idempotency key, and the fingerprint of the request
/// that placed it.
#[derive(Debug, Clone)]
pub struct KeyedOrder {
    pub id: Uuid,
    pub request_fingerprint: String,
}

pub async fn find_by_idempotency_key(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    key: &IdempotencyKey,
) -> sqlx::Result<Option<KeyedOrder>> {
    sqlx::query_as!(
        KeyedOrder,
        "SELECT id, request_fingerprint FROM orders WHERE user_id = $1 AND idempotency_key = $2",
        user_id,
        key.as_str()
    )
    .fetch_optional(db)
    .await
}

/// What deciding an order's next status needs to know about it.
#[derive(Debug, Clone)]
pub struct OrderState {
    pub id: Uuid,
    pub user_id: Uuid,
    pub status: OrderStatus,
    pub payment_token: PaymentToken,
}

struct StateRow {
    id: Uuid,
    user_id: Uuid,
    status: String,
    payment_token: String,
}

/// The order's current state, locked until the transaction ends so that no other change
/// interleaves with the one about to be decided.
pub async fn lock(tx: &mut PgConnection, id: Uuid) -> sqlx::Result<Option<OrderState>> {
    sqlx::query_as!(
        StateRow,
        "SELECT id, user_id, status, payment_token FROM orders WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(tx)
    .await?
    .map(|row| {
        Ok(OrderState {
            id: row.id,
            user_id: row.user_id,
            status: super::status(&row.status)?,
            payment_token: PaymentToken::parse(&row.payment_token)
                .map_err(|e| super::decode_error(format!("stored payment token: {e}")))?,
        })
    })
    .transpose()
}

/// An order that has just changed status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transitioned {
    pub user_id: Uuid,
    /// The order's version after the change: the `aggregate_version` of its event.
    pub version: i64,
}

/// Moves the order to `transition`'s target status and records it in the history at `at`, if
/// the order is in a status the transition applies to; `None` (and no change) otherwise.
pub async fn apply_transition(
    tx: &mut PgConnection,
    id: Uuid,
    transition: &Transition,
    at: DateTime<Utc>,
) -> sqlx::Result<Option<Transitioned>> {
    let target = transition.target();
    let from: Vec<&str> = transition.allowed_from().iter().map(|s| s.as_str()).collect();
    sqlx::query_as!(
        Transitioned,
        r#"WITH changed AS (
               UPDATE orders SET status = $2, version = version + 1, updated_at = $4
               WHERE id = $1 AND status = ANY($3)
               RETURNING user_id, version
           ), history AS (
               INSERT INTO order_status_history (order_id, status, reason, occurred_at)
               SELECT $1, $2, $5, $4 FROM changed
           )
           SELECT user_id AS "user_id!", version AS "version!" FROM changed"#,
        id,
        target.as_str(),
        &from as _,
        at,
        transition.reason(),
    )
    .fetch_optional(&mut *tx)
    .await
}

/// Up to `limit` orders pending since before `placed_before`, oldest first, locked. Orders
/// another transaction holds are skipped, so several sweepers never wait for each other.
pub async fn lock_overdue(tx: &mut PgConnection, placed_before: DateTime<Utc>, limit: i64) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar!(
        "SELECT id FROM orders WHERE status = 'pending' AND created_at < $1
         ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED",
        placed_before,
        limit,
    )
    .fetch_all(tx)
    .await
}

/// The order's `(product id, product name)` pairs, in line order.
pub async fn product_names(db: impl PgExecutor<'_>, order_id: Uuid) -> sqlx::Result<Vec<(Uuid, String)>> {
    let rows = sqlx::query!(
        "SELECT product_id, product_name FROM order_items WHERE order_id = $1 ORDER BY line_no",
        order_id
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|row| (row.product_id, row.product_name)).collect())
}
