//! Spawning the service and the small steps most tests share.

use axum::http::Method;
use serde_json::{Value, json};
use shop_testkit::{Actor, TestApp, assert_rejected, malformed_bodies};
use sqlx::PgPool;
use uuid::Uuid;

pub const PASSWORD: &str = "correct horse battery";

pub async fn spawn(db: &PgPool) -> TestApp {
    TestApp::spawn(user_service::app(db.clone(), shop_testkit::identity_key())).await
}

pub fn registration(email: &str) -> Value {
    json!({"email": email, "password": PASSWORD, "display_name": "Ada Lovelace"})
}

/// Registers `email` and returns the new customer, signed in.
pub async fn register(app: &TestApp, email: &str) -> Actor {
    let body = app
        .post("/api/users", &Actor::Anonymous, registration(email))
        .await
        .expect(201);
    Actor::customer(id_of(&body))
}

pub fn id_of(body: &Value) -> Uuid {
    body["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no id in {body:#}"))
}

pub fn address() -> Value {
    json!({
        "recipient": "Ada Lovelace",
        "line1": "12 St James's Square",
        "line2": "Flat 3",
        "city": "London",
        "region": "Greater London",
        "postal_code": "SW1Y 4JH",
        "country": "GB",
        "phone": "+44 20 7946 0958",
    })
}

/// Adds the standard address for `actor` and returns it.
pub async fn add_address(app: &TestApp, actor: &Actor) -> Value {
    app.post("/api/users/me/addresses", actor, address()).await.expect(201)
}

pub async fn count(db: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(db)
        .await
        .unwrap()
}

pub async fn password_hash(db: &PgPool, user: &Actor) -> String {
    sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(user.user_id())
        .fetch_one(db)
        .await
        .unwrap()
}

/// The whole database content that tests check stays unchanged after a rejected request.
pub async fn snapshot(db: &PgPool) -> Value {
    sqlx::query_scalar(
        "SELECT json_build_object(
            'users', (SELECT coalesce(json_agg(u ORDER BY id), '[]') FROM users u),
            'addresses', (SELECT coalesce(json_agg(a ORDER BY id), '[]') FROM addresses a))",
    )
    .fetch_one(db)
    .await
    .unwrap()
}

/// Sends every one of the standard malformed bodies to a JSON endpoint and checks each is
/// turned away with its 4xx problem.
pub async fn assert_rejects_malformed_bodies(app: &TestApp, method: Method, path: &str, actor: &Actor) {
    for (content_type, body, status) in malformed_bodies() {
        let response = app
            .send_raw(method.clone(), path, actor, Some((content_type, body)))
            .await;
        assert_rejected(response, status);
    }
}

pub async fn verify(app: &TestApp, email: &str, password: &str) -> shop_testkit::TestResponse {
    app.post(
        "/internal/credentials/verify",
        &Actor::Service,
        json!({"email": email, "password": password}),
    )
    .await
}
