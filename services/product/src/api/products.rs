//! `/api/products`: the public catalog, and the administrators' writes to it.

use axum::{extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shop_contracts::{Currency, Money, catalog::ProductSnapshot, events::Cause};
use shop_messaging::wakeup;
use shop_platform::{
    Admin, ApiError, ApiResult, Json, Path, Query, ResultExt, openapi as responses,
    pagination::{self, decode_cursor, encode_cursor},
    replica::ReadDb,
};
use sqlx::{PgConnection, PgPool};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    api::AppState,
    cache::CatalogCache,
    domain::{
        category::CategorySlug,
        product::{AdjustmentReason, Description, ImageUrl, Price, ProductName, Sku, Sort, StockDelta, StockLevel},
    },
    events,
    store::{
        categories,
        products::{self, InventoryRow, Listing, NewProduct, Position, ProductChanges, ProductRow, StockChange},
    },
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_products, create_product))
        .routes(routes!(get_product, update_product))
        .routes(routes!(deactivate_product))
        .routes(routes!(set_price))
        .routes(routes!(get_inventory))
        .routes(routes!(adjust_stock))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CategoryRef {
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProductView {
    pub id: Uuid,
    pub sku: String,
    pub name: String,
    pub description: String,
    pub category: CategoryRef,
    pub price: Money,
    pub image_url: Option<String>,
    /// Inactive products are no longer sold and are hidden from listings.
    pub active: bool,
    /// Units that can be ordered now (on hand minus reserved).
    pub available: i32,
    /// Incremented on every change to the product.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn price_of(row: &ProductRow) -> anyhow::Result<Money> {
    let currency = Currency::parse(&row.currency)?;
    Ok(Money::new(row.price_minor, currency)?)
}

impl TryFrom<ProductRow> for ProductView {
    type Error = anyhow::Error;
    fn try_from(row: ProductRow) -> anyhow::Result<Self> {
        Ok(Self {
            price: price_of(&row)?,
            available: row.on_hand - row.reserved,
            id: row.id,
            sku: row.sku,
            name: row.name,
            description: row.description,
            category: CategoryRef {
                slug: row.category_slug,
                name: row.category_name,
            },
            image_url: row.image_url,
            active: row.active,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

impl TryFrom<ProductRow> for ProductSnapshot {
    type Error = anyhow::Error;
    fn try_from(row: ProductRow) -> anyhow::Result<Self> {
        Ok(Self {
            price: price_of(&row)?,
            id: row.id,
            sku: row.sku,
            name: row.name,
            description: row.description,
            created_at: Some(row.created_at),
            category: row.category_slug,
            active: row.active,
            version: row.version,
            updated_at: row.updated_at,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InventoryView {
    pub product_id: Uuid,
    /// In the warehouse, reserved units included.
    pub on_hand: i32,
    /// Held by checkouts in progress.
    pub reserved: i32,
    pub available: i32,
    /// Shipped out by confirmed orders (no longer on hand).
    pub sold: i32,
}

impl From<InventoryRow> for InventoryView {
    fn from(row: InventoryRow) -> Self {
        Self {
            product_id: row.product_id,
            on_hand: row.on_hand,
            reserved: row.reserved,
            available: row.on_hand - row.reserved,
            sold: row.sold,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProductPage {
    pub items: Vec<ProductView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Only products in this category (slug).
    #[param(inline)]
    category: Option<CategorySlug>,
    /// Order of the listing (default `newest`).
    #[param(inline)]
    sort: Option<Sort>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// `next_cursor` from the previous page; it carries the sort order and category filter.
    cursor: Option<String>,
}

/// A listing's filter and where its previous page ended: a cursor alone continues the listing.
#[derive(Serialize, Deserialize)]
struct ListCursor {
    category: Option<String>,
    after: Position,
}

/// Active products, one page at a time.
#[utoipa::path(get, path = "/api/products", tag = "products", params(ListParams),
    responses((status = 200, body = ProductPage), (status = 422, response = responses::Invalid)))]
async fn list_products(
    ReadDb(db): ReadDb,
    State(catalog): State<CatalogCache>,
    Query(params): Query<ListParams>,
) -> ApiResult<Json<ProductPage>> {
    let limit = pagination::limit(params.limit)?;
    let (category, after) = match params.cursor.as_deref().map(decode_cursor::<ListCursor>).transpose()? {
        Some(cursor) => {
            if params.sort.is_some_and(|sort| sort != cursor.after.sort()) {
                return Err(ApiError::invalid(
                    "cursor",
                    "belongs to a listing in another sort order",
                ));
            }
            if params
                .category
                .is_some_and(|slug| Some(slug.as_str()) != cursor.category.as_deref())
            {
                return Err(ApiError::invalid("cursor", "belongs to a listing of another category"));
            }
            (cursor.category, Some(cursor.after))
        }
        None => (params.category.map(String::from), None),
    };
    let sort = after.as_ref().map_or(params.sort.unwrap_or_default(), Position::sort);
    let key = format!(
        "products|{}|{sort:?}|{}|{limit}",
        category.as_deref().unwrap_or_default(),
        params.cursor.as_deref().unwrap_or_default()
    );
    let page = catalog
        .listing(&key, async || {
            // One extra row tells whether there is a next page.
            let mut rows = products::list(
                &db,
                Listing {
                    category: category.as_deref(),
                    sort,
                    after,
                    limit: limit + 1,
                },
            )
            .await?;
            let next_cursor = if rows.len() > limit as usize {
                rows.truncate(limit as usize);
                rows.last().map(|row| {
                    encode_cursor(&ListCursor {
                        category,
                        after: Position::after(row, sort),
                    })
                })
            } else {
                None
            };
            let items = rows.into_iter().map(ProductView::try_from).collect::<Result<_, _>>()?;
            Ok::<_, ApiError>(Some(ProductPage { items, next_cursor }))
        })
        .await?
        .ok_or_else(|| anyhow::anyhow!("a listing is never absent"))?;
    Ok(Json(page))
}

/// One product by id, active or not.
#[utoipa::path(get, path = "/api/products/{id}", tag = "products",
    params(("id" = Uuid, Path, description = "Product id")),
    responses((status = 200, body = ProductView), (status = 404, response = responses::NotFound)))]
async fn get_product(
    ReadDb(db): ReadDb,
    State(catalog): State<CatalogCache>,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<ProductView>> {
    let product = catalog
        .product(id, async || {
            let row = products::find(&db, id).await?;
            Ok::<_, ApiError>(row.map(ProductView::try_from).transpose()?)
        })
        .await?;
    Ok(Json(product.ok_or(ApiError::NotFound("product"))?))
}

async fn category_id(db: &PgPool, slug: &CategorySlug) -> ApiResult<Uuid> {
    categories::id_of(db, slug)
        .await?
        .ok_or_else(|| ApiError::invalid("category", format!("no category with slug `{}`", slug.as_str())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProductRequest {
    pub sku: Sku,
    pub name: ProductName,
    pub description: Option<Description>,
    /// Category slug.
    pub category: CategorySlug,
    pub price: Price,
    pub image_url: Option<ImageUrl>,
    /// Stock on hand to start with (default 0).
    pub initial_stock: Option<StockLevel>,
}

/// Add a product to the catalog (administrators).
#[utoipa::path(post, path = "/api/products", tag = "products", request_body = NewProductRequest,
    security(("identity" = [])),
    responses(
        (status = 201, body = ProductView),
        (status = 400, response = responses::BadRequest),
        (status = 401, response = responses::Unauthorized),
        (status = 403, response = responses::Forbidden),
        (status = 409, response = responses::Conflict),
        (status = 422, response = responses::Invalid),
    ))]
async fn create_product(
    State(db): State<PgPool>,
    _: Admin,
    Json(new): Json<NewProductRequest>,
) -> ApiResult<(StatusCode, Json<ProductView>)> {
    let category_id = category_id(&db, &new.category).await?;
    let mut tx = db.begin().await?;
    let id = products::insert(
        &mut tx,
        NewProduct {
            sku: &new.sku,
            name: &new.name,
            description: new.description.as_ref(),
            category_id,
            price: new.price.money(),
            image_url: new.image_url.as_ref(),
            initial_stock: new.initial_stock.unwrap_or_default(),
        },
    )
    .await
    .on_constraint("products_sku_key", || {
        ApiError::Conflict(format!("a product with SKU {} already exists", new.sku.as_str()))
    })?;
    let row = products::find(&mut *tx, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("product vanished"))?;
    events::products_created(&mut tx, std::slice::from_ref(&row)).await?;
    wakeup::commit(tx).await?;
    Ok((StatusCode::CREATED, Json(row.try_into()?)))
}

/// Applies `changes` and, if they changed anything, has `announce` publish the product as it
/// is now, in the same transaction.
async fn change_product(
    db: &PgPool,
    id: Uuid,
    changes: ProductChanges<'_>,
    announce: impl AsyncFnOnce(&mut PgConnection, &ProductRow, Cause) -> anyhow::Result<()>,
) -> ApiResult<Json<ProductView>> {
    let mut tx = db.begin().await?;
    let changed = products::update(&mut *tx, id, changes).await?;
    let row = products::find(&mut *tx, id)
        .await?
        .ok_or(ApiError::NotFound("product"))?;
    if changed {
        announce(&mut tx, &row, Cause::new_flow()).await?;
    }
    wakeup::commit(tx).await?;
    Ok(Json(row.try_into()?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    pub name: Option<ProductName>,
    pub description: Option<Description>,
    /// Category slug.
    pub category: Option<CategorySlug>,
    pub image_url: Option<ImageUrl>,
}

/// Change a product's name, description, category or image (administrators).
#[utoipa::path(patch, path = "/api/products/{id}", tag = "products", request_body = ProductPatch,
    params(("id" = Uuid, Path, description = "Product id")),
    security(("identity" = [])),
    responses(
        (status = 200, body = ProductView),
        (status = 400, response = responses::BadRequest),
        (status = 401, response = responses::Unauthorized),
        (status = 403, response = responses::Forbidden),
        (status = 404, response = responses::NotFound),
        (status = 422, response = responses::Invalid),
    ))]
async fn update_product(
    State(db): State<PgPool>,
    _: Admin,
    Path(id): Path<Uuid>,
    Json(patch): Json<ProductPatch>,
) -> ApiResult<Json<ProductView>> {
    if patch.name.is_none() && patch.description.is_none() && patch.category.is_none() && patch.image_url.is_none() {
        return Err(ApiError::invalid(
            "body",
            "name at least one of name, description, category, image_url",
        ));
    }
    let category_id = match &patch.category {
        Some(slug) => Some(category_id(&db, slug).await?),
        None => None,
    };
    let changes = ProductChanges {
        name: patch.name.as_ref(),
        description: patch.description.as_ref(),
        category_id,
        image_url: patch.image_url.as_ref(),
        ..Default::default()
    };
    change_product(&db, id, changes, events::product_updated).await
}

/// Stop selling a product: it disappears from listings; existing orders keep it (administrators).
#[utoipa::path(post, path = "/api/products/{id}/deactivate", tag = "products",
    params(("id" = Uuid, Path, description = "Product id")),
    security(("identity" = [])),
    responses(
        (status = 200, body = ProductView),
        (status = 401, response = responses::Unauthorized),
        (status = 403, response = responses::Forbidden),
        (status = 404, response = responses::NotFound),
    ))]
async fn deactivate_product(State(db): State<PgPool>, _: Admin, Path(id): Path<Uuid>) -> ApiResult<Json<ProductView>> {
    let changes = ProductChanges {
        active: Some(false),
        ..Default::default()
    };
    change_product(&db, id, changes, events::product_deactivated).await
}

/// Set a product's price (administrators).
#[utoipa::path(put, path = "/api/products/{id}/price", tag = "products", request_body = Price,
    params(("id" = Uuid, Path, description = "Product id")),
    security(("identity" = [])),
    responses(
        (status = 200, body = ProductView),
        (status = 400, response = responses::BadRequest),
        (status = 401, response = responses::Unauthorized),
        (status = 403, response = responses::Forbidden),
        (status = 404, response = responses::NotFound),
        (status = 422, response = responses::Invalid),
    ))]
async fn set_price(
    State(db): State<PgPool>,
    _: Admin,
    Path(id): Path<Uuid>,
    Json(price): Json<Price>,
) -> ApiResult<Json<ProductView>> {
    let changes = ProductChanges {
        price: Some(price.money()),
        ..Default::default()
    };
    change_product(&db, id, changes, events::product_updated).await
}

/// Stock on hand, reserved, available and sold (administrators).
#[utoipa::path(get, path = "/api/products/{id}/inventory", tag = "products",
    params(("id" = Uuid, Path, description = "Product id")),
    security(("identity" = [])),
    responses(
        (status = 200, body = InventoryView),
        (status = 401, response = responses::Unauthorized),
        (status = 403, response = responses::Forbidden),
        (status = 404, response = responses::NotFound),
    ))]
async fn get_inventory(State(db): State<PgPool>, _: Admin, Path(id): Path<Uuid>) -> ApiResult<Json<InventoryView>> {
    let row = products::inventory(&db, id)
        .await?
        .ok_or(ApiError::NotFound("product"))?;
    Ok(Json(row.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockAdjustment {
    /// Units to add (positive) or remove (negative).
    pub delta: StockDelta,
    pub reason: AdjustmentReason,
}

/// Add or remove stock on hand, with a reason kept for audit (administrators).
#[utoipa::path(post, path = "/api/products/{id}/stock-adjustments", tag = "products", request_body = StockAdjustment,
    params(("id" = Uuid, Path, description = "Product id")),
    security(("identity" = [])),
    responses(
        (status = 200, body = InventoryView),
        (status = 400, response = responses::BadRequest),
        (status = 401, response = responses::Unauthorized),
        (status = 403, response = responses::Forbidden),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
        (status = 422, response = responses::Invalid),
    ))]
async fn adjust_stock(
    State(db): State<PgPool>,
    Admin(admin): Admin,
    Path(id): Path<Uuid>,
    Json(adjustment): Json<StockAdjustment>,
) -> ApiResult<Json<InventoryView>> {
    let mut tx = db.begin().await?;
    let change = products::adjust_stock(
        &mut tx,
        id,
        adjustment.delta.units(),
        adjustment.reason.as_str(),
        admin.user_id,
    )
    .await?;
    match change {
        StockChange::Applied(row) => {
            events::inventory_adjusted(&mut tx, &row, Cause::new_flow()).await?;
            wakeup::commit(tx).await?;
            Ok(Json(row.into()))
        }
        StockChange::BelowReserved(row) => Err(ApiError::Conflict(format!(
            "stock on hand is {} with {} reserved; it cannot change by {}",
            row.on_hand,
            row.reserved,
            adjustment.delta.units()
        ))),
        StockChange::NoSuchProduct => Err(ApiError::NotFound("product")),
    }
}
