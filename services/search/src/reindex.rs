//! Full reindex: rebuilds the index from the service's catalog replica (itself the replay of
//! the product and stock streams) into a fresh index and swaps it in at once, so search never
//! goes empty. The projector keeps writing to the live index meanwhile; the swap waits for
//! running projections, and whatever they wrote during the rebuild is written again to the new
//! index, so no update is lost.

use std::time::Instant;

use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    catalog::{self, CatalogRow},
    document::Change,
    index::SearchIndex,
    projector::PROJECTION_LOCK,
};

const BATCH: i64 = 2_000;

/// How far a reindex has got.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Progress {
    /// Catalog rows read so far.
    pub done: u64,
    /// Catalog rows in all (when the reindex began).
    pub total: u64,
}

/// Rebuilds the index, reporting progress after each batch; returns how many products the
/// new index holds.
pub async fn reindex(
    db: &PgPool,
    index: &SearchIndex,
    mut progress: impl FnMut(Progress) + Send,
) -> anyhow::Result<u64> {
    let started = Instant::now();
    // Rows projected from now on may be missing from what the rebuild reads.
    let since = catalog::now(db).await?;
    let mut rebuild = index.rebuild().await?;
    let total = catalog::count(db).await?;
    let (mut after, mut done) = (None::<Uuid>, 0u64);
    loop {
        let rows = catalog::page(db, after, BATCH).await?;
        let Some(last) = rows.last() else { break };
        after = Some(last.product_id);
        done += rows.len() as u64;
        let products = rows
            .into_iter()
            .filter_map(|row| match row.change() {
                Change::Upsert(product) => Some(product),
                Change::Remove { .. } => None,
            })
            .collect();
        rebuild = rebuild.add(products).await?;
        progress(Progress { done, total });
        tracing::info!(done, total, "reindexing");
    }
    let mut tx = db.begin().await?;
    sqlx::query!("SELECT FROM pg_advisory_xact_lock($1)", PROJECTION_LOCK)
        .execute(&mut *tx)
        .await?;
    index.swap_in(rebuild).await?;
    let projected_meanwhile = catalog::projected_since(&mut tx, since).await?;
    index
        .apply(projected_meanwhile.into_iter().map(CatalogRow::change).collect())
        .await?;
    tx.commit().await?;
    let count = index.document_count().await?;
    tracing::info!(products = count, elapsed = ?started.elapsed(), "reindex complete; new index swapped in");
    Ok(count)
}
