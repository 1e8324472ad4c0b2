//! `/api/categories`: browse categories; administrators create them.

use axum::{extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shop_platform::{Admin, ApiError, ApiResult, Json, Path, ResultExt, openapi as responses, replica::ReadDb};
use sqlx::PgPool;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    api::AppState,
    cache::CatalogCache,
    domain::category::{CategoryDescription, CategoryName, CategorySlug},
    store::categories::{self, CategoryRow},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_categories, create_category))
        .routes(routes!(get_category))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CategoryView {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub description: String,
    /// Active products in the category.
    pub product_count: i64,
    pub created_at: DateTime<Utc>,
}

impl From<CategoryRow> for CategoryView {
    fn from(row: CategoryRow) -> Self {
        Self {
            id: row.id,
            slug: row.slug,
            name: row.name,
            description: row.description,
            product_count: row.product_count,
            created_at: row.created_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCategory {
    pub slug: CategorySlug,
    pub name: CategoryName,
    pub description: Option<CategoryDescription>,
}

/// All categories, by name.
#[utoipa::path(get, path = "/api/categories", tag = "categories",
    responses((status = 200, body = Vec<CategoryView>)))]
async fn list_categories(
    ReadDb(db): ReadDb,
    State(catalog): State<CatalogCache>,
) -> ApiResult<Json<Vec<CategoryView>>> {
    let views = catalog
        .listing("categories", async || {
            let rows = categories::list(&db).await?;
            Ok::<_, ApiError>(Some(rows.into_iter().map(Into::into).collect()))
        })
        .await?;
    Ok(Json(views.unwrap_or_default()))
}

/// One category by slug.
#[utoipa::path(get, path = "/api/categories/{slug}", tag = "categories",
    params(("slug" = String, Path, description = "Category slug")),
    responses((status = 200, body = CategoryView), (status = 404, response = responses::NotFound)))]
async fn get_category(
    ReadDb(db): ReadDb,
    State(catalog): State<CatalogCache>,
    Path(slug): Path<String>,
) -> ApiResult<Json<CategoryView>> {
    let view = catalog
        .listing(&format!("category|{slug}"), async || {
            Ok::<_, ApiError>(categories::find(&db, &slug).await?.map(CategoryView::from))
        })
        .await?;
    Ok(Json(view.ok_or(ApiError::NotFound("category"))?))
}

/// Create a category (administrators).
#[utoipa::path(post, path = "/api/categories", tag = "categories", request_body = NewCategory,
    security(("identity" = [])),
    responses(
        (status = 201, body = CategoryView),
        (status = 400, response = responses::BadRequest),
        (status = 401, response = responses::Unauthorized),
        (status = 403, response = responses::Forbidden),
        (status = 409, response = responses::Conflict),
        (status = 422, response = responses::Invalid),
    ))]
async fn create_category(
    State(db): State<PgPool>,
    State(catalog): State<CatalogCache>,
    _: Admin,
    Json(new): Json<NewCategory>,
) -> ApiResult<(StatusCode, Json<CategoryView>)> {
    let description = new
        .description
        .unwrap_or_else(|| CategoryDescription::parse("").expect("empty is allowed"));
    categories::insert(&db, &new.slug, &new.name, &description)
        .await
        .on_constraint("categories_slug_key", || {
            ApiError::Conflict(format!("a category with slug `{}` already exists", new.slug.as_str()))
        })?;
    let row = categories::find(&db, new.slug.as_str())
        .await?
        .ok_or_else(|| anyhow::anyhow!("category vanished"))?;
    // The category exists now: a failed invalidation leaves listings old for one TTL at most.
    if let Err(error) = catalog.categories_changed().await {
        tracing::warn!(%error, "the new category is not in cached listings until their TTL passes");
    }
    Ok((StatusCode::CREATED, Json(row.into())))
}
