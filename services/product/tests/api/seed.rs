use std::collections::HashMap;

use serde_json::Value;
use shop_contracts::events::ProductCreated;
use shop_testkit::Actor;
use sqlx::PgPool;

use crate::helpers::{count, outbox, spawn};

#[sqlx::test(migrations = "../../migrations/product")]
async fn the_demo_catalog_loads_once_however_often_it_is_seeded(db: PgPool) {
    let first = product_service::seed::demo_catalog(&db, 300).await.unwrap();
    assert_eq!(first.products, 300);
    assert!(first.categories >= 10);
    let again = product_service::seed::demo_catalog(&db, 300).await.unwrap();
    assert_eq!(again, product_service::seed::Seeded::default());
    assert_eq!(count(&db, "products").await, 300);
    assert_eq!(count(&db, "inventory").await, 300);

    // Growing the catalog adds only the new products.
    let more = product_service::seed::demo_catalog(&db, 350).await.unwrap();
    assert_eq!(more.products, 50);

    let app = spawn(&db).await;
    let page = app.get("/api/products?limit=100", &Actor::Anonymous).await.expect(200);
    assert_eq!(page["items"].as_array().unwrap().len(), 100);
    let categories = app.get("/api/categories", &Actor::Anonymous).await.expect(200);
    assert!(
        categories
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["product_count"].as_i64().unwrap() > 0)
    );
}

#[sqlx::test(migrations = "../../migrations/product")]
async fn every_seeded_product_is_announced_once_with_its_snapshot(db: PgPool) {
    product_service::seed::demo_catalog(&db, 300).await.unwrap();
    product_service::seed::demo_catalog(&db, 300).await.unwrap();
    product_service::seed::demo_catalog(&db, 350).await.unwrap();

    let app = spawn(&db).await;
    let feed = app
        .get("/internal/catalog/products?limit=1000", &Actor::Anonymous)
        .await
        .expect(200);
    let snapshots: HashMap<String, Value> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| (item["id"].as_str().unwrap().to_owned(), item.clone()))
        .collect();
    assert_eq!(snapshots.len(), 350);

    let events = outbox(&db).await;
    assert_eq!(
        events.len(),
        350,
        "one event per product, none for products already there"
    );
    for event in &events {
        assert_eq!(event.event_type, "product.created");
        assert_eq!(event.aggregate_version, 1);
        let product = event.decode::<ProductCreated>().unwrap().product;
        assert_eq!(event.aggregate_id, product.id);
        assert_eq!(
            serde_json::to_value(&product).unwrap(),
            snapshots[&product.id.to_string()]
        );
    }
    // In catalog order, so the stream replays the catalog as it was built.
    let ids: Vec<_> = events.iter().map(|e| e.aggregate_id).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
}
