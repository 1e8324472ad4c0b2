//! The catalog cache (`CATALOG_CACHE`) on real Redis, under a key prefix of each test's own,
//! invalidated by the service's own events on real NATS JetStream.

use serde_json::{Value, json};
use shop_testkit::{RedisPrefix, TestApp, TestBus, config_from_args, eventually};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{admin, create_category, create_product, id};

async fn cached_app(db: &PgPool, redis_url: &str, prefix: &str) -> (TestApp, product_service::cache::CatalogCache) {
    let config: product_service::Config = config_from_args([
        "product-service",
        "--catalog-cache",
        "--cache-redis-url",
        redis_url,
        "--cache-key-prefix",
        prefix,
    ]);
    let catalog = config.catalog().await.unwrap();
    let state = product_service::api::AppState {
        catalog: catalog.clone(),
        ..db.clone().into()
    };
    (
        TestApp::spawn(product_service::app(state, shop_testkit::identity_key())).await,
        catalog,
    )
}

/// Whether the consumer `consumer` has applied the newest event of `event_type` in the outbox.
async fn applied(db: &PgPool, consumer: &str, event_type: &str) -> bool {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM inbox WHERE consumer = $1 AND event_id =
           (SELECT event_id FROM outbox WHERE subject = $2 ORDER BY id DESC LIMIT 1))",
    )
    .bind(consumer)
    .bind(event_type)
    .fetch_one(db)
    .await
    .unwrap()
}

#[tokio::test]
async fn once_the_price_change_event_is_applied_no_read_shows_the_old_price() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let bus = TestBus::jetstream().await;
    let redis = RedisPrefix::new();
    let (app, catalog) = cached_app(&db, &redis.url, &redis.prefix).await;
    let mut messaging = product_service::messaging(bus.bus.clone(), db.clone(), bus.namespace.clone());
    product_service::invalidate_on_events(&mut messaging, &catalog);
    create_category(&app, "toys").await;
    let product = id(&create_product(&app, "SKU-C", "toys", 100).await).to_owned();
    let price = |body: &Value| body["price"]["amount_minor"].as_i64();
    let first_item = |page: &Value| page["items"][0]["price"]["amount_minor"].as_i64();

    // Read (and cache) the product, its listing and the category's count.
    let path = format!("/api/products/{product}");
    assert_eq!(price(&app.get(&path, &admin()).await.expect(200)), Some(100));
    assert_eq!(
        first_item(&app.get("/api/products?category=toys", &admin()).await.expect(200)),
        Some(100)
    );
    assert!(
        !redis.keys().await.is_empty(),
        "the reads were stored in Redis under the test's prefix"
    );

    app.put(
        &format!("{path}/price"),
        &admin(),
        json!({"amount_minor": 250, "currency": "USD"}),
    )
    .await
    .expect(200);
    eventually("the cache consumer applied product.updated", async || {
        applied(&db, "product-cache-catalog", "product.updated").await
    })
    .await;
    assert_eq!(price(&app.get(&path, &admin()).await.expect(200)), Some(250));
    assert_eq!(
        first_item(&app.get("/api/products?category=toys", &admin()).await.expect(200)),
        Some(250)
    );

    // A stock change is an inventory.adjusted event: the cached availability follows it.
    app.post(
        &format!("{path}/stock-adjustments"),
        &admin(),
        json!({"delta": 5, "reason": "restock"}),
    )
    .await
    .expect(200);
    eventually("the cache consumer applied inventory.adjusted", async || {
        applied(&db, "product-cache-stock", "inventory.adjusted").await
    })
    .await;
    assert_eq!(app.get(&path, &admin()).await.expect(200)["available"], 15);
    messaging.stop().await;
}

#[tokio::test]
async fn a_missing_product_is_a_404_from_a_negative_entry_and_a_new_category_shows_at_once() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let redis = RedisPrefix::new();
    let (app, _) = cached_app(&db, &redis.url, &redis.prefix).await;
    let missing = Uuid::now_v7();
    for _ in 0..3 {
        app.get(&format!("/api/products/{missing}"), &admin())
            .await
            .expect_problem(404, "not-found");
    }
    let negative = format!("{}product:{missing}@0|", redis.prefix);
    assert!(redis.keys().await.contains(&negative), "{:?}", redis.keys().await);

    assert_eq!(app.get("/api/categories", &admin()).await.expect(200), json!([]));
    create_category(&app, "games").await;
    let categories = app.get("/api/categories", &admin()).await.expect(200);
    assert_eq!(categories[0]["slug"], "games", "{categories}");
}

#[tokio::test]
async fn with_redis_unreachable_catalog_reads_come_from_the_database() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let closed = format!("redis://127.0.0.1:{}", shop_testkit::free_port());
    let (app, _) = cached_app(&db, &closed, "unused:").await;
    create_category(&app, "toys").await;
    let product = id(&create_product(&app, "SKU-D", "toys", 100).await).to_owned();
    for _ in 0..3 {
        app.get(&format!("/api/products/{product}"), &admin()).await.expect(200);
        app.get("/api/products", &admin()).await.expect(200);
        app.get("/api/categories/toys", &admin()).await.expect(200);
    }
    app.get(&format!("/api/products/{}", Uuid::now_v7()), &admin())
        .await
        .expect_problem(404, "not-found");
}
