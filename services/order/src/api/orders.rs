//! `/api/orders`: checkout (placing an order from the cart), the caller's orders, and
//! cancelling one. Stock and payment settle a placed order later, through the checkout saga
//! ([`crate::events::saga`]); checkout's `Idempotency-Key` is claimed in [`crate::idempotency`].

use axum::{
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shop_contracts::{Address, Money, events::Cause};
use shop_messaging::wakeup;
use shop_platform::{Admin, ApiError, ApiResult, Caller, Json, Path, Query, pagination};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    commands,
    domain::{
        order::{
            CancelReason, IdempotencyKey, NewOrder, OrderError, OrderLine, OrderStatus, Placement, StatusChange,
            Transition,
        },
        payment::PaymentToken,
        quantity::Quantity,
    },
    events,
    idempotency::{self, Claim, ClaimError},
    shards::Shards,
    store::{
        self,
        orders::{OrderDetails, OrderSummary},
    },
};

/// The header that makes checkout safe to retry.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";
/// Set (to `true`) on a checkout answered with the order an earlier request placed.
pub const IDEMPOTENT_REPLAYED_HEADER: &str = "Idempotent-Replayed";

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
    user_id: Uuid,
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
    shipping_address: Address,
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
    State(shards): State<Shards>,
    Caller(identity): Caller,
    Query(query): Query<ListOrdersQuery>,
) -> ApiResult<Json<OrderPage>> {
    let (limit, after) = query.page()?;
    let db = shards
        .for_user(identity.user_id)
        .read
        .for_caller(Some(identity.user_id))
        .await;
    // One more than asked for tells whether another page follows.
    let orders = store::orders::list_for_user(db, identity.user_id, after, i64::from(limit) + 1).await?;
    Ok(Json(OrderPage::of(orders, limit)))
}

/// Every customer's orders, newest first (administrators).
///
/// Gathered from every shard: each gives its newest orders after the cursor, and the page is
/// the newest of them all, so every order appears exactly once however they are spread. A shard
/// that cannot be reached makes the listing a 503 (a page without it would silently skip its
/// orders). A limit out of range or a cursor this endpoint did not issue is a 422.
#[utoipa::path(get, path = "/api/admin/orders", tag = "admin", security(("identity" = [])),
    params(ListOrdersQuery),
    responses(
        (status = 200, description = "A page of all orders", body = OrderPage),
        (status = 401, response = shop_platform::openapi::Unauthorized),
        (status = 403, response = shop_platform::openapi::Forbidden),
        (status = 422, response = shop_platform::openapi::Invalid),
    ))]
pub(super) async fn list_all_orders(
    State(shards): State<Shards>,
    _admin: Admin,
    Query(query): Query<ListOrdersQuery>,
) -> ApiResult<Json<OrderPage>> {
    let (limit, after) = query.page()?;
    let per_shard = shards
        .iter()
        .map(|shard| store::orders::list_all(&shard.db, after, i64::from(limit) + 1));
    let mut orders: Vec<OrderSummary> = futures_util::future::try_join_all(per_shard)
        .await?
        .into_iter()
        .flatten()
        .collect();
    orders.sort_unstable_by_key(|order| std::cmp::Reverse((order.created_at, order.id)));
    Ok(Json(OrderPage::of(orders, limit)))
}

impl ListOrdersQuery {
    /// The page size and where the page starts.
    fn page(&self) -> ApiResult<(u32, Option<store::orders::Position>)> {
        let limit = pagination::limit(self.limit)?;
        let after = self
            .cursor
            .as_deref()
            .map(pagination::decode_cursor::<store::orders::Position>)
            .transpose()?;
        Ok((limit, after))
    }
}

impl OrderPage {
    /// The first `limit` of `orders` (newest first), and a cursor if more were given.
    fn of(mut orders: Vec<OrderSummary>, limit: u32) -> Self {
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
                user_id: order.user_id,
                status: order.status,
                total: order.total,
                item_count: order.item_count,
                created_at: order.created_at,
            })
            .collect();
        Self { items, next_cursor }
    }
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
    State(shards): State<Shards>,
    Caller(identity): Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<OrderView>> {
    let db = shards.for_order(id).read.for_caller(Some(identity.user_id)).await;
    match store::orders::find(db, id).await? {
        Some(order) if order.user_id == identity.user_id || identity.is_admin() => Ok(Json(order.into())),
        _ => Err(ApiError::NotFound("order")),
    }
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    shipping_address: Address,
    /// From the customer's payment provider; charged once the stock is reserved. (In this
    /// reference shop the payment is simulated: `tok_decline` is declined, any other token
    /// approved.)
    #[schema(example = "tok_visa")]
    payment_token: PaymentToken,
}

fn idempotency_key(headers: &HeaderMap) -> ApiResult<IdempotencyKey> {
    let mut values = headers.get_all(IDEMPOTENCY_KEY_HEADER).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(ApiError::invalid(
            IDEMPOTENCY_KEY_HEADER,
            "exactly one Idempotency-Key header is required",
        ));
    };
    std::str::from_utf8(value.as_bytes())
        .ok()
        .and_then(|key| IdempotencyKey::parse(key).ok())
        .ok_or_else(|| {
            ApiError::invalid(
                IDEMPOTENCY_KEY_HEADER,
                format!(
                    "must be 1 to {} visible ASCII characters, without spaces",
                    IdempotencyKey::MAX
                ),
            )
        })
}

fn order_error(error: OrderError, lines: &[crate::domain::cart::CartLine]) -> ApiError {
    match error {
        OrderError::Empty => ApiError::invalid("cart", "the cart is empty; add products before checking out"),
        OrderError::Unavailable(id) => {
            let name = lines
                .iter()
                .find(|line| line.product.id == id)
                .map_or_else(String::new, |line| format!("{:?} ", line.product.name));
            ApiError::invalid(
                "cart",
                format!("product {name}({id}) is no longer for sale; remove it from the cart"),
            )
        }
        OrderError::MixedCurrencies | OrderError::Overflow => ApiError::invalid("cart", error),
    }
}

/// Place an order for everything in the cart (checkout).
///
/// The order is priced from the replica as it is now, starts out `pending` and empties the
/// cart; stock and payment then settle it (`confirmed`, `cancelled` or `rejected`, see its
/// history). An empty cart, or one holding a product no longer for sale, is a 422.
///
/// The `Idempotency-Key` header (1 to 255 visible ASCII characters, chosen by the client, new
/// for every order) makes retries safe: the same key with the same body answers 200 with the
/// order the first request placed and `Idempotent-Replayed: true`, placing nothing; the same
/// key with another body is a 422.
#[utoipa::path(post, path = "/api/orders", tag = "orders", security(("identity" = [])),
    params(("Idempotency-Key" = String, Header, pattern = "^[!-~]{1,255}$", description = "1 to 255 visible ASCII characters, new for every order")),
    request_body = CheckoutRequest,
    responses(
        (status = 201, description = "Order placed, pending", body = OrderView,
            headers(("Location" = String, description = "The order's URL"))),
        (status = 200, description = "This key already placed this order: the same order again", body = OrderView,
            headers(("Idempotent-Replayed" = String, description = "`true`"))),
        (status = 400, response = shop_platform::openapi::BadRequest),
        (status = 401, response = shop_platform::openapi::Unauthorized),
        (status = 422, response = shop_platform::openapi::Invalid),
    ))]
pub(super) async fn checkout(
    State(shards): State<Shards>,
    Caller(identity): Caller,
    headers: HeaderMap,
    Json(request): Json<CheckoutRequest>,
) -> ApiResult<Response> {
    let user_id = identity.user_id;
    let key = idempotency_key(&headers)?;
    let fingerprint = idempotency::fingerprint(&request);
    let shard = shards.for_user(user_id);
    let mut tx = shard.db.begin().await?;
    if let Claim::Placed(order_id) = idempotency::claim(&mut tx, user_id, &key, &fingerprint).await? {
        drop(tx); // a replay writes nothing
        let order = placed_order(&shard.db, order_id).await?;
        let replayed = [(IDEMPOTENT_REPLAYED_HEADER, HeaderValue::from_static("true"))];
        return Ok((StatusCode::OK, replayed, Json(order)).into_response());
    }
    let lines = store::cart::lines(&mut *tx, user_id).await?;
    let placement = Placement {
        order_id: shard.id.new_order_id(),
        user_id,
        shipping_address: request.shipping_address,
        idempotency_key: key,
        request_fingerprint: fingerprint,
        payment_token: request.payment_token,
    };
    let order = NewOrder::place(lines.clone(), placement).map_err(|e| order_error(e, &lines))?;
    store::orders::insert_order(&mut *tx, &order).await?;
    store::cart::clear(&mut tx, user_id).await?;
    events::order_placed(&mut tx, &order, Cause::new_flow()).await?;
    wakeup::commit(tx).await?;
    let location = HeaderValue::from_str(&format!("/api/orders/{}", order.id)).expect("a path is a header value");
    let placed = OrderView::from(store::orders::OrderDetails::placed(order));
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(placed)).into_response())
}

/// An order checkout placed or found under its key: orders are never deleted, so it is there.
async fn placed_order(db: &PgPool, id: Uuid) -> ApiResult<OrderView> {
    let order = store::orders::find(db, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("order {id} vanished"))?;
    Ok(order.into())
}

impl From<ClaimError> for ApiError {
    fn from(error: ClaimError) -> Self {
        match error {
            ClaimError::KeyReused => ApiError::invalid(IDEMPOTENCY_KEY_HEADER, error),
            ClaimError::Database(error) => error.into(),
        }
    }
}

/// Cancel one of the caller's orders.
///
/// A pending or confirmed order can be cancelled; its stock goes back. Cancelling an order
/// that is already cancelled or rejected is a 409.
#[utoipa::path(post, path = "/api/orders/{id}/cancel", tag = "orders", security(("identity" = [])),
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 200, description = "The cancelled order", body = OrderView),
        (status = 401, response = shop_platform::openapi::Unauthorized),
        (status = 404, response = shop_platform::openapi::NotFound),
        (status = 409, response = shop_platform::openapi::Conflict),
    ))]
pub(super) async fn cancel_order(
    State(shards): State<Shards>,
    Caller(identity): Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<OrderView>> {
    let transition = Transition::Cancel(CancelReason::Customer);
    let db = &shards.for_order(id).db;
    let mut tx = db.begin().await?;
    let order = store::orders::lock(&mut tx, id)
        .await?
        .filter(|order| order.user_id == identity.user_id)
        .ok_or(ApiError::NotFound("order"))?;
    if !transition.applies_to(order.status) {
        return Err(ApiError::Conflict(format!(
            "the order is {} and cannot be cancelled",
            order.status
        )));
    }
    commands::settle(&mut tx, id, &transition, Cause::new_flow()).await?;
    wakeup::commit(tx).await?;
    let cancelled = store::orders::find(db, id).await?.ok_or(ApiError::NotFound("order"))?;
    Ok(Json(cancelled.into()))
}
