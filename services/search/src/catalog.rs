//! The merged catalog rows in the search database. Each accepted product or stock change bumps
//! the row's revision, leaving it behind its projected revision until the projector writes it
//! to the index (see [`crate::projector`]).

use chrono::{DateTime, Utc};
use shop_contracts::{catalog::ProductSnapshot, events::InventoryAdjusted};
use sqlx::{PgConnection, PgPool, Postgres, postgres::PgArguments, query::Query};
use uuid::Uuid;

use crate::document::{Change, ProductDocument};

#[derive(Debug, Clone)]
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
    pub changed_at: DateTime<Utc>,
}

/// Woken on every commit that leaves rows to project.
pub const CHANGED: &str = "search_catalog_changed";

impl CatalogRow {
    /// What the index should hold for this row: the document, or nothing (inactive, or known
    /// only from stock events so far). The row's revision is the index's version.
    pub fn change(self) -> Change {
        if !self.active || self.product_version == 0 {
            return Change::Remove {
                id: self.product_id,
                version: self.revision,
            };
        }
        Change::Upsert(ProductDocument {
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

/// Applies a product snapshot, as of `occurred_at`, unless an equal or newer version is already
/// known. Returns whether it was applied.
pub async fn apply_product(
    tx: &mut PgConnection,
    product: &ProductSnapshot,
    occurred_at: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let query = sqlx::query!(
        "INSERT INTO catalog AS c (product_id, sku, name, description, category, price_minor, currency, active,
                                   created_at, updated_at, product_version, changed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, COALESCE($9::timestamptz, $10), $10, $11, $12)
         ON CONFLICT (product_id) DO UPDATE SET
             sku = EXCLUDED.sku, name = EXCLUDED.name, description = EXCLUDED.description,
             category = EXCLUDED.category, price_minor = EXCLUDED.price_minor, currency = EXCLUDED.currency,
             active = EXCLUDED.active, created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at,
             product_version = EXCLUDED.product_version, changed_at = EXCLUDED.changed_at,
             revision = c.revision + 1
         WHERE c.product_version < EXCLUDED.product_version",
        product.id,
        &product.sku,
        &product.name,
        &product.description,
        &product.category,
        product.price.amount_minor,
        product.price.currency.as_str(),
        product.active,
        product.created_at,
        product.updated_at,
        product.version,
        occurred_at,
    );
    merge(tx, query).await
}

/// Applies new stock levels, as of `occurred_at`, unless equal or newer ones are already known.
/// Returns whether they were applied.
pub async fn apply_stock(
    tx: &mut PgConnection,
    stock: &InventoryAdjusted,
    inventory_version: i64,
    occurred_at: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let query = sqlx::query!(
        "INSERT INTO catalog AS c (product_id, on_hand, reserved, inventory_version, changed_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (product_id) DO UPDATE SET
             on_hand = EXCLUDED.on_hand, reserved = EXCLUDED.reserved,
             inventory_version = EXCLUDED.inventory_version, changed_at = EXCLUDED.changed_at,
             revision = c.revision + 1
         WHERE c.inventory_version < EXCLUDED.inventory_version",
        stock.product_id,
        stock.on_hand,
        stock.reserved,
        inventory_version,
        occurred_at,
    );
    merge(tx, query).await
}

/// Runs a guarded upsert; when it changed the row, wakes the projector as the transaction
/// commits (notifications in one transaction merge). Returns whether it changed the row.
async fn merge(tx: &mut PgConnection, upsert: Query<'_, Postgres, PgArguments>) -> sqlx::Result<bool> {
    let applied = upsert.execute(&mut *tx).await?.rows_affected() > 0;
    if applied {
        sqlx::query!("SELECT pg_notify($1, '')", CHANGED).execute(tx).await?;
    }
    Ok(applied)
}

/// Locks up to `limit` rows changed since their last projection, skipping rows another
/// projector holds. Their content cannot change until the transaction ends.
pub async fn lock_unprojected(tx: &mut PgConnection, limit: i64) -> sqlx::Result<Vec<CatalogRow>> {
    sqlx::query_as!(
CatalogRow,
"SELECT product_id, sku, name, description, category, price_minor, currency, active, created_at,
    updated_at, product_version, on_hand, reserved, revision, changed_at FROM catalog WHERE projected_revision < revision
         ORDER BY product_id LIMIT $1 FOR UPDATE SKIP LOCKED",
limit,
)
    .fetch_all(tx)
    .await
}

/// Records that the rows (locked by [`lock_unprojected`]) are in the index at their revision.
pub async fn mark_projected(tx: &mut PgConnection, ids: &[Uuid]) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE catalog SET projected_revision = revision, projected_at = clock_timestamp()
         WHERE product_id = ANY($1)",
        ids,
    )
    .execute(tx)
    .await?;
    Ok(())
}

/// The database's clock (projection times are on it).
pub async fn now(db: &PgPool) -> sqlx::Result<DateTime<Utc>> {
    sqlx::query_scalar!(r#"SELECT clock_timestamp() AS "now!""#)
        .fetch_one(db)
        .await
}

/// Rows projected at or after `since`.
pub async fn projected_since(tx: &mut PgConnection, since: DateTime<Utc>) -> sqlx::Result<Vec<CatalogRow>> {
    sqlx::query_as!(
        CatalogRow,
        "SELECT product_id, sku, name, description, category, price_minor, currency, active, created_at,
    updated_at, product_version, on_hand, reserved, revision, changed_at FROM catalog WHERE projected_at >= $1",
        since,
    )
    .fetch_all(tx)
    .await
}

pub async fn count(db: &PgPool) -> sqlx::Result<u64> {
    let count: i64 = sqlx::query_scalar!(r#"SELECT count(*) AS "count!" FROM catalog"#)
        .fetch_one(db)
        .await?;
    Ok(count as u64)
}

/// Rows after `after` in id order (keyset paging for the reindex).
pub async fn page(db: &PgPool, after: Option<Uuid>, limit: i64) -> sqlx::Result<Vec<CatalogRow>> {
    sqlx::query_as!(
CatalogRow,
"SELECT product_id, sku, name, description, category, price_minor, currency, active, created_at,
    updated_at, product_version, on_hand, reserved, revision, changed_at FROM catalog WHERE ($1::uuid IS NULL OR product_id > $1) ORDER BY product_id LIMIT $2",
after,
limit,
)
    .fetch_all(db)
    .await
}
