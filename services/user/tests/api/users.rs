//! Registration, the signed-in user's own profile, and the admin look-up.

use axum::http::Method;
use serde_json::{Value, json};
use shop_testkit::Actor;
use uuid::Uuid;

use crate::helpers::{
    PASSWORD, assert_rejects_malformed_bodies, count, id_of, password_hash, register, registration, snapshot, spawn,
    verify,
};

#[tokio::test]
async fn registering_creates_a_customer_account() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let app = spawn(&db).await;
    let body = app
        .post(
            "/api/users",
            &Actor::Anonymous,
            json!({"email": "  Ada@Example.com ", "password": PASSWORD, "display_name": " Ada Lovelace "}),
        )
        .await
        .expect(201);

    assert_eq!(body["email"], "Ada@Example.com");
    assert_eq!(body["display_name"], "Ada Lovelace");
    assert_eq!(body["role"], "customer");
    assert!(body["created_at"].is_string());
    let fields: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(
        fields,
        ["created_at", "display_name", "email", "id", "role"],
        "no password fields leak"
    );

    let id = id_of(&body);
    let stored: (String, String) = sqlx::query_as("SELECT email, role FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(stored, ("Ada@Example.com".to_owned(), "customer".to_owned()));
}

#[tokio::test]
async fn the_stored_password_is_an_argon2id_hash_never_the_password() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let app = spawn(&db).await;
    let user = register(&app, "ada@example.com").await;

    let hash = password_hash(&db, &user).await;
    assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
    assert_eq!(hash.split('$').count(), 6, "a PHC string with salt and hash: {hash}");
    assert!(!hash.contains(PASSWORD));
    let other = register(&app, "grace@example.com").await;
    assert_ne!(password_hash(&db, &other).await, hash, "every hash has its own salt");
}

#[tokio::test]
async fn an_email_can_be_registered_only_once_whatever_its_case() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let app = spawn(&db).await;
    register(&app, "ada@example.com").await;

    let problem = app
        .post("/api/users", &Actor::Anonymous, registration("ADA@Example.COM"))
        .await
        .expect_problem(409, "conflict");
    assert_eq!(problem["detail"], "an account with this email already exists");
    assert_eq!(count(&db, "users").await, 1);
}

#[tokio::test]
async fn weak_passwords_are_refused() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let app = spawn(&db).await;
    let long = "x".repeat(129);
    let cases = [
        ("short-pw1", "at least 10"),
        (long.as_str(), "at most 128"),
        ("Password123", "common"),
        ("qwertyuiop", "common"),
        ("my-lovelace-2024", "e-mail"),
        ("xxLOVELACExx", "e-mail"),
    ];
    for (password, reason) in cases {
        let body = json!({"email": "Lovelace@example.com", "password": password, "display_name": "Ada"});
        let problem = app
            .post("/api/users", &Actor::Anonymous, body)
            .await
            .expect_invalid("password");
        assert!(
            problem["detail"].as_str().unwrap().contains(reason),
            "{password}: {problem:#}"
        );
        assert!(
            !problem.to_string().contains(password),
            "the problem must not echo the password"
        );
    }
    assert_eq!(count(&db, "users").await, 0);
}

#[tokio::test]
async fn each_bad_registration_field_is_named_and_nothing_is_written() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let app = spawn(&db).await;
    let long_name = "n".repeat(81);
    let long_email = format!("{}@example.com", "a".repeat(250));
    let cases: Vec<(&str, Value)> = vec![
        ("email", json!("not-an-email")),
        ("email", json!("two@@example.com")),
        ("email", json!("ada@localhost")),
        ("email", json!("a da@example.com")),
        ("email", json!(long_email)),
        ("email", json!("")),
        ("email", json!(42)),
        ("email", Value::Null),
        ("password", json!(1234567890)),
        ("password", Value::Null),
        ("display_name", json!("")),
        ("display_name", json!("   ")),
        ("display_name", json!(long_name)),
        ("display_name", json!("Ada\u{0}")),
        ("display_name", json!(["Ada"])),
    ];
    for (field, value) in cases {
        let mut body = registration("ada@example.com");
        body[field] = value;
        app.post("/api/users", &Actor::Anonymous, body)
            .await
            .expect_invalid(field);
    }
    for missing in ["email", "password", "display_name"] {
        let mut body = registration("ada@example.com");
        body.as_object_mut().unwrap().remove(missing);
        let problem = app
            .post("/api/users", &Actor::Anonymous, body)
            .await
            .expect_problem(422, "validation");
        assert!(problem["detail"].as_str().unwrap().contains(missing), "{problem:#}");
    }
    let mut body = registration("ada@example.com");
    body["role"] = json!("admin");
    let problem = app
        .post("/api/users", &Actor::Anonymous, body)
        .await
        .expect_problem(422, "validation");
    assert!(problem["detail"].as_str().unwrap().contains("role"), "{problem:#}");

    assert_eq!(count(&db, "users").await, 0);
}

/// The fields a 422 names, in any order.
fn invalid_fields(problem: &Value) -> std::collections::BTreeSet<&str> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| error["field"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn one_answer_names_every_bad_registration_field() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let app = spawn(&db).await;
    let everything_wrong = json!({"email": "not-an-email", "password": 42, "display_name": "", "role": "admin"});
    let problem = app
        .post("/api/users", &Actor::Anonymous, everything_wrong)
        .await
        .expect_problem(422, "validation");
    assert_eq!(
        invalid_fields(&problem),
        ["display_name", "email", "password", "role"].into(),
        "{problem:#}"
    );
    let problem = app
        .post("/api/users", &Actor::Anonymous, json!({}))
        .await
        .expect_problem(422, "validation");
    assert_eq!(
        invalid_fields(&problem),
        ["display_name", "email", "password"].into(),
        "every missing field: {problem:#}"
    );
    assert_eq!(count(&db, "users").await, 0);
}

#[tokio::test]
async fn malformed_registrations_are_turned_away() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let app = spawn(&db).await;
    assert_rejects_malformed_bodies(&app, Method::POST, "/api/users", &Actor::Anonymous).await;
    assert_eq!(count(&db, "users").await, 0);
}

#[tokio::test]
async fn the_signed_in_user_reads_their_own_profile() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let app = spawn(&db).await;
    let ada = register(&app, "ada@example.com").await;
    register(&app, "grace@example.com").await;

    let body = app.get("/api/users/me", &ada).await.expect(200);
    assert_eq!(id_of(&body), ada.user_id());
    assert_eq!(body["email"], "ada@example.com");
    assert_eq!(body["role"], "customer");
}

#[tokio::test]
async fn the_display_name_can_be_changed() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let app = spawn(&db).await;
    let ada = register(&app, "ada@example.com").await;
    let hash = password_hash(&db, &ada).await;

    let body = app
        .patch("/api/users/me", &ada, json!({"display_name": "  Countess  "}))
        .await
        .expect(200);
    assert_eq!(body["display_name"], "Countess");
    assert_eq!(
        app.get("/api/users/me", &ada).await.expect(200)["display_name"],
        "Countess"
    );
    assert_eq!(password_hash(&db, &ada).await, hash, "the password is untouched");
}

#[tokio::test]
async fn the_password_can_be_changed_with_the_current_one() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let app = spawn(&db).await;
    let ada = register(&app, "ada@example.com").await;
    let new_password = "analytical engine 1843";

    let body = app
        .patch(
            "/api/users/me",
            &ada,
            json!({"current_password": PASSWORD, "new_password": new_password, "display_name": "Countess"}),
        )
        .await
        .expect(200);
    assert_eq!(body["display_name"], "Countess");

    verify(&app, "ada@example.com", PASSWORD)
        .await
        .expect_problem(401, "unauthorized");
    let verified = verify(&app, "ada@example.com", new_password).await.expect(200);
    assert_eq!(verified["user_id"], ada.user_id().to_string());
    assert!(password_hash(&db, &ada).await.starts_with("$argon2id$"));
}

#[tokio::test]
async fn a_wrong_current_password_changes_nothing() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let app = spawn(&db).await;
    let ada = register(&app, "ada@example.com").await;
    let before = snapshot(&db).await;

    let body =
        json!({"current_password": "not my password", "new_password": "analytical engine 1843", "display_name": "X"});
    app.patch("/api/users/me", &ada, body)
        .await
        .expect_invalid("current_password");
    assert_eq!(snapshot(&db).await, before);
    verify(&app, "ada@example.com", PASSWORD).await.expect(200);
}

#[tokio::test]
async fn each_bad_profile_change_is_named_and_nothing_is_written() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let app = spawn(&db).await;
    let ada = register(&app, "lovelace@example.com").await;
    let before = snapshot(&db).await;
    let long = "x".repeat(129);

    let cases: Vec<(&str, Value)> = vec![
        ("body", json!({})),
        ("body", json!({"display_name": null})),
        ("display_name", json!({"display_name": ""})),
        ("display_name", json!({"display_name": "n".repeat(81)})),
        ("display_name", json!({"display_name": 7})),
        ("new_password", json!({"current_password": PASSWORD})),
        ("current_password", json!({"new_password": "analytical engine 1843"})),
        (
            "current_password",
            json!({"current_password": "", "new_password": "analytical engine 1843"}),
        ),
        (
            "current_password",
            json!({"current_password": long, "new_password": "analytical engine 1843"}),
        ),
        (
            "new_password",
            json!({"current_password": PASSWORD, "new_password": "short"}),
        ),
        (
            "new_password",
            json!({"current_password": PASSWORD, "new_password": "password123"}),
        ),
        (
            "new_password",
            json!({"current_password": PASSWORD, "new_password": "i-am-lovelace-1843"}),
        ),
        (
            "new_password",
            json!({"current_password": PASSWORD, "new_password": long}),
        ),
        (
            "new_password",
            json!({"current_password": PASSWORD, "new_password": false}),
        ),
    ];
    for (field, body) in cases {
        app.patch("/api/users/me", &ada, body).await.expect_invalid(field);
    }
    let problem = app
        .patch("/api/users/me", &ada, json!({"email": "x@example.com"}))
        .await
        .expect_problem(422, "validation");
    assert!(problem["detail"].as_str().unwrap().contains("email"), "{problem:#}");

    assert_rejects_malformed_bodies(&app, Method::PATCH, "/api/users/me", &ada).await;
    assert_eq!(snapshot(&db).await, before);
}

#[tokio::test]
async fn administrators_can_read_any_account() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let app = spawn(&db).await;
    let ada = register(&app, "ada@example.com").await;

    let body = app
        .get(&format!("/api/users/{}", ada.user_id()), &Actor::admin(Uuid::now_v7()))
        .await
        .expect(200);
    assert_eq!(body["email"], "ada@example.com");
    assert_eq!(body["role"], "customer");

    let admin = Actor::admin(Uuid::now_v7());
    app.get(&format!("/api/users/{}", Uuid::now_v7()), &admin)
        .await
        .expect_problem(404, "not-found");
    app.get("/api/users/not-a-uuid", &admin)
        .await
        .expect_problem(404, "not-found");
}
