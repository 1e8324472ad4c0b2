//! Search as a read replica, end to end through the real NATS: what the product service
//! changes becomes searchable.

use std::sync::Arc;

use search_service::{embedded::EmbeddedIndex, index::SearchIndex};
use serde_json::{Value, json};
use shop_testkit::{Actor, TempDir, TestApp, TestBus, TestDatabase, eventually};
use uuid::Uuid;

async fn search(app: &TestApp, query: &str) -> Value {
    app.get(&format!("/api/search?{query}"), &Actor::Anonymous)
        .await
        .expect(200)
}

fn skus(results: &Value) -> Vec<String> {
    results["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["sku"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn catalog_changes_become_searchable() {
    let bus = TestBus::jetstream().await;
    let key = shop_testkit::identity_key();
    let (product_db, _products) = TestDatabase::migrated("search_products", &product_service::MIGRATOR).await;
    let (search_db, _search) = TestDatabase::migrated("search_index", &search_service::MIGRATOR).await;
    let dir = TempDir::new("shop-search");
    let index = SearchIndex::Embedded(Arc::new(EmbeddedIndex::open(&dir.path).unwrap()));
    let products = TestApp::spawn(product_service::app(product_db.clone().into(), key.clone())).await;
    let search_app = TestApp::spawn(search_service::app(search_db.clone(), key, index.clone())).await;
    let product_messaging = product_service::messaging(bus.bus.clone(), product_db.clone(), bus.namespace.clone());
    let search_messaging = search_service::messaging(bus.bus.clone(), search_db.clone(), bus.namespace.clone(), index);

    let admin = Actor::admin(Uuid::now_v7());
    products
        .post("/api/categories", &admin, json!({"slug": "audio", "name": "Audio"}))
        .await
        .expect(201);
    let headphones = products
        .post("/api/products", &admin, json!({
            "sku": "AUD-1", "name": "Aurora Wireless Headphones", "description": "Noise-cancelling, 30 hours of battery.",
            "category": "audio", "price": {"amount_minor": 12999, "currency": "USD"}, "initial_stock": 3,
        }))
        .await
        .expect(201);
    let path = format!("/api/products/{}", headphones["id"].as_str().unwrap());

    eventually("the new product is searchable, typo and all", async || {
        skus(&search(&search_app, "q=headphnes").await) == ["AUD-1"]
    })
    .await;
    // Stock arrives on its own stream, maybe a moment later.
    eventually("the product shows in stock", async || {
        search(&search_app, "q=wireless&category=audio").await["hits"][0]["in_stock"] == true
    })
    .await;
    let found = search(&search_app, "q=wireless&category=audio").await;
    assert_eq!(found["facets"]["audio"], 1);
    assert!(
        found["hits"][0]["highlighted_name"]
            .as_str()
            .unwrap()
            .contains("<em>Wireless</em>")
    );

    products
        .put(
            &format!("{path}/price"),
            &admin,
            json!({"amount_minor": 9999, "currency": "USD"}),
        )
        .await
        .expect(200);
    eventually("the new price is searchable", async || {
        search(&search_app, "q=headphones").await["hits"][0]["price"]["amount_minor"] == 9999
    })
    .await;

    products
        .post(
            &format!("{path}/stock-adjustments"),
            &admin,
            json!({"delta": -3, "reason": "sold out"}),
        )
        .await
        .expect(200);
    eventually("the product shows out of stock", async || {
        search(&search_app, "q=headphones").await["hits"][0]["in_stock"] == false
    })
    .await;
    assert!(skus(&search(&search_app, "q=headphones&in_stock=true").await).is_empty());

    products
        .post(&format!("{path}/deactivate"), &admin, json!({}))
        .await
        .expect(200);
    eventually("the deactivated product disappears", async || {
        search(&search_app, "q=headphones").await["total"] == 0
    })
    .await;

    for (query, field) in [
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
        ("page=0", "page"),
        ("min_price=-1", "min_price"),
        ("min_price=5&max_price=1", "min_price"),
        ("sort=popular", "sort"),
        (&format!("q={}", "x".repeat(201)) as &str, "q"),
    ] {
        search_app
            .get(&format!("/api/search?{query}"), &Actor::Anonymous)
            .await
            .expect_invalid(field);
    }
    product_messaging.stop().await;
    search_messaging.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reindex_while_updates_arrive_ends_with_the_index_equal_to_the_catalog() {
    let bus = TestBus::jetstream().await;
    let key = shop_testkit::identity_key();
    let (product_db, _products) = TestDatabase::migrated("reindex_products", &product_service::MIGRATOR).await;
    let (search_db, _search) = TestDatabase::migrated("reindex_search", &search_service::MIGRATOR).await;
    let dir = TempDir::new("shop-reindex");
    let index = SearchIndex::Embedded(Arc::new(EmbeddedIndex::open(&dir.path).unwrap()));
    let products = TestApp::spawn(product_service::app(product_db.clone().into(), key.clone())).await;
    let search_app = TestApp::spawn(search_service::app(search_db.clone(), key, index.clone())).await;
    let product_messaging = product_service::messaging(bus.bus.clone(), product_db.clone(), bus.namespace.clone());
    let search_messaging = search_service::messaging(bus.bus.clone(), search_db.clone(), bus.namespace.clone(), index);

    product_service::seed::demo_catalog(&product_db, 60).await.unwrap();
    eventually("the seeded catalog is indexed", async || {
        search(&search_app, "per_page=1").await["total"] == 60
    })
    .await;

    // Changes keep coming while the index is rebuilt.
    let admin = Actor::admin(Uuid::now_v7());
    let ids: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM products ORDER BY id LIMIT 10")
        .fetch_all(&product_db)
        .await
        .unwrap();
    let changes = async {
        for id in &ids {
            products
                .post(&format!("/api/products/{id}/deactivate"), &admin, json!({}))
                .await
                .expect(200);
        }
    };
    let reindex = async {
        search_app
            .post("/internal/reindex", &Actor::Anonymous, json!({}))
            .await
            .expect_problem(401, "unauthorized");
        search_app
            .post("/internal/reindex", &admin, json!({}))
            .await
            .expect_problem(401, "unauthorized");
        let answer = search_app
            .post("/internal/reindex", &Actor::Service, json!({}))
            .await
            .expect(200);
        let lines: Vec<Value> = answer
            .as_str()
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        lines
    };
    let (lines, ()) = tokio::join!(reindex, changes);
    let (last, progress) = lines.split_last().unwrap();
    assert_eq!(progress.last().unwrap()["progress"]["done"], 60, "{lines:?}");
    assert!(last["done"]["products"].as_u64().unwrap() >= 50, "{last}");

    let active: i64 = sqlx::query_scalar("SELECT count(*) FROM products WHERE active")
        .fetch_one(&product_db)
        .await
        .unwrap();
    assert_eq!(active, 50);
    eventually("the index equals the catalog", async || {
        search(&search_app, "per_page=1").await["total"] == active
    })
    .await;
    product_messaging.stop().await;
    search_messaging.stop().await;
}
