//! The product replica. [`apply_snapshot`] is its only writer, whoever delivers the
//! snapshots (the start-up catalog sync, product events); carts read prices from it.

use shop_contracts::catalog::ProductSnapshot;
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::domain::cart::Product;

/// Stores `snapshot` unless the replica already holds this version of the product or a newer
/// one, so stale or repeated deliveries change nothing. Returns whether the row changed.
pub async fn apply_snapshot(db: impl PgExecutor<'_>, snapshot: &ProductSnapshot) -> sqlx::Result<bool> {
    let result = sqlx::query!(
        "INSERT INTO product_replica
             (product_id, sku, name, category, price_minor, currency, active, version, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (product_id) DO UPDATE SET
             sku = EXCLUDED.sku,
             name = EXCLUDED.name,
             category = EXCLUDED.category,
             price_minor = EXCLUDED.price_minor,
             currency = EXCLUDED.currency,
             active = EXCLUDED.active,
             version = EXCLUDED.version,
             updated_at = EXCLUDED.updated_at
         WHERE product_replica.version < EXCLUDED.version",
        snapshot.id,
        &snapshot.sku,
        &snapshot.name,
        &snapshot.category,
        snapshot.price.amount_minor,
        snapshot.price.currency.as_str(),
        snapshot.active,
        snapshot.version,
        snapshot.updated_at,
    )
    .execute(db)
    .await?;
    Ok(result.rows_affected() == 1)
}

pub(super) struct ProductRow {
    pub(super) product_id: Uuid,
    pub(super) sku: String,
    pub(super) name: String,
    pub(super) price_minor: i64,
    pub(super) currency: String,
    pub(super) active: bool,
}

impl TryFrom<ProductRow> for Product {
    type Error = sqlx::Error;
    fn try_from(row: ProductRow) -> sqlx::Result<Self> {
        Ok(Product {
            id: row.product_id,
            price: super::money(row.price_minor, &row.currency)?,
            sku: row.sku,
            name: row.name,
            active: row.active,
        })
    }
}

/// The product as the replica has it now, inactive or not.
pub async fn find_product(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<Product>> {
    sqlx::query_as!(
        ProductRow,
        "SELECT product_id, sku, name, price_minor, currency, active FROM product_replica WHERE product_id = $1",
        id
    )
    .fetch_optional(db)
    .await?
    .map(Product::try_from)
    .transpose()
}
