//! `/api/cart`: the caller's one persistent cart. Lines store products and quantities only;
//! every response prices them from the product replica as it is now.

use axum::{extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use shop_contracts::Money;
use shop_platform::{ApiError, ApiResult, Caller, Json, Path};
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    domain::{
        cart::{self, Addition, CartError, PricedCart},
        quantity::Quantity,
    },
    shards::Shards,
    store,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct CartView {
    /// In the order they were added.
    items: Vec<CartItemView>,
    /// What the available items cost together; null when none is available.
    total: Option<Money>,
    /// Units in the cart, over all items.
    item_count: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CartItemView {
    product_id: Uuid,
    sku: String,
    name: String,
    /// Today's price.
    unit_price: Money,
    quantity: Quantity,
    line_total: Money,
    /// False once the product is no longer for sale; such items cannot be ordered.
    available: bool,
}

impl From<PricedCart> for CartView {
    fn from(cart: PricedCart) -> Self {
        let items = cart
            .lines
            .into_iter()
            .map(|priced| CartItemView {
                product_id: priced.line.product.id,
                sku: priced.line.product.sku,
                name: priced.line.product.name,
                unit_price: priced.line.product.price,
                quantity: priced.line.quantity,
                line_total: priced.line_total,
                available: priced.line.product.active,
            })
            .collect();
        Self {
            items,
            total: cart.total,
            item_count: cart.item_count,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddItemRequest {
    product_id: Uuid,
    quantity: Quantity,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetQuantityRequest {
    quantity: Quantity,
}

impl From<CartError> for ApiError {
    fn from(error: CartError) -> Self {
        match error {
            CartError::Unavailable | CartError::CurrencyMismatch { .. } => ApiError::invalid("product_id", error),
            CartError::QuantityTooLarge { .. } => ApiError::invalid("quantity", error),
            CartError::TooManyLines => ApiError::Conflict(error.to_string()),
        }
    }
}

/// The cart as changed within the transaction on `db`, priced. A total too large to charge
/// is refused before the caller commits, so the change that caused it is rolled back.
async fn priced(db: &mut PgConnection, user_id: Uuid) -> ApiResult<CartView> {
    let lines = store::cart::lines(db, user_id).await?;
    let cart = cart::price(lines).map_err(|e| ApiError::invalid("quantity", e))?;
    Ok(cart.into())
}

/// The caller's cart at today's prices.
#[utoipa::path(get, path = "/api/cart", tag = "cart", security(("identity" = [])),
    responses(
        (status = 200, description = "The cart (empty if nothing was ever added)", body = CartView),
        (status = 401, response = shop_platform::openapi::Unauthorized),
    ))]
pub(super) async fn get_cart(State(shards): State<Shards>, Caller(identity): Caller) -> ApiResult<Json<CartView>> {
    let lines = store::cart::lines(&shards.for_user(identity.user_id).db, identity.user_id).await?;
    let cart = cart::price(lines).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(Json(cart.into()))
}

/// Add a product to the cart, or more of it if the cart already holds it.
///
/// A cart holds at most 50 different products (409 beyond), at most 99 of each, all priced in
/// one currency; an unknown or unavailable product, another currency than the cart's, or too
/// many of one product is a 422.
#[utoipa::path(post, path = "/api/cart/items", tag = "cart", security(("identity" = [])),
    request_body = AddItemRequest,
    responses(
        (status = 200, description = "The updated cart", body = CartView),
        (status = 400, response = shop_platform::openapi::BadRequest),
        (status = 401, response = shop_platform::openapi::Unauthorized),
        (status = 409, response = shop_platform::openapi::Conflict),
        (status = 422, response = shop_platform::openapi::Invalid),
    ))]
pub(super) async fn add_item(
    State(shards): State<Shards>,
    Caller(identity): Caller,
    Json(request): Json<AddItemRequest>,
) -> ApiResult<Json<CartView>> {
    let user_id = identity.user_id;
    let mut tx = shards.for_user(user_id).db.begin().await?;
    store::cart::lock(&mut tx, user_id).await?;
    let product = store::catalog::find_product(&mut *tx, request.product_id)
        .await?
        .ok_or_else(|| ApiError::invalid("product_id", "no such product"))?;
    let lines = store::cart::lines(&mut *tx, user_id).await?;
    match cart::add(&lines, &product, request.quantity)? {
        Addition::NewLine(quantity) => store::cart::insert_line(&mut tx, user_id, product.id, quantity).await?,
        Addition::Increment(quantity) => {
            store::cart::set_quantity(&mut tx, user_id, product.id, quantity).await?;
        }
    }
    let cart = priced(&mut tx, user_id).await?;
    tx.commit().await?;
    Ok(Json(cart))
}

/// Set how many of a product the cart holds.
#[utoipa::path(patch, path = "/api/cart/items/{product_id}", tag = "cart", security(("identity" = [])),
    params(("product_id" = Uuid, Path, description = "A product in the cart")),
    request_body = SetQuantityRequest,
    responses(
        (status = 200, description = "The updated cart", body = CartView),
        (status = 400, response = shop_platform::openapi::BadRequest),
        (status = 401, response = shop_platform::openapi::Unauthorized),
        (status = 404, response = shop_platform::openapi::NotFound),
        (status = 422, response = shop_platform::openapi::Invalid),
    ))]
pub(super) async fn set_quantity(
    State(shards): State<Shards>,
    Caller(identity): Caller,
    Path(product_id): Path<Uuid>,
    Json(request): Json<SetQuantityRequest>,
) -> ApiResult<Json<CartView>> {
    let user_id = identity.user_id;
    let mut tx = shards.for_user(user_id).db.begin().await?;
    store::cart::lock(&mut tx, user_id).await?;
    if !store::cart::set_quantity(&mut tx, user_id, product_id, request.quantity).await? {
        return Err(ApiError::NotFound("cart item"));
    }
    let cart = priced(&mut tx, user_id).await?;
    tx.commit().await?;
    Ok(Json(cart))
}

/// Remove a product from the cart.
#[utoipa::path(delete, path = "/api/cart/items/{product_id}", tag = "cart", security(("identity" = [])),
    params(("product_id" = Uuid, Path, description = "A product in the cart")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, response = shop_platform::openapi::Unauthorized),
        (status = 404, response = shop_platform::openapi::NotFound),
    ))]
pub(super) async fn remove_item(
    State(shards): State<Shards>,
    Caller(identity): Caller,
    Path(product_id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    let mut tx = shards.for_user(identity.user_id).db.begin().await?;
    store::cart::lock(&mut tx, identity.user_id).await?;
    if !store::cart::remove_line(&mut tx, identity.user_id, product_id).await? {
        return Err(ApiError::NotFound("cart item"));
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Empty the cart.
#[utoipa::path(delete, path = "/api/cart", tag = "cart", security(("identity" = [])),
    responses(
        (status = 204, description = "The cart is empty"),
        (status = 401, response = shop_platform::openapi::Unauthorized),
    ))]
pub(super) async fn clear_cart(State(shards): State<Shards>, Caller(identity): Caller) -> ApiResult<StatusCode> {
    let mut tx = shards.for_user(identity.user_id).db.begin().await?;
    store::cart::lock(&mut tx, identity.user_id).await?;
    store::cart::clear(&mut tx, identity.user_id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
