//! Products in the replica, orders placed through the store, a look at the database, and a
//! stand-in for the product service's catalog feed.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::{Router, extract::Query, routing::get};
use chrono::{DateTime, Utc};
use order_service::{
    domain::{
        cart::{CartLine, Product},
        order::{IdempotencyKey, NewOrder, Placement, ShippingAddress},
        quantity::Quantity,
    },
    store,
};
use serde_json::json;
use shop_contracts::{
    Currency, Money,
    catalog::{CATALOG_FEED_PATH, CatalogPage, ProductSnapshot},
};
use shop_platform::config::ServiceUrl;
use sqlx::PgPool;
use uuid::Uuid;

/// A product snapshot at version 1, for sale.
pub fn snapshot(price_minor: i64, currency: &str) -> ProductSnapshot {
    let id = Uuid::now_v7();
    ProductSnapshot {
        id,
        sku: format!("SKU-{}", id.simple()),
        name: format!("Product {id}"),
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

pub fn address() -> ShippingAddress {
    serde_json::from_value(json!({
        "recipient": "Grace Hopper", "line1": "1 Navy Way", "line2": "Building 3",
        "city": "Arlington", "postal_code": "22202", "country": "US",
    }))
    .unwrap()
}

/// An order placed the way checkout places one.
pub async fn place_order(db: &PgPool, user_id: Uuid, items: &[(&ProductSnapshot, i64)]) -> NewOrder {
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
        user_id,
        shipping_address: address(),
        idempotency_key: IdempotencyKey::parse(&Uuid::now_v7().to_string()).unwrap(),
        request_fingerprint: "test".into(),
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
