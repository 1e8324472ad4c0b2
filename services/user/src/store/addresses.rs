//! Shipping addresses, always selected by owner as well as id so nobody reaches another
//! user's address.

use chrono::{DateTime, Utc};
use shop_contracts::{
    Address,
    address::{AddressLine, PhoneNumber, Region},
};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

#[derive(Debug)]
pub struct AddressRow {
    pub id: Uuid,
    pub recipient: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    pub country: String,
    pub phone: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub async fn list(db: &PgPool, user_id: Uuid) -> sqlx::Result<Vec<AddressRow>> {
    sqlx::query_as!(AddressRow, "SELECT id, recipient, line1, line2, city, region, postal_code, country, phone, created_at, updated_at FROM addresses WHERE user_id = $1 ORDER BY created_at, id", user_id)
    .fetch_all(db)
    .await
}

pub async fn count(db: impl PgExecutor<'_>, user_id: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM addresses WHERE user_id = $1"#,
        user_id
    )
    .fetch_one(db)
    .await
}

pub async fn insert(db: impl PgExecutor<'_>, user_id: Uuid, address: &Address) -> sqlx::Result<AddressRow> {
    sqlx::query_as!(
        AddressRow,
        "INSERT INTO addresses (id, user_id, recipient, line1, line2, city, region, postal_code, country, phone)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         RETURNING id, recipient, line1, line2, city, region, postal_code, country, phone, created_at, updated_at",
        Uuid::now_v7(),
        user_id,
        address.recipient.as_str(),
        address.line1.as_str(),
        address.line2.as_ref().map(AddressLine::as_str),
        address.city.as_str(),
        address.region.as_ref().map(Region::as_str),
        address.postal_code.as_str(),
        address.country.as_str(),
        address.phone.as_ref().map(PhoneNumber::as_str),
    )
    .fetch_one(db)
    .await
}

/// Replaces every field of `user_id`'s address `id`; `None` if they have no such address.
pub async fn replace(db: &PgPool, user_id: Uuid, id: Uuid, address: &Address) -> sqlx::Result<Option<AddressRow>> {
    sqlx::query_as!(
        AddressRow,
        "UPDATE addresses
         SET recipient = $3, line1 = $4, line2 = $5, city = $6, region = $7, postal_code = $8,
             country = $9, phone = $10, updated_at = now()
         WHERE id = $1 AND user_id = $2
         RETURNING id, recipient, line1, line2, city, region, postal_code, country, phone, created_at, updated_at",
        id,
        user_id,
        address.recipient.as_str(),
        address.line1.as_str(),
        address.line2.as_ref().map(AddressLine::as_str),
        address.city.as_str(),
        address.region.as_ref().map(Region::as_str),
        address.postal_code.as_str(),
        address.country.as_str(),
        address.phone.as_ref().map(PhoneNumber::as_str),
    )
    .fetch_optional(db)
    .await
}

/// False if `user_id` has no address `id`.
pub async fn delete(db: &PgPool, user_id: Uuid, id: Uuid) -> sqlx::Result<bool> {
    let result = sqlx::query!("DELETE FROM addresses WHERE id = $1 AND user_id = $2", id, user_id)
        .execute(db)
        .await?;
    Ok(result.rows_affected() == 1)
}
