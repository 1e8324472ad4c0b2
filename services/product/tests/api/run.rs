//! `run()` as the binary runs it: migrations, HTTP, the relay and the consumer on real NATS —
//! and serving even while NATS is down.

use std::time::Duration;

use clap::Parser;
use serde_json::{Value, json};
use shop_contracts::{
    Currency, Identity, Money, Role,
    events::{Cause, Envelope, OrderLine, OrderPlaced},
    identity::IDENTITY_HEADER,
};
use shop_messaging::{EventBus, outbox::outgoing};
use shop_testkit::{ServiceWithDatabase, TestBus, eventually, free_port, token};
use uuid::Uuid;

use crate::helpers::product_body;

const STOP_WITHIN: Duration = Duration::from_secs(30);

/// The service started by `run` on a fresh database.
async fn start(nats_url: &str, namespace: &str) -> ServiceWithDatabase {
    ServiceWithDatabase::start("products", |port, database_url, shutdown| {
        let config = product_service::Config::parse_from([
            "product-service",
            "--listen-addr",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            database_url,
            "--nats-url",
            nats_url,
            "--event-namespace",
            namespace,
            "--identity-key",
            shop_testkit::IDENTITY_KEY,
        ]);
        product_service::run(config, shutdown)
    })
    .await
}

/// Creates the product `sku` (and its category) over HTTP as an admin; returns its id.
async fn create_product(service: &ServiceWithDatabase, sku: &str) -> Uuid {
    let token = token(&Identity::new(Uuid::now_v7(), vec![Role::Admin]));
    let client = reqwest::Client::new();
    let category = client
        .post(service.url("/api/categories"))
        .header(IDENTITY_HEADER, &token)
        .json(&json!({"slug": "toys", "name": "Toys"}))
        .send()
        .await
        .unwrap();
    assert_eq!(category.status().as_u16(), 201);
    let response = client
        .post(service.url("/api/products"))
        .header(IDENTITY_HEADER, &token)
        .json(&product_body(sku, "toys", 100))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let product: Value = response.json().await.unwrap();
    product["id"].as_str().unwrap().parse().unwrap()
}

/// How many outbox rows the relay has yet to publish.
async fn unpublished(service: &ServiceWithDatabase) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        .fetch_one(&service.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_service_serves_and_stops_while_nats_is_down() {
    let service = start(&format!("nats://127.0.0.1:{}", free_port()), "shop").await;
    create_product(&service, "SKU-1").await;
    assert_eq!(
        unpublished(&service).await,
        2,
        "product.created and the starting inventory.adjusted wait in the outbox for the broker"
    );
    service.stop(STOP_WITHIN).await;
}

#[tokio::test]
async fn run_publishes_the_outbox_and_reserves_stock_from_jetstream() {
    let bus = TestBus::jetstream().await;
    let service = start(&bus.url, bus.namespace.as_str()).await;
    let product_id = create_product(&service, "SKU-1").await;
    eventually("the creation is published", async || unpublished(&service).await == 0).await;

    let order_id = Uuid::now_v7();
    let placed = OrderPlaced {
        order_id,
        user_id: Uuid::now_v7(),
        lines: vec![OrderLine {
            product_id,
            quantity: 4,
        }],
        total: Money::new(400, Currency::parse("USD").unwrap()).unwrap(),
    };
    let placed = Envelope::new("order", order_id, 1, &placed, Cause::new_flow());
    bus.bus.publish(outgoing(&bus.namespace, &placed)).await.unwrap();
    eventually("the stock is held and the reaction published", async || {
        let reserved: i32 = sqlx::query_scalar("SELECT reserved FROM inventory WHERE product_id = $1")
            .bind(product_id)
            .fetch_one(&service.db)
            .await
            .unwrap();
        reserved == 4 && unpublished(&service).await == 0
    })
    .await;
    let published: Vec<String> = sqlx::query_scalar("SELECT subject FROM outbox ORDER BY id")
        .fetch_all(&service.db)
        .await
        .unwrap();
    assert_eq!(
        published,
        [
            "product.created",
            "inventory.adjusted",
            "inventory.reserved",
            "inventory.adjusted"
        ]
    );
    service.stop(STOP_WITHIN).await;
}

/// A read replica that cannot be reached at start: one clear error naming it — or, with
/// `DATABASE_READ_FALLBACK=primary`, the primary for every read.
#[tokio::test]
async fn an_unreachable_read_replica_stops_the_start_unless_the_primary_is_the_fallback() {
    let database = shop_testkit::TestDatabase::create("read_fallback").await;
    let primary = sqlx::PgPool::connect(&database.url).await.unwrap();
    let closed = format!("postgres://postgres@127.0.0.1:{}/products", free_port());
    let config = |fallback: &str| {
        product_service::Config::parse_from([
            "product-service",
            "--database-read-url",
            &closed,
            "--database-read-fallback",
            fallback,
        ])
    };
    let error = config("none").read.connect(&primary, 2).await.err().expect("refused");
    let error = format!("{error:#}");
    assert!(error.contains("PRODUCT_DATABASE_READ_URL"), "{error}");
    assert!(error.contains("DATABASE_READ_FALLBACK=primary"), "{error}");
    let read = config("primary").read.connect(&primary, 2).await.unwrap();
    let on: String = sqlx::query_scalar("SELECT current_database()::text")
        .fetch_one(read.for_caller(None).await)
        .await
        .unwrap();
    assert_eq!(Some(on.as_str()), database.url.rsplit('/').next());
    primary.close().await;
}
