//! Accounts: registration, the signed-in user's own profile, and look-ups for administrators.

use axum::{extract::State, http::StatusCode, response::AppendHeaders};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shop_contracts::{
    Role,
    events::Cause,
    identity::{END_SESSIONS_HEADER, EndSessions},
};
use shop_messaging::wakeup;
use shop_platform::{Admin, ApiError, ApiResult, Caller, Json, Path, ResultExt};
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    credentials,
    domain::{DisplayName, Email, HashedPassword, Password, PasswordAttempt, user::DEFAULT_ROLE},
    events,
    store::users::{self, NewUser, UserRow},
};

/// An account as its owner and administrators see it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<UserRow> for UserView {
    type Error = ApiError;
    fn try_from(row: UserRow) -> Result<Self, Self::Error> {
        Ok(Self {
            role: super::parse_role(&row.role)?,
            id: row.id,
            email: row.email,
            display_name: row.display_name,
            created_at: row.created_at,
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub email: Email,
    /// 10 to 128 characters; not a common password and not containing the e-mail's name part.
    pub password: Password,
    pub display_name: DisplayName,
}

/// Changes to the signed-in user's profile; at least one of them. A password change needs
/// both `current_password` and `new_password`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProfileRequest {
    pub display_name: Option<DisplayName>,
    pub current_password: Option<PasswordAttempt>,
    /// 10 to 128 characters; not a common password and not containing the e-mail's name part.
    pub new_password: Option<Password>,
}

const EMAIL_TAKEN: &str = "an account with this email already exists";

/// Register a new customer account.
#[utoipa::path(post, path = "/api/users", tag = "users", request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created", body = UserView),
        (status = 400, response = shop_platform::openapi::BadRequest),
        (status = 409, response = shop_platform::openapi::Conflict),
        (status = 422, response = shop_platform::openapi::Invalid),
    ))]
pub(super) async fn register(
    State(db): State<PgPool>,
    Json(request): Json<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    request
        .password
        .check_against(&request.email)
        .map_err(|e| ApiError::invalid("password", e))?;
    let password_hash = credentials::hash(&request.password).await?;
    let new_user = NewUser {
        email: &request.email,
        display_name: &request.display_name,
        role: DEFAULT_ROLE,
        password_hash: &password_hash,
    };
    let mut tx = db.begin().await?;
    let row = users::insert(&mut *tx, new_user)
        .await
        .on_constraint(users::EMAIL_TAKEN, || ApiError::Conflict(EMAIL_TAKEN.into()))?;
    events::user_registered(&mut tx, &row, Cause::new_flow()).await?;
    wakeup::commit(tx).await?;
    Ok((StatusCode::CREATED, Json(row.try_into()?)))
}

/// The signed-in user's profile.
#[utoipa::path(get, path = "/api/users/me", tag = "users", security(("identity" = [])),
    responses(
        (status = 200, description = "Your profile", body = UserView),
        (status = 401, response = shop_platform::openapi::Unauthorized),
        (status = 404, response = shop_platform::openapi::NotFound),
    ))]
pub(super) async fn get_me(State(db): State<PgPool>, Caller(caller): Caller) -> ApiResult<Json<UserView>> {
    let row = users::find(&db, caller.user_id)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    Ok(Json(row.try_into()?))
}

/// Change the signed-in user's display name and/or password.
#[utoipa::path(patch, path = "/api/users/me", tag = "users", request_body = UpdateProfileRequest,
    security(("identity" = [])),
    responses(
        (status = 200, description = "The updated profile; a new password ends your other sessions", body = UserView),
        (status = 400, response = shop_platform::openapi::BadRequest),
        (status = 401, response = shop_platform::openapi::Unauthorized),
        (status = 404, response = shop_platform::openapi::NotFound),
        (status = 422, response = shop_platform::openapi::Invalid),
    ))]
pub(super) async fn update_me(
    State(db): State<PgPool>,
    Caller(caller): Caller,
    Json(request): Json<UpdateProfileRequest>,
) -> ApiResult<(AppendHeaders<Vec<(&'static str, String)>>, Json<UserView>)> {
    let UpdateProfileRequest {
        display_name,
        current_password,
        new_password,
    } = request;
    let password_change = match (current_password, new_password) {
        (Some(current), Some(new)) => Some((current, new)),
        (None, None) => None,
        (None, Some(_)) => {
            return Err(ApiError::invalid(
                "current_password",
                "is required to set a new password",
            ));
        }
        (Some(_), None) => return Err(ApiError::invalid("new_password", "is required with current_password")),
    };
    if display_name.is_none() && password_change.is_none() {
        return Err(ApiError::invalid(
            "body",
            "give display_name, or current_password and new_password, or both",
        ));
    }
    let new_hash = match password_change {
        Some((current, new)) => Some(change_password(&db, caller.user_id, current, new).await?),
        None => None,
    };
    let mut tx = db.begin().await?;
    let before = users::lock_version(&mut *tx, caller.user_id)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    let row = users::update_profile(&mut *tx, caller.user_id, display_name.as_ref(), new_hash.as_ref())
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    if row.version != before {
        events::user_updated(&mut tx, &row, Cause::new_flow()).await?;
    }
    wakeup::commit(tx).await?;
    // A new password ends the user's other sessions; the one that changed it stays signed in.
    let end_sessions = new_hash.map(|_| {
        let end = EndSessions {
            user_id: caller.user_id,
            keep_current: true,
        };
        (END_SESSIONS_HEADER, end.header_value())
    });
    Ok((AppendHeaders(end_sessions.into_iter().collect()), Json(row.try_into()?)))
}

/// Checks `current` against the stored hash and `new` against the account's e-mail, and
/// returns the hash to store.
async fn change_password(
    db: &PgPool,
    user_id: Uuid,
    current: PasswordAttempt,
    new: Password,
) -> ApiResult<HashedPassword> {
    let account = users::credentials_by_id(db, user_id)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    let stored = HashedPassword::from_stored(account.password_hash);
    if !credentials::verify(current, Some(stored)).await? {
        return Err(ApiError::invalid("current_password", "is not your current password"));
    }
    let email = Email::parse(&account.email)
        .map_err(|e| anyhow::anyhow!("stored email of user {user_id} does not parse: {e}"))?;
    new.check_against(&email)
        .map_err(|e| ApiError::invalid("new_password", e))?;
    Ok(credentials::hash(&new).await?)
}

/// Any account, for administrators.
#[utoipa::path(get, path = "/api/users/{id}", tag = "users", security(("identity" = [])),
    params(("id" = Uuid, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The account", body = UserView),
        (status = 401, response = shop_platform::openapi::Unauthorized),
        (status = 403, response = shop_platform::openapi::Forbidden),
        (status = 404, response = shop_platform::openapi::NotFound),
    ))]
pub(super) async fn get_user(
    State(db): State<PgPool>,
    Admin(_admin): Admin,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<UserView>> {
    let row = users::find(&db, id).await?.ok_or(ApiError::NotFound("user"))?;
    Ok(Json(row.try_into()?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    pub role: Role,
}

/// Give an account another role, for administrators. Every session of that user ends: they
/// sign in again with the new role. An administrator cannot change their own role (409): that
/// would sign them out, and demoting the last administrator would leave nobody to undo it.
#[utoipa::path(put, path = "/api/users/{id}/role", tag = "users", request_body = RoleChange,
    security(("identity" = [])),
    params(("id" = Uuid, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The account with its new role", body = UserView),
        (status = 400, response = shop_platform::openapi::BadRequest),
        (status = 401, response = shop_platform::openapi::Unauthorized),
        (status = 403, response = shop_platform::openapi::Forbidden),
        (status = 404, response = shop_platform::openapi::NotFound),
        (status = 409, response = shop_platform::openapi::Conflict),
        (status = 422, response = shop_platform::openapi::Invalid),
    ))]
pub(super) async fn change_role(
    State(db): State<PgPool>,
    Admin(admin): Admin,
    Path(id): Path<Uuid>,
    Json(change): Json<RoleChange>,
) -> ApiResult<(AppendHeaders<[(&'static str, String); 1]>, Json<UserView>)> {
    if id == admin.user_id {
        return Err(ApiError::Conflict(
            "administrators cannot change their own role; another administrator can".into(),
        ));
    }
    let row = users::set_role(&db, id, change.role.as_str())
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    let end = EndSessions {
        user_id: id,
        keep_current: false,
    };
    Ok((
        AppendHeaders([(END_SESSIONS_HEADER, end.header_value())]),
        Json(row.try_into()?),
    ))
}
