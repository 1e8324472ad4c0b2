//! `shop stages demo <stage>`: the scripted demonstration of a stage's problem or fix, run
//! against the stage while it runs, told in plain words. Each returns what it saw, so the
//! tests can assert the same outcome the page describes.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use nix::{sys::signal, unistd::Pid};
use reqwest::{Client, header};
use serde_json::Value;

use crate::{
    monolith::SearchBackend,
    plan::{self, RunFile},
    stages::{DatabaseHost, Databases, Layout, StageArg},
};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The stage whose demonstration to run (it must be the one running).
    pub stage: StageArg,

    /// The running shop's URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
}

/// What a demonstration saw.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The story, a line per step.
    pub lines: Vec<String>,
    /// Search: hits for a correctly spelt word and for the same word with a typo.
    pub search_hits: Option<(u64, u64)>,
    /// Cluster: a signed-in request landed on an instance that did not know the session.
    pub session_lost_on_another_instance: bool,
    /// Cluster: every request of the signed-in client went to one instance.
    pub sticky: bool,
    /// Cluster: after the instance that served stopped, the next request was still signed in.
    pub signed_in_after_failover: Option<bool>,
    /// Services: the order's statuses as they were seen, ending with the terminal one.
    pub order_statuses: Vec<String>,
    /// Separate database: the median round trip of one query to it, in microseconds.
    pub round_trip_us: Option<f64>,
    /// Cache: database reads behind 100 concurrent reads of one product nobody had read.
    pub stampede_rebuilds: Option<u64>,
    /// Cache: database reads behind 100 reads of an id that does not exist.
    pub missing_id_rebuilds: Option<u64>,
    /// Read replica: a read by someone else right after a write showed the old value.
    pub stale_for_others: Option<bool>,
    /// Read replica: the writer's own read right after their write showed the old value.
    pub stale_for_writer: Option<bool>,
    /// Read replica: the customer's own new order was found by a read right after checkout.
    pub own_order_found: Option<bool>,
    /// Database per business: the order module's server refused a join with the product module's tables.
    pub cross_module_join_refused: Option<bool>,
    /// Database per business: the rows of the same report from the order module's catalog replica.
    pub replica_report_rows: Option<usize>,
    /// Database per business: what the shop answered while the user module's server was down.
    pub with_users_down: Option<crate::business_databases_demo::WithUsersDown>,
    /// Database per business: signing in worked again once that server was back.
    pub signed_in_after_restart: Option<bool>,
    /// Sharding: the orders each shard holds, shard 0 first.
    pub orders_per_shard: Vec<i64>,
    /// Sharding: the administrators' listing, gathered from every shard, named every order once.
    pub admin_listed_every_order_once: Option<bool>,
    /// Sharding: what the shop answered while one shard's server was down.
    pub with_shard_down: Option<crate::sharding_demo::WithShardDown>,
}

impl Outcome {
    pub(crate) fn say(&mut self, line: impl Into<String>) {
        let line = line.into();
        println!("  {line}");
        self.lines.push(line);
    }
}

pub async fn run(args: &DemoArgs) -> anyhow::Result<Outcome> {
    let stage = args.stage.0;
    let url = args.url.trim_end_matches('/');
    let client = Client::builder().timeout(Duration::from_secs(10)).build()?;
    println!("Stage {} · {}: demonstration against {url}", stage.number, stage.name);
    match stage.layout {
        Some(Layout::Monolith { instances, .. }) if instances > 0 => cluster(&client, url).await,
        Some(Layout::Monolith { cache: true, .. }) => crate::cache_demo::run(&client, url).await,
        Some(Layout::Monolith { replica: true, .. }) => crate::replica_demo::run(&client, url).await,
        Some(Layout::Monolith {
            databases: Databases::PerModule { order_shards: 1 },
            ..
        }) => crate::business_databases_demo::run(&client, url).await,
        Some(Layout::Monolith {
            databases: Databases::PerModule { .. },
            ..
        }) => crate::sharding_demo::run(&client, url).await,
        Some(Layout::Monolith {
            database: DatabaseHost::OwnCpu,
            search: SearchBackend::Sql,
            ..
        }) => {
            let mut outcome = search(&client, url).await?;
            round_trips(url, &mut outcome).await?;
            Ok(outcome)
        }
        Some(Layout::Monolith { .. }) => search(&client, url).await,
        Some(Layout::Services) => saga(&client, url).await,
        Some(Layout::Containers) => {
            bail!("stage 10 has no demonstration here: it runs in containers (docker compose up)")
        }
        None => bail!("stage {} is not built yet", stage.number),
    }
}

/// Search as the stage answers it: a word from the catalog, then the same word with a letter
/// missing.
async fn search(client: &Client, url: &str) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::default();
    let word = catalog_word(client, url).await?;
    let typo = format!("{}{}", &word[..2], &word[3..]);
    let mut hits = [0u64; 2];
    for (slot, (query, what)) in [
        (word.as_str(), ""),
        (typo.as_str(), " (the same word, a letter missing)"),
    ]
    .into_iter()
    .enumerate()
    {
        let started = Instant::now();
        let answer: Value = client
            .get(format!("{url}/api/search"))
            .query(&[("q", query)])
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        hits[slot] = answer["total"].as_u64().context("a search answer has a total")?;
        outcome.say(format!(
            "search `{query}`{what}: {} hits in {:.1} ms",
            hits[slot],
            started.elapsed().as_secs_f64() * 1000.0
        ));
    }
    if hits[1] == 0 {
        outcome.say(format!(
            "one typo and nothing is found: `ILIKE '%{typo}%'` matches text, not words — the search engine stage fixes it"
        ));
    } else {
        outcome.say("the typo still finds them: the index matches words within one edit, ranked by relevance");
    }
    outcome.search_hits = Some((hits[0], hits[1]));
    Ok(outcome)
}

/// The longest all-letter word in the names of the newest products.
async fn catalog_word(client: &Client, url: &str) -> anyhow::Result<String> {
    let page: Value = client
        .get(format!("{url}/api/products?limit=20"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|product| product["name"].as_str())
        .flat_map(str::split_whitespace)
        .filter(|word| word.len() >= 6 && word.chars().all(|c| c.is_ascii_alphabetic()))
        .max_by_key(|word| word.len())
        .map(str::to_lowercase)
        .context("the catalog has no product with a word of six letters or more")
}

/// What every query pays once the database is on another host: the round trip, measured on
/// loopback to the stage's own server.
async fn round_trips(url: &str, outcome: &mut Outcome) -> anyhow::Result<()> {
    const QUERIES: usize = 2_000;
    let run = read_run_file(url)?;
    let Some(database) = run.database_url else {
        outcome.say("the stage runs on a database given with --database-url: no round trips to measure");
        return Ok(());
    };
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&database).await?;
    let mut times = Vec::with_capacity(QUERIES);
    for _ in 0..QUERIES {
        let started = Instant::now();
        shop_platform::db::ping(&mut conn).await?;
        times.push(started.elapsed().as_secs_f64() * 1e6);
    }
    times.sort_by(f64::total_cmp);
    let (p50, p99) = (times[QUERIES / 2], times[QUERIES * 99 / 100]);
    outcome.say(format!(
        "{QUERIES} `SELECT 1` round trips to the database over loopback TCP: p50 {p50:.0} µs, p99 {p99:.0} µs"
    ));
    outcome.say(
        "across a real network each round trip costs more (typically 100–500 µs): a checkout's dozen queries \
         pay it a dozen times",
    );
    outcome.round_trip_us = Some(p50);
    Ok(())
}

/// The session problem of a cluster, and whether the stage's fix holds.
async fn cluster(client: &Client, url: &str) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::default();
    let run = read_run_file(url)?;
    let (cookie, signed_in_on) = sign_in(client, url).await?;
    outcome.say(format!("signed in on {signed_in_on}"));
    let mut served = vec![signed_in_on.clone()];
    for request in 2..=5 {
        let (on, signed_in) = session(client, url, &cookie).await?;
        outcome.say(format!(
            "request {request} went to {on}: {}",
            if signed_in { "signed in" } else { "401, not signed in" }
        ));
        if !signed_in {
            outcome.session_lost_on_another_instance = true;
            outcome.say(format!(
                "the session lives in the memory of {signed_in_on}; {on} has never heard of it"
            ));
            return Ok(outcome);
        }
        served.push(on);
    }
    outcome.sticky = served.iter().all(|on| *on == signed_in_on);
    if outcome.sticky {
        outcome.say(format!(
            "every request went to {signed_in_on}: the proxy keeps this client there"
        ));
    } else {
        outcome.say("requests went to different instances, and each knew the session: it is shared");
    }

    // Now the instance that signed the client in goes away.
    let victim = run
        .processes
        .iter()
        .find(|process| process.url == signed_in_on)
        .with_context(|| format!("{signed_in_on} is not an instance of the running stage"))?;
    let pid = victim.pid.context("the instance's process id is unknown")?;
    signal::kill(Pid::from_raw(i32::try_from(pid)?), signal::Signal::SIGTERM)
        .with_context(|| format!("cannot stop {} (pid {pid})", victim.label))?;
    outcome.say(format!("stopped {} ({signed_in_on}, pid {pid})", victim.label));
    let deadline = Instant::now() + Duration::from_secs(20);
    let (on, signed_in) = loop {
        match session(client, url, &cookie).await {
            Ok((on, signed_in)) if on != signed_in_on && !on.is_empty() => break (on, signed_in),
            _ if Instant::now() > deadline => bail!("no other instance answered within 20 s"),
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    outcome.signed_in_after_failover = Some(signed_in);
    if signed_in {
        outcome.say(format!(
            "the next request went to {on}: still signed in — the session is in Redis"
        ));
    } else {
        outcome.say(format!(
            "the next request went to {on}: 401 — the session died with the instance that held it"
        ));
    }
    Ok(outcome)
}

/// The checkout saga across the services: an order placed, then its statuses until it ends.
async fn saga(client: &Client, url: &str) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::default();
    let cookie = customer_with_a_full_cart(client, url).await?;
    let started = Instant::now();
    let order = place_order(client, url, &cookie).await?;
    let id = order["id"].as_str().context("an order has an id")?.to_owned();
    let mut last = String::new();
    loop {
        let order: Value = client
            .get(format!("{url}/api/orders/{id}"))
            .header(header::COOKIE, &cookie)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let status = order["status"].as_str().unwrap_or_default().to_owned();
        if status != last {
            outcome.say(format!(
                "after {:>4} ms the order is {status}",
                started.elapsed().as_millis()
            ));
            outcome.order_statuses.push(status.clone());
            last = status;
        }
        if last != "pending" {
            break;
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!("the order was still pending after 30 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    outcome.say(
        "order service → order.placed → product service reserved stock → inventory.reserved → \
         order service took the payment → order.confirmed: each step an event, none a call",
    );
    Ok(outcome)
}

/// Signs the demo customer in and puts one of the catalog's first product into their cart: the
/// session cookie.
pub(crate) async fn customer_with_a_full_cart(client: &Client, url: &str) -> anyhow::Result<String> {
    let (cookie, _) = sign_in(client, url).await?;
    fill_cart(client, url, &cookie).await?;
    Ok(cookie)
}

/// Puts one of the catalog's first product into the cart of the customer signed in by `cookie`.
pub(crate) async fn fill_cart(client: &Client, url: &str, cookie: &str) -> anyhow::Result<()> {
    let products: Value = client
        .get(format!("{url}/api/products?limit=1"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let product = products["items"][0]["id"].as_str().context("the catalog is empty")?;
    client
        .post(format!("{url}/api/cart/items"))
        .header(header::COOKIE, cookie)
        .json(&serde_json::json!({"product_id": product, "quantity": 1}))
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

/// Signs the demo customer in: the session cookie, and the instance that answered.
async fn sign_in(client: &Client, url: &str) -> anyhow::Result<(String, String)> {
    sign_in_as(
        client,
        url,
        user_service::seed::CUSTOMER_EMAIL,
        user_service::seed::CUSTOMER_PASSWORD,
    )
    .await
}

/// Signs the demo administrator in: the session cookie.
pub(crate) async fn admin_session(client: &Client, url: &str) -> anyhow::Result<String> {
    let (cookie, _) = sign_in_as(
        client,
        url,
        user_service::seed::ADMIN_EMAIL,
        user_service::seed::ADMIN_PASSWORD,
    )
    .await?;
    Ok(cookie)
}

/// Signs a demo account in: the session cookie, and the instance that answered.
pub(crate) async fn sign_in_as(
    client: &Client,
    url: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<(String, String)> {
    let login = client
        .post(format!("{url}/api/auth/login"))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await?
        .error_for_status()?;
    let cookie = login
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
        .context("signing in set no session cookie")?;
    Ok((cookie, instance(&login)))
}

/// Which instance answered `GET /api/auth/session`, and whether the session was known there.
/// Checks out what is in the cart of `cookie`'s customer (the demo's address, a payment that is
/// approved); the order as placed.
pub(crate) async fn place_order(client: &Client, url: &str, cookie: &str) -> anyhow::Result<Value> {
    Ok(client
        .post(format!("{url}/api/orders"))
        .header(header::COOKIE, cookie)
        .header("idempotency-key", uuid::Uuid::now_v7().to_string())
        .json(&serde_json::json!({
            "shipping_address": {
                "recipient": "Demo Customer", "line1": "1 Demo Street", "city": "Berlin",
                "postal_code": "10115", "country": "DE"
            },
            "payment_token": "tok_demo"
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

/// Sets a product's price as `cookie`'s admin, through the public API.
pub(crate) async fn set_price(client: &Client, url: &str, id: &str, cookie: &str, price: &Value) -> anyhow::Result<()> {
    client
        .put(format!("{url}/api/products/{id}/price"))
        .header(header::COOKIE, cookie)
        .json(price)
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

async fn session(client: &Client, url: &str, cookie: &str) -> anyhow::Result<(String, bool)> {
    let answer = client
        .get(format!("{url}/api/auth/session"))
        .header(header::COOKIE, cookie)
        .send()
        .await?;
    let on = instance(&answer);
    if !answer.status().is_success() {
        bail!("{on} answered {}", answer.status());
    }
    let body: Value = answer.json().await?;
    Ok((on, body["authenticated"].as_bool().unwrap_or(false)))
}

fn instance(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(gateway::forward::INSTANCE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

pub(crate) fn read_run_file(url: &str) -> anyhow::Result<RunFile> {
    let port: u16 = url
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .context("the URL names no port")?;
    let path = plan::run_file(port);
    let text = std::fs::read(&path).with_context(|| {
        format!(
            "no running stage on port {port} ({} is missing); start it with shop up --stage …",
            path.display()
        )
    })?;
    Ok(serde_json::from_slice(&text)?)
}
