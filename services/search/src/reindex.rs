//! Full reindex: rebuilds the index from the service's catalog replica (itself the replay of
//! the product and stock streams) into a fresh index and swaps it in at once. Events keep being
//! applied meanwhile; the index records them and replays them onto the new one at the swap, so
//! nothing is lost and search never goes empty.

use std::{sync::Arc, time::Instant};

use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    catalog::{self, Projection},
    embedded::EmbeddedIndex,
};

const BATCH: i64 = 2_000;

/// Rebuilds the index; returns how many products it now holds.
pub async fn reindex(db: &PgPool, index: Arc<EmbeddedIndex>) -> anyhow::Result<u64> {
    let started = Instant::now();
    // Opened before reading, so every change from now on is recorded for the swap.
    let mut rebuild = {
        let index = index.clone();
        tokio::task::spawn_blocking(move || index.rebuild()).await??
    };
    let total = catalog::count(db).await?;
    let (mut after, mut done) = (None::<Uuid>, 0u64);
    loop {
        let rows = catalog::page(db, after, BATCH).await?;
        let Some(last) = rows.last() else { break };
        after = Some(last.product_id);
        done += rows.len() as u64;
        let documents: Vec<_> = rows
            .into_iter()
            .filter_map(|row| match row.projection() {
                Projection::Index(document) => Some(document),
                Projection::Remove { .. } => None,
            })
            .collect();
        rebuild = tokio::task::spawn_blocking(move || rebuild.add(&documents).map(|()| rebuild)).await??;
        tracing::info!(done, total, "reindexing");
    }
    let count = tokio::task::spawn_blocking(move || {
        index.swap_in(rebuild)?;
        index.document_count()
    })
    .await??;
    tracing::info!(products = count, elapsed = ?started.elapsed(), "reindex complete; new index swapped in");
    Ok(count)
}
