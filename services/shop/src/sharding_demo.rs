//! `shop stages demo sharding`: where a customer's orders go when they are split over several
//! database servers, how every order is still found, and what one shard down costs. Against
//! the running stage: a customer is registered for every shard (placement is a hash of the user
//! id, so it takes a few tries), each places an order, and each order is looked for on every
//! shard's server — found on its customer's only, under an id that names it. The
//! administrators' listing, gathered from every shard page by page, lists each order once.
//! Then the last shard's server is stopped: the other shards' customers go on, its own get a
//! 503, and so does the listing of all orders, until the server is back.

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use order_service::shards::ShardId;
use reqwest::{Client, StatusCode, header};
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::{
    demo::{Outcome, admin_session, fill_cart, place_order, read_run_file, sign_in_as},
    plan::ModuleDatabase,
};

/// Registrations tried before giving up on finding a customer for every shard.
const TRIES: usize = 64;
const PASSWORD: &str = "sixteen lanterns at dusk";

/// What the shop answered while one shard's server was down.
#[derive(Debug, Clone, Copy)]
pub struct WithShardDown {
    /// A customer on another shard, reading their orders.
    pub other_shard: StatusCode,
    /// A customer on the stopped shard, reading theirs.
    pub its_shard: StatusCode,
    /// How long that refusal took.
    pub its_shard_ms: u128,
    /// The administrators' listing of every order.
    pub all_orders: StatusCode,
}

struct Customer {
    user_id: Uuid,
    shard: ShardId,
    cookie: String,
}

pub async fn run(client: &Client, url: &str) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::default();
    let run = read_run_file(url)?;
    let mut shards: Vec<&ModuleDatabase> = run
        .module_databases
        .iter()
        .filter(|database| database.module == "orders")
        .collect();
    shards.sort_by_key(|database| database.shard);
    if shards.len() < 2 {
        bail!("the running stage does not shard the orders (its run file names one order database)");
    }
    for (index, shard) in shards.iter().enumerate() {
        outcome.say(format!("order shard {index}: {}", shard.url));
    }

    let customers = one_customer_per_shard(client, url, shards.len(), &mut outcome).await?;
    let mut connections = Vec::new();
    for shard in &shards {
        connections.push(
            PgConnection::connect(&shard.url)
                .await
                .context("connecting to a shard")?,
        );
    }
    for customer in &customers {
        fill_cart(client, url, &customer.cookie).await?;
        let order = place_order(client, url, &customer.cookie).await?;
        let id: Uuid = order["id"].as_str().context("the order has no id")?.parse()?;
        let mut found_on = Vec::new();
        for (index, connection) in connections.iter_mut().enumerate() {
            let here: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM orders WHERE id = $1)")
                .bind(id)
                .fetch_one(connection)
                .await?;
            if here {
                found_on.push(index);
            }
        }
        if found_on != [customer.shard.index] {
            bail!("order {id} was found on shards {found_on:?}, not on its customer's alone");
        }
        let status = settled(client, url, &customer.cookie, id).await?;
        outcome.say(format!(
            "user {} hashes to shard {}; their order {id} ends in {:02x}, naming shard {}, is stored on that \
             shard's server only, and the saga settled it there: {status}",
            customer.user_id,
            customer.shard.index,
            id.as_bytes()[15],
            ShardId::of_order(id, shards.len()).index,
        ));
        // More orders, for a listing of several pages.
        for _ in 0..2 {
            fill_cart(client, url, &customer.cookie).await?;
            place_order(client, url, &customer.cookie).await?;
        }
    }

    let mut per_shard = Vec::new();
    for connection in &mut connections {
        per_shard.push(
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM orders")
                .fetch_one(connection)
                .await?,
        );
    }
    let admin = admin_session(client, url).await?;
    let (listed, pages) = every_order(client, url, &admin).await?;
    let unique: HashSet<&str> = listed.iter().map(String::as_str).collect();
    let total: i64 = per_shard.iter().sum();
    let complete = unique.len() == listed.len() && i64::try_from(listed.len()) == Ok(total);
    outcome.say(format!(
        "the shards hold {per_shard:?} orders; the administrators' listing gathered {} in {pages} pages of 5 from \
         every shard, {} of them distinct",
        listed.len(),
        unique.len()
    ));
    outcome.orders_per_shard = per_shard;
    outcome.admin_listed_every_order_once = Some(complete);

    let stopped = shards.last().expect("two shards or more");
    let (home, away) = (&customers[0], customers.last().expect("a customer per shard"));
    shard_down(client, url, stopped, [home, away], &admin, &mut outcome).await?;
    Ok(outcome)
}

/// Registers customers until every shard has one; signed in.
async fn one_customer_per_shard(
    client: &Client,
    url: &str,
    count: usize,
    outcome: &mut Outcome,
) -> anyhow::Result<Vec<Customer>> {
    let mut found: Vec<Option<(Uuid, String)>> = vec![None; count];
    let mut tries = 0;
    while found.iter().any(Option::is_none) {
        tries += 1;
        if tries > TRIES {
            bail!("{TRIES} new customers and still no customer on every shard");
        }
        let email = format!("shard-demo-{}@example.com", Uuid::now_v7().simple());
        let registered: Value = client
            .post(format!("{url}/api/users"))
            .json(&json!({"email": email, "password": PASSWORD, "display_name": "Shard Demo"}))
            .send()
            .await?
            .error_for_status()
            .context("registering a customer")?
            .json()
            .await?;
        let user_id: Uuid = registered["id"].as_str().context("the new user has no id")?.parse()?;
        let slot = &mut found[ShardId::of_user(user_id, count).index];
        if slot.is_none() {
            *slot = Some((user_id, email));
        }
    }
    outcome.say(format!(
        "registered {tries} customers to find one living on each of the {count} shards"
    ));
    let mut customers = Vec::new();
    for (index, (user_id, email)) in found.into_iter().flatten().enumerate() {
        let (cookie, _) = sign_in_as(client, url, &email, PASSWORD).await?;
        customers.push(Customer {
            user_id,
            shard: ShardId { index, count },
            cookie,
        });
    }
    Ok(customers)
}

/// The order's status once the saga has settled it.
async fn settled(client: &Client, url: &str, cookie: &str, id: Uuid) -> anyhow::Result<String> {
    let started = Instant::now();
    loop {
        let order: Value = client
            .get(format!("{url}/api/orders/{id}"))
            .header(header::COOKIE, cookie)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let status = order["status"].as_str().unwrap_or_default();
        if status != "pending" {
            return Ok(status.to_owned());
        }
        if started.elapsed() > Duration::from_secs(20) {
            bail!("order {id} still pending after 20 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every order's id from the administrators' listing, following its cursor; and the pages.
async fn every_order(client: &Client, url: &str, admin: &str) -> anyhow::Result<(Vec<String>, usize)> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    for pages in 1.. {
        let mut request = client
            .get(format!("{url}/api/admin/orders"))
            .query(&[("limit", "5")])
            .header(header::COOKIE, admin);
        if let Some(cursor) = &cursor {
            request = request.query(&[("cursor", cursor)]);
        }
        let page: Value = request.send().await?.error_for_status()?.json().await?;
        let items = page["items"].as_array().context("a page without items")?;
        ids.extend(items.iter().filter_map(|order| order["id"].as_str().map(str::to_owned)));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return Ok((ids, pages)),
        }
    }
    unreachable!("the pages run out")
}

/// `stopped`'s server down: the other shard's customer, its own customer and the listing of all
/// orders, then the way back.
async fn shard_down(
    client: &Client,
    url: &str,
    stopped: &ModuleDatabase,
    [home, away]: [&Customer; 2],
    admin: &str,
    outcome: &mut Outcome,
) -> anyhow::Result<()> {
    stopped.shut_down().await.context("stopping a shard's server")?;
    outcome.say(format!(
        "stopped shard {}'s database server (port {})",
        away.shard.index, stopped.port
    ));
    let seen = with_shard_down(client, url, home, away, admin).await;
    let restarted = stopped.start_again().await;
    let seen = seen?;
    restarted.context("starting the shard's server again")?;
    outcome.say(format!(
        "a shard {} customer's orders: {}; a shard {} customer's orders: {} after {} ms; every order (administrators): {}",
        home.shard.index, seen.other_shard, away.shard.index, seen.its_shard, seen.its_shard_ms, seen.all_orders
    ));
    outcome.say("one shard down fails its own customers' requests only (and whatever needs every shard)");
    outcome.with_shard_down = Some(seen);

    let started = Instant::now();
    loop {
        let status = own_orders(client, url, &away.cookie).await?;
        if status.is_success() {
            outcome.say(format!(
                "started it again: its customers' orders answer after {} ms",
                started.elapsed().as_millis()
            ));
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(20) {
            bail!("the shard's customers still got {status} 20 s after its server was back");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn with_shard_down(
    client: &Client,
    url: &str,
    home: &Customer,
    away: &Customer,
    admin: &str,
) -> anyhow::Result<WithShardDown> {
    let other_shard = own_orders(client, url, &home.cookie).await?;
    let started = Instant::now();
    let its_shard = own_orders(client, url, &away.cookie).await?;
    let its_shard_ms = started.elapsed().as_millis();
    let all_orders = client
        .get(format!("{url}/api/admin/orders"))
        .header(header::COOKIE, admin)
        .send()
        .await?
        .status();
    Ok(WithShardDown {
        other_shard,
        its_shard,
        its_shard_ms,
        all_orders,
    })
}

async fn own_orders(client: &Client, url: &str, cookie: &str) -> anyhow::Result<StatusCode> {
    Ok(client
        .get(format!("{url}/api/orders"))
        .header(header::COOKIE, cookie)
        .send()
        .await?
        .status())
}
