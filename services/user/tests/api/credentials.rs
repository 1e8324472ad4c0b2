//! The internal credential check the gateway signs people in with.

use axum::http::Method;
use serde_json::{Value, json};
use shop_testkit::Actor;

use crate::helpers::{PASSWORD, assert_rejects_malformed_bodies, register, snapshot, spawn, verify};

const PATH: &str = "/internal/credentials/verify";

#[tokio::test]
async fn the_right_password_identifies_the_account_and_its_roles() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let app = spawn(&db).await;
    let ada = register(&app, "Ada@Example.com").await;

    for email in ["Ada@Example.com", "ada@example.com", "  ADA@EXAMPLE.COM "] {
        let body = verify(&app, email, PASSWORD).await.expect(200);
        assert_eq!(
            body,
            json!({"user_id": ada.user_id(), "roles": ["customer"]}),
            "{email}"
        );
    }
}

#[tokio::test]
async fn wrong_passwords_and_unknown_accounts_get_the_same_answer() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let app = spawn(&db).await;
    register(&app, "ada@example.com").await;

    let wrong_password = verify(&app, "ada@example.com", "correct horse batteryX")
        .await
        .expect_problem(401, "unauthorized");
    let wrong_case = verify(&app, "ada@example.com", &PASSWORD.to_uppercase())
        .await
        .expect_problem(401, "unauthorized");
    let unknown = verify(&app, "grace@example.com", PASSWORD)
        .await
        .expect_problem(401, "unauthorized");
    assert_eq!(wrong_password["detail"], "invalid email or password");
    assert_eq!(wrong_password, unknown);
    assert_eq!(wrong_password, wrong_case);
}

#[tokio::test]
async fn bad_credential_requests_are_rejected_without_side_effects() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let app = spawn(&db).await;
    register(&app, "ada@example.com").await;
    let before = snapshot(&db).await;

    let cases: Vec<(&str, Value)> = vec![
        ("email", json!({"email": "nope", "password": PASSWORD})),
        ("email", json!({"email": 1, "password": PASSWORD})),
        ("password", json!({"email": "ada@example.com", "password": ""})),
        (
            "password",
            json!({"email": "ada@example.com", "password": "x".repeat(129)}),
        ),
        ("password", json!({"email": "ada@example.com", "password": null})),
    ];
    for (field, body) in cases {
        app.post(PATH, &Actor::Service, body).await.expect_invalid(field);
    }
    for body in [
        json!({"email": "ada@example.com"}),
        json!({"password": PASSWORD}),
        json!({"email": "ada@example.com", "password": PASSWORD, "otp": 1}),
    ] {
        app.post(PATH, &Actor::Service, body)
            .await
            .expect_problem(422, "validation");
    }
    assert_rejects_malformed_bodies(&app, Method::POST, PATH, &Actor::Service).await;
    assert_eq!(snapshot(&db).await, before);
}

/// Nobody but the shop's own services may try passwords here: not an anonymous client, not a
/// user's token (an administrator's included), not a token signed with another key.
#[tokio::test]
async fn only_the_shops_services_may_ask() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let app = spawn(&db).await;
    let ada = register(&app, "ada@example.com").await;
    let body = json!({"email": "ada@example.com", "password": PASSWORD});
    let foreign = shop_contracts::IdentityKey::new([b'f'; 32])
        .unwrap()
        .mint_service("gateway", chrono::Duration::minutes(1));
    for actor in [
        Actor::Anonymous,
        ada.clone(),
        Actor::admin(ada.user_id()),
        Actor::RawToken(foreign),
        Actor::RawToken("s1.garbage.garbage".into()),
    ] {
        let problem = app
            .post(PATH, &actor, body.clone())
            .await
            .expect_problem(401, "unauthorized");
        assert_ne!(problem["detail"], "invalid email or password", "{actor:?}");
    }
    app.post(PATH, &Actor::Service, body).await.expect(200);
}

#[tokio::test]
async fn the_check_is_internal_not_part_of_the_public_api() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let app = spawn(&db).await;
    register(&app, "ada@example.com").await;
    let body = json!({"email": "ada@example.com", "password": PASSWORD});
    app.post("/api/internal/credentials/verify", &Actor::Anonymous, body.clone())
        .await
        .expect_problem(404, "not-found");
    app.post("/api/users/credentials/verify", &Actor::Anonymous, body)
        .await
        .expect_problem(404, "not-found");
}
