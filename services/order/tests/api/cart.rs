//! `/api/cart`: adding, incrementing, setting, removing, clearing; prices from the replica;
//! the cart's limits; bad input changes nothing.

use order_service::domain::cart::MAX_LINES;
use reqwest::Method;
use serde_json::{Value, json};
use shop_testkit::{Actor, TestApp, assert_rejected, malformed_bodies};
use uuid::Uuid;

use crate::helpers::{apply, cart_lines, carts, next_version, product};

fn money(amount_minor: i64, currency: &str) -> Value {
    json!({"amount_minor": amount_minor, "currency": currency})
}

fn add(product_id: Uuid, quantity: i64) -> Value {
    json!({"product_id": product_id, "quantity": quantity})
}

#[tokio::test]
async fn a_new_customer_has_an_empty_cart() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let cart = app.get("/api/cart", &Actor::stranger()).await.expect(200);
    assert_eq!(cart, json!({"items": [], "total": null, "item_count": 0}));
}

#[tokio::test]
async fn added_items_are_priced_from_the_replica() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let mug = product(&db, 1999, "USD").await;
    let pen = product(&db, 250, "USD").await;

    app.post("/api/cart/items", &alice, add(mug.id, 2)).await.expect(200);
    let cart = app.post("/api/cart/items", &alice, add(pen.id, 3)).await.expect(200);

    assert_eq!(
        cart["items"],
        json!([
            {"product_id": mug.id, "sku": mug.sku, "name": mug.name, "unit_price": money(1999, "USD"),
             "quantity": 2, "line_total": money(3998, "USD"), "available": true},
            {"product_id": pen.id, "sku": pen.sku, "name": pen.name, "unit_price": money(250, "USD"),
             "quantity": 3, "line_total": money(750, "USD"), "available": true},
        ])
    );
    assert_eq!(cart["total"], money(4748, "USD"));
    assert_eq!(cart["item_count"], 5);
    assert_eq!(app.get("/api/cart", &alice).await.expect(200), cart);
    assert_eq!(cart_lines(&db, alice.user_id()).await, [(mug.id, 2), (pen.id, 3)]);
}

#[tokio::test]
async fn adding_a_held_product_again_increments_its_line() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let mug = product(&db, 1000, "EUR").await;

    app.post("/api/cart/items", &alice, add(mug.id, 2)).await.expect(200);
    let cart = app.post("/api/cart/items", &alice, add(mug.id, 5)).await.expect(200);

    assert_eq!(cart["items"].as_array().unwrap().len(), 1);
    assert_eq!(cart["items"][0]["quantity"], 7);
    assert_eq!(cart["total"], money(7000, "EUR"));
    assert_eq!(cart_lines(&db, alice.user_id()).await, [(mug.id, 7)]);
}

#[tokio::test]
async fn patch_sets_the_quantity() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let mug = product(&db, 1000, "USD").await;
    app.post("/api/cart/items", &alice, add(mug.id, 2)).await.expect(200);

    let path = format!("/api/cart/items/{}", mug.id);
    let cart = app.patch(&path, &alice, json!({"quantity": 9})).await.expect(200);

    assert_eq!(cart["items"][0]["quantity"], 9);
    assert_eq!(cart["total"], money(9000, "USD"));
    assert_eq!(cart_lines(&db, alice.user_id()).await, [(mug.id, 9)]);
}

#[tokio::test]
async fn delete_removes_one_item() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let mug = product(&db, 1000, "USD").await;
    let pen = product(&db, 100, "USD").await;
    app.post("/api/cart/items", &alice, add(mug.id, 1)).await.expect(200);
    app.post("/api/cart/items", &alice, add(pen.id, 1)).await.expect(200);

    let path = format!("/api/cart/items/{}", mug.id);
    app.delete(&path, &alice).await.expect(204);

    assert_eq!(cart_lines(&db, alice.user_id()).await, [(pen.id, 1)]);
    let cart = app.get("/api/cart", &alice).await.expect(200);
    assert_eq!(cart["total"], money(100, "USD"));
    app.delete(&path, &alice).await.expect_problem(404, "not-found");
}

#[tokio::test]
async fn delete_cart_clears_every_item() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    for price in [100, 200, 300] {
        let p = product(&db, price, "USD").await;
        app.post("/api/cart/items", &alice, add(p.id, 1)).await.expect(200);
    }

    app.delete("/api/cart", &alice).await.expect(204);

    assert!(cart_lines(&db, alice.user_id()).await.is_empty());
    let cart = app.get("/api/cart", &alice).await.expect(200);
    assert_eq!(cart, json!({"items": [], "total": null, "item_count": 0}));
    // Clearing an empty cart is not an error.
    app.delete("/api/cart", &alice).await.expect(204);
}

#[tokio::test]
async fn carts_always_show_the_replicas_current_prices() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let mug = product(&db, 1000, "USD").await;
    let pen = product(&db, 100, "USD").await;
    app.post("/api/cart/items", &alice, add(mug.id, 2)).await.expect(200);
    app.post("/api/cart/items", &alice, add(pen.id, 1)).await.expect(200);

    let cheaper = next_version(&mug, |p| p.price.amount_minor = 800);
    apply(&db, &cheaper).await;
    let cart = app.get("/api/cart", &alice).await.expect(200);
    assert_eq!(cart["items"][0]["unit_price"], money(800, "USD"));
    assert_eq!(cart["items"][0]["line_total"], money(1600, "USD"));
    assert_eq!(cart["total"], money(1700, "USD"));

    // A product taken off sale stays in the cart, unavailable and left out of the total.
    apply(&db, &next_version(&cheaper, |p| p.active = false)).await;
    let cart = app.get("/api/cart", &alice).await.expect(200);
    assert_eq!(cart["items"][0]["available"], false);
    assert_eq!(cart["items"][0]["line_total"], money(1600, "USD"));
    assert_eq!(cart["total"], money(100, "USD"));
    assert_eq!(cart["item_count"], 3);
}

#[tokio::test]
async fn quantities_stay_between_1_and_99() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let mug = product(&db, 1000, "USD").await;

    for bad in [
        json!(0),
        json!(100),
        json!(-1),
        json!(1.5),
        json!("2"),
        json!(null),
        json!(1u64 << 40),
    ] {
        let body = json!({"product_id": mug.id, "quantity": bad});
        app.post("/api/cart/items", &alice, body)
            .await
            .expect_invalid("quantity");
    }
    assert_eq!(carts(&db).await, (vec![], vec![]));

    app.post("/api/cart/items", &alice, add(mug.id, 99)).await.expect(200);
    let before = carts(&db).await;
    app.post("/api/cart/items", &alice, add(mug.id, 1))
        .await
        .expect_invalid("quantity");
    let path = format!("/api/cart/items/{}", mug.id);
    for bad in [json!(0), json!(100), json!(-5), json!("1")] {
        app.patch(&path, &alice, json!({"quantity": bad}))
            .await
            .expect_invalid("quantity");
    }
    assert_eq!(carts(&db).await, before);
    assert_eq!(cart_lines(&db, alice.user_id()).await, [(mug.id, 99)]);

    app.patch(&path, &alice, json!({"quantity": 1})).await.expect(200);
    assert_eq!(cart_lines(&db, alice.user_id()).await, [(mug.id, 1)]);
}

#[tokio::test]
async fn unknown_and_unavailable_products_cannot_be_added() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let retired = product(&db, 1000, "USD").await;
    apply(&db, &next_version(&retired, |p| p.active = false)).await;

    let unknown = app.post("/api/cart/items", &alice, add(Uuid::now_v7(), 1)).await;
    unknown.expect_invalid("product_id");
    app.post("/api/cart/items", &alice, add(retired.id, 1))
        .await
        .expect_invalid("product_id");
    for bad in [json!("not-a-uuid"), json!(42), json!(null)] {
        let body = json!({"product_id": bad, "quantity": 1});
        app.post("/api/cart/items", &alice, body)
            .await
            .expect_invalid("product_id");
    }

    assert_eq!(carts(&db).await, (vec![], vec![]));
}

#[tokio::test]
async fn a_cart_holds_products_of_one_currency() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let dollars = product(&db, 1000, "USD").await;
    let euros = product(&db, 1000, "EUR").await;
    app.post("/api/cart/items", &alice, add(dollars.id, 1))
        .await
        .expect(200);
    let before = carts(&db).await;

    let refused = app
        .post("/api/cart/items", &alice, add(euros.id, 1))
        .await
        .expect_invalid("product_id");

    assert!(refused["detail"].as_str().unwrap().contains("EUR"), "{refused:#}");
    assert_eq!(carts(&db).await, before);
    // Another customer's cart may hold euros.
    app.post("/api/cart/items", &Actor::stranger(), add(euros.id, 1))
        .await
        .expect(200);
}

#[tokio::test]
async fn a_cart_holds_at_most_fifty_products() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let mut products = Vec::new();
    for _ in 0..=MAX_LINES {
        products.push(product(&db, 100, "USD").await);
    }
    for p in &products[..MAX_LINES] {
        app.post("/api/cart/items", &alice, add(p.id, 1)).await.expect(200);
    }
    let before = carts(&db).await;

    app.post("/api/cart/items", &alice, add(products[MAX_LINES].id, 1))
        .await
        .expect_problem(409, "conflict");

    assert_eq!(carts(&db).await, before);
    // Products already in the cart can still be added again.
    let cart = app
        .post("/api/cart/items", &alice, add(products[0].id, 1))
        .await
        .expect(200);
    assert_eq!(cart["items"].as_array().unwrap().len(), MAX_LINES);
    assert_eq!(cart["item_count"], MAX_LINES + 1);
}

#[tokio::test]
async fn malformed_bodies_are_refused_and_change_nothing() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let mug = product(&db, 1000, "USD").await;
    app.post("/api/cart/items", &alice, add(mug.id, 2)).await.expect(200);
    let before = carts(&db).await;
    let item = format!("/api/cart/items/{}", mug.id);

    for (method, path) in [(Method::POST, "/api/cart/items"), (Method::PATCH, item.as_str())] {
        for (content_type, body, status) in malformed_bodies() {
            let response = app
                .send_raw(method.clone(), path, &alice, Some((content_type, body)))
                .await;
            assert_rejected(response, status);
        }
        for body in [
            json!({}),
            json!({"quantity": 1, "product_id": mug.id, "note": "x"}),
            json!({"quantity": [1]}),
        ] {
            app.send(method.clone(), path, &alice, Some(body))
                .await
                .expect_problem(422, "validation");
        }
    }
    app.post("/api/cart/items", &alice, json!({"product_id": mug.id}))
        .await
        .expect_problem(422, "validation");
    app.patch(&item, &alice, json!({"quantity": 1, "product_id": mug.id}))
        .await
        .expect_problem(422, "validation");

    assert_eq!(carts(&db).await, before);
}

#[tokio::test]
async fn items_not_in_the_cart_are_not_found() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let mug = product(&db, 1000, "USD").await;
    let pen = product(&db, 100, "USD").await;
    app.post("/api/cart/items", &alice, add(mug.id, 2)).await.expect(200);
    let before = carts(&db).await;

    for path in [
        format!("/api/cart/items/{}", pen.id),
        format!("/api/cart/items/{}", Uuid::now_v7()),
        "/api/cart/items/not-a-uuid".into(),
    ] {
        app.patch(&path, &alice, json!({"quantity": 1}))
            .await
            .expect_problem(404, "not-found");
        app.delete(&path, &alice).await.expect_problem(404, "not-found");
    }

    assert_eq!(carts(&db).await, before);
}
