//! The demo catalog: a fixed set of categories and a generator of realistic-looking products
//! for seeding development databases, search indexes and load tests.
//!
//! Everything here is pure data and arithmetic: no I/O, no clock, no external crates. Names and
//! descriptions are assembled from curated, per-category word lists (brands, product kinds with
//! their own traits, materials and sizes, description phrases), so search sees text that reads
//! like a real shop's: "Aurora Wireless Noise-Cancelling Headphones", "Cast Iron Dutch Oven 5.5 qt".
//!
//! The output is deterministic: `products(n)` returns the same products, byte for byte, on every
//! run and every platform. Each product draws from its own SplitMix64 stream seeded from a fixed
//! constant and the product's index, and only integer arithmetic is used (no floats, no hash-map
//! iteration order). That makes search-relevance tests, screenshots and load-test baselines
//! reproducible, and `products(n)` is always a prefix of `products(m)` for `n <= m`.

use std::collections::HashSet;

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
    &CATEGORIES
}

/// `count` products spread round-robin over [`categories`], identical on every call.
///
/// Names and SKUs are unique across the result. SKUs are `<CODE>-<ordinal within category>`,
/// e.g. `ELEC-000001`.
pub fn products(count: usize) -> Vec<ProductSeed> {
    let mut taken_names = HashSet::with_capacity(count);
    (0..count)
        .map(|index| {
            let category = index % VOCABULARIES.len();
            let ordinal = index / VOCABULARIES.len() + 1;
            generate(index, &VOCABULARIES[category], ordinal, &mut taken_names)
        })
        .collect()
}

fn generate(index: usize, vocab: &Vocabulary, ordinal: usize, taken_names: &mut HashSet<String>) -> ProductSeed {
    let mut rng = SplitMix64::for_index(index);

    let kind = &vocab.kinds[rng.below(vocab.kinds.len())];
    let pattern = rng.pick(if kind.patterns.is_empty() {
        vocab.patterns
    } else {
        kind.patterns
    });
    let (trait1, trait2) = rng.pick_two(kind.traits);
    let slots = Slots {
        brand: rng.pick(vocab.brands),
        adjective: rng.pick(vocab.adjectives),
        noun: kind.noun,
        trait1,
        trait2,
        material: rng.pick(kind.materials),
        size: if kind.sizes.is_empty() {
            None
        } else {
            Some(rng.pick(kind.sizes))
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
        category_slug: vocab.slug,
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

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// Two different items when there are at least two.
    fn pick_two<T: Copy>(&mut self, items: &[T]) -> (T, T) {
        let first = self.below(items.len());
        if items.len() < 2 {
            return (items[first], items[first]);
        }
        let mut second = self.below(items.len() - 1);
        if second >= first {
            second += 1;
        }
        (items[first], items[second])
    }
}

// --- names ------------------------------------------------------------------------------------

/// One slot of a name pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Brand,
    Adjective,
    Trait,
    Trait2,
    Material,
    Noun,
    Size,
    Lit(&'static str),
}

type Pattern = &'static [Tok];

const B: Tok = Tok::Brand;
const A: Tok = Tok::Adjective;
const T: Tok = Tok::Trait;
const T2: Tok = Tok::Trait2;
const M: Tok = Tok::Material;
const N: Tok = Tok::Noun;
const S: Tok = Tok::Size;
const THE: Tok = Tok::Lit("The");

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
fn render_name(pattern: Pattern, size_first: bool, slots: &Slots) -> String {
    let noun_at = pattern.iter().position(|tok| *tok == N).unwrap_or(pattern.len());
    let size_at = pattern.iter().position(|tok| *tok == S);
    let size = size_at.and(slots.size);

    let mut parts: Vec<&str> = Vec::with_capacity(pattern.len() + 1);
    let push = |parts: &mut Vec<&str>, word: &'static str| {
        if !parts.iter().any(|seen| seen.eq_ignore_ascii_case(word)) {
            parts.push(word);
        }
    };
    for tok in pattern {
        match *tok {
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
        let variant = vocab.variants[(start + step) % vocab.variants.len()];
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
        vocab.feature_lines
    } else {
        kind.feature_lines
    };
    let mut text = String::with_capacity(320);
    fill(rng.pick(vocab.openers), slots, &mut text);
    text.push(' ');
    fill(rng.pick(features), slots, &mut text);
    text.push(' ');
    fill(rng.pick(vocab.material_lines), slots, &mut text);
    if rng.percent(50) {
        text.push(' ');
        fill(rng.pick(vocab.closers), slots, &mut text);
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

/// Words that keep their capital mid-sentence.
const PROPER_WORDS: &[&str] = &[
    "Atlantic",
    "Bluetooth",
    "Californian",
    "Colombian",
    "Damascus",
    "Dutch",
    "Earl",
    "Ecuadorian",
    "Egyptian",
    "Ethiopian",
    "German",
    "Ghanaian",
    "Greek",
    "Grey",
    "Guatemalan",
    "Iceland",
    "Italian",
    "Italy",
    "Japan",
    "Japanese",
    "Manuka",
    "Mediterranean",
    "Pacific",
    "Patagonia",
    "Peruvian",
    "Portugal",
    "Python",
    "Rust",
    "Scandinavian",
    "Spanish",
    "Sumatran",
    "Victorian",
];

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
        && !PROPER_WORDS.contains(&segment);
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

/// One kind of product within a category, with the words that make sense for it.
struct Kind {
    noun: &'static str,
    traits: &'static [&'static str],
    materials: &'static [&'static str],
    sizes: &'static [&'static str],
    size_first: bool,
    /// Whole dollars, `[low, high)`; inside the category's band.
    price: (i64, i64),
    /// "Headphones", "Jeans": descriptions say "these … are", not "this … is".
    plural: bool,
    /// Overrides the category's patterns when not empty.
    patterns: &'static [Pattern],
    /// Overrides the category's feature lines when not empty.
    feature_lines: &'static [&'static str],
}

/// A kind whose size reads after the noun ("Dutch Oven 5.5 qt").
const fn k(
    noun: &'static str,
    traits: &'static [&'static str],
    materials: &'static [&'static str],
    sizes: &'static [&'static str],
    price: (i64, i64),
) -> Kind {
    Kind {
        noun,
        traits,
        materials,
        sizes,
        size_first: false,
        price,
        plural: false,
        patterns: &[],
        feature_lines: &[],
    }
}

/// A kind whose size reads before the noun ("2-Person Tent").
const fn kp(
    noun: &'static str,
    traits: &'static [&'static str],
    materials: &'static [&'static str],
    sizes: &'static [&'static str],
    price: (i64, i64),
) -> Kind {
    Kind {
        size_first: true,
        ..k(noun, traits, materials, sizes, price)
    }
}

/// A kind named in the plural.
const fn plural(kind: Kind) -> Kind {
    Kind { plural: true, ..kind }
}

/// Everything the generator knows about one category; `VOCABULARIES[i]` belongs to `CATEGORIES[i]`.
struct Vocabulary {
    slug: &'static str,
    /// SKU prefix, 3–4 upper-case letters.
    code: &'static str,
    /// Whole dollars, `[low, high)`.
    price_band: (i64, i64),
    /// Appended to a name, with the category ordinal, when every variant is taken.
    model_prefix: &'static str,
    brands: &'static [&'static str],
    adjectives: &'static [&'static str],
    /// Colours, scents or editions that tell otherwise identical names apart.
    variants: &'static [&'static str],
    patterns: &'static [Pattern],
    kinds: &'static [Kind],
    openers: &'static [&'static str],
    feature_lines: &'static [&'static str],
    material_lines: &'static [&'static str],
    closers: &'static [&'static str],
}

static CATEGORIES: [CategorySeed; 16] = [
    CategorySeed {
        slug: "electronics",
        name: "Electronics",
        description: "Headphones, speakers, laptops, monitors, TVs and the accessories that tie them together.",
    },
    CategorySeed {
        slug: "books",
        name: "Books",
        description: "Fiction, cookbooks, field guides, programming handbooks and travel guides.",
    },
    CategorySeed {
        slug: "kitchen",
        name: "Kitchen",
        description: "Cookware, knives, small appliances and prep tools for home cooks.",
    },
    CategorySeed {
        slug: "outdoor",
        name: "Outdoor",
        description: "Tents, sleeping bags, packs and camp gear for trails and campsites.",
    },
    CategorySeed {
        slug: "toys",
        name: "Toys",
        description: "Building sets, puzzles, games, plush and science kits for curious kids.",
    },
    CategorySeed {
        slug: "clothing",
        name: "Clothing",
        description: "Everyday wardrobe staples: knitwear, shirts, denim, outerwear and basics.",
    },
    CategorySeed {
        slug: "beauty",
        name: "Beauty",
        description: "Skincare, haircare, sun protection and beauty tools.",
    },
    CategorySeed {
        slug: "sports",
        name: "Sports",
        description: "Training equipment, balls, rackets, bikes and fitness accessories.",
    },
    CategorySeed {
        slug: "garden",
        name: "Garden",
        description: "Hoses, hand tools, planters, mowers and everything for the yard.",
    },
    CategorySeed {
        slug: "office",
        name: "Office",
        description: "Desks, chairs, lighting, stationery and organisation for work and study.",
    },
    CategorySeed {
        slug: "pets",
        name: "Pets",
        description: "Beds, food, toys, leashes and habitats for dogs, cats and fish.",
    },
    CategorySeed {
        slug: "music",
        name: "Music",
        description: "Guitars, keyboards, microphones, recording gear and accessories.",
    },
    CategorySeed {
        slug: "home",
        name: "Home",
        description: "Furniture, bedding, lighting, rugs and decor for every room.",
    },
    CategorySeed {
        slug: "automotive",
        name: "Automotive",
        description: "Car electronics, tools, mats, covers and road-trip essentials.",
    },
    CategorySeed {
        slug: "grocery",
        name: "Grocery",
        description: "Pantry staples and small-batch gourmet foods: coffee, tea, oils, honey and more.",
    },
    CategorySeed {
        slug: "baby",
        name: "Baby",
        description: "Nursery, feeding, travel and play essentials for babies and toddlers.",
    },
];

static VOCABULARIES: [Vocabulary; 16] = [
    ELECTRONICS,
    BOOKS,
    KITCHEN,
    OUTDOOR,
    TOYS,
    CLOTHING,
    BEAUTY,
    SPORTS,
    GARDEN,
    OFFICE,
    PETS,
    MUSIC,
    HOME,
    AUTOMOTIVE,
    GROCERY,
    BABY,
];

const ELECTRONICS: Vocabulary = Vocabulary {
    slug: "electronics",
    code: "ELEC",
    price_band: (15, 1_500),
    model_prefix: "Model EL-",
    brands: &[
        "Aurora",
        "Voltix",
        "Nimbus",
        "Helio",
        "Quantix",
        "Arcwave",
        "Lumora",
        "Zentra",
        "Corebyte",
        "Sonique",
        "Pixelon",
        "Northwind",
    ],
    adjectives: &["Pro", "Ultra", "Lite", "Max", "Elite", "Air", "Studio", "Prime"],
    variants: &[
        "Midnight Black",
        "Arctic White",
        "Graphite",
        "Silver",
        "Space Gray",
        "Ocean Blue",
        "Rose Gold",
        "Sage Green",
        "Crimson Red",
        "Sand Beige",
    ],
    patterns: &[&[B, T, T2, N], &[B, A, T, N, S], &[B, T, N, S], &[B, A, M, N]],
    kinds: &[
        plural(k(
            "Headphones",
            &[
                "Wireless",
                "Noise-Cancelling",
                "Over-Ear",
                "Foldable",
                "Hi-Res",
                "Studio Monitor",
            ],
            &["Aluminum", "Memory Foam", "Vegan Leather", "Matte Polycarbonate"],
            &[],
            (39, 450),
        )),
        plural(k(
            "Earbuds",
            &[
                "True Wireless",
                "Noise-Cancelling",
                "Sweatproof",
                "Low-Latency",
                "Open-Ear",
            ],
            &["Silicone", "Matte Polycarbonate", "Recycled Plastic"],
            &[],
            (19, 300),
        )),
        k(
            "Bluetooth Speaker",
            &["Portable", "Waterproof", "360-Degree", "Rugged", "Smart"],
            &["Fabric-Wrapped", "Rubberized", "Aluminum"],
            &["20W", "40W", "60W"],
            (25, 400),
        ),
        k(
            "Smartwatch",
            &["GPS", "AMOLED", "Fitness", "Always-On", "LTE"],
            &["Aluminum", "Titanium", "Stainless Steel"],
            &["41mm", "45mm", "49mm"],
            (79, 800),
        ),
        kp(
            "Monitor",
            &["4K", "Ultrawide", "Curved", "144Hz", "IPS", "USB-C"],
            &["Aluminum", "Recycled Plastic"],
            &["24-inch", "27-inch", "32-inch", "34-inch"],
            (129, 1_200),
        ),
        k(
            "Keyboard",
            &[
                "Mechanical",
                "Wireless",
                "Low-Profile",
                "Hot-Swappable",
                "RGB",
                "Tenkeyless",
            ],
            &["Aluminum", "PBT", "ABS"],
            &[],
            (29, 250),
        ),
        k(
            "Mouse",
            &["Wireless", "Ergonomic", "Silent-Click", "Gaming", "Vertical"],
            &["Matte ABS", "Rubberized"],
            &[],
            (15, 150),
        ),
        k(
            "Power Bank",
            &["Fast-Charging", "Slim", "Magnetic", "USB-C PD"],
            &["Aluminum", "Soft-Touch Plastic"],
            &["10,000mAh", "20,000mAh", "26,800mAh"],
            (19, 120),
        ),
        k(
            "Webcam",
            &["4K", "Auto-Focus", "Low-Light", "Wide-Angle", "Privacy-Shutter"],
            &["Aluminum", "Matte ABS"],
            &[],
            (29, 300),
        ),
        kp(
            "Laptop",
            &["Ultrathin", "Gaming", "2-in-1", "OLED", "Business"],
            &["Aluminum", "Magnesium Alloy", "Carbon Fiber"],
            &["13-inch", "14-inch", "15.6-inch", "16-inch"],
            (449, 1_500),
        ),
        kp(
            "Smart TV",
            &["4K", "HDR10+", "120Hz", "Slim-Bezel", "Voice-Control"],
            &["Brushed Aluminum", "Matte Black Polymer"],
            &["43-inch", "55-inch", "65-inch", "75-inch"],
            (249, 1_500),
        ),
        kp(
            "Charging Cable",
            &["Braided", "USB-C to USB-C", "100W", "Fast-Charging", "Right-Angle"],
            &["Nylon-Braided", "Silicone"],
            &["3 ft", "6 ft", "10 ft"],
            (15, 40),
        ),
    ],
    openers: &[
        "Meet the {brand} {noun}, designed to keep up with work, play and everything in between.",
        "{brand} engineered {this} {noun} for reliable, everyday performance at home or on the go.",
        "The {brand} {noun} bring{s} thoughtful design and dependable tech to your daily routine.",
        "Upgrade your setup with the {brand} {noun}.",
    ],
    feature_lines: &[
        "Highlights include {trait} and {trait2} capabilities you notice from the very first use.",
        "{Trait} performance and {trait2} convenience make {it} stand out in {its} class.",
        "Shoppers choose {it} for {its} {trait} design and {trait2} features.",
        "Key features: {trait}, {trait2}, and a setup that takes minutes.",
    ],
    material_lines: &[
        "The {material} build feels premium and holds up to daily use.",
        "{Material} construction keeps {it} light, solid and easy to carry.",
        "Finished in {material} with precise, tight tolerances.",
    ],
    closers: &[
        "Backed by a 1-year limited warranty.",
        "Includes a quick-start guide and everything you need to get going.",
        "Free firmware updates add new features over time.",
        "Ships in plastic-free, recyclable packaging.",
    ],
};

const FICTION_TRAITS: &[&str] = &[
    "Silent",
    "Last",
    "Forgotten",
    "Hidden",
    "Broken",
    "Glass",
    "Iron",
    "Golden",
    "Midnight",
    "Winter",
    "Shattered",
    "Burning",
    "Lost",
    "Sunken",
    "Crimson",
    "Hollow",
];
const FICTION_TAILS: &[&str] = &[
    "of Ash",
    "of the North",
    "of Storms",
    "Beneath the Sea",
    "at World's End",
    "of Salt and Bone",
    "of Stars",
    "in the Mist",
    "of Thorns",
    "of Embers",
    "Under the Moon",
    "of Whispers",
];
const FICTION_PATTERNS: &[Pattern] = &[&[THE, T, N, S], &[T, N, S]];
const FICTION_LINES: &[&str] = &[
    "A haunting story of secrets, loyalty and the {trait} places we call home.",
    "Readers of atmospheric fiction will devour this {trait}, page-turning tale.",
    "Critics praise its sweeping, {trait} atmosphere and unforgettable characters.",
];

const fn fiction(noun: &'static str) -> Kind {
    Kind {
        patterns: FICTION_PATTERNS,
        feature_lines: FICTION_LINES,
        ..k(
            noun,
            FICTION_TRAITS,
            &["Hardcover", "Paperback"],
            FICTION_TAILS,
            (9, 32),
        )
    }
}

const BOOKS: Vocabulary = Vocabulary {
    slug: "books",
    code: "BOOK",
    price_band: (8, 45),
    model_prefix: "Vol. ",
    brands: &[
        "Harbor Lane Press",
        "Quillstone Books",
        "Northlight Publishing",
        "Bramble & Finch",
        "Meridian House",
        "Copperleaf Press",
        "Lantern Street",
        "Tidewater Books",
        "Inkwell & Oak",
        "Silverpine Press",
    ],
    adjectives: &[
        "Complete",
        "Essential",
        "Illustrated",
        "Practical",
        "Modern",
        "Definitive",
        "Little",
        "Everyday",
        "Ultimate",
        "Beginner's",
        "Curious",
    ],
    variants: &[
        "Large Print Edition",
        "Signed Edition",
        "Anniversary Edition",
        "Collector's Edition",
        "Book Club Edition",
        "Deluxe Edition",
        "Pocket Edition",
        "Special Edition",
        "Illustrated Edition",
        "Gift Edition",
    ],
    patterns: &[&[THE, A, T, N], &[A, T, N, S], &[THE, T, N, S]],
    kinds: &[
        k(
            "Cookbook",
            &[
                "Sourdough",
                "Vegetarian",
                "Weeknight",
                "Mediterranean",
                "Slow Cooker",
                "Baking",
                "Plant-Based",
                "Grilling",
            ],
            &["Hardcover", "Paperback", "Lay-Flat Spiral"],
            &[", 2nd Edition", ", Revised Edition", ", 3rd Edition"],
            (15, 45),
        ),
        k(
            "Field Guide",
            &[
                "Birding",
                "Wildflower",
                "Mushroom Foraging",
                "Tree Identification",
                "Stargazing",
                "Animal Tracking",
            ],
            &["Flexibound", "Paperback", "Waterproof-Paper"],
            &[", 2nd Edition", ", Revised Edition", ", Regional Edition"],
            (12, 35),
        ),
        k(
            "Handbook",
            &[
                "Rust Programming",
                "Python",
                "Data Science",
                "Machine Learning",
                "Web Development",
                "SQL",
                "Cloud Architecture",
                "Algorithms",
            ],
            &["Paperback", "Hardcover"],
            &[", 2nd Edition", ", 3rd Edition", ", 4th Edition"],
            (25, 45),
        ),
        k(
            "Workbook",
            &[
                "Math",
                "Spelling",
                "Handwriting",
                "Phonics",
                "Science",
                "Reading Comprehension",
            ],
            &["Paperback", "Spiral-Bound"],
            &[", Grade 1", ", Grade 2", ", Grade 3", ", Grade 4"],
            (8, 20),
        ),
        k(
            "Travel Guide",
            &[
                "Japan",
                "Italy",
                "Iceland",
                "Patagonia",
                "Portugal",
                "National Parks",
                "Road Trip",
            ],
            &["Paperback", "Flexibound"],
            &[", 2nd Edition", ", Revised Edition", ", 2025 Edition"],
            (14, 30),
        ),
        k(
            "Baking Book",
            &["Bread", "Pastry", "Cake", "Cookie", "Gluten-Free", "Pie"],
            &["Hardcover", "Paperback"],
            &[", 2nd Edition", ", Revised Edition"],
            (15, 40),
        ),
        fiction("Kingdom"),
        fiction("Orchard"),
        fiction("Lighthouse"),
        fiction("Crown"),
    ],
    openers: &[
        "Published by {brand}, this title has earned a place on bookshelves everywhere.",
        "{brand} brings readers a book that is as rewarding the second time through as the first.",
        "A standout title from {brand}, loved by readers and reviewers alike.",
    ],
    feature_lines: &[
        "Packed with {trait} know-how, step-by-step instructions and clear illustrations.",
        "Covers {trait} essentials from the basics to advanced techniques, with practical examples throughout.",
        "Whether you are new to {trait} or an old hand, each chapter builds confidence and skill.",
    ],
    material_lines: &[
        "This {material} edition is printed on acid-free paper with a durable binding.",
        "Printed in {material} format with clear, easy-to-read type.",
        "The {material} format is built to be read, reread and shared.",
    ],
    closers: &[
        "Makes a thoughtful gift for readers of all ages.",
        "A perfect pick for book clubs and reading groups.",
        "Ships in protective packaging to arrive in perfect condition.",
    ],
};

const KITCHEN: Vocabulary = Vocabulary {
    slug: "kitchen",
    code: "KITC",
    price_band: (6, 400),
    model_prefix: "Series KT-",
    brands: &[
        "Hearthstone",
        "Copper & Cove",
        "Ember Kitchen",
        "Saltbrook",
        "Olive & Ash",
        "Brightforge",
        "Kettle & Crumb",
        "Maple Row",
        "Stonewell",
        "Juniper Home",
    ],
    adjectives: &[
        "Classic",
        "Professional",
        "Everyday",
        "Heritage",
        "Compact",
        "Artisan",
        "Essential",
    ],
    variants: &[
        "Matte Black",
        "Cherry Red",
        "Sage Green",
        "Cream",
        "Navy",
        "Graphite",
        "Copper",
        "Ocean Teal",
        "Mustard",
        "Slate Gray",
    ],
    patterns: &[&[M, N, S], &[B, A, M, N], &[B, T, M, N, S], &[B, T, N]],
    kinds: &[
        k(
            "Dutch Oven",
            &["Oven-Safe", "Induction-Ready", "Self-Basting", "Round"],
            &["Cast Iron", "Enameled Cast Iron"],
            &["3.5 qt", "5.5 qt", "7.25 qt"],
            (39, 350),
        ),
        kp(
            "Skillet",
            &["Oven-Safe", "Induction-Ready", "Pour-Spout", "Helper-Handle"],
            &["Cast Iron", "Carbon Steel", "Stainless Steel", "Hard-Anodized Aluminum"],
            &["8-inch", "10-inch", "12-inch"],
            (19, 180),
        ),
        kp(
            "Chef's Knife",
            &["Forged", "Full-Tang", "Razor-Sharp", "Japanese-Style"],
            &["Damascus Steel", "German Stainless Steel", "High-Carbon Steel"],
            &["6-inch", "8-inch", "10-inch"],
            (24, 250),
        ),
        kp(
            "Cutting Board",
            &["Reversible", "Juice-Groove", "End-Grain", "Non-Slip"],
            &["Acacia Wood", "Walnut", "Bamboo", "Maple"],
            &["Small", "Large", "XL"],
            (15, 150),
        ),
        k(
            "Saucepan",
            &["Tri-Ply", "Nonstick", "Induction-Ready", "Dishwasher-Safe"],
            &["Stainless Steel", "Copper", "Hard-Anodized Aluminum"],
            &["1.5 qt", "2 qt", "3 qt"],
            (25, 220),
        ),
        k(
            "Stand Mixer",
            &["Tilt-Head", "10-Speed", "Quiet", "Planetary-Action"],
            &["Die-Cast Metal", "Stainless Steel"],
            &["4.5 qt", "5.5 qt", "6 qt"],
            (149, 400),
        ),
        k(
            "Blender",
            &["High-Speed", "Personal", "Variable-Speed", "Self-Cleaning"],
            &["Tritan", "Glass", "Stainless Steel"],
            &["32 oz", "48 oz", "64 oz"],
            (29, 400),
        ),
        k(
            "French Press",
            &["Double-Walled", "Insulated", "Classic", "Cold Brew"],
            &["Borosilicate Glass", "Stainless Steel"],
            &["20 oz", "34 oz", "51 oz"],
            (15, 80),
        ),
        kp(
            "Mixing Bowl Set",
            &["Nesting", "Non-Slip", "Stackable", "Lidded"],
            &["Stainless Steel", "Ceramic", "Glass"],
            &["3-Piece", "5-Piece", "8-Piece"],
            (15, 90),
        ),
        kp(
            "Measuring Cup Set",
            &["Magnetic", "Stackable", "Nesting", "Engraved"],
            &["Stainless Steel", "Silicone"],
            &["6-Piece", "8-Piece"],
            (6, 40),
        ),
    ],
    openers: &[
        "Cook with confidence using the {brand} {noun}, made for busy weeknights and slow Sunday dinners.",
        "{brand} designed {this} {noun} with home cooks and professional chefs in mind.",
        "Bring restaurant-quality results home with the {brand} {noun}.",
    ],
    feature_lines: &[
        "{Its} {trait} and {trait2} design makes prep, cooking and cleanup easier.",
        "Cooks love the {trait} performance and {trait2} convenience.",
        "Key features: {trait}, {trait2} and a comfortable, balanced feel in the hand.",
    ],
    material_lines: &[
        "Crafted from {material} for lasting durability and years of daily use.",
        "{Material} construction stands up to everyday use in a busy kitchen.",
        "Made of {material} that cleans up easily and looks great on display.",
    ],
    closers: &[
        "Hand wash recommended to keep {it} looking {its} best.",
        "Backed by a limited lifetime warranty.",
        "Makes a great housewarming or wedding gift.",
    ],
};

const OUTDOOR: Vocabulary = Vocabulary {
    slug: "outdoor",
    code: "OUTD",
    price_band: (10, 700),
    model_prefix: "Model OD-",
    brands: &[
        "Trailhead",
        "Summit Ridge",
        "Pinecrest",
        "Northbound",
        "Alpine Crest",
        "Riverstone",
        "Wildpath",
        "Basecamp Co.",
        "Ironwood Outfitters",
        "Cairn & Compass",
    ],
    adjectives: &[
        "Ultralight",
        "Rugged",
        "Packable",
        "All-Season",
        "Expedition",
        "Backcountry",
        "Compact",
        "Weatherproof",
    ],
    variants: &[
        "Forest Green",
        "Desert Tan",
        "Glacier Blue",
        "Burnt Orange",
        "Charcoal",
        "Olive",
        "Sunset Red",
        "Slate",
        "Sand",
        "Moss",
    ],
    patterns: &[&[B, S, T, N], &[B, A, M, N], &[B, T, T2, N], &[A, M, N, S]],
    kinds: &[
        kp(
            "Tent",
            &[
                "Ultralight",
                "Freestanding",
                "3-Season",
                "Backpacking",
                "Quick-Pitch",
                "Storm-Rated",
            ],
            &["Ripstop Nylon", "Silnylon", "Polyester"],
            &["1-Person", "2-Person", "4-Person", "6-Person"],
            (79, 700),
        ),
        k(
            "Sleeping Bag",
            &["Mummy", "20-Degree", "Packable", "Water-Resistant", "Lightweight"],
            &["Hydrophobic Down", "Synthetic Fill", "Ripstop Nylon"],
            &[],
            (49, 450),
        ),
        kp(
            "Hiking Backpack",
            &["Ventilated", "Waterproof", "Frameless", "Hydration-Compatible"],
            &["Ripstop Nylon", "Cordura", "Recycled Polyester"],
            &["28L", "45L", "65L"],
            (39, 350),
        ),
        k(
            "Headlamp",
            &["Rechargeable", "400-Lumen", "Waterproof", "Red-Light"],
            &["Aluminum", "ABS"],
            &[],
            (15, 90),
        ),
        k(
            "Camp Stove",
            &["Compact", "Two-Burner", "Canister", "Wind-Resistant"],
            &["Stainless Steel", "Titanium", "Aluminum"],
            &[],
            (29, 250),
        ),
        plural(k(
            "Trekking Poles",
            &["Collapsible", "Shock-Absorbing", "Quick-Lock", "Cork-Grip"],
            &["Carbon Fiber", "Aluminum"],
            &[],
            (25, 200),
        )),
        k(
            "Hammock",
            &["Ultralight", "Double", "Bug-Net", "Packable"],
            &["Parachute Nylon", "Ripstop Nylon"],
            &[],
            (19, 120),
        ),
        k(
            "Water Filter",
            &["0.1-Micron", "Lightweight", "Fast-Flow", "Field-Cleanable"],
            &["BPA-Free Plastic", "Hollow Fiber"],
            &[],
            (19, 150),
        ),
        k(
            "Camp Chair",
            &["Folding", "Ultralight", "High-Back", "Rocking"],
            &["Aluminum", "Ripstop Polyester"],
            &[],
            (25, 180),
        ),
        kp(
            "Cooler",
            &["Hard-Sided", "Wheeled", "Bear-Resistant", "Leakproof"],
            &["Rotomolded Polyethylene", "Insulated Polyethylene"],
            &["20 qt", "45 qt", "65 qt"],
            (29, 450),
        ),
    ],
    openers: &[
        "Head outside with the {brand} {noun}, built for trail miles and unpredictable weather.",
        "{brand} field-tested {this} {noun} on long weekends and multi-day trips alike.",
        "The {brand} {noun} earn{s} {its} place in your pack, trip after trip.",
    ],
    feature_lines: &[
        "{Its} {trait}, {trait2} design saves weight without cutting corners.",
        "Thru-hikers and weekend campers alike appreciate the {trait} and {trait2} details.",
        "Key features: {trait}, {trait2} and simple, glove-friendly controls.",
    ],
    material_lines: &[
        "Made with {material} that shrugs off abrasion, rain and campfire smoke.",
        "{Material} construction keeps {it} light yet tough enough for rough terrain.",
        "Built from {material} and reinforced at every high-stress point.",
    ],
    closers: &[
        "Leave No Trace: pack it in, pack it out.",
        "Includes a compact stuff sack for easy storage.",
        "Backed by our lifetime repair program.",
    ],
};

const TOYS: Vocabulary = Vocabulary {
    slug: "toys",
    code: "TOYS",
    price_band: (5, 250),
    model_prefix: "Set No. ",
    brands: &[
        "Tinker Town",
        "Bright Blocks",
        "Puddlejump",
        "Wonderbox",
        "Little Comet",
        "Kitekin",
        "Marble & Moss",
        "Zippy Fox",
        "Playforge",
        "Starling Toys",
    ],
    adjectives: &["Deluxe", "Classic", "Mini", "Jumbo", "Junior", "Ultimate", "Creative"],
    variants: &[
        "Rainbow",
        "Ocean Edition",
        "Dinosaur Edition",
        "Space Edition",
        "Pastel",
        "Jungle Edition",
        "Holiday Edition",
        "Bright Primary",
        "Glow Edition",
        "Travel Size",
    ],
    patterns: &[&[B, T, N], &[B, A, T, N, S], &[B, S, M, N], &[B, T, T2, N]],
    kinds: &[
        kp(
            "Building Blocks Set",
            &["STEM", "Magnetic", "Interlocking", "Glow-in-the-Dark"],
            &["Wood", "ABS Plastic", "Plant-Based Plastic"],
            &["100-Piece", "250-Piece", "500-Piece"],
            (12, 120),
        ),
        kp(
            "Jigsaw Puzzle",
            &["Landscape", "Gradient", "Wildlife", "World Map", "Glow-in-the-Dark"],
            &["Recycled Cardboard", "Wood"],
            &["500-Piece", "1000-Piece", "1500-Piece"],
            (9, 45),
        ),
        kp(
            "Plush Teddy Bear",
            &["Huggable", "Weighted", "Jointed", "Heirloom"],
            &["Organic Cotton", "Recycled Polyester", "Faux Fur"],
            &["10-inch", "16-inch", "24-inch"],
            (9, 60),
        ),
        k(
            "Remote Control Car",
            &["Off-Road", "High-Speed", "Waterproof", "4WD", "Rechargeable"],
            &["ABS Plastic", "Die-Cast Metal"],
            &["1:16 Scale", "1:10 Scale"],
            (29, 250),
        ),
        Kind {
            patterns: &[&[B, T, N, S], &[B, A, T, N], &[B, T, T2, N]],
            ..k(
                "Board Game",
                &["Cooperative", "Strategy", "Family", "Party", "Trivia", "Deck-Building"],
                &["Linen-Finish Cardboard", "Solid Wood"],
                &["for 2-4 Players", "for 2-6 Players"],
                (15, 80),
            )
        },
        kp(
            "Train Set",
            &["Wooden", "Battery-Powered", "Expandable", "Figure-8"],
            &["Beechwood", "Maple", "ABS Plastic"],
            &["40-Piece", "80-Piece", "120-Piece"],
            (25, 200),
        ),
        k(
            "Art Kit",
            &["Watercolor", "Sketching", "Crafting", "Sticker", "Clay"],
            &["Non-Toxic Pigment", "Recycled Paper"],
            &[],
            (10, 70),
        ),
        k(
            "Dollhouse",
            &["Three-Story", "Furnished", "Victorian", "Light-Up"],
            &["Wood", "MDF"],
            &[],
            (49, 250),
        ),
        k(
            "Kite",
            &["Stunt", "Delta", "Easy-Flying", "Dual-Line"],
            &["Ripstop Nylon", "Fiberglass"],
            &[],
            (9, 80),
        ),
        k(
            "Science Kit",
            &["STEM", "Hands-On", "Crystal-Growing", "Volcano", "Award-Winning"],
            &["Lab-Grade Plastic", "Glass"],
            &[],
            (19, 120),
        ),
    ],
    openers: &[
        "Spark hours of imaginative play with the {brand} {noun}.",
        "{brand} designed {this} {noun} to grow with curious kids, from first play to big ideas.",
        "The {brand} {noun} turn{s} rainy afternoons into adventures.",
    ],
    feature_lines: &[
        "Kids love the {trait} and {trait2} features, and parents love how easy {it} {is} to put away.",
        "{Its} {trait} design builds creativity, problem-solving and fine motor skills.",
        "Key features: {trait}, {trait2} and sturdy parts that survive enthusiastic play.",
    ],
    material_lines: &[
        "Made from {material} tested to meet international toy safety standards.",
        "{Material} parts are smooth, durable and easy to wipe clean.",
        "Crafted with {material} and finished to child-safe standards.",
    ],
    closers: &[
        "Recommended for ages 3 and up.",
        "Not suitable for children under 3 years: contains small parts.",
        "Makes a perfect birthday or holiday gift.",
    ],
};

const CLOTHING: Vocabulary = Vocabulary {
    slug: "clothing",
    code: "CLTH",
    price_band: (9, 350),
    model_prefix: "Style No. ",
    brands: &[
        "Harbor & Pine",
        "Fieldstone",
        "Kestrel",
        "Loom & Lark",
        "Driftwood Supply",
        "Northmark",
        "Cobble Street",
        "Tallow & Thread",
        "Willow Lane",
        "Granite Peak",
    ],
    adjectives: &[
        "Classic",
        "Relaxed-Fit",
        "Slim-Fit",
        "Everyday",
        "Heritage",
        "Essential",
        "Vintage-Wash",
        "Lightweight",
    ],
    variants: &[
        "Heather Gray",
        "Navy",
        "Black",
        "Olive",
        "Charcoal",
        "Rust",
        "Ivory",
        "Forest Green",
        "Indigo",
        "Burgundy",
        "Sand",
        "Dusty Rose",
        "Sky Blue",
        "Camel",
    ],
    patterns: &[&[B, A, M, N], &[B, T, M, N], &[B, T, N], &[M, T, N]],
    kinds: &[
        k(
            "Crewneck Sweater",
            &["Cable-Knit", "Ribbed", "Oversized", "Cozy"],
            &["Merino Wool", "Cashmere Blend", "Organic Cotton", "Alpaca Blend"],
            &[],
            (39, 220),
        ),
        k(
            "Oxford Shirt",
            &["Button-Down", "Wrinkle-Resistant", "Stretch", "Long-Sleeve"],
            &["Organic Cotton", "Linen", "Cotton Poplin"],
            &[],
            (29, 120),
        ),
        plural(k(
            "Jeans",
            &["Straight-Leg", "Selvedge", "Stretch", "High-Rise", "Five-Pocket"],
            &["Raw Denim", "Stretch Denim", "Organic Cotton Denim"],
            &[],
            (39, 220),
        )),
        k(
            "Rain Jacket",
            &["Waterproof", "Packable", "Breathable", "Hooded", "Seam-Sealed"],
            &["Recycled Nylon", "3-Layer Shell", "Ripstop Polyester"],
            &[],
            (59, 350),
        ),
        k(
            "T-Shirt",
            &["Crewneck", "Pocket", "Heavyweight", "Garment-Dyed", "Boxy"],
            &["Organic Cotton", "Pima Cotton", "Tri-Blend", "Hemp Blend"],
            &[],
            (9, 45),
        ),
        plural(k(
            "Chino Pants",
            &["Flat-Front", "Tapered", "Stretch", "Tailored"],
            &["Cotton Twill", "Stretch Cotton", "Linen Blend"],
            &[],
            (39, 120),
        )),
        k(
            "Hoodie",
            &["Pullover", "Fleece-Lined", "Heavyweight", "Kangaroo-Pocket"],
            &["French Terry", "Organic Cotton Fleece", "Recycled Fleece"],
            &[],
            (35, 140),
        ),
        k(
            "Puffer Jacket",
            &["Packable", "Hooded", "Water-Resistant", "800-Fill Down"],
            &["Recycled Nylon", "Ripstop Nylon", "Matte Nylon"],
            &[],
            (89, 350),
        ),
        plural(kp(
            "Crew Socks",
            &["Cushioned", "Moisture-Wicking", "Hiking", "Everyday"],
            &["Merino Wool", "Bamboo Blend", "Cotton Blend"],
            &["3-Pack", "6-Pack"],
            (12, 45),
        )),
        plural(k(
            "Sneakers",
            &["Low-Top", "Cushioned", "Lace-Up", "Minimalist"],
            &["Full-Grain Leather", "Canvas", "Suede", "Recycled Knit"],
            &[],
            (49, 200),
        )),
        k(
            "Beanie",
            &["Ribbed", "Cuffed", "Slouchy", "Fleece-Lined"],
            &["Merino Wool", "Acrylic", "Cashmere"],
            &[],
            (12, 60),
        ),
    ],
    openers: &[
        "You will reach for the {brand} {noun} again and again.",
        "Cut for comfort and made to last, {this} {noun} from {brand} {is} a wardrobe staple.",
        "{brand} reimagined the classic {noun} with better fabric and a modern fit.",
    ],
    feature_lines: &[
        "{Its} {trait} and {trait2} details look sharp from the office to the weekend.",
        "Key features: {trait}, {trait2} and reinforced seams at stress points.",
        "Customers love the {trait} styling and easy, relaxed drape.",
    ],
    material_lines: &[
        "Made from {material} that feels soft on day one and even better after every wash.",
        "{Material} fabric breathes well and holds {its} shape all day.",
        "Crafted in {material} sourced from certified mills.",
    ],
    closers: &[
        "Machine wash cold, tumble dry low.",
        "True to size; see the size chart for exact measurements.",
        "Free returns within 30 days.",
    ],
};

const BEAUTY: Vocabulary = Vocabulary {
    slug: "beauty",
    code: "BEAU",
    price_band: (5, 180),
    model_prefix: "Batch ",
    brands: &[
        "Lumiere",
        "Petal & Pine",
        "Dewdrop",
        "Verdant Skin",
        "Solstice Beauty",
        "Maison Rose",
        "Aloe & Oak",
        "Glow Theory",
        "Seaglass Botanics",
        "Velour Lab",
    ],
    adjectives: &[
        "Hydrating",
        "Brightening",
        "Gentle",
        "Nourishing",
        "Revitalizing",
        "Soothing",
        "Clarifying",
        "Daily",
    ],
    variants: &[
        "Unscented",
        "Lavender",
        "Citrus",
        "Rose",
        "Eucalyptus",
        "Vanilla",
        "Cucumber Mint",
        "Sandalwood",
        "Travel Size",
        "Value Size",
    ],
    patterns: &[&[B, A, T, N], &[B, T, N, S], &[A, M, N, S], &[B, M, T, N]],
    kinds: &[
        k(
            "Face Serum",
            &["Vitamin C", "Hyaluronic Acid", "Niacinamide", "Retinol", "Peptide"],
            &["Aloe Vera", "Squalane", "Rosehip Oil", "Green Tea Extract"],
            &["1 fl oz", "1.7 fl oz"],
            (12, 120),
        ),
        k(
            "Moisturizer",
            &["Oil-Free", "Fragrance-Free", "Ceramide", "SPF 30", "Lightweight"],
            &["Shea Butter", "Squalane", "Jojoba Oil"],
            &["1.7 fl oz", "2.5 fl oz"],
            (12, 110),
        ),
        k(
            "Cleanser",
            &["pH-Balanced", "Foaming", "Exfoliating", "Fragrance-Free"],
            &["Green Tea Extract", "Charcoal", "Oat Extract", "Aloe Vera"],
            &["5 fl oz", "8 fl oz"],
            (8, 45),
        ),
        k(
            "Shampoo",
            &["Sulfate-Free", "Volumizing", "Color-Safe", "Clarifying"],
            &["Argan Oil", "Tea Tree Oil", "Coconut Oil", "Rosemary Oil"],
            &["12 fl oz", "16 fl oz", "33.8 fl oz"],
            (8, 48),
        ),
        kp(
            "Lip Balm",
            &["Tinted", "SPF 15", "Overnight", "Unscented"],
            &["Beeswax", "Shea Butter", "Coconut Oil"],
            &["2-Pack", "4-Pack"],
            (5, 24),
        ),
        k(
            "Sunscreen",
            &["SPF 50", "Mineral", "Water-Resistant", "Reef-Safe", "Broad-Spectrum"],
            &["Zinc Oxide", "Aloe Vera", "Titanium Dioxide"],
            &["3 fl oz", "6 fl oz"],
            (9, 40),
        ),
        k(
            "Body Lotion",
            &["Fragrance-Free", "Fast-Absorbing", "Intensive Repair", "Non-Greasy"],
            &["Shea Butter", "Cocoa Butter", "Oat Extract"],
            &["8 fl oz", "16 fl oz"],
            (7, 40),
        ),
        kp(
            "Makeup Brush Set",
            &["Vegan", "Travel", "Professional", "Blending"],
            &["Synthetic Bristle", "Bamboo Handle"],
            &["5-Piece", "12-Piece"],
            (12, 90),
        ),
        k(
            "Hair Dryer",
            &["Ionic", "Compact", "Diffuser", "Fast-Drying"],
            &["Ceramic", "Tourmaline"],
            &[],
            (29, 180),
        ),
        k(
            "Eye Cream",
            &["Depuffing", "Caffeine", "Retinol", "Peptide"],
            &["Caffeine", "Cucumber Extract", "Squalane"],
            &["0.5 fl oz", "1 fl oz"],
            (14, 90),
        ),
    ],
    openers: &[
        "Give your routine an upgrade with the {brand} {noun}.",
        "{brand} developed {this} {noun} for simple, effective everyday care.",
        "The {brand} {noun} deliver{s} visible results without complicated steps.",
    ],
    feature_lines: &[
        "Highlights: {trait} and {trait2}, in a routine that takes seconds.",
        "Reviewers rave about the {trait}, {trait2} results.",
        "Key benefits: {trait}, {trait2} and no harsh additives.",
    ],
    material_lines: &[
        "Made with {material} and free from parabens and phthalates.",
        "Features {material} for a gentle, comfortable feel.",
        "{Material} is at the heart of this product.",
    ],
    closers: &[
        "Cruelty-free and never tested on animals.",
        "Patch test before first use.",
        "Packaged in recyclable materials.",
    ],
};

const SPORTS: Vocabulary = Vocabulary {
    slug: "sports",
    code: "SPRT",
    price_band: (8, 900),
    model_prefix: "Model SP-",
    brands: &[
        "Apex Athletic",
        "Fleetfoot",
        "Ironclad",
        "Velocity",
        "Stride & Co.",
        "Peakform",
        "Courtside",
        "Riptide Sports",
        "Kinetic Labs",
        "Bolt Street",
    ],
    adjectives: &[
        "Pro",
        "Competition",
        "Training",
        "Performance",
        "Elite",
        "Club",
        "Premium",
    ],
    variants: &[
        "Black/Volt",
        "Royal Blue",
        "Scarlet",
        "Neon Green",
        "White/Gold",
        "Storm Gray",
        "Orange Blaze",
        "Team Navy",
        "Purple Haze",
        "Stealth Black",
    ],
    patterns: &[&[B, T, N, S], &[B, A, T, N], &[B, A, M, N], &[B, T, T2, N]],
    kinds: &[
        kp(
            "Yoga Mat",
            &["Non-Slip", "Extra-Thick", "Reversible", "Alignment", "Travel"],
            &["Natural Rubber", "TPE", "Cork", "PVC-Free Foam"],
            &["4mm", "6mm", "8mm"],
            (15, 140),
        ),
        k(
            "Dumbbell Set",
            &["Adjustable", "Quick-Change", "Space-Saving", "Knurled-Grip"],
            &["Cast Iron", "Rubber-Coated Steel", "Chrome Steel"],
            &["25 lb", "50 lb", "90 lb"],
            (29, 600),
        ),
        k(
            "Basketball",
            &["Indoor/Outdoor", "Official-Size", "Composite", "Grip-Tech"],
            &["Composite Leather", "Rubber", "Full-Grain Leather"],
            &["Size 6", "Size 7"],
            (15, 180),
        ),
        plural(k(
            "Running Shoes",
            &["Cushioned", "Lightweight", "Trail", "Carbon-Plated", "Stability"],
            &["Engineered Mesh", "Recycled Knit"],
            &[],
            (59, 250),
        )),
        k(
            "Tennis Racket",
            &["Power", "Control", "Lightweight", "Oversize"],
            &["Graphite", "Carbon Fiber", "Aluminum"],
            &["100 sq in", "105 sq in"],
            (29, 280),
        ),
        k(
            "Road Bike",
            &["Endurance", "Aero", "Gravel", "Disc-Brake"],
            &["Carbon Fiber", "Aluminum", "Chromoly Steel"],
            &["52cm", "54cm", "56cm", "58cm"],
            (449, 900),
        ),
        plural(kp(
            "Resistance Bands",
            &["Loop", "Heavy-Duty", "Non-Slip", "Color-Coded"],
            &["Natural Latex", "Woven Fabric"],
            &["3-Pack", "5-Pack"],
            (8, 45),
        )),
        k(
            "Jump Rope",
            &["Speed", "Weighted", "Adjustable", "Ball-Bearing"],
            &["Steel Cable", "PVC", "Aluminum"],
            &[],
            (8, 40),
        ),
        k(
            "Soccer Ball",
            &["Match", "Thermo-Bonded", "Official-Size", "All-Weather"],
            &["PU Leather", "TPU", "Synthetic Leather"],
            &["Size 4", "Size 5"],
            (15, 160),
        ),
        kp(
            "Foam Roller",
            &["High-Density", "Textured", "Vibrating", "Travel"],
            &["EVA Foam", "EPP Foam"],
            &["12-inch", "18-inch", "36-inch"],
            (12, 120),
        ),
        k(
            "Water Bottle",
            &["Insulated", "Leakproof", "Wide-Mouth", "Straw-Lid"],
            &["Stainless Steel", "Tritan"],
            &["24 oz", "32 oz", "40 oz"],
            (12, 50),
        ),
    ],
    openers: &[
        "Train harder and recover faster with the {brand} {noun}.",
        "{brand} built {this} {noun} for athletes who show up every day.",
        "Whether you are just starting out or chasing a personal best, the {brand} {noun} {has} you covered.",
    ],
    feature_lines: &[
        "{Its} {trait} and {trait2} design keeps you focused on performance.",
        "Key features: {trait}, {trait2} and coach-approved durability.",
        "Athletes choose {it} for the {trait} feel and {trait2} reliability.",
    ],
    material_lines: &[
        "Made from {material} that stands up to sweat, impact and repetition.",
        "{Material} construction balances weight, grip and durability.",
        "Built with {material} for consistent performance session after session.",
    ],
    closers: &[
        "Backed by a 1-year warranty.",
        "Wipe clean after every workout.",
        "Trusted by clubs and gyms nationwide.",
    ],
};

const GARDEN: Vocabulary = Vocabulary {
    slug: "garden",
    code: "GRDN",
    price_band: (5, 600),
    model_prefix: "Model GD-",
    brands: &[
        "Greenhaven",
        "Rootwell",
        "Fernbrook",
        "Sunpatch",
        "Bloom & Burrow",
        "Mossy Gate",
        "Terra Verde",
        "Sprout Supply",
        "Hedgerow",
        "Thistle & Vine",
    ],
    adjectives: &[
        "Heavy-Duty",
        "Ergonomic",
        "Classic",
        "Professional",
        "Compact",
        "Weather-Resistant",
        "Lightweight",
    ],
    variants: &[
        "Fern Green",
        "Terracotta",
        "Charcoal",
        "Stone Gray",
        "Sunflower Yellow",
        "Sky Blue",
        "Natural",
        "Brick Red",
        "Sage",
        "Black",
    ],
    patterns: &[&[B, A, T, N], &[B, S, M, N], &[B, T, N, S], &[M, T, N]],
    kinds: &[
        kp(
            "Garden Hose",
            &["Expandable", "Kink-Free", "Lightweight", "Drinking-Water-Safe"],
            &["Rubber", "Latex", "Hybrid Polymer"],
            &["25 ft", "50 ft", "100 ft"],
            (15, 120),
        ),
        plural(k(
            "Pruning Shears",
            &["Bypass", "Ratcheting", "Spring-Loaded", "Non-Stick Coated"],
            &["Carbon Steel", "Stainless Steel", "SK5 Steel"],
            &[],
            (12, 80),
        )),
        kp(
            "Raised Garden Bed",
            &["Elevated", "Modular", "Self-Watering", "Tool-Free"],
            &["Cedar", "Galvanized Steel", "Composite Wood"],
            &["2x4 ft", "4x4 ft", "4x8 ft"],
            (39, 400),
        ),
        kp(
            "Planter",
            &["Self-Watering", "Hanging", "Drainage-Hole", "Frost-Resistant"],
            &["Terracotta", "Ceramic", "Fiberstone", "Recycled Plastic"],
            &["6-inch", "10-inch", "16-inch"],
            (8, 150),
        ),
        kp(
            "Wheelbarrow",
            &["Dual-Wheel", "Flat-Free", "Poly-Tray", "Folding"],
            &["Steel", "Poly"],
            &["4 cu ft", "6 cu ft"],
            (59, 300),
        ),
        kp(
            "Lawn Mower",
            &["Cordless", "Self-Propelled", "Mulching", "Brushless"],
            &["Steel Deck", "Composite Deck"],
            &["16-inch", "21-inch"],
            (129, 600),
        ),
        kp(
            "Seed Starter Kit",
            &["Heirloom", "Organic", "Indoor", "Herb", "Vegetable"],
            &["Peat-Free Soil", "Coir"],
            &["36-Cell", "72-Cell"],
            (9, 60),
        ),
        plural(k(
            "Garden Gloves",
            &["Thorn-Proof", "Touchscreen", "Breathable", "Waterproof"],
            &["Goatskin Leather", "Nitrile-Coated", "Bamboo"],
            &[],
            (8, 40),
        )),
        k(
            "Bird Feeder",
            &["Squirrel-Proof", "Hanging", "Window", "Tube"],
            &["Cedar", "Powder-Coated Steel", "Recycled Plastic"],
            &[],
            (12, 90),
        ),
        plural(kp(
            "Solar Path Lights",
            &["Solar", "Waterproof", "Warm White", "Dusk-to-Dawn"],
            &["Stainless Steel", "Glass"],
            &["4-Pack", "8-Pack", "12-Pack"],
            (15, 90),
        )),
        kp(
            "Compost Bin",
            &["Tumbling", "Dual-Chamber", "Odor-Free", "Rodent-Proof"],
            &["Recycled Plastic", "Galvanized Steel"],
            &["37 gal", "50 gal", "80 gal"],
            (15, 250),
        ),
    ],
    openers: &[
        "Make yard work easier with the {brand} {noun}.",
        "{brand} designed {this} {noun} for gardeners who like to get their hands dirty.",
        "From spring planting to fall cleanup, the {brand} {noun} {is} ready for the season.",
    ],
    feature_lines: &[
        "{Its} {trait} and {trait2} design saves time and effort in the garden.",
        "Key features: {trait}, {trait2} and a rust-resistant finish.",
        "Gardeners love the {trait} performance and {trait2} convenience.",
    ],
    material_lines: &[
        "Made from {material} built to withstand sun, rain and frost.",
        "{Material} construction holds up season after season outdoors.",
        "Crafted from {material} with weather-resistant hardware.",
    ],
    closers: &[
        "Store in a dry place over winter.",
        "Backed by a 2-year warranty.",
        "Assembly, if needed, takes less than 15 minutes.",
    ],
};

const OFFICE: Vocabulary = Vocabulary {
    slug: "office",
    code: "OFFC",
    price_band: (3, 900),
    model_prefix: "Model OF-",
    brands: &[
        "Paperline",
        "Deskcraft",
        "Inkwise",
        "Ledger & Co.",
        "Officium",
        "Brightdesk",
        "Cedarpoint",
        "Nordic Desk",
        "Graphite Works",
        "Clipwell",
    ],
    adjectives: &[
        "Professional",
        "Executive",
        "Compact",
        "Ergonomic",
        "Minimalist",
        "Classic",
        "Modern",
    ],
    variants: &[
        "Black",
        "White",
        "Walnut",
        "Oak",
        "Slate Blue",
        "Sage",
        "Blush",
        "Charcoal",
        "Assorted Colors",
        "Natural",
    ],
    patterns: &[&[B, A, T, N], &[B, T, M, N], &[B, S, T, N], &[B, M, N, S]],
    kinds: &[
        k(
            "Office Chair",
            &["Mesh-Back", "Lumbar-Support", "Adjustable", "High-Back", "Reclining"],
            &["Breathable Mesh", "Bonded Leather", "Fabric"],
            &[],
            (99, 900),
        ),
        kp(
            "Standing Desk",
            &["Electric", "Height-Adjustable", "Dual-Motor", "Memory-Preset"],
            &["Bamboo", "Walnut Veneer", "Laminate", "Solid Oak"],
            &["48-inch", "55-inch", "60-inch", "72-inch"],
            (199, 900),
        ),
        kp(
            "Notebook",
            &["Dotted", "Hardcover", "Lay-Flat", "Numbered-Page", "Elastic-Closure"],
            &["Acid-Free Paper", "Recycled Paper", "Vegan Leather"],
            &["A5", "A4", "Pocket"],
            (5, 35),
        ),
        plural(kp(
            "Gel Pens",
            &["Quick-Dry", "Fine-Point", "Retractable", "Smudge-Proof"],
            &["Recycled Plastic", "Aluminum"],
            &["12-Pack", "24-Pack", "36-Pack"],
            (3, 30),
        )),
        k(
            "Desk Lamp",
            &["LED", "Dimmable", "Architect", "Wireless-Charging"],
            &["Aluminum", "Steel", "Brass"],
            &[],
            (19, 160),
        ),
        k(
            "Desk Organizer",
            &["Multi-Compartment", "Rotating", "Stackable", "Drawer"],
            &["Bamboo", "Mesh Metal", "Acrylic", "Walnut"],
            &[],
            (9, 70),
        ),
        kp(
            "Paper Shredder",
            &["Cross-Cut", "Quiet", "Auto-Feed", "Jam-Proof"],
            &["Steel", "ABS"],
            &["8-Sheet", "12-Sheet", "18-Sheet"],
            (39, 350),
        ),
        k(
            "Filing Cabinet",
            &["Locking", "Mobile", "Lateral", "2-Drawer"],
            &["Steel", "Engineered Wood"],
            &[],
            (79, 400),
        ),
        k(
            "Whiteboard",
            &["Magnetic", "Dry-Erase", "Frameless", "Double-Sided"],
            &["Glass", "Porcelain Steel", "Aluminum Frame"],
            &["24x36 in", "36x48 in"],
            (19, 250),
        ),
        plural(kp(
            "Sticky Notes",
            &["Super-Sticky", "Pastel", "Lined", "Pop-Up"],
            &["Recycled Paper"],
            &["12-Pack", "24-Pack"],
            (3, 25),
        )),
        k(
            "Stapler",
            &["Heavy-Duty", "Jam-Free", "Spring-Powered", "Desktop"],
            &["Die-Cast Metal", "Steel"],
            &[],
            (6, 60),
        ),
    ],
    openers: &[
        "Stay organized and productive with the {brand} {noun}.",
        "{brand} built {this} {noun} for home offices and busy workplaces alike.",
        "The {brand} {noun} bring{s} order and comfort to your workday.",
    ],
    feature_lines: &[
        "{Its} {trait} and {trait2} design keeps your desk tidy and your focus sharp.",
        "Key features: {trait}, {trait2} and a clean, minimalist look.",
        "Professionals choose {it} for the {trait} performance and {trait2} convenience.",
    ],
    material_lines: &[
        "Made from {material} that stands up to daily use.",
        "{Material} construction looks great in any workspace.",
        "Crafted from {material} with carefully finished edges.",
    ],
    closers: &[
        "Ships ready to use, with minimal assembly.",
        "Backed by a 2-year warranty.",
        "Ideal for home, school and office.",
    ],
};

const PETS: Vocabulary = Vocabulary {
    slug: "pets",
    code: "PETS",
    price_band: (4, 250),
    model_prefix: "Style PT-",
    brands: &[
        "Pawsome",
        "Whisker & Wag",
        "Barkley Co.",
        "Furrow",
        "Tailwind Pets",
        "Happy Hound",
        "Meadow Paws",
        "Kibble & Co.",
        "Purrfect Day",
        "Northpaw",
    ],
    adjectives: &["Cozy", "Durable", "Deluxe", "Calming", "Premium", "Everyday"],
    variants: &[
        "Charcoal",
        "Sandstone",
        "Navy",
        "Blush Pink",
        "Forest Green",
        "Caramel",
        "Plaid",
        "Cream",
        "Sky Blue",
        "Value Pack",
    ],
    patterns: &[&[B, A, T, N], &[B, T, M, N], &[B, S, T, N], &[B, M, N, S]],
    kinds: &[
        kp(
            "Dog Bed",
            &["Orthopedic", "Bolster", "Washable", "Cooling"],
            &["Memory Foam", "Sherpa", "Faux Fur", "Canvas"],
            &["Small", "Medium", "Large", "XL"],
            (25, 250),
        ),
        kp(
            "Cat Tree",
            &["Multi-Level", "Sisal-Wrapped", "Modern", "Wall-Mounted"],
            &["Sisal", "Plush", "Engineered Wood"],
            &["36-inch", "52-inch", "68-inch"],
            (39, 250),
        ),
        k(
            "Dog Leash",
            &["Reflective", "Hands-Free", "Retractable", "Padded-Handle"],
            &["Nylon", "Biothane", "Leather", "Rope"],
            &["4 ft", "6 ft"],
            (9, 60),
        ),
        kp(
            "Dog Harness",
            &["No-Pull", "Reflective", "Padded", "Step-In"],
            &["Nylon", "Mesh", "Neoprene"],
            &["Small", "Medium", "Large"],
            (15, 70),
        ),
        k(
            "Cat Litter",
            &["Clumping", "Unscented", "Low-Dust", "Lightweight"],
            &["Clay", "Pine", "Tofu", "Walnut Shell"],
            &["10 lb", "20 lb", "40 lb"],
            (8, 45),
        ),
        k(
            "Dog Food",
            &[
                "Grain-Free",
                "High-Protein",
                "Puppy",
                "Limited-Ingredient",
                "Small-Breed",
            ],
            &["Salmon", "Chicken", "Lamb", "Turkey"],
            &["4 lb", "15 lb", "30 lb"],
            (12, 90),
        ),
        k(
            "Dog Chew Toy",
            &["Tough", "Squeaky", "Treat-Dispensing", "Floating"],
            &["Natural Rubber", "Nylon", "Rope"],
            &[],
            (4, 30),
        ),
        k(
            "Cat Wand Toy",
            &["Feather", "Interactive", "Catnip", "Bell"],
            &["Feather", "Felt", "Wool"],
            &[],
            (4, 25),
        ),
        k(
            "Pet Bowl Set",
            &["Non-Slip", "Elevated", "Slow-Feeder", "Spill-Proof"],
            &["Stainless Steel", "Ceramic", "Bamboo"],
            &["2-Cup", "4-Cup"],
            (9, 50),
        ),
        kp(
            "Aquarium Kit",
            &["LED", "Filtered", "Planted", "Rimless"],
            &["Glass", "Acrylic"],
            &["5 gal", "10 gal", "20 gal"],
            (29, 250),
        ),
        k(
            "Pet Carrier",
            &["Airline-Approved", "Soft-Sided", "Expandable", "Backpack"],
            &["Mesh", "Nylon", "Polyester"],
            &[],
            (25, 120),
        ),
    ],
    openers: &[
        "Treat your best friend to the {brand} {noun}.",
        "{brand} designed {this} {noun} with veterinarians and pet owners in mind.",
        "Happy pets, happy home: the {brand} {noun} {is} built for daily life with animals.",
    ],
    feature_lines: &[
        "{Its} {trait} and {trait2} design keeps pets comfortable and owners happy.",
        "Key features: {trait}, {trait2} and pet-safe components throughout.",
        "Pet parents love the {trait} design and {trait2} convenience.",
    ],
    material_lines: &[
        "Made with {material}, chosen with pets' health and happiness in mind.",
        "Features {material} and pet-safe components throughout.",
        "Thoughtfully made with {material} and tested by real pets.",
    ],
    closers: &[
        "Satisfaction guaranteed or your money back.",
        "Always supervise pets with new products.",
        "Made in a facility that meets strict quality standards.",
    ],
};

const MUSIC: Vocabulary = Vocabulary {
    slug: "music",
    code: "MUSC",
    price_band: (5, 2_500),
    model_prefix: "Model MU-",
    brands: &[
        "Resonance",
        "Blue Fret",
        "Harmonic Works",
        "Tempo & Tone",
        "Oakridge Guitars",
        "Cadence",
        "Silverline Audio",
        "Echo Valley",
        "Bellwood",
        "Redwood Acoustics",
    ],
    adjectives: &[
        "Vintage",
        "Studio",
        "Stage",
        "Classic",
        "Professional",
        "Student",
        "Signature",
    ],
    variants: &[
        "Sunburst",
        "Natural",
        "Cherry",
        "Black",
        "Vintage White",
        "Tobacco Burst",
        "Seafoam Green",
        "Walnut",
        "Satin Finish",
        "Gloss Finish",
    ],
    patterns: &[&[B, T, M, N], &[B, A, T, N], &[B, S, T, N], &[B, A, M, N]],
    kinds: &[
        k(
            "Acoustic Guitar",
            &["Dreadnought", "Cutaway", "Solid-Top", "All-Solid", "Acoustic-Electric"],
            &["Solid Spruce", "Mahogany", "Rosewood", "Cedar"],
            &[],
            (149, 2_500),
        ),
        k(
            "Electric Guitar",
            &["Single-Cut", "Humbucker", "Hollow-Body", "Locking-Tuner"],
            &["Alder", "Ash", "Mahogany", "Maple"],
            &[],
            (199, 2_500),
        ),
        kp(
            "Digital Piano",
            &["Weighted-Key", "Portable", "Bluetooth", "Console"],
            &["Rosewood Finish", "Walnut Finish", "Satin Black Finish"],
            &["61-Key", "88-Key"],
            (299, 2_500),
        ),
        kp(
            "Ukulele",
            &["Solid-Top", "Acoustic-Electric", "Travel", "Satin-Finish"],
            &["Mahogany", "Koa", "Spruce"],
            &["Soprano", "Concert", "Tenor"],
            (39, 400),
        ),
        plural(kp(
            "Guitar Strings",
            &["Coated", "Light-Gauge", "Medium-Gauge", "Long-Life"],
            &["Phosphor Bronze", "Nickel-Plated Steel", "80/20 Bronze"],
            &["3-Pack", "10-Pack"],
            (5, 60),
        )),
        k(
            "Microphone",
            &["Condenser", "USB", "Large-Diaphragm", "Cardioid", "XLR"],
            &["Brass", "Steel Mesh"],
            &[],
            (49, 900),
        ),
        kp(
            "Practice Pad",
            &["Silent", "Double-Sided", "Tunable"],
            &["Gum Rubber", "Birch"],
            &["6-inch", "12-inch"],
            (15, 60),
        ),
        kp(
            "Audio Interface",
            &["USB-C", "Low-Latency", "24-Bit", "Bus-Powered"],
            &["Aluminum", "Steel"],
            &["2-Channel", "4-Channel", "8-Channel"],
            (99, 700),
        ),
        kp(
            "Violin",
            &["Full-Size", "Handcrafted", "Antiqued", "Electric"],
            &["Spruce", "Maple", "Ebony"],
            &["4/4", "3/4", "1/2"],
            (99, 1_500),
        ),
        kp(
            "Synthesizer",
            &["Analog", "Polyphonic", "Modular", "Wavetable"],
            &["Aluminum", "Walnut"],
            &["25-Key", "37-Key", "49-Key"],
            (199, 2_000),
        ),
        k(
            "Capo",
            &["Quick-Change", "Trigger", "Partial"],
            &["Aluminum", "Zinc Alloy"],
            &[],
            (8, 40),
        ),
    ],
    openers: &[
        "Find your sound with the {brand} {noun}.",
        "{brand} crafted {this} {noun} for musicians who practice daily and play out often.",
        "From the practice room to the stage, the {brand} {noun} deliver{s}.",
    ],
    feature_lines: &[
        "{Its} {trait} and {trait2} design offers rich tone and effortless playability.",
        "Key features: {trait}, {trait2} and a professional setup out of the box.",
        "Players love the {trait} character and {trait2} versatility.",
    ],
    material_lines: &[
        "Built with {material} for warm, balanced tone and lasting stability.",
        "{Material} construction resonates beautifully and ages gracefully.",
        "Crafted with {material} and finished by hand.",
    ],
    closers: &[
        "Professionally inspected before shipping.",
        "Backed by a limited lifetime warranty.",
        "Free returns within 45 days.",
    ],
};

const HOME: Vocabulary = Vocabulary {
    slug: "home",
    code: "HOME",
    price_band: (10, 1_200),
    model_prefix: "Collection No. ",
    brands: &[
        "Hollow Oak",
        "Linen & Lane",
        "Stillwater Home",
        "Copperfield",
        "Ashby House",
        "Nestwell",
        "Larkspur Living",
        "Birch & Bramble",
        "Quiet Harbor",
        "Wren Home",
    ],
    adjectives: &[
        "Modern",
        "Rustic",
        "Scandinavian",
        "Mid-Century",
        "Farmhouse",
        "Coastal",
        "Minimalist",
        "Classic",
    ],
    variants: &[
        "Oatmeal",
        "Terracotta",
        "Sage",
        "Ivory",
        "Charcoal",
        "Dusty Blue",
        "Mustard",
        "Natural",
        "Blush",
        "Espresso",
    ],
    patterns: &[&[B, A, M, N], &[B, T, M, N], &[A, M, N, S], &[B, S, T, N]],
    kinds: &[
        k(
            "Throw Blanket",
            &["Chunky-Knit", "Waffle-Weave", "Reversible", "Fringed"],
            &["Cotton", "Wool", "Sherpa Fleece", "Linen"],
            &["50x60 in", "60x80 in"],
            (19, 180),
        ),
        kp(
            "Sheet Set",
            &["Percale", "Deep-Pocket", "Cooling", "Wrinkle-Resistant"],
            &["Egyptian Cotton", "Linen", "Bamboo Lyocell", "Organic Cotton"],
            &["Twin", "Queen", "King"],
            (39, 350),
        ),
        k(
            "Table Lamp",
            &["Dimmable", "Touch-Control", "USB-Port", "Three-Way"],
            &["Ceramic", "Brass", "Rattan", "Marble"],
            &[],
            (29, 250),
        ),
        kp(
            "Area Rug",
            &["Hand-Woven", "Flatweave", "Washable", "Low-Pile"],
            &["Jute", "Wool", "Cotton", "Polypropylene"],
            &["5x8 ft", "8x10 ft", "9x12 ft"],
            (49, 900),
        ),
        k(
            "Bookshelf",
            &["5-Tier", "Ladder", "Open-Back", "Adjustable-Shelf"],
            &["Solid Oak", "Walnut", "Pine", "Powder-Coated Steel"],
            &[],
            (59, 600),
        ),
        kp(
            "Sofa",
            &["Modular", "Reclining", "Sleeper", "Tufted"],
            &["Performance Velvet", "Linen Blend", "Top-Grain Leather", "Boucle"],
            &["2-Seat", "3-Seat"],
            (499, 1_200),
        ),
        kp(
            "Wall Mirror",
            &["Round", "Beveled", "Wall-Mounted", "Leaning"],
            &["Brass Frame", "Oak Frame", "Rattan Frame"],
            &["24-inch", "32-inch"],
            (39, 400),
        ),
        k(
            "Scented Candle",
            &["Hand-Poured", "Three-Wick", "Long-Burning", "Clean-Burning"],
            &["Soy Wax", "Coconut Wax", "Beeswax"],
            &["8 oz", "14 oz"],
            (12, 60),
        ),
        k(
            "Throw Pillow",
            &["Embroidered", "Textured", "Reversible", "Tassel"],
            &["Linen", "Velvet", "Cotton Canvas", "Boucle"],
            &["18x18 in", "20x20 in"],
            (12, 80),
        ),
        kp(
            "Dining Table",
            &["Extendable", "Pedestal", "Round", "Live-Edge"],
            &["Solid Oak", "Walnut", "Reclaimed Wood", "Marble"],
            &["4-Seat", "6-Seat", "8-Seat"],
            (299, 1_200),
        ),
        kp(
            "Storage Basket",
            &["Woven", "Collapsible", "Lidded", "Handled"],
            &["Seagrass", "Cotton Rope", "Water Hyacinth", "Felt"],
            &["Small", "Medium", "Large"],
            (12, 80),
        ),
    ],
    openers: &[
        "Make your space feel like home with the {brand} {noun}.",
        "{brand} designed {this} {noun} to bring warmth and character to any room.",
        "The {brand} {noun} pair{s} timeless design with everyday comfort.",
    ],
    feature_lines: &[
        "{Its} {trait} and {trait2} details add texture and style.",
        "Key features: {trait}, {trait2} and a versatile look that works with any decor.",
        "Customers love the {trait} design and {trait2} craftsmanship.",
    ],
    material_lines: &[
        "Made from {material} selected for beauty and durability.",
        "{Material} adds natural texture and timeless appeal.",
        "Crafted from responsibly sourced {material}.",
    ],
    closers: &[
        "Free shipping and easy 30-day returns.",
        "Spot clean or follow the care label.",
        "Assembly, if required, takes about 20 minutes.",
    ],
};

const AUTOMOTIVE: Vocabulary = Vocabulary {
    slug: "automotive",
    code: "AUTO",
    price_band: (8, 600),
    model_prefix: "Part No. AU-",
    brands: &[
        "Roadmaster",
        "Gearline",
        "TorqueWorks",
        "Highway Pro",
        "Motorvane",
        "Drivewell",
        "Ironpath",
        "Autocrest",
        "Piston & Co.",
        "Redline Garage",
    ],
    adjectives: &[
        "Heavy-Duty",
        "Universal",
        "Premium",
        "Compact",
        "Professional",
        "All-Weather",
    ],
    variants: &[
        "Black",
        "Gray",
        "Beige",
        "Carbon Look",
        "Red Accent",
        "Blue Accent",
        "Gunmetal",
        "Chrome",
        "Matte Black",
        "Tan",
    ],
    patterns: &[&[B, A, T, N], &[B, T, M, N], &[B, S, T, N], &[B, T, T2, N]],
    kinds: &[
        k(
            "Dash Cam",
            &["4K", "Dual-Channel", "Night-Vision", "Wi-Fi", "Parking-Mode"],
            &["Aluminum", "ABS"],
            &[],
            (39, 300),
        ),
        plural(kp(
            "Floor Mats",
            &["Trim-to-Fit", "Deep-Channel", "Odor-Resistant", "Raised-Edge"],
            &["Rubber", "TPE", "Carpet"],
            &["2-Piece", "4-Piece"],
            (19, 200),
        )),
        kp(
            "Jump Starter",
            &["Portable", "Lithium", "Waterproof", "12V"],
            &["ABS", "Rubberized ABS"],
            &["1500A", "2000A", "3000A"],
            (49, 250),
        ),
        k(
            "Tire Inflator",
            &["Cordless", "Digital", "Auto-Shutoff", "12V"],
            &["Aluminum", "ABS"],
            &[],
            (25, 120),
        ),
        k(
            "Phone Mount",
            &["Magnetic", "Wireless-Charging", "360-Degree", "One-Hand"],
            &["Aluminum", "Silicone"],
            &[],
            (9, 60),
        ),
        plural(kp(
            "Seat Covers",
            &["Waterproof", "Breathable", "Universal-Fit", "Heated"],
            &["Neoprene", "Faux Leather", "Canvas"],
            &["2-Piece", "Full-Set"],
            (25, 250),
        )),
        k(
            "Car Vacuum",
            &["Cordless", "Handheld", "Wet/Dry", "HEPA"],
            &["ABS", "Aluminum"],
            &[],
            (25, 150),
        ),
        plural(kp(
            "Wiper Blades",
            &["Beam-Style", "All-Season", "Silicone", "Streak-Free"],
            &["Silicone", "Natural Rubber"],
            &["22-inch", "24-inch", "26-inch"],
            (8, 45),
        )),
        kp(
            "Socket Set",
            &["Metric & SAE", "Ratcheting", "Impact-Rated", "Quick-Release"],
            &["Chrome Vanadium Steel", "Chromoly Steel"],
            &["40-Piece", "108-Piece", "216-Piece"],
            (25, 300),
        ),
        kp(
            "Roof Cargo Box",
            &["Aerodynamic", "Lockable", "Dual-Side-Opening", "Low-Profile"],
            &["ABS", "Polycarbonate"],
            &["14 cu ft", "18 cu ft", "21 cu ft"],
            (199, 600),
        ),
    ],
    openers: &[
        "Keep your vehicle road-ready with the {brand} {noun}.",
        "{brand} engineered {this} {noun} for daily commutes and long road trips.",
        "The {brand} {noun} {is} a smart addition to any car, truck or SUV.",
    ],
    feature_lines: &[
        "{Its} {trait} and {trait2} design makes life on the road easier.",
        "Key features: {trait}, {trait2} and a quick, tool-free install.",
        "Drivers choose {it} for the {trait} performance and {trait2} reliability.",
    ],
    material_lines: &[
        "Made from {material} that withstands heat, cold and vibration.",
        "{Material} construction is built for years of use.",
        "Built with {material} and tested in real-world conditions.",
    ],
    closers: &[
        "Check vehicle compatibility before ordering.",
        "Backed by a 1-year warranty.",
        "Installs in minutes with no special tools.",
    ],
};

const GROCERY: Vocabulary = Vocabulary {
    slug: "grocery",
    code: "GROC",
    price_band: (2, 60),
    model_prefix: "Lot ",
    brands: &[
        "Golden Acre",
        "Hillside Pantry",
        "Little Harvest",
        "Blue Mesa",
        "Orchard Lane",
        "Saltmarsh",
        "Wildflower Farms",
        "Prairie Mill",
        "Coastline Foods",
        "Three Oaks",
    ],
    adjectives: &[
        "Organic",
        "Small-Batch",
        "Artisan",
        "Single-Origin",
        "Farm-Fresh",
        "Wild-Harvested",
        "Heritage",
    ],
    variants: &[
        "Family Size",
        "Value Pack",
        "Gift Tin",
        "Twin Pack",
        "Multipack",
        "Seasonal Batch",
        "Reserve",
        "Limited Harvest",
        "Bulk Pack",
        "Sampler",
    ],
    patterns: &[&[B, A, T, N], &[B, T, N, S], &[A, T, N, S], &[B, T, T2, N]],
    kinds: &[
        k(
            "Whole Bean Coffee",
            &["Dark Roast", "Espresso Blend", "Fair Trade", "Shade-Grown", "Low-Acid"],
            &[
                "Ethiopian Beans",
                "Colombian Beans",
                "Guatemalan Beans",
                "Sumatran Beans",
            ],
            &["12 oz", "2 lb"],
            (9, 40),
        ),
        k(
            "Extra Virgin Olive Oil",
            &["Early Harvest", "Unfiltered", "Cold-Extracted", "Single-Estate"],
            &["Greek Olives", "Spanish Olives", "Italian Olives", "Californian Olives"],
            &["500 ml", "1 L"],
            (9, 45),
        ),
        k(
            "Honey",
            &["Raw", "Unfiltered", "Creamed", "Local"],
            &[
                "Wildflower Nectar",
                "Clover Nectar",
                "Manuka Nectar",
                "Buckwheat Nectar",
            ],
            &["12 oz", "16 oz", "32 oz"],
            (7, 55),
        ),
        k(
            "Rigatoni",
            &["Bronze-Cut", "Slow-Dried", "Whole Wheat", "Imported"],
            &["Durum Wheat Semolina", "Chickpea Flour", "Brown Rice Flour"],
            &["16 oz", "2 lb"],
            (2, 12),
        ),
        k(
            "Earl Grey Tea",
            &["Loose Leaf", "Fair Trade", "Single-Estate", "Decaf"],
            &["Whole Tea Leaves", "Bergamot Oil", "Ceylon Black Tea"],
            &["3 oz", "8 oz", "20 Tea Bags"],
            (6, 30),
        ),
        k(
            "Jasmine Green Tea",
            &["Loose Leaf", "Fair Trade", "Hand-Rolled", "First-Flush"],
            &["Whole Tea Leaves", "Jasmine Blossoms", "Spring Green Tea"],
            &["3 oz", "8 oz", "20 Tea Bags"],
            (6, 30),
        ),
        k(
            "Granola",
            &["Low-Sugar", "Protein", "Clustered", "Gluten-Free", "Honey-Sweetened"],
            &["Rolled Oats", "Toasted Pecans", "Pumpkin Seeds", "Coconut Flakes"],
            &["11 oz", "24 oz"],
            (4, 15),
        ),
        k(
            "Hot Sauce",
            &["Fermented", "Extra-Hot", "Smoky", "Garlicky", "Fruity"],
            &[
                "Habanero Peppers",
                "Chipotle Peppers",
                "Ghost Peppers",
                "Jalapeno Peppers",
                "Roasted Garlic",
            ],
            &["5 fl oz", "10 fl oz"],
            (4, 15),
        ),
        k(
            "Dark Chocolate Bar",
            &["72% Cacao", "Sea Salt", "Orange Zest", "Toasted Almond", "Raspberry"],
            &["Ecuadorian Cacao", "Peruvian Cacao", "Ghanaian Cacao"],
            &["3.5 oz"],
            (2, 12),
        ),
        k(
            "Maple Syrup",
            &["Grade A Amber", "Bourbon Barrel-Aged", "Pure", "Late-Season"],
            &["Pure Maple Sap"],
            &["8 fl oz", "16 fl oz", "32 fl oz"],
            (8, 40),
        ),
        k(
            "Sea Salt",
            &["Flaky", "Smoked", "Hand-Harvested", "Solar-Evaporated"],
            &["Atlantic Sea Water", "Pacific Sea Water", "Mediterranean Sea Water"],
            &["8 oz", "16 oz"],
            (5, 20),
        ),
        k(
            "Nut Butter",
            &["Creamy", "Unsweetened", "Honey-Roasted", "Stone-Ground", "No-Stir"],
            &["Dry-Roasted Almonds", "Peanuts", "Cashews"],
            &["12 oz", "16 oz"],
            (4, 18),
        ),
    ],
    openers: &[
        "Stock your pantry with {noun} from {brand}.",
        "{brand} makes {this} {noun} in small batches for flavor you can taste.",
        "Elevate everyday meals with {brand} {noun}.",
    ],
    feature_lines: &[
        "Enjoy the {trait} flavor, carefully developed for everyday cooking and snacking.",
        "Highlights: {trait} and {trait2}, with a flavor that is balanced and never overpowering.",
        "Customers love the {trait} taste and short, clean ingredient list.",
    ],
    material_lines: &[
        "Made with {material} from trusted growers and producers.",
        "Key ingredient: {material}.",
        "Crafted from {material}, with nothing artificial added.",
    ],
    closers: &[
        "Store in a cool, dry place.",
        "Non-GMO and responsibly sourced.",
        "Packed in a facility that also handles tree nuts.",
    ],
};

const BABY: Vocabulary = Vocabulary {
    slug: "baby",
    code: "BABY",
    price_band: (6, 500),
    model_prefix: "Model BB-",
    brands: &[
        "Little Sprout",
        "Bluebell Baby",
        "Cuddle Cove",
        "Tiny Tides",
        "Moonbeam Kids",
        "Snuggle & Co.",
        "Pebble Baby",
        "Honeybee Nursery",
        "Starling Baby",
        "Acorn & Bloom",
    ],
    adjectives: &[
        "Soft",
        "Gentle",
        "Convertible",
        "Lightweight",
        "Organic",
        "Everyday",
        "Cozy",
    ],
    variants: &[
        "Oatmeal",
        "Sage",
        "Dusty Pink",
        "Cloud Gray",
        "Mustard",
        "Sky Blue",
        "Stars Print",
        "Woodland Print",
        "Ivory",
        "Charcoal",
    ],
    patterns: &[&[B, A, T, N], &[B, T, M, N], &[B, S, A, N], &[A, M, N, S]],
    kinds: &[
        kp(
            "Swaddle Blanket",
            &["Muslin", "Breathable", "Zip-Up", "Adjustable"],
            &["Organic Cotton Muslin", "Bamboo Viscose", "Cotton Jersey"],
            &["3-Pack", "4-Pack"],
            (12, 60),
        ),
        k(
            "Stroller",
            &["Jogging", "Travel System", "Compact-Fold", "All-Terrain"],
            &["Aluminum Frame", "Recycled Fabric"],
            &[],
            (99, 500),
        ),
        k(
            "Baby Carrier",
            &["Ergonomic", "4-in-1", "Hip-Seat", "Mesh"],
            &["Organic Cotton", "Breathable Mesh", "Linen"],
            &[],
            (39, 200),
        ),
        kp(
            "Crib Sheet",
            &["Fitted", "Waterproof", "Jersey-Knit"],
            &["Organic Cotton", "Bamboo", "Muslin"],
            &["2-Pack", "3-Pack"],
            (12, 50),
        ),
        plural(k(
            "Baby Bottles",
            &["Anti-Colic", "Wide-Neck", "Slow-Flow", "Self-Sterilizing"],
            &["Glass", "Silicone", "BPA-Free Plastic"],
            &["4 oz", "8 oz"],
            (9, 60),
        )),
        k(
            "Baby Monitor",
            &["Video", "Wi-Fi", "Night-Vision", "Two-Way Audio", "Split-Screen"],
            &["ABS", "Matte Polycarbonate"],
            &[],
            (39, 300),
        ),
        k(
            "High Chair",
            &["Adjustable", "Foldable", "Grow-With-Me", "Easy-Clean"],
            &["Beechwood", "Food-Safe Plastic", "Aluminum"],
            &[],
            (49, 300),
        ),
        kp(
            "Teether",
            &["Textured", "Freezer-Safe", "Ring", "Dual-Sided"],
            &["Food-Grade Silicone", "Natural Rubber", "Beechwood"],
            &["2-Pack", "3-Pack"],
            (6, 20),
        ),
        k(
            "Diaper Backpack",
            &["Insulated", "Waterproof", "Changing-Pad", "Stroller-Strap"],
            &["Vegan Leather", "Recycled Polyester", "Canvas"],
            &[],
            (29, 150),
        ),
        k(
            "Play Mat",
            &["Foldable", "Reversible", "Padded", "Activity"],
            &["Non-Toxic Foam", "Organic Cotton"],
            &[],
            (25, 180),
        ),
        k(
            "Car Seat",
            &["Rear-Facing", "All-in-One", "Side-Impact", "Easy-Install"],
            &["Steel Frame", "Flame-Retardant-Free Fabric"],
            &[],
            (99, 500),
        ),
    ],
    openers: &[
        "Make everyday parenting easier with the {brand} {noun}.",
        "{brand} designed {this} {noun} with input from parents and pediatric experts.",
        "The {brand} {noun} {is} gentle on little ones and easy on busy parents.",
    ],
    feature_lines: &[
        "{Its} {trait} and {trait2} design keeps baby safe, comfortable and happy.",
        "Key features: {trait}, {trait2} and easy one-handed use.",
        "Parents love the {trait} design and {trait2} convenience.",
    ],
    material_lines: &[
        "Made with {material} and free from BPA, phthalates and lead.",
        "{Material} construction is easy to clean and built to last.",
        "Crafted from {material} and tested to meet strict safety standards.",
    ],
    closers: &[
        "Meets or exceeds all applicable safety standards.",
        "Makes a thoughtful baby shower gift.",
        "Backed by a 1-year warranty.",
    ],
};

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
            let vocab = VOCABULARIES.iter().find(|v| v.slug == product.category_slug).unwrap();
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
            let vocab = VOCABULARIES.iter().find(|v| v.slug == product.category_slug).unwrap();
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
            let vocab = VOCABULARIES.iter().find(|v| v.slug == product.category_slug).unwrap();
            let mentions_material = vocab
                .kinds
                .iter()
                .flat_map(|kind| kind.materials)
                .any(|material| description.contains(&material.to_lowercase()));
            assert!(mentions_material, "{}", product.description);
        }
    }

    #[test]
    fn vocabulary_is_consistent() {
        assert_eq!(CATEGORIES.len(), VOCABULARIES.len());
        let mut codes = HashSet::new();
        for (category, vocab) in CATEGORIES.iter().zip(&VOCABULARIES) {
            assert_eq!(category.slug, vocab.slug);
            assert!(codes.insert(vocab.code), "duplicate code {}", vocab.code);
            assert!((3..=4).contains(&vocab.code.len()));
            assert!(vocab.price_band.0 > 0 && vocab.price_band.0 < vocab.price_band.1);
            for list in [
                vocab.brands,
                vocab.adjectives,
                vocab.variants,
                vocab.openers,
                vocab.closers,
            ] {
                assert!(!list.is_empty(), "{}", vocab.slug);
            }
            assert!(!vocab.patterns.is_empty() && !vocab.kinds.is_empty());
            for kind in vocab.kinds {
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
        for vocab in &VOCABULARIES {
            let kind_lines = vocab.kinds.iter().flat_map(|kind| kind.feature_lines);
            let lines = [vocab.openers, vocab.feature_lines, vocab.material_lines, vocab.closers];
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
            render_name(&[B, S, T2, N], true, &slots("Tent", "2-Person")),
            "Trailhead 2-Person Ultralight Tent"
        );
        assert_eq!(
            render_name(&[M, N, S], false, &slots("Dutch Oven", "5.5 qt")),
            "Cast Iron Dutch Oven 5.5 qt"
        );
        assert_eq!(
            render_name(&[B, T, N, S], true, &slots("Tent", "2-Person")),
            "Trailhead Freestanding 2-Person Tent"
        );
        assert_eq!(
            render_name(&[B, A, T2, N], false, &slots("Tent", "2-Person")),
            "Trailhead Ultralight Tent"
        );
    }
}
