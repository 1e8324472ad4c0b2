//! The messaging wiring on real NATS JetStream: the `product-inventory` consumer applies order
//! events read from the stream, and the relay publishes what the service enqueued.

use std::time::Duration;

use futures_util::StreamExt;
use shop_contracts::{
    Currency, Money,
    events::{Cause, Envelope, OrderConfirmed, OrderLine, OrderPlaced},
};
use shop_messaging::{EventBus, bus::Subscription, outbox::outgoing};
use shop_testkit::TestBus;
use sqlx::PgPool;
use tokio::time::{Instant, sleep};
use uuid::Uuid;

use crate::helpers::{create_category, create_product, id, spawn};

const PATIENCE: Duration = Duration::from_secs(20);

async fn wait_for_status(db: &PgPool, order_id: Uuid, expected: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let status: Option<String> = sqlx::query_scalar("SELECT status FROM reservations WHERE order_id = $1")
            .bind(order_id)
            .fetch_optional(db)
            .await
            .unwrap();
        if status.as_deref() == Some(expected) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "reservation still {status:?}, expected {expected}"
        );
        sleep(Duration::from_millis(50)).await;
    }
}

/// The next event of `event_type` on the observed stream, acknowledging the others.
async fn next_published(deliveries: &mut shop_messaging::bus::Deliveries, event_type: &str) -> Envelope {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let delivery = tokio::time::timeout_at(deadline, deliveries.next())
            .await
            .unwrap_or_else(|_| panic!("no {event_type} published"))
            .expect("the subscription is open")
            .expect("a delivery");
        let envelope: Envelope = serde_json::from_slice(&delivery.payload).unwrap();
        delivery.ack().await.unwrap();
        if envelope.event_type == event_type {
            return envelope;
        }
    }
}

#[tokio::test]
async fn order_events_on_jetstream_move_stock_and_the_reactions_are_published() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let bus = TestBus::jetstream().await;
    let app = spawn(&db).await;
    create_category(&app, "toys").await;
    let product_id: Uuid = id(&create_product(&app, "SKU-A", "toys", 100).await).parse().unwrap();
    let observe = |context: &str| Subscription {
        durable: format!("observer-{context}"),
        stream: bus.namespace.stream(context),
        filter: bus.namespace.stream_subjects(context),
        ack_wait: Duration::from_secs(30),
    };
    let mut inventory = bus.bus.subscribe(observe("inventory")).await.unwrap();
    let mut catalog = bus.bus.subscribe(observe("product")).await.unwrap();

    let messaging = product_service::messaging(bus.bus.clone(), db.clone(), bus.namespace.clone());

    // The product created before the relay started is published now.
    let created = next_published(&mut catalog, "product.created").await;
    assert_eq!(created.aggregate_id, product_id);

    let order_id = Uuid::now_v7();
    let placed = OrderPlaced {
        order_id,
        user_id: Uuid::now_v7(),
        lines: vec![OrderLine {
            product_id,
            quantity: 3,
        }],
        total: Money::new(300, Currency::parse("USD").unwrap()).unwrap(),
    };
    let placed = Envelope::new("order", order_id, 1, &placed, Cause::new_flow());
    bus.bus.publish(outgoing(&bus.namespace, &placed)).await.unwrap();
    wait_for_status(&db, order_id, "held").await;
    let reserved = next_published(&mut inventory, "inventory.reserved").await;
    assert_eq!(
        (reserved.aggregate_id, reserved.causation_id),
        (order_id, Some(placed.id))
    );
    assert_eq!(reserved.correlation_id, placed.correlation_id);

    let confirmed = OrderConfirmed {
        order_id,
        user_id: Uuid::now_v7(),
    };
    let confirmed = Envelope::new("order", order_id, 2, &confirmed, Cause::reacting_to(&placed));
    bus.bus.publish(outgoing(&bus.namespace, &confirmed)).await.unwrap();
    wait_for_status(&db, order_id, "committed").await;
    let committed = next_published(&mut inventory, "inventory.committed").await;
    assert_eq!(committed.causation_id, Some(confirmed.id));

    let levels: (i32, i32, i32) = sqlx::query_as("SELECT on_hand, reserved, sold FROM inventory WHERE product_id = $1")
        .bind(product_id)
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(levels, (7, 0, 3));
    let inbox: i64 = sqlx::query_scalar("SELECT count(*) FROM inbox WHERE consumer = 'product-inventory'")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(inbox, 2);
    messaging.stop().await;
}
