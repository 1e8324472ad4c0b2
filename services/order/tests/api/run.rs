//! `run()` as the binary runs it: migrations, HTTP, the start-up catalog catch-up, the relay
//! and the consumers on real NATS — and serving even while NATS is down.

use std::{net::TcpListener, time::Duration};

use clap::Parser;
use serde_json::{Value, json};
use shop_contracts::{
    Identity, Role,
    catalog::CatalogPage,
    events::{self, Cause, Envelope, InventoryReserved, OrderPlaced},
    identity::IDENTITY_HEADER,
};
use shop_messaging::{EventBus, outbox::outgoing};
use shop_testkit::{TestBus, TestDatabase};
use sqlx::PgPool;
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::helpers::{catalog_feed, checkout_body, eventually, outbox, snapshot};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The service started by `run` on a fresh database, and how to stop it.
struct Running {
    base: String,
    db: PgPool,
    stop: oneshot::Sender<()>,
    service: tokio::task::JoinHandle<anyhow::Result<()>>,
    _database: TestDatabase,
}

async fn start(nats_url: &str, namespace: &str, product_service_url: &str) -> Running {
    let database = TestDatabase::create("orders").await;
    let port = free_port();
    let config = order_service::Config::parse_from([
        "order-service",
        "--listen-addr",
        &format!("127.0.0.1:{port}"),
        "--database-url",
        &database.url,
        "--product-service-url",
        product_service_url,
        "--nats-url",
        nats_url,
        "--event-namespace",
        namespace,
        "--identity-key",
        "test-identity-key-0123456789abcdefghijklmnop",
        "--pending-timeout-seconds",
        "3600",
    ]);
    let (stop, stopped) = oneshot::channel::<()>();
    let service = tokio::spawn(order_service::run(config, async {
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
    async fn post(&self, path: &str, user: Uuid, key: Option<&str>, body: Value) -> (u16, Value) {
        let token =
            shop_testkit::identity_key().mint(&Identity::new(user, vec![Role::Customer]), chrono::Duration::minutes(5));
        let mut request = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .header(IDENTITY_HEADER, token)
            .json(&body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    async fn stop(self) {
        self.db.close().await;
        self.stop.send(()).unwrap();
        // Generous: while NATS is down, the outbox relay finishes its broker calls (they time
        // out) before it notices the stop.
        tokio::time::timeout(Duration::from_secs(90), self.service)
            .await
            .expect("the service stops in time")
            .unwrap()
            .expect("the service stops cleanly");
    }
}

#[tokio::test]
async fn the_service_serves_and_stops_while_nats_and_the_product_service_are_down() {
    let nowhere = format!("127.0.0.1:{}", free_port());
    let service = start(&format!("nats://{nowhere}"), "shop", &format!("http://{nowhere}")).await;
    let mug = snapshot(1000, "USD");
    order_service::store::catalog::apply_snapshot(&service.db, &mug)
        .await
        .unwrap();
    let alice = Uuid::now_v7();

    let (added, _) = service
        .post(
            "/api/cart/items",
            alice,
            None,
            json!({"product_id": mug.id, "quantity": 1}),
        )
        .await;
    let (placed, order) = service
        .post("/api/orders", alice, Some("k"), checkout_body("tok_visa"))
        .await;

    assert_eq!((added, placed), (200, 201), "{order:#}");
    let unpublished: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        .fetch_one(&service.db)
        .await
        .unwrap();
    assert_eq!(unpublished, 1, "order.placed waits in the outbox for the broker");
    service.stop().await;
}

#[tokio::test]
async fn run_catches_up_with_the_catalog_and_settles_orders_through_jetstream() {
    let bus = TestBus::jetstream().await;
    let nats_url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let mug = snapshot(1000, "USD");
    let (feed, _) = catalog_feed(vec![CatalogPage {
        items: vec![mug.clone()],
        next_after: None,
    }])
    .await;
    let service = start(&nats_url, bus.namespace.as_str(), feed.as_str()).await;
    let alice = Uuid::now_v7();

    // The replica learns the product from the feed at start-up.
    let mut added = 0;
    for _ in 0..200 {
        added = service
            .post(
                "/api/cart/items",
                alice,
                None,
                json!({"product_id": mug.id, "quantity": 2}),
            )
            .await
            .0;
        if added == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(added, 200, "the product reached the replica");
    let (placed, order) = service
        .post("/api/orders", alice, Some("k"), checkout_body("tok_visa"))
        .await;
    assert_eq!(placed, 201, "{order:#}");
    let order_id: Uuid = serde_json::from_value(order["id"].clone()).unwrap();

    // The relay publishes order.placed; the product service's answer confirms the order.
    let db = service.db.clone();
    eventually("order.placed is published", || async {
        let published: Option<bool> =
            sqlx::query_scalar("SELECT published_at IS NOT NULL FROM outbox ORDER BY id LIMIT 1")
                .fetch_optional(&db)
                .await
                .unwrap();
        published == Some(true)
    })
    .await;
    let placed_event = outbox(&db).await.remove(0);
    assert_eq!(placed_event.decode::<OrderPlaced>().unwrap().order_id, order_id);
    let answer = Envelope::new(
        "product",
        order_id,
        1,
        &InventoryReserved {
            order_id,
            lines: vec![events::OrderLine {
                product_id: mug.id,
                quantity: 2,
            }],
        },
        Cause::reacting_to(&placed_event),
    );
    bus.bus.publish(outgoing(&bus.namespace, &answer)).await.unwrap();
    eventually("the order is confirmed", || async {
        let status: String = sqlx::query_scalar("SELECT status FROM orders WHERE id = $1")
            .bind(order_id)
            .fetch_one(&db)
            .await
            .unwrap();
        status == "confirmed"
    })
    .await;
    service.stop().await;
}
