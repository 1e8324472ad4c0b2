//! What the user service tells other services, through its outbox.

use serde_json::json;
use shop_contracts::events::{UserRegistered, UserUpdated};
use shop_testkit::{Actor, outbox_events};

use crate::helpers::{PASSWORD, register, registration, spawn};

#[tokio::test]
async fn registering_publishes_user_registered() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let app = spawn(&db).await;
    let ada = register(&app, "ada@example.com").await;
    let events = outbox_events(&db).await;
    assert_eq!(events.len(), 1);
    let registered: UserRegistered = events[0].decode().unwrap();
    assert_eq!(registered.user_id, ada.user_id());
    assert_eq!(registered.email, "ada@example.com");
    assert_eq!(
        (
            events[0].aggregate_id,
            events[0].aggregate_version,
            events[0].source.as_str()
        ),
        (ada.user_id(), 1, "user")
    );

    // A refused registration publishes nothing.
    app.post("/api/users", &Actor::Anonymous, registration("ADA@example.com"))
        .await
        .expect(409);
    assert_eq!(outbox_events(&db).await.len(), 1);
}

#[tokio::test]
async fn only_changes_to_the_display_name_publish_user_updated() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &user_service::MIGRATOR).await;
    let app = spawn(&db).await;
    let ada = register(&app, "ada@example.com").await;
    app.patch("/api/users/me", &ada, json!({"display_name": "Countess Lovelace"}))
        .await
        .expect(200);
    app.patch("/api/users/me", &ada, json!({"display_name": "Countess Lovelace"}))
        .await
        .expect(200);
    app.patch(
        "/api/users/me",
        &ada,
        json!({"current_password": PASSWORD, "new_password": "an even longer passphrase"}),
    )
    .await
    .expect(200);
    app.patch("/api/users/me", &ada, json!({"display_name": ""}))
        .await
        .expect(422);

    let events = outbox_events(&db).await;
    assert_eq!(events.len(), 2, "{events:#?}");
    let updated: UserUpdated = events[1].decode().unwrap();
    assert_eq!(updated.display_name, "Countess Lovelace");
    assert_eq!(events[1].aggregate_version, 2);
}
