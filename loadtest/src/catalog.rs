//! What the shoppers know about the shop before the run: its categories, a sample of its
//! products, the words in their names (for search queries), and the products they will buy —
//! the *working set*, whose stock is reconciled at the end.

use std::collections::BTreeSet;

use anyhow::ensure;
use rand::{Rng, seq::SliceRandom};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::api::Session;

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Money {
    pub amount_minor: i64,
    pub currency: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CategoryRef {
    pub slug: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Product {
    pub id: Uuid,
    pub name: String,
    pub category: CategoryRef,
    pub price: Money,
    pub available: i32,
}

#[derive(Debug, Deserialize)]
pub struct ProductPage {
    pub items: Vec<Product>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Category {
    slug: String,
}

/// A product on sale needs at least this much stock to join the working set, so a run of
/// the standard profile rarely sells one out (a sold-out product's orders are rejected,
/// which is correct but not what the run is about).
const WORKING_SET_MIN_STOCK: i32 = 50;

pub struct Catalog {
    pub categories: Vec<String>,
    pub products: Vec<Product>,
    pub working_set: Vec<Product>,
    pub words: Vec<String>,
    /// Prices seen, sorted: price filters are drawn from them.
    pub prices: Vec<i64>,
}

impl Catalog {
    /// Reads the first page of every category and picks `working_set` products with stock.
    pub async fn load(session: &mut Session, working_set: usize, rng: &mut impl Rng) -> anyhow::Result<Self> {
        let categories: Vec<Category> = session.get("", "", "/api/categories").await?;
        ensure!(
            !categories.is_empty(),
            "the shop has no categories; is its demo data loaded?"
        );
        let mut products = Vec::new();
        for category in &categories {
            let page: ProductPage = session
                .get("", "", format!("/api/products?category={}&limit=100", category.slug))
                .await?;
            products.extend(page.items);
        }
        products.sort_by_key(|product| product.id);
        ensure!(
            !products.is_empty(),
            "the shop has no products; is its demo data loaded?"
        );

        let mut candidates: Vec<Product> = products
            .iter()
            .filter(|product| product.available >= WORKING_SET_MIN_STOCK)
            .cloned()
            .collect();
        if candidates.len() < working_set {
            candidates = products
                .iter()
                .filter(|product| product.available > 0)
                .cloned()
                .collect();
        }
        ensure!(!candidates.is_empty(), "no product of the shop has stock");
        candidates.shuffle(rng);
        candidates.truncate(working_set.max(1));

        let words: BTreeSet<String> = products
            .iter()
            .flat_map(|product| product.name.split_whitespace())
            .filter(|word| word.len() >= 4 && word.chars().all(char::is_alphabetic))
            .map(str::to_lowercase)
            .collect();
        let mut prices: Vec<i64> = products.iter().map(|product| product.price.amount_minor).collect();
        prices.sort_unstable();
        Ok(Self {
            categories: categories.into_iter().map(|category| category.slug).collect(),
            products,
            working_set: candidates,
            words: words.into_iter().collect(),
            prices,
        })
    }

    /// A product outside the working set, whose price the freshness probe may change.
    pub fn probe_product(&self) -> Option<&Product> {
        self.products
            .iter()
            .find(|product| self.working_set.iter().all(|sold| sold.id != product.id))
    }
}

/// `word` with one typo — a letter dropped, doubled, swapped with the next or replaced — that
/// a typo-tolerant search (one edit in words of five letters or more) still finds.
pub fn with_typo(word: &str, rng: &mut impl Rng) -> String {
    let mut letters: Vec<char> = word.chars().collect();
    if letters.len() < 5 {
        return word.to_owned();
    }
    // Never the first letter: people rarely get that wrong.
    let at = rng.random_range(1..letters.len() - 1);
    match rng.random_range(0..4) {
        0 => {
            letters.remove(at);
        }
        1 => letters.insert(at, letters[at]),
        2 => letters.swap(at, at + 1),
        _ => letters[at] = rng.random_range(b'a'..=b'z') as char,
    }
    letters.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use rand::{SeedableRng, rngs::SmallRng};

    use super::*;

    #[test]
    fn typos_change_long_words_by_one_edit_and_leave_short_ones() {
        let mut rng = SmallRng::seed_from_u64(7);
        assert_eq!(with_typo("lamp", &mut rng), "lamp");
        for _ in 0..100 {
            let typo = with_typo("headphones", &mut rng);
            assert!(typo.starts_with('h'), "{typo}");
            assert!((9..=11).contains(&typo.len()), "{typo}");
        }
    }
}
