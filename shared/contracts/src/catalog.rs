//! The product catalog as other services replicate it.
//!
//! The product service serves these snapshots on an internal endpoint; the order service (and
//! later the search indexer) keep read replicas from them. Each snapshot is complete, so a
//! replica can be rebuilt from the latest snapshot of each product alone, and carries the
//! product's version so stale copies can be recognised and ignored.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::Money;

/// Internal route of the product service that pages through every product, inactive ones
/// included, ordered by id. Never exposed through the gateway.
pub const CATALOG_FEED_PATH: &str = "/internal/catalog/products";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProductSnapshot {
    pub id: Uuid,
    pub sku: String,
    pub name: String,
    /// Added after the first release, as optional fields: events without them still decode,
    /// so the schema version did not change.
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    pub category: String,
    pub price: Money,
    pub active: bool,
    /// Bumped on every change to the product; higher wins.
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

/// One page of the catalog feed. Pass `next_after` back as `after` for the next page.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CatalogPage {
    pub items: Vec<ProductSnapshot>,
    pub next_after: Option<Uuid>,
}
