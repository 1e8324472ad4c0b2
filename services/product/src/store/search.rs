//! Search as a young shop writes it: `ILIKE '%words%'` over the product table, with the
//! filters and sorts of the search contract. Every search reads every active product — the
//! problem the search-engine stage solves.

use std::collections::BTreeMap;

use shop_contracts::search::{SearchQuery, SortOrder};
use sqlx::{PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MatchRow {
    pub id: Uuid,
    pub sku: String,
    pub name: String,
    pub description: String,
    pub category: String,
    pub price_minor: i64,
    pub currency: String,
    pub in_stock: bool,
}

/// One page of matches, and the matches per category ignoring the category filter.
pub struct Matches {
    pub rows: Vec<MatchRow>,
    pub facets: BTreeMap<String, u64>,
}

/// `%`, `_` and `\` in the words are matched literally.
fn like_pattern(words: &str) -> String {
    let mut pattern = String::with_capacity(words.len() + 2);
    pattern.push('%');
    for c in words.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The active products that match everything but the category filter.
fn push_matching(builder: &mut QueryBuilder<'_, Postgres>, query: &SearchQuery) {
    builder.push(
        "SELECT p.id, p.sku, p.name, p.description, c.slug AS category, p.price_minor, p.currency,
                (i.on_hand - i.reserved) > 0 AS in_stock, p.created_at
         FROM products p
         JOIN categories c ON c.id = p.category_id
         JOIN inventory i ON i.product_id = p.id
         WHERE p.active",
    );
    if !query.q.is_empty() {
        let pattern = like_pattern(&query.q);
        builder.push(" AND (p.name ILIKE ").push_bind(pattern.clone());
        builder.push(" OR p.description ILIKE ").push_bind(pattern).push(")");
    }
    if let Some(min) = query.min_price {
        builder.push(" AND p.price_minor >= ").push_bind(min);
    }
    if let Some(max) = query.max_price {
        builder.push(" AND p.price_minor <= ").push_bind(max);
    }
    if let Some(in_stock) = query.in_stock {
        builder
            .push(" AND ((i.on_hand - i.reserved) > 0) = ")
            .push_bind(in_stock);
    }
}

pub async fn search(db: &PgPool, query: &SearchQuery) -> sqlx::Result<Matches> {
    let mut facets = QueryBuilder::new("SELECT category, count(*) AS hits FROM (");
    push_matching(&mut facets, query);
    facets.push(") matching GROUP BY category");
    let facets: BTreeMap<String, u64> = facets
        .build_query_as::<(String, i64)>()
        .fetch_all(db)
        .await?
        .into_iter()
        .map(|(category, hits)| (category, u64::try_from(hits).unwrap_or(0)))
        .collect();

    let mut page = QueryBuilder::new("SELECT * FROM (");
    push_matching(&mut page, query);
    page.push(") matching");
    if let Some(category) = &query.category {
        page.push(" WHERE category = ").push_bind(category.clone());
    }
    match query.sort {
        // No relevance to speak of: name matches first, then the newest.
        SortOrder::Relevance if !query.q.is_empty() => {
            page.push(" ORDER BY name ILIKE ")
                .push_bind(like_pattern(&query.q))
                .push(" DESC, created_at DESC, id DESC");
        }
        SortOrder::Relevance | SortOrder::Newest => {
            page.push(" ORDER BY created_at DESC, id DESC");
        }
        SortOrder::PriceAsc => {
            page.push(" ORDER BY price_minor ASC, id ASC");
        }
        SortOrder::PriceDesc => {
            page.push(" ORDER BY price_minor DESC, id DESC");
        }
    }
    page.push(" LIMIT ").push_bind(i64::from(query.per_page));
    page.push(" OFFSET ")
        .push_bind(i64::try_from(query.offset()).unwrap_or(i64::MAX));
    let rows = page.build_query_as::<MatchRow>().fetch_all(db).await?;
    Ok(Matches { rows, facets })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_in_the_words_are_literal() {
        assert_eq!(like_pattern("50% off_x\\"), "%50\\% off\\_x\\\\%");
        assert_eq!(like_pattern("mug"), "%mug%");
    }
}
