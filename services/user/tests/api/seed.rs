//! The demo accounts.

use sqlx::PgPool;
use user_service::seed;

use crate::helpers::{count, spawn, verify};

async fn hashes(db: &PgPool) -> Vec<(String, String, String)> {
    sqlx::query_as("SELECT email, password_hash, updated_at::text FROM users ORDER BY email")
        .fetch_all(db)
        .await
        .unwrap()
}

#[tokio::test]
async fn demo_accounts_are_created_once_and_can_sign_in() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    seed::demo_accounts(&db).await.unwrap();
    let first = hashes(&db).await;
    seed::demo_accounts(&db).await.unwrap();

    assert_eq!(count(&db, "users").await, 2);
    assert_eq!(
        hashes(&db).await,
        first,
        "existing accounts are neither re-hashed nor touched"
    );

    let app = spawn(&db).await;
    for (account, role) in [(seed::ADMIN, "admin"), (seed::CUSTOMER, "customer")] {
        let body = verify(&app, account.email, account.password).await.expect(200);
        assert_eq!(body["roles"], serde_json::json!([role]));
    }
    let names: Vec<String> = sqlx::query_scalar("SELECT display_name FROM users ORDER BY email")
        .fetch_all(&db)
        .await
        .unwrap();
    assert_eq!(names, ["Demo Admin", "Demo Customer"]);
}

#[tokio::test]
async fn seeding_leaves_a_changed_demo_password_alone() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    seed::demo_accounts(&db).await.unwrap();
    let app = spawn(&db).await;
    let customer_id = verify(&app, seed::CUSTOMER_EMAIL, seed::CUSTOMER_PASSWORD)
        .await
        .expect(200)["user_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let change = serde_json::json!({"current_password": seed::CUSTOMER_PASSWORD, "new_password": "a brand new secret"});
    app.patch("/api/users/me", &shop_testkit::Actor::customer(customer_id), change)
        .await
        .expect(200);

    seed::demo_accounts(&db).await.unwrap();
    verify(&app, seed::CUSTOMER_EMAIL, "a brand new secret")
        .await
        .expect(200);
    verify(&app, seed::CUSTOMER_EMAIL, seed::CUSTOMER_PASSWORD)
        .await
        .expect_problem(401, "unauthorized");
    assert_eq!(count(&db, "users").await, 2);
}
