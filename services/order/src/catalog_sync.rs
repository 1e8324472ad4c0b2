//! Fills the product replica from the product service's catalog feed, once at start-up: it
//! catches up with every product older than the event stream the replica follows afterwards
//! ([`crate::events::catalog`]). Both deliver snapshots to [`store::catalog::apply_snapshot`],
//! which ignores any it already has, so the two may overlap in any order.

use std::time::Duration;

use anyhow::{Context, bail};
use shop_contracts::catalog::{CATALOG_FEED_PATH, CatalogPage};
use shop_platform::config::ServiceUrl;
use sqlx::PgPool;
use uuid::Uuid;

use crate::store;

/// Products asked for per page of the feed.
pub const PAGE_SIZE: u32 = 500;
/// Wait before the first retry of a failed catch-up; it doubles up to [`LAST_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(200);
const LAST_RETRY: Duration = Duration::from_secs(10);

/// An HTTP client for the feed that gives up on a product service that does not answer.
pub fn client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(10))
        .build()
        .context("cannot build the catalog feed's HTTP client")
}

/// Reads the whole feed from the product service at `base_url` once and applies every
/// snapshot. Returns how many replica rows changed (snapshots the replica already had, or had
/// newer, change nothing).
pub async fn sync_catalog_once(db: &PgPool, client: &reqwest::Client, base_url: &ServiceUrl) -> anyhow::Result<usize> {
    let feed = base_url.join(CATALOG_FEED_PATH);
    let mut after: Option<Uuid> = None;
    let mut changed = 0;
    loop {
        let mut request = client.get(&feed).query(&[("limit", PAGE_SIZE)]);
        if let Some(after) = after {
            request = request.query(&[("after", after)]);
        }
        let page: CatalogPage = request
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .with_context(|| format!("cannot fetch the catalog feed {feed}"))?
            .json()
            .await
            .with_context(|| format!("the catalog feed {feed} sent a page that is not a CatalogPage"))?;
        // One transaction per page: a page is applied whole, with one commit.
        let mut tx = db.begin().await?;
        for snapshot in &page.items {
            if store::catalog::apply_snapshot(&mut *tx, snapshot).await? {
                changed += 1;
            }
        }
        tx.commit().await?;
        match (page.next_after, after) {
            (None, _) => return Ok(changed),
            // The feed is ordered by id; a cursor that does not move on would loop forever.
            (Some(next), Some(previous)) if next <= previous => {
                bail!("the catalog feed {feed} returned cursor {next} after {previous}")
            }
            (Some(next), _) => after = Some(next),
        }
    }
}

/// Reads the whole feed once, retrying with back-off until the product service answers
/// (it may start after this service). The service serves meanwhile, from the replica as it
/// is and the product events.
pub async fn catch_up(db: PgPool, client: reqwest::Client, base_url: ServiceUrl) {
    let mut retry_in = FIRST_RETRY;
    loop {
        match sync_catalog_once(&db, &client, &base_url).await {
            Ok(changed) => {
                tracing::info!(changed, "product replica caught up with the catalog feed");
                return;
            }
            Err(error) => tracing::warn!(
                error = format!("{error:#}"),
                ?retry_in,
                "cannot read the catalog feed yet; retrying"
            ),
        }
        tokio::time::sleep(retry_in).await;
        retry_in = (retry_in * 2).min(LAST_RETRY);
    }
}
