//! `POST /api/orders`: checkout places a pending order from the cart, empties the cart and
//! publishes `order.placed` in one transaction; the `Idempotency-Key` header makes it safe to
//! retry; refused checkouts write nothing.

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use shop_contracts::events::{self, OrderPlaced};
use shop_testkit::{Actor, TestApp, assert_rejected, malformed_bodies, outbox_events};
use uuid::Uuid;

use crate::helpers::{
    apply, cart_lines, carts, checkout, checkout_body, fill_cart, next_version, order_counts, product,
};

fn money(amount_minor: i64, currency: &str) -> Value {
    json!({"amount_minor": amount_minor, "currency": currency})
}

#[tokio::test]
async fn checkout_places_a_pending_order_empties_the_cart_and_publishes_order_placed() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let mug = product(&db, 1999, "USD").await;
    let pen = product(&db, 250, "USD").await;
    fill_cart(&app, &alice, &[(&mug, 2), (&pen, 4)]).await;

    let response = checkout(&app, &alice, Some("checkout-1"), &checkout_body("tok_visa")).await;
    let headers = response.headers.clone();
    let order = response.expect(201);

    let id: Uuid = serde_json::from_value(order["id"].clone()).unwrap();
    assert_eq!(headers["location"], format!("/api/orders/{id}").as_str());
    assert!(headers.get("idempotent-replayed").is_none());
    assert_eq!(order["status"], "pending");
    assert_eq!(order["user_id"], json!(alice.user_id()));
    assert_eq!(order["total"], money(4998, "USD"));
    assert_eq!(order["shipping_address"], checkout_body("x")["shipping_address"]);
    assert_eq!(
        order["items"],
        json!([
            {"product_id": mug.id, "sku": mug.sku, "name": mug.name, "unit_price": money(1999, "USD"),
             "quantity": 2, "line_total": money(3998, "USD")},
            {"product_id": pen.id, "sku": pen.sku, "name": pen.name, "unit_price": money(250, "USD"),
             "quantity": 4, "line_total": money(1000, "USD")},
        ])
    );
    assert_eq!(order["history"].as_array().unwrap().len(), 1);
    assert!(order.get("payment_token").is_none(), "the token is never shown");
    assert_eq!(app.get(&format!("/api/orders/{id}"), &alice).await.expect(200), order);

    assert!(cart_lines(&db, alice.user_id()).await.is_empty(), "the cart is empty");
    let stored: (String, String) = sqlx::query_as("SELECT payment_token, idempotency_key FROM orders WHERE id = $1")
        .bind(id)
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(stored, ("tok_visa".into(), "checkout-1".into()));

    let events = outbox_events(&db).await;
    assert_eq!(events.len(), 1);
    let placed = &events[0];
    assert_eq!(
        (placed.source.as_str(), placed.aggregate_id, placed.aggregate_version),
        ("order", id, 1)
    );
    assert_eq!(placed.causation_id, None);
    assert_eq!(
        placed.decode::<OrderPlaced>().unwrap(),
        OrderPlaced {
            order_id: id,
            user_id: alice.user_id(),
            lines: vec![
                events::OrderLine {
                    product_id: mug.id,
                    quantity: 2
                },
                events::OrderLine {
                    product_id: pen.id,
                    quantity: 4
                },
            ],
            total: mug
                .price
                .times(2)
                .unwrap()
                .checked_add(pen.price.times(4).unwrap())
                .unwrap(),
        }
    );
}

#[tokio::test]
async fn the_same_key_and_body_return_the_same_order_once_placed() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let mug = product(&db, 1000, "USD").await;
    fill_cart(&app, &alice, &[(&mug, 1)]).await;
    let body = checkout_body("tok_visa");

    let first = checkout(&app, &alice, Some("retry-me"), &body).await;
    let placed = first.expect(201);
    let counts = order_counts(&db).await;
    // The cart is empty now, yet the retry is answered from the order, not refused.
    let again = checkout(&app, &alice, Some("retry-me"), &body).await;
    let headers = again.headers.clone();

    assert_eq!(again.expect(200), placed);
    assert_eq!(headers["idempotent-replayed"], "true");
    assert_eq!(
        counts,
        (1, 1, 1, 1),
        "one order, one line, one history row, one outbox row"
    );
    assert_eq!(order_counts(&db).await, counts, "a replay writes nothing");
    // Whitespace around the token does not make it another request: the body is compared as parsed.
    let padded = json!({"shipping_address": body["shipping_address"], "payment_token": "  tok_visa "});
    checkout(&app, &alice, Some("retry-me"), &padded).await.expect(200);
    assert_eq!(order_counts(&db).await, counts);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_refused() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let mug = product(&db, 1000, "USD").await;
    fill_cart(&app, &alice, &[(&mug, 1)]).await;
    checkout(&app, &alice, Some("key-1"), &checkout_body("tok_visa"))
        .await
        .expect(201);
    fill_cart(&app, &alice, &[(&mug, 3)]).await;
    let (counts, cart) = (order_counts(&db).await, carts(&db).await);

    let mut moved = checkout_body("tok_visa");
    moved["shipping_address"]["city"] = "Boston".into();
    for other in [checkout_body("tok_other"), moved] {
        checkout(&app, &alice, Some("key-1"), &other)
            .await
            .expect_invalid("Idempotency-Key");
    }

    assert_eq!(order_counts(&db).await, counts);
    assert_eq!(carts(&db).await, cart, "the cart is untouched");
    // Keys are per customer: Bob's "key-1" is a new order.
    let bob = Actor::stranger();
    fill_cart(&app, &bob, &[(&mug, 1)]).await;
    checkout(&app, &bob, Some("key-1"), &checkout_body("tok_other"))
        .await
        .expect(201);
}

#[tokio::test]
async fn checkout_needs_one_valid_idempotency_key() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let mug = product(&db, 1000, "USD").await;
    fill_cart(&app, &alice, &[(&mug, 1)]).await;
    let before = carts(&db).await;
    let body = checkout_body("tok_visa");

    checkout(&app, &alice, None, &body)
        .await
        .expect_invalid("Idempotency-Key");
    let too_long = "k".repeat(256);
    for bad in ["has space", too_long.as_str(), "tab\tinside"] {
        checkout(&app, &alice, Some(bad), &body)
            .await
            .expect_invalid("Idempotency-Key");
    }
    let non_ascii = reqwest::header::HeaderValue::from_bytes("zoë".as_bytes()).unwrap();
    let response = reqwest::Client::new()
        .post(app.url("/api/orders"))
        .header(
            shop_contracts::identity::IDENTITY_HEADER,
            shop_testkit::token(&shop_contracts::Identity::new(
                alice.user_id(),
                vec![shop_contracts::Role::Customer],
            )),
        )
        .header("Idempotency-Key", non_ascii)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);

    assert_eq!(order_counts(&db).await, (0, 0, 0, 0));
    assert_eq!(carts(&db).await, before);
    // The longest key there is works.
    checkout(&app, &alice, Some(&"k".repeat(255)), &body).await.expect(201);
}

#[tokio::test]
async fn an_empty_cart_cannot_be_checked_out() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();

    let refused = checkout(&app, &alice, Some("k"), &checkout_body("tok_visa")).await;

    let problem = refused.expect_invalid("cart");
    assert!(problem["detail"].as_str().unwrap().contains("empty"), "{problem:#}");
    assert_eq!(order_counts(&db).await, (0, 0, 0, 0));
    assert_eq!(carts(&db).await, (vec![], vec![]), "not even a cart was created");
}

#[tokio::test]
async fn a_product_no_longer_for_sale_cannot_be_checked_out() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let mug = product(&db, 1000, "USD").await;
    let pen = product(&db, 100, "USD").await;
    fill_cart(&app, &alice, &[(&mug, 1), (&pen, 2)]).await;
    apply(&db, &next_version(&mug, |p| p.active = false)).await;
    let before = carts(&db).await;

    let refused = checkout(&app, &alice, Some("k"), &checkout_body("tok_visa")).await;

    let problem = refused.expect_invalid("cart");
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains(&mug.id.to_string()) && detail.contains(&mug.name),
        "{problem:#}"
    );
    assert_eq!(order_counts(&db).await, (0, 0, 0, 0));
    assert_eq!(carts(&db).await, before, "the cart keeps both products");
    // The same key works once the cart is fixed: the refused request stored nothing.
    app.delete(&format!("/api/cart/items/{}", mug.id), &alice)
        .await
        .expect(204);
    checkout(&app, &alice, Some("k"), &checkout_body("tok_visa"))
        .await
        .expect(201);
}

#[tokio::test]
async fn checkout_prices_from_the_replica_as_it_is_now() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let mug = product(&db, 1000, "USD").await;
    fill_cart(&app, &alice, &[(&mug, 3)]).await;
    apply(&db, &next_version(&mug, |p| p.price.amount_minor = 700)).await;

    let order = checkout(&app, &alice, Some("k"), &checkout_body("tok_visa"))
        .await
        .expect(201);

    assert_eq!(order["items"][0]["unit_price"], money(700, "USD"));
    assert_eq!(order["total"], money(2100, "USD"));
}

#[tokio::test]
async fn bad_checkout_bodies_are_refused_and_change_nothing() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let mug = product(&db, 1000, "USD").await;
    fill_cart(&app, &alice, &[(&mug, 1)]).await;
    let before = carts(&db).await;

    for (content_type, bytes, status) in malformed_bodies() {
        let response = app
            .send_raw(Method::POST, "/api/orders", &alice, Some((content_type, bytes)))
            .await;
        assert_rejected(response, status);
    }
    let address = checkout_body("x")["shipping_address"].clone();
    let mut bad_country = address.clone();
    bad_country["country"] = "usa".into();
    let mut long_city = address.clone();
    long_city["city"] = "c".repeat(101).into();
    let cases = [
        (json!({"shipping_address": address}), "payment_token"),
        (json!({"payment_token": "tok_visa"}), "shipping_address"),
        (
            json!({"shipping_address": address, "payment_token": ""}),
            "payment_token",
        ),
        (
            json!({"shipping_address": address, "payment_token": "   "}),
            "payment_token",
        ),
        (
            json!({"shipping_address": address, "payment_token": "t".repeat(65)}),
            "payment_token",
        ),
        (
            json!({"shipping_address": address, "payment_token": 42}),
            "payment_token",
        ),
        (
            json!({"shipping_address": bad_country, "payment_token": "tok"}),
            "shipping_address.country",
        ),
        (
            json!({"shipping_address": long_city, "payment_token": "tok"}),
            "shipping_address.city",
        ),
        (
            json!({"shipping_address": "home", "payment_token": "tok"}),
            "shipping_address",
        ),
        (
            json!({"shipping_address": address, "payment_token": "tok", "coupon": "FREE"}),
            "coupon",
        ),
    ];
    for (body, field) in cases {
        checkout(&app, &alice, Some(&Uuid::now_v7().to_string()), &body)
            .await
            .expect_invalid(field);
    }

    assert_eq!(order_counts(&db).await, (0, 0, 0, 0));
    assert_eq!(carts(&db).await, before);
}

#[tokio::test]
async fn a_saved_address_is_taken_as_the_user_service_lists_it() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let mug = product(&db, 1000, "USD").await;
    fill_cart(&app, &alice, &[(&mug, 1)]).await;
    // `GET /api/users/me/addresses` less the id and times: every part, absent ones as null.
    let saved = json!({
        "recipient": "Ada Lovelace", "line1": "12 St James's Square", "line2": null,
        "city": "London", "region": "Greater London", "postal_code": "SW1Y 4JH", "country": "GB",
        "phone": "+44 20 7946 0958",
    });

    let body = json!({"shipping_address": saved, "payment_token": "tok_visa"});
    let order = checkout(&app, &alice, Some("saved"), &body).await.expect(201);

    let mut shipped_to = saved;
    shipped_to.as_object_mut().unwrap().remove("line2");
    assert_eq!(order["shipping_address"], shipped_to, "absent parts are left out");
    let id = order["id"].as_str().unwrap();
    let stored = app.get(&format!("/api/orders/{id}"), &alice).await.expect(200);
    assert_eq!(stored["shipping_address"], shipped_to);
}

#[tokio::test]
async fn an_unassigned_country_is_refused_with_every_other_bad_field_at_once() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let mug = product(&db, 1000, "USD").await;
    fill_cart(&app, &alice, &[(&mug, 1)]).await;
    let mut body = checkout_body("tok_visa");
    body["shipping_address"]["country"] = "ZZ".into();

    let problem = checkout(&app, &alice, Some("zz"), &body)
        .await
        .expect_invalid("shipping_address.country");
    let errors = problem["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{problem:#}");
    assert!(
        errors[0]["message"].as_str().unwrap().contains("ISO 3166-1"),
        "{problem:#}"
    );

    body["shipping_address"]["postal_code"] = "1".into();
    body["shipping_address"]["phone"] = "call me".into();
    body["payment_token"] = "".into();
    let problem = checkout(&app, &alice, Some("zz"), &body)
        .await
        .expect_problem(422, "validation");
    let mut fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| error["field"].as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "payment_token",
            "shipping_address.country",
            "shipping_address.phone",
            "shipping_address.postal_code"
        ]
    );
    assert_eq!(order_counts(&db).await, (0, 0, 0, 0));
}

#[tokio::test]
async fn concurrent_checkouts_with_one_key_place_one_order() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let mug = product(&db, 1000, "USD").await;
    fill_cart(&app, &alice, &[(&mug, 2)]).await;
    let body = checkout_body("tok_visa");

    let responses = join_all((0..8).map(|_| checkout(&app, &alice, Some("double-click"), &body))).await;

    let mut statuses: Vec<u16> = responses.iter().map(|r| r.status.as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 200, 201]);
    let ids: Vec<&Value> = responses.iter().map(|r| &r.body["id"]).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(order_counts(&db).await, (1, 1, 1, 1));
}

#[tokio::test]
async fn concurrent_checkouts_with_one_key_and_two_bodies_place_one_order_and_refuse_the_other_body() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let alice = Actor::stranger();
    let mug = product(&db, 1000, "USD").await;
    fill_cart(&app, &alice, &[(&mug, 2)]).await;
    let bodies = [checkout_body("tok_visa"), checkout_body("tok_other")];

    let responses = join_all((0..8).map(|i| checkout(&app, &alice, Some("double-click"), &bodies[i % 2]))).await;

    // Whichever body claimed the key first placed the order; its copies get that order, the
    // other body's requests a clear 422 — none of them waits forever or places a second order.
    let placed: Vec<usize> = (0..8).filter(|&i| responses[i].status == 201).collect();
    assert_eq!(
        placed.len(),
        1,
        "{:?}",
        responses.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let (winner, order_id) = (placed[0] % 2, responses[placed[0]].body["id"].clone());
    for (i, response) in responses.into_iter().enumerate().filter(|(i, _)| *i != placed[0]) {
        if i % 2 == winner {
            assert_eq!(response.expect(200)["id"], order_id);
        } else {
            response.expect_invalid("Idempotency-Key");
        }
    }
    assert_eq!(order_counts(&db).await, (1, 1, 1, 1));
    let stored: String = sqlx::query_scalar("SELECT payment_token FROM orders")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(stored, bodies[winner]["payment_token"]);
}
