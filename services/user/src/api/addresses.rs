//! The signed-in user's shipping addresses. Another user's address is answered exactly like
//! one that does not exist.

use axum::{extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shop_contracts::Address;
use shop_platform::{ApiError, ApiResult, Caller, Json, Path};
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    domain::address::MAX_PER_USER,
    store::{
        addresses::{self, AddressRow},
        users,
    },
};

/// A saved address: the [`Address`] as it was stored (parsed, so checkout takes it as it is,
/// less its id and times), absent parts as `null`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AddressView {
    pub id: Uuid,
    pub recipient: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub phone: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<AddressRow> for AddressView {
    fn from(row: AddressRow) -> Self {
        Self {
            id: row.id,
            recipient: row.recipient,
            line1: row.line1,
            line2: row.line2,
            city: row.city,
            region: row.region,
            postal_code: row.postal_code,
            country: row.country,
            phone: row.phone,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Your shipping addresses, oldest first.
#[utoipa::path(get, path = "/api/users/me/addresses", tag = "addresses", security(("identity" = [])),
    responses(
        (status = 200, description = "Your addresses", body = Vec<AddressView>),
        (status = 401, response = shop_platform::openapi::Unauthorized),
        (status = 404, response = shop_platform::openapi::NotFound),
    ))]
pub(super) async fn list_addresses(
    State(db): State<PgPool>,
    Caller(caller): Caller,
) -> ApiResult<Json<Vec<AddressView>>> {
    if !users::exists(&db, caller.user_id).await? {
        return Err(ApiError::NotFound("user"));
    }
    let rows = addresses::list(&db, caller.user_id).await?;
    Ok(Json(rows.into_iter().map(AddressView::from).collect()))
}

/// Add a shipping address (at most 20 per account).
#[utoipa::path(post, path = "/api/users/me/addresses", tag = "addresses", request_body = Address,
    security(("identity" = [])),
    responses(
        (status = 201, description = "Address added", body = AddressView),
        (status = 400, response = shop_platform::openapi::BadRequest),
        (status = 401, response = shop_platform::openapi::Unauthorized),
        (status = 404, response = shop_platform::openapi::NotFound),
        (status = 409, response = shop_platform::openapi::Conflict),
        (status = 422, response = shop_platform::openapi::Invalid),
    ))]
pub(super) async fn create_address(
    State(db): State<PgPool>,
    Caller(caller): Caller,
    Json(address): Json<Address>,
) -> ApiResult<(StatusCode, Json<AddressView>)> {
    let mut tx = db.begin().await?;
    // Holding the account row makes the count and the insert atomic against parallel requests.
    if !users::lock(&mut *tx, caller.user_id).await? {
        return Err(ApiError::NotFound("user"));
    }
    if addresses::count(&mut *tx, caller.user_id).await? >= MAX_PER_USER {
        return Err(ApiError::Conflict(format!(
            "an account can have at most {MAX_PER_USER} addresses; delete one first"
        )));
    }
    let row = addresses::insert(&mut *tx, caller.user_id, &address).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// Replace one of your addresses with a complete new version.
#[utoipa::path(put, path = "/api/users/me/addresses/{id}", tag = "addresses", request_body = Address,
    security(("identity" = [])),
    params(("id" = Uuid, Path, description = "The address's id")),
    responses(
        (status = 200, description = "The replaced address", body = AddressView),
        (status = 400, response = shop_platform::openapi::BadRequest),
        (status = 401, response = shop_platform::openapi::Unauthorized),
        (status = 404, response = shop_platform::openapi::NotFound),
        (status = 422, response = shop_platform::openapi::Invalid),
    ))]
pub(super) async fn replace_address(
    State(db): State<PgPool>,
    Caller(caller): Caller,
    Path(id): Path<Uuid>,
    Json(address): Json<Address>,
) -> ApiResult<Json<AddressView>> {
    let row = addresses::replace(&db, caller.user_id, id, &address)
        .await?
        .ok_or(ApiError::NotFound("address"))?;
    Ok(Json(row.into()))
}

/// Delete one of your addresses.
#[utoipa::path(delete, path = "/api/users/me/addresses/{id}", tag = "addresses", security(("identity" = [])),
    params(("id" = Uuid, Path, description = "The address's id")),
    responses(
        (status = 204, description = "Address deleted"),
        (status = 401, response = shop_platform::openapi::Unauthorized),
        (status = 404, response = shop_platform::openapi::NotFound),
    ))]
pub(super) async fn delete_address(
    State(db): State<PgPool>,
    Caller(caller): Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    if !addresses::delete(&db, caller.user_id, id).await? {
        return Err(ApiError::NotFound("address"));
    }
    Ok(StatusCode::NO_CONTENT)
}
