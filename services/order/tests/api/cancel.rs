//! `POST /api/orders/{id}/cancel`: customers cancel their own pending or confirmed orders;
//! the history records it and `order.cancelled` tells the product service to put the stock
//! back. A settled order cannot be cancelled again; someone else's order does not exist.

use order_service::events::saga::SagaHandler;
use serde_json::Value;
use shop_contracts::events::{InventoryRejected, InventoryReserved, OrderCancelled};
use shop_testkit::{Actor, TestApp, outbox_events};
use uuid::Uuid;

use crate::helpers::{event, handle, history, order_counts, owned, place_order, product, status};

fn cancel_path(order_id: Uuid) -> String {
    format!("/api/orders/{order_id}/cancel")
}

#[tokio::test]
async fn a_pending_order_can_be_cancelled() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let mug = product(&db, 1000, "USD").await;
    let order = place_order(&db, alice.user_id(), &[(&mug, 1)]).await;

    let cancelled = app.post(&cancel_path(order.id), &alice, Value::Null).await.expect(200);

    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["history"][1]["status"], "cancelled");
    assert_eq!(cancelled["history"][1]["reason"], "customer_cancelled");
    assert_eq!(
        app.get(&format!("/api/orders/{}", order.id), &alice).await.expect(200),
        cancelled
    );
    assert_eq!(
        history(&db, order.id).await,
        owned(&[("pending", None), ("cancelled", Some("customer_cancelled"))])
    );
    let events = outbox_events(&db).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].decode::<OrderCancelled>().unwrap(),
        OrderCancelled {
            order_id: order.id,
            user_id: alice.user_id(),
            reason: "customer_cancelled".into()
        }
    );
    assert_eq!((events[0].source.as_str(), events[0].aggregate_version), ("order", 2));
}

#[tokio::test]
async fn a_confirmed_order_can_be_cancelled() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let mug = product(&db, 1000, "USD").await;
    let order = place_order(&db, alice.user_id(), &[(&mug, 1)]).await;
    let reserved = InventoryReserved {
        order_id: order.id,
        lines: vec![],
    };
    handle(&db, &SagaHandler::default(), &event("product", order.id, 1, &reserved))
        .await
        .unwrap();
    assert_eq!(status(&db, order.id).await, "confirmed");

    app.post(&cancel_path(order.id), &alice, Value::Null).await.expect(200);

    assert_eq!(
        history(&db, order.id).await,
        owned(&[
            ("pending", None),
            ("confirmed", Some("payment_approved")),
            ("cancelled", Some("customer_cancelled"))
        ])
    );
    let events = outbox_events(&db).await;
    let types: Vec<(&str, i64)> = events
        .iter()
        .map(|e| (e.event_type.as_str(), e.aggregate_version))
        .collect();
    assert_eq!(types, [("order.confirmed", 2), ("order.cancelled", 3)]);
}

#[tokio::test]
async fn cancelled_and_rejected_orders_cannot_be_cancelled() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let mug = product(&db, 1000, "USD").await;
    let cancelled = place_order(&db, alice.user_id(), &[(&mug, 1)]).await;
    let rejected = place_order(&db, alice.user_id(), &[(&mug, 1)]).await;
    app.post(&cancel_path(cancelled.id), &alice, Value::Null)
        .await
        .expect(200);
    let refusal = InventoryRejected {
        order_id: rejected.id,
        lines: vec![],
    };
    handle(
        &db,
        &SagaHandler::default(),
        &event("product", rejected.id, 1, &refusal),
    )
    .await
    .unwrap();
    let counts = order_counts(&db).await;

    for order in [&cancelled, &rejected] {
        let conflict = app
            .post(&cancel_path(order.id), &alice, Value::Null)
            .await
            .expect_problem(409, "conflict");
        assert!(
            conflict["detail"].as_str().unwrap().contains("cannot be cancelled"),
            "{conflict:#}"
        );
    }

    assert_eq!(order_counts(&db).await, counts, "no history row, no event");
    assert_eq!(status(&db, cancelled.id).await, "cancelled");
    assert_eq!(status(&db, rejected.id).await, "rejected");
}

#[tokio::test]
async fn someone_elses_order_cannot_be_cancelled() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let bob = Actor::stranger();
    let mug = product(&db, 1000, "USD").await;
    let order = place_order(&db, alice.user_id(), &[(&mug, 1)]).await;
    let counts = order_counts(&db).await;

    let foreign = app
        .post(&cancel_path(order.id), &bob, Value::Null)
        .await
        .expect_problem(404, "not-found");
    let unknown = app
        .post(&cancel_path(Uuid::now_v7()), &bob, Value::Null)
        .await
        .expect_problem(404, "not-found");
    assert_eq!(foreign, unknown, "someone else's order must look like no order at all");
    // Administrators read any order but cancel only their own.
    app.post(&cancel_path(order.id), &Actor::admin(Uuid::now_v7()), Value::Null)
        .await
        .expect_problem(404, "not-found");
    app.post("/api/orders/not-an-id/cancel", &alice, Value::Null)
        .await
        .expect_problem(404, "not-found");

    assert_eq!(status(&db, order.id).await, "pending");
    assert_eq!(order_counts(&db).await, counts);
}
