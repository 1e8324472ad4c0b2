//! The `order-saga` consumer: `inventory.reserved` runs the payment step and confirms or
//! cancels the order, `inventory.rejected` rejects it — each with a history row and its event
//! in the outbox — and only a pending order is ever settled.

use std::time::Duration;

use order_service::events::saga::SagaHandler;
use order_service::shards::Shards;
use serde_json::Value;
use shop_contracts::events::{
    self, Cause, Envelope, InventoryRejected, InventoryReserved, OrderCancelled, OrderConfirmed, OrderRejected,
    RejectedLine,
};
use shop_messaging::outbox::outgoing;
use shop_testkit::{Actor, TestApp, TestBus, eventually, outbox_events};
use uuid::Uuid;

use crate::helpers::{
    checked_out, event, handle, history, order_counts, owned, place_order, place_order_paying, product, status,
};

fn reserved(order_id: Uuid) -> Envelope {
    let payload = InventoryReserved {
        order_id,
        lines: vec![events::OrderLine {
            product_id: Uuid::now_v7(),
            quantity: 1,
        }],
    };
    event("product", order_id, 1, &payload)
}

fn rejected(order_id: Uuid, lines: Vec<RejectedLine>) -> Envelope {
    event("product", order_id, 1, &InventoryRejected { order_id, lines })
}

fn out_of_stock(product_id: Uuid) -> RejectedLine {
    RejectedLine {
        product_id,
        requested: 2,
        available: 1,
        reason: "out_of_stock".into(),
    }
}

#[tokio::test]
async fn reserved_stock_and_an_approved_payment_confirm_the_order() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let mug = product(&db, 1000, "USD").await;
    let order = checked_out(&app, &alice, &[(&mug, 2)], "tok_visa").await;
    let id: Uuid = serde_json::from_value(order["id"].clone()).unwrap();
    let placed = outbox_events(&db).await.remove(0);
    let answer = Envelope::new(
        "product",
        id,
        1,
        &InventoryReserved {
            order_id: id,
            lines: vec![events::OrderLine {
                product_id: mug.id,
                quantity: 2,
            }],
        },
        Cause::reacting_to(&placed),
    );

    handle(&db, &SagaHandler::default(), &answer).await.unwrap();

    assert_eq!(status(&db, id).await, "confirmed");
    let events = outbox_events(&db).await;
    assert_eq!(events.len(), 2);
    let confirmed = &events[1];
    assert_eq!(
        confirmed.decode::<OrderConfirmed>().unwrap(),
        OrderConfirmed {
            order_id: id,
            user_id: alice.user_id()
        }
    );
    assert_eq!((confirmed.aggregate_id, confirmed.aggregate_version), (id, 2));
    assert_eq!(confirmed.causation_id, Some(answer.id));
    assert_eq!(
        confirmed.correlation_id, placed.correlation_id,
        "one flow from checkout to confirmation"
    );
    // The API shows every step with its time and reason.
    let shown = app.get(&format!("/api/orders/{id}"), &alice).await.expect(200);
    assert_eq!(shown["status"], "confirmed");
    let steps: Vec<(&Value, &Value)> = shown["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| (&step["status"], &step["reason"]))
        .collect();
    assert_eq!(
        steps,
        [
            (&Value::from("pending"), &Value::Null),
            (&Value::from("confirmed"), &Value::from("payment_approved"))
        ]
    );
    let at = |i: usize| -> chrono::DateTime<chrono::Utc> {
        serde_json::from_value(shown["history"][i]["occurred_at"].clone()).unwrap()
    };
    assert!(at(1) >= at(0));
    assert_eq!(shown["updated_at"], shown["history"][1]["occurred_at"]);
}

#[tokio::test]
async fn a_declined_payment_cancels_the_order() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let alice = Uuid::now_v7();
    let mug = product(&db, 1000, "USD").await;
    let order = place_order_paying(&db, alice, &[(&mug, 1)], "tok_decline").await;
    let answer = reserved(order.id);

    handle(&db, &SagaHandler::default(), &answer).await.unwrap();

    assert_eq!(status(&db, order.id).await, "cancelled");
    assert_eq!(
        history(&db, order.id).await,
        owned(&[("pending", None), ("cancelled", Some("payment_declined"))])
    );
    let events = outbox_events(&db).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].decode::<OrderCancelled>().unwrap(),
        OrderCancelled {
            order_id: order.id,
            user_id: alice,
            reason: "payment_declined".into()
        }
    );
    assert_eq!(
        (events[0].aggregate_version, events[0].causation_id),
        (2, Some(answer.id))
    );
}

#[tokio::test]
async fn rejected_stock_rejects_the_order_naming_the_products() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let alice = Uuid::now_v7();
    let mug = product(&db, 1000, "USD").await;
    let pen = product(&db, 100, "USD").await;
    let order = place_order(&db, alice, &[(&mug, 2), (&pen, 1)]).await;
    let answer = rejected(order.id, vec![out_of_stock(mug.id)]);

    handle(&db, &SagaHandler::default(), &answer).await.unwrap();

    assert_eq!(status(&db, order.id).await, "rejected");
    let expected = format!(
        "stock could not be reserved: {} ({}): out_of_stock, requested 2, available 1",
        mug.name, mug.id
    );
    assert_eq!(
        history(&db, order.id).await,
        owned(&[("pending", None), ("rejected", Some(&expected))])
    );
    let events = outbox_events(&db).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].decode::<OrderRejected>().unwrap(),
        OrderRejected {
            order_id: order.id,
            user_id: alice,
            reason: expected
        }
    );
    assert_eq!(
        (events[0].aggregate_version, events[0].causation_id),
        (2, Some(answer.id))
    );
}

#[tokio::test]
async fn a_settled_order_ignores_repeated_and_late_answers() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let mug = product(&db, 1000, "USD").await;
    let confirmed = place_order(&db, Uuid::now_v7(), &[(&mug, 1)]).await;
    let rejected_order = place_order(&db, Uuid::now_v7(), &[(&mug, 1)]).await;
    let declined = place_order_paying(&db, Uuid::now_v7(), &[(&mug, 1)], "tok_decline").await;
    handle(&db, &SagaHandler::default(), &reserved(confirmed.id))
        .await
        .unwrap();
    handle(
        &db,
        &SagaHandler::default(),
        &rejected(rejected_order.id, vec![out_of_stock(mug.id)]),
    )
    .await
    .unwrap();
    handle(&db, &SagaHandler::default(), &reserved(declined.id))
        .await
        .unwrap();
    let counts = order_counts(&db).await;
    let histories = [
        history(&db, confirmed.id).await,
        history(&db, rejected_order.id).await,
        history(&db, declined.id).await,
    ];

    // Logically repeated answers (new event ids, so the inbox cannot tell) and contradicting ones.
    for order_id in [confirmed.id, rejected_order.id, declined.id] {
        handle(&db, &SagaHandler::default(), &reserved(order_id)).await.unwrap();
        handle(
            &db,
            &SagaHandler::default(),
            &rejected(order_id, vec![out_of_stock(mug.id)]),
        )
        .await
        .unwrap();
    }

    assert_eq!(order_counts(&db).await, counts, "no history row, no event");
    assert_eq!(status(&db, confirmed.id).await, "confirmed");
    assert_eq!(status(&db, rejected_order.id).await, "rejected");
    assert_eq!(status(&db, declined.id).await, "cancelled");
    assert_eq!(
        [
            history(&db, confirmed.id).await,
            history(&db, rejected_order.id).await,
            history(&db, declined.id).await
        ],
        histories
    );
}

#[tokio::test]
async fn an_order_cancelled_meanwhile_is_not_charged() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let mug = product(&db, 1000, "USD").await;
    let order = place_order(&db, alice.user_id(), &[(&mug, 1)]).await;
    app.post(&format!("/api/orders/{}/cancel", order.id), &alice, Value::Null)
        .await
        .expect(200);
    let counts = order_counts(&db).await;

    handle(&db, &SagaHandler::default(), &reserved(order.id)).await.unwrap();
    handle(&db, &SagaHandler::default(), &rejected(order.id, vec![]))
        .await
        .unwrap();

    assert_eq!(status(&db, order.id).await, "cancelled");
    assert_eq!(order_counts(&db).await, counts);
    assert_eq!(
        history(&db, order.id).await,
        owned(&[("pending", None), ("cancelled", Some("customer_cancelled"))])
    );
}

#[tokio::test]
async fn answers_about_unknown_orders_or_in_unknown_shapes_fail() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let mug = product(&db, 1000, "USD").await;
    let order = place_order(&db, Uuid::now_v7(), &[(&mug, 1)]).await;

    let unknown = handle(&db, &SagaHandler::default(), &reserved(Uuid::now_v7()))
        .await
        .unwrap_err();
    assert!(format!("{unknown:#}").contains("no order"), "{unknown:#}");
    let mut future = reserved(order.id);
    future.schema_version = 2;
    assert!(handle(&db, &SagaHandler::default(), &future).await.is_err());
    let mut garbled = reserved(order.id);
    garbled.data = serde_json::json!({"order": "?"});
    assert!(handle(&db, &SagaHandler::default(), &garbled).await.is_err());

    assert_eq!(status(&db, order.id).await, "pending");
    assert!(outbox_events(&db).await.is_empty());
}

#[tokio::test]
async fn the_saga_consumer_settles_orders_from_jetstream() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let bus = TestBus::jetstream().await;
    let mug = product(&db, 1000, "USD").await;
    let approved = place_order(&db, Uuid::now_v7(), &[(&mug, 1)]).await;
    let refused = place_order(&db, Uuid::now_v7(), &[(&mug, 1)]).await;
    let messaging = order_service::messaging(
        bus.bus.clone(),
        &Shards::from(db.clone()),
        bus.namespace.clone(),
        Duration::from_secs(3600),
    );

    use shop_messaging::EventBus;
    for envelope in [reserved(approved.id), rejected(refused.id, vec![out_of_stock(mug.id)])] {
        bus.bus.publish(outgoing(&bus.namespace, &envelope)).await.unwrap();
    }

    eventually("both orders are settled", async || {
        status(&db, approved.id).await == "confirmed" && status(&db, refused.id).await == "rejected"
    })
    .await;
    // The relay publishes what the handlers enqueued.
    eventually("the outbox is published", async || {
        let unpublished: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            .fetch_one(&db)
            .await
            .unwrap();
        unpublished == 0
    })
    .await;
    let types: Vec<String> = outbox_events(&db).await.into_iter().map(|e| e.event_type).collect();
    assert_eq!(types.len(), 2);
    assert!(
        types.contains(&"order.confirmed".into()) && types.contains(&"order.rejected".into()),
        "{types:?}"
    );
    messaging.stop().await;
}
