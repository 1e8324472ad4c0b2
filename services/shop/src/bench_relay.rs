//! `shop bench-relay`: how fast the outbox relay drains a backlog into JetStream.
//!
//! On a database and an event namespace of its own (both removed afterwards, whatever
//! happens), it stores N product events in the outbox in one transaction, starts the relay as a
//! service runs it, and times it until the outbox has nothing pending. Then it reads the stream
//! back: every event exactly once, each product's events in the order they were stored.

use std::{
    collections::{HashMap, HashSet},
    time::{Duration, Instant},
};

use anyhow::{Context, ensure};
use clap::Args;
use futures_util::StreamExt;
use shop_contracts::{
    Currency, Money,
    catalog::ProductSnapshot,
    events::{Cause, Envelope, ProductUpdated},
};
use shop_messaging::{EventBus, Namespace, bus::Subscription, consumer::ACK_WAIT, jetstream::JetStreamBus, outbox};
use shop_platform::{config::DatabaseUrl, db};
use sqlx::PgPool;
use uuid::Uuid;

use crate::launcher::Configs;

#[derive(Debug, Args)]
pub struct BenchRelayArgs {
    /// Events in the backlog.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(1..=2_000_000))]
    pub events: u32,
    /// Products the events are spread over, round-robin (each product's events must reach the
    /// stream in order).
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub products: u32,
}

/// Rows per insert while filling the backlog.
const FILL_CHUNK: usize = 10_000;

pub async fn run(args: BenchRelayArgs, configs: &Configs) -> anyhow::Result<()> {
    let name = format!("relay_bench_{}", std::process::id());
    let namespace = Namespace::new(&name)?;
    let url = configs.order.service.database_url.with_database(&name);
    let bus = JetStreamBus::connect(&configs.order.service.messaging.nats_url).await?;
    db::ensure_database(&url).await?;
    let measured = measure(&args, &url, &bus, &namespace).await;
    let dropped = db::drop_database(&url).await;
    let deleted = bus.delete_streams(&namespace).await;
    let report = measured?;
    dropped?;
    deleted?;
    println!("{report}");
    Ok(())
}

async fn measure(
    args: &BenchRelayArgs,
    url: &DatabaseUrl,
    bus: &JetStreamBus,
    namespace: &Namespace,
) -> anyhow::Result<String> {
    let pool = db::connect_and_migrate(url, 4, &order_service::MIGRATOR).await?;
    bus.ensure_streams(namespace).await?;
    let events = backlog(args);
    let bytes: usize = events
        .iter()
        .map(|e| outbox::outgoing(namespace, e).payload.len())
        .sum();
    fill(&pool, &events).await?;
    println!(
        "outbox: {} events over {} products ({} bytes each on average), in {url}",
        events.len(),
        args.products,
        bytes / events.len()
    );

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let relay = outbox::Relay::new(pool.clone(), bus.clone(), namespace.clone(), "bench");
    let relaying = tokio::spawn(relay.run(async {
        stopped.await.ok();
    }));
    let started = Instant::now();
    while pending(&pool).await? > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = started.elapsed();
    stop.send(()).ok();
    relaying.await?;

    verify(bus, namespace, &events).await?;
    let rate = events.len() as f64 / took.as_secs_f64();
    Ok(format!(
        "relay: {} events drained in {:.2} s: {rate:.0} events/s ({:.1} MB/s of payload); \
         the stream holds each once, every product's in order",
        events.len(),
        took.as_secs_f64(),
        bytes as f64 / took.as_secs_f64() / 1e6,
    ))
}

/// `args.events` updates of `args.products` products, round-robin, each product's versions
/// counting up.
fn backlog(args: &BenchRelayArgs) -> Vec<Envelope> {
    let cause = Cause::new_flow();
    let ids: Vec<Uuid> = (0..args.products).map(|_| Uuid::now_v7()).collect();
    (0..args.events)
        .map(|n| {
            let id = ids[(n % args.products) as usize];
            let version = i64::from(n / args.products) + 1;
            let product = ProductSnapshot {
                id,
                sku: format!("BENCH-{:06}", n % args.products),
                name: format!("Benchmark lamp {}", n % args.products),
                description: "A lamp that exists to be published: warm light, brass base, linen shade.".into(),
                category: "lighting".into(),
                price: Money::new(1_000 + i64::from(n % 997), Currency::parse("EUR").expect("a currency"))
                    .expect("a price"),
                active: true,
                version,
                created_at: Some(chrono::Utc::now()),
                updated_at: chrono::Utc::now(),
            };
            Envelope::new("product", id, version, &ProductUpdated { product }, cause)
        })
        .collect()
}

async fn fill(pool: &PgPool, events: &[Envelope]) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    for chunk in events.chunks(FILL_CHUNK) {
        outbox::enqueue_all(&mut tx, chunk).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn pending(pool: &PgPool) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            .fetch_one(pool)
            .await?,
    )
}

/// Reads the product stream from the start: each event once, each product's versions in order.
async fn verify(bus: &JetStreamBus, namespace: &Namespace, events: &[Envelope]) -> anyhow::Result<()> {
    let subscription = Subscription {
        durable: "bench-relay-check".into(),
        stream: namespace.stream("product"),
        filter: namespace.stream_subjects("product"),
        ack_wait: ACK_WAIT,
    };
    let mut deliveries = bus.subscribe(subscription).await?;
    let expected: HashSet<Uuid> = events.iter().map(|e| e.id).collect();
    let mut seen = HashSet::with_capacity(events.len());
    let mut last_version: HashMap<Uuid, i64> = HashMap::new();
    while seen.len() < events.len() {
        let delivery = tokio::time::timeout(Duration::from_secs(10), deliveries.next())
            .await
            .context("the stream holds fewer events than the outbox had")?
            .context("the subscription ended")??;
        let envelope: Envelope = serde_json::from_slice(&delivery.payload)?;
        ensure!(
            expected.contains(&envelope.id),
            "an event that was never stored: {}",
            envelope.id
        );
        ensure!(seen.insert(envelope.id), "event {} is in the stream twice", envelope.id);
        let last = last_version.insert(envelope.aggregate_id, envelope.aggregate_version);
        ensure!(
            last.is_none_or(|last| last < envelope.aggregate_version),
            "product {} went from version {last:?} to {}",
            envelope.aggregate_id,
            envelope.aggregate_version
        );
        delivery.ack().await?;
    }
    let more = tokio::time::timeout(Duration::from_secs(1), deliveries.next()).await;
    ensure!(more.is_err(), "the stream holds more events than the outbox had");
    Ok(())
}
