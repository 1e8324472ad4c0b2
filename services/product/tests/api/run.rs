//! `run()` as the binary runs it: migrations, HTTP, the relay and the consumer on real NATS —
//! and serving even while NATS is down.

use std::{future::Future, net::TcpListener, time::Duration};

use clap::Parser;
use serde_json::{Value, json};
use shop_contracts::{
    Currency, Identity, Money, Role,
    events::{Cause, Envelope, OrderLine, OrderPlaced},
    identity::IDENTITY_HEADER,
};
use shop_messaging::{EventBus, outbox::outgoing};
use shop_testkit::{TestBus, TestDatabase};
use sqlx::PgPool;
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::helpers::product_body;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn eventually<F: Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The service started by `run` on a fresh database, and how to stop it.
struct Running {
    base: String,
    db: PgPool,
    stop: oneshot::Sender<()>,
    service: tokio::task::JoinHandle<anyhow::Result<()>>,
    _database: TestDatabase,
}

async fn start(nats_url: &str, namespace: &str) -> Running {
    let database = TestDatabase::create("products").await;
    let port = free_port();
    let config = product_service::Config::parse_from([
        "product-service",
        "--listen-addr",
        &format!("127.0.0.1:{port}"),
        "--database-url",
        &database.url,
        "--nats-url",
        nats_url,
        "--event-namespace",
        namespace,
        "--identity-key",
        "test-identity-key-0123456789abcdefghijklmnop",
    ]);
    let (stop, stopped) = oneshot::channel::<()>();
    let service = tokio::spawn(product_service::run(config, async {
        let _ = stopped.await;
    }));
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    eventually("the service answers /healthz", || async {
        client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;
    let db = PgPool::connect(&database.url).await.unwrap();
    Running {
        base,
        db,
        stop,
        service,
        _database: database,
    }
}

impl Running {
    async fn create_product(&self, sku: &str) -> Uuid {
        let token = shop_testkit::identity_key().mint(
            &Identity::new(Uuid::now_v7(), vec![Role::Admin]),
            chrono::Duration::minutes(5),
        );
        let client = reqwest::Client::new();
        let category = client
            .post(format!("{}/api/categories", self.base))
            .header(IDENTITY_HEADER, &token)
            .json(&json!({"slug": "toys", "name": "Toys"}))
            .send()
            .await
            .unwrap();
        assert_eq!(category.status().as_u16(), 201);
        let response = client
            .post(format!("{}/api/products", self.base))
            .header(IDENTITY_HEADER, &token)
            .json(&product_body(sku, "toys", 100))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
        let product: Value = response.json().await.unwrap();
        product["id"].as_str().unwrap().parse().unwrap()
    }

    async fn unpublished(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            .fetch_one(&self.db)
            .await
            .unwrap()
    }

    async fn stop(self) {
        self.db.close().await;
        self.stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(30), self.service)
            .await
            .expect("the service stops in time")
            .unwrap()
            .expect("the service stops cleanly");
    }
}

#[tokio::test]
async fn the_service_serves_and_stops_while_nats_is_down() {
    let service = start(&format!("nats://127.0.0.1:{}", free_port()), "shop").await;
    service.create_product("SKU-1").await;
    assert_eq!(
        service.unpublished().await,
        1,
        "product.created waits in the outbox for the broker"
    );
    service.stop().await;
}

#[tokio::test]
async fn run_publishes_the_outbox_and_reserves_stock_from_jetstream() {
    let bus = TestBus::jetstream().await;
    let nats_url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let service = start(&nats_url, bus.namespace.as_str()).await;
    let product_id = service.create_product("SKU-1").await;
    eventually("product.created is published", || async {
        service.unpublished().await == 0
    })
    .await;

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
    eventually("the stock is held and the reaction published", || async {
        let reserved: i32 = sqlx::query_scalar("SELECT reserved FROM inventory WHERE product_id = $1")
            .bind(product_id)
            .fetch_one(&service.db)
            .await
            .unwrap();
        reserved == 4 && service.unpublished().await == 0
    })
    .await;
    let published: Vec<String> = sqlx::query_scalar("SELECT subject FROM outbox ORDER BY id")
        .fetch_all(&service.db)
        .await
        .unwrap();
    assert_eq!(
        published,
        ["product.created", "inventory.reserved", "inventory.adjusted"]
    );
    service.stop().await;
}
