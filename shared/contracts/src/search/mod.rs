//! The public search contract, `GET /api/search`: what a search asks (its parameters,
//! validated), how hits are ordered, and what it answers — the same for every implementation,
//! the SQL search of the monolith stages and the search service's index alike.

pub mod highlight;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::Money;

/// The most hits one page may hold.
pub const MAX_PER_PAGE: u32 = 100;
/// The page size when a query does not ask for one.
pub const DEFAULT_PER_PAGE: u32 = 20;
const _: () = assert!(DEFAULT_PER_PAGE >= 1 && DEFAULT_PER_PAGE <= MAX_PER_PAGE);

const MAX_QUERY_CHARS: usize = 200;
const MAX_PAGE: u32 = 1000;

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

/// The query parameters of `GET /api/search`, as they come.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Words to look for (a one-letter typo in a word of five letters or more still matches).
    /// Empty or absent: browse with the filters.
    pub q: Option<String>,
    /// Only this category (slug).
    pub category: Option<String>,
    /// Lowest price, minor units, inclusive.
    pub min_price: Option<i64>,
    /// Highest price, minor units, inclusive.
    pub max_price: Option<i64>,
    pub in_stock: Option<bool>,
    #[param(inline)]
    pub sort: Option<SortOrder>,
    /// 1-based, at most 1000.
    pub page: Option<u32>,
    /// 1 to 100 (default 20).
    pub per_page: Option<u32>,
}

/// A parameter that is out of bounds: which one, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidParam {
    pub field: &'static str,
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> InvalidParam {
    InvalidParam {
        field,
        message: message.into(),
    }
}

impl SearchParams {
    /// The search these parameters ask for, or every one out of bounds.
    pub fn parse(self) -> Result<SearchQuery, Vec<InvalidParam>> {
        let mut errors = Vec::new();
        let q = self.q.unwrap_or_default();
        if q.chars().count() > MAX_QUERY_CHARS {
            errors.push(invalid("q", format!("must be at most {MAX_QUERY_CHARS} characters")));
        }
        if self.category.as_ref().is_some_and(|c| c.is_empty() || c.len() > 64) {
            errors.push(invalid("category", "must be a category slug of 1 to 64 characters"));
        }
        for (field, price) in [("min_price", self.min_price), ("max_price", self.max_price)] {
            if price.is_some_and(|p| p < 0) {
                errors.push(invalid(field, "must not be negative"));
            }
        }
        if let (Some(min @ 0..), Some(max @ 0..)) = (self.min_price, self.max_price)
            && min > max
        {
            errors.push(invalid("min_price", "must not be above max_price"));
        }
        let page = self.page.unwrap_or(1);
        if !(1..=MAX_PAGE).contains(&page) {
            errors.push(invalid("page", format!("must be between 1 and {MAX_PAGE}")));
        }
        let per_page = self.per_page.unwrap_or(DEFAULT_PER_PAGE);
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            errors.push(invalid("per_page", format!("must be between 1 and {MAX_PER_PAGE}")));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(SearchQuery {
            q: q.trim().to_owned(),
            category: self.category,
            min_price: self.min_price,
            max_price: self.max_price,
            in_stock: self.in_stock,
            sort: self.sort.unwrap_or_default(),
            page,
            per_page,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HitView {
    pub id: Uuid,
    pub sku: String,
    pub name: String,
    pub description: String,
    pub category: String,
    pub price: Money,
    pub in_stock: bool,
    /// Name and description with the matched words in `<em>`, the rest HTML-escaped.
    pub highlighted_name: String,
    pub highlighted_description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SearchView {
    pub hits: Vec<HitView>,
    /// Matches in all, not just this page.
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
    /// Matches per category, ignoring the category filter.
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
    fn parameters_out_of_bounds_name_the_field() {
        let params = |min_price, max_price, page, per_page| SearchParams {
            q: None,
            category: None,
            min_price,
            max_price,
            in_stock: None,
            sort: None,
            page,
            per_page,
        };
        let fields = |params: SearchParams| -> Vec<&str> {
            params
                .parse()
                .unwrap_err()
                .into_iter()
                .map(|invalid| invalid.field)
                .collect()
        };
        assert_eq!(fields(params(Some(-1), None, None, None)), ["min_price"]);
        assert_eq!(fields(params(Some(5), Some(4), None, None)), ["min_price"]);
        assert_eq!(fields(params(None, None, Some(0), None)), ["page"]);
        assert_eq!(fields(params(None, None, None, Some(101))), ["per_page"]);
        assert_eq!(
            fields(params(Some(-1), Some(-2), Some(0), Some(0))),
            ["min_price", "max_price", "page", "per_page"],
            "every one at once"
        );
        assert_eq!(params(None, None, None, None).parse().unwrap(), SearchQuery::default());
    }
}
