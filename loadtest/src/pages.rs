//! The storefront journey: an anonymous shopper who browses the web pages instead of the JSON
//! API — home, a department page, a search with the same words (and typos) as the search
//! journey, a product page and its picture — so page latency through the gateway can be read
//! next to the API's. Endpoints are named by their page routes (`GET /products/{id} (page)`).

use rand::{Rng, rngs::SmallRng, seq::IndexedRandom};

use crate::{
    api::{Request, Session},
    catalog::{Catalog, with_typo},
};

const SORTS: [&str; 4] = ["newest", "price_asc", "price_desc", "name"];

pub async fn storefront(session: &mut Session, catalog: &Catalog, rng: &mut SmallRng) -> anyhow::Result<()> {
    session.call(Request::get("GET / (page)", "home", "/")).await?;
    let category = catalog.categories.choose(rng).cloned().unwrap_or_default();
    let sort = SORTS.choose(rng).copied().unwrap_or("newest");
    session
        .call(Request::get(
            "GET /categories/{slug} (page)",
            "category",
            format!("/categories/{category}?sort={sort}"),
        ))
        .await?;
    let words = rng.random_range(1..=2);
    let mut terms: Vec<String> = catalog.words.choose_multiple(rng, words).cloned().collect();
    if rng.random_bool(0.25)
        && let Some(term) = terms.first_mut()
    {
        *term = with_typo(term, rng);
    }
    session
        .call(Request::get(
            "GET /search (page)",
            "search",
            format!("/search?q={}", terms.join("+")),
        ))
        .await?;
    if let Some(product) = catalog.working_set.choose(rng) {
        session
            .call(Request::get(
                "GET /products/{id} (page)",
                "product",
                format!("/products/{}", product.id),
            ))
            .await?;
        session
            .call(Request::get(
                "GET /images/products/{category}/{sku}.svg",
                "picture",
                format!("/images/products/{}/{}.svg", product.category.slug, product.id),
            ))
            .await?;
    }
    Ok(())
}
