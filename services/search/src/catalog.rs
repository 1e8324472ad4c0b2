//! The merged catalog rows in the search database: each accepted product or stock change bumps
//! the row's revision and returns the row, which the caller then projects into the index.

use chrono::{DateTime, Utc};
use shop_contracts::{catalog::ProductSnapshot, events::InventoryAdjusted};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::document::ProductDocument;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CatalogRow {
    pub product_id: Uuid,
    pub sku: String,
    pub name: String,
    pub description: String,
    pub category: String,
    pub price_minor: i64,
    pub currency: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub product_version: i64,
    pub on_hand: i32,
    pub reserved: i32,
    pub revision: i64,
}

/// What the index should hold for this row: the document, or nothing (inactive, or known
/// only from stock events so far).
pub enum Projection {
    Index(ProductDocument),
    Remove { id: Uuid, revision: i64 },
}

impl CatalogRow {
    pub fn projection(self) -> Projection {
        if !self.active || self.product_version == 0 {
            return Projection::Remove {
                id: self.product_id,
                revision: self.revision,
            };
        }
        Projection::Index(ProductDocument {
            id: self.product_id,
            in_stock: self.on_hand - self.reserved > 0,
            sku: self.sku,
            name: self.name,
            description: self.description,
            category: self.category,
            price_minor: self.price_minor,
            currency: self.currency,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.revision,
        })
    }
}

const COLUMNS: &str = "product_id, sku, name, description, category, price_minor, currency, active, created_at,
    updated_at, product_version, on_hand, reserved, revision";

/// Applies a product snapshot unless an equal or newer version is already known.
pub async fn apply_product(tx: &mut PgConnection, product: &ProductSnapshot) -> sqlx::Result<Option<CatalogRow>> {
    sqlx::query_as(&format!(
        "INSERT INTO catalog AS c (product_id, sku, name, description, category, price_minor, currency, active,
                                   created_at, updated_at, product_version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, COALESCE($9, $10), $10, $11)
         ON CONFLICT (product_id) DO UPDATE SET
             sku = EXCLUDED.sku, name = EXCLUDED.name, description = EXCLUDED.description,
             category = EXCLUDED.category, price_minor = EXCLUDED.price_minor, currency = EXCLUDED.currency,
             active = EXCLUDED.active, created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at,
             product_version = EXCLUDED.product_version, revision = c.revision + 1
         WHERE c.product_version < EXCLUDED.product_version
         RETURNING {COLUMNS}"
    ))
    .bind(product.id)
    .bind(&product.sku)
    .bind(&product.name)
    .bind(&product.description)
    .bind(&product.category)
    .bind(product.price.amount_minor)
    .bind(product.price.currency.as_str())
    .bind(product.active)
    .bind(product.created_at)
    .bind(product.updated_at)
    .bind(product.version)
    .fetch_optional(tx)
    .await
}

/// Applies new stock levels unless equal or newer ones are already known.
pub async fn apply_stock(
    tx: &mut PgConnection,
    stock: &InventoryAdjusted,
    inventory_version: i64,
) -> sqlx::Result<Option<CatalogRow>> {
    sqlx::query_as(&format!(
        "INSERT INTO catalog AS c (product_id, on_hand, reserved, inventory_version) VALUES ($1, $2, $3, $4)
         ON CONFLICT (product_id) DO UPDATE SET
             on_hand = EXCLUDED.on_hand, reserved = EXCLUDED.reserved,
             inventory_version = EXCLUDED.inventory_version, revision = c.revision + 1
         WHERE c.inventory_version < EXCLUDED.inventory_version
         RETURNING {COLUMNS}"
    ))
    .bind(stock.product_id)
    .bind(stock.on_hand)
    .bind(stock.reserved)
    .bind(inventory_version)
    .fetch_optional(tx)
    .await
}

pub async fn count(db: &PgPool) -> sqlx::Result<u64> {
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM catalog").fetch_one(db).await?;
    Ok(count as u64)
}

/// Rows after `after` in id order (keyset paging for the reindex).
pub async fn page(db: &PgPool, after: Option<Uuid>, limit: i64) -> sqlx::Result<Vec<CatalogRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM catalog WHERE ($1::uuid IS NULL OR product_id > $1) ORDER BY product_id LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await
}
