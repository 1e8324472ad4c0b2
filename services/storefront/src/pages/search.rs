//! Search: the typo-tolerant index behind a search box on every page, with category facets,
//! price and stock filters, sorting, paging, and suggestions when nothing matches.

use askama::Template;
use axum::{extract::Query, http::StatusCode};
use serde::Deserialize;

use super::{Layout, PageError, PageResult, render};
use crate::{
    api::{CallError, Shopper},
    model::{Category, SearchResult},
    views::{self, Availability, Highlighted, Tile},
};

const PER_PAGE: u32 = 24;
/// Longest query passed on; the rest of a pasted essay is dropped.
const MAX_QUERY_CHARS: usize = 200;

pub const SORTS: [(&str, &str); 4] = [
    ("relevance", "Best match"),
    ("price_asc", "Price: low to high"),
    ("price_desc", "Price: high to low"),
    ("newest", "Newest"),
];

#[derive(Debug, Default, Deserialize)]
pub struct SearchForm {
    #[serde(default)]
    q: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    min_price: String,
    #[serde(default)]
    max_price: String,
    in_stock: Option<String>,
    #[serde(default)]
    sort: String,
    page: Option<u32>,
}

pub struct Facet {
    pub name: String,
    pub count: u64,
    pub href: String,
    pub selected: bool,
}

pub struct Suggestion {
    pub label: String,
    pub href: String,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    layout: Layout,
    form: SearchForm,
    sorts: Vec<views::Choice>,
    in_stock: bool,
    total: u64,
    tiles: Vec<(Tile, Highlighted)>,
    facets: Vec<Facet>,
    all_categories_href: String,
    previous: Option<String>,
    next: Option<String>,
    page: u32,
    pages: u64,
    suggestions: Vec<Suggestion>,
    notice: String,
}

impl SearchForm {
    fn trimmed(mut self) -> Self {
        self.q = self.q.trim().chars().take(MAX_QUERY_CHARS).collect();
        self
    }

    /// This search as a page address, with some parameters replaced.
    fn href(&self, sort: &str, overrides: &[(&str, &str)]) -> String {
        let in_stock = if self.in_stock.is_some() { "on" } else { "" };
        let mut pairs: Vec<(&str, &str)> = vec![
            ("q", &self.q),
            ("category", &self.category),
            ("min_price", &self.min_price),
            ("max_price", &self.max_price),
            ("in_stock", in_stock),
            ("sort", if sort == "relevance" { "" } else { sort }),
        ];
        for (name, value) in overrides {
            pairs.retain(|(existing, _)| existing != name);
            pairs.push((name, value));
        }
        views::with_query("/search", &pairs)
    }
}

pub async fn search(shopper: Shopper, Query(form): Query<SearchForm>) -> PageResult {
    let form = form.trimmed();
    let sort = SORTS
        .iter()
        .map(|(key, _)| *key)
        .find(|key| *key == form.sort)
        .unwrap_or("relevance");
    let page = form.page.unwrap_or(1).max(1);
    let min = views::parse_amount(&form.min_price);
    let max = views::parse_amount(&form.max_price);
    let mut notice = String::new();
    if (min.is_none() && !form.min_price.trim().is_empty()) || (max.is_none() && !form.max_price.trim().is_empty()) {
        notice =
            "Prices are amounts in dollars, like 25 or 19.99; the price filter that was not one is ignored.".into();
    }
    let in_stock = form.in_stock.is_some();
    let (min, max) = (min.map(|m| m.to_string()), max.map(|m| m.to_string()));
    let api_path = views::with_query(
        "/api/search",
        &[
            ("q", &form.q),
            ("category", &form.category),
            ("min_price", min.as_deref().unwrap_or_default()),
            ("max_price", max.as_deref().unwrap_or_default()),
            ("in_stock", if in_stock { "true" } else { "" }),
            ("sort", sort),
            ("page", &page.to_string()),
            ("per_page", &PER_PAGE.to_string()),
        ],
    );
    let title = if form.q.is_empty() {
        "Search".to_owned()
    } else {
        format!("Search: {}", form.q)
    };
    let (layout, result, categories) = tokio::join!(
        Layout::load(&shopper, title),
        shopper.get::<SearchResult>(&api_path),
        shopper.get::<Vec<Category>>("/api/categories"),
    );
    let result = result.map_err(search_failed)?;
    let categories = categories?;
    let name_of = |slug: &str| {
        categories
            .iter()
            .find(|c| c.slug == slug)
            .map_or_else(|| slug.to_owned(), |c| c.name.clone())
    };
    let facets = result
        .facets
        .iter()
        .map(|(slug, count)| Facet {
            name: name_of(slug),
            count: *count,
            href: form.href(sort, &[("category", slug), ("page", "")]),
            selected: *slug == form.category,
        })
        .collect();
    let pages = result.total.div_ceil(u64::from(result.per_page.max(1)));
    let page_href = |page: u32| form.href(sort, &[("page", &page.to_string())]);
    let suggestions = if result.total == 0 {
        suggest(&form, &categories)
    } else {
        Vec::new()
    };
    let tiles = result
        .hits
        .iter()
        .map(|hit| {
            let tile = Tile {
                href: views::product_path(hit.id),
                image: views::image_path(&hit.category, &hit.sku),
                name: Highlighted::from_marked(&hit.highlighted_name),
                price: views::price(&hit.price),
                stock: if hit.in_stock {
                    Availability::InStock
                } else {
                    Availability::OutOfStock
                },
            };
            (tile, Highlighted::from_marked(&hit.highlighted_description))
        })
        .collect();
    Ok(render(&SearchPage {
        layout: layout.with_query(&form.q),
        sorts: views::choices(&SORTS, sort),
        in_stock,
        total: result.total,
        tiles,
        facets,
        all_categories_href: form.href(sort, &[("category", ""), ("page", "")]),
        previous: (result.page > 1).then(|| page_href(result.page - 1)),
        next: (u64::from(result.page) < pages).then(|| page_href(result.page + 1)),
        page: result.page,
        pages,
        suggestions,
        notice,
        form,
    }))
}

/// What to try instead when nothing matched.
fn suggest(form: &SearchForm, categories: &[Category]) -> Vec<Suggestion> {
    let mut suggestions = Vec::new();
    let filtered = !form.category.is_empty()
        || !form.min_price.is_empty()
        || !form.max_price.is_empty()
        || form.in_stock.is_some();
    if filtered && !form.q.is_empty() {
        suggestions.push(Suggestion {
            label: format!("“{}” in the whole shop, without filters", form.q),
            href: views::with_query("/search", &[("q", &form.q)]),
        });
    }
    let words: Vec<&str> = form.q.split_whitespace().collect();
    if words.len() > 1 {
        suggestions.extend(words.iter().map(|word| Suggestion {
            label: format!("just “{word}”"),
            href: views::with_query("/search", &[("q", word)]),
        }));
    }
    suggestions.extend(categories.iter().take(6).map(|category| Suggestion {
        label: format!("browse {}", category.name),
        href: format!("/categories/{}", category.slug),
    }));
    suggestions
}

fn search_failed(error: CallError) -> PageError {
    match error.status() {
        // The gateway routes `/api/search` only when a search service is configured.
        StatusCode::NOT_FOUND => PageError::Unavailable("Search is not running in this system right now."),
        StatusCode::UNPROCESSABLE_ENTITY => PageError::BadRequest(format!(
            "This search cannot be run: {}",
            error
                .field_errors()
                .iter()
                .map(|e| format!("{} {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; ")
        )),
        _ => PageError::Api(error),
    }
}
