//! The published API description.

use serde_json::Value;
use shop_testkit::Actor;

use crate::helpers::spawn;

#[tokio::test]
async fn every_operation_is_documented_with_its_security() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let app = spawn(&db).await;
    let doc = app.get("/openapi.json", &Actor::Anonymous).await.expect(200);
    let operation = |path: &str, method: &str| -> Value { doc["paths"][path][method].clone() };

    let public = [("/api/users", "post")];
    let protected = [
        ("/internal/credentials/verify", "post"),
        ("/api/users/me", "get"),
        ("/api/users/me", "patch"),
        ("/api/users/me/addresses", "get"),
        ("/api/users/me/addresses", "post"),
        ("/api/users/me/addresses/{id}", "put"),
        ("/api/users/me/addresses/{id}", "delete"),
        ("/api/users/{id}", "get"),
    ];
    for (path, method) in public {
        let op = operation(path, method);
        assert!(op.is_object(), "{method} {path} is not documented");
        assert!(op.get("security").is_none(), "{method} {path} needs no token");
    }
    for (path, method) in protected {
        let op = operation(path, method);
        assert_eq!(op["security"], serde_json::json!([{"identity": []}]), "{method} {path}");
        assert!(op["responses"]["401"].is_object(), "{method} {path} documents 401");
    }
    assert_eq!(
        operation("/internal/credentials/verify", "post")["tags"],
        serde_json::json!(["internal"])
    );
    assert!(operation("/api/users/{id}", "get")["responses"]["403"].is_object());
    assert!(doc["components"]["securitySchemes"]["identity"].is_object());
    shop_testkit::assert_openapi_complete(&doc);
}
