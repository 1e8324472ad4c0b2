use serde_json::json;
use shop_testkit::Actor;

use crate::helpers::{admin, count, create_category, create_product, spawn};

#[tokio::test]
async fn admins_create_categories_that_everyone_can_browse() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = spawn(&db).await;
    let created = app
        .post(
            "/api/categories",
            &admin(),
            json!({"slug": "kitchen", "name": "Kitchen", "description": "Pots and pans"}),
        )
        .await
        .expect(201);
    assert_eq!(created["slug"], "kitchen");
    create_category(&app, "books").await;
    create_product(&app, "KIT-1", "kitchen", 500).await;

    let list = app.get("/api/categories", &Actor::Anonymous).await.expect(200);
    let names: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["BOOKS", "Kitchen"]);
    let kitchen = app.get("/api/categories/kitchen", &Actor::Anonymous).await.expect(200);
    assert_eq!(kitchen["product_count"], 1);
    assert_eq!(kitchen["description"], "Pots and pans");
    app.get("/api/categories/garden", &Actor::Anonymous)
        .await
        .expect_problem(404, "not-found");
}

#[tokio::test]
async fn duplicate_slugs_conflict() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = spawn(&db).await;
    create_category(&app, "toys").await;
    app.post("/api/categories", &admin(), json!({"slug": "toys", "name": "Again"}))
        .await
        .expect_problem(409, "conflict");
    assert_eq!(count(&db, "categories").await, 1);
}

#[tokio::test]
async fn invalid_categories_are_refused_and_nothing_is_written() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = spawn(&db).await;
    for (body, field) in [
        (json!({"slug": "Bad Slug", "name": "x"}), "slug"),
        (json!({"slug": "ok", "name": ""}), "name"),
        (json!({"slug": "ok", "name": "x".repeat(81)}), "name"),
        (
            json!({"slug": "ok", "name": "x", "description": "d".repeat(501)}),
            "description",
        ),
        (json!({"slug": "ok"}), "name"),
        (json!({"slug": 7, "name": "x"}), "slug"),
        (json!({"slug": "ok", "name": "x", "colour": "red"}), "colour"),
    ] {
        app.post("/api/categories", &admin(), body).await.expect_invalid(field);
    }
    for (content_type, bytes, status) in shop_testkit::malformed_bodies() {
        let response = app
            .send_raw(
                shop_testkit::Method::POST,
                "/api/categories",
                &admin(),
                Some((content_type, bytes)),
            )
            .await;
        shop_testkit::assert_rejected(response, status);
    }
    assert_eq!(count(&db, "categories").await, 0);
}

#[tokio::test]
async fn only_admins_create_categories() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = spawn(&db).await;
    let body = json!({"slug": "garden", "name": "Garden"});
    app.post("/api/categories", &Actor::Anonymous, body.clone())
        .await
        .expect_problem(401, "unauthorized");
    app.post(
        "/api/categories",
        &Actor::RawToken("v1.forged.token".into()),
        body.clone(),
    )
    .await
    .expect_problem(401, "unauthorized");
    app.post("/api/categories", &Actor::stranger(), body)
        .await
        .expect_problem(403, "forbidden");
    assert_eq!(count(&db, "categories").await, 0);
}
