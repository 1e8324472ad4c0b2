//! Products in the replica, carts and orders (through the store or over HTTP), a look at the
//! database and its outbox, handlers run the way the consumer runs them, and a stand-in for
//! the product service's catalog feed.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::{Router, extract::Query, routing::get};
use chrono::{DateTime, Utc};
use order_service::{
    domain::{
        cart::{CartLine, Product},
        order::{IdempotencyKey, NewOrder, Placement},
        payment::PaymentToken,
        quantity::Quantity,
    },
    store,
};

use serde_json::{Value, json};
use shop_contracts::{
    Address, Currency, Money,
    catalog::{CATALOG_FEED_PATH, CatalogPage, ProductSnapshot},
    events::{Cause, Envelope, Event},
};
use shop_messaging::Handler;
use shop_platform::config::ServiceUrl;
use shop_testkit::{Actor, TestApp, TestResponse};
use sqlx::PgPool;
use uuid::Uuid;

/// A product snapshot at version 1, for sale.
pub fn snapshot(price_minor: i64, currency: &str) -> ProductSnapshot {
    let id = Uuid::now_v7();
    ProductSnapshot {
        id,
        sku: format!("SKU-{}", id.simple()),
        name: format!("Product {id}"),
        description: "A mug.".into(),
        created_at: Some(Utc::now()),
        category: "mugs".into(),
        price: Money::new(price_minor, Currency::parse(currency).unwrap()).unwrap(),
        active: true,
        version: 1,
        updated_at: Utc::now(),
    }
}

/// A newer version of `product` changed by `change`.
pub fn next_version(product: &ProductSnapshot, change: impl FnOnce(&mut ProductSnapshot)) -> ProductSnapshot {
    let mut next = product.clone();
    next.version += 1;
    next.updated_at = Utc::now();
    change(&mut next);
    next
}

/// Puts `snapshot` into the replica the way every delivery does.
pub async fn apply(db: &PgPool, snapshot: &ProductSnapshot) {
    assert!(
        store::catalog::apply_snapshot(db, snapshot).await.unwrap(),
        "snapshot was not applied"
    );
}

/// A product for sale, in the replica.
pub async fn product(db: &PgPool, price_minor: i64, currency: &str) -> ProductSnapshot {
    let product = snapshot(price_minor, currency);
    apply(db, &product).await;
    product
}

pub fn address() -> Address {
    serde_json::from_value(json!({
        "recipient": "Grace Hopper", "line1": "1 Navy Way", "line2": "Building 3",
        "city": "Arlington", "postal_code": "22202", "country": "US",
    }))
    .unwrap()
}

/// An order placed the way checkout places one (without its `order.placed` event).
pub async fn place_order(db: &PgPool, user_id: Uuid, items: &[(&ProductSnapshot, i64)]) -> NewOrder {
    place_order_paying(db, user_id, items, "tok_visa").await
}

/// [`place_order`] with the payment token the payment step will charge.
pub async fn place_order_paying(
    db: &PgPool,
    user_id: Uuid,
    items: &[(&ProductSnapshot, i64)],
    payment_token: &str,
) -> NewOrder {
    let lines = items
        .iter()
        .map(|(snapshot, quantity)| CartLine {
            product: Product {
                id: snapshot.id,
                sku: snapshot.sku.clone(),
                name: snapshot.name.clone(),
                price: snapshot.price,
                active: snapshot.active,
            },
            quantity: Quantity::new(*quantity).unwrap(),
        })
        .collect();
    let placement = Placement {
        order_id: Uuid::now_v7(),
        user_id,
        shipping_address: address(),
        idempotency_key: IdempotencyKey::parse(&Uuid::now_v7().to_string()).unwrap(),
        request_fingerprint: "test".into(),
        payment_token: PaymentToken::parse(payment_token).unwrap(),
    };
    let order = NewOrder::place(lines, placement).unwrap();
    store::orders::insert_order(db, &order).await.unwrap();
    order
}

/// Every cart and cart line, to show that a refused request changed nothing.
pub async fn carts(db: &PgPool) -> (Vec<(Uuid, DateTime<Utc>)>, Vec<(Uuid, Uuid, i32)>) {
    let carts = sqlx::query_as("SELECT user_id, updated_at FROM carts ORDER BY user_id")
        .fetch_all(db)
        .await
        .unwrap();
    let lines = sqlx::query_as("SELECT user_id, product_id, quantity FROM cart_items ORDER BY user_id, product_id")
        .fetch_all(db)
        .await
        .unwrap();
    (carts, lines)
}

/// The user's cart lines as `(product_id, quantity)`.
pub async fn cart_lines(db: &PgPool, user_id: Uuid) -> Vec<(Uuid, i32)> {
    sqlx::query_as("SELECT product_id, quantity FROM cart_items WHERE user_id = $1 ORDER BY added_at, product_id")
        .bind(user_id)
        .fetch_all(db)
        .await
        .unwrap()
}

/// The replica's `(product_id, version, price_minor, active)` rows.
pub async fn replica(db: &PgPool) -> Vec<(Uuid, i64, i64, bool)> {
    sqlx::query_as("SELECT product_id, version, price_minor, active FROM product_replica ORDER BY product_id")
        .fetch_all(db)
        .await
        .unwrap()
}

/// Serves `router` on a random loopback port; returns its base URL.
pub async fn serve(router: Router) -> ServiceUrl {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap()).parse().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

/// The query strings a catalog feed was asked with, in order.
pub type Requests = Arc<Mutex<Vec<HashMap<String, String>>>>;

/// A product service's catalog feed serving `pages`: the first to a request without
/// `after`, each next one to a request whose `after` is the previous page's `next_after`.
pub async fn catalog_feed(pages: Vec<CatalogPage>) -> (ServiceUrl, Requests) {
    let mut by_cursor = HashMap::new();
    let mut after: Option<Uuid> = None;
    for page in pages {
        let next = page.next_after;
        by_cursor.insert(after, page);
        after = next;
    }
    let by_cursor = Arc::new(by_cursor);
    let requests = Requests::default();
    let seen = requests.clone();
    let router = Router::new().route(
        CATALOG_FEED_PATH,
        get(move |Query(query): Query<HashMap<String, String>>| async move {
            seen.lock().unwrap().push(query.clone());
            let after = query.get("after").map(|a| a.parse::<Uuid>().unwrap());
            axum::Json(by_cursor[&after].clone())
        }),
    );
    (serve(router).await, requests)
}

/// A checkout body shipping to [`address`] and paying with `payment_token`.
pub fn checkout_body(payment_token: &str) -> Value {
    json!({"shipping_address": address(), "payment_token": payment_token})
}

/// Puts `items` into the actor's cart over HTTP.
pub async fn fill_cart(app: &TestApp, actor: &Actor, items: &[(&ProductSnapshot, i64)]) {
    for (product, quantity) in items {
        let body = json!({"product_id": product.id, "quantity": quantity});
        app.post("/api/cart/items", actor, body).await.expect(200);
    }
}

/// `POST /api/orders` with an `Idempotency-Key` header (or none).
pub async fn checkout(app: &TestApp, actor: &Actor, key: Option<&str>, body: &Value) -> TestResponse {
    let headers: Vec<(&str, &str)> = key.map(|key| ("Idempotency-Key", key)).into_iter().collect();
    app.send_with_headers(
        shop_testkit::Method::POST,
        "/api/orders",
        actor,
        Some(body.clone()),
        &headers,
    )
    .await
}

/// Fills the actor's cart with `items` and checks out: the placed order as the API shows it.
pub async fn checked_out(
    app: &TestApp,
    actor: &Actor,
    items: &[(&ProductSnapshot, i64)],
    payment_token: &str,
) -> Value {
    fill_cart(app, actor, items).await;
    let key = Uuid::now_v7().to_string();
    checkout(app, actor, Some(&key), &checkout_body(payment_token))
        .await
        .expect(201)
}

/// Row counts of `(orders, order_items, order_status_history, outbox)`.
pub async fn order_counts(db: &PgPool) -> (i64, i64, i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM order_items),
                (SELECT count(*) FROM order_status_history), (SELECT count(*) FROM outbox)",
    )
    .fetch_one(db)
    .await
    .unwrap()
}

/// The order's status in the database.
pub async fn status(db: &PgPool, order_id: Uuid) -> String {
    sqlx::query_scalar("SELECT status FROM orders WHERE id = $1")
        .bind(order_id)
        .fetch_one(db)
        .await
        .unwrap()
}

/// The order's status history as `(status, reason)`, oldest first.
pub async fn history(db: &PgPool, order_id: Uuid) -> Vec<(String, Option<String>)> {
    sqlx::query_as("SELECT status, reason FROM order_status_history WHERE order_id = $1 ORDER BY id")
        .bind(order_id)
        .fetch_all(db)
        .await
        .unwrap()
}

/// An event as another service publishes it, starting a new flow.
pub fn event<E: Event>(source: &str, aggregate_id: Uuid, aggregate_version: i64, payload: &E) -> Envelope {
    Envelope::new(source, aggregate_id, aggregate_version, payload, Cause::new_flow())
}

/// Runs `handler` on `event` in one transaction and commits, as the consumer does.
pub async fn handle(db: &PgPool, handler: &impl Handler, event: &Envelope) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    shop_messaging::consumer::handle(&mut tx, handler, event).await?;
    tx.commit().await?;
    Ok(())
}

/// Status-history pairs as owned strings, to compare with [`history`].
pub fn owned(pairs: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
    pairs
        .iter()
        .map(|(status, reason)| ((*status).to_owned(), reason.map(str::to_owned)))
        .collect()
}
