//! `shop bench-search` and `shop reindex`, against a running system (`shop up`):
//!
//! 1. waits until the index holds every active product (the catalog arrives as events);
//! 2. a full reindex, timed;
//! 3. a fixed query mix, built from the generated catalog's own words (single words, pairs,
//!    one-letter typos, prefixes, category and price filters, browsing, every sort), each
//!    query timed from request to parsed answer;
//! 4. freshness: price changes through the product service, each timed until search returns
//!    the product at its new price (the whole path: outbox, NATS, consumer, projector).

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use clap::Args;
use product_service::seed::catalog::{self, ProductSeed};
use serde::Deserialize;
use serde_json::{Value, json};
use shop_contracts::{Identity, Role, identity::IDENTITY_HEADER};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::launcher::{Configs, base_url, service_token};
use crate::stats::Percentiles;

#[derive(Debug, Args)]
pub struct BenchSearchArgs {
    /// Searches to time (the fixed mix of 200 queries, repeated).
    #[arg(long, default_value_t = 2_000)]
    pub queries: usize,
    /// Price changes to time until they are searchable.
    #[arg(long, default_value_t = 200)]
    pub changes: usize,
    /// Price changes per second.
    #[arg(long, default_value_t = 20)]
    pub change_rate: u32,
    /// How long to wait for the index to hold the whole catalog first.
    #[arg(long, default_value_t = 1_800)]
    pub wait_seconds: u64,
    /// Only the query mix, against any `/api/search` at `SEARCH_LISTEN_ADDR` — the search
    /// service, or a monolith stage's public port (SQL or index) — for a catalog generated with
    /// `--products` products, once search finds them all: no reindex, no freshness, no
    /// database access.
    #[arg(long, requires = "products")]
    pub queries_only: bool,
    /// With `--queries-only`: how many demo products the catalog was generated with.
    #[arg(long)]
    pub products: Option<u64>,
}

#[derive(Deserialize)]
struct Results {
    hits: Vec<HitView>,
    total: u64,
}

#[derive(Deserialize)]
struct HitView {
    id: Uuid,
    category: String,
    price: Price,
}

#[derive(Deserialize)]
struct Price {
    amount_minor: i64,
    currency: String,
}

struct Target {
    client: reqwest::Client,
    search_url: String,
    product_url: String,
    admin_token: String,
    service_token: String,
}

impl Target {
    fn new(configs: &Configs) -> anyhow::Result<Self> {
        Ok(Self {
            client: reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?,
            search_url: base_url(configs.search.service.listen_addr),
            product_url: base_url(configs.product.service.listen_addr),
            admin_token: configs.user.service.identity_key.mint(
                &Identity::new(Uuid::now_v7(), vec![Role::Admin]),
                chrono::Duration::hours(1),
            ),
            service_token: service_token(configs),
        })
    }

    async fn search(&self, query: &str) -> anyhow::Result<Results> {
        let response = self
            .client
            .get(format!("{}/api/search?{query}", self.search_url))
            .send()
            .await
            .context("cannot reach the search service; is `shop up` running?")?;
        ensure!(
            response.status().is_success(),
            "search `{query}` answered {}",
            response.status()
        );
        Ok(response.json().await?)
    }
}

pub async fn run(args: BenchSearchArgs, configs: &Configs) -> anyhow::Result<()> {
    ensure!(
        args.queries > 0 && args.change_rate > 0,
        "--queries and --change-rate must be positive"
    );
    let target = std::sync::Arc::new(Target::new(configs)?);
    let products = match args.products.filter(|_| args.queries_only) {
        Some(products) => products,
        None => active_products(configs).await?,
    };
    println!("catalog: {products} active products; search at {}", target.search_url);
    wait_until_indexed(&target, products, Duration::from_secs(args.wait_seconds)).await?;
    if !args.queries_only {
        println!("\nfull reindex:");
        let reindex = reindex_at(&target.client, &target.search_url, &target.service_token).await?;
        println!("  {products} products in {:.2} s", reindex.as_secs_f64());
    }

    println!("\nquery mix ({} searches, one at a time):", args.queries);
    let mix = query_mix(&catalog::products(products as usize));
    let mut all = Vec::with_capacity(args.queries);
    let mut kinds: Vec<KindResults> = QUERY_KINDS.iter().map(|&kind| KindResults::new(kind)).collect();
    for (kind, query) in mix.iter().cycle().take(args.queries) {
        let started = Instant::now();
        let results = target.search(query).await?;
        let latency = started.elapsed().as_secs_f64() * 1e3;
        all.push(latency);
        let slot = &mut kinds[*kind];
        slot.latencies.push(latency);
        slot.with_hits += usize::from(results.total > 0);
    }
    let found: usize = kinds.iter().map(|kind| kind.with_hits).sum();
    println!("  latency {}", Percentiles::of(all));
    println!("  queries with hits: {found} of {}", args.queries);
    println!("  per kind:");
    for kind in kinds {
        let searches = kind.latencies.len();
        println!(
            "    {:<26} hits {:>4} of {:<4} {}",
            kind.name,
            kind.with_hits,
            searches,
            Percentiles::of(kind.latencies)
        );
    }

    if args.changes > 0 && !args.queries_only {
        println!(
            "\nfreshness ({} price changes at {}/s):",
            args.changes, args.change_rate
        );
        let before = freshness_histogram(&target).await?;
        let lags = freshness(&target, args.changes, args.change_rate).await?;
        let after = freshness_histogram(&target).await?;
        println!(
            "  price change sent → seen in search results   {}",
            Percentiles::of(lags)
        );
        let delta: Vec<(f64, f64)> = after.iter().zip(&before).map(|(a, b)| (a.0, a.1 - b.1)).collect();
        println!(
            "  event → searchable, the service's search_freshness_seconds histogram: p50 ≈ {:.0} ms   p99 ≈ {:.0} ms",
            bucket_quantile(&delta, 0.50) * 1e3,
            bucket_quantile(&delta, 0.99) * 1e3
        );
    }
    Ok(())
}

/// `shop reindex`: rebuilds the running search service's index, printing its progress.
pub async fn reindex(configs: &Configs) -> anyhow::Result<()> {
    let elapsed = reindex_at(
        &reqwest::Client::new(),
        &base_url(configs.search.service.listen_addr),
        &service_token(configs),
    )
    .await?;
    println!("reindexed in {:.2} s", elapsed.as_secs_f64());
    Ok(())
}

/// Runs a full reindex, printing its progress lines on one terminal line; returns its duration.
async fn reindex_at(client: &reqwest::Client, search_url: &str, service_token: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut response = client
        .post(format!("{search_url}/internal/reindex"))
        .header(IDENTITY_HEADER, service_token)
        .send()
        .await
        .context("cannot reach the search service; is `shop up` running?")?
        .error_for_status()?;
    let mut pending = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        pending.extend_from_slice(&chunk);
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Value = serde_json::from_slice(&pending[..end])?;
            pending.drain(..=end);
            if let Some(progress) = line.get("progress") {
                print!("\r  reindexing: {} / {}", progress["done"], progress["total"]);
                std::io::stdout().flush()?;
            } else if let Some(done) = line.get("done") {
                println!("\r  reindexed: {} products in the new index", done["products"]);
                return Ok(started.elapsed());
            } else {
                bail!("the reindex failed: {}", line["failed"]["error"]);
            }
        }
    }
    bail!("the search service closed the reindex before it finished")
}

async fn active_products(configs: &Configs) -> anyhow::Result<u64> {
    let db = sqlx::PgPool::connect(configs.product.service.database_url.expose())
        .await
        .context("cannot reach the product database")?;
    Ok(product_service::store::products::count_active(&db).await?)
}

async fn wait_until_indexed(target: &Target, products: u64, patience: Duration) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let indexed = target.search("per_page=1").await?.total;
        print!("\r  indexed {indexed} / {products}");
        std::io::stdout().flush()?;
        if indexed >= products {
            println!(" (waited {:.1} s)", started.elapsed().as_secs_f64());
            return Ok(());
        }
        ensure!(
            started.elapsed() < patience,
            "the index still lacks products after {patience:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The kinds of query in the mix, in the order [`query_mix`] emits them per product.
const QUERY_KINDS: [&str; 8] = [
    "one word",
    "two words",
    "one word, one typo",
    "prefix (4 letters)",
    "word in a category",
    "category + price + stock",
    "browse newest, paged",
    "word, price descending",
];

struct KindResults {
    name: &'static str,
    latencies: Vec<f64>,
    with_hits: usize,
}

impl KindResults {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            latencies: Vec::new(),
            with_hits: 0,
        }
    }
}

/// 200 queries, 25 of each of [`QUERY_KINDS`] (by index), from every `step`-th generated product.
fn query_mix(products: &[ProductSeed]) -> Vec<(usize, String)> {
    let step = (products.len() / 25).max(1);
    let mut mix = Vec::new();
    for (n, product) in products.iter().step_by(step).take(25).enumerate() {
        let words: Vec<String> = product
            .name
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() >= 3)
            .map(str::to_lowercase)
            .collect();
        let long = words.iter().find(|w| w.len() >= 5).unwrap_or(&words[0]);
        let last = &words[words.len() - 1];
        let price = product.price_minor;
        let queries = [
            format!("q={}", words[0]),
            format!("q={}", words.iter().take(2).cloned().collect::<Vec<_>>().join("+")),
            format!("q={}", one_typo(long)),
            format!("q={}", long.chars().take(4).collect::<String>()),
            format!("q={last}&category={}", product.category_slug),
            format!(
                "category={}&min_price={}&max_price={}&in_stock=true&sort=price_asc",
                product.category_slug,
                price / 2,
                price * 2
            ),
            format!("sort=newest&page={}&per_page=20", n % 5 + 1),
            format!("q={last}&sort=price_desc&per_page=50"),
        ];
        mix.extend(queries.into_iter().enumerate());
    }
    mix
}

/// The word with two inner letters swapped (one typo).
fn one_typo(word: &str) -> String {
    let mut letters: Vec<char> = word.chars().collect();
    if letters.len() >= 5 {
        letters.swap(2, 3);
    }
    letters.into_iter().collect()
}

/// The cumulative buckets `(upper bound in seconds, count)` of the search service's freshness
/// histogram.
async fn freshness_histogram(target: &Target) -> anyhow::Result<Vec<(f64, f64)>> {
    let metrics = target
        .client
        .get(format!("{}/metrics", target.search_url))
        .send()
        .await?
        .text()
        .await?;
    Ok(metrics
        .lines()
        .filter_map(|line| line.strip_prefix("search_freshness_seconds_bucket{le=\""))
        .filter_map(|rest| {
            let (bound, count) = rest.split_once("\"} ")?;
            let bound = if bound == "+Inf" {
                f64::INFINITY
            } else {
                bound.parse().ok()?
            };
            Some((bound, count.trim().parse().ok()?))
        })
        .collect())
}

/// The `q` quantile of cumulative buckets, interpolated linearly inside the bucket it falls in
/// (as Prometheus' `histogram_quantile` does).
fn bucket_quantile(buckets: &[(f64, f64)], q: f64) -> f64 {
    let Some(&(_, total)) = buckets.last() else {
        return f64::NAN;
    };
    let rank = q * total;
    let mut lower = (0.0, 0.0);
    for &(bound, count) in buckets {
        if count >= rank && count > 0.0 {
            if bound.is_infinite() {
                return lower.0;
            }
            return lower.0 + (bound - lower.0) * (rank - lower.1) / (count - lower.1);
        }
        lower = (bound, count);
    }
    f64::NAN
}

/// Changes prices at `rate` per second and times each until search shows it.
async fn freshness(target: &std::sync::Arc<Target>, changes: usize, rate: u32) -> anyhow::Result<Vec<f64>> {
    let candidates = target.search("sort=newest&per_page=100").await?.hits;
    ensure!(!candidates.is_empty(), "no products to change");
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let mut probes = JoinSet::new();
    for n in 0..changes {
        tokio::time::sleep(interval).await;
        let product = &candidates[n % candidates.len()];
        // Each round raises the price again, so every change is new.
        let price = product.price.amount_minor + 1 + (n / candidates.len()) as i64;
        let started = Instant::now();
        target
            .client
            .put(format!("{}/api/products/{}/price", target.product_url, product.id))
            .header(IDENTITY_HEADER, &target.admin_token)
            .json(&json!({"amount_minor": price, "currency": product.price.currency}))
            .send()
            .await?
            .error_for_status()?;
        let (target, id, category) = (target.clone(), product.id, product.category.clone());
        probes.spawn(async move {
            let query = format!("category={category}&min_price={price}&max_price={price}&per_page=100");
            loop {
                if target.search(&query).await?.hits.iter().any(|hit| hit.id == id) {
                    return anyhow::Ok(started.elapsed().as_secs_f64() * 1e3);
                }
                ensure!(
                    started.elapsed() < Duration::from_secs(60),
                    "a price change never became searchable"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
    }
    let mut lags = Vec::with_capacity(changes);
    while let Some(lag) = probes.join_next().await {
        lags.push(lag??);
    }
    Ok(lags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_within_buckets() {
        let buckets = [(0.1, 0.0), (0.5, 50.0), (1.0, 100.0), (f64::INFINITY, 100.0)];
        assert!((bucket_quantile(&buckets, 0.5) - 0.5).abs() < 1e-9);
        assert!((bucket_quantile(&buckets, 0.25) - 0.3).abs() < 1e-9);
        assert!((bucket_quantile(&buckets, 0.99) - 0.99).abs() < 1e-9);
        assert!(bucket_quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn the_query_mix_has_two_hundred_queries_with_typos() {
        let mix = query_mix(&catalog::products(1_200));
        assert_eq!(mix.len(), 200);
        assert!(mix.iter().all(|(kind, _)| *kind < QUERY_KINDS.len()));
        assert_eq!(mix.iter().filter(|(kind, _)| *kind == 2).count(), 25);
        assert_eq!(one_typo("wireless"), "wierless");
        assert_eq!(one_typo("mug"), "mug");
    }
}
