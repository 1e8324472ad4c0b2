//! Accounts: who they are, how they sign in, and the role they hold.

use chrono::{DateTime, Utc};
use shop_contracts::Role;
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use crate::domain::{DisplayName, Email, HashedPassword};

/// The unique index on `lower(email)`.
pub const EMAIL_TAKEN: &str = "users_email_key";

#[derive(Debug)]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
    pub version: i64,
}

/// What signing in needs to know about an account.
pub struct CredentialsRow {
    pub id: Uuid,
    pub email: String,
    pub role: String,
    pub password_hash: String,
}

pub struct NewUser<'a> {
    pub email: &'a Email,
    pub display_name: &'a DisplayName,
    pub role: Role,
    pub password_hash: &'a HashedPassword,
}

/// Fails with a violation of [`EMAIL_TAKEN`] when the address is already registered, in any case.
pub async fn insert(db: impl PgExecutor<'_>, user: NewUser<'_>) -> sqlx::Result<UserRow> {
    sqlx::query_as!(
        UserRow,
        "INSERT INTO users (id, email, display_name, role, password_hash)
         VALUES ($1, $2, $3, $4, $5)
         RETURNING id, email, display_name, role, created_at, version",
        Uuid::now_v7(),
        user.email.as_str(),
        user.display_name.as_str(),
        user.role.as_str(),
        user.password_hash.as_str(),
    )
    .fetch_one(db)
    .await
}

pub async fn find(db: &PgPool, id: Uuid) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as!(
        UserRow,
        "SELECT id, email, display_name, role, created_at, version FROM users WHERE id = $1",
        id
    )
    .fetch_optional(db)
    .await
}

pub async fn exists(db: &PgPool, id: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM users WHERE id = $1) AS "exists!""#, id)
        .fetch_one(db)
        .await
}

/// Locks the account row until the transaction ends, serialising changes to what it owns.
/// False when there is no such account.
pub async fn lock(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<bool> {
    let locked: Option<i32> = sqlx::query_scalar!(r#"SELECT 1 AS "locked!" FROM users WHERE id = $1 FOR UPDATE"#, id)
        .fetch_optional(db)
        .await?;
    Ok(locked.is_some())
}

/// Locks the account row until the transaction ends and returns its version; `None` when
/// there is no such account.
pub async fn lock_version(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!("SELECT version FROM users WHERE id = $1 FOR UPDATE", id)
        .fetch_optional(db)
        .await
}

pub async fn credentials_by_email(db: &PgPool, email: &Email) -> sqlx::Result<Option<CredentialsRow>> {
    sqlx::query_as!(
        CredentialsRow,
        "SELECT id, email, role, password_hash FROM users WHERE lower(email) = lower($1)",
        email.as_str()
    )
    .fetch_optional(db)
    .await
}

pub async fn credentials_by_id(db: &PgPool, id: Uuid) -> sqlx::Result<Option<CredentialsRow>> {
    sqlx::query_as!(
        CredentialsRow,
        "SELECT id, email, role, password_hash FROM users WHERE id = $1",
        id
    )
    .fetch_optional(db)
    .await
}

/// Sets whichever of the display name and password hash are given, bumping the version when
/// the display name changes; `None` when there is no such account.
pub async fn update_profile(
    db: impl PgExecutor<'_>,
    id: Uuid,
    display_name: Option<&DisplayName>,
    password_hash: Option<&HashedPassword>,
) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as!(
        UserRow,
        "UPDATE users
         SET display_name = COALESCE($2, display_name),
             password_hash = COALESCE($3, password_hash),
             version = version + CASE WHEN COALESCE($2, display_name) <> display_name THEN 1 ELSE 0 END,
             updated_at = now()
         WHERE id = $1
         RETURNING id, email, display_name, role, created_at, version",
        id,
        display_name.map(DisplayName::as_str),
        password_hash.map(HashedPassword::as_str),
    )
    .fetch_optional(db)
    .await
}

/// Sets the account's role; `None` when there is no such account.
pub async fn set_role(db: &PgPool, id: Uuid, role: &str) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as!(
        UserRow,
        "UPDATE users SET role = $2, updated_at = now() WHERE id = $1
         RETURNING id, email, display_name, role, created_at, version",
        id,
        role,
    )
    .fetch_optional(db)
    .await
}
