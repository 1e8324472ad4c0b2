//! Who may call what: every protected endpoint against every kind of caller.

use axum::http::Method;
use chrono::{Duration, Utc};
use serde_json::{Value, json};
use shop_contracts::{Identity, IdentityKey, Role};
use shop_testkit::{Actor, TestApp};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{PASSWORD, add_address, address, id_of, register, snapshot, spawn};

/// Every protected endpoint, with a body it would accept.
fn protected_endpoints(user_id: Uuid, address_id: Uuid) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::GET, "/api/users/me".into(), None),
        (
            Method::PATCH,
            "/api/users/me".into(),
            Some(json!({"display_name": "Mallory"})),
        ),
        (Method::GET, "/api/users/me/addresses".into(), None),
        (Method::POST, "/api/users/me/addresses".into(), Some(address())),
        (
            Method::PUT,
            format!("/api/users/me/addresses/{address_id}"),
            Some(address()),
        ),
        (Method::DELETE, format!("/api/users/me/addresses/{address_id}"), None),
        (Method::GET, format!("/api/users/{user_id}"), None),
    ]
}

fn token_with_other_key(identity: &Identity) -> String {
    let other = IdentityKey::new("an-attacker-key-that-is-long-enough-0123456789").unwrap();
    other.mint(identity, Duration::minutes(5))
}

/// A customer with one address, and the service.
async fn setup(db: &PgPool) -> (TestApp, Actor, Uuid) {
    let app = spawn(db).await;
    let ada = register(&app, "ada@example.com").await;
    let address_id = id_of(&add_address(&app, &ada).await);
    (app, ada, address_id)
}

#[tokio::test]
async fn callers_without_a_valid_token_are_unauthorized_everywhere() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let (app, ada, address_id) = setup(&db).await;
    let before = snapshot(&db).await;
    let admin = Identity::new(Uuid::now_v7(), vec![Role::Admin]);
    let ada_identity = Identity::new(ada.user_id(), vec![Role::Customer]);
    let valid = shop_testkit::token(&ada_identity);
    let tampered = format!("{}x", &valid[..valid.len() - 1]);
    let callers = [
        Actor::Anonymous,
        Actor::RawToken(token_with_other_key(&admin)),
        Actor::RawToken(token_with_other_key(&ada_identity)),
        Actor::RawToken(
            shop_testkit::identity_key().mint_expiring_at(&ada_identity, Utc::now() - Duration::seconds(1)),
        ),
        Actor::RawToken(tampered),
        Actor::RawToken("garbage".into()),
        Actor::RawToken(String::new()),
    ];

    for (method, path, body) in protected_endpoints(ada.user_id(), address_id) {
        for caller in &callers {
            let response = app.send(method.clone(), &path, caller, body.clone()).await;
            assert_eq!(
                response.status, 401,
                "{method} {path} as {caller:?}: {:#}",
                response.body
            );
            response.expect_problem(401, "unauthorized");
        }
    }
    assert_eq!(snapshot(&db).await, before);
}

#[tokio::test]
async fn customers_cannot_reach_each_others_addresses() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let (app, ada, address_id) = setup(&db).await;
    let grace = register(&app, "grace@example.com").await;
    let graces_own = add_address(&app, &grace).await;
    let before = snapshot(&db).await;
    let path = format!("/api/users/me/addresses/{address_id}");

    app.put(&path, &grace, address()).await.expect_problem(404, "not-found");
    app.delete(&path, &grace).await.expect_problem(404, "not-found");
    app.put(&path, &Actor::admin(grace.user_id()), address())
        .await
        .expect_problem(404, "not-found");
    assert_eq!(
        app.get("/api/users/me/addresses", &grace).await.expect(200),
        json!([graces_own])
    );
    assert_eq!(snapshot(&db).await, before);

    let adas = app.get("/api/users/me/addresses", &ada).await.expect(200);
    assert_eq!(id_of(&adas[0]), address_id);
}

#[tokio::test]
async fn only_administrators_read_other_accounts() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let (app, ada, _) = setup(&db).await;
    let grace = register(&app, "grace@example.com").await;
    let path = format!("/api/users/{}", ada.user_id());

    app.get(&path, &grace).await.expect_problem(403, "forbidden");
    app.get(&path, &ada).await.expect_problem(403, "forbidden");
    app.get(&format!("/api/users/{}", Uuid::now_v7()), &grace)
        .await
        .expect_problem(403, "forbidden");
    let body = app.get(&path, &Actor::admin(Uuid::now_v7())).await.expect(200);
    assert_eq!(id_of(&body), ada.user_id());
}

#[tokio::test]
async fn a_valid_token_for_an_account_that_does_not_exist_finds_nothing() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let (app, ada, address_id) = setup(&db).await;
    let before = snapshot(&db).await;
    let ghost = Actor::stranger();

    for (method, path, body) in protected_endpoints(ada.user_id(), address_id) {
        if !path.starts_with("/api/users/me") {
            continue;
        }
        let response = app.send(method.clone(), &path, &ghost, body).await;
        assert_eq!(response.status, 404, "{method} {path}: {:#}", response.body);
        response.expect_problem(404, "not-found");
    }
    let change = json!({"current_password": PASSWORD, "new_password": "analytical engine 1843"});
    app.patch("/api/users/me", &ghost, change)
        .await
        .expect_problem(404, "not-found");
    assert_eq!(snapshot(&db).await, before);
}

#[tokio::test]
async fn the_owner_may_do_everything_to_their_own_account_with_either_role() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let app = spawn(&db).await;
    let ada = register(&app, "ada@example.com").await;
    // The same account, its token carrying the admin role.
    for (caller, admin_route_status) in [(ada.clone(), 403), (Actor::admin(ada.user_id()), 200)] {
        let address_id = id_of(&add_address(&app, &caller).await);
        for (method, path, body) in protected_endpoints(ada.user_id(), address_id) {
            let response = app.send(method.clone(), &path, &caller, body).await;
            let expected = match method {
                _ if !path.starts_with("/api/users/me") => admin_route_status,
                Method::POST => 201,
                Method::DELETE => 204,
                _ => 200,
            };
            assert_eq!(
                response.status, expected,
                "{method} {path} as {caller:?}: {:#}",
                response.body
            );
        }
    }
}

#[tokio::test]
async fn only_administrators_change_roles_and_the_users_sessions_are_told_to_end() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let (app, ada, _) = setup(&db).await;
    let path = format!("/api/users/{}/role", ada.user_id());
    let promote = json!({"role": "admin"});
    app.put(&path, &ada, promote.clone())
        .await
        .expect_problem(403, "forbidden");
    app.put(&path, &Actor::Anonymous, promote.clone())
        .await
        .expect_problem(401, "unauthorized");
    let admin = Actor::admin(Uuid::now_v7());
    app.put(&path, &Actor::admin(ada.user_id()), json!({"role": "customer"}))
        .await
        .expect_problem(409, "conflict");
    app.put(&path, &admin, json!({"role": "owner"}))
        .await
        .expect_problem(422, "validation");
    app.put(&format!("/api/users/{}/role", Uuid::now_v7()), &admin, promote.clone())
        .await
        .expect_problem(404, "not-found");
    let response = app.send(Method::PUT, &path, &admin, Some(promote)).await;
    assert_eq!(
        response.headers[shop_contracts::identity::END_SESSIONS_HEADER],
        ada.user_id().to_string(),
        "every session of the user ends"
    );
    assert_eq!(response.expect(200)["role"], "admin");
}
