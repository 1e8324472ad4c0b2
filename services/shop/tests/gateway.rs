//! The whole system behind two gateway instances sharing Redis: the journey a shopper makes,
//! and what the gateway promises about sessions and identity.

use std::net::SocketAddr;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shop_contracts::{Identity, Role, identity::IDENTITY_HEADER};
use shop_messaging::runtime::Messaging;
use shop_testkit::{RedisPrefix, TestBus, TestDatabase, eventually};
use sqlx::PgPool;
use uuid::Uuid;

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .await
            .unwrap()
    });
    url
}

struct Shop {
    gateways: [String; 2],
    product_db: PgPool,
    messaging: Vec<Messaging<shop_messaging::jetstream::JetStreamBus>>,
    _keep: (Vec<TestDatabase>, TestBus, RedisPrefix),
}

async fn shop() -> Shop {
    let key = shop_testkit::identity_key();
    let bus = TestBus::jetstream().await;
    let (user_db, users) = TestDatabase::migrated("gw_users", &user_service::MIGRATOR).await;
    let (product_db, products) = TestDatabase::migrated("gw_products", &product_service::MIGRATOR).await;
    let (order_db, orders) = TestDatabase::migrated("gw_orders", &order_service::MIGRATOR).await;
    let user = serve(user_service::app(user_db.clone(), key.clone())).await;
    let product = serve(product_service::app(product_db.clone().into(), key.clone())).await;
    let order = serve(order_service::app(order_db.clone(), key)).await;
    let messaging = vec![
        user_service::messaging(bus.bus.clone(), user_db.clone(), bus.namespace.clone()),
        product_service::messaging(bus.bus.clone(), product_db.clone(), bus.namespace.clone()),
        order_service::messaging(
            bus.bus.clone(),
            &order_db.into(),
            bus.namespace.clone(),
            std::time::Duration::from_secs(300),
        ),
    ];
    user_service::seed::demo_accounts(&user_db).await.unwrap();
    product_service::seed::demo_catalog(&product_db, 50).await.unwrap();

    let redis = RedisPrefix::new();
    let mut gateways = Vec::new();
    for _ in 0..2 {
        let config: gateway::Config = shop_testkit::config_from_args([
            "gateway",
            "--redis-url",
            &redis.url,
            "--user-upstreams",
            &user,
            "--product-upstreams",
            &product,
            "--order-upstreams",
            &order,
            "--redis-key-prefix",
            &redis.prefix,
            "--identity-key",
            shop_testkit::IDENTITY_KEY,
        ]);
        gateways.push(serve(gateway::app(gateway::AppState::new(config).await.unwrap())).await);
    }
    Shop {
        gateways: gateways.try_into().unwrap(),
        product_db,
        messaging,
        _keep: (vec![users, products, orders], bus, redis),
    }
}

/// A browser of sorts: keeps the session cookie it was given.
struct Browser {
    client: reqwest::Client,
    cookie: Option<String>,
}

impl Browser {
    fn new() -> Self {
        Self {
            client: reqwest::Client::new(),
            cookie: None,
        }
    }

    async fn send(
        &mut self,
        method: Method,
        url: String,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, url);
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        if let Some(set) = response.headers().get("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
            // An emptied cookie (sign-out) is one the browser forgets.
            self.cookie = (!pair.ends_with('=')).then_some(pair);
        }
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&mut self, url: String) -> (StatusCode, Value) {
        self.send(Method::GET, url, None, &[]).await
    }

    async fn post(&mut self, url: String, body: Value) -> (StatusCode, Value) {
        self.send(Method::POST, url, Some(body), &[]).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shopper_registers_signs_in_browses_and_checks_out_through_the_gateway() {
    let shop = shop().await;
    let [gw, other] = &shop.gateways;
    let mut browser = Browser::new();

    let (status, _) = browser
        .post(
            format!("{gw}/api/users"),
            json!({"email": "ada@example.com", "password": "correct horse battery", "display_name": "Ada"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, session) = browser
        .post(
            format!("{gw}/api/auth/login"),
            json!({"email": "ada@example.com", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(session["authenticated"], true);

    let (_, page) = browser.get(format!("{gw}/api/products?limit=3&sort=price_asc")).await;
    let product = page["items"][0]["id"].as_str().unwrap().to_owned();
    eventually("the cart accepts the product", async || {
        browser
            .post(
                format!("{gw}/api/cart/items"),
                json!({"product_id": product, "quantity": 1}),
            )
            .await
            .0
            == 200
    })
    .await;
    // The other gateway instance knows the same session.
    let (status, cart) = browser.get(format!("{other}/api/cart")).await;
    assert_eq!(status, 200);
    assert_eq!(cart["items"][0]["product_id"], product);

    let before = stock_levels(&shop.product_db, &product).await;
    let checkout = json!({
        "shipping_address": {"recipient": "Ada", "line1": "12 St James's Square", "city": "London",
                             "postal_code": "SW1Y 4JH", "country": "GB"},
        "payment_token": "tok_visa",
    });
    let (status, order) = browser
        .send(
            Method::POST,
            format!("{other}/api/orders"),
            Some(checkout),
            &[("Idempotency-Key", "first-order")],
        )
        .await;
    assert_eq!(status, 201, "{order}");
    let order_url = format!("{gw}/api/orders/{}", order["id"].as_str().unwrap());
    eventually("the order is confirmed", async || {
        browser.get(order_url.clone()).await.1["status"] == "confirmed"
    })
    .await;
    // The product service applies `order.confirmed` on its own time: the unit it held moves
    // from reserved to sold, and on_hand + sold stays what was put into stock.
    eventually("the product service has sold the unit", async || {
        stock_levels(&shop.product_db, &product).await
            == StockLevels {
                on_hand: before.on_hand - 1,
                reserved: before.reserved,
                sold: before.sold + 1,
            }
    })
    .await;
    for messaging in shop.messaging {
        messaging.stop().await;
    }
}

#[tokio::test]
async fn sessions_are_renewed_at_sign_in_and_gone_after_sign_out() {
    let shop = shop().await;
    let [gw, other] = &shop.gateways;
    let mut browser = Browser::new();
    let credentials =
        json!({"email": user_service::seed::CUSTOMER_EMAIL, "password": user_service::seed::CUSTOMER_PASSWORD});

    // A session that exists before sign-in (planted, say) is not the one after it.
    browser.post(format!("{gw}/api/auth/login"), credentials.clone()).await;
    let before = browser.cookie.clone().unwrap();
    browser.post(format!("{gw}/api/auth/login"), credentials).await;
    let after = browser.cookie.clone().unwrap();
    assert_ne!(before, after, "the session id changes at sign-in");
    let mut attacker = Browser {
        client: reqwest::Client::new(),
        cookie: Some(before),
    };
    assert_eq!(
        attacker.get(format!("{gw}/api/cart")).await.0,
        401,
        "the old id is worthless"
    );

    assert_eq!(
        browser.get(format!("{other}/api/auth/session")).await.1["authenticated"],
        true
    );
    let stolen = browser.cookie.clone();
    let (status, _) = browser.post(format!("{other}/api/auth/logout"), json!({})).await;
    assert_eq!(status, 204);
    let mut replay = Browser {
        client: reqwest::Client::new(),
        cookie: stolen,
    };
    assert_eq!(
        replay.get(format!("{gw}/api/cart")).await.0,
        401,
        "a signed-out session is gone everywhere"
    );
    assert_eq!(
        replay.get(format!("{gw}/api/auth/session")).await.1["authenticated"],
        false
    );
    for messaging in shop.messaging {
        messaging.stop().await;
    }
}

#[tokio::test]
async fn a_password_change_ends_the_other_sessions_and_a_role_change_all_of_them() {
    let shop = shop().await;
    let [gw, other] = &shop.gateways;
    let (email, password) = ("grace@example.com", "a long enough passphrase");
    let mut here = Browser::new();
    let (status, registered) = here
        .post(
            format!("{gw}/api/users"),
            json!({"email": email, "password": password, "display_name": "Grace"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    let credentials = json!({"email": email, "password": password});
    let (mut here, mut elsewhere) = (Browser::new(), Browser::new());
    here.post(format!("{gw}/api/auth/login"), credentials.clone()).await;
    elsewhere.post(format!("{other}/api/auth/login"), credentials).await;
    assert_eq!(elsewhere.get(format!("{gw}/api/users/me")).await.0, StatusCode::OK);

    let new_password = "another long passphrase";
    let (status, body) = here
        .send(
            Method::PATCH,
            format!("{gw}/api/users/me"),
            Some(json!({"current_password": password, "new_password": new_password})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        here.get(format!("{other}/api/users/me")).await.0,
        StatusCode::OK,
        "this session stays"
    );
    assert_eq!(
        elsewhere.get(format!("{gw}/api/users/me")).await.0,
        StatusCode::UNAUTHORIZED,
        "the other session is over"
    );
    assert_eq!(
        elsewhere.get(format!("{other}/api/auth/session")).await.1["authenticated"],
        false
    );

    // An administrator makes the user an admin: all of the user's sessions end.
    let mut admin = Browser::new();
    admin
        .post(
            format!("{gw}/api/auth/login"),
            json!({"email": user_service::seed::ADMIN_EMAIL, "password": user_service::seed::ADMIN_PASSWORD}),
        )
        .await;
    let user_id = registered["id"].as_str().unwrap();
    let (status, body) = admin
        .send(
            Method::PUT,
            format!("{gw}/api/users/{user_id}/role"),
            Some(json!({"role": "admin"})),
            &[],
        )
        .await;
    assert_eq!(
        (status, body["role"].as_str()),
        (StatusCode::OK, Some("admin")),
        "{body}"
    );
    assert_eq!(here.get(format!("{gw}/api/users/me")).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        admin.get(format!("{gw}/api/users/me")).await.0,
        StatusCode::OK,
        "the admin's own session"
    );
    let mut again = Browser::new();
    let (status, session) = again
        .post(
            format!("{other}/api/auth/login"),
            json!({"email": email, "password": new_password}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(session["roles"], json!(["admin"]), "signed in again, with the new role");
    for messaging in shop.messaging {
        messaging.stop().await;
    }
}

#[tokio::test]
async fn identity_headers_sent_by_clients_are_stripped_and_services_refuse_the_request() {
    let shop = shop().await;
    let [gw, _] = &shop.gateways;
    // Even a correctly signed token (a leaked one, say) is not accepted from outside.
    let admin = shop_testkit::token(&Identity::new(Uuid::now_v7(), vec![Role::Admin]));
    let mut browser = Browser::new();
    for token in [admin.as_str(), "v1.forged.token"] {
        let (status, body) = browser
            .send(Method::GET, format!("{gw}/api/cart"), None, &[(IDENTITY_HEADER, token)])
            .await;
        assert_eq!(status, 401, "{body}");
    }
    let (status, _) = browser
        .send(
            Method::POST,
            format!("{gw}/api/categories"),
            Some(json!({"slug": "x", "name": "X"})),
            &[(IDENTITY_HEADER, admin.as_str())],
        )
        .await;
    assert_eq!(status, 401);
    for messaging in shop.messaging {
        messaging.stop().await;
    }
}

#[derive(Debug, PartialEq, sqlx::FromRow)]
struct StockLevels {
    on_hand: i32,
    reserved: i32,
    sold: i32,
}

async fn stock_levels(product_db: &sqlx::PgPool, product: &str) -> StockLevels {
    sqlx::query_as("SELECT on_hand, reserved, sold FROM inventory WHERE product_id = $1::uuid")
        .bind(product)
        .fetch_one(product_db)
        .await
        .unwrap()
}
