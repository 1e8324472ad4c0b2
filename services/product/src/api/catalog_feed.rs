//! `/internal/catalog/products`: the whole catalog as snapshots, for services that keep a
//! replica of it. Not routed by the gateway.

use axum::extract::State;
use serde::Deserialize;
use shop_contracts::catalog::{CATALOG_FEED_PATH, CatalogPage, ProductSnapshot};
use shop_platform::{ApiError, ApiResult, Internal, Json, Query, openapi as responses};
use sqlx::PgPool;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{api::AppState, store::products};

const MAX_FEED_PAGE: u32 = 1000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(catalog_feed))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct FeedParams {
    /// Return products whose id is greater than this (the previous page's `next_after`).
    after: Option<Uuid>,
    /// Page size, 1 to 1000 (default 500).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// Every product, inactive ones included, as replicable snapshots in id order. For the shop's
/// own services (a service token).
#[utoipa::path(get, path = CATALOG_FEED_PATH, tag = "internal", params(FeedParams), security(("identity" = [])),
    responses(
        (status = 200, body = CatalogPage),
        (status = 401, response = responses::Unauthorized),
        (status = 422, response = responses::Invalid),
    ))]
async fn catalog_feed(
    _: Internal,
    State(db): State<PgPool>,
    Query(params): Query<FeedParams>,
) -> ApiResult<Json<CatalogPage>> {
    let limit = params.limit.unwrap_or(500);
    if !(1..=MAX_FEED_PAGE).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            format!("must be between 1 and {MAX_FEED_PAGE}"),
        ));
    }
    let rows = products::feed(&db, params.after, limit).await?;
    let next_after = (rows.len() == limit as usize)
        .then(|| rows.last().map(|row| row.id))
        .flatten();
    let items = rows
        .into_iter()
        .map(ProductSnapshot::try_from)
        .collect::<Result<_, _>>()?;
    Ok(Json(CatalogPage { items, next_after }))
}
