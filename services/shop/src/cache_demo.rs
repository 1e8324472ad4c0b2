//! `shop stages demo cache`: the cache stage's three classic failures and its freshness,
//! shown against the running stage. Database reads are counted by the cache's own
//! `cache_lookups_total{result="miss"}` in `/metrics`: every miss is one rebuild from the
//! database.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::future::join_all;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::{
    demo::{Outcome, admin_session, set_price},
    launcher::Configs,
};

const READS: usize = 100;

pub async fn run(client: &Client, url: &str) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::default();

    // Stampede: a product that nobody has read by id yet, read 100 times at once.
    let page: Value = get_json(client, &format!("{url}/api/products?limit=100")).await?;
    let product = page["items"]
        .as_array()
        .and_then(|items| items.last())
        .context("the catalog is empty")?
        .clone();
    let id = product["id"].as_str().context("a product has an id")?.to_owned();
    let before = misses(client, url).await?;
    let reads = (0..READS).map(|_| client.get(format!("{url}/api/products/{id}")).send());
    for read in join_all(reads).await {
        read?.error_for_status()?;
    }
    let rebuilds = misses(client, url).await? - before;
    outcome.say(format!(
        "stampede: {READS} concurrent reads of a product nobody had read → {rebuilds} database read(s); \
         the others waited for that one rebuild (single-flight)"
    ));
    outcome.stampede_rebuilds = Some(rebuilds);

    // Penetration: an id that does not exist, asked for 100 times.
    let missing = uuid::Uuid::now_v7();
    let before = misses(client, url).await?;
    for _ in 0..READS {
        let answer = client.get(format!("{url}/api/products/{missing}")).send().await?;
        if answer.status() != StatusCode::NOT_FOUND {
            bail!("a product that does not exist answered {}", answer.status());
        }
    }
    let rebuilds = misses(client, url).await? - before;
    outcome.say(format!(
        "penetration: {READS} reads of an id that does not exist → {READS} × 404, {rebuilds} database read(s); \
         the answer \"none\" is cached too, for a shorter time"
    ));
    outcome.missing_id_rebuilds = Some(rebuilds);

    // Avalanche: the lives of entries written together, as Redis holds them.
    for item in page["items"].as_array().into_iter().flatten().take(20) {
        let id = item["id"].as_str().context("a product has an id")?;
        client
            .get(format!("{url}/api/products/{id}"))
            .send()
            .await?
            .error_for_status()?;
    }
    avalanche(&mut outcome).await?;

    // Freshness: an administrator changes the price; the next reads show it once the
    // product.updated event has been applied.
    let cookie = admin_session(client, url).await?;
    let price = product["price"].clone();
    let amount = price["amount_minor"].as_i64().context("a price has an amount")?;
    let changed = json!({"amount_minor": amount + 1, "currency": price["currency"]});
    let started = Instant::now();
    set_price(client, url, &id, &cookie, &changed).await?;
    loop {
        let now: Value = get_json(client, &format!("{url}/api/products/{id}")).await?;
        if now["price"]["amount_minor"].as_i64() == Some(amount + 1) {
            break;
        }
        if started.elapsed() > Duration::from_secs(10) {
            bail!("the cached product still had its old price 10 s after the change");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    outcome.say(format!(
        "freshness: a price change showed in cached reads after {} ms: the product.updated event, once \
         applied, invalidated the product and every listing (the TTL is only a backstop)",
        started.elapsed().as_millis()
    ));
    set_price(client, url, &id, &cookie, &price).await?;

    let metrics = client.get(format!("{url}/metrics")).send().await?.text().await?;
    if let Some(ratio) = metric(&metrics, "cache_hit_ratio{cache=\"catalog\"}") {
        outcome.say(format!(
            "hit ratio since the stage started: {:.1} % (cache_hit_ratio in /metrics)",
            ratio * 100.0
        ));
    }
    Ok(outcome)
}

async fn avalanche(outcome: &mut Outcome) -> anyhow::Result<()> {
    let config = Configs::from_env().product.cache;
    let mut redis = redis::Client::open(config.redis_url.as_str())?
        .get_multiplexed_async_connection()
        .await
        .context("connecting to the cache's Redis")?;
    let pattern = format!("{}product:*@*", config.cache_key_prefix);
    let keys: Vec<String> = redis::cmd("KEYS").arg(&pattern).query_async(&mut redis).await?;
    let mut lives = Vec::with_capacity(keys.len());
    for key in &keys {
        let entry: Option<Vec<u8>> = redis::cmd("GET").arg(key).query_async(&mut redis).await?;
        // Products found, not the negative entries (which live 30 s).
        if entry.is_some_and(|entry| entry.starts_with(b"+")) {
            let life: i64 = redis::cmd("PTTL").arg(key).query_async(&mut redis).await?;
            if life > 0 {
                lives.push(life);
            }
        }
    }
    if let (Some(shortest), Some(longest)) = (lives.iter().min(), lives.iter().max()) {
        outcome.say(format!(
            "avalanche: {} product entries written within a second expire between {:.0} s and {:.0} s from now, not \
             together: each life is the TTL ({} s) ± 20 %",
            lives.len(),
            *shortest as f64 / 1000.0,
            *longest as f64 / 1000.0,
            config.cache_ttl_seconds
        ));
    }
    Ok(())
}

async fn get_json(client: &Client, url: &str) -> anyhow::Result<Value> {
    Ok(client.get(url).send().await?.error_for_status()?.json().await?)
}

/// Catalog lookups answered from the database so far.
async fn misses(client: &Client, url: &str) -> anyhow::Result<u64> {
    let metrics = client.get(format!("{url}/metrics")).send().await?.text().await?;
    let misses = metric(&metrics, "cache_lookups_total{cache=\"catalog\",result=\"miss\"}").unwrap_or(0.0);
    Ok(misses as u64)
}

/// The value of the series `series` (its name and labels as Prometheus writes them).
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series))
        .and_then(|value| value.trim().parse().ok())
}
