//! Fills the product replica from the product service's catalog feed, once at start-up: it
//! catches up with every product older than the event stream the replica follows afterwards
//! ([`crate::events::catalog`]). Both deliver snapshots to [`store::catalog::apply_snapshots`],
//! which ignores any it already has, so the two may overlap in any order.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::{Extension, Router, body::Body, http::Request};
use shop_contracts::{
    IdentityKey,
    catalog::{CATALOG_FEED_PATH, CatalogPage},
    identity::IDENTITY_HEADER,
};
use shop_platform::config::ServiceUrl;
use sqlx::PgPool;
use tower::ServiceExt;
use uuid::Uuid;

use crate::{shards::Shards, store};

/// Products asked for per page of the feed.
pub const PAGE_SIZE: u32 = 500;
/// Wait before the first retry of a failed catch-up; it doubles up to [`LAST_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(200);
const LAST_RETRY: Duration = Duration::from_secs(10);
/// How long the feed may fail before each further failure is logged as a warning.
const QUIET_FOR: Duration = Duration::from_secs(10);

/// Largest feed page read from a router in this process.
const PAGE_READ_LIMIT: usize = 16 * 1024 * 1024;

/// Where the catalog feed is read from, and the key its service tokens are signed with (the
/// feed is an internal endpoint).
#[derive(Clone)]
pub struct Feed {
    source: Source,
    key: IdentityKey,
}

#[derive(Clone)]
enum Source {
    /// The product service at `base_url`, with a client that gives up on a product service
    /// that does not answer.
    Http {
        client: reqwest::Client,
        base_url: ServiceUrl,
    },
    /// The product module's router, in this process (the monolith stages).
    InProcess(Router),
}

/// How long a service token of the feed's requests is valid: one page's request.
const TOKEN_LIFETIME: chrono::Duration = chrono::Duration::seconds(30);

impl Feed {
    pub fn http(base_url: ServiceUrl, key: IdentityKey) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(10))
            .build()
            .context("cannot build the catalog feed's HTTP client")?;
        Ok(Self {
            source: Source::Http { client, base_url },
            key,
        })
    }

    /// The product module's API router in this process, which verifies tokens with `key`.
    pub fn in_process(router: Router, key: IdentityKey) -> Self {
        Self {
            source: Source::InProcess(router.layer(Extension(key.clone()))),
            key,
        }
    }

    /// The page of up to [`PAGE_SIZE`] products after `after`.
    async fn page(&self, after: Option<Uuid>) -> anyhow::Result<CatalogPage> {
        let mut query = format!("limit={PAGE_SIZE}");
        if let Some(after) = after {
            query.push_str(&format!("&after={after}"));
        }
        let token = self.key.mint_service(crate::events::SOURCE, TOKEN_LIFETIME);
        match &self.source {
            Source::Http { client, base_url } => {
                let feed = base_url.join(CATALOG_FEED_PATH);
                client
                    .get(format!("{feed}?{query}"))
                    .header(IDENTITY_HEADER, token)
                    .send()
                    .await
                    .and_then(reqwest::Response::error_for_status)
                    .with_context(|| format!("cannot fetch the catalog feed {feed}"))?
                    .json()
                    .await
                    .with_context(|| format!("the catalog feed {feed} sent a page that is not a CatalogPage"))
            }
            Source::InProcess(router) => {
                let request = Request::get(format!("{CATALOG_FEED_PATH}?{query}"))
                    .header(IDENTITY_HEADER, token)
                    .body(Body::empty())?;
                let response = router.clone().oneshot(request).await?;
                if !response.status().is_success() {
                    bail!("the catalog feed answered {}", response.status());
                }
                let body = axum::body::to_bytes(response.into_body(), PAGE_READ_LIMIT).await?;
                serde_json::from_slice(&body).context("the catalog feed sent a page that is not a CatalogPage")
            }
        }
    }
}

impl std::fmt::Display for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            Source::Http { base_url, .. } => write!(f, "{}", base_url.join(CATALOG_FEED_PATH)),
            Source::InProcess(_) => write!(f, "the in-process product module"),
        }
    }
}

/// Reads the whole feed once and applies every snapshot. Returns how many replica rows
/// changed (snapshots the replica already had, or had newer, change nothing).
pub async fn sync_catalog_once(db: &PgPool, feed: &Feed) -> anyhow::Result<usize> {
    let mut after: Option<Uuid> = None;
    let mut changed = 0;
    loop {
        let page = feed.page(after).await?;
        // One statement per page: a page is applied whole, with one commit.
        changed += store::catalog::apply_snapshots(db, &page.items).await? as usize;
        match (page.next_after, after) {
            (None, _) => return Ok(changed),
            // The feed is ordered by id; a cursor that does not move on would loop forever.
            (Some(next), Some(previous)) if next <= previous => {
                bail!("the catalog feed ({feed}) returned cursor {next} after {previous}")
            }
            (Some(next), _) => after = Some(next),
        }
    }
}

/// Reads the whole feed once, retrying with back-off until the product service answers
/// (it may start after this service). The service serves meanwhile, from the replica as it
/// is and the product events. Failures are only worth a warning once they have gone on for
/// [`QUIET_FOR`]: until then the product service may simply be starting.
pub async fn catch_up(db: PgPool, feed: Feed) {
    let started = Instant::now();
    let mut retry_in = FIRST_RETRY;
    let mut attempts = 1;
    loop {
        match sync_catalog_once(&db, &feed).await {
            Ok(changed) => {
                tracing::info!(changed, attempts, "product replica caught up with the catalog feed");
                return;
            }
            Err(error) if started.elapsed() < QUIET_FOR => tracing::debug!(
                error = format!("{error:#}"),
                ?retry_in,
                "cannot read the catalog feed yet; retrying"
            ),
            Err(error) => tracing::warn!(
                error = format!("{error:#}"),
                waiting = ?started.elapsed(),
                ?retry_in,
                "still cannot read the catalog feed; retrying"
            ),
        }
        tokio::time::sleep(retry_in).await;
        retry_in = (retry_in * 2).min(LAST_RETRY);
        attempts += 1;
    }
}

/// [`catch_up`] on every shard at once: each keeps the whole replica.
pub async fn catch_up_every_shard(shards: Shards, feed: Feed) {
    futures_util::future::join_all(shards.iter().map(|shard| catch_up(shard.db.clone(), feed.clone()))).await;
}
