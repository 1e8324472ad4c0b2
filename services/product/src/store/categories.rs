//! Category rows.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::domain::category::{CategoryDescription, CategoryName, CategorySlug};

#[derive(Debug, Clone)]
pub struct CategoryRow {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub product_count: i64,
    pub created_at: DateTime<Utc>,
}

pub async fn list(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<CategoryRow>> {
    sqlx::query_as!(
        CategoryRow,
        "SELECT c.id, c.slug, c.name, c.description, c.created_at,
        (SELECT count(*) FROM products p WHERE p.category_id = c.id AND p.active) AS \"product_count!\"
    FROM categories c ORDER BY c.name",
    )
    .fetch_all(db)
    .await
}

pub async fn find(db: impl PgExecutor<'_>, slug: &str) -> sqlx::Result<Option<CategoryRow>> {
    sqlx::query_as!(
        CategoryRow,
        "SELECT c.id, c.slug, c.name, c.description, c.created_at,
        (SELECT count(*) FROM products p WHERE p.category_id = c.id AND p.active) AS \"product_count!\"
    FROM categories c WHERE c.slug = $1",
        slug,
    )
    .fetch_optional(db)
    .await
}

pub async fn id_of(db: impl PgExecutor<'_>, slug: &CategorySlug) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar!("SELECT id FROM categories WHERE slug = $1", slug.as_str())
        .fetch_optional(db)
        .await
}

/// Inserts a category; the slug's unique constraint is `categories_slug_key`.
pub async fn insert(
    db: impl PgExecutor<'_>,
    slug: &CategorySlug,
    name: &CategoryName,
    description: &CategoryDescription,
) -> sqlx::Result<Uuid> {
    sqlx::query_scalar!(
        "INSERT INTO categories (id, slug, name, description) VALUES ($1, $2, $3, $4) RETURNING id",
        Uuid::now_v7(),
        slug.as_str(),
        name.as_str(),
        description.as_str(),
    )
    .fetch_one(db)
    .await
}
