//! What is indexed and what a search asks and answers. Backend-neutral: the embedded index and
//! any external engine implement the same operations over these types.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The most hits one page may hold.
pub const MAX_PER_PAGE: u32 = 100;
/// The page size when a query does not ask for one.
pub const DEFAULT_PER_PAGE: u32 = 20;
const _: () = assert!(DEFAULT_PER_PAGE >= 1 && DEFAULT_PER_PAGE <= MAX_PER_PAGE);

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

/// How hits are ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    /// Best text match first; without query words, newest first (no popularity signal).
    #[default]
    Relevance,
    PriceAsc,
    PriceDesc,
    Newest,
}

/// A search or, with an empty `q`, a browse of the catalog through the filters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchQuery {
    pub q: String,
    pub category: Option<String>,
    /// Inclusive, in minor units.
    pub min_price: Option<i64>,
    /// Inclusive, in minor units.
    pub max_price: Option<i64>,
    pub in_stock: Option<bool>,
    pub sort: SortOrder,
    /// 1-based.
    pub page: u32,
    /// 1..=[`MAX_PER_PAGE`].
    pub per_page: u32,
}

impl SearchQuery {
    /// How many hits come before the requested page.
    pub fn offset(&self) -> u64 {
        u64::from(self.page.saturating_sub(1)) * u64::from(self.per_page)
    }
}

impl Default for SearchQuery {
    fn default() -> Self {
        Self {
            q: String::new(),
            category: None,
            min_price: None,
            max_price: None,
            in_stock: None,
            sort: SortOrder::default(),
            page: 1,
            per_page: DEFAULT_PER_PAGE,
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
    fn sort_orders_are_snake_case_and_default_to_relevance() {
        assert_eq!(SortOrder::default(), SortOrder::Relevance);
        for (order, text) in [
            (SortOrder::Relevance, "\"relevance\""),
            (SortOrder::PriceAsc, "\"price_asc\""),
            (SortOrder::PriceDesc, "\"price_desc\""),
            (SortOrder::Newest, "\"newest\""),
        ] {
            assert_eq!(serde_json::to_string(&order).unwrap(), text);
            assert_eq!(serde_json::from_str::<SortOrder>(text).unwrap(), order);
        }
    }

    #[test]
    fn default_query_browses_the_first_page() {
        let query = SearchQuery::default();
        assert!(query.q.is_empty());
        assert_eq!((query.page, query.per_page), (1, DEFAULT_PER_PAGE));
        assert_eq!(query.offset(), 0);
    }

    #[test]
    fn offset_counts_the_hits_of_earlier_pages_without_overflow() {
        let page = |page, per_page| SearchQuery {
            page,
            per_page,
            ..SearchQuery::default()
        };
        assert_eq!(page(3, 10).offset(), 20);
        assert_eq!(page(u32::MAX, MAX_PER_PAGE).offset(), u64::from(u32::MAX - 1) * 100);
    }

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
