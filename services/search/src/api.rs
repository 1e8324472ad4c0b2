//! `GET /api/search`: full-text search and filtered browsing of the active catalog.

use std::{convert::Infallible, time::Instant};

use axum::{
    body::Body,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use futures_util::stream;
use serde::Serialize;
use shop_contracts::{
    Currency, Money,
    search::{HitView, SearchParams, SearchQuery, SearchView},
};
use shop_platform::{ApiError, ApiResult, Internal, Json, Query, openapi::IdentitySecurity};
use tokio::sync::mpsc;
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    AppState,
    document::{Hit, SearchResults},
    index::Unavailable,
    reindex::Progress,
};

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

fn parse(params: SearchParams) -> ApiResult<SearchQuery> {
    params
        .parse()
        .map_err(|invalid| ApiError::invalid_fields(invalid.into_iter().map(|i| (i.field, i.message))))
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

/// A search engine that cannot answer for now is a 503 (the client may retry), anything else
/// a bug.
fn search_failed(error: anyhow::Error) -> ApiError {
    match error.downcast::<Unavailable>() {
        Ok(unavailable) => {
            tracing::warn!(error = %unavailable, "search engine unavailable");
            ApiError::Unavailable("the search engine is unavailable; try again shortly".into())
        }
        Err(error) => ApiError::Internal(error),
    }
}

/// Search the catalog, or browse it with filters.
#[utoipa::path(get, path = "/api/search", tag = "search", params(SearchParams),
    responses((status = 200, body = SearchView), (status = 422, response = shop_platform::openapi::Invalid)))]
async fn search(State(state): State<AppState>, Query(params): Query<SearchParams>) -> ApiResult<Json<SearchView>> {
    let query = parse(params)?;
    let (page, per_page) = (query.page, query.per_page);
    let results: SearchResults = state.index.search(query).await.map_err(search_failed)?;
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
///
/// Only the shop's own services and its operators' tools may ask: a service token
/// (`shop token --service`).
#[utoipa::path(post, path = "/internal/reindex", tag = "internal", security(("identity" = [])),
    responses(
        (status = 200, body = ReindexLine, content_type = "application/x-ndjson"),
        (status = 401, response = shop_platform::openapi::Unauthorized),
    ))]
async fn reindex(_: Internal, State(state): State<AppState>) -> Response {
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
