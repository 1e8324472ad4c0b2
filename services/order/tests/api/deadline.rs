//! The pending deadline: orders pending longer than the timeout are cancelled (reason
//! `timeout`, history row, `order.cancelled`) in batches, skipping orders that another
//! transaction holds.

use std::time::Duration;

use order_service::deadline::{BATCH, cancel_stuck_orders};
use shop_contracts::events::OrderCancelled;
use shop_testkit::{eventually, outbox_events};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{history, order_counts, place_order, product, status};

const TIMEOUT: Duration = Duration::from_secs(300);

/// Makes the order look placed `seconds` ago.
async fn age(db: &PgPool, order_id: Uuid, seconds: i64) {
    sqlx::query("UPDATE orders SET created_at = created_at - make_interval(secs => $2) WHERE id = $1")
        .bind(order_id)
        .bind(seconds as f64)
        .execute(db)
        .await
        .unwrap();
}

#[tokio::test]
async fn orders_pending_past_the_deadline_are_cancelled() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let mug = product(&db, 1000, "USD").await;
    let alice = Uuid::now_v7();
    let stuck = place_order(&db, alice, &[(&mug, 1)]).await;
    let fresh = place_order(&db, alice, &[(&mug, 1)]).await;
    let settled = place_order(&db, alice, &[(&mug, 1)]).await;
    age(&db, stuck.id, 301).await;
    // Well inside the deadline: the test's own run time must not carry it over.
    age(&db, fresh.id, 240).await;
    sqlx::query("UPDATE orders SET status = 'confirmed' WHERE id = $1")
        .bind(settled.id)
        .execute(&db)
        .await
        .unwrap();
    age(&db, settled.id, 3600).await;

    assert_eq!(cancel_stuck_orders(&db, TIMEOUT).await.unwrap(), 1);

    assert_eq!(status(&db, stuck.id).await, "cancelled");
    assert_eq!(status(&db, fresh.id).await, "pending");
    assert_eq!(status(&db, settled.id).await, "confirmed");
    assert_eq!(
        history(&db, stuck.id).await,
        [
            ("pending".to_owned(), None),
            ("cancelled".to_owned(), Some("timeout".to_owned()))
        ]
    );
    let events = outbox_events(&db).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].decode::<OrderCancelled>().unwrap(),
        OrderCancelled {
            order_id: stuck.id,
            user_id: alice,
            reason: "timeout".into()
        }
    );
    assert_eq!(events[0].aggregate_version, 2);

    let counts = order_counts(&db).await;
    assert_eq!(
        cancel_stuck_orders(&db, TIMEOUT).await.unwrap(),
        0,
        "nothing is cancelled twice"
    );
    assert_eq!(order_counts(&db).await, counts);
}

#[tokio::test]
async fn the_deadline_works_through_any_backlog_in_batches() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let mug = product(&db, 1000, "USD").await;
    let backlog = BATCH as usize * 2 + 7;
    for _ in 0..backlog {
        place_order(&db, Uuid::now_v7(), &[(&mug, 1)]).await;
    }
    sqlx::query("UPDATE orders SET created_at = created_at - interval '1 hour'")
        .execute(&db)
        .await
        .unwrap();

    assert_eq!(cancel_stuck_orders(&db, TIMEOUT).await.unwrap(), backlog);

    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM orders WHERE status = 'pending'")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(pending, 0);
    assert_eq!(outbox_events(&db).await.len(), backlog);
}

#[tokio::test]
async fn orders_another_transaction_holds_are_left_for_the_next_sweep() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let mug = product(&db, 1000, "USD").await;
    let held = place_order(&db, Uuid::now_v7(), &[(&mug, 1)]).await;
    let free = place_order(&db, Uuid::now_v7(), &[(&mug, 1)]).await;
    age(&db, held.id, 600).await;
    age(&db, free.id, 600).await;

    // Another replica's sweep, or a consumer settling the order, holds it.
    let mut other = db.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM orders WHERE id = $1 FOR UPDATE")
        .bind(held.id)
        .execute(&mut *other)
        .await
        .unwrap();
    let swept = tokio::time::timeout(Duration::from_secs(10), cancel_stuck_orders(&db, TIMEOUT))
        .await
        .expect("the sweep does not wait for locked orders")
        .unwrap();
    assert_eq!(swept, 1);
    assert_eq!(status(&db, held.id).await, "pending");
    assert_eq!(status(&db, free.id).await, "cancelled");
    other.rollback().await.unwrap();

    assert_eq!(cancel_stuck_orders(&db, TIMEOUT).await.unwrap(), 1);
    assert_eq!(status(&db, held.id).await, "cancelled");
}

#[tokio::test]
async fn the_deadline_runs_in_the_background() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let mug = product(&db, 1000, "USD").await;
    let order = place_order(&db, Uuid::now_v7(), &[(&mug, 1)]).await;
    age(&db, order.id, 10).await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let sweeper = tokio::spawn(order_service::deadline::run(
        db.clone(),
        Duration::from_secs(5),
        async {
            let _ = stopped.await;
        },
    ));

    eventually("the overdue order is cancelled", async || {
        status(&db, order.id).await == "cancelled"
    })
    .await;

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), sweeper)
        .await
        .expect("the sweeper stops when told")
        .unwrap();
}
