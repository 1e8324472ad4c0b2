//! `run()` as the binary runs it: migrations, HTTP, the start-up catalog catch-up, the relay
//! and the consumers on real NATS — and serving even while NATS is down.

use std::time::Duration;

use clap::Parser;
use serde_json::{Value, json};
use shop_contracts::{
    Identity, Role,
    catalog::CatalogPage,
    events::{self, Cause, Envelope, InventoryReserved, OrderPlaced},
    identity::IDENTITY_HEADER,
};
use shop_messaging::{EventBus, outbox::outgoing};
use shop_testkit::{ServiceWithDatabase, TestBus, eventually, free_port, outbox_events, token};
use uuid::Uuid;

use crate::helpers::{catalog_feed, checkout_body, snapshot};

// Generous: while NATS is down, the outbox relay finishes its broker calls (they time out)
// before it notices the stop.
const STOP_WITHIN: Duration = Duration::from_secs(90);

/// The service started by `run` on a fresh database.
async fn start(nats_url: &str, namespace: &str, product_service_url: &str) -> ServiceWithDatabase {
    ServiceWithDatabase::start("orders", |port, database_url, shutdown| {
        let config = order_service::Config::parse_from([
            "order-service",
            "--listen-addr",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            database_url,
            "--product-service-url",
            product_service_url,
            "--nats-url",
            nats_url,
            "--event-namespace",
            namespace,
            "--identity-key",
            shop_testkit::IDENTITY_KEY,
            "--pending-timeout-seconds",
            "3600",
        ]);
        order_service::run(config, shutdown)
    })
    .await
}

/// `POST path` as the customer `user`, with an `Idempotency-Key` header (or none).
async fn post(service: &ServiceWithDatabase, path: &str, user: Uuid, key: Option<&str>, body: Value) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(service.url(path))
        .header(IDENTITY_HEADER, token(&Identity::new(user, vec![Role::Customer])))
        .json(&body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
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

    let (added, _) = post(
        &service,
        "/api/cart/items",
        alice,
        None,
        json!({"product_id": mug.id, "quantity": 1}),
    )
    .await;
    let (placed, order) = post(&service, "/api/orders", alice, Some("k"), checkout_body("tok_visa")).await;

    assert_eq!((added, placed), (200, 201), "{order:#}");
    let unpublished: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        .fetch_one(&service.db)
        .await
        .unwrap();
    assert_eq!(unpublished, 1, "order.placed waits in the outbox for the broker");
    service.stop(STOP_WITHIN).await;
}

#[tokio::test]
async fn run_catches_up_with_the_catalog_and_settles_orders_through_jetstream() {
    let bus = TestBus::jetstream().await;
    let mug = snapshot(1000, "USD");
    let (feed, _) = catalog_feed(vec![CatalogPage {
        items: vec![mug.clone()],
        next_after: None,
    }])
    .await;
    let service = start(&bus.url, bus.namespace.as_str(), feed.as_str()).await;
    let alice = Uuid::now_v7();

    // The replica learns the product from the feed at start-up.
    let mut added = 0;
    for _ in 0..200 {
        added = post(
            &service,
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
    let (placed, order) = post(&service, "/api/orders", alice, Some("k"), checkout_body("tok_visa")).await;
    assert_eq!(placed, 201, "{order:#}");
    let order_id: Uuid = serde_json::from_value(order["id"].clone()).unwrap();

    // The relay publishes order.placed; the product service's answer confirms the order.
    let db = service.db.clone();
    eventually("order.placed is published", async || {
        let published: Option<bool> =
            sqlx::query_scalar("SELECT published_at IS NOT NULL FROM outbox ORDER BY id LIMIT 1")
                .fetch_optional(&db)
                .await
                .unwrap();
        published == Some(true)
    })
    .await;
    let placed_event = outbox_events(&db).await.remove(0);
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
    eventually("the order is confirmed", async || {
        let status: String = sqlx::query_scalar("SELECT status FROM orders WHERE id = $1")
            .bind(order_id)
            .fetch_one(&db)
            .await
            .unwrap();
        status == "confirmed"
    })
    .await;
    service.stop(STOP_WITHIN).await;
}

/// Sharded by its configuration: each customer's checkout lands on their shard, each shard's
/// relay publishes its own outbox, and `/metrics` reports each shard's backlog apart.
#[tokio::test]
async fn run_splits_the_orders_over_its_shards_and_reports_each_shards_outbox() {
    let bus = TestBus::jetstream().await;
    let nowhere = format!("127.0.0.1:{}", free_port());
    let further = shop_testkit::TestDatabase::create("orders_shard").await;
    let further_url = further.url.clone();
    let service = ServiceWithDatabase::start("orders", |port, database_url, shutdown| {
        let config = order_service::Config::parse_from([
            "order-service",
            "--listen-addr",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            database_url,
            "--shard-database-urls",
            &further_url,
            "--product-service-url",
            &format!("http://{nowhere}"),
            "--nats-url",
            &bus.url,
            "--event-namespace",
            bus.namespace.as_str(),
            "--identity-key",
            shop_testkit::IDENTITY_KEY,
        ]);
        order_service::run(config, shutdown)
    })
    .await;
    let shard_1 = sqlx::PgPool::connect(&further.url).await.unwrap();
    let shards = [&service.db, &shard_1];
    let mug = snapshot(1000, "USD");
    for db in shards {
        order_service::store::catalog::apply_snapshot(db, &mug).await.unwrap();
    }

    for index in 0..2 {
        let customer = std::iter::repeat_with(Uuid::now_v7)
            .find(|user| order_service::shards::ShardId::of_user(*user, 2).index == index)
            .unwrap();
        let item = json!({"product_id": mug.id, "quantity": 1});
        assert_eq!(post(&service, "/api/cart/items", customer, None, item).await.0, 200);
        let (placed, order) = post(&service, "/api/orders", customer, Some("k"), checkout_body("tok_visa")).await;
        assert_eq!(placed, 201, "{order}");
        assert_eq!(order["id"].as_str().unwrap().as_bytes().last(), Some(&b"01"[index]));
    }
    for db in shards {
        let events = outbox_events(db).await;
        assert_eq!(
            events.len(),
            1,
            "each shard's outbox holds its own customer's order.placed"
        );
        eventually("the shard's relay publishes it", async || {
            sqlx::query_scalar::<_, bool>("SELECT bool_and(published_at IS NOT NULL) FROM outbox")
                .fetch_one(db)
                .await
                .unwrap()
        })
        .await;
    }

    let names: Vec<String> = [&service.db, &shard_1]
        .iter()
        .map(|db| db.connect_options().get_database().unwrap().to_owned())
        .collect();
    eventually("both shards' backlogs are in /metrics", async || {
        let metrics = reqwest::get(service.url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        names.iter().all(|name| {
            metrics
                .lines()
                .any(|line| line.starts_with("outbox_pending_events{") && line.contains(&format!("/{name}\"")))
        })
    })
    .await;
    shard_1.close().await;
    service.stop(STOP_WITHIN).await;
}
