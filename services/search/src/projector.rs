//! The projector writes changed catalog rows into the index: it locks a batch of rows whose
//! revision is ahead of their projected revision, applies them to the index in one write, and
//! marks them projected in the same transaction. A row changed meanwhile waits on the lock and
//! is simply behind again afterwards, so the index converges on the newest state whatever the
//! order of events, and several search instances can project side by side.

use std::time::Duration;

use chrono::Utc;
use shop_messaging::wakeup::Wakeup;
use sqlx::{PgConnection, PgPool};

use crate::{
    catalog::{self, CatalogRow},
    index::SearchIndex,
};

/// Rows per index write. One write (a commit, or a Meilisearch task) per batch instead of per
/// event is what lets a whole catalog's worth of events be indexed quickly.
const BATCH: i64 = 1_000;
/// Backstop for rows changed by another process (another search instance's consumers).
const POLL: Duration = Duration::from_millis(500);
/// The least time between two index writes. Under a stream of stock changes, waking on every
/// commit made one commit (and one tiny segment for the index to merge) per event; the
/// changes that arrive within this window are written together instead. The first change
/// after a quiet spell is still written at once.
const MIN_WRITE_INTERVAL: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Held shared by each projection, exclusively by a reindex while it swaps indexes.
pub(crate) const PROJECTION_LOCK: i64 = i64::from_be_bytes(*b"srchproj");

/// Projects one batch; returns how many rows it wrote.
pub async fn project_batch(db: &PgPool, index: &SearchIndex) -> anyhow::Result<usize> {
    let mut tx = db.begin().await?;
    sqlx::query!("SELECT FROM pg_advisory_xact_lock_shared($1)", PROJECTION_LOCK)
        .execute(&mut *tx)
        .await?;
    let rows = catalog::lock_unprojected(&mut tx, BATCH).await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let written = write(&mut tx, index, rows).await?;
    tx.commit().await?;
    Ok(written)
}

/// Applies the rows to the index and marks them projected (in the caller's transaction).
pub(crate) async fn write(tx: &mut PgConnection, index: &SearchIndex, rows: Vec<CatalogRow>) -> anyhow::Result<usize> {
    let ids: Vec<_> = rows.iter().map(|row| row.product_id).collect();
    let changed_at: Vec<_> = rows.iter().map(|row| row.changed_at).collect();
    index.apply(rows.into_iter().map(CatalogRow::change).collect()).await?;
    catalog::mark_projected(tx, &ids).await?;
    let now = Utc::now();
    for changed_at in changed_at {
        let lag = (now - changed_at).num_microseconds().unwrap_or(0) as f64 / 1e6;
        metrics::histogram!("search_freshness_seconds").record(lag.max(0.0));
    }
    Ok(ids.len())
}

/// Projects until `shutdown`: woken by each commit of this process's consumers
/// ([`shop_messaging::wakeup`]), backing off while the database or the index is unreachable
/// (rows stay behind; nothing is lost).
pub async fn run(db: PgPool, index: SearchIndex, shutdown: impl Future<Output = ()> + Send) {
    tokio::pin!(shutdown);
    let mut wakeup = Wakeup::new();
    let mut backoff = Duration::from_millis(100);
    loop {
        let wait = tokio::select! {
            () = &mut shutdown => return,
            written = project_batch(&db, &index) => match written {
                Ok(n) if n as i64 == BATCH => Duration::ZERO,
                Ok(n) => {
                    backoff = Duration::from_millis(100);
                    if n > 0 {
                        tokio::select! {
                            () = &mut shutdown => return,
                            () = tokio::time::sleep(MIN_WRITE_INTERVAL) => {}
                        }
                    }
                    POLL
                }
                Err(error) => {
                    tracing::warn!(error = format!("{error:#}"), retry_in = ?backoff, "cannot update the search index");
                    let wait = backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    wait
                }
            },
        };
        if wait.is_zero() {
            continue;
        }
        tokio::select! {
            () = &mut shutdown => return,
            () = wakeup.wait(wait) => {}
        }
    }
}
