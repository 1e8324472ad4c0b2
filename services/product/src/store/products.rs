//! Product and inventory rows, including the keyset-paginated listing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shop_contracts::Money;
use sqlx::{PgExecutor, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::domain::{
    product::{Description, ImageUrl, ProductName, Sku, Sort, StockLevel},
    reservation::Levels,
};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProductRow {
    pub id: Uuid,
    pub sku: String,
    pub name: String,
    pub description: String,
    pub category_slug: String,
    pub category_name: String,
    pub price_minor: i64,
    pub currency: String,
    pub image_url: Option<String>,
    pub active: bool,
    pub version: i64,
    pub on_hand: i32,
    pub reserved: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const SELECT: &str = "SELECT p.id, p.sku, p.name, p.description, c.slug AS category_slug,
        c.name AS category_name, p.price_minor, p.currency, p.image_url, p.active, p.version,
        i.on_hand, i.reserved, p.created_at, p.updated_at
    FROM products p
    JOIN categories c ON c.id = p.category_id
    JOIN inventory i ON i.product_id = p.id";

/// Where the previous page ended, for each sort order. Tagged with the order so a cursor
/// from one listing cannot be replayed against another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "sort", rename_all = "snake_case")]
pub enum Position {
    Newest { created_at: DateTime<Utc>, id: Uuid },
    PriceAsc { price_minor: i64, id: Uuid },
    PriceDesc { price_minor: i64, id: Uuid },
    Name { name: String, id: Uuid },
}

impl Position {
    pub fn after(row: &ProductRow, sort: Sort) -> Self {
        match sort {
            Sort::Newest => Self::Newest {
                created_at: row.created_at,
                id: row.id,
            },
            Sort::PriceAsc => Self::PriceAsc {
                price_minor: row.price_minor,
                id: row.id,
            },
            Sort::PriceDesc => Self::PriceDesc {
                price_minor: row.price_minor,
                id: row.id,
            },
            Sort::Name => Self::Name {
                name: row.name.clone(),
                id: row.id,
            },
        }
    }

    pub fn sort(&self) -> Sort {
        match self {
            Self::Newest { .. } => Sort::Newest,
            Self::PriceAsc { .. } => Sort::PriceAsc,
            Self::PriceDesc { .. } => Sort::PriceDesc,
            Self::Name { .. } => Sort::Name,
        }
    }
}

pub struct Listing<'a> {
    pub category: Option<&'a str>,
    pub sort: Sort,
    pub after: Option<Position>,
    pub limit: u32,
}

/// Active products in the requested order, starting after `listing.after`.
pub async fn list(db: impl PgExecutor<'_>, listing: Listing<'_>) -> sqlx::Result<Vec<ProductRow>> {
    let mut query = QueryBuilder::<Postgres>::new(SELECT);
    query.push(" WHERE p.active");
    if let Some(slug) = listing.category {
        query.push(" AND c.slug = ").push_bind(slug.to_owned());
    }
    // Row comparisons match the ORDER BY below, so each page starts exactly after the last.
    match listing.after {
        None => {}
        Some(Position::Newest { created_at, id }) => {
            query
                .push(" AND (p.created_at, p.id) < (")
                .push_bind(created_at)
                .push(", ")
                .push_bind(id)
                .push(")");
        }
        Some(Position::PriceAsc { price_minor, id }) => {
            query
                .push(" AND (p.price_minor, p.id) > (")
                .push_bind(price_minor)
                .push(", ")
                .push_bind(id)
                .push(")");
        }
        Some(Position::PriceDesc { price_minor, id }) => {
            query
                .push(" AND (p.price_minor, p.id) < (")
                .push_bind(price_minor)
                .push(", ")
                .push_bind(id)
                .push(")");
        }
        Some(Position::Name { name, id }) => {
            query
                .push(" AND (p.name, p.id) > (")
                .push_bind(name)
                .push(", ")
                .push_bind(id)
                .push(")");
        }
    }
    query.push(match listing.sort {
        Sort::Newest => " ORDER BY p.created_at DESC, p.id DESC",
        Sort::PriceAsc => " ORDER BY p.price_minor ASC, p.id ASC",
        Sort::PriceDesc => " ORDER BY p.price_minor DESC, p.id DESC",
        Sort::Name => " ORDER BY p.name ASC, p.id ASC",
    });
    query.push(" LIMIT ").push_bind(i64::from(listing.limit));
    query.build_query_as().fetch_all(db).await
}

/// How many products are on sale.
pub async fn count_active(db: impl PgExecutor<'_>) -> sqlx::Result<u64> {
    let count = sqlx::query_scalar!(r#"SELECT count(*) AS "count!" FROM products WHERE active"#)
        .fetch_one(db)
        .await?;
    Ok(count as u64)
}

pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<ProductRow>> {
    sqlx::query_as!(
        ProductRow,
        "SELECT p.id, p.sku, p.name, p.description, c.slug AS category_slug,
        c.name AS category_name, p.price_minor, p.currency, p.image_url, p.active, p.version,
        i.on_hand, i.reserved, p.created_at, p.updated_at
    FROM products p
    JOIN categories c ON c.id = p.category_id
    JOIN inventory i ON i.product_id = p.id WHERE p.id = $1",
        id,
    )
    .fetch_optional(db)
    .await
}

/// The given products, in id order.
pub async fn find_all(db: impl PgExecutor<'_>, ids: &[Uuid]) -> sqlx::Result<Vec<ProductRow>> {
    sqlx::query_as!(
        ProductRow,
        "SELECT p.id, p.sku, p.name, p.description, c.slug AS category_slug,
        c.name AS category_name, p.price_minor, p.currency, p.image_url, p.active, p.version,
        i.on_hand, i.reserved, p.created_at, p.updated_at
    FROM products p
    JOIN categories c ON c.id = p.category_id
    JOIN inventory i ON i.product_id = p.id WHERE p.id = ANY($1) ORDER BY p.id",
        ids,
    )
    .fetch_all(db)
    .await
}

/// Every product, inactive ones included, in id order: the feed replicas are built from.
pub async fn feed(db: impl PgExecutor<'_>, after: Option<Uuid>, limit: u32) -> sqlx::Result<Vec<ProductRow>> {
    sqlx::query_as!(
        ProductRow,
        "SELECT p.id, p.sku, p.name, p.description, c.slug AS category_slug,
        c.name AS category_name, p.price_minor, p.currency, p.image_url, p.active, p.version,
        i.on_hand, i.reserved, p.created_at, p.updated_at
    FROM products p
    JOIN categories c ON c.id = p.category_id
    JOIN inventory i ON i.product_id = p.id WHERE ($1::uuid IS NULL OR p.id > $1) ORDER BY p.id LIMIT $2",
        after,
        i64::from(limit),
    )
    .fetch_all(db)
    .await
}

pub struct NewProduct<'a> {
    pub sku: &'a Sku,
    pub name: &'a ProductName,
    pub description: Option<&'a Description>,
    pub category_id: Uuid,
    pub price: Money,
    pub image_url: Option<&'a ImageUrl>,
    pub initial_stock: StockLevel,
}

/// Inserts the product and its inventory row; run it in a transaction. The SKU's unique
/// constraint is `products_sku_key`.
pub async fn insert(tx: &mut sqlx::PgConnection, product: NewProduct<'_>) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query!(
        "INSERT INTO products (id, sku, name, description, category_id, price_minor, currency, image_url)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        id,
        product.sku.as_str(),
        product.name.as_str(),
        product.description.map_or("", Description::as_str),
        product.category_id,
        product.price.amount_minor,
        product.price.currency.as_str(),
        product.image_url.map(ImageUrl::as_str),
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "INSERT INTO inventory (product_id, on_hand) VALUES ($1, $2)",
        id,
        product.initial_stock.units()
    )
    .execute(&mut *tx)
    .await?;
    Ok(id)
}

#[derive(Default)]
pub struct ProductChanges<'a> {
    pub name: Option<&'a ProductName>,
    pub description: Option<&'a Description>,
    pub category_id: Option<Uuid>,
    pub image_url: Option<&'a ImageUrl>,
    pub price: Option<Money>,
    pub active: Option<bool>,
}

/// Applies the given changes and bumps the version — unless nothing would actually change,
/// so repeating a request (deactivating twice, setting the same price) is not a new version.
/// Returns whether it changed anything.
pub async fn update(db: impl PgExecutor<'_>, id: Uuid, changes: ProductChanges<'_>) -> sqlx::Result<bool> {
    let updated = sqlx::query!(
        "UPDATE products SET
             name = COALESCE($2, name),
             description = COALESCE($3, description),
             category_id = COALESCE($4, category_id),
             image_url = COALESCE($5, image_url),
             price_minor = COALESCE($6, price_minor),
             currency = COALESCE($7, currency),
             active = COALESCE($8, active),
             version = version + 1,
             updated_at = now()
         WHERE id = $1
           AND (name, description, category_id, image_url, price_minor, currency, active)
               IS DISTINCT FROM
               (COALESCE($2, name), COALESCE($3, description), COALESCE($4, category_id),
                COALESCE($5, image_url), COALESCE($6, price_minor), COALESCE($7, currency),
                COALESCE($8, active))",
        id,
        changes.name.map(ProductName::as_str),
        changes.description.map(Description::as_str),
        changes.category_id,
        changes.image_url.map(ImageUrl::as_str),
        changes.price.map(|p| p.amount_minor),
        changes.price.map(|p| p.currency.to_string()),
        changes.active,
    )
    .execute(db)
    .await?;
    Ok(updated.rows_affected() == 1)
}

#[derive(Debug, Clone, Copy)]
pub struct InventoryRow {
    pub product_id: Uuid,
    pub on_hand: i32,
    pub reserved: i32,
    pub sold: i32,
    /// Bumped on every change to the levels.
    pub version: i64,
}

pub async fn inventory(db: impl PgExecutor<'_>, product_id: Uuid) -> sqlx::Result<Option<InventoryRow>> {
    sqlx::query_as!(
        InventoryRow,
        "SELECT product_id, on_hand, reserved, sold, version FROM inventory WHERE product_id = $1",
        product_id
    )
    .fetch_optional(db)
    .await
}

pub enum StockChange {
    Applied(InventoryRow),
    /// The change would take stock on hand below what is reserved (or below zero).
    BelowReserved(InventoryRow),
    NoSuchProduct,
}

/// Changes stock on hand by `delta` and records why, atomically; run it in a transaction.
pub async fn adjust_stock(
    tx: &mut sqlx::PgConnection,
    product_id: Uuid,
    delta: i32,
    reason: &str,
    adjusted_by: Uuid,
) -> sqlx::Result<StockChange> {
    let Some(current) = sqlx::query_as!(
        InventoryRow,
        "SELECT product_id, on_hand, reserved, sold, version FROM inventory WHERE product_id = $1 FOR UPDATE",
        product_id
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(StockChange::NoSuchProduct);
    };
    let Some(on_hand) = current.on_hand.checked_add(delta).filter(|n| *n >= current.reserved) else {
        return Ok(StockChange::BelowReserved(current));
    };
    let updated = sqlx::query_as!(
        InventoryRow,
        "UPDATE inventory SET on_hand = $2, version = version + 1, updated_at = now() WHERE product_id = $1
         RETURNING product_id, on_hand, reserved, sold, version",
        product_id,
        on_hand,
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        "INSERT INTO stock_adjustments (product_id, delta, reason, adjusted_by) VALUES ($1, $2, $3, $4)",
        product_id,
        delta,
        reason,
        adjusted_by,
    )
    .execute(&mut *tx)
    .await?;
    Ok(StockChange::Applied(updated))
}

/// A product's stock as locked for a reservation.
#[derive(Debug, Clone, Copy)]
pub struct LockedStock {
    pub product_id: Uuid,
    pub active: bool,
    pub on_hand: i32,
    pub reserved: i32,
}

/// Locks the inventory rows of `product_ids` in product-id order, the same order in every
/// transaction, so concurrent checkouts of overlapping products queue instead of deadlocking.
/// Products that do not exist are missing from the result.
pub async fn lock_stock(tx: &mut sqlx::PgConnection, product_ids: &[Uuid]) -> sqlx::Result<Vec<LockedStock>> {
    sqlx::query_as!(
        LockedStock,
        "SELECT i.product_id, p.active, i.on_hand, i.reserved
         FROM inventory i JOIN products p ON p.id = i.product_id
         WHERE i.product_id = ANY($1)
         ORDER BY i.product_id
         FOR UPDATE OF i",
        product_ids,
    )
    .fetch_all(tx)
    .await
}

/// Adds each change to its product's levels and bumps the inventory version; lock the rows
/// with [`lock_stock`] first. Returns the new levels in product-id order.
pub async fn move_stock(tx: &mut sqlx::PgConnection, changes: &[(Uuid, Levels)]) -> sqlx::Result<Vec<InventoryRow>> {
    let column = |f: fn(&Levels) -> i32| changes.iter().map(|(_, levels)| f(levels)).collect::<Vec<_>>();
    let mut rows: Vec<InventoryRow> = sqlx::query_as!(
        InventoryRow,
        "UPDATE inventory i SET on_hand = i.on_hand + c.on_hand, reserved = i.reserved + c.reserved,
                                sold = i.sold + c.sold, version = i.version + 1, updated_at = now()
         FROM UNNEST($1::uuid[], $2::int4[], $3::int4[], $4::int4[]) AS c(product_id, on_hand, reserved, sold)
         WHERE i.product_id = c.product_id
         RETURNING i.product_id, i.on_hand, i.reserved, i.sold, i.version",
        &changes.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        &column(|l| l.on_hand),
        &column(|l| l.reserved),
        &column(|l| l.sold),
    )
    .fetch_all(tx)
    .await?;
    rows.sort_by_key(|row| row.product_id);
    Ok(rows)
}
