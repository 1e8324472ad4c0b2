//! `GET /api/search`: full-text search and filtered browsing of the active catalog.

use std::{collections::BTreeMap, convert::Infallible, time::Instant};

use axum::{
    body::Body,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use futures_util::stream;
use serde::{Deserialize, Serialize};
use shop_contracts::{Currency, Money};
use shop_platform::{ApiError, ApiResult, Json, Query, openapi::IdentitySecurity};
use tokio::sync::mpsc;
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    AppState,
    document::{Hit, MAX_PER_PAGE, SearchQuery, SearchResults, SortOrder},
    reindex::Progress,
};

const MAX_QUERY_CHARS: usize = 200;
const MAX_PAGE: u32 = 1000;

#[derive(OpenApi)]
#[openapi(
    info(title = "Search service", description = "Search the catalog: typo-tolerant full text, \
        filters, category facets and sorting, over an index fed by product events."),
    modifiers(&IdentitySecurity),
    tags(
        (name = "search", description = "Catalog search"),
        (name = "internal", description = "Operations; never exposed by the gateway"),
        (name = "operations", description = "Health and metrics"),
    )
)]
struct ApiDoc;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(search))
        .routes(routes!(reindex))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SearchParams {
    /// Words to look for (a one-letter typo in a word of five letters or more still matches).
    /// Empty or absent: browse with the filters.
    q: Option<String>,
    /// Only this category (slug).
    category: Option<String>,
    /// Lowest price, minor units, inclusive.
    min_price: Option<i64>,
    /// Highest price, minor units, inclusive.
    max_price: Option<i64>,
    in_stock: Option<bool>,
    #[param(inline)]
    sort: Option<SortOrder>,
    /// 1-based, at most 1000.
    page: Option<u32>,
    /// 1 to 100 (default 20).
    per_page: Option<u32>,
}

impl SearchParams {
    fn parse(self) -> ApiResult<SearchQuery> {
        let q = self.q.unwrap_or_default();
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(ApiError::invalid(
                "q",
                format!("must be at most {MAX_QUERY_CHARS} characters"),
            ));
        }
        if self.category.as_ref().is_some_and(|c| c.is_empty() || c.len() > 64) {
            return Err(ApiError::invalid(
                "category",
                "must be a category slug of 1 to 64 characters",
            ));
        }
        for (field, price) in [("min_price", self.min_price), ("max_price", self.max_price)] {
            if price.is_some_and(|p| p < 0) {
                return Err(ApiError::invalid(field, "must not be negative"));
            }
        }
        if let (Some(min), Some(max)) = (self.min_price, self.max_price)
            && min > max
        {
            return Err(ApiError::invalid("min_price", "must not be above max_price"));
        }
        let page = self.page.unwrap_or(1);
        if !(1..=MAX_PAGE).contains(&page) {
            return Err(ApiError::invalid("page", format!("must be between 1 and {MAX_PAGE}")));
        }
        let per_page = self.per_page.unwrap_or(crate::document::DEFAULT_PER_PAGE);
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            return Err(ApiError::invalid(
                "per_page",
                format!("must be between 1 and {MAX_PER_PAGE}"),
            ));
        }
        Ok(SearchQuery {
            q: q.trim().to_owned(),
            category: self.category,
            min_price: self.min_price,
            max_price: self.max_price,
            in_stock: self.in_stock,
            sort: self.sort.unwrap_or_default(),
            page,
            per_page,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HitView {
    pub id: Uuid,
    pub sku: String,
    pub name: String,
    pub description: String,
    pub category: String,
    pub price: Money,
    pub in_stock: bool,
    /// Name and description with the matched words in `<em>`, the rest HTML-escaped.
    pub highlighted_name: String,
    pub highlighted_description: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchView {
    pub hits: Vec<HitView>,
    /// Matches in all, not just this page.
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
    /// Matches per category, ignoring the category filter.
    pub facets: BTreeMap<String, u64>,
    pub processing_time_ms: u64,
}

fn hit_view(hit: Hit) -> anyhow::Result<HitView> {
    let product = hit.product;
    Ok(HitView {
        price: Money::new(product.price_minor, Currency::parse(&product.currency)?)?,
        id: product.id,
        sku: product.sku,
        name: product.name,
        description: product.description,
        category: product.category,
        in_stock: product.in_stock,
        highlighted_name: hit.highlighted_name,
        highlighted_description: hit.highlighted_description,
    })
}

/// Search the catalog, or browse it with filters.
#[utoipa::path(get, path = "/api/search", tag = "search", params(SearchParams),
    responses((status = 200, body = SearchView), (status = 422, response = shop_platform::openapi::Invalid)))]
async fn search(State(state): State<AppState>, Query(params): Query<SearchParams>) -> ApiResult<Json<SearchView>> {
    let query = params.parse()?;
    let (page, per_page) = (query.page, query.per_page);
    let results: SearchResults = state.index.search(query).await?;
    Ok(Json(SearchView {
        hits: results.hits.into_iter().map(hit_view).collect::<anyhow::Result<_>>()?,
        total: results.total,
        page,
        per_page,
        facets: results.facets,
        processing_time_ms: results.processing_time_ms,
    }))
}

/// One line of the reindex's answer (newline-delimited JSON): progress after each batch, then
/// the outcome.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReindexLine {
    Progress(Progress),
    /// The new index is in use.
    Done {
        /// Products in the new index.
        products: u64,
        elapsed_ms: u64,
    },
    /// The reindex stopped; the previous index is still in use.
    Failed {
        error: String,
    },
}

/// Rebuild the whole index from the catalog replica and swap it in (operators; not routed by
/// the gateway). Search keeps answering from the old index until the swap. The answer streams
/// one JSON object per line: `{"progress":{"done":…,"total":…}}` after each batch, then
/// `{"done":{"products":…,"elapsed_ms":…}}` or `{"failed":{"error":…}}`.
#[utoipa::path(post, path = "/internal/reindex", tag = "internal",
    responses((status = 200, body = ReindexLine, content_type = "application/x-ndjson")))]
async fn reindex(State(state): State<AppState>) -> Response {
    let (lines, received) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let started = Instant::now();
        let progress = |progress| drop(lines.send(ReindexLine::Progress(progress)));
        let last = match crate::reindex::reindex(&state.db, &state.index, progress).await {
            Ok(products) => ReindexLine::Done {
                products,
                elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            },
            Err(error) => {
                tracing::error!(error = format!("{error:#}"), "reindex failed");
                ReindexLine::Failed {
                    error: format!("{error:#}"),
                }
            }
        };
        // The caller may have gone; the reindex has finished either way.
        let _ = lines.send(last);
    });
    let body = stream::unfold(received, |mut received| async move {
        let line = received.recv().await?;
        let mut json = serde_json::to_vec(&line).unwrap_or_default();
        json.push(b'\n');
        Some((Ok::<_, Infallible>(json), received))
    });
    (
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(body),
    )
        .into_response()
}
