//! The gateway as a whole, over real sockets: real upstream HTTP servers on loopback, real
//! Redis. (The whole system behind it is tested in `services/shop/tests/gateway.rs`.)

use std::{net::SocketAddr, time::Duration};

use axum::{
    Router,
    extract::Request,
    http::HeaderMap,
    routing::{any, get, post},
};
use gateway::session::{RENEWED_AT, SESSION_COOKIE};
use gateway::{AppState, Config};
use redis::AsyncCommands;
use serde_json::{Value, json};
use shop_contracts::{
    Identity, Role,
    identity::{IDENTITY_HEADER, VERIFY_CREDENTIALS_PATH, VerifiedCredentials},
};
use shop_testkit::{RedisPrefix, free_port};
use tower_sessions::{cookie::Cookie, session::Record};
use uuid::Uuid;

/// Whom every sign-in identifies.
const SHOPPER: Uuid = Uuid::from_u128(0x0190_b7a2_0000_7000_8000_0000_0000_0001);

/// An upstream instance that answers every `/api/...` request with what it saw, and every
/// credential check with [`SHOPPER`].
async fn echo(name: &'static str) -> String {
    let echo = move |headers: HeaderMap, request: Request| async move {
        let header = |key: &str| headers.get(key).and_then(|v| v.to_str().ok()).map(str::to_owned);
        axum::Json(json!({
            "instance": name,
            "method": request.method().as_str(),
            "path": request.uri().path(),
            "identity": header(IDENTITY_HEADER),
            "forwarded_for": header("x-forwarded-for"),
            "request_id": header("x-request-id"),
        }))
    };
    let router = Router::new()
        .route("/readyz", get(|| async { "ready" }))
        .route(
            VERIFY_CREDENTIALS_PATH,
            post(|| async {
                axum::Json(VerifiedCredentials {
                    user_id: SHOPPER,
                    roles: vec![Role::Customer],
                })
            }),
        )
        .route(
            "/openapi.json",
            get(move || async move {
                axum::Json(json!({"openapi": "3.1.0", "info": {"title": name, "version": "1"},
                "paths": {"/api/products": {}, "/internal/catalog/products": {}, "/healthz": {}},
                "components": {"securitySchemes": {"identity": {"type": "apiKey", "in": "header", "name": IDENTITY_HEADER}}}}))
            }),
        )
        .route(
            "/api/products/missing",
            get(|| async { (axum::http::StatusCode::NOT_FOUND, "no such product") }),
        )
        .route(
            "/api/products/uploads",
            post(|body: axum::body::Bytes| async move { axum::Json(json!({"received": body.len()})) }),
        )
        .route(
            "/api/products/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .fallback(any(echo));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

struct Gateway {
    url: String,
    client: reqwest::Client,
    redis: RedisPrefix,
}

async fn gateway(extra: &[&str]) -> Gateway {
    gateway_on(RedisPrefix::new(), extra).await
}

/// A gateway using `redis` for its sessions and limits.
async fn gateway_on(redis: RedisPrefix, extra: &[&str]) -> Gateway {
    let mut args = vec![
        "gateway".to_owned(),
        "--redis-url".to_owned(),
        redis.url.clone(),
        "--redis-key-prefix".to_owned(),
        redis.prefix.clone(),
        "--identity-key".to_owned(),
        shop_testkit::IDENTITY_KEY.to_owned(),
    ];
    // Bound first: the listen address names the gateway's own origin.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    args.extend(["--listen-addr".to_owned(), addr.to_string()]);
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let config: Config = shop_testkit::config_from_args(args);
    let app = gateway::app(AppState::new(config).await.unwrap());
    let url = format!("http://{addr}");
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .await
            .unwrap()
    });
    Gateway {
        url,
        client: reqwest::Client::new(),
        redis,
    }
}

impl Gateway {
    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self.client.get(format!("{}{path}", self.url)).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// A gateway in front of one echoing instance each of the user, product and order services.
async fn gateway_over_echoes() -> Gateway {
    let (users, products, orders) = (echo("users").await, echo("products").await, echo("orders").await);
    gateway(&[
        "--user-upstreams",
        &users,
        "--product-upstreams",
        &products,
        "--order-upstreams",
        &orders,
    ])
    .await
}

#[tokio::test]
async fn paths_go_to_the_service_that_owns_them_and_internal_ones_nowhere() {
    let gw = gateway_over_echoes().await;
    for (path, instance) in [
        ("/api/users/me", "users"),
        ("/api/products?limit=3", "products"),
        ("/api/categories/kitchen", "products"),
        ("/api/cart/items", "orders"),
        ("/api/orders", "orders"),
    ] {
        let (status, body) = gw.get(path).await;
        assert_eq!((status, body["instance"].as_str()), (200, Some(instance)), "{path}");
    }
    for path in [
        "/internal/credentials/verify",
        "/internal/catalog/products",
        "/api/search?q=x",
        "/api/productsX",
    ] {
        assert_eq!(gw.get(path).await.0, 404, "{path}");
    }
}

/// Whichever service answers: no type sniffing, no framing; personal answers (and anything
/// for a session) never cached.
#[tokio::test]
async fn answers_carry_the_security_headers_and_personal_ones_are_not_cached() {
    let gw = gateway_over_echoes().await;
    let get = |path: &str, cookie: Option<&str>| {
        let mut request = gw.client.get(format!("{}{path}", gw.url));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send()
    };
    for path in [
        "/api/users/me",
        "/api/cart",
        "/api/orders",
        "/api/auth/session",
        "/api/products",
        "/nope",
    ] {
        let response = get(path, None).await.unwrap();
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["content-security-policy"], "frame-ancestors 'none'", "{path}");
        let personal = !matches!(path, "/api/products" | "/nope");
        assert_eq!(
            headers.get("cache-control").map(|v| v.to_str().unwrap()),
            personal.then_some("no-store"),
            "{path}"
        );
    }
    let with_session = get("/api/products", Some("shop_session=whatever")).await.unwrap();
    assert_eq!(with_session.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn the_gateways_own_routes_answer_a_wrong_method_with_a_405_problem() {
    let gw = gateway(&[]).await;
    let (status, body) = gw.get("/api/auth/login").await;
    assert_eq!(status, 405);
    assert_eq!(body["type"], "urn:shop:problem:method-not-allowed", "{body}");
    assert_eq!(body["status"], 405);
}

#[tokio::test]
async fn a_nul_in_the_path_or_query_is_refused_at_the_gateway() {
    let products = echo("products").await;
    let gw = gateway(&["--product-upstreams", &products]).await;
    for (path, field) in [
        ("/api/categories/%00", "path"),
        ("/api/products?cursor=a%00b", "cursor"),
        ("/api/products?limit=2&q%00=x", "q\\0"),
        ("/products/%00", "path"),
    ] {
        let (status, body) = gw.get(path).await;
        assert_eq!(
            (status, body["type"].as_str(), body["errors"][0]["field"].as_str()),
            (422, Some("urn:shop:problem:validation"), Some(field)),
            "{path}"
        );
    }
}

#[tokio::test]
async fn identity_headers_from_clients_never_reach_a_service() {
    let products = echo("products").await;
    let gw = gateway(&["--product-upstreams", &products]).await;
    let response = gw
        .client
        .get(format!("{}/api/products", gw.url))
        .header(IDENTITY_HEADER, "v1.forged.token")
        .header("x-request-id", "client-chosen-id")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "client-chosen-id");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["identity"],
        Value::Null,
        "an anonymous request carries no identity"
    );
    assert_eq!(body["request_id"], "client-chosen-id");
    assert_eq!(body["forwarded_for"], "127.0.0.1");
    // Without one, the gateway makes up a request id and returns it.
    let response = gw.client.get(format!("{}/api/products", gw.url)).send().await.unwrap();
    assert!(response.headers().get("x-request-id").is_some_and(|id| id.len() >= 32));
}

#[tokio::test]
async fn round_robin_spreads_requests_and_skips_a_dead_instance_for_reads() {
    let (a, b) = (echo("a").await, echo("b").await);
    let dead = format!("http://127.0.0.1:{}", free_port());
    let list = format!("{a},{b},{dead}");
    let gw = gateway(&["--product-upstreams", &list, "--eject-after-failures", "2"]).await;
    let mut counts = std::collections::HashMap::<String, usize>::new();
    for _ in 0..300 {
        let (status, body) = gw.get("/api/products").await;
        assert_eq!(status, 200, "reads are retried on another instance: {body}");
        *counts.entry(body["instance"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    let (on_a, on_b) = (counts["a"], counts["b"]);
    assert_eq!(on_a + on_b, 300);
    assert!(on_a.abs_diff(on_b) <= 2, "{counts:?}");
    // A write is never retried: it may have reached the instance. Only the dead instance left:
    let only_dead = gateway(&["--product-upstreams", &dead]).await;
    let response = only_dead
        .client
        .post(format!("{}/api/products", only_dead.url))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
}

/// The user service up but its database down: signing in is its 503, with when to retry,
/// not a bad gateway.
#[tokio::test]
async fn sign_in_while_the_user_database_is_down_is_503() {
    let router = Router::new().route(
        VERIFY_CREDENTIALS_PATH,
        post(|| async { shop_platform::error::ApiError::Unavailable("the database is unavailable".into()) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let users = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let gw = gateway(&["--user-upstreams", &users]).await;
    let response = gw
        .client
        .post(format!("{}/api/auth/login", gw.url))
        .json(&json!({"email": "someone@example.com", "password": "a password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "2");
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["type"], "urn:shop:problem:unavailable");
}

#[tokio::test]
async fn no_healthy_instance_is_503_and_a_slow_one_is_504() {
    let dead = format!("http://127.0.0.1:{}", free_port());
    let gw = gateway(&["--product-upstreams", &dead, "--eject-after-failures", "1"]).await;
    let write = gw
        .client
        .post(format!("{}/api/products", gw.url))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        write.status(),
        502,
        "the only instance is unreachable (and now ejected)"
    );
    let (status, body) = gw.get("/api/products").await;
    assert_eq!(status, 503);
    assert_eq!(body["type"], "urn:shop:problem:unavailable");

    let slow = echo("slow").await;
    let gw = gateway(&["--product-upstreams", &slow, "--upstream-timeout-ms", "300"]).await;
    let (status, body) = gw.get("/api/products/slow").await;
    assert_eq!(status, 504);
    assert_eq!(body["type"], "urn:shop:problem:gateway-timeout");
}

#[tokio::test]
async fn time_outs_count_toward_ejection_and_client_errors_do_not() {
    let products = echo("products").await;
    let gw = gateway(&[
        "--product-upstreams",
        &products,
        "--upstream-timeout-ms",
        "300",
        "--eject-after-failures",
        "2",
    ])
    .await;
    for _ in 0..3 {
        assert_eq!(
            gw.get("/api/products/missing").await.0,
            404,
            "the instance's own answer"
        );
    }
    assert_eq!(gw.get("/api/products").await.0, 200, "404s are answers, not failures");

    for _ in 0..2 {
        assert_eq!(gw.get("/api/products/slow").await.0, 504);
    }
    let (status, body) = gw.get("/api/products").await;
    assert_eq!(status, 503, "two time-outs in a row eject the only instance: {body}");
    assert_eq!(body["type"], "urn:shop:problem:unavailable");
}

/// An upstream instance that is ready but answers every `/api/...` request with `status`.
async fn answering(status: u16) -> String {
    let status = axum::http::StatusCode::from_u16(status).unwrap();
    let router = Router::new()
        .route("/readyz", get(|| async { "ready" }))
        .fallback(any(move || async move { (status, "failing") }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

/// Upstreams `instances` behind a gateway that ejects after two failures and does not check
/// health again during the test.
async fn gateway_over(instances: &[&str]) -> Gateway {
    gateway(&[
        "--product-upstreams",
        &instances.join(","),
        "--eject-after-failures",
        "2",
        "--health-check-interval-ms",
        "3600000",
    ])
    .await
}

async fn statuses(gw: &Gateway, requests: usize) -> Vec<u16> {
    let mut statuses = Vec::new();
    for _ in 0..requests {
        statuses.push(gw.get("/api/products").await.0);
    }
    statuses
}

#[tokio::test]
async fn server_errors_eject_an_instance_while_another_is_healthy() {
    let (healthy, broken) = (echo("healthy").await, answering(500).await);
    let gw = gateway_over(&[&healthy, &broken]).await;
    let first = statuses(&gw, 4).await;
    assert_eq!(
        first.iter().filter(|&&status| status == 500).count(),
        2,
        "round robin reaches the broken instance twice: {first:?}"
    );
    for _ in 0..10 {
        let (status, body) = gw.get("/api/products").await;
        assert_eq!(status, 200, "two server errors in a row ejected the broken instance");
        assert_eq!(body["instance"], "healthy");
    }
}

#[tokio::test]
async fn server_errors_never_eject_the_last_healthy_instance() {
    let gw = gateway_over(&[&answering(500).await]).await;
    assert_eq!(
        statuses(&gw, 6).await,
        [500; 6],
        "the instance's own answers, not the gateway's 503"
    );
}

#[tokio::test]
async fn a_503_from_an_instance_does_not_eject_it() {
    let (healthy, shedding) = (echo("healthy").await, answering(503).await);
    let gw = gateway_over(&[&healthy, &shedding]).await;
    let answers = statuses(&gw, 10).await;
    assert_eq!(
        answers.iter().filter(|&&status| status == 503).count(),
        5,
        "the instance stays in rotation: {answers:?}"
    );
}

#[tokio::test]
async fn oversized_bodies_are_413_and_floods_are_429() {
    let products = echo("products").await;
    let gw = gateway(&[
        "--product-upstreams",
        &products,
        "--max-body-bytes",
        "1024",
        "--rate-limit-per-minute",
        "5",
    ])
    .await;
    let response = gw
        .client
        .post(format!("{}/api/products", gw.url))
        .body(vec![b'x'; 2048])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    clear_of_a_minute_window_end().await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(gw.get("/api/products").await.0);
    }
    // The 413 was refused before it counted; five pass, the sixth is over the limit.
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429]);
    let response = gw.client.get(format!("{}/api/products", gw.url)).send().await.unwrap();
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after));
}

#[tokio::test]
async fn cross_site_state_changes_with_the_session_cookie_are_refused() {
    let products = echo("products").await;
    let gw = gateway(&["--product-upstreams", &products]).await;
    let post = |origin: &'static str, fetch_site: Option<&'static str>| {
        let mut request = gw
            .client
            .post(format!("{}/api/products", gw.url))
            .header("cookie", "shop_session=whatever")
            .header("origin", origin)
            .json(&json!({}));
        if let Some(site) = fetch_site {
            request = request.header("sec-fetch-site", site);
        }
        request.send()
    };
    assert_eq!(
        post("https://evil.example", Some("cross-site")).await.unwrap().status(),
        403
    );
    assert_eq!(post("https://evil.example", None).await.unwrap().status(), 403);
    let own = gw.url.clone();
    let own: &'static str = Box::leak(own.into_boxed_str());
    assert_eq!(post(own, None).await.unwrap().status(), 200);
    assert_eq!(
        post("https://evil.example", Some("same-origin"))
            .await
            .unwrap()
            .status(),
        200
    );
    // Sign-in is checked even without a cookie (login CSRF).
    let login = gw
        .client
        .post(format!("{}/api/auth/login", gw.url))
        .header("origin", "https://evil.example")
        .json(&json!({"email": "a@b.c", "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 403);
    // Two of a header a browser sends once: whichever is read first, refused.
    for (name, values) in [
        ("origin", [own, "https://evil.example"]),
        ("origin", ["https://evil.example", own]),
        ("sec-fetch-site", ["same-origin", "cross-site"]),
        ("sec-fetch-site", ["cross-site", "same-origin"]),
    ] {
        let mut request = gw
            .client
            .post(format!("{}/api/products", gw.url))
            .header("cookie", "shop_session=whatever")
            .json(&json!({}));
        for value in values {
            request = request.header(name, value);
        }
        assert_eq!(request.send().await.unwrap().status(), 403, "{name}: {values:?}");
    }
}

#[tokio::test]
async fn the_docs_are_served_offline_with_each_services_public_paths() {
    let products = echo("products").await;
    let gw = gateway(&["--product-upstreams", &products]).await;
    let page = gw.client.get(format!("{}/docs/", gw.url)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger"), "{html}");
    assert!(!html.contains("cdn"), "assets come from the gateway itself");
    let (status, gateway_doc) = gw.get("/openapi.json").await;
    assert_eq!(status, 200);
    assert!(gateway_doc["paths"]["/api/auth/login"].is_object());
    let (_, product_doc) = gw.get("/openapi/product").await;
    let paths: Vec<&String> = product_doc["paths"].as_object().unwrap().keys().collect();
    assert_eq!(paths, ["/api/products"], "internal and operational paths are hidden");
    let initializer = gw
        .client
        .get(format!("{}/docs/swagger-initializer.js", gw.url))
        .send()
        .await
        .unwrap();
    let initializer = initializer.text().await.unwrap();
    assert!(
        initializer.contains("/openapi.json") && initializer.contains("/openapi/product"),
        "{initializer}"
    );
}

#[tokio::test]
async fn the_gateways_document_is_complete_and_the_docs_sign_in_with_the_session_cookie() {
    let products = echo("products").await;
    let gw = gateway(&["--product-upstreams", &products]).await;
    let (status, doc) = gw.get("/openapi.json").await;
    assert_eq!(status, 200);
    shop_testkit::assert_openapi_complete(&doc);
    let credentials = &doc["components"]["schemas"]["Credentials"]["properties"];
    assert_eq!(credentials["password"]["minLength"], 1, "an empty password is refused");
    let login = &doc["paths"]["/api/auth/login"]["post"]["responses"];
    for status in ["400", "413", "415", "422"] {
        assert!(login[status].is_object(), "sign-in documents {status}: {login:#}");
    }
    let cookie = json!({"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE});
    let scheme = &doc["components"]["securitySchemes"]["identity"];
    for key in ["type", "in", "name"] {
        assert_eq!(scheme[key], cookie[key], "{scheme:#}");
    }
    assert!(
        doc["info"]["description"]
            .as_str()
            .unwrap()
            .contains("POST /api/auth/login"),
        "the docs page says how to sign in"
    );

    // A service's document, as the docs show it: its own header scheme is the cookie here.
    let (_, product_doc) = gw.get("/openapi/product").await;
    let scheme = &product_doc["components"]["securitySchemes"]["identity"];
    for key in ["type", "in", "name"] {
        assert_eq!(scheme[key], cookie[key], "{scheme:#}");
    }
}

#[tokio::test]
async fn signing_in_on_the_docs_page_lets_it_call_the_other_apis() {
    let products = echo("products").await;
    let gw = gateway(&["--user-upstreams", &products, "--product-upstreams", &products]).await;
    // What Swagger UI on /docs sends: a same-origin fetch, and the browser keeps the cookie.
    let host = gw.url.trim_start_matches("http://");
    let login = gw
        .client
        .post(format!("{}/api/auth/login", gw.url))
        .header("origin", format!("http://{host}"))
        .header("sec-fetch-site", "same-origin")
        .json(&json!({"email": "customer@shop.local", "password": "customer-password-123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let me = gw
        .client
        .patch(format!("{}/api/users/me", gw.url))
        .header("origin", format!("http://{host}"))
        .header("sec-fetch-site", "same-origin")
        .header("cookie", &cookie)
        .json(&json!({"display_name": "Ada"}))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200, "a change from the docs page passes the CSRF check");
    let echoed: Value = me.json().await.unwrap();
    assert!(
        echoed["identity"].is_string(),
        "the service is told who signed in: {echoed}"
    );
}

/// A Redis server of the test's own on a free port, which the test may stop and resume, and
/// the prefix to use in it.
fn own_redis(label: &str) -> (shop_testkit::OwnServer, RedisPrefix) {
    let port = free_port();
    let server = shop_testkit::OwnServer::start(
        port,
        "redis-server",
        [
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
    );
    let prefix = RedisPrefix {
        url: format!("redis://127.0.0.1:{port}"),
        prefix: format!("test:{label}:"),
    };
    (server, prefix)
}

#[tokio::test]
async fn readiness_holds_while_any_part_of_the_shop_can_be_served_and_says_what_cannot() {
    let (users, products, orders) = (echo("users").await, echo("products").await, echo("orders").await);
    let (mut redis, own_redis) = own_redis("readiness");
    let gw = gateway_on(
        own_redis,
        &[
            "--user-upstreams",
            &users,
            "--product-upstreams",
            &products,
            "--order-upstreams",
            &orders,
            "--eject-after-failures",
            "1",
        ],
    )
    .await;
    assert_eq!(gw.get("/readyz").await.0, 200);
    assert_eq!(gw.get("/healthz").await.0, 200);
    let metrics = gw
        .client
        .get(format!("{}/metrics", gw.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("upstream_instance_healthy"), "{metrics}");

    // Redis away: anonymous shoppers still browse, so the gateway stays in rotation.
    redis.stop();
    let (status, body) = gw.get("/readyz").await;
    assert_eq!((status, &body["status"]), (200, &json!("degraded")), "{body}");
    assert!(body["unavailable"][0].as_str().unwrap().contains("redis"), "{body}");
    assert_eq!(gw.get("/api/products").await.0, 200, "browsing goes on");
    redis.resume();
    shop_testkit::eventually("the gateway is fully ready again with Redis back", async || {
        gw.get("/readyz").await.1["status"] == "ready"
    })
    .await;

    // The only product instance fails one request and is ejected: the rest is served.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let gw = gateway(&[
        "--user-upstreams",
        &users,
        "--product-upstreams",
        &dead,
        "--order-upstreams",
        &orders,
        "--eject-after-failures",
        "1",
    ])
    .await;
    assert_eq!(gw.get("/readyz").await.0, 200, "instances start out healthy");
    let write = gw
        .client
        .post(format!("{}/api/products", gw.url))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 502);
    let (status, body) = gw.get("/readyz").await;
    assert_eq!((status, &body["status"]), (200, &json!("degraded")), "{body}");
    assert!(body["unavailable"][0].as_str().unwrap().contains("product"), "{body}");

    // Nothing left to serve: not ready.
    let gw = gateway(&[
        "--user-upstreams",
        &dead,
        "--product-upstreams",
        &dead,
        "--order-upstreams",
        &dead,
        "--eject-after-failures",
        "1",
    ])
    .await;
    for path in ["/api/users/me", "/api/products", "/api/orders"] {
        gw.get(path).await;
    }
    let (status, body) = gw.get("/readyz").await;
    assert_eq!(
        (status, &body["type"]),
        (503, &json!("urn:shop:problem:unavailable")),
        "{body}"
    );
    assert_eq!(gw.get("/healthz").await.0, 200, "alive, only not ready");
}

#[tokio::test]
async fn with_redis_down_the_rate_limits_let_requests_through() {
    let products = echo("products").await;
    let (mut redis, own_redis) = own_redis("limits");
    let gw = gateway_on(
        own_redis,
        &[
            "--product-upstreams",
            &products,
            "--rate-limit-per-minute",
            "1",
            "--trusted-proxies",
            "127.0.0.1",
        ],
    )
    .await;
    let from = async |client: &str| {
        let response = gw
            .client
            .get(format!("{}/api/products", gw.url))
            .header("x-forwarded-for", client)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    };
    clear_of_a_minute_window_end().await;
    assert_eq!(from("203.0.113.1").await.0, 200);
    assert_eq!(from("203.0.113.1").await.0, 429, "with Redis up the limit holds");

    redis.stop();
    for _ in 0..3 {
        let (status, body) = from("203.0.113.2").await;
        assert_eq!(status, 200, "a limiter outage is not an outage: {body}");
    }
    // Whose limit was reached in this window is known without Redis.
    assert_eq!(from("203.0.113.1").await.0, 429);
}

#[tokio::test]
async fn with_redis_down_sessions_fail_fast_with_503_not_500() {
    let users = echo("users").await;
    let (mut redis, own_redis) = own_redis("redis-down");
    let gw = gateway_on(own_redis, &["--user-upstreams", &users]).await;
    let cookie = signed_in(&gw).await;

    redis.stop();
    // Bounded by the client's own time-out: a gateway waiting on reconnects would hit it.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let login = client
        .post(format!("{}/api/auth/login", gw.url))
        .json(&json!({"email": "ada@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .expect("the sign-in is answered, not left hanging");
    assert_eq!(login.status(), 503);
    assert!(login.headers().contains_key("retry-after"));
    let body: Value = login.json().await.unwrap();
    assert_eq!(body["type"], "urn:shop:problem:unavailable", "{body}");
    let me = client
        .get(format!("{}/api/users/me", gw.url))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("a signed-in request is answered, not left hanging");
    assert_eq!(me.status(), 503);

    redis.resume();
    shop_testkit::eventually("sign-ins work again with Redis back", async || {
        client
            .post(format!("{}/api/auth/login", gw.url))
            .json(&json!({"email": "ada@example.com", "password": "correct horse battery"}))
            .send()
            .await
            .is_ok_and(|response| response.status().is_success())
    })
    .await;
}

#[tokio::test]
async fn sign_ins_and_sessions_have_limits_of_their_own() {
    let users = echo("users").await;
    let gw = gateway(&[
        "--user-upstreams",
        &users,
        "--login-rate-limit-per-minute",
        "2",
        "--session-rate-limit-per-minute",
        "3",
        "--rate-limit-per-minute",
        "100",
    ])
    .await;
    clear_of_a_minute_window_end().await;
    let cookie = signed_in(&gw).await;
    signed_in(&gw).await;
    let login = gw
        .client
        .post(format!("{}/api/auth/login", gw.url))
        .json(&json!({"email": "ada@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 429, "the third sign-in in a minute");
    assert!(login.headers().contains_key("retry-after"));
    assert_eq!(
        gw.get("/api/users/me").await.0,
        200,
        "other requests from the address pass"
    );

    // The session: three requests a minute with its cookie.
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(with_cookie(&gw, "/api/users/me", &cookie).await.0);
    }
    assert_eq!(statuses, [200, 200, 200, 429]);
    assert_eq!(gw.get("/api/users/me").await.0, 200, "the address is not limited");
}

#[tokio::test]
async fn the_metrics_are_the_scrapers_only() {
    let metrics = |gw: &Gateway, bearer: Option<&str>| {
        let mut request = gw.client.get(format!("{}/metrics", gw.url));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    // No token configured: a developer on the machine itself.
    let local = gateway(&["--trusted-proxies", "127.0.0.1"]).await;
    assert_eq!(metrics(&local, None).await, 200);
    let remote = local
        .client
        .get(format!("{}/metrics", local.url))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(
        remote.status(),
        401,
        "a client elsewhere, through a proxy on the machine"
    );

    let scraped = gateway(&["--metrics-token", "a-scrapers-token"]).await;
    assert_eq!(metrics(&scraped, None).await, 401, "loopback is no token");
    assert_eq!(metrics(&scraped, Some("a-scrapers-tokem")).await, 401);
    assert_eq!(metrics(&scraped, Some("a-scrapers-token-and-more")).await, 401);
    assert_eq!(metrics(&scraped, Some("a-scrapers-token")).await, 200);
}

#[tokio::test]
async fn registrations_are_limited_per_address_like_sign_ins_and_counted_apart() {
    let users = echo("users").await;
    let gw = gateway(&[
        "--user-upstreams",
        &users,
        "--login-rate-limit-per-minute",
        "2",
        "--rate-limit-per-minute",
        "100",
    ])
    .await;
    clear_of_a_minute_window_end().await;
    let mut statuses = Vec::new();
    for n in 0..3 {
        let register = gw
            .client
            .post(format!("{}/api/users", gw.url))
            .json(&json!({"email": format!("probe{n}@example.com"), "password": "correct horse battery"}))
            .send()
            .await
            .unwrap();
        statuses.push(register.status().as_u16());
    }
    assert_eq!(
        statuses,
        [200, 200, 429],
        "a third registration from the address in a minute"
    );
    signed_in(&gw).await;
    signed_in(&gw).await;
}

#[tokio::test]
async fn the_session_limit_counts_the_session_in_use_whatever_decoys_come_first() {
    let users = echo("users").await;
    let gw = gateway(&[
        "--user-upstreams",
        &users,
        "--session-rate-limit-per-minute",
        "3",
        "--rate-limit-per-minute",
        "100",
    ])
    .await;
    clear_of_a_minute_window_end().await;
    let cookie = signed_in(&gw).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        // A fresh well-formed decoy id in front each time, as a client evading the limit would.
        let decoy = format!("{SESSION_COOKIE}={}", tower_sessions::session::Id::default());
        let (status, body, _) = with_cookie(&gw, "/api/users/me", &format!("{decoy}; {cookie}")).await;
        if status == 200 {
            assert!(
                body["identity"].is_string(),
                "the last cookie is the session used: {decoy}"
            );
        }
        statuses.push(status);
    }
    assert_eq!(statuses, [200, 200, 200, 429]);

    // Values that are no session id never become Redis keys.
    let huge = format!("{SESSION_COOKIE}={}", "x".repeat(60 * 1024));
    for cookie in [huge.as_str(), "shop_session=not-an-id", "shop_session=%00%01"] {
        assert_eq!(with_cookie(&gw, "/api/users/me", cookie).await.0, 200);
    }
    let longest = gw
        .redis
        .keys()
        .await
        .into_iter()
        .map(|key| key.len())
        .max()
        .unwrap_or(0);
    assert!(longest < gw.redis.prefix.len() + 100, "a key of {longest} bytes");
}

#[tokio::test]
async fn a_password_within_the_limit_in_characters_reaches_the_user_service_whatever_its_bytes() {
    let users = echo("users").await;
    let gw = gateway(&["--user-upstreams", &users]).await;
    let sign_in = |password: String| {
        gw.client
            .post(format!("{}/api/auth/login", gw.url))
            .json(&json!({"email": "zoë@example.com", "password": password}))
            .send()
    };
    // 128 characters, 256 bytes: the user service's rule counts characters, and so does the gateway.
    assert_eq!(sign_in("é".repeat(128)).await.unwrap().status(), 200);
    assert_eq!(sign_in("é".repeat(129)).await.unwrap().status(), 422);
}

#[tokio::test]
async fn a_request_over_request_timeout_ms_is_504() {
    let (upstream, mut arrived, release) = holding().await;
    let gw = gateway(&["--product-upstreams", &upstream, "--request-timeout-ms", "200"]).await;
    let (status, body) = gw.get("/api/products").await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["type"], "urn:shop:problem:gateway-timeout");
    arrived.recv().await.expect("the request had reached the upstream");
    release.send(true).unwrap();
}

/// Sends a chunked POST of `size` bytes, no length declared, straight over TCP; returns the
/// response's status and body.
async fn post_chunked(gw: &Gateway, path: &str, size: usize) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = gw.url.strip_prefix("http://").unwrap();
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/octet-stream\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for chunk in vec![b'x'; size].chunks(256) {
        let frame = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
        // The gateway may answer and close before it has read everything.
        if stream.write_all(&frame).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, response)
}

#[tokio::test]
async fn a_streamed_body_over_the_limit_is_413_and_one_within_it_arrives_whole() {
    let products = echo("products").await;
    let gw = gateway(&["--product-upstreams", &products, "--max-body-bytes", "1024"]).await;
    let (status, response) = post_chunked(&gw, "/api/products/uploads", 1000).await;
    assert_eq!(status, 200, "{response}");
    assert!(response.contains(r#""received":1000"#), "{response}");
    let (status, response) = post_chunked(&gw, "/api/products/uploads", 4096).await;
    assert_eq!(status, 413, "{response}");
    assert!(response.contains("application/problem+json"), "{response}");
}

/// Sends a POST declaring `declared` bytes but only `sent` of them, straight over TCP; then
/// waits for the answer (`abort`: closes its sending half instead, as a client that went away).
async fn post_partial(gw: &Gateway, path: &str, declared: usize, sent: usize, abort: bool) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = gw.url.strip_prefix("http://").unwrap();
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {declared}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&vec![b'x'; sent]).await.unwrap();
    if abort {
        stream.shutdown().await.unwrap();
    }
    let mut response = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut response)).await;
    assert!(read.is_ok(), "the gateway never answered the partial body");
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, response)
}

#[tokio::test]
async fn client_side_body_faults_never_take_an_instance_out_of_rotation() {
    let products = echo("products").await;
    let gw = gateway(&[
        "--product-upstreams",
        &products,
        "--max-body-bytes",
        "1024",
        "--eject-after-failures",
        "2",
        "--body-read-timeout-ms",
        "300",
        "--upstream-timeout-ms",
        "5000",
    ])
    .await;
    for _ in 0..4 {
        let (status, response) = post_chunked(&gw, "/api/products/uploads", 4096).await;
        assert_eq!(status, 413, "{response}");
        let (status, response) = post_partial(&gw, "/api/products/uploads", 100, 10, false).await;
        assert_eq!(status, 408, "a trickled body is cut off: {response}");
        assert!(response.contains("urn:shop:problem:request-timeout"), "{response}");
        let (status, _) = post_partial(&gw, "/api/products/uploads", 100, 10, true).await;
        assert_ne!(status, 502, "a client that went away is not an upstream failure");
    }
    for _ in 0..5 {
        let (status, body) = gw.get("/api/products").await;
        assert_eq!(status, 200, "the instance is still in rotation: {body}");
    }

    // Nor is an instance whose time-out is shorter than the client's trickle: it is not
    // contacted before the body is complete.
    let gw = gateway(&[
        "--product-upstreams",
        &products,
        "--eject-after-failures",
        "2",
        "--body-read-timeout-ms",
        "600",
        "--upstream-timeout-ms",
        "300",
    ])
    .await;
    for _ in 0..3 {
        let (status, response) = post_partial(&gw, "/api/products/uploads", 100, 10, false).await;
        assert_eq!(status, 408, "{response}");
    }
    assert_eq!(
        gw.get("/api/products").await.0,
        200,
        "the instance is still in rotation"
    );
}

/// An upstream that holds every `/api/...` request until `release` is sent `true`, telling
/// `arrived` of each as it comes in.
async fn holding() -> (
    String,
    tokio::sync::mpsc::UnboundedReceiver<()>,
    tokio::sync::watch::Sender<bool>,
) {
    let (arrivals, arrived) = tokio::sync::mpsc::unbounded_channel();
    let (release, released) = tokio::sync::watch::channel(false);
    let hold = move || {
        let (arrivals, mut released) = (arrivals.clone(), released.clone());
        async move {
            arrivals.send(()).unwrap();
            released.wait_for(|go| *go).await.unwrap();
            "released"
        }
    };
    let router = Router::new()
        .route("/readyz", get(|| async { "ready" }))
        .fallback(any(hold));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, arrived, release)
}

#[tokio::test]
async fn beyond_the_concurrency_limit_requests_are_shed_at_once_with_503() {
    let (upstream, mut arrived, release) = holding().await;
    let gw = gateway(&["--product-upstreams", &upstream, "--max-concurrent-requests", "1"]).await;
    let busy = {
        let (client, url) = (gw.client.clone(), format!("{}/api/products", gw.url));
        tokio::spawn(async move { client.get(url).send().await.unwrap().status() })
    };
    arrived
        .recv()
        .await
        .expect("the first request reaches the upstream, holding the only slot");

    let (status, body) = gw.get("/api/products").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["type"], "urn:shop:problem:unavailable");

    release.send(true).unwrap();
    assert_eq!(busy.await.unwrap(), 200, "the request holding the slot is served");
    assert_eq!(gw.get("/api/products").await.0, 200, "the slot is free again");
}

impl Gateway {
    /// GET `path` as if a proxy in front had forwarded it for `client`.
    async fn get_forwarded_for(&self, path: &str, client: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.url))
            .header("x-forwarded-for", client)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_rate_limit() {
    let products = echo("products").await;
    let gw = gateway(&[
        "--product-upstreams",
        &products,
        "--rate-limit-per-minute",
        "2",
        "--trusted-proxies",
        "10.0.0.0/8,127.0.0.1",
    ])
    .await;
    clear_of_a_minute_window_end().await;
    let mut statuses = Vec::new();
    for client in [
        "203.0.113.1",
        "203.0.113.1",
        "203.0.113.2",
        "203.0.113.2",
        "203.0.113.1",
    ] {
        statuses.push(gw.get_forwarded_for("/api/products", client).await.0);
    }
    assert_eq!(statuses, [200, 200, 200, 200, 429]);

    // The chain passed on names the proxy the gateway heard from, after the client.
    let (status, seen) = gw.get_forwarded_for("/api/products", "198.51.100.7").await;
    assert_eq!(status, 200);
    assert_eq!(seen["forwarded_for"], "198.51.100.7, 127.0.0.1");
}

#[tokio::test]
async fn an_untrusted_peer_cannot_pick_its_address_with_x_forwarded_for() {
    let products = echo("products").await;
    let gw = gateway(&["--product-upstreams", &products, "--rate-limit-per-minute", "2"]).await;
    clear_of_a_minute_window_end().await;
    let mut statuses = Vec::new();
    for client in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        statuses.push(gw.get_forwarded_for("/api/products", client).await.0);
    }
    assert_eq!(statuses, [200, 200, 429]);
}

/// What the gateway says about a request with `cookie`: the status and body of `path`, and the
/// session cookie it sets again, if any.
async fn with_cookie(gw: &Gateway, path: &str, cookie: &str) -> (u16, Value, Option<Cookie<'static>>) {
    let response = gw
        .client
        .get(format!("{}{path}", gw.url))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let set_cookie = response
        .headers()
        .get("set-cookie")
        .map(|header| Cookie::parse(header.to_str().unwrap().to_owned()).unwrap());
    (status, response.json().await.unwrap(), set_cookie)
}

/// Signs in (as [`SHOPPER`]) and returns the session cookie, `name=value`.
/// The limits count per minute: start a test's requests well inside one window.
async fn clear_of_a_minute_window_end() {
    shop_testkit::away_from_window_end(Duration::from_secs(60), Duration::from_secs(10)).await;
}

async fn signed_in(gw: &Gateway) -> String {
    shop_testkit::sign_in(&gw.client, &gw.url, "ada@example.com", "correct horse battery").await
}

/// The Redis key of the session behind `cookie`.
fn session_key(gw: &Gateway, cookie: &str) -> String {
    let id = cookie.strip_prefix(&format!("{SESSION_COOKIE}=")).unwrap();
    format!("{}session:{id}", gw.redis.prefix)
}

/// The session's record as Redis holds it, and the milliseconds Redis keeps it.
async fn stored_session(gw: &Gateway, cookie: &str) -> Option<(Record, i64)> {
    let mut redis = gw.redis.connection().await;
    let key = session_key(gw, cookie);
    let value: Option<String> = redis.get(&key).await.unwrap();
    let ttl_ms: i64 = redis.pttl(&key).await.unwrap();
    value.map(|value| (serde_json::from_str(&value).unwrap(), ttl_ms))
}

/// Moves the session `seconds` into the past, as if that long had gone by without a request:
/// it was renewed that much earlier and expires that much sooner, in its record and in Redis.
async fn age_session(gw: &Gateway, cookie: &str, seconds: i64) {
    let (mut record, ttl_ms) = stored_session(gw, cookie).await.expect("the session is stored");
    let renewed_at = record.data[RENEWED_AT]
        .as_i64()
        .expect("the session says when it was renewed");
    record.data.insert(RENEWED_AT.to_owned(), json!(renewed_at - seconds));
    record.expiry_date -= tower_sessions::cookie::time::Duration::seconds(seconds);
    let mut redis = gw.redis.connection().await;
    let key = session_key(gw, cookie);
    match u64::try_from(ttl_ms - seconds * 1000) {
        Ok(left_ms) if left_ms > 0 => {
            let options = redis::SetOptions::default().with_expiration(redis::SetExpiry::PX(left_ms));
            let () = redis
                .set_options(&key, serde_json::to_string(&record).unwrap(), options)
                .await
                .unwrap();
        }
        _ => redis.del::<_, ()>(&key).await.unwrap(),
    }
}

fn signed_in_as_the_shopper(session: &Value) -> bool {
    session["authenticated"] == true && session["user_id"] == json!(SHOPPER)
}

/// The identity the upstream received, verified with the test key.
fn forwarded_identity(echoed: &Value) -> Option<Identity> {
    let token = echoed["identity"].as_str()?;
    Some(
        shop_testkit::identity_key()
            .verify(token)
            .expect("a valid identity token"),
    )
}

#[tokio::test]
async fn an_active_session_outlives_the_idle_window_without_a_write_per_request() {
    let users = echo("users").await;
    let gw = gateway(&["--user-upstreams", &users, "--session-idle-minutes", "1"]).await;
    let cookie = signed_in(&gw).await;
    let (signed_in_record, _) = stored_session(&gw, &cookie).await.unwrap();

    // A request soon after the last renewal changes nothing in Redis and sets no cookie.
    let (status, me, set_cookie) = with_cookie(&gw, "/api/users/me", &cookie).await;
    assert_eq!(status, 200);
    assert_eq!(forwarded_identity(&me).map(|identity| identity.user_id), Some(SHOPPER));
    assert!(set_cookie.is_none(), "nothing to renew yet: {set_cookie:?}");
    let (record, _) = stored_session(&gw, &cookie).await.unwrap();
    assert_eq!(record, signed_in_record, "no write for a request that renews nothing");

    // A request every 20 s for 100 s: each finds the session due and renews it in full.
    for _ in 0..5 {
        age_session(&gw, &cookie, 20).await;
        let (before, ttl_before_ms) = stored_session(&gw, &cookie).await.expect("still stored");
        let (status, me, set_cookie) = with_cookie(&gw, "/api/users/me", &cookie).await;
        assert_eq!(status, 200);
        assert_eq!(forwarded_identity(&me).map(|identity| identity.user_id), Some(SHOPPER));
        let renewed = set_cookie.expect("the cookie is sent again");
        assert_eq!(renewed.value(), cookie.split_once('=').unwrap().1, "the same session");
        assert_eq!(
            renewed.max_age(),
            Some(tower_sessions::cookie::time::Duration::minutes(1))
        );
        let (after, ttl_ms) = stored_session(&gw, &cookie).await.expect("still stored");
        assert!(after.expiry_date > before.expiry_date, "the record expires later");
        assert!(
            ttl_before_ms < ttl_ms && ttl_ms <= 60_000,
            "Redis keeps it for a whole window again: {ttl_before_ms} → {ttl_ms} ms"
        );
    }
    let (_, session, _) = with_cookie(&gw, "/api/auth/session", &cookie).await;
    assert!(signed_in_as_the_shopper(&session), "{session}");

    // A minute without a request ends it.
    age_session(&gw, &cookie, 61).await;
    let (_, session, _) = with_cookie(&gw, "/api/auth/session", &cookie).await;
    assert_eq!(session["authenticated"], false, "{session}");
    let (status, me, _) = with_cookie(&gw, "/api/users/me", &cookie).await;
    assert_eq!((status, &me["identity"]), (200, &Value::Null), "forwarded as anonymous");
    let sessions = format!("{}session:", gw.redis.prefix);
    let stored = gw
        .redis
        .keys()
        .await
        .into_iter()
        .filter(|key| key.starts_with(&sessions));
    assert_eq!(stored.count(), 0, "nothing was stored for the ended session");
}

#[tokio::test]
async fn a_session_whose_record_has_expired_is_anonymous_and_stays_ended() {
    let users = echo("users").await;
    let gw = gateway(&["--user-upstreams", &users]).await;
    let cookie = signed_in(&gw).await;
    let (_, session, _) = with_cookie(&gw, "/api/auth/session", &cookie).await;
    assert!(signed_in_as_the_shopper(&session), "{session}");

    // Redis still holds the record, but its own expiry date has passed.
    let (mut record, _) = stored_session(&gw, &cookie).await.unwrap();
    record.expiry_date =
        tower_sessions::cookie::time::OffsetDateTime::now_utc() - tower_sessions::cookie::time::Duration::seconds(1);
    let mut redis = gw.redis.connection().await;
    let () = redis
        .set_ex(session_key(&gw, &cookie), serde_json::to_string(&record).unwrap(), 60)
        .await
        .unwrap();

    let (_, session, set_cookie) = with_cookie(&gw, "/api/auth/session", &cookie).await;
    assert_eq!(session["authenticated"], false, "{session}");
    let removal = set_cookie.expect("the browser is told to drop the cookie");
    assert_eq!(removal.max_age(), Some(tower_sessions::cookie::time::Duration::ZERO));
    let (status, me, _) = with_cookie(&gw, "/api/users/me", &cookie).await;
    assert_eq!((status, &me["identity"]), (200, &Value::Null), "forwarded as anonymous");
    let (still, _) = stored_session(&gw, &cookie).await.unwrap();
    assert_eq!(still, record, "reading it did not bring it back");
}

#[tokio::test]
async fn the_gateway_refuses_to_serve_with_the_public_development_key_outside_development_mode() {
    let redis = RedisPrefix::new();
    let args = |development: bool| {
        let mut args = vec![
            "gateway".to_owned(),
            "--redis-url".to_owned(),
            redis.url.clone(),
            "--redis-key-prefix".to_owned(),
            redis.prefix.clone(),
            "--listen-addr".to_owned(),
            format!("127.0.0.1:{}", free_port()),
        ];
        if development {
            args.push("--development".to_owned());
        }
        shop_testkit::config_from_args::<Config>(args)
    };
    let state = AppState::new(args(false)).await.unwrap();
    let refused = gateway::serve(state, std::future::ready(()))
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("IDENTITY_KEY"), "{refused}");
    let state = AppState::new(args(true)).await.unwrap();
    gateway::serve(state, std::future::ready(()))
        .await
        .expect("serves in development mode");
}
