//! What is indexed and what a search answers. Backend-neutral: the embedded index and any
//! external engine implement the same operations over these types. What a search asks is the
//! public search contract, shared with every other implementation of `GET /api/search`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
pub use shop_contracts::search::{DEFAULT_PER_PAGE, MAX_PER_PAGE, SearchQuery, SortOrder};
use uuid::Uuid;

/// One active product as the index holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductDocument {
    pub id: Uuid,
    pub sku: String,
    pub name: String,
    pub description: String,
    pub category: String,
    pub price_minor: i64,
    pub currency: String,
    pub in_stock: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// product version; an index keeps only the newest
    pub version: i64,
}

/// One write to an index: a product's newest state, or its removal. An index keeps a removal's
/// version (a tombstone), so an older state arriving later cannot bring the product back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Upsert(ProductDocument),
    Remove { id: Uuid, version: i64 },
}

impl Change {
    pub fn id(&self) -> Uuid {
        match self {
            Change::Upsert(product) => product.id,
            Change::Remove { id, .. } => *id,
        }
    }

    pub fn version(&self) -> i64 {
        match self {
            Change::Upsert(product) => product.version,
            Change::Remove { version, .. } => *version,
        }
    }
}

/// One matching product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hit {
    pub product: ProductDocument,
    /// name and description with matched words wrapped in <em>…</em> (HTML-escaped otherwise)
    pub highlighted_name: String,
    pub highlighted_description: String,
}

/// One page of hits plus what the whole result set looks like.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResults {
    pub hits: Vec<Hit>,
    /// All matches, not just this page.
    pub total: u64,
    /// category → count of matches ignoring the category filter itself, so a client can show
    /// how many hits every other category would give.
    pub facets: BTreeMap<String, u64>,
    pub processing_time_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_document_round_trips_through_json() {
        let at = DateTime::parse_from_rfc3339("2025-03-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let product = ProductDocument {
            id: Uuid::now_v7(),
            sku: "SKU-1".into(),
            name: "Kettle".into(),
            description: "Boils water".into(),
            category: "kitchen".into(),
            price_minor: 2_499,
            currency: "EUR".into(),
            in_stock: true,
            created_at: at,
            updated_at: at,
            version: 3,
        };
        let json = serde_json::to_string(&product).unwrap();
        assert_eq!(serde_json::from_str::<ProductDocument>(&json).unwrap(), product);
    }
}
