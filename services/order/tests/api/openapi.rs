//! The OpenAPI document describes every endpoint, and every one of them as protected.

use shop_testkit::{Actor, TestApp};

#[tokio::test]
async fn every_endpoint_is_documented_as_protected() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let app = TestApp::spawn(order_service::app(db.clone(), shop_testkit::identity_key())).await;
    let doc = app.get("/openapi.json", &Actor::Anonymous).await.expect(200);

    let operations = [
        ("/api/cart", "get"),
        ("/api/cart", "delete"),
        ("/api/cart/items", "post"),
        ("/api/cart/items/{product_id}", "patch"),
        ("/api/cart/items/{product_id}", "delete"),
        ("/api/orders", "get"),
        ("/api/orders", "post"),
        ("/api/orders/{id}", "get"),
        ("/api/orders/{id}/cancel", "post"),
    ];
    for (path, method) in operations {
        let operation = &doc["paths"][path][method];
        assert_eq!(
            operation["security"][0]["identity"],
            serde_json::json!([]),
            "{method} {path}: {operation:#}"
        );
        assert!(
            operation["responses"]["401"].is_object(),
            "{method} {path}: {operation:#}"
        );
    }
    assert!(doc["components"]["securitySchemes"]["identity"].is_object());
    shop_testkit::assert_openapi_complete(&doc);

    // As strict as the validator: the checkout's key is 1 to 255 visible ASCII characters.
    let key = doc["paths"]["/api/orders"]["post"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|parameter| parameter["name"] == "Idempotency-Key")
        .expect("the Idempotency-Key header is documented");
    assert_eq!(key["required"], true);
    assert_eq!(key["schema"]["pattern"], "^[!-~]{1,255}$");
    let limit = doc["paths"]["/api/orders"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|parameter| parameter["name"] == "limit")
        .unwrap();
    assert_eq!(
        (limit["schema"]["minimum"].as_u64(), limit["schema"]["maximum"].as_u64()),
        (Some(1), Some(100))
    );
}
