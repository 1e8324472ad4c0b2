//! `/api/orders`: the caller's orders, newest first. Orders are placed by checkout; this
//! module only reads them.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shop_contracts::Money;
use shop_platform::{ApiError, ApiResult, Caller, Json, Path, Query, pagination};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    domain::{
        order::{OrderLine, OrderStatus, ShippingAddress, StatusChange},
        quantity::Quantity,
    },
    store::{self, orders::OrderDetails},
};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListOrdersQuery {
    /// Page size, 1 to 100; 20 if absent.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page; absent for the first page.
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderPage {
    items: Vec<OrderSummaryView>,
    /// Pass as `cursor` to get the next page; null on the last page.
    next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderSummaryView {
    id: Uuid,
    status: OrderStatus,
    total: Money,
    /// Units over all lines.
    item_count: i64,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    id: Uuid,
    user_id: Uuid,
    status: OrderStatus,
    total: Money,
    shipping_address: ShippingAddress,
    items: Vec<OrderItemView>,
    /// Every status the order has been in, oldest first.
    history: Vec<StatusChangeView>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderItemView {
    product_id: Uuid,
    sku: String,
    /// The product's name when the order was placed.
    name: String,
    /// The price the product was bought for.
    unit_price: Money,
    quantity: Quantity,
    line_total: Money,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusChangeView {
    status: OrderStatus,
    /// Why the order moved to this status, when there is more to say than the status.
    reason: Option<String>,
    occurred_at: DateTime<Utc>,
}

impl From<OrderLine> for OrderItemView {
    fn from(line: OrderLine) -> Self {
        Self {
            product_id: line.product_id,
            sku: line.sku,
            name: line.product_name,
            unit_price: line.unit_price,
            quantity: line.quantity,
            line_total: line.line_total,
        }
    }
}

impl From<StatusChange> for StatusChangeView {
    fn from(change: StatusChange) -> Self {
        Self {
            status: change.status,
            reason: change.reason,
            occurred_at: change.occurred_at,
        }
    }
}

impl From<OrderDetails> for OrderView {
    fn from(order: OrderDetails) -> Self {
        Self {
            id: order.id,
            user_id: order.user_id,
            status: order.status,
            total: order.total,
            shipping_address: order.shipping_address,
            items: order.lines.into_iter().map(Into::into).collect(),
            history: order.history.into_iter().map(Into::into).collect(),
            created_at: order.created_at,
            updated_at: order.updated_at,
        }
    }
}

/// The caller's orders, newest first.
///
/// A limit out of range or a cursor this endpoint did not issue is a 422.
#[utoipa::path(get, path = "/api/orders", tag = "orders", security(("identity" = [])),
    params(ListOrdersQuery),
    responses(
        (status = 200, description = "A page of the caller's orders", body = OrderPage),
        (status = 401, response = shop_platform::openapi::Unauthorized),
        (status = 422, response = shop_platform::openapi::Invalid),
    ))]
pub(super) async fn list_orders(
    State(db): State<PgPool>,
    Caller(identity): Caller,
    Query(query): Query<ListOrdersQuery>,
) -> ApiResult<Json<OrderPage>> {
    let limit = pagination::limit(query.limit)?;
    let after = query
        .cursor
        .as_deref()
        .map(pagination::decode_cursor::<store::orders::Position>)
        .transpose()?;
    // One more than asked for tells whether another page follows.
    let mut orders = store::orders::list_for_user(&db, identity.user_id, after, i64::from(limit) + 1).await?;
    let next_cursor = if orders.len() > limit as usize {
        orders.truncate(limit as usize);
        orders
            .last()
            .map(|last| pagination::encode_cursor(&(last.created_at, last.id)))
    } else {
        None
    };
    let items = orders
        .into_iter()
        .map(|order| OrderSummaryView {
            id: order.id,
            status: order.status,
            total: order.total,
            item_count: order.item_count,
            created_at: order.created_at,
        })
        .collect();
    Ok(Json(OrderPage { items, next_cursor }))
}

/// One order with its items and status history. Customers see only their own orders;
/// administrators may read any.
#[utoipa::path(get, path = "/api/orders/{id}", tag = "orders", security(("identity" = [])),
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 200, description = "The order", body = OrderView),
        (status = 401, response = shop_platform::openapi::Unauthorized),
        (status = 404, response = shop_platform::openapi::NotFound),
    ))]
pub(super) async fn get_order(
    State(db): State<PgPool>,
    Caller(identity): Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<OrderView>> {
    match store::orders::find(&db, id).await? {
        Some(order) if order.user_id == identity.user_id || identity.is_admin() => Ok(Json(order.into())),
        _ => Err(ApiError::NotFound("order")),
    }
}
