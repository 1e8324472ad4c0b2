//! The product replica. [`apply_snapshot`] is its only writer, whoever delivers the
//! snapshots (the start-up catalog sync, product events); carts read prices from it.

use shop_contracts::catalog::ProductSnapshot;
use shop_messaging::consumer::newest_per_key;
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::domain::cart::Product;

/// Stores `snapshot` unless the replica already holds this version of the product or a newer
/// one, so stale or repeated deliveries change nothing. Returns whether the row changed.
pub async fn apply_snapshot(db: impl PgExecutor<'_>, snapshot: &ProductSnapshot) -> sqlx::Result<bool> {
    Ok(apply_snapshots(db, [snapshot]).await? == 1)
}

/// [`apply_snapshot`] for many snapshots in one statement, as if applied one after another: of
/// several snapshots of one product the newest counts. Returns how many rows changed.
pub async fn apply_snapshots<'s>(
    db: impl PgExecutor<'_>,
    snapshots: impl IntoIterator<Item = &'s ProductSnapshot>,
) -> sqlx::Result<u64> {
    let snapshots = newest_per_key(snapshots, |snapshot| snapshot.id, |snapshot| snapshot.version);
    if snapshots.is_empty() {
        return Ok(0);
    }
    let column = |field: fn(&ProductSnapshot) -> &str| snapshots.iter().map(|s| field(s)).collect::<Vec<_>>();
    let result = sqlx::query!(
        "INSERT INTO product_replica
             (product_id, sku, name, category, price_minor, currency, active, version, updated_at)
         SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[],
                              $7::boolean[], $8::bigint[], $9::timestamptz[])
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
        &snapshots.iter().map(|s| s.id).collect::<Vec<_>>(),
        &column(|s| &s.sku) as &[&str],
        &column(|s| &s.name) as &[&str],
        &column(|s| &s.category) as &[&str],
        &snapshots.iter().map(|s| s.price.amount_minor).collect::<Vec<_>>(),
        &column(|s| s.price.currency.as_str()) as &[&str],
        &snapshots.iter().map(|s| s.active).collect::<Vec<_>>(),
        &snapshots.iter().map(|s| s.version).collect::<Vec<_>>(),
        &snapshots.iter().map(|s| s.updated_at).collect::<Vec<_>>(),
    )
    .execute(db)
    .await?;
    Ok(result.rows_affected())
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
