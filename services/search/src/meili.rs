//! The Meilisearch backend: the same operations as the embedded index over a Meilisearch index.
//!
//! Meilisearch has no conditional writes, so each write first reads the versions the index
//! holds for its products and sends only newer ones; the projector makes that safe by never
//! writing the same product from two places at once. Removals are kept as tombstone documents
//! (`live = false`), which every search filters out. Every write waits for its task and fails if
//! the task failed: a projection is only marked done once Meilisearch has applied it.

use std::{collections::HashMap, ops::Range, time::Duration, time::Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use meilisearch_sdk::{
    client::{Client, SwapIndexes},
    documents::DocumentsQuery,
    errors::{Error, ErrorCode, ErrorType},
    indexes::{Index, IndexesQuery},
    search::{MatchRange, MatchingStrategies, SearchResult, Selectors},
    settings::{FacetingSettings, MinWordSizeForTypos, PaginationSetting, Settings, TypoToleranceSettings},
    task_info::TaskInfo,
    tasks::Task,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    document::{Change, Hit, ProductDocument, SearchQuery, SearchResults, SortOrder},
    index::Unavailable,
};
use shop_contracts::search::highlight;

/// Pauses before the second and third try of a search Meilisearch could not answer for now.
const SEARCH_RETRIES: [Duration; 2] = [Duration::from_millis(20), Duration::from_millis(100)];

const TASK_POLL: Duration = Duration::from_millis(20);
const TASK_TIMEOUT: Duration = Duration::from_secs(120);
/// Deep enough for the API's last page (1,000 pages of 100).
const MAX_TOTAL_HITS: usize = 100_000;
const REBUILD_MARKER: &str = "--rebuild-";

/// A product search index in Meilisearch.
pub struct MeiliIndex {
    client: Client,
    uid: String,
}

/// A complete new index being written; see [`MeiliIndex::rebuild`].
pub struct Rebuild {
    index: Index,
    tasks: Vec<TaskInfo>,
}

/// What is stored per product: the document, whether it is searchable (false: a tombstone), and
/// its creation time as a number to sort on.
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    #[serde(flatten)]
    product: ProductDocument,
    live: bool,
    created_ts: i64,
}

#[derive(Deserialize)]
struct StoredVersion {
    id: Uuid,
    version: i64,
}

impl Stored {
    fn of(change: Change) -> Self {
        match change {
            Change::Upsert(product) => Self {
                created_ts: product.created_at.timestamp_millis(),
                product,
                live: true,
            },
            Change::Remove { id, version } => Self {
                product: ProductDocument {
                    id,
                    sku: String::new(),
                    name: String::new(),
                    description: String::new(),
                    category: String::new(),
                    price_minor: 0,
                    currency: String::new(),
                    in_stock: false,
                    created_at: DateTime::<Utc>::UNIX_EPOCH,
                    updated_at: DateTime::<Utc>::UNIX_EPOCH,
                    version,
                },
                live: false,
                created_ts: 0,
            },
        }
    }
}

impl MeiliIndex {
    /// Connects, creates the index if missing and applies its settings; deletes rebuilds left
    /// unfinished by an earlier run.
    pub async fn connect(url: &str, api_key: Option<&str>, uid: &str) -> anyhow::Result<Self> {
        let client = Client::new(url, api_key).context("configuring the Meilisearch client")?;
        let this = Self {
            client,
            uid: uid.to_owned(),
        };
        this.create(uid)
            .await
            .with_context(|| format!("preparing Meilisearch index {uid} at {url}"))?;
        let prefix = format!("{uid}{REBUILD_MARKER}");
        for index in IndexesQuery::new(&this.client)
            .with_limit(1_000)
            .execute()
            .await?
            .results
        {
            if index.uid.starts_with(&prefix) {
                this.wait(index.delete().await?).await?;
            }
        }
        Ok(this)
    }

    /// Deletes the index `uid` if it exists.
    pub async fn delete(url: &str, api_key: Option<&str>, uid: &str) -> anyhow::Result<()> {
        let this = Self {
            client: Client::new(url, api_key).context("configuring the Meilisearch client")?,
            uid: uid.to_owned(),
        };
        let task = this
            .client
            .delete_index(uid)
            .await?
            .wait_for_completion(&this.client, Some(TASK_POLL), Some(TASK_TIMEOUT))
            .await?;
        match task {
            Task::Failed { content } if content.error.error_code != ErrorCode::IndexNotFound => {
                bail!(
                    "deleting Meilisearch index {uid} failed: {}",
                    content.error.error_message
                )
            }
            _ => Ok(()),
        }
    }

    /// Creates the index `uid` unless it exists, and applies the settings.
    async fn create(&self, uid: &str) -> anyhow::Result<()> {
        match self.client.get_index(uid).await {
            Ok(_) => {}
            Err(Error::Meilisearch(error)) if error.error_code == ErrorCode::IndexNotFound => {
                self.wait(self.client.create_index(uid, Some("id")).await?).await?;
            }
            Err(error) => return Err(error.into()),
        }
        self.wait(self.client.index(uid).set_settings(&settings()).await?).await
    }

    fn index(&self) -> Index {
        self.client.index(&self.uid)
    }

    /// Waits for a task and turns its failure into an error.
    async fn wait(&self, task: TaskInfo) -> anyhow::Result<()> {
        let task = task
            .wait_for_completion(&self.client, Some(TASK_POLL), Some(TASK_TIMEOUT))
            .await?;
        if task.is_failure() {
            let error = task.unwrap_failure();
            bail!(
                "Meilisearch task failed: {} ({:?})",
                error.error_message,
                error.error_code
            );
        }
        Ok(())
    }

    /// See [`crate::index::SearchIndex::apply`].
    pub async fn apply(&self, changes: Vec<Change>) -> anyhow::Result<usize> {
        if changes.is_empty() {
            return Ok(0);
        }
        let mut newest = self.versions(&changes).await?;
        let mut documents = Vec::new();
        for change in changes {
            if newest.get(&change.id()).is_some_and(|&held| held >= change.version()) {
                continue;
            }
            newest.insert(change.id(), change.version());
            documents.push(Stored::of(change));
        }
        // A product changed twice in one batch: only its last (newest) document counts.
        let mut seen = std::collections::HashSet::new();
        documents.reverse();
        documents.retain(|document| seen.insert(document.product.id));
        if documents.is_empty() {
            return Ok(0);
        }
        let applied = documents.len();
        self.wait(self.index().add_or_replace(&documents, Some("id")).await?)
            .await?;
        Ok(applied)
    }

    /// The versions the index holds for the changes' products.
    async fn versions(&self, changes: &[Change]) -> anyhow::Result<HashMap<Uuid, i64>> {
        let ids: Vec<String> = changes.iter().map(|change| format!("\"{}\"", change.id())).collect();
        let filter = format!("id IN [{}]", ids.join(", "));
        let index = self.index();
        let mut query = DocumentsQuery::new(&index);
        query
            .with_filter(&filter)
            .with_fields(["id", "version"])
            .with_limit(changes.len());
        let held = query.execute::<StoredVersion>().await?;
        Ok(held.results.into_iter().map(|held| (held.id, held.version)).collect())
    }

    /// See [`crate::index::SearchIndex::search`]. A failure Meilisearch may get over (it is
    /// unreachable, timed out or overloaded) is tried again after a pause, and is
    /// [`Unavailable`] if it persists.
    pub async fn search(&self, query: &SearchQuery) -> anyhow::Result<SearchResults> {
        let mut pauses = SEARCH_RETRIES.iter();
        loop {
            match self.search_once(query).await {
                Ok(results) => return Ok(results),
                Err(error) if transient(&error) => match pauses.next() {
                    Some(pause) => tokio::time::sleep(*pause).await,
                    None => return Err(Unavailable(error.to_string()).into()),
                },
                Err(error) => return Err(error.into()),
            }
        }
    }

    async fn search_once(&self, query: &SearchQuery) -> Result<SearchResults, Error> {
        let started = Instant::now();
        let words = query.q.trim();
        let filter = filter(query, true);
        let sort: &[&str] = match query.sort {
            SortOrder::PriceAsc => &["price_minor:asc"],
            SortOrder::PriceDesc => &["price_minor:desc"],
            SortOrder::Newest => &["created_ts:desc"],
            // Nothing to rank by without words: newest first, as the embedded index does.
            SortOrder::Relevance if words.is_empty() => &["created_ts:desc"],
            SortOrder::Relevance => &[],
        };
        // A page beyond the deepest Meilisearch pages through holds nothing; still count.
        let (page, per_page) = if query.offset() < MAX_TOTAL_HITS as u64 {
            (query.page as usize, query.per_page as usize)
        } else {
            (1, 0)
        };
        let index = self.index();
        let mut search = index.search();
        search
            .with_query(words)
            .with_filter(&filter)
            .with_matching_strategy(MatchingStrategies::ALL)
            .with_page(page)
            .with_hits_per_page(per_page)
            .with_show_matches_position(true);
        if !sort.is_empty() {
            search.with_sort(sort);
        }
        let category_facet: &[&str] = &["category"];
        if query.category.is_none() {
            search.with_facets(Selectors::Some(category_facet));
        }
        let results = search.execute::<Stored>().await?;
        let facet_source = match query.category {
            None => results.facet_distribution.clone(),
            // Facets count every category, as if no category were chosen.
            Some(_) => {
                let unfiltered = self::filter(query, false);
                index
                    .search()
                    .with_query(words)
                    .with_filter(&unfiltered)
                    .with_matching_strategy(MatchingStrategies::ALL)
                    .with_page(1)
                    .with_hits_per_page(0)
                    .with_facets(Selectors::Some(category_facet))
                    .execute::<Stored>()
                    .await?
                    .facet_distribution
            }
        };
        let facets = facet_source
            .and_then(|mut facets| facets.remove("category"))
            .unwrap_or_default()
            .into_iter()
            .map(|(category, count)| (category, count as u64))
            .collect();
        Ok(SearchResults {
            total: results.total_hits.unwrap_or(0) as u64,
            hits: results.hits.into_iter().map(hit).collect(),
            facets,
            processing_time_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }

    /// How many products are searchable (tombstones not counted).
    pub async fn document_count(&self) -> anyhow::Result<u64> {
        let results = self
            .index()
            .search()
            .with_filter("live = true")
            .with_page(1)
            .with_hits_per_page(0)
            .execute::<Stored>()
            .await?;
        Ok(results.total_hits.unwrap_or(0) as u64)
    }

    /// Creates an empty index beside the live one.
    pub async fn rebuild(&self) -> anyhow::Result<Rebuild> {
        let uid = format!("{}{REBUILD_MARKER}{}", self.uid, Uuid::now_v7().simple());
        self.create(&uid).await?;
        Ok(Rebuild {
            index: self.client.index(uid),
            tasks: Vec::new(),
        })
    }

    /// Waits for the rebuild's documents, swaps it with the live index in one Meilisearch task,
    /// and deletes the previous documents (now under the rebuild's name).
    pub async fn swap_in(&self, rebuild: Rebuild) -> anyhow::Result<()> {
        for task in rebuild.tasks {
            self.wait(task).await?;
        }
        let swap = SwapIndexes {
            indexes: (self.uid.clone(), rebuild.index.uid.clone()),
            rename: None,
        };
        self.wait(self.client.swap_indexes([&swap]).await?).await?;
        self.wait(rebuild.index.delete().await?).await
    }
}

impl Rebuild {
    /// Queues the products for the new index (awaited at the swap).
    pub async fn add(&mut self, products: &[ProductDocument]) -> anyhow::Result<()> {
        let documents: Vec<_> = products
            .iter()
            .cloned()
            .map(|p| Stored::of(Change::Upsert(p)))
            .collect();
        let task = self.index.add_or_replace(&documents, Some("id")).await?;
        self.tasks.push(task);
        Ok(())
    }
}

/// Whether Meilisearch may answer if asked again: it could not be reached or timed out, was
/// overloaded (408, 429) or failed inside (5xx, or an error of type `internal`).
fn transient(error: &Error) -> bool {
    match error {
        Error::HttpError(error) => error.is_connect() || error.is_timeout() || error.is_request(),
        Error::Timeout => true,
        Error::MeilisearchCommunication(error) => matches!(error.status_code, 408 | 429 | 500..),
        Error::Meilisearch(error) => error.error_type == ErrorType::Internal,
        _ => false,
    }
}

fn settings() -> Settings {
    Settings::new()
        // Earlier attributes rank higher: a name match beats a description match.
        .with_searchable_attributes(["name", "description"])
        .with_filterable_attributes(["id", "live", "category", "price_minor", "in_stock"])
        .with_sortable_attributes(["price_minor", "created_ts"])
        // An explicit sort decides the order; relevance only breaks ties.
        .with_ranking_rules(["sort", "words", "typo", "proximity", "attribute", "exactness"])
        .with_typo_tolerance(TypoToleranceSettings {
            enabled: Some(true),
            min_word_size_for_typos: Some(MinWordSizeForTypos {
                one_typo: Some(5),
                // One typo at most, as the embedded index allows.
                two_typos: Some(255),
            }),
            ..Default::default()
        })
        .with_pagination(PaginationSetting {
            max_total_hits: MAX_TOTAL_HITS,
        })
        .with_faceting(FacetingSettings {
            max_values_per_facet: 1_000,
            sort_facet_values_by: None,
        })
}

/// The query's filters as a Meilisearch filter expression.
fn filter(query: &SearchQuery, with_category: bool) -> String {
    let mut parts = vec!["live = true".to_owned()];
    if let Some(category) = query.category.as_ref().filter(|_| with_category) {
        parts.push(format!(
            "category = \"{}\"",
            category.replace('\\', "\\\\").replace('"', "\\\"")
        ));
    }
    if let Some(min) = query.min_price {
        parts.push(format!("price_minor >= {min}"));
    }
    if let Some(max) = query.max_price {
        parts.push(format!("price_minor <= {max}"));
    }
    if let Some(in_stock) = query.in_stock {
        parts.push(format!("in_stock = {in_stock}"));
    }
    parts.join(" AND ")
}

fn hit(result: SearchResult<Stored>) -> Hit {
    let product = result.result.product;
    let positions = result.matches_position.unwrap_or_default();
    let marked = |field: &str, text: &str| {
        let mut spans: Vec<Range<usize>> = positions
            .get(field)
            .map(|ranges| {
                ranges
                    .iter()
                    .map(|r: &MatchRange| r.start..r.start + r.length)
                    .collect()
            })
            .unwrap_or_default();
        spans.sort_by_key(|span| span.start);
        highlight::mark(text, spans.into_iter().map(|span| highlight::to_word_end(text, span)))
    };
    Hit {
        highlighted_name: marked("name", &product.name),
        highlighted_description: marked("description", &product.description),
        product,
    }
}

#[cfg(test)]
mod tests {
    use meilisearch_sdk::errors::MeilisearchCommunicationError;

    use super::*;

    fn answered(status_code: u16) -> Error {
        Error::MeilisearchCommunication(MeilisearchCommunicationError {
            status_code,
            message: None,
            url: "http://meili/indexes/products/search".into(),
        })
    }

    #[test]
    fn overload_timeouts_and_server_errors_are_transient_and_bad_requests_are_not() {
        for status in [408, 429, 500, 503] {
            assert!(transient(&answered(status)), "{status}");
        }
        for status in [400, 401, 404] {
            assert!(!transient(&answered(status)), "{status}");
        }
        assert!(transient(&Error::Timeout));
        assert!(!transient(&Error::InvalidRequest));
    }

    #[tokio::test]
    async fn a_search_meilisearch_cannot_answer_is_unavailable_after_its_retries() {
        // A port nothing listens on: Meilisearch down after the service connected to it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let down = MeiliIndex {
            client: Client::new(format!("http://127.0.0.1:{port}"), None::<String>).unwrap(),
            uid: "products".into(),
        };
        let query = SearchQuery {
            q: "wireless".into(),
            category: None,
            min_price: None,
            max_price: None,
            in_stock: None,
            sort: SortOrder::Relevance,
            page: 1,
            per_page: 10,
        };
        let error = down.search(&query).await.unwrap_err();
        assert!(error.downcast_ref::<Unavailable>().is_some(), "{error:#}");

        // Through the API, that is a 503 problem, not a 500. (Its database is down too:
        // searching does not need it.)
        let db = sqlx::postgres::PgPoolOptions::new()
            .connect_lazy(&format!("postgres://root@127.0.0.1:{port}/search"))
            .unwrap();
        let index = crate::index::SearchIndex::Meilisearch(std::sync::Arc::new(down));
        let app = shop_testkit::TestApp::spawn(crate::app(db, shop_testkit::identity_key(), index)).await;
        let problem = app
            .get("/api/search?q=wireless", &shop_testkit::Actor::Anonymous)
            .await
            .expect_problem(503, "unavailable");
        assert_eq!(
            problem["detail"],
            "service unavailable: the search engine is unavailable; try again shortly"
        );
    }
}
