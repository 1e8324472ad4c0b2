use serde_json::Value;
use shop_testkit::{Actor, Method};

use crate::helpers::spawn;

#[tokio::test]
async fn health_readiness_and_metrics() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = spawn(&db).await;
    assert_eq!(app.get("/healthz", &Actor::Anonymous).await.expect(200)["status"], "ok");
    assert_eq!(
        app.get("/readyz", &Actor::Anonymous).await.expect(200)["status"],
        "ready"
    );
    app.get("/api/products", &Actor::Anonymous).await.expect(200);
    let metrics = app.get("/metrics", &Actor::Anonymous).await.expect(200);
    let text = metrics.as_str().unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("http_requests_total{")
            && l.contains("service=\"product\"")
            && l.contains("route=\"/api/products\"")),
        "{text}"
    );
    assert!(text.contains("http_request_duration_seconds_bucket"));

    db.close().await;
    app.get("/readyz", &Actor::Anonymous)
        .await
        .expect_problem(503, "unavailable");
    let response = app.get("/api/products", &Actor::Anonymous).await;
    assert_eq!(response.headers["retry-after"], "2");
    response.expect_problem(503, "unavailable");
}

#[tokio::test]
async fn a_database_that_is_down_is_a_503_with_retry_after_not_a_500() {
    // Nothing listens on the port: every connection attempt is refused until the pool's
    // acquire time-out.
    let url = format!("postgres://root@127.0.0.1:{}/product", shop_testkit::free_port());
    let db = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_millis(300))
        .connect_lazy(&url)
        .unwrap();
    let app = spawn(&db).await;
    for path in ["/api/products", "/api/categories"] {
        let response = app.get(path, &Actor::Anonymous).await;
        assert_eq!(response.headers["retry-after"], "2", "{path}");
        response.expect_problem(503, "unavailable");
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = spawn(&db).await;
    app.get("/api/nothing-here", &Actor::Anonymous)
        .await
        .expect_problem(404, "not-found");
    let response = app.send(Method::DELETE, "/api/products", &Actor::Anonymous, None).await;
    assert_eq!(response.status.as_u16(), 405);
    assert_eq!(response.content_type, "application/problem+json");
    assert_eq!(response.expect_problem(405, "method-not-allowed")["status"], 405);
}

#[tokio::test]
async fn the_openapi_document_covers_every_route_and_resolves() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = spawn(&db).await;
    let doc = app.get("/openapi.json", &Actor::Anonymous).await.expect(200);
    let operations: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| format!("{method} {path}"))
        })
        .collect();
    for expected in [
        "get /api/products",
        "post /api/products",
        "get /api/products/{id}",
        "patch /api/products/{id}",
        "post /api/products/{id}/deactivate",
        "put /api/products/{id}/price",
        "get /api/products/{id}/inventory",
        "post /api/products/{id}/stock-adjustments",
        "get /api/categories",
        "post /api/categories",
        "get /api/categories/{slug}",
        "get /internal/catalog/products",
        "get /healthz",
        "get /readyz",
        "get /metrics",
    ] {
        assert!(
            operations.contains(&expected.to_owned()),
            "{expected} missing from {operations:?}"
        );
    }
    assert_eq!(operations.len(), 15, "{operations:?}");

    shop_testkit::assert_openapi_complete(&doc);
    assert!(doc.pointer("/components/securitySchemes/identity").is_some());
}

/// `value`, or what it refers to in `doc`.
fn resolved<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str() {
        Some(target) => doc.pointer(target.trim_start_matches('#')).expect("a local reference"),
        None => value,
    }
}

#[tokio::test]
async fn the_schemas_are_as_strict_as_the_validators() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = spawn(&db).await;
    let doc = app.get("/openapi.json", &Actor::Anonymous).await.expect(200);
    let parameter = |path: &str, name: &str| -> Value {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|parameter| parameter["name"] == name)
            .unwrap_or_else(|| panic!("{path} has {name}"))["schema"]
            .clone()
    };
    let limit = parameter("/api/products", "limit");
    assert_eq!(
        (limit["minimum"].as_u64(), limit["maximum"].as_u64()),
        (Some(1), Some(100))
    );
    let limit = parameter("/internal/catalog/products", "limit");
    assert_eq!(
        (limit["minimum"].as_u64(), limit["maximum"].as_u64()),
        (Some(1), Some(1000))
    );

    let body = |path: &str, method: &str| -> &Value {
        let content = &doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"];
        resolved(&doc, content)
    };
    // A stock adjustment of zero changes nothing: the schema leaves it out.
    let delta = resolved(
        &doc,
        &body("/api/products/{id}/stock-adjustments", "post")["properties"]["delta"],
    );
    let ranges: Vec<(i64, i64)> = delta["oneOf"]
        .as_array()
        .expect("two ranges")
        .iter()
        .map(|range| (range["minimum"].as_i64().unwrap(), range["maximum"].as_i64().unwrap()))
        .collect();
    assert_eq!(ranges, [(-1_000_000, -1), (1, 1_000_000)]);
    let price = body("/api/products/{id}/price", "put");
    assert_eq!(price["properties"]["amount_minor"]["maximum"], 100_000_000);
    // Names are trimmed, then bounded and free of control characters: a pattern says so.
    let name = resolved(&doc, &body("/api/categories", "post")["properties"]["name"]);
    let pattern = name["pattern"].as_str().expect("a pattern");
    assert!(
        pattern.contains("{0,78}") && pattern.contains("\\u0000-\\u001F"),
        "{pattern}"
    );
}

#[tokio::test]
async fn the_catalog_feed_is_for_the_shops_own_services() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = spawn(&db).await;
    let path = "/internal/catalog/products?limit=10";
    for actor in [Actor::Anonymous, Actor::stranger(), Actor::admin(uuid::Uuid::now_v7())] {
        app.get(path, &actor).await.expect_problem(401, "unauthorized");
    }
    app.get(path, &Actor::Service).await.expect(200);
}
