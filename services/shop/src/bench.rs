//! `shop bench-checkout`: places orders against a running system (`shop up`) and measures
//! how long the checkout saga takes from `pending` to `confirmed`, using the timestamps the
//! order service records in each order's status history, and the orders placed per second.
//!
//! Each customer places its next order once it hears the outcome of the last one from the
//! order service's own event (`order.confirmed`, `.cancelled`, `.rejected`), as a notification
//! service would; it does not poll. Polling every 10 ms made most of the order database's
//! transactions — load of the benchmark, not of checkout. Every order is read back through the
//! API once the clock has stopped, for the report.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{Context, ensure};
use chrono::{DateTime, Utc};
use clap::Args;
use futures_util::{StreamExt, TryStreamExt};
use serde::Deserialize;
use serde_json::json;
use shop_contracts::{
    Identity, Role,
    events::{Envelope, Event, OrderCancelled, OrderConfirmed, OrderRejected},
    identity::IDENTITY_HEADER,
};
use shop_messaging::Namespace;
use tokio::{sync::oneshot, task::JoinSet};
use uuid::Uuid;

use crate::stats::Percentiles;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Orders to place in all.
    #[arg(long, default_value_t = 1000)]
    pub orders: usize,
    /// Customers checking out at the same time (each places its orders one after another).
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Products the orders are spread over, at most one per customer (customer n buys product n
    /// modulo this). One makes every order contend for the same stock row; a real catalog
    /// spreads them.
    #[arg(long, default_value_t = 32)]
    pub products: usize,
}

#[derive(Deserialize)]
struct Order {
    id: Uuid,
    status: String,
    history: Vec<StatusChange>,
}

#[derive(Deserialize)]
struct StatusChange {
    status: String,
    occurred_at: DateTime<Utc>,
}

struct Target {
    client: reqwest::Client,
    product_url: String,
    order_url: String,
    key: shop_contracts::IdentityKey,
}

impl Target {
    fn token(&self, user_id: Uuid, role: Role) -> String {
        self.key
            .mint(&Identity::new(user_id, vec![role]), chrono::Duration::hours(1))
    }
}

pub async fn run(args: BenchArgs, configs: &crate::launcher::Configs) -> anyhow::Result<()> {
    ensure!(
        args.orders > 0 && args.concurrency > 0 && args.products > 0,
        "--orders, --concurrency and --products must be positive"
    );
    let outcomes = Outcomes::listen(&configs.order.service.messaging).await?;
    let target = Arc::new(Target {
        client: reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?,
        product_url: crate::launcher::base_url(configs.product.service.listen_addr),
        order_url: crate::launcher::base_url(configs.order.service.listen_addr),
        key: configs.user.service.identity_key.clone(),
    });
    // More products than customers would never be bought.
    let products = create_bench_products(&target, args.products.min(args.concurrency), args.orders).await?;
    println!(
        "placing {} orders of {} products from {} concurrent customers…",
        args.orders,
        products.len(),
        args.concurrency
    );

    let started = Instant::now();
    let mut workers = JoinSet::new();
    for worker in 0..args.concurrency {
        let share = args.orders / args.concurrency + usize::from(worker < args.orders % args.concurrency);
        let (target, outcomes) = (target.clone(), outcomes.clone());
        let product_id = products[worker % products.len()];
        workers.spawn(async move {
            let customer = Uuid::now_v7();
            let token = target.token(customer, Role::Customer);
            let mut orders = Vec::with_capacity(share);
            for _ in 0..share {
                let order_id = checkout(&target, &token, product_id).await?;
                outcomes.wait(order_id).await?;
                orders.push((order_id, token.clone()));
            }
            anyhow::Ok(orders)
        });
    }
    let mut placed = Vec::with_capacity(args.orders);
    while let Some(result) = workers.join_next().await {
        placed.extend(result??);
    }
    let elapsed = started.elapsed();
    let orders: Vec<Order> = futures_util::stream::iter(placed)
        .map(|(id, token)| {
            let target = target.clone();
            async move { read_order(&target, id, &token).await }
        })
        .buffer_unordered(args.concurrency)
        .try_collect()
        .await?;
    report(&orders, elapsed);
    Ok(())
}

/// The orders whose outcome the order service has announced, heard on NATS: a plain
/// subscription to the subjects its relay publishes to, so nothing is stored or acknowledged.
#[derive(Clone)]
struct Outcomes {
    orders: Arc<Mutex<HashMap<Uuid, Heard>>>,
}

enum Heard {
    /// Announced before anyone waited (the placing request may not have returned yet).
    Settled,
    Awaited(oneshot::Sender<()>),
}

/// The events that end an order's checkout.
const OUTCOMES: [&str; 3] = [OrderConfirmed::TYPE, OrderCancelled::TYPE, OrderRejected::TYPE];

impl Outcomes {
    async fn listen(messaging: &shop_messaging::runtime::MessagingConfig) -> anyhow::Result<Self> {
        let namespace: &Namespace = &messaging.event_namespace;
        let client = async_nats::connect(messaging.nats_url.as_str())
            .await
            .with_context(|| format!("cannot reach NATS at {}; is `shop up` running?", messaging.nats_url))?;
        let mut events = client.subscribe(namespace.stream_subjects("order")).await?;
        // Ready once the server has the subscription: no announcement of ours can be missed.
        client.flush().await?;
        let outcomes = Self { orders: Arc::default() };
        let orders = outcomes.orders.clone();
        let namespace = namespace.clone();
        tokio::spawn(async move {
            // Keeps the connection open as long as the subscription is read.
            let _client = client;
            while let Some(message) = events.next().await {
                let outcome = namespace
                    .event_type(&message.subject)
                    .is_some_and(|event_type| OUTCOMES.contains(&event_type));
                if !outcome {
                    continue;
                }
                let Ok(envelope) = serde_json::from_slice::<Envelope>(&message.payload) else {
                    continue;
                };
                let mut orders = orders.lock().expect("no panics while locked");
                match orders.remove(&envelope.aggregate_id) {
                    Some(Heard::Awaited(waiter)) => drop(waiter.send(())),
                    Some(Heard::Settled) | None => drop(orders.insert(envelope.aggregate_id, Heard::Settled)),
                }
            }
        });
        Ok(outcomes)
    }

    /// Waits until the order's outcome is announced (at most a minute).
    async fn wait(&self, order_id: Uuid) -> anyhow::Result<()> {
        let heard = {
            let mut orders = self.orders.lock().expect("no panics while locked");
            match orders.remove(&order_id) {
                Some(Heard::Settled) => None,
                _ => {
                    let (waiter, heard) = oneshot::channel();
                    orders.insert(order_id, Heard::Awaited(waiter));
                    Some(heard)
                }
            }
        };
        if let Some(heard) = heard {
            tokio::time::timeout(Duration::from_secs(60), heard)
                .await
                .map_err(|_| anyhow::anyhow!("no outcome announced for order {order_id} within 60 s"))?
                .context("the subscription to the order events ended")?;
        }
        Ok(())
    }
}

/// Creates `count` products, each with stock enough for every order, and waits until the order
/// service knows them all.
async fn create_bench_products(target: &Target, count: usize, orders: usize) -> anyhow::Result<Vec<Uuid>> {
    let admin = target.token(Uuid::now_v7(), Role::Admin);
    let category = target
        .client
        .post(format!("{}/api/categories", target.product_url))
        .header(IDENTITY_HEADER, &admin)
        .json(&json!({"slug": "benchmark", "name": "Benchmark"}))
        .send()
        .await
        .context("cannot reach the product service; is `shop up` running?")?;
    ensure!(
        category.status().is_success() || category.status() == 409,
        "cannot create the category: {}",
        category.text().await?
    );
    let mut ids = Vec::with_capacity(count);
    for n in 0..count {
        let product: serde_json::Value = target
            .client
            .post(format!("{}/api/products", target.product_url))
            .header(IDENTITY_HEADER, &admin)
            .json(&json!({
                "sku": format!("BENCH-{}", &Uuid::now_v7().simple().to_string()[20..]),
                "name": format!("Benchmark widget {}", n + 1),
                "category": "benchmark",
                "price": {"amount_minor": 100, "currency": "USD"},
                "initial_stock": orders + 10,
            }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        ids.push(product["id"].as_str().context("product without id")?.parse()?);
    }
    // The order service learns of them through product.created; wait until a cart accepts each.
    let probe = target.token(Uuid::now_v7(), Role::Customer);
    for &id in &ids {
        let mut known = false;
        for _ in 0..200 {
            known = add_to_cart(target, &probe, id).await?;
            if known {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        ensure!(known, "the order service never learned about benchmark product {id}");
    }
    Ok(ids)
}

async fn add_to_cart(target: &Target, token: &str, product_id: Uuid) -> anyhow::Result<bool> {
    let response = target
        .client
        .post(format!("{}/api/cart/items", target.order_url))
        .header(IDENTITY_HEADER, token)
        .json(&json!({"product_id": product_id, "quantity": 1}))
        .send()
        .await?;
    Ok(response.status().is_success())
}

/// Places one order; returns its id.
async fn checkout(target: &Target, token: &str, product_id: Uuid) -> anyhow::Result<Uuid> {
    ensure!(
        add_to_cart(target, token, product_id).await?,
        "could not add to the cart"
    );
    let placed: Order = target
        .client
        .post(format!("{}/api/orders", target.order_url))
        .header(IDENTITY_HEADER, token)
        .header("Idempotency-Key", Uuid::now_v7().to_string())
        .json(&json!({
            "shipping_address": {"recipient": "Bench Mark", "line1": "1 Load Street", "city": "Testville",
                                  "postal_code": "12345", "country": "US"},
            "payment_token": "tok_benchmark",
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(placed.id)
}

async fn read_order(target: &Target, id: Uuid, token: &str) -> anyhow::Result<Order> {
    let order: Order = target
        .client
        .get(format!("{}/api/orders/{id}", target.order_url))
        .header(IDENTITY_HEADER, token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    ensure!(
        order.status != "pending",
        "order {id} was announced settled but reads pending"
    );
    Ok(order)
}

fn report(orders: &[Order], elapsed: Duration) {
    let latencies = Percentiles::of(
        orders
            .iter()
            .filter_map(|order| {
                let at = |status: &str| order.history.iter().find(|h| h.status == status).map(|h| h.occurred_at);
                Some((at("confirmed")? - at("pending")?).num_microseconds()? as f64 / 1000.0)
            })
            .collect(),
    );
    let confirmed = latencies.count();
    println!();
    println!("  orders placed       {}", orders.len());
    println!("  confirmed           {confirmed}");
    println!("  other outcomes      {}", orders.len() - confirmed);
    println!("  wall time           {:.2} s", elapsed.as_secs_f64());
    println!(
        "  throughput          {:.1} orders/s (placed and finished)",
        orders.len() as f64 / elapsed.as_secs_f64()
    );
    if confirmed > 0 {
        println!("  placed → confirmed  {latencies}");
    }
}
