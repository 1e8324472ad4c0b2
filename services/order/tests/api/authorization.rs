//! Who may do what: every endpoint needs a valid identity, and customers only ever see and
//! change their own cart and orders.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use shop_contracts::{Identity, IdentityKey, Role};
use shop_testkit::{Actor, TestApp};
use uuid::Uuid;

use crate::helpers::{address, cart_lines, carts, order_counts, place_order, product, status};

fn add(product_id: Uuid, quantity: i64) -> Value {
    json!({"product_id": product_id, "quantity": quantity})
}

/// Callers who are not signed in, whatever their token claims.
fn nobodies() -> Vec<Actor> {
    let victim = Identity::new(Uuid::now_v7(), vec![Role::Admin]);
    let other_key = IdentityKey::new("some-other-key-that-is-long-enough-0123456789").unwrap();
    vec![
        Actor::Anonymous,
        Actor::RawToken("garbage".into()),
        Actor::RawToken(other_key.mint(&victim, Duration::minutes(5))),
        Actor::RawToken(shop_testkit::identity_key().mint_expiring_at(&victim, Utc::now() - Duration::seconds(5))),
    ]
}

#[tokio::test]
async fn every_endpoint_needs_a_valid_identity() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let mug = product(&db, 1000, "USD").await;
    app.post("/api/cart/items", &alice, add(mug.id, 1)).await.expect(200);
    let order = place_order(&db, alice.user_id(), &[(&mug, 1)]).await;
    let before = carts(&db).await;
    let orders_before = order_counts(&db).await;

    let item = format!("/api/cart/items/{}", mug.id);
    let order_path = format!("/api/orders/{}", order.id);
    let cancel_path = format!("/api/orders/{}/cancel", order.id);
    let checkout = json!({"shipping_address": address(), "payment_token": "tok_visa"});
    let endpoints: Vec<(Method, &str, Option<Value>)> = vec![
        (Method::GET, "/api/cart", None),
        (Method::DELETE, "/api/cart", None),
        (Method::POST, "/api/cart/items", Some(add(mug.id, 1))),
        (Method::PATCH, &item, Some(json!({"quantity": 3}))),
        (Method::DELETE, &item, None),
        (Method::GET, "/api/orders", None),
        (Method::GET, &order_path, None),
        (Method::POST, "/api/orders", Some(checkout)),
        (Method::POST, &cancel_path, None),
    ];
    for actor in nobodies() {
        for (method, path, body) in &endpoints {
            app.send(method.clone(), path, &actor, body.clone())
                .await
                .expect_problem(401, "unauthorized");
        }
    }

    assert_eq!(carts(&db).await, before);
    assert_eq!(order_counts(&db).await, orders_before);
    assert_eq!(status(&db, order.id).await, "pending");
}

#[tokio::test]
async fn customers_never_see_or_change_each_others_carts() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let bob = Actor::stranger();
    let mug = product(&db, 1000, "USD").await;
    let pen = product(&db, 100, "USD").await;
    app.post("/api/cart/items", &alice, add(mug.id, 2)).await.expect(200);
    let alices_cart = app.get("/api/cart", &alice).await.expect(200);

    let bobs_cart = app.get("/api/cart", &bob).await.expect(200);
    assert_eq!(bobs_cart, json!({"items": [], "total": null, "item_count": 0}));
    let alices_item = format!("/api/cart/items/{}", mug.id);
    app.patch(&alices_item, &bob, json!({"quantity": 5}))
        .await
        .expect_problem(404, "not-found");
    app.delete(&alices_item, &bob).await.expect_problem(404, "not-found");
    app.delete("/api/cart", &bob).await.expect(204);
    app.post("/api/cart/items", &bob, add(pen.id, 1)).await.expect(200);
    // Adding the product Alice holds opens a line in Bob's cart, not hers.
    let bobs_cart = app.post("/api/cart/items", &bob, add(mug.id, 1)).await.expect(200);

    assert_eq!(bobs_cart["item_count"], 2);
    assert_eq!(app.get("/api/cart", &alice).await.expect(200), alices_cart);
    assert_eq!(cart_lines(&db, alice.user_id()).await, [(mug.id, 2)]);
    assert_eq!(cart_lines(&db, bob.user_id()).await, [(pen.id, 1), (mug.id, 1)]);
}

#[tokio::test]
async fn customers_never_see_each_others_orders() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let bob = Actor::stranger();
    let admin = Actor::admin(Uuid::now_v7());
    let mug = product(&db, 1000, "USD").await;
    let order = place_order(&db, alice.user_id(), &[(&mug, 1)]).await;
    let path = format!("/api/orders/{}", order.id);

    let not_found = app.get(&path, &bob).await.expect_problem(404, "not-found");
    let unknown = app
        .get(&format!("/api/orders/{}", Uuid::now_v7()), &bob)
        .await
        .expect_problem(404, "not-found");
    assert_eq!(
        not_found, unknown,
        "someone else's order must look like no order at all"
    );
    let bobs_orders = app.get("/api/orders", &bob).await.expect(200);
    assert_eq!(bobs_orders, json!({"items": [], "next_cursor": null}));

    assert_eq!(app.get(&path, &alice).await.expect(200)["id"], json!(order.id));
    // Administrators may read any order, but their own list holds only their own orders.
    let read_by_admin = app.get(&path, &admin).await.expect(200);
    assert_eq!(read_by_admin["user_id"], json!(alice.user_id()));
    assert_eq!(app.get("/api/orders", &admin).await.expect(200)["items"], json!([]));
}
