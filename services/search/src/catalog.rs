//! The merged catalog rows in the search database. Each accepted product or stock change bumps
//! the row's revision, leaving it behind its projected revision until the projector writes it
//! to the index (see [`crate::projector`]).

use chrono::{DateTime, Utc};
use shop_contracts::{catalog::ProductSnapshot, events::InventoryAdjusted};
use shop_messaging::consumer::newest_per_key;
use sqlx::{PgConnection, PgPool};
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
    Ok(apply_products(tx, [(product, occurred_at)]).await? == 1)
}

/// [`apply_product`] for many snapshots in one statement, as if applied one after another: of
/// several snapshots of one product the newest counts. Returns how many rows changed.
pub async fn apply_products<'p>(
    tx: &mut PgConnection,
    products: impl IntoIterator<Item = (&'p ProductSnapshot, DateTime<Utc>)>,
) -> sqlx::Result<u64> {
    let products = newest_per_key(products, |(product, _)| product.id, |(product, _)| product.version);
    if products.is_empty() {
        return Ok(0);
    }
    let text = |field: fn(&ProductSnapshot) -> &str| products.iter().map(|(p, _)| field(p)).collect::<Vec<_>>();
    let query = sqlx::query!(
        "INSERT INTO catalog AS c (product_id, sku, name, description, category, price_minor, currency, active,
                                   created_at, updated_at, product_version, changed_at)
         SELECT id, sku, name, description, category, price_minor, currency, active,
                COALESCE(created_at, updated_at), updated_at, version, changed_at
         FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[],
                     $8::boolean[], $9::timestamptz[], $10::timestamptz[], $11::bigint[], $12::timestamptz[])
              AS p (id, sku, name, description, category, price_minor, currency, active,
                    created_at, updated_at, version, changed_at)
         ON CONFLICT (product_id) DO UPDATE SET
             sku = EXCLUDED.sku, name = EXCLUDED.name, description = EXCLUDED.description,
             category = EXCLUDED.category, price_minor = EXCLUDED.price_minor, currency = EXCLUDED.currency,
             active = EXCLUDED.active, created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at,
             product_version = EXCLUDED.product_version, changed_at = EXCLUDED.changed_at,
             revision = c.revision + 1
         WHERE c.product_version < EXCLUDED.product_version",
        &products.iter().map(|(p, _)| p.id).collect::<Vec<_>>(),
        &text(|p| &p.sku) as &[&str],
        &text(|p| &p.name) as &[&str],
        &text(|p| &p.description) as &[&str],
        &text(|p| &p.category) as &[&str],
        &products.iter().map(|(p, _)| p.price.amount_minor).collect::<Vec<_>>(),
        &text(|p| p.price.currency.as_str()) as &[&str],
        &products.iter().map(|(p, _)| p.active).collect::<Vec<_>>(),
        &products.iter().map(|(p, _)| p.created_at).collect::<Vec<_>>() as &[Option<DateTime<Utc>>],
        &products.iter().map(|(p, _)| p.updated_at).collect::<Vec<_>>(),
        &products.iter().map(|(p, _)| p.version).collect::<Vec<_>>(),
        &products.iter().map(|(_, occurred_at)| *occurred_at).collect::<Vec<_>>(),
    );
    Ok(query.execute(tx).await?.rows_affected())
}

/// Applies new stock levels, as of `occurred_at`, unless equal or newer ones are already known.
/// Returns whether they were applied.
pub async fn apply_stock(
    tx: &mut PgConnection,
    stock: &InventoryAdjusted,
    inventory_version: i64,
    occurred_at: DateTime<Utc>,
) -> sqlx::Result<bool> {
    Ok(apply_stocks(tx, [(stock, inventory_version, occurred_at)]).await? == 1)
}

/// [`apply_stock`] for many stock levels (each with its inventory version) in one statement, as
/// if applied one after another. Returns how many rows changed.
pub async fn apply_stocks<'s>(
    tx: &mut PgConnection,
    stocks: impl IntoIterator<Item = (&'s InventoryAdjusted, i64, DateTime<Utc>)>,
) -> sqlx::Result<u64> {
    let stocks = newest_per_key(stocks, |(stock, _, _)| stock.product_id, |(_, version, _)| *version);
    if stocks.is_empty() {
        return Ok(0);
    }
    let query = sqlx::query!(
        "INSERT INTO catalog AS c (product_id, on_hand, reserved, inventory_version, changed_at)
         SELECT * FROM UNNEST($1::uuid[], $2::integer[], $3::integer[], $4::bigint[], $5::timestamptz[])
         ON CONFLICT (product_id) DO UPDATE SET
             on_hand = EXCLUDED.on_hand, reserved = EXCLUDED.reserved,
             inventory_version = EXCLUDED.inventory_version, changed_at = EXCLUDED.changed_at,
             revision = c.revision + 1
         WHERE c.inventory_version < EXCLUDED.inventory_version",
        &stocks.iter().map(|(s, _, _)| s.product_id).collect::<Vec<_>>(),
        &stocks.iter().map(|(s, _, _)| s.on_hand).collect::<Vec<_>>(),
        &stocks.iter().map(|(s, _, _)| s.reserved).collect::<Vec<_>>(),
        &stocks.iter().map(|(_, version, _)| *version).collect::<Vec<_>>(),
        &stocks
            .iter()
            .map(|(_, _, occurred_at)| *occurred_at)
            .collect::<Vec<_>>(),
    );
    Ok(query.execute(tx).await?.rows_affected())
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
