//! The storefront through a real gateway in front of every service (search included): every
//! page of the demo catalog answers, unknown pages are real 404 pages, and nothing a product
//! name or a search query contains ever becomes markup.

use std::{net::SocketAddr, sync::Arc};

use clap::Parser;
use reqwest::{StatusCode, redirect::Policy};
use search_service::{embedded::EmbeddedIndex, index::SearchIndex};
use serde_json::{Value, json};
use shop_contracts::{Identity, Role, identity::IDENTITY_HEADER};
use shop_messaging::{jetstream::JetStreamBus, runtime::Messaging};
use shop_testkit::{RedisPrefix, TestBus, TestDatabase, eventually};
use sqlx::PgPool;
use uuid::Uuid;

const HOSTILE_NAME: &str = r#"<script>alert("name")</script> Kettle & "Co" <img src=x onerror=alert(1)>"#;

async fn database(label: &str, migrator: &sqlx::migrate::Migrator) -> (PgPool, TestDatabase) {
    let database = TestDatabase::create(label).await;
    let db = PgPool::connect(&database.url).await.unwrap();
    migrator.run(&db).await.unwrap();
    (db, database)
}

async fn serve(router: axum::Router) -> String {
    serve_on(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(), router)
}

fn serve_on(listener: tokio::net::TcpListener, router: axum::Router) -> String {
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .await
            .unwrap()
    });
    url
}

/// Removes the index directory when the test ends.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Shop {
    gateway: String,
    product: String,
    _keep: (
        Vec<TestDatabase>,
        Vec<Messaging<JetStreamBus>>,
        TestBus,
        RedisPrefix,
        TempDir,
    ),
}

async fn shop() -> Shop {
    let key = shop_testkit::identity_key();
    let bus = TestBus::jetstream().await;
    let (user_db, users) = database("sf_users", &user_service::MIGRATOR).await;
    let (product_db, products) = database("sf_products", &product_service::MIGRATOR).await;
    let (order_db, orders) = database("sf_orders", &order_service::MIGRATOR).await;
    let (search_db, search) = database("sf_search", &search_service::MIGRATOR).await;
    let dir = TempDir(std::env::temp_dir().join(format!("sf-search-{}", Uuid::now_v7().simple())));
    let index = SearchIndex::Embedded(Arc::new(EmbeddedIndex::open(&dir.0).unwrap()));
    user_service::seed::demo_accounts(&user_db).await.unwrap();
    product_service::seed::demo_catalog(&product_db, 40).await.unwrap();
    let user = serve(user_service::app(user_db.clone(), key.clone())).await;
    let product = serve(product_service::app(product_db.clone().into(), key.clone())).await;
    let order = serve(order_service::app(order_db.clone(), key.clone())).await;
    let search_url = serve(search_service::app(search_db.clone(), key, index.clone())).await;
    let messaging = vec![
        product_service::messaging(bus.bus.clone(), product_db, bus.namespace.clone()),
        order_service::messaging(
            bus.bus.clone(),
            &order_db.into(),
            bus.namespace.clone(),
            std::time::Duration::from_secs(300),
        ),
        search_service::messaging(bus.bus.clone(), search_db, bus.namespace.clone(), index),
    ];
    let redis = RedisPrefix::new();
    // Bound first: the listen address names the shop's own origin.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let listen_addr = listener.local_addr().unwrap().to_string();
    let config = gateway::Config::parse_from([
        "gateway",
        "--listen-addr",
        &listen_addr,
        "--user-upstreams",
        &user,
        "--product-upstreams",
        &product,
        "--order-upstreams",
        &order,
        "--search-upstreams",
        &search_url,
        "--redis-key-prefix",
        &redis.prefix,
        "--identity-key",
        shop_testkit::IDENTITY_KEY,
        "--stage",
        "test-stage",
    ]);
    let gateway = serve_on(listener, gateway::app(gateway::AppState::new(config).await.unwrap()));
    Shop {
        gateway,
        product,
        _keep: (vec![users, products, orders, search], messaging, bus, redis, dir),
    }
}

/// A browser's requests: asks for HTML, follows no redirects, keeps the session cookie.
struct Browser {
    client: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

impl Browser {
    fn new(base: &str) -> Self {
        Self {
            client: reqwest::Client::builder().redirect(Policy::none()).build().unwrap(),
            base: base.to_owned(),
            cookie: None,
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> (StatusCode, String, reqwest::header::HeaderMap) {
        let request = request.header("accept", "text/html");
        let request = match &self.cookie {
            Some(cookie) => request.header("cookie", cookie),
            None => request,
        };
        let response = request.send().await.unwrap();
        if let Some(set) = response.headers().get("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
            self.cookie = (!pair.ends_with('=')).then_some(pair);
        }
        let (status, headers) = (response.status(), response.headers().clone());
        (status, response.text().await.unwrap(), headers)
    }

    async fn get(&mut self, path: &str) -> (StatusCode, String) {
        let (status, body, _) = self.send(self.client.get(format!("{}{path}", self.base))).await;
        (status, body)
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> (StatusCode, String, reqwest::header::HeaderMap) {
        self.send(self.client.post(format!("{}{path}", self.base)).form(form))
            .await
    }
}

async fn create_hostile_product(shop: &Shop) -> String {
    let admin = Identity::new(Uuid::now_v7(), vec![Role::Admin]);
    let token = shop_testkit::identity_key().mint(&admin, chrono::Duration::minutes(5));
    let response = reqwest::Client::new()
        .post(format!("{}/api/products", shop.product))
        .header(IDENTITY_HEADER, token)
        .json(&json!({
            "sku": "EVIL-1", "name": HOSTILE_NAME, "description": "<b>bold</b> claims & more",
            "category": "kitchen", "price": {"amount_minor": 1234, "currency": "USD"}, "initial_stock": 3,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Signs the demo customer in through the sign-in form.
async fn sign_in_as_customer(browser: &mut Browser) {
    let (status, _, _) = browser
        .post(
            "/signin",
            &[("email", "customer@shop.local"), ("password", "customer-password-123")],
        )
        .await;
    assert_eq!(status, 303);
}

fn assert_no_markup_from(body: &str) {
    assert!(!body.contains("<script>alert"), "a script from data: {body}");
    assert!(!body.contains("<img src=x"), "an element from data: {body}");
    assert!(!body.contains("<b>bold"), "an element from data");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_of_the_demo_catalog_answers_and_escapes_what_it_shows() {
    let shop = shop().await;
    let evil = create_hostile_product(&shop).await;
    let mut browser = Browser::new(&shop.gateway);

    // Signed out.
    let (status, home) = browser.get("/").await;
    assert_eq!(status, 200);
    assert!(home.contains("/categories/kitchen"), "the departments are listed");
    let (_, page) = browser.get("/api/products?limit=100").await;
    let products: Value = serde_json::from_str(&page).unwrap();
    for product in products["items"].as_array().unwrap() {
        let id = product["id"].as_str().unwrap();
        let (status, _) = browser.get(&format!("/products/{id}")).await;
        assert_eq!(status, 200, "product {id}");
        let image = product["image_url"].as_str().unwrap_or_default();
        if !image.is_empty() {
            let (status, svg) = browser.get(image).await;
            assert_eq!(status, 200, "{image}");
            assert!(svg.starts_with("<svg"), "{image}");
        }
    }
    let (_, categories) = browser.get("/api/categories").await;
    for category in serde_json::from_str::<Value>(&categories).unwrap().as_array().unwrap() {
        let slug = category["slug"].as_str().unwrap();
        for sort in ["newest", "price_asc", "price_desc", "name"] {
            let (status, _) = browser.get(&format!("/categories/{slug}?sort={sort}")).await;
            assert_eq!(status, 200, "{slug} by {sort}");
        }
    }
    for path in ["/search?q=kettle", "/search?q=", "/signin", "/register", "/about"] {
        let (status, _) = browser.get(path).await;
        assert_eq!(status, 200, "{path}");
    }
    let (_, about) = browser.get("/about").await;
    assert!(about.contains("test-stage"), "the stage is shown");

    // The hostile product's name and description are text wherever they appear.
    let (status, page) = browser.get(&format!("/products/{evil}")).await;
    assert_eq!(status, 200);
    assert_no_markup_from(&page);
    // askama writes `<` as `&#60;` and `"` as `&#34;`.
    assert!(
        page.contains("&#60;script&#62;alert(&#34;name&#34;)&#60;/script&#62;"),
        "the name is shown as text"
    );
    let (_, listing) = browser.get("/categories/kitchen?sort=price_asc").await;
    assert_no_markup_from(&listing);
    eventually("search finds the hostile product", async || {
        browser.get("/search?q=kettle+script").await.1.contains("Kettle")
    })
    .await;
    let (_, results) = browser.get("/search?q=kettle+script").await;
    assert_no_markup_from(&results);
    // A hostile query, in the search box, the heading and every link.
    let (status, results) = browser
        .get("/search?q=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E&min_price=%22%3E%3Cb%3E")
        .await;
    assert_eq!(status, 200);
    assert!(!results.contains("<script>alert(1)"), "{results}");
    assert!(!results.contains("\"><b>"));

    // Not found: real pages with a 404 status, the shop's frame included.
    for path in [
        "/no-such-page",
        "/products/not-an-id",
        &format!("/products/{}", Uuid::now_v7()),
        "/categories/no-such-category",
        "/images/products/kitchen/../x.svg",
    ] {
        let (status, body) = browser.get(path).await;
        assert_eq!(status, 404, "{path}");
        if !path.starts_with("/images") {
            assert!(body.contains("Page not found"), "{path}: {body}");
        }
    }
    // The API keeps answering JSON; the storefront only adds pages.
    let (status, body) = browser.get("/api/nothing-here").await;
    assert_eq!(status, 404);
    assert!(body.starts_with('{'));

    // Signed in: the account's pages, the cart and checkout, and an order.
    let (status, _) = browser.get("/cart").await;
    assert_eq!(status, 303, "the cart needs an account");
    let (status, _, _) = browser
        .post(
            "/signin",
            &[
                ("email", "customer@shop.local"),
                ("password", "customer-password-123"),
                ("next", "/cart"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let (status, _, _) = browser
        .post("/cart/items", &[("product_id", &evil), ("quantity", "1")])
        .await;
    assert_eq!(status, 303);
    for path in ["/", "/cart", "/checkout", "/account", "/orders"] {
        let (status, body) = browser.get(path).await;
        assert_eq!(status, 200, "{path}");
        assert_no_markup_from(&body);
    }
    let (_, checkout) = browser.get("/checkout").await;
    let key = checkout
        .split("name=\"idempotency_key\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let form = [
        ("idempotency_key", key.as_str()),
        ("address", "new"),
        ("recipient", "<i>Ada</i>"),
        ("line1", "1 Main Street"),
        ("city", "Springfield"),
        ("postal_code", "12345"),
        ("country", "us"),
        ("payment_token", "tok_visa"),
    ];
    let (status, _, headers) = browser.post("/checkout", &form).await;
    assert_eq!(status, 303);
    let order_page = headers["location"].to_str().unwrap().to_owned();
    let (status, _, again) = browser.post("/checkout", &form).await;
    assert_eq!(
        (status, again["location"].to_str().unwrap()),
        (StatusCode::SEE_OTHER, order_page.as_str()),
        "one order per key"
    );
    let (status, order) = browser.get(&order_page).await;
    assert_eq!(status, 200);
    assert!(order.contains("&#60;i&#62;Ada&#60;/i&#62;"), "{order}");
    let (status, block) = browser.get(&format!("{order_page}/status")).await;
    assert_eq!(status, 200);
    assert!(block.contains("id=\"order-status\""));
    let (_, orders) = browser.get("/api/orders").await;
    assert_eq!(
        serde_json::from_str::<Value>(&orders).unwrap()["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (status, _) = browser.get(&format!("/orders/{}", Uuid::now_v7())).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_from_other_sites_are_refused_and_bad_forms_are_4xx_pages() {
    let shop = shop().await;
    let mut browser = Browser::new(&shop.gateway);
    sign_in_as_customer(&mut browser).await;
    let forged = browser
        .client
        .post(format!("{}/signout", shop.gateway))
        .header("sec-fetch-site", "cross-site");
    let (status, body, _) = browser.send(forged).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("Not allowed"));
    let (status, _) = browser.get("/account").await;
    assert_eq!(status, 200, "still signed in");

    let (status, body, _) = browser
        .post("/cart/items", &[("product_id", "nope"), ("quantity", "x")])
        .await;
    assert_eq!(status, 400);
    assert!(body.contains("<html"), "a page, not a bare error");
    let (status, body, _) = browser
        .post(
            "/signin",
            &[("email", "customer@shop.local"), ("password", "wrong-password-here")],
        )
        .await;
    assert_eq!(status, 401);
    assert!(body.contains("do not match"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_display_name_is_edited_on_the_account_page() {
    let shop = shop().await;
    let mut browser = Browser::new(&shop.gateway);
    sign_in_as_customer(&mut browser).await;

    let (status, _, headers) = browser
        .post("/account/profile", &[("display_name", "  Ada <Lovelace>  ")])
        .await;
    assert_eq!(
        (status, headers["location"].to_str().unwrap()),
        (StatusCode::SEE_OTHER, "/account")
    );
    let (_, me) = browser.get("/api/users/me").await;
    assert_eq!(
        serde_json::from_str::<Value>(&me).unwrap()["display_name"],
        "Ada <Lovelace>",
        "stored trimmed"
    );
    let (status, account) = browser.get("/account").await;
    assert_eq!(status, 200);
    assert!(account.contains("Ada &#60;Lovelace&#62;"), "shown, escaped: {account}");

    // A blank name is refused with the field's error on the page, and nothing changes.
    let (status, page, _) = browser.post("/account/profile", &[("display_name", "   ")]).await;
    assert_eq!(status, 422);
    assert!(page.contains("<html"), "a page, not a bare error");
    assert!(
        page.contains(r#"<p class="field-error" id="display_name-error">"#),
        "the field's error is shown: {page}"
    );
    let (_, me) = browser.get("/api/users/me").await;
    assert_eq!(
        serde_json::from_str::<Value>(&me).unwrap()["display_name"],
        "Ada <Lovelace>"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_address_is_checked_out_as_it_is_listed_and_a_new_one_is_saved_once() {
    let shop = shop().await;
    let mut browser = Browser::new(&shop.gateway);
    sign_in_as_customer(&mut browser).await;
    let api = |path: &str| format!("{}/api{path}", shop.gateway);
    let (_, products) = browser.get("/api/products?limit=1").await;
    let product = serde_json::from_str::<Value>(&products).unwrap()["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let address = json!({
        "recipient": "Ada Lovelace", "line1": "12 St James's Square", "city": "London",
        "region": "Greater London", "postal_code": "sw1y 4jh", "country": "GB", "phone": "+44 20 7946 0958",
    });
    let (status, _, _) = browser
        .send(browser.client.post(api("/users/me/addresses")).json(&address))
        .await;
    assert_eq!(status, 201);
    let (_, listed) = browser.get("/api/users/me/addresses").await;
    let listed: Value = serde_json::from_str(&listed).unwrap();
    let saved_id = listed[0]["id"].as_str().unwrap().to_owned();

    // Through the API: the address as listed, less its id and times, is a checkout's address.
    let mut saved = listed[0].clone();
    for field in ["id", "created_at", "updated_at"] {
        saved.as_object_mut().unwrap().remove(field);
    }
    put_in_cart(&mut browser, &api("/cart/items"), &product).await;
    let checkout = json!({"shipping_address": saved, "payment_token": "tok_visa"});
    let (status, order, _) = browser
        .send(
            browser
                .client
                .post(api("/orders"))
                .header("idempotency-key", Uuid::now_v7().to_string())
                .json(&checkout),
        )
        .await;
    assert_eq!(status, 201, "{order}");
    let shipped_to = &serde_json::from_str::<Value>(&order).unwrap()["shipping_address"];
    saved.as_object_mut().unwrap().remove("line2");
    assert_eq!(*shipped_to, saved, "every part as saved (the absent line left out)");

    // Through the storefront: choosing the saved address ships to all of it.
    put_in_cart(&mut browser, &api("/cart/items"), &product).await;
    let key = Uuid::now_v7().to_string();
    let form = [
        ("idempotency_key", key.as_str()),
        ("address", saved_id.as_str()),
        ("payment_token", "tok_visa"),
    ];
    let (status, _, headers) = browser.post("/checkout", &form).await;
    assert_eq!(status, 303);
    let order_page = headers["location"].to_str().unwrap().to_owned();
    let (_, page) = browser.get(&order_page).await;
    assert!(page.contains("SW1Y 4JH London, Greater London"), "{page}");
    let (_, order) = browser.get(&format!("/api{order_page}")).await;
    assert_eq!(
        serde_json::from_str::<Value>(&order).unwrap()["shipping_address"],
        saved
    );

    // A new address typed at checkout is saved as checkout took it, once however often the
    // form is sent.
    put_in_cart(&mut browser, &api("/cart/items"), &product).await;
    let key = Uuid::now_v7().to_string();
    let form = [
        ("idempotency_key", key.as_str()),
        ("address", "new"),
        ("recipient", "Grace Hopper"),
        ("line1", "1 Navy Way"),
        ("line2", "  "),
        ("city", "Arlington"),
        ("postal_code", "22202"),
        ("country", "us"),
        ("save_address", "on"),
        ("payment_token", "tok_visa"),
    ];
    for _ in 0..2 {
        let (status, _, _) = browser.post("/checkout", &form).await;
        assert_eq!(status, 303);
    }
    let (_, listed) = browser.get("/api/users/me/addresses").await;
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed:#}");
    assert_eq!(
        (&listed[1]["recipient"], &listed[1]["country"], &listed[1]["line2"]),
        (&json!("Grace Hopper"), &json!("US"), &Value::Null)
    );
}

/// Puts one of `product` into the cart, once the order service's replica has it.
async fn put_in_cart(browser: &mut Browser, cart_items: &str, product: &str) {
    let item = json!({"product_id": product, "quantity": 1});
    eventually("the cart takes the product", async || {
        let request = browser.client.post(cart_items).json(&item);
        browser.send(request).await.0 == StatusCode::OK
    })
    .await;
}
