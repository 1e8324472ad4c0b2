//! Demo data: the deterministic catalog from [`catalog`], loaded idempotently — running it
//! again inserts nothing that is already there (matched by category slug and product SKU).
//! Every product it inserts is also announced with `product.created`, so a consumer reading
//! the event stream from the start learns the whole catalog.

pub mod catalog;

use shop_messaging::wakeup;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{events, store::products};

/// Rows per INSERT; keeps each statement's arrays small.
const BATCH: usize = 5_000;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Seeded {
    pub categories: u64,
    pub products: u64,
}

/// Loads the demo categories and the first `product_count` demo products.
pub async fn demo_catalog(db: &PgPool, product_count: usize) -> anyhow::Result<Seeded> {
    let mut tx = db.begin().await?;
    let mut seeded = Seeded::default();
    for category in catalog::categories() {
        seeded.categories += sqlx::query!(
            "INSERT INTO categories (id, slug, name, description) VALUES ($1, $2, $3, $4)
             ON CONFLICT (slug) DO NOTHING",
            Uuid::now_v7(),
            category.slug,
            category.name,
            category.description,
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    for batch in catalog::products(product_count).chunks(BATCH) {
        let ids: Vec<Uuid> = batch.iter().map(|_| Uuid::now_v7()).collect();
        let column = |f: fn(&catalog::ProductSeed) -> String| batch.iter().map(f).collect::<Vec<_>>();
        let inserted: Vec<Uuid> = sqlx::query_scalar!(
            "WITH input AS (
                 SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],
                                      $6::int8[], $7::text[], $8::text[], $9::int4[])
                     AS t(id, sku, name, description, category_slug, price_minor, currency, image_url, stock)),
             inserted AS (
                 INSERT INTO products (id, sku, name, description, category_id, price_minor, currency, image_url)
                 SELECT t.id, t.sku, t.name, t.description, c.id, t.price_minor, t.currency, t.image_url
                 FROM input t JOIN categories c ON c.slug = t.category_slug
                 ON CONFLICT (sku) DO NOTHING
                 RETURNING id)
             INSERT INTO inventory (product_id, on_hand)
             SELECT t.id, t.stock FROM input t JOIN inserted USING (id)
             RETURNING product_id",
            &ids,
            &column(|p| p.sku.clone()),
            &column(|p| p.name.clone()),
            &column(|p| p.description.clone()),
            &column(|p| p.category_slug.to_owned()),
            &batch.iter().map(|p| p.price_minor).collect::<Vec<_>>(),
            &column(|p| p.currency.to_owned()),
            &column(|p| p.image_url.clone()),
            &batch.iter().map(|p| p.stock).collect::<Vec<_>>(),
        )
        .fetch_all(&mut *tx)
        .await?;
        seeded.products += inserted.len() as u64;
        announce(&mut tx, &inserted).await?;
    }
    wakeup::commit(tx).await?;
    Ok(seeded)
}

/// Enqueues `product.created` and the starting `inventory.adjusted` of each of the products,
/// in id order.
async fn announce(tx: &mut PgConnection, ids: &[Uuid]) -> anyhow::Result<()> {
    let created = products::find_all(&mut *tx, ids).await?;
    events::products_created(tx, &created).await
}
