//! Catalog and stock changes made over HTTP are published through the outbox, written by the
//! transaction that makes the change; a request that changes nothing publishes nothing.

use serde_json::json;
use shop_contracts::events::{InventoryAdjusted, ProductCreated, ProductDeactivated, ProductUpdated};
use uuid::Uuid;

use crate::helpers::{
    admin, assert_only_the_creation, create_category, create_product, feed_snapshot, id, outbox, product_body, spawn,
};

#[tokio::test]
async fn a_new_product_is_announced_with_its_snapshot() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = spawn(&db).await;
    create_category(&app, "toys").await;
    let product = create_product(&app, "SKU-1", "toys", 1250).await;

    // The product, then its starting stock: all of the initial stock on hand.
    assert_only_the_creation(&db, &product).await;
    let events = outbox(&db).await;
    assert!(
        events.iter().all(|e| e.causation_id.is_none()),
        "an HTTP request starts a flow"
    );
    let created = events[0].decode::<ProductCreated>().unwrap();
    assert_eq!(
        serde_json::to_value(&created.product).unwrap(),
        feed_snapshot(&app, id(&product)).await,
        "the same snapshot as the catalog feed"
    );
}

#[tokio::test]
async fn changes_are_announced_only_when_something_changed() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = spawn(&db).await;
    create_category(&app, "toys").await;
    create_category(&app, "books").await;
    let product = create_product(&app, "SKU-1", "toys", 100).await;
    let path = format!("/api/products/{}", id(&product));

    app.patch(&path, &admin(), json!({"name": "Wooden Train", "category": "books"}))
        .await
        .expect(200);
    let events = outbox(&db).await;
    assert_eq!(events.len(), 3, "the creation's two events, then the update");
    assert_eq!(events[2].event_type, "product.updated");
    assert_eq!(events[2].aggregate_version, 2);
    let updated = events[2].decode::<ProductUpdated>().unwrap().product;
    assert_eq!(
        (updated.name.as_str(), updated.category.as_str()),
        ("Wooden Train", "books")
    );
    assert_eq!(
        serde_json::to_value(&updated).unwrap(),
        feed_snapshot(&app, id(&product)).await
    );

    // The same values again: no new version, no event.
    app.patch(&path, &admin(), json!({"name": "Wooden Train"}))
        .await
        .expect(200);
    assert_eq!(outbox(&db).await.len(), 3);

    let price = json!({"amount_minor": 1999, "currency": "EUR"});
    app.put(&format!("{path}/price"), &admin(), price.clone())
        .await
        .expect(200);
    app.put(&format!("{path}/price"), &admin(), price.clone())
        .await
        .expect(200);
    let events = outbox(&db).await;
    assert_eq!(events.len(), 4);
    assert_eq!(events[3].event_type, "product.updated");
    assert_eq!(events[3].aggregate_version, 3);
    let repriced = events[3].decode::<ProductUpdated>().unwrap().product;
    assert_eq!(serde_json::to_value(repriced.price).unwrap(), price);

    app.post(&format!("{path}/deactivate"), &admin(), json!({}))
        .await
        .expect(200);
    app.post(&format!("{path}/deactivate"), &admin(), json!({}))
        .await
        .expect(200);
    let events = outbox(&db).await;
    assert_eq!(events.len(), 5);
    assert_eq!(events[4].event_type, "product.deactivated");
    assert_eq!(events[4].aggregate_version, 4);
    let deactivated = events[4].decode::<ProductDeactivated>().unwrap().product;
    assert!(!deactivated.active);
    assert_eq!(
        serde_json::to_value(&deactivated).unwrap(),
        feed_snapshot(&app, id(&product)).await
    );

    // A product's events are numbered by its version, one flow each.
    assert!(events.iter().all(|e| e.aggregate_id.to_string() == id(&product)));
    let catalog: Vec<_> = events.iter().filter(|e| e.event_type.starts_with("product.")).collect();
    assert_eq!(
        catalog.iter().map(|e| e.aggregate_version).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    let flows: std::collections::HashSet<Uuid> = catalog.iter().map(|e| e.correlation_id).collect();
    assert_eq!(flows.len(), 4);
}

#[tokio::test]
async fn stock_adjustments_announce_the_new_levels() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = spawn(&db).await;
    create_category(&app, "toys").await;
    let product = create_product(&app, "SKU-1", "toys", 100).await;
    let path = format!("/api/products/{}/stock-adjustments", id(&product));

    app.post(&path, &admin(), json!({"delta": 5, "reason": "delivery"}))
        .await
        .expect(200);
    app.post(&path, &admin(), json!({"delta": -3, "reason": "damaged"}))
        .await
        .expect(200);
    // Refused: below zero, and invalid.
    app.post(&path, &admin(), json!({"delta": -13, "reason": "oops"}))
        .await
        .expect_problem(409, "conflict");
    app.post(&path, &admin(), json!({"delta": 0, "reason": "nothing"}))
        .await
        .expect_invalid("delta");

    let events = outbox(&db).await;
    let adjusted: Vec<_> = events.iter().filter(|e| e.event_type == "inventory.adjusted").collect();
    assert_eq!(
        adjusted.len(),
        3,
        "the starting stock, then two adjustments: {events:#?}"
    );
    let product_id: Uuid = id(&product).parse().unwrap();
    assert_eq!(
        adjusted[0].decode::<InventoryAdjusted>().unwrap(),
        InventoryAdjusted {
            product_id,
            on_hand: 10,
            reserved: 0,
            sold: 0
        }
    );
    assert_eq!(
        adjusted[1].decode::<InventoryAdjusted>().unwrap(),
        InventoryAdjusted {
            product_id,
            on_hand: 15,
            reserved: 0,
            sold: 0
        }
    );
    assert_eq!(
        adjusted[2].decode::<InventoryAdjusted>().unwrap(),
        InventoryAdjusted {
            product_id,
            on_hand: 12,
            reserved: 0,
            sold: 0
        }
    );
    assert_eq!(
        adjusted
            .iter()
            .map(|e| (e.aggregate_id, e.aggregate_version))
            .collect::<Vec<_>>(),
        vec![(product_id, 1), (product_id, 2), (product_id, 3)],
        "versioned by the inventory row"
    );
}

#[tokio::test]
async fn refused_writes_announce_nothing() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = spawn(&db).await;
    create_category(&app, "toys").await;
    let product = create_product(&app, "SKU-1", "toys", 100).await;
    let path = format!("/api/products/{}", id(&product));
    let unknown = format!("/api/products/{}", Uuid::now_v7());

    app.post("/api/products", &admin(), product_body("sku-1", "toys", 5))
        .await
        .expect_problem(409, "conflict");
    app.post("/api/products", &admin(), product_body("SKU-2", "garden", 5))
        .await
        .expect_invalid("category");
    app.patch(&path, &admin(), json!({"category": "garden"}))
        .await
        .expect_invalid("category");
    app.patch(&unknown, &admin(), json!({"name": "x"}))
        .await
        .expect_problem(404, "not-found");
    app.put(
        &format!("{unknown}/price"),
        &admin(),
        json!({"amount_minor": 1, "currency": "USD"}),
    )
    .await
    .expect_problem(404, "not-found");
    app.post(&format!("{unknown}/deactivate"), &admin(), json!({}))
        .await
        .expect_problem(404, "not-found");
    app.patch(&path, &shop_testkit::Actor::stranger(), json!({"name": "Hacked"}))
        .await
        .expect_problem(403, "forbidden");
    assert_only_the_creation(&db, &product).await;
}
