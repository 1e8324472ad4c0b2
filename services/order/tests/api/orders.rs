//! `/api/orders`: reading one's orders. Orders are placed through the store function
//! checkout uses.

use order_service::store;
use serde_json::{Value, json};
use shop_platform::db::is_constraint_violation;
use shop_testkit::{Actor, TestApp};
use uuid::Uuid;

use crate::helpers::{address, apply, next_version, place_order, product};

fn money(amount_minor: i64, currency: &str) -> Value {
    json!({"amount_minor": amount_minor, "currency": currency})
}

fn ids(page: &Value) -> Vec<Value> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].clone())
        .collect()
}

#[tokio::test]
async fn an_order_shows_its_items_and_history() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let mug = product(&db, 1999, "USD").await;
    let pen = product(&db, 250, "USD").await;
    let order = place_order(&db, alice.user_id(), &[(&mug, 2), (&pen, 4)]).await;

    let body = app.get(&format!("/api/orders/{}", order.id), &alice).await.expect(200);

    assert_eq!(body["id"], json!(order.id));
    assert_eq!(body["user_id"], json!(alice.user_id()));
    assert_eq!(body["status"], "pending");
    assert_eq!(body["total"], money(4998, "USD"));
    assert_eq!(body["shipping_address"], serde_json::to_value(address()).unwrap());
    assert_eq!(
        body["items"],
        json!([
            {"product_id": mug.id, "sku": mug.sku, "name": mug.name, "unit_price": money(1999, "USD"),
             "quantity": 2, "line_total": money(3998, "USD")},
            {"product_id": pen.id, "sku": pen.sku, "name": pen.name, "unit_price": money(250, "USD"),
             "quantity": 4, "line_total": money(1000, "USD")},
        ])
    );
    let history = body["history"].as_array().unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["status"], "pending");
    assert_eq!(history[0]["reason"], Value::Null);
    assert_eq!(history[0]["occurred_at"], body["created_at"]);
}

#[tokio::test]
async fn orders_keep_the_prices_they_were_placed_at() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let mug = product(&db, 1000, "USD").await;
    let order = place_order(&db, alice.user_id(), &[(&mug, 1)]).await;
    let path = format!("/api/orders/{}", order.id);
    let placed = app.get(&path, &alice).await.expect(200);

    apply(
        &db,
        &next_version(&mug, |p| {
            p.price.amount_minor = 5000;
            p.name = "Renamed mug".into();
        }),
    )
    .await;

    assert_eq!(app.get(&path, &alice).await.expect(200), placed);
}

#[tokio::test]
async fn order_lists_page_newest_first() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let mug = product(&db, 1000, "USD").await;
    let mut placed = Vec::new();
    for quantity in 1..=5 {
        placed.push(place_order(&db, alice.user_id(), &[(&mug, quantity)]).await);
    }
    place_order(&db, Uuid::now_v7(), &[(&mug, 1)]).await;
    let newest_first: Vec<Value> = placed.iter().rev().map(|o| json!(o.id)).collect();

    let all = app.get("/api/orders", &alice).await.expect(200);
    assert_eq!(ids(&all), newest_first);
    assert_eq!(all["next_cursor"], Value::Null);
    assert_eq!(all["items"][0]["item_count"], 5);
    assert_eq!(all["items"][0]["total"], money(5000, "USD"));
    assert_eq!(all["items"][0]["status"], "pending");

    let mut seen = Vec::new();
    let mut path = "/api/orders?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let page = app.get(&path, &alice).await.expect(200);
        pages += 1;
        assert!(ids(&page).len() <= 2);
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/orders?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, newest_first);
}

#[tokio::test]
async fn order_lists_refuse_bad_limits_and_cursors() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();

    for limit in ["0", "101", "-1"] {
        let response = app.get(&format!("/api/orders?limit={limit}"), &alice).await;
        assert_eq!(response.status, 422, "limit={limit}: {:#}", response.body);
    }
    app.get("/api/orders?limit=0", &alice).await.expect_invalid("limit");
    app.get("/api/orders?limit=many", &alice).await.expect_invalid("limit");
    app.get("/api/orders?cursor=not-a-cursor", &alice)
        .await
        .expect_invalid("cursor");
    let foreign = shop_platform::pagination::encode_cursor(&"something else");
    app.get(&format!("/api/orders?cursor={foreign}"), &alice)
        .await
        .expect_invalid("cursor");
}

#[tokio::test]
async fn unknown_and_malformed_order_ids_are_not_found() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    for path in [
        format!("/api/orders/{}", Uuid::now_v7()),
        "/api/orders/not-an-id".into(),
    ] {
        app.get(&path, &alice).await.expect_problem(404, "not-found");
    }
}

#[tokio::test]
async fn an_idempotency_key_places_one_order_per_customer() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let alice = Uuid::now_v7();
    let mug = product(&db, 1000, "USD").await;
    let first = place_order(&db, alice, &[(&mug, 1)]).await;

    let mut retry = first.clone();
    retry.id = Uuid::now_v7();
    let error = store::orders::insert_order(&db, &retry).await.unwrap_err();
    assert!(
        is_constraint_violation(&error, "orders_user_idempotency_key"),
        "{error:?}"
    );

    let counts: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM order_items),
                (SELECT count(*) FROM order_status_history)",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(counts, (1, 1, 1), "a refused order leaves nothing behind");

    let mut someone_else = first.clone();
    someone_else.id = Uuid::now_v7();
    someone_else.user_id = Uuid::now_v7();
    store::orders::insert_order(&db, &someone_else).await.unwrap();
}
