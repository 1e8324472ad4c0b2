//! The internal credential check behind the gateway's sign-in. The gateway owns sessions and
//! tokens; this service only says whose password it is.

use axum::extract::State;
use serde::Deserialize;
use shop_contracts::identity::{VERIFY_CREDENTIALS_PATH, VerifiedCredentials};
use shop_platform::{ApiError, ApiResult, Internal, Json};
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::{
    credentials,
    domain::{Email, HashedPassword, PasswordAttempt},
    store::users,
};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyCredentialsRequest {
    pub email: Email,
    pub password: PasswordAttempt,
}

/// Check an e-mail address and password (for the gateway's sign-in; not routed publicly).
///
/// Only the shop's own services may ask (a service token; the gateway rate-limits the
/// sign-ins it asks for), so nobody can try passwords here at the database's speed. Unknown
/// addresses and wrong passwords get the same answer, in the same time.
#[utoipa::path(post, path = VERIFY_CREDENTIALS_PATH, tag = "internal", security(("identity" = [])),
    request_body = VerifyCredentialsRequest,
    responses(
        (status = 200, description = "The credentials are right", body = VerifiedCredentials),
        (status = 400, response = shop_platform::openapi::BadRequest),
        (status = 401, response = shop_platform::openapi::Unauthorized),
        (status = 422, response = shop_platform::openapi::Invalid),
    ))]
pub(super) async fn verify_credentials(
    _: Internal,
    State(db): State<PgPool>,
    Json(request): Json<VerifyCredentialsRequest>,
) -> ApiResult<Json<VerifiedCredentials>> {
    let account = users::credentials_by_email(&db, &request.email).await?;
    let stored = account
        .as_ref()
        .map(|a| HashedPassword::from_stored(a.password_hash.clone()));
    let matches = credentials::verify(request.password, stored).await?;
    match account {
        Some(account) if matches => Ok(Json(VerifiedCredentials {
            user_id: account.id,
            roles: vec![super::parse_role(&account.role)?],
        })),
        _ => Err(ApiError::Unauthorized("invalid email or password".into())),
    }
}
