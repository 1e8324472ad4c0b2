//! `GET /api/search` answered by SQL over the product table: the monolith's search before the
//! search-engine stage, with the same contract as the search service (parameters, hits,
//! facets, highlighting) and none of its strengths — no typos, no stemming, no ranking, a
//! scan of the catalog per search. Not part of the product service's own API: a stage preset
//! mounts it.

use std::{ops::Range, time::Instant};

use shop_contracts::{
    Currency, Money,
    search::{HitView, SearchParams, SearchView, highlight},
};
use shop_platform::{
    ApiError, ApiResult, Json, Query,
    replica::{ReadDb, ReadPool},
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::store::search::{self as store, MatchRow};

pub fn router() -> OpenApiRouter<ReadPool> {
    OpenApiRouter::new().routes(routes!(search))
}

/// Search the catalog with SQL `ILIKE`, or browse it with filters.
#[utoipa::path(get, path = "/api/search", tag = "search", params(SearchParams),
    responses((status = 200, body = SearchView), (status = 422, response = shop_platform::openapi::Invalid)))]
async fn search(ReadDb(db): ReadDb, Query(params): Query<SearchParams>) -> ApiResult<Json<SearchView>> {
    let query = params
        .parse()
        .map_err(|invalid| ApiError::invalid_fields(invalid.into_iter().map(|i| (i.field, i.message))))?;
    let started = Instant::now();
    let matches = store::search(&db, &query).await?;
    let total = match &query.category {
        Some(category) => matches.facets.get(category).copied().unwrap_or(0),
        None => matches.facets.values().sum(),
    };
    let hits = matches
        .rows
        .into_iter()
        .map(|row| hit_view(row, &query.q))
        .collect::<anyhow::Result<_>>()?;
    Ok(Json(SearchView {
        hits,
        total,
        page: query.page,
        per_page: query.per_page,
        facets: matches.facets,
        processing_time_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }))
}

fn hit_view(row: MatchRow, words: &str) -> anyhow::Result<HitView> {
    Ok(HitView {
        price: Money::new(row.price_minor, Currency::parse(&row.currency)?)?,
        highlighted_name: highlight::mark(&row.name, occurrences(&row.name, words)),
        highlighted_description: highlight::mark(&row.description, occurrences(&row.description, words)),
        id: row.id,
        sku: row.sku,
        name: row.name,
        description: row.description,
        category: row.category,
        in_stock: row.in_stock,
    })
}

/// Where `words` occur in `text`, ignoring case, as `ILIKE` matched them.
fn occurrences(text: &str, words: &str) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    if words.is_empty() {
        return found;
    }
    let mut from = 0;
    while from < text.len() {
        match match_at(&text[from..], words) {
            Some(len) => {
                found.push(from..from + len);
                from += len;
            }
            None => from += text[from..].chars().next().map_or(1, char::len_utf8),
        }
    }
    found
}

/// The byte length of `words` at the start of `text`, ignoring case, if they are there.
fn match_at(text: &str, words: &str) -> Option<usize> {
    let mut text_chars = text.char_indices();
    for wanted in words.chars() {
        let (_, got) = text_chars.next()?;
        if !got.to_lowercase().eq(wanted.to_lowercase()) {
            return None;
        }
    }
    Some(text_chars.next().map_or(text.len(), |(end, _)| end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn occurrences_ignore_case_and_do_not_overlap() {
        assert_eq!(
            occurrences("Mug and MUG, mugmug", "mug"),
            vec![0..3, 8..11, 13..16, 16..19]
        );
        assert_eq!(occurrences("Été", "été"), vec![0..5]);
        assert_eq!(occurrences("kettle", "mug"), Vec::<Range<usize>>::new());
        assert_eq!(occurrences("kettle", ""), Vec::<Range<usize>>::new());
    }

    #[test]
    fn highlights_are_escaped() {
        let text = "<b>Mug</b>";
        assert_eq!(
            highlight::mark(text, occurrences(text, "mug")),
            "&lt;b&gt;<em>Mug</em>&lt;/b&gt;"
        );
    }
}
