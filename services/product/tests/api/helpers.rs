use serde_json::{Value, json};
use shop_contracts::events::{Envelope, InventoryAdjusted};
use shop_testkit::{Actor, TestApp};
use sqlx::PgPool;
use uuid::Uuid;

pub async fn spawn(db: &PgPool) -> TestApp {
    TestApp::spawn(product_service::app(db.clone().into(), shop_testkit::identity_key())).await
}

pub fn admin() -> Actor {
    Actor::admin(Uuid::now_v7())
}

pub async fn create_category(app: &TestApp, slug: &str) -> Value {
    app.post(
        "/api/categories",
        &admin(),
        json!({"slug": slug, "name": slug.to_uppercase()}),
    )
    .await
    .expect(201)
}

pub fn product_body(sku: &str, category: &str, price_minor: i64) -> Value {
    json!({
        "sku": sku,
        "name": format!("Product {sku}"),
        "description": "A fine thing.",
        "category": category,
        "price": {"amount_minor": price_minor, "currency": "USD"},
        "image_url": "https://images.shop.local/products/x.jpg",
        "initial_stock": 10,
    })
}

pub async fn create_product(app: &TestApp, sku: &str, category: &str, price_minor: i64) -> Value {
    app.post("/api/products", &admin(), product_body(sku, category, price_minor))
        .await
        .expect(201)
}

pub async fn count(db: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(db)
        .await
        .unwrap()
}

/// Everything a write could have touched, to show a rejected request changed nothing.
pub async fn snapshot(db: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT concat_ws('|', p.sku, p.name, p.description, p.price_minor, p.currency, p.active, p.version,
                          p.category_id, p.image_url, i.on_hand, i.reserved, i.sold, i.version)
         FROM products p JOIN inventory i ON i.product_id = p.id ORDER BY p.sku",
    )
    .fetch_all(db)
    .await
    .unwrap()
}

pub fn id(value: &Value) -> &str {
    value["id"].as_str().expect("an id")
}

/// Every event in the outbox, in the order it will be published. Also checks each row's
/// columns agree with its envelope, as the relay relies on.
pub async fn outbox(db: &PgPool) -> Vec<Envelope> {
    let rows: Vec<(Uuid, String, sqlx::types::Json<Envelope>)> =
        sqlx::query_as("SELECT event_id, subject, envelope FROM outbox ORDER BY id")
            .fetch_all(db)
            .await
            .unwrap();
    rows.into_iter()
        .map(|(event_id, subject, envelope)| {
            assert_eq!(event_id, envelope.id);
            assert_eq!(subject, envelope.event_type);
            assert_eq!(envelope.source, "product");
            envelope.0
        })
        .collect()
}

/// Checks the outbox holds only the announcement of the creation of `product` (made from
/// `product_body`): its snapshot, then its starting stock, each at version 1.
pub async fn assert_only_the_creation(db: &PgPool, product: &Value) {
    let events = outbox(db).await;
    let product_id: Uuid = id(product).parse().unwrap();
    assert_eq!(
        events
            .iter()
            .map(|e| (e.event_type.as_str(), e.aggregate_id, e.aggregate_version))
            .collect::<Vec<_>>(),
        [
            ("product.created", product_id, 1),
            ("inventory.adjusted", product_id, 1)
        ],
        "only the product's creation"
    );
    assert_eq!(
        events[1].decode::<InventoryAdjusted>().unwrap(),
        InventoryAdjusted {
            product_id,
            on_hand: 10,
            reserved: 0,
            sold: 0
        }
    );
}

/// Forgets the events written so far, so a test sees only those of what it does next.
pub async fn clear_outbox(db: &PgPool) {
    sqlx::query("DELETE FROM outbox").execute(db).await.unwrap();
}

/// The catalog feed's snapshot of a product, as JSON.
pub async fn feed_snapshot(app: &TestApp, product_id: &str) -> Value {
    let page = app
        .get("/internal/catalog/products?limit=1000", &Actor::Service)
        .await
        .expect(200);
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["id"] == product_id)
        .cloned()
        .expect("the product is in the feed")
}
