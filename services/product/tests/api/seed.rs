use std::collections::HashMap;

use serde_json::Value;
use shop_contracts::events::{InventoryAdjusted, ProductCreated};
use shop_testkit::Actor;
use uuid::Uuid;

use crate::helpers::{count, outbox, spawn};

#[tokio::test]
async fn the_demo_catalog_loads_once_however_often_it_is_seeded() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
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

#[tokio::test]
async fn every_seeded_product_is_announced_once_with_its_snapshot() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    product_service::seed::demo_catalog(&db, 300).await.unwrap();
    product_service::seed::demo_catalog(&db, 300).await.unwrap();
    product_service::seed::demo_catalog(&db, 350).await.unwrap();

    let app = spawn(&db).await;
    let feed = app
        .get("/internal/catalog/products?limit=1000", &Actor::Service)
        .await
        .expect(200);
    let snapshots: HashMap<String, Value> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| (item["id"].as_str().unwrap().to_owned(), item.clone()))
        .collect();
    assert_eq!(snapshots.len(), 350);

    let stock: HashMap<Uuid, i32> = sqlx::query_as("SELECT product_id, on_hand FROM inventory")
        .fetch_all(&db)
        .await
        .unwrap()
        .into_iter()
        .collect();

    let events = outbox(&db).await;
    assert_eq!(
        events.len(),
        700,
        "two events per product, none for products already there"
    );
    // Each product is announced by its snapshot, then its starting stock.
    let mut announced = Vec::new();
    for pair in events.chunks(2) {
        let [created, adjusted] = pair else {
            unreachable!("an even number of events")
        };
        assert_eq!(created.event_type, "product.created");
        assert_eq!(created.aggregate_version, 1);
        let product = created.decode::<ProductCreated>().unwrap().product;
        assert_eq!(created.aggregate_id, product.id);
        assert_eq!(
            serde_json::to_value(&product).unwrap(),
            snapshots[&product.id.to_string()]
        );
        assert_eq!(adjusted.event_type, "inventory.adjusted");
        assert_eq!((adjusted.aggregate_id, adjusted.aggregate_version), (product.id, 1));
        assert_eq!(
            adjusted.decode::<InventoryAdjusted>().unwrap(),
            InventoryAdjusted {
                product_id: product.id,
                on_hand: stock[&product.id],
                reserved: 0,
                sold: 0
            }
        );
        announced.push(product.id);
    }
    // Once each, in catalog order, so the stream replays the catalog as it was built.
    let mut sorted = announced.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(announced, sorted);
    assert_eq!(announced.len(), 350);
}
