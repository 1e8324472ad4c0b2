//! The demo catalog: a fixed set of categories and a generator of realistic-looking products
//! for seeding development databases, search indexes and load tests.
//!
//! Everything here is data and arithmetic: no I/O, no clock. Names and descriptions are
//! assembled from curated, per-category word lists (brands, product kinds with their own traits,
//! materials and sizes, description phrases), so search sees text that reads like a real shop's:
//! "Aurora Wireless Noise-Cancelling Headphones", "Cast Iron Dutch Oven 5.5 qt". The words are
//! data, in `catalog.toml` beside this file (its header says what each key means), compiled into
//! the binary and parsed at first use.
//!
//! The output is deterministic: `products(n)` returns the same products, byte for byte, on every
//! run and every platform. Each product draws from its own SplitMix64 stream seeded from a fixed
//! constant and the product's index, and only integer arithmetic is used (no floats, no hash-map
//! iteration order). That makes search-relevance tests, screenshots and load-test baselines
//! reproducible, and `products(n)` is always a prefix of `products(m)` for `n <= m`.

use std::{collections::HashSet, sync::LazyLock};

use serde::Deserialize;

/// How many products `seed` creates when not told otherwise.
pub const DEFAULT_PRODUCT_COUNT: usize = 1_200;

/// Every generated price is in this currency.
const CURRENCY: &str = "USD";

/// The generator's seed. Changing it changes every product; tests pin product 0 to notice.
const SEED: u64 = 0x5EED_CA7A_1060_0001;

/// Pictures are drawn by the shop itself (the storefront), under this path of its own address.
const IMAGE_BASE_PATH: &str = "/images/products";

/// A product category as seeded: `slug` is the stable key products refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CategorySeed {
    pub slug: &'static str,
    pub name: &'static str,
    pub description: &'static str,
}

/// One generated product. Prices are in minor units (cents) of `currency`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductSeed {
    pub sku: String,
    pub name: String,
    pub description: String,
    pub category_slug: &'static str,
    pub price_minor: i64,
    pub currency: &'static str,
    pub image_url: String,
    pub stock: i32,
}

/// The seeded categories, in a fixed order.
pub fn categories() -> &'static [CategorySeed] {
    static CATEGORIES: LazyLock<Vec<CategorySeed>> = LazyLock::new(|| {
        vocabularies()
            .iter()
            .map(|vocab| CategorySeed {
                slug: &vocab.slug,
                name: &vocab.name,
                description: &vocab.description,
            })
            .collect()
    });
    &CATEGORIES
}

/// `count` products spread round-robin over [`categories`], identical on every call.
///
/// Names and SKUs are unique across the result. SKUs are `<CODE>-<ordinal within category>`,
/// e.g. `ELEC-000001`.
pub fn products(count: usize) -> Vec<ProductSeed> {
    let mut taken_names = HashSet::with_capacity(count);
    let vocabularies = vocabularies();
    (0..count)
        .map(|index| {
            let category = index % vocabularies.len();
            let ordinal = index / vocabularies.len() + 1;
            generate(index, &vocabularies[category], ordinal, &mut taken_names)
        })
        .collect()
}

fn generate(
    index: usize,
    vocab: &'static Vocabulary,
    ordinal: usize,
    taken_names: &mut HashSet<String>,
) -> ProductSeed {
    let mut rng = SplitMix64::for_index(index);

    let kind = &vocab.kinds[rng.below(vocab.kinds.len())];
    let pattern = rng.pick(if kind.patterns.is_empty() {
        &vocab.patterns
    } else {
        &kind.patterns
    });
    let (trait1, trait2) = rng.pick_two(&kind.traits);
    let slots = Slots {
        brand: rng.pick(&vocab.brands).as_str(),
        adjective: rng.pick(&vocab.adjectives).as_str(),
        noun: &kind.noun,
        trait1,
        trait2,
        material: rng.pick(&kind.materials).as_str(),
        size: if kind.sizes.is_empty() {
            None
        } else {
            Some(rng.pick(&kind.sizes).as_str())
        },
        plural: kind.plural,
    };

    let description = describe(vocab, kind, &slots, &mut rng);
    let price_minor = price_minor(kind.price, &mut rng);
    debug_assert!((vocab.price_band.0 * 100..vocab.price_band.1 * 100).contains(&price_minor));
    let stock = stock(&mut rng);
    // Last, because how many draws it takes depends on the names before it.
    let name = unique_name(
        render_name(pattern, kind.size_first, &slots),
        vocab,
        ordinal,
        &mut rng,
        taken_names,
    );

    let sku = format!("{}-{ordinal:06}", vocab.code);
    let image_url = format!("{IMAGE_BASE_PATH}/{}/{}.svg", vocab.slug, sku.to_ascii_lowercase());
    ProductSeed {
        sku,
        name,
        description,
        category_slug: &vocab.slug,
        price_minor,
        currency: CURRENCY,
        image_url,
        stock,
    }
}

// --- randomness -------------------------------------------------------------------------------

/// SplitMix64 (Steele, Lea & Flood, 2014): tiny, fast, and fully specified, so the same seed
/// gives the same sequence everywhere.
struct SplitMix64(u64);

impl SplitMix64 {
    /// An independent stream per product, so adding a draw to one product's generation does not
    /// reshuffle every product after it.
    fn for_index(index: usize) -> Self {
        let mut mixer = SplitMix64(SEED ^ index as u64);
        SplitMix64(mixer.next_u64())
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (Lemire's multiply-shift; the bias is far below anything visible).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    fn percent(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Two different items when there are at least two.
    fn pick_two<'a, T>(&mut self, items: &'a [T]) -> (&'a T, &'a T) {
        let first = self.below(items.len());
        if items.len() < 2 {
            return (&items[first], &items[first]);
        }
        let mut second = self.below(items.len() - 1);
        if second >= first {
            second += 1;
        }
        (&items[first], &items[second])
    }
}

// --- names ------------------------------------------------------------------------------------

/// One slot of a name pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Brand,
    Adjective,
    Trait,
    Trait2,
    Material,
    Noun,
    Size,
    Lit(String),
}

/// How a name is put together: `"{brand} {trait} {noun} {size}"`, `"The {trait} {noun}"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
struct Pattern(Vec<Tok>);

impl TryFrom<String> for Pattern {
    type Error = String;

    fn try_from(pattern: String) -> Result<Self, Self::Error> {
        pattern
            .split_whitespace()
            .map(|word| match word {
                "{brand}" => Ok(Tok::Brand),
                "{adj}" => Ok(Tok::Adjective),
                "{trait}" => Ok(Tok::Trait),
                "{trait2}" => Ok(Tok::Trait2),
                "{material}" => Ok(Tok::Material),
                "{noun}" => Ok(Tok::Noun),
                "{size}" => Ok(Tok::Size),
                slot if slot.contains(['{', '}']) => Err(format!("`{slot}` in name pattern `{pattern}` is no slot")),
                word => Ok(Tok::Lit(word.to_owned())),
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

/// The words chosen for one product, shared by its name and its description.
struct Slots {
    brand: &'static str,
    adjective: &'static str,
    noun: &'static str,
    trait1: &'static str,
    trait2: &'static str,
    material: &'static str,
    size: Option<&'static str>,
    plural: bool,
}

/// Renders a pattern. Sizes of `size_first` kinds go right before the noun ("2-Person Tent",
/// "27-inch Monitor") unless the pattern already puts them earlier; other sizes go last
/// ("Dutch Oven 5.5 qt"). A word that would repeat an earlier one is dropped.
fn render_name(pattern: &Pattern, size_first: bool, slots: &Slots) -> String {
    let pattern = &pattern.0;
    let noun_at = pattern
        .iter()
        .position(|tok| *tok == Tok::Noun)
        .unwrap_or(pattern.len());
    let size_at = pattern.iter().position(|tok| *tok == Tok::Size);
    let size = size_at.and(slots.size);

    let mut parts: Vec<&str> = Vec::with_capacity(pattern.len() + 1);
    fn push<'a>(parts: &mut Vec<&'a str>, word: &'a str) {
        if !parts.iter().any(|seen| seen.eq_ignore_ascii_case(word)) {
            parts.push(word);
        }
    }
    for tok in pattern {
        match tok {
            Tok::Brand => push(&mut parts, slots.brand),
            Tok::Adjective => push(&mut parts, slots.adjective),
            Tok::Trait => push(&mut parts, slots.trait1),
            Tok::Trait2 => push(&mut parts, slots.trait2),
            Tok::Material => push(&mut parts, slots.material),
            Tok::Lit(word) => parts.push(word),
            Tok::Noun => {
                if let (true, Some(size), Some(at)) = (size_first, size, size_at)
                    && at > noun_at
                {
                    push(&mut parts, size);
                }
                push(&mut parts, slots.noun);
            }
            Tok::Size => {
                if let (true, Some(size)) = (size_first, size)
                    && size_at.is_some_and(|at| at < noun_at)
                {
                    push(&mut parts, size);
                }
            }
        }
    }
    if let (false, Some(size)) = (size_first, size) {
        push(&mut parts, size);
    }

    let mut name = String::with_capacity(64);
    for part in parts {
        if !name.is_empty() && !part.starts_with([',', ':']) {
            name.push(' ');
        }
        name.push_str(part);
    }
    name
}

/// The base name if free, else the base with a colour/edition variant, else with a model
/// number built from the category ordinal (unique within the category by construction).
fn unique_name(
    base: String,
    vocab: &Vocabulary,
    ordinal: usize,
    rng: &mut SplitMix64,
    taken: &mut HashSet<String>,
) -> String {
    let mut claim = |candidate: String| {
        if taken.contains(&candidate) {
            None
        } else {
            taken.insert(candidate.clone());
            Some(candidate)
        }
    };
    if let Some(name) = claim(base.clone()) {
        return name;
    }
    let start = rng.below(vocab.variants.len());
    for step in 0..vocab.variants.len() {
        let variant = &vocab.variants[(start + step) % vocab.variants.len()];
        if let Some(name) = claim(format!("{base}, {variant}")) {
            return name;
        }
    }
    if let Some(name) = claim(format!("{base}, {}{ordinal}", vocab.model_prefix)) {
        return name;
    }
    // Only reachable if two categories produce the same base name; never seen, but cheap.
    (2..)
        .find_map(|extra| claim(format!("{base}, {}{ordinal}-{extra}", vocab.model_prefix)))
        .expect("an unbounded range always finds a free name")
}

// --- descriptions -----------------------------------------------------------------------------

/// 3–4 sentences: an opener, a feature line, a material line, and sometimes a closer. Traits
/// and materials always appear, so full-text search has product-specific words to match.
fn describe(vocab: &Vocabulary, kind: &Kind, slots: &Slots, rng: &mut SplitMix64) -> String {
    let features = if kind.feature_lines.is_empty() {
        &vocab.feature_lines
    } else {
        &kind.feature_lines
    };
    let mut text = String::with_capacity(320);
    fill(rng.pick(&vocab.openers).as_str(), slots, &mut text);
    text.push(' ');
    fill(rng.pick(features).as_str(), slots, &mut text);
    text.push(' ');
    fill(rng.pick(&vocab.material_lines).as_str(), slots, &mut text);
    if rng.percent(50) {
        text.push(' ');
        fill(rng.pick(&vocab.closers).as_str(), slots, &mut text);
    }
    text
}

/// Expands `{brand}`, `{adj}`, `{noun}`, `{trait}`, `{trait2}`, `{material}` lower-cased for use
/// mid-sentence; a capitalised key (`{Trait}`) starts a sentence ("Merino wool fabric …").
/// `{this}`, `{is}`, `{has}`, `{s}`, `{it}`, `{its}`/`{Its}` agree with a singular or plural noun.
fn fill(template: &str, slots: &Slots, out: &mut String) {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|at| open + at) else {
            break;
        };
        out.push_str(&rest[..open]);
        match &rest[open + 1..close] {
            "brand" => out.push_str(slots.brand),
            "adj" => push_lower(slots.adjective, out),
            "noun" => push_lower(slots.noun, out),
            "Noun" => push_sentence_start(slots.noun, out),
            "trait" => push_lower(slots.trait1, out),
            "Trait" => push_sentence_start(slots.trait1, out),
            "trait2" => push_lower(slots.trait2, out),
            "material" => push_lower(slots.material, out),
            "Material" => push_sentence_start(slots.material, out),
            // Agreement with the noun: "this mouse is" / "these headphones are".
            "this" => out.push_str(if slots.plural { "these" } else { "this" }),
            "is" => out.push_str(if slots.plural { "are" } else { "is" }),
            "has" => out.push_str(if slots.plural { "have" } else { "has" }),
            "s" => out.push_str(if slots.plural { "" } else { "s" }),
            "it" => out.push_str(if slots.plural { "them" } else { "it" }),
            "its" => out.push_str(if slots.plural { "their" } else { "its" }),
            "Its" => out.push_str(if slots.plural { "Their" } else { "Its" }),
            _ => out.push_str(&rest[open..=close]),
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
}

/// The mid-sentence form with its first letter capitalised.
fn push_sentence_start(text: &str, out: &mut String) {
    let start = out.len();
    push_lower(text, out);
    if let Some(first) = out[start..].chars().next() {
        let upper = first.to_ascii_uppercase();
        out.replace_range(start..start + first.len_utf8(), upper.encode_utf8(&mut [0; 4]));
    }
}

/// Lower-cases each word (and each hyphen/slash part) that is a plain capitalised word, keeping
/// acronyms and codes ("USB-C", "4K", "SPF 30") and proper names ("Bluetooth", "Dutch").
fn push_lower(text: &str, out: &mut String) {
    let mut segment_start = 0;
    for (at, c) in text.char_indices() {
        if matches!(c, ' ' | '-' | '/') {
            push_lower_segment(&text[segment_start..at], out);
            out.push(c);
            segment_start = at + c.len_utf8();
        }
    }
    push_lower_segment(&text[segment_start..], out);
}

fn push_lower_segment(segment: &str, out: &mut String) {
    let mut chars = segment.chars();
    let plain = matches!(chars.next(), Some(first) if first.is_ascii_uppercase())
        && segment.len() > 1
        && chars.all(|c| !c.is_ascii_uppercase() && !c.is_ascii_digit())
        && !data().proper_words.iter().any(|word| word == segment);
    if plain {
        out.push_str(&segment.to_ascii_lowercase());
    } else {
        out.push_str(segment);
    }
}

// --- prices and stock -------------------------------------------------------------------------

/// A price in `[low, high)` whole dollars, skewed towards the cheap end as real assortments
/// are, ending in .99, .49, .95 or .00.
fn price_minor((low, high): (i64, i64), rng: &mut SplitMix64) -> i64 {
    let span = (high - low) as u64;
    let u = rng.below(1_000) as u64;
    let dollars = low + (span * u * u / 1_000_000) as i64;
    let cents = match rng.below(100) {
        0..=54 => 99,
        55..=74 => 49,
        75..=89 => 0,
        _ => 95,
    };
    dollars * 100 + cents
}

/// 0..=500 units, about 5% out of stock.
fn stock(rng: &mut SplitMix64) -> i32 {
    if rng.percent(5) { 0 } else { 1 + rng.below(500) as i32 }
}

// --- vocabulary -------------------------------------------------------------------------------

/// `catalog.toml`: the words of every category, in [`categories`] order.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogData {
    /// Words that keep their capital mid-sentence ("Bluetooth", "Dutch").
    proper_words: Vec<String>,
    category: Vec<Vocabulary>,
}

fn data() -> &'static CatalogData {
    static DATA: LazyLock<CatalogData> = LazyLock::new(|| {
        toml::from_str(include_str!("catalog.toml")).unwrap_or_else(|error| panic!("catalog.toml: {error}"))
    });
    &DATA
}

fn vocabularies() -> &'static [Vocabulary] {
    &data().category
}

/// Everything the generator knows about one category (see `catalog.toml` for each key).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Vocabulary {
    slug: String,
    name: String,
    description: String,
    code: String,
    price_band: (i64, i64),
    model_prefix: String,
    brands: Vec<String>,
    adjectives: Vec<String>,
    variants: Vec<String>,
    patterns: Vec<Pattern>,
    #[serde(rename = "kind")]
    kinds: Vec<Kind>,
    openers: Vec<String>,
    feature_lines: Vec<String>,
    material_lines: Vec<String>,
    closers: Vec<String>,
}

/// One kind of product within a category, with the words that make sense for it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Kind {
    noun: String,
    traits: Vec<String>,
    materials: Vec<String>,
    #[serde(default)]
    sizes: Vec<String>,
    #[serde(default)]
    size_first: bool,
    /// Whole dollars, `[low, high)`; inside the category's band.
    price: (i64, i64),
    #[serde(default)]
    plural: bool,
    /// Overrides the category's patterns when not empty.
    #[serde(default)]
    patterns: Vec<Pattern>,
    /// Overrides the category's feature lines when not empty.
    #[serde(default)]
    feature_lines: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_valid_sku(sku: &str) -> bool {
        let bytes = sku.as_bytes();
        (3..=32).contains(&bytes.len())
            && (bytes[0].is_ascii_uppercase() || bytes[0].is_ascii_digit())
            && bytes
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'-')
    }

    fn assert_unique(products: &[ProductSeed]) {
        let names: HashSet<&str> = products.iter().map(|p| p.name.as_str()).collect();
        let skus: HashSet<&str> = products.iter().map(|p| p.sku.as_str()).collect();
        assert_eq!(names.len(), products.len(), "names must be unique");
        assert_eq!(skus.len(), products.len(), "SKUs must be unique");
    }

    #[test]
    fn same_count_gives_identical_output() {
        assert_eq!(products(DEFAULT_PRODUCT_COUNT), products(DEFAULT_PRODUCT_COUNT));
    }

    #[test]
    fn smaller_count_is_a_prefix_of_larger() {
        let small = products(300);
        let large = products(DEFAULT_PRODUCT_COUNT);
        assert_eq!(small[..], large[..300]);
    }

    #[test]
    fn count_is_exact() {
        for count in [0, 1, 15, 16, 17, DEFAULT_PRODUCT_COUNT] {
            assert_eq!(products(count).len(), count);
        }
    }

    #[test]
    fn first_product_is_stable() {
        let first = &products(1)[0];
        assert_eq!(first.sku, "ELEC-000001");
        assert_eq!(first.category_slug, "electronics");
        assert_eq!(first.currency, "USD");
        assert_eq!(first.image_url, "/images/products/electronics/elec-000001.svg");
        assert_eq!(first.name, "Helio Prime Vertical Mouse");
        assert_eq!(first.price_minor, 13_399);
        assert_eq!(first.stock, 498);
        assert!(
            first.description.starts_with("Meet the Helio mouse,"),
            "{}",
            first.description
        );
    }

    #[test]
    fn names_and_skus_are_unique_for_the_default_count() {
        assert_unique(&products(DEFAULT_PRODUCT_COUNT));
    }

    #[test]
    fn names_and_skus_are_unique_for_100_000() {
        let products = products(100_000);
        assert_eq!(products.len(), 100_000);
        assert_unique(&products);
    }

    #[test]
    fn skus_have_the_category_code_and_six_digits() {
        for product in products(DEFAULT_PRODUCT_COUNT) {
            assert!(is_valid_sku(&product.sku), "{}", product.sku);
            let (code, digits) = product.sku.split_once('-').expect("a dash");
            assert!((3..=4).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_uppercase()));
            assert!(digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()));
            let vocab = vocabularies().iter().find(|v| v.slug == product.category_slug).unwrap();
            assert_eq!(code, vocab.code);
            assert_eq!(
                product.image_url,
                format!(
                    "/images/products/{}/{}.svg",
                    product.category_slug,
                    product.sku.to_lowercase()
                )
            );
        }
    }

    #[test]
    fn every_category_gets_at_least_50_of_the_default_count() {
        let products = products(DEFAULT_PRODUCT_COUNT);
        assert!(categories().len() >= 12);
        for category in categories() {
            let used = products.iter().filter(|p| p.category_slug == category.slug).count();
            assert!(used >= 50, "{} has {used}", category.slug);
        }
    }

    #[test]
    fn prices_are_positive_within_the_category_band_and_end_in_shop_cents() {
        for product in products(20_000) {
            let vocab = vocabularies().iter().find(|v| v.slug == product.category_slug).unwrap();
            let (low, high) = vocab.price_band;
            assert!(product.price_minor > 0);
            assert!(
                (low * 100..high * 100).contains(&product.price_minor),
                "{} costs {} outside {low}..{high}",
                product.name,
                product.price_minor
            );
            assert!([0, 49, 95, 99].contains(&(product.price_minor % 100)));
        }
    }

    #[test]
    fn about_five_percent_are_out_of_stock() {
        let products = products(100_000);
        let out = products.iter().filter(|p| p.stock == 0).count();
        assert!((4_000..=6_000).contains(&out), "{out} of 100000 out of stock");
        assert!(products.iter().all(|p| (0..=500).contains(&p.stock)));
        let default = &products[..DEFAULT_PRODUCT_COUNT];
        let out = default.iter().filter(|p| p.stock == 0).count();
        assert!((24..=96).contains(&out), "{out} of 1200 out of stock");
    }

    #[test]
    fn text_is_within_limits_and_clean() {
        for product in products(20_000) {
            assert!(
                !product.name.is_empty() && product.name.len() <= 200,
                "{}",
                product.name
            );
            assert!(product.description.len() <= 2_000);
            assert!(!product.name.chars().any(char::is_control), "{}", product.name);
            assert!(!product.description.chars().any(char::is_control));
            assert!(!product.description.contains(['{', '}']), "{}", product.description);
            assert_eq!(product.name.trim(), product.name);
            assert!(!product.name.contains("  "), "{}", product.name);
            assert!(!product.description.contains(".."), "{}", product.description);
            // A sentence ends in ". " before a capital; "Co. dog bed" is a brand, not a boundary.
            let sentences = product
                .description
                .split(". ")
                .skip(1)
                .filter(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
                .count()
                + 1;
            assert!((2..=4).contains(&sentences), "{}", product.description);
        }
    }

    #[test]
    fn descriptions_mention_the_products_material() {
        for product in products(2_000) {
            let description = product.description.to_lowercase();
            let vocab = vocabularies().iter().find(|v| v.slug == product.category_slug).unwrap();
            let mentions_material = vocab
                .kinds
                .iter()
                .flat_map(|kind| &kind.materials)
                .any(|material| description.contains(&material.to_lowercase()));
            assert!(mentions_material, "{}", product.description);
        }
    }

    #[test]
    fn vocabulary_is_consistent() {
        assert_eq!(categories().len(), vocabularies().len());
        let mut codes = HashSet::new();
        for (category, vocab) in categories().iter().zip(vocabularies()) {
            assert_eq!(category.slug, vocab.slug);
            assert!(codes.insert(vocab.code.as_str()), "duplicate code {}", vocab.code);
            assert!((3..=4).contains(&vocab.code.len()));
            assert!(vocab.price_band.0 > 0 && vocab.price_band.0 < vocab.price_band.1);
            for list in [
                &vocab.brands,
                &vocab.adjectives,
                &vocab.variants,
                &vocab.openers,
                &vocab.closers,
            ] {
                assert!(!list.is_empty(), "{}", vocab.slug);
            }
            assert!(!vocab.patterns.is_empty() && !vocab.kinds.is_empty());
            for kind in &vocab.kinds {
                assert!(kind.traits.len() >= 2, "{}", kind.noun);
                assert!(!kind.materials.is_empty(), "{}", kind.noun);
                let (low, high) = kind.price;
                assert!(
                    vocab.price_band.0 <= low && low < high && high <= vocab.price_band.1,
                    "{} price {low}..{high} outside its category band",
                    kind.noun
                );
            }
        }
    }

    #[test]
    fn every_template_expands_fully() {
        let slots = Slots {
            brand: "Brand",
            adjective: "Adjective",
            noun: "Noun",
            trait1: "Trait",
            trait2: "Other",
            material: "Material",
            size: None,
            plural: false,
        };
        for vocab in vocabularies() {
            let kind_lines = vocab.kinds.iter().flat_map(|kind| &kind.feature_lines);
            let lines = [
                &vocab.openers,
                &vocab.feature_lines,
                &vocab.material_lines,
                &vocab.closers,
            ];
            for template in lines.into_iter().flatten().chain(kind_lines) {
                let mut text = String::new();
                fill(template, &slots, &mut text);
                assert!(!text.contains(['{', '}']), "{template}");
                assert!(text.ends_with('.'), "{template}");
            }
        }
    }

    #[test]
    fn lower_casing_keeps_acronyms_and_proper_names() {
        let lower = |text: &str| {
            let mut out = String::new();
            push_lower(text, &mut out);
            out
        };
        assert_eq!(lower("Noise-Cancelling"), "noise-cancelling");
        assert_eq!(lower("USB-C to USB-C"), "USB-C to USB-C");
        assert_eq!(lower("Dutch Oven"), "Dutch oven");
        assert_eq!(lower("SPF 30"), "SPF 30");
        assert_eq!(lower("Cast Iron"), "cast iron");
        let mut start = String::from("x ");
        push_sentence_start("Hard-Anodized Aluminum", &mut start);
        assert_eq!(start, "x Hard-anodized aluminum");
    }

    #[test]
    fn descriptions_agree_with_plural_nouns() {
        let slots = |noun, plural| Slots {
            brand: "Aurora",
            adjective: "Pro",
            noun,
            trait1: "Wireless",
            trait2: "Noise-Cancelling",
            material: "Aluminum",
            size: None,
            plural,
        };
        let template = "{brand} says {this} {noun} {has} a clip and {is} {trait}; take {it} anywhere in {its} case.";
        let mut text = String::new();
        fill(template, &slots("Headphones", true), &mut text);
        assert_eq!(
            text,
            "Aurora says these headphones have a clip and are wireless; take them anywhere in their case."
        );
        text.clear();
        fill(template, &slots("Mouse", false), &mut text);
        assert_eq!(
            text,
            "Aurora says this mouse has a clip and is wireless; take it anywhere in its case."
        );
    }

    fn pattern(text: &str) -> Pattern {
        Pattern::try_from(text.to_owned()).unwrap()
    }

    #[test]
    fn name_patterns_are_slots_and_plain_words() {
        assert_eq!(
            pattern("The {trait} {noun} {size}").0,
            [Tok::Lit("The".into()), Tok::Trait, Tok::Noun, Tok::Size]
        );
        let error = Pattern::try_from("{brand} {colour} {noun}".to_owned()).unwrap_err();
        assert!(error.contains("{colour}"), "{error}");
    }

    #[test]
    fn names_place_sizes_like_a_shop_would() {
        let slots = |noun, size| Slots {
            brand: "Trailhead",
            adjective: "Ultralight",
            noun,
            trait1: "Freestanding",
            trait2: "Ultralight",
            material: "Cast Iron",
            size: Some(size),
            plural: false,
        };
        assert_eq!(
            render_name(
                &pattern("{brand} {size} {trait2} {noun}"),
                true,
                &slots("Tent", "2-Person")
            ),
            "Trailhead 2-Person Ultralight Tent"
        );
        assert_eq!(
            render_name(
                &pattern("{material} {noun} {size}"),
                false,
                &slots("Dutch Oven", "5.5 qt")
            ),
            "Cast Iron Dutch Oven 5.5 qt"
        );
        assert_eq!(
            render_name(
                &pattern("{brand} {trait} {noun} {size}"),
                true,
                &slots("Tent", "2-Person")
            ),
            "Trailhead Freestanding 2-Person Tent"
        );
        assert_eq!(
            render_name(
                &pattern("{brand} {adj} {trait2} {noun}"),
                false,
                &slots("Tent", "2-Person")
            ),
            "Trailhead Ultralight Tent"
        );
    }
}
