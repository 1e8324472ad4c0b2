//! The signed-in user's shipping addresses.

use axum::http::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{add_address, address, assert_rejects_malformed_bodies, count, id_of, register, snapshot, spawn};

const PATH: &str = "/api/users/me/addresses";

#[tokio::test]
async fn an_added_address_is_listed() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let app = spawn(&db).await;
    let ada = register(&app, "ada@example.com").await;
    assert_eq!(app.get(PATH, &ada).await.expect(200), json!([]));

    let mut input = address();
    input["postal_code"] = json!(" sw1y 4jh ");
    input["recipient"] = json!("  Ada Lovelace ");
    let created = app.post(PATH, &ada, input).await.expect(201);
    assert_eq!(created["recipient"], "Ada Lovelace");
    assert_eq!(created["postal_code"], "SW1Y 4JH");
    assert_eq!(created["country"], "GB");
    assert_eq!(created["line2"], "Flat 3");
    assert_eq!(created["phone"], "+44 20 7946 0958");

    let minimal = json!({"recipient": "Grace", "line1": "1 Navy Yard", "city": "Arlington", "postal_code": "22202", "country": "US"});
    let second = app.post(PATH, &ada, minimal).await.expect(201);
    for optional in ["line2", "region", "phone"] {
        assert_eq!(second[optional], Value::Null, "{optional}");
    }

    let listed = app.get(PATH, &ada).await.expect(200);
    assert_eq!(listed, json!([created, second]), "oldest first");
}

#[tokio::test]
async fn an_address_is_replaced_as_a_whole() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let app = spawn(&db).await;
    let ada = register(&app, "ada@example.com").await;
    let created = add_address(&app, &ada).await;
    let id = id_of(&created);

    let replacement = json!({"recipient": "Augusta Ada King", "line1": "Ockham Park", "city": "Ockham", "postal_code": "gu23 6nq", "country": "GB"});
    let replaced = app.put(&format!("{PATH}/{id}"), &ada, replacement).await.expect(200);
    assert_eq!(id_of(&replaced), id);
    assert_eq!(replaced["recipient"], "Augusta Ada King");
    assert_eq!(replaced["postal_code"], "GU23 6NQ");
    for cleared in ["line2", "region", "phone"] {
        assert_eq!(replaced[cleared], Value::Null, "{cleared} was left out, so it is gone");
    }
    assert_eq!(replaced["created_at"], created["created_at"]);
    assert_ne!(replaced["updated_at"], created["updated_at"]);
    assert_eq!(app.get(PATH, &ada).await.expect(200), json!([replaced]));
}

#[tokio::test]
async fn an_address_can_be_deleted_once() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let app = spawn(&db).await;
    let ada = register(&app, "ada@example.com").await;
    let kept = add_address(&app, &ada).await;
    let id = id_of(&add_address(&app, &ada).await);

    app.delete(&format!("{PATH}/{id}"), &ada).await.expect(204);
    assert_eq!(app.get(PATH, &ada).await.expect(200), json!([kept]));
    app.delete(&format!("{PATH}/{id}"), &ada)
        .await
        .expect_problem(404, "not-found");
}

#[tokio::test]
async fn unknown_address_ids_are_not_found() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let app = spawn(&db).await;
    let ada = register(&app, "ada@example.com").await;
    add_address(&app, &ada).await;
    let before = snapshot(&db).await;

    for path in [format!("{PATH}/{}", Uuid::now_v7()), format!("{PATH}/not-a-uuid")] {
        app.put(&path, &ada, address()).await.expect_problem(404, "not-found");
        app.delete(&path, &ada).await.expect_problem(404, "not-found");
    }
    assert_eq!(snapshot(&db).await, before);
}

#[tokio::test]
async fn an_account_holds_at_most_twenty_addresses() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let app = spawn(&db).await;
    let ada = register(&app, "ada@example.com").await;
    let grace = register(&app, "grace@example.com").await;
    for _ in 0..20 {
        add_address(&app, &ada).await;
    }

    let problem = app.post(PATH, &ada, address()).await.expect_problem(409, "conflict");
    assert!(problem["detail"].as_str().unwrap().contains("20"), "{problem:#}");
    assert_eq!(count(&db, "addresses").await, 20);
    add_address(&app, &grace).await;

    let first = id_of(&app.get(PATH, &ada).await.expect(200)[0]);
    app.delete(&format!("{PATH}/{first}"), &ada).await.expect(204);
    add_address(&app, &ada).await;
}

/// Each bad field, and the value that is wrong with it.
fn bad_fields() -> Vec<(&'static str, Value)> {
    vec![
        ("recipient", json!("")),
        ("recipient", json!("r".repeat(101))),
        ("recipient", Value::Null),
        ("line1", json!("  ")),
        ("line1", json!("l".repeat(201))),
        ("line1", json!(12)),
        ("line2", json!("")),
        ("line2", json!("l".repeat(201))),
        ("city", json!("")),
        ("city", json!("c".repeat(101))),
        ("city", json!("Lon\ndon")),
        ("region", json!("r".repeat(101))),
        ("postal_code", json!("1")),
        ("postal_code", json!("1234567890123")),
        ("postal_code", json!("SW1A_1AA")),
        ("postal_code", json!(12345)),
        ("country", json!("gb")),
        ("country", json!("XX")),
        ("country", json!("GBR")),
        ("country", json!("")),
        ("country", Value::Null),
        ("phone", json!("call me")),
        ("phone", json!("123")),
        ("phone", json!("+1234567890123456")),
        ("phone", json!(4420794609_i64)),
    ]
}

#[tokio::test]
async fn each_bad_field_of_a_new_address_is_named_and_nothing_is_written() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let app = spawn(&db).await;
    let ada = register(&app, "ada@example.com").await;

    for (field, value) in bad_fields() {
        let mut body = address();
        body[field] = value;
        app.post(PATH, &ada, body).await.expect_invalid(field);
    }
    for required in ["recipient", "line1", "city", "postal_code", "country"] {
        let mut body = address();
        body.as_object_mut().unwrap().remove(required);
        let problem = app.post(PATH, &ada, body).await.expect_problem(422, "validation");
        assert!(problem["detail"].as_str().unwrap().contains(required), "{problem:#}");
    }
    let mut body = address();
    body["user_id"] = json!(Uuid::now_v7());
    app.post(PATH, &ada, body).await.expect_problem(422, "validation");
    assert_rejects_malformed_bodies(&app, Method::POST, PATH, &ada).await;

    assert_eq!(count(&db, "addresses").await, 0);
}

#[tokio::test]
async fn each_bad_field_of_a_replacement_is_named_and_nothing_changes() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let app = spawn(&db).await;
    let ada = register(&app, "ada@example.com").await;
    let path = format!("{PATH}/{}", id_of(&add_address(&app, &ada).await));
    let before = snapshot(&db).await;

    for (field, value) in bad_fields() {
        let mut body = address();
        body[field] = value;
        app.put(&path, &ada, body).await.expect_invalid(field);
    }
    let mut body = address();
    body.as_object_mut().unwrap().remove("country");
    app.put(&path, &ada, body).await.expect_problem(422, "validation");
    assert_rejects_malformed_bodies(&app, Method::PUT, &path, &ada).await;

    assert_eq!(snapshot(&db).await, before);
}
