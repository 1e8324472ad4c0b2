//! The search behaviour every backend must show, against a small fixed catalog: `checks` only
//! use the backend-neutral operations ([`Backend`]), and each backend's test file runs them all.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use search_service::document::{ProductDocument, SearchQuery, SearchResults};
use search_service::embedded::EmbeddedIndex;
use search_service::index::SearchIndex;
use uuid::Uuid;

/// The operations every search backend offers.
pub trait Backend {
    fn upsert(&self, products: &[ProductDocument]) -> anyhow::Result<usize>;
    fn remove(&self, id: Uuid, version: i64) -> anyhow::Result<bool>;
    fn search(&self, query: &SearchQuery) -> anyhow::Result<SearchResults>;
    fn document_count(&self) -> anyhow::Result<u64>;
}

impl Backend for EmbeddedIndex {
    fn upsert(&self, products: &[ProductDocument]) -> anyhow::Result<usize> {
        EmbeddedIndex::upsert(self, products)
    }
    fn remove(&self, id: Uuid, version: i64) -> anyhow::Result<bool> {
        EmbeddedIndex::remove(self, id, version)
    }
    fn search(&self, query: &SearchQuery) -> anyhow::Result<SearchResults> {
        EmbeddedIndex::search(self, query)
    }
    fn document_count(&self) -> anyhow::Result<u64> {
        EmbeddedIndex::document_count(self)
    }
}

/// The fixed catalog, and helpers to ask about it.
pub mod catalog {
    use super::*;

    pub fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn base() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    /// Product `n` at version 1; a higher `n` is newer.
    pub fn product(
        n: u128,
        name: &str,
        description: &str,
        category: &str,
        price_minor: i64,
        in_stock: bool,
    ) -> ProductDocument {
        let created_at = base() + Duration::days(n as i64);
        ProductDocument {
            id: id(n),
            sku: format!("SKU-{n:03}"),
            name: name.into(),
            description: description.into(),
            category: category.into(),
            price_minor,
            currency: "EUR".into(),
            in_stock,
            created_at,
            updated_at: created_at,
            version: 1,
        }
    }

    pub fn products() -> Vec<ProductDocument> {
        vec![
            product(
                1,
                "Wireless Headphones",
                "Over-ear headphones with noise cancelling.",
                "audio",
                12_999,
                true,
            ),
            product(
                2,
                "Wired Earbuds",
                "Compact earbuds with a tangle-free cable.",
                "audio",
                1_999,
                true,
            ),
            product(
                3,
                "Bluetooth Speaker",
                "Portable wireless speaker, splash proof.",
                "audio",
                4_999,
                false,
            ),
            product(
                4,
                "Studio Monitor Headphones",
                "Flat response and a high signal-to-noise ratio for mixing.",
                "audio",
                19_999,
                true,
            ),
            product(5, "Turntable", "Belt-drive record player.", "audio", 24_999, false),
            product(
                6,
                "Soundbar",
                "Slim soundbar with a wireless subwoofer.",
                "audio",
                29_999,
                true,
            ),
            product(7, "Radio", "Pocket radio with FM and AM bands.", "audio", 2_499, true),
            product(
                8,
                "Espresso Machine",
                "Fifteen bar pump espresso maker.",
                "kitchen",
                39_999,
                true,
            ),
            product(
                9,
                "Coffee Grinder",
                "Burr grinder for coffee beans.",
                "kitchen",
                8_999,
                true,
            ),
            product(10, "Ceramic Mug", "A mug for tea or coffee.", "kitchen", 1_299, true),
            product(
                11,
                "Cast Iron Skillet",
                "Pre-seasoned skillet that survives mud and campfires.",
                "kitchen",
                3_499,
                false,
            ),
            product(12, "Electric Kettle", "Boils water fast.", "kitchen", 2_999, true),
            product(13, "Chef Knife", "Forged steel blade.", "kitchen", 5_999, true),
            product(
                14,
                "Tea Kettle",
                "Stovetop kettle that whistles.",
                "kitchen",
                2_599,
                false,
            ),
            product(
                15,
                "The Coffee Companion",
                "A guide to brewing coffee at home.",
                "books",
                2_499,
                true,
            ),
            product(
                16,
                "Wireless Networking Basics",
                "Learn how wireless networks work.",
                "books",
                3_999,
                true,
            ),
            product(17, "Mug Cakes", "Quick cakes baked in a mug.", "books", 1_599, false),
            product(
                18,
                "Headphones & History",
                "Essays on listening <in> the modern age.",
                "books",
                1_899,
                true,
            ),
            product(19, "Cooking for One", "Simple recipes.", "books", 2_199, true),
            product(
                20,
                "Sound Design",
                "The craft of sound for film.",
                "books",
                4_599,
                false,
            ),
        ]
    }

    pub fn find(q: &str) -> SearchQuery {
        SearchQuery {
            q: q.into(),
            per_page: 100,
            ..SearchQuery::default()
        }
    }

    pub fn browse() -> SearchQuery {
        find("")
    }

    /// The catalog numbers of the hits, in order.
    pub fn numbers(results: &SearchResults) -> Vec<u128> {
        results.hits.iter().map(|hit| hit.product.id.as_u128()).collect()
    }

    pub fn number_set(results: &SearchResults) -> BTreeSet<u128> {
        numbers(results).into_iter().collect()
    }

    pub fn set<const N: usize>(numbers: [u128; N]) -> BTreeSet<u128> {
        numbers.into_iter().collect()
    }

    pub fn facets<const N: usize>(counts: [(&str, u64); N]) -> BTreeMap<String, u64> {
        counts.into_iter().map(|(c, n)| (c.to_owned(), n)).collect()
    }
}

/// Checks that hold for any backend loaded with exactly the catalog.
pub mod checks {
    use search_service::document::{MAX_PER_PAGE, SortOrder};

    use super::catalog::*;
    use super::*;

    fn search(backend: &impl Backend, query: SearchQuery) -> SearchResults {
        backend.search(&query).unwrap()
    }

    pub fn exact_and_stemmed_words_find_products(backend: &impl Backend) {
        let results = search(backend, find("espresso"));
        assert_eq!(numbers(&results), [8]);
        assert_eq!(results.total, 1);
        assert_eq!(number_set(&search(backend, find("headphone"))), set([1, 4, 18]));
        assert_eq!(number_set(&search(backend, find("wireless speaker"))), set([3]));
        assert_eq!(search(backend, find("submarine")).total, 0);
    }

    pub fn name_matches_rank_above_description_matches(backend: &impl Backend) {
        let hits = numbers(&search(backend, find("coffee")));
        assert_eq!(hits.iter().copied().collect::<BTreeSet<_>>(), set([9, 10, 15]));
        assert_eq!(
            hits.last(),
            Some(&10),
            "only product 10 has coffee just in its description"
        );
    }

    pub fn a_one_letter_typo_in_a_long_word_still_finds(backend: &impl Backend) {
        assert_eq!(number_set(&search(backend, find("headphnes"))), set([1, 4, 18]));
        assert_eq!(number_set(&search(backend, find("wireles"))), set([1, 3, 6, 16]));
        assert_eq!(number_set(&search(backend, find("wirelses"))), set([1, 3, 6, 16]));
        assert_eq!(number_set(&search(backend, find("wirelses speaker"))), set([3]));
        assert_eq!(search(backend, find("wrlss")).total, 0, "two typos are too many");
    }

    pub fn exact_matches_rank_above_typo_matches(backend: &impl Backend) {
        // Product 4 only has "ratio", one letter from "radio".
        assert_eq!(numbers(&search(backend, find("radio"))), [7, 4]);
    }

    pub fn short_words_are_not_typo_tolerant(backend: &impl Backend) {
        assert_eq!(number_set(&search(backend, find("mug"))), set([10, 17]));
        assert_eq!(number_set(&search(backend, find("mud"))), set([11]));
        assert_eq!(number_set(&search(backend, find("mug cakes"))), set([17]));
        assert_eq!(search(backend, find("teq")).total, 0);
    }

    pub fn the_last_word_matches_as_a_prefix(backend: &impl Backend) {
        assert_eq!(number_set(&search(backend, find("espr"))), set([8]));
        assert_eq!(number_set(&search(backend, find("coffee gri"))), set([9]));
    }

    pub fn category_filter(backend: &impl Backend) {
        let results = search(
            backend,
            SearchQuery {
                category: Some("kitchen".into()),
                ..browse()
            },
        );
        assert_eq!(results.total, 7);
        assert!(results.hits.iter().all(|hit| hit.product.category == "kitchen"));
        let results = search(
            backend,
            SearchQuery {
                category: Some("books".into()),
                ..find("coffee")
            },
        );
        assert_eq!(numbers(&results), [15]);
        let unknown = SearchQuery {
            category: Some("garden".into()),
            ..browse()
        };
        assert_eq!(search(backend, unknown).total, 0);
    }

    pub fn price_bounds_are_inclusive(backend: &impl Backend) {
        let results = search(
            backend,
            SearchQuery {
                min_price: Some(2_499),
                max_price: Some(2_999),
                ..browse()
            },
        );
        assert_eq!(number_set(&results), set([7, 12, 14, 15]));
        let cheap = SearchQuery {
            max_price: Some(1_599),
            ..browse()
        };
        assert_eq!(number_set(&search(backend, cheap)), set([10, 17]));
        let dear = SearchQuery {
            min_price: Some(29_999),
            ..browse()
        };
        assert_eq!(number_set(&search(backend, dear)), set([6, 8]));
    }

    pub fn stock_filter(backend: &impl Backend) {
        let sold_out = SearchQuery {
            in_stock: Some(false),
            ..browse()
        };
        assert_eq!(number_set(&search(backend, sold_out)), set([3, 5, 11, 14, 17, 20]));
        let available = SearchQuery {
            in_stock: Some(true),
            ..find("kettle")
        };
        assert_eq!(numbers(&search(backend, available)), [12]);
    }

    pub fn facets_count_categories_ignoring_the_category_filter(backend: &impl Backend) {
        let all = facets([("audio", 7), ("books", 6), ("kitchen", 7)]);
        assert_eq!(search(backend, browse()).facets, all);
        let audio = search(
            backend,
            SearchQuery {
                category: Some("audio".into()),
                ..browse()
            },
        );
        assert_eq!((audio.total, audio.facets), (7, all));
        let wireless = search(
            backend,
            SearchQuery {
                category: Some("books".into()),
                ..find("wireless")
            },
        );
        assert_eq!(wireless.total, 1);
        assert_eq!(wireless.facets, facets([("audio", 3), ("books", 1)]));
        // Other filters do narrow the facets.
        let in_stock = search(
            backend,
            SearchQuery {
                in_stock: Some(true),
                ..find("wireless")
            },
        );
        assert_eq!(in_stock.facets, facets([("audio", 2), ("books", 1)]));
    }

    pub fn sort_orders(backend: &impl Backend) {
        let kitchen = |sort| {
            numbers(&search(
                backend,
                SearchQuery {
                    category: Some("kitchen".into()),
                    sort,
                    ..browse()
                },
            ))
        };
        let by_price = [10, 14, 12, 11, 13, 9, 8];
        assert_eq!(kitchen(SortOrder::PriceAsc), by_price);
        let mut by_price_desc = by_price;
        by_price_desc.reverse();
        assert_eq!(kitchen(SortOrder::PriceDesc), by_price_desc);
        assert_eq!(kitchen(SortOrder::Newest), [14, 13, 12, 11, 10, 9, 8]);
        // Without query words nothing is more relevant than anything else: newest first.
        assert_eq!(kitchen(SortOrder::Relevance), [14, 13, 12, 11, 10, 9, 8]);
        let coffee_by_price = SearchQuery {
            sort: SortOrder::PriceAsc,
            ..find("coffee")
        };
        assert_eq!(numbers(&search(backend, coffee_by_price)), [10, 15, 9]);
    }

    pub fn pagination(backend: &impl Backend) {
        let page = |page, per_page| {
            search(
                backend,
                SearchQuery {
                    sort: SortOrder::PriceAsc,
                    page,
                    per_page,
                    ..browse()
                },
            )
        };
        let everything = numbers(&page(1, MAX_PER_PAGE));
        assert_eq!(everything.len(), 20);
        for (n, expected) in everything.chunks(6).enumerate() {
            let results = page(n as u32 + 1, 6);
            assert_eq!(results.total, 20);
            assert_eq!(numbers(&results), expected, "page {}", n + 1);
        }
        assert_eq!(page(4, 6).hits.len(), 2, "the last page is partial");
        for beyond in [5, 1_000, u32::MAX] {
            let results = page(beyond, 6);
            assert!(results.hits.is_empty());
            assert_eq!(results.total, 20);
            assert_eq!(results.facets.values().sum::<u64>(), 20);
        }
        assert_eq!(numbers(&page(20, 1)), [everything[19]]);
    }

    pub fn empty_query_browses_through_the_filters(backend: &impl Backend) {
        let query = |q: &str| SearchQuery {
            category: Some("audio".into()),
            in_stock: Some(true),
            max_price: Some(20_000),
            ..find(q)
        };
        assert_eq!(number_set(&search(backend, query(""))), set([1, 2, 4, 7]));
        assert_eq!(number_set(&search(backend, query("  \t"))), set([1, 2, 4, 7]));
        assert_eq!(search(backend, browse()).total, 20);
    }

    pub fn highlights_wrap_matches_and_escape_the_rest(backend: &impl Backend) {
        let results = search(backend, find("headphones"));
        let hit = results.hits.iter().find(|hit| hit.product.id == id(18)).unwrap();
        assert_eq!(hit.highlighted_name, "<em>Headphones</em> &amp; History");
        assert_eq!(
            hit.highlighted_description,
            "Essays on listening &lt;in&gt; the modern age."
        );
        let hit = results.hits.iter().find(|hit| hit.product.id == id(1)).unwrap();
        assert_eq!(hit.highlighted_name, "Wireless <em>Headphones</em>");
        assert_eq!(
            hit.highlighted_description,
            "Over-ear <em>headphones</em> with noise cancelling."
        );
        let results = search(backend, find("wirelses"));
        let hit = results.hits.iter().find(|hit| hit.product.id == id(3)).unwrap();
        assert_eq!(hit.highlighted_name, "Bluetooth Speaker");
        assert_eq!(
            hit.highlighted_description,
            "Portable <em>wireless</em> speaker, splash proof."
        );
        let browsed = search(
            backend,
            SearchQuery {
                max_price: Some(1_899),
                min_price: Some(1_899),
                ..browse()
            },
        );
        assert_eq!(browsed.hits[0].highlighted_name, "Headphones &amp; History");
    }

    pub fn a_newer_version_replaces_the_product(backend: &impl Backend) {
        let mut grinder = products().swap_remove(8);
        grinder.price_minor = 999;
        grinder.version = 2;
        assert_eq!(backend.upsert(&[grinder.clone()]).unwrap(), 1);
        let cheap = SearchQuery {
            max_price: Some(1_000),
            ..browse()
        };
        let results = search(backend, cheap);
        assert_eq!(results.hits.len(), 1);
        assert_eq!(results.hits[0].product, grinder);
        assert_eq!(backend.document_count().unwrap(), 20);
    }

    pub fn a_stale_version_is_ignored(backend: &impl Backend) {
        let mut grinder = products().swap_remove(8);
        grinder.version = 2;
        grinder.price_minor = 999;
        let mut stale = grinder.clone();
        stale.version = 1;
        stale.price_minor = 1;
        let mut same = grinder.clone();
        same.price_minor = 2;
        assert_eq!(backend.upsert(&[grinder.clone(), stale, same]).unwrap(), 1);
        let results = search(backend, find("grinder"));
        assert_eq!(results.hits.len(), 1);
        assert_eq!(results.hits[0].product, grinder);
    }

    pub fn a_removed_product_stays_gone_until_a_newer_version(backend: &impl Backend) {
        assert!(backend.remove(id(10), 2).unwrap());
        assert_eq!(number_set(&search(backend, find("mug"))), set([17]));
        assert_eq!(backend.document_count().unwrap(), 19);
        assert_eq!(search(backend, browse()).facets["kitchen"], 6);

        let late = products().swap_remove(9);
        assert_eq!(
            backend.upsert(std::slice::from_ref(&late)).unwrap(),
            0,
            "a late older upsert"
        );
        assert!(!backend.remove(id(10), 1).unwrap(), "an older removal");
        assert_eq!(number_set(&search(backend, find("mug"))), set([17]));

        let reactivated = ProductDocument { version: 3, ..late };
        assert_eq!(backend.upsert(&[reactivated]).unwrap(), 1);
        assert_eq!(number_set(&search(backend, find("mug"))), set([10, 17]));
        assert_eq!(backend.document_count().unwrap(), 20);
    }
}

/// The service's index, for the synchronous checks (needs a multi-threaded runtime).
impl Backend for SearchIndex {
    fn upsert(&self, products: &[ProductDocument]) -> anyhow::Result<usize> {
        blocking(SearchIndex::upsert(self, products))
    }
    fn remove(&self, id: Uuid, version: i64) -> anyhow::Result<bool> {
        blocking(SearchIndex::remove(self, id, version))
    }
    fn search(&self, query: &SearchQuery) -> anyhow::Result<SearchResults> {
        blocking(SearchIndex::search(self, query.clone()))
    }
    fn document_count(&self) -> anyhow::Result<u64> {
        blocking(SearchIndex::document_count(self))
    }
}

fn blocking<T>(future: impl Future<Output = T>) -> T {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(future))
}

/// One `#[test]` per named check, each on a freshly seeded index made by `$seeded`, an async
/// expression giving something that derefs to a [`Backend`]; the attributes in brackets (an
/// `#[ignore]`) go on every test.
#[macro_export]
macro_rules! run_checks {
    ($seeded:expr, [$($attribute:tt)*]; $check:ident $(, $rest:ident)* $(,)?) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $($attribute)*
        async fn $check() {
            let index = $seeded.await;
            suite::checks::$check(&*index);
        }
        $crate::run_checks!($seeded, [$($attribute)*]; $($rest),*);
    };
    ($seeded:expr, [$($attribute:tt)*];) => {};
}

/// Every check in [`checks`].
#[macro_export]
macro_rules! run_all_checks {
    ($seeded:expr $(, #[$attribute:meta])*) => {
        $crate::run_checks!($seeded, [$(#[$attribute])*];
            exact_and_stemmed_words_find_products,
            name_matches_rank_above_description_matches,
            a_one_letter_typo_in_a_long_word_still_finds,
            exact_matches_rank_above_typo_matches,
            short_words_are_not_typo_tolerant,
            the_last_word_matches_as_a_prefix,
            category_filter,
            price_bounds_are_inclusive,
            stock_filter,
            facets_count_categories_ignoring_the_category_filter,
            sort_orders,
            pagination,
            empty_query_browses_through_the_filters,
            highlights_wrap_matches_and_escape_the_rest,
            a_newer_version_replaces_the_product,
            a_stale_version_is_ignored,
            a_removed_product_stays_gone_until_a_newer_version,
        );
    };
}
