//! The `product-inventory` handler applied directly on a transaction, as the consumer runner
//! does: every transition of a reservation, every guard against repeated or late events, and
//! concurrent checkouts competing for the same stock.

use product_service::events::reservations::StockReservations;
use serde_json::json;
use shop_contracts::{
    Currency, Money,
    events::{
        Cause, Envelope, InventoryAdjusted, InventoryCommitted, InventoryRejected, InventoryReleased,
        InventoryReserved, OrderCancelled, OrderConfirmed, OrderLine, OrderPlaced, RejectedLine,
    },
};
use shop_messaging::consumer;
use shop_testkit::TestApp;
use sqlx::{PgPool, postgres::PgPoolOptions};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::helpers::{admin, clear_outbox, count, create_category, id, outbox, product_body, snapshot, spawn};

async fn shop(db: &PgPool) -> TestApp {
    let app = spawn(db).await;
    create_category(&app, "toys").await;
    app
}

async fn product(app: &TestApp, sku: &str, stock: i64) -> Uuid {
    let mut body = product_body(sku, "toys", 100);
    body["initial_stock"] = json!(stock);
    let created = app.post("/api/products", &admin(), body).await.expect(201);
    id(&created).parse().unwrap()
}

fn lines(lines: &[(Uuid, u32)]) -> Vec<OrderLine> {
    lines
        .iter()
        .map(|(product_id, quantity)| OrderLine {
            product_id: *product_id,
            quantity: *quantity,
        })
        .collect()
}

fn placed(order_id: Uuid, order_lines: &[(Uuid, u32)]) -> Envelope {
    let event = OrderPlaced {
        order_id,
        user_id: Uuid::now_v7(),
        lines: lines(order_lines),
        total: Money::new(100, Currency::parse("USD").unwrap()).unwrap(),
    };
    Envelope::new("order", order_id, 1, &event, Cause::new_flow())
}

fn confirmed(order_id: Uuid) -> Envelope {
    Envelope::new(
        "order",
        order_id,
        2,
        &OrderConfirmed {
            order_id,
            user_id: Uuid::now_v7(),
        },
        Cause::new_flow(),
    )
}

fn cancelled(order_id: Uuid) -> Envelope {
    let event = OrderCancelled {
        order_id,
        user_id: Uuid::now_v7(),
        reason: "payment_declined".into(),
    };
    Envelope::new("order", order_id, 2, &event, Cause::new_flow())
}

/// What the consumer runner does with one event: the handler in one transaction.
async fn apply(db: &PgPool, event: &Envelope) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    consumer::handle(&mut tx, &StockReservations, event).await?;
    tx.commit().await?;
    Ok(())
}

/// (on hand, reserved, sold)
async fn levels(db: &PgPool, product_id: Uuid) -> (i32, i32, i32) {
    sqlx::query_as("SELECT on_hand, reserved, sold FROM inventory WHERE product_id = $1")
        .bind(product_id)
        .fetch_one(db)
        .await
        .unwrap()
}

async fn status(db: &PgPool, order_id: Uuid) -> Option<String> {
    sqlx::query_scalar("SELECT status FROM reservations WHERE order_id = $1")
        .bind(order_id)
        .fetch_optional(db)
        .await
        .unwrap()
}

async fn held_lines(db: &PgPool, order_id: Uuid) -> Vec<(Uuid, i32)> {
    sqlx::query_as("SELECT product_id, quantity FROM reservation_lines WHERE order_id = $1 ORDER BY product_id")
        .bind(order_id)
        .fetch_all(db)
        .await
        .unwrap()
}

/// For every product: on hand + sold is the stock it started with, nothing is negative,
/// reserved is exactly what held reservations hold and sold what committed ones hold.
async fn assert_invariant(db: &PgPool, initial: &[(Uuid, i32)]) {
    for (product_id, stock) in initial {
        let (on_hand, reserved, sold) = levels(db, *product_id).await;
        assert_eq!(on_hand + sold, *stock, "stock made or lost for {product_id}");
        assert!(on_hand - reserved >= 0 && reserved >= 0 && sold >= 0);
        let by_status = |status: &'static str| {
            sqlx::query_scalar::<_, i64>(
                "SELECT COALESCE(sum(l.quantity), 0) FROM reservation_lines l JOIN reservations r USING (order_id)
                 WHERE r.status = $1 AND l.product_id = $2",
            )
            .bind(status)
            .bind(product_id)
            .fetch_one(db)
        };
        assert_eq!(by_status("held").await.unwrap(), i64::from(reserved));
        assert_eq!(by_status("committed").await.unwrap(), i64::from(sold));
    }
}

#[track_caller]
fn assert_reacts_to(event: &Envelope, cause: &Envelope) {
    assert_eq!(event.source, "product");
    assert_eq!(event.correlation_id, cause.correlation_id, "stays in the order's flow");
    assert_eq!(event.causation_id, Some(cause.id));
}

fn adjusted(events: &[Envelope]) -> Vec<(InventoryAdjusted, i64)> {
    events
        .iter()
        .filter(|e| e.event_type == "inventory.adjusted")
        .map(|e| {
            let event = e.decode::<InventoryAdjusted>().unwrap();
            assert_eq!(e.aggregate_id, event.product_id);
            (event, e.aggregate_version)
        })
        .collect()
}

fn level(product_id: Uuid, on_hand: i32, reserved: i32, sold: i32) -> InventoryAdjusted {
    InventoryAdjusted {
        product_id,
        on_hand,
        reserved,
        sold,
    }
}

#[tokio::test]
async fn a_placed_order_holds_stock_for_every_line() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = shop(&db).await;
    let (a, b) = (product(&app, "SKU-A", 10).await, product(&app, "SKU-B", 5).await);
    clear_outbox(&db).await;
    let order = Uuid::now_v7();
    let event = placed(order, &[(b, 2), (a, 3), (a, 1)]);
    apply(&db, &event).await.unwrap();

    assert_eq!(levels(&db, a).await, (10, 4, 0));
    assert_eq!(levels(&db, b).await, (5, 2, 0));
    assert_eq!(status(&db, order).await.as_deref(), Some("held"));
    assert_eq!(
        held_lines(&db, order).await,
        vec![(a, 4), (b, 2)],
        "one line per product"
    );

    let events = outbox(&db).await;
    assert_eq!(events.len(), 3, "{events:#?}");
    assert_eq!(events[0].event_type, "inventory.reserved");
    assert_eq!((events[0].aggregate_id, events[0].aggregate_version), (order, 1));
    assert_eq!(
        events[0].decode::<InventoryReserved>().unwrap(),
        InventoryReserved {
            order_id: order,
            lines: lines(&[(a, 4), (b, 2)])
        }
    );
    assert_eq!(adjusted(&events), vec![(level(a, 10, 4, 0), 2), (level(b, 5, 2, 0), 2)]);
    events.iter().for_each(|e| assert_reacts_to(e, &event));

    let inventory = app
        .get(&format!("/api/products/{a}/inventory"), &admin())
        .await
        .expect(200);
    assert_eq!(
        inventory,
        json!({"product_id": a, "on_hand": 10, "reserved": 4, "available": 6, "sold": 0})
    );
    assert_invariant(&db, &[(a, 10), (b, 5)]).await;
}

#[tokio::test]
async fn an_order_that_cannot_be_held_in_full_holds_nothing() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = shop(&db).await;
    let plenty = product(&app, "SKU-A", 10).await;
    let scarce = product(&app, "SKU-B", 1).await;
    let retired = product(&app, "SKU-C", 50).await;
    app.post(&format!("/api/products/{retired}/deactivate"), &admin(), json!({}))
        .await
        .expect(200);
    let unknown = Uuid::now_v7();
    clear_outbox(&db).await;
    let before = snapshot(&db).await;

    let order = Uuid::now_v7();
    let event = placed(order, &[(plenty, 3), (scarce, 2), (retired, 1), (unknown, 4)]);
    apply(&db, &event).await.unwrap();

    assert_eq!(snapshot(&db).await, before, "no stock held");
    assert_eq!(status(&db, order).await.as_deref(), Some("rejected"));
    assert!(held_lines(&db, order).await.is_empty());
    let events = outbox(&db).await;
    assert_eq!(events.len(), 1, "a rejection and no level changes: {events:#?}");
    assert_eq!(events[0].event_type, "inventory.rejected");
    assert_eq!((events[0].aggregate_id, events[0].aggregate_version), (order, 1));
    assert_reacts_to(&events[0], &event);
    let rejected = |product_id, requested, available, reason: &str| RejectedLine {
        product_id,
        requested,
        available,
        reason: reason.into(),
    };
    assert_eq!(
        events[0].decode::<InventoryRejected>().unwrap(),
        InventoryRejected {
            order_id: order,
            lines: vec![
                rejected(scarce, 2, 1, "out_of_stock"),
                rejected(retired, 1, 0, "inactive_product"),
                rejected(unknown, 4, 0, "unknown_product"),
            ],
        }
    );
    assert_invariant(&db, &[(plenty, 10), (scarce, 1), (retired, 50)]).await;
}

#[tokio::test]
async fn a_repeated_placement_changes_nothing() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = shop(&db).await;
    let a = product(&app, "SKU-A", 3).await;
    clear_outbox(&db).await;
    let held = Uuid::now_v7();
    apply(&db, &placed(held, &[(a, 2)])).await.unwrap();
    let rejected = Uuid::now_v7();
    apply(&db, &placed(rejected, &[(a, 2)])).await.unwrap();
    assert_eq!(status(&db, rejected).await.as_deref(), Some("rejected"));
    let before = (snapshot(&db).await, outbox(&db).await);

    // The same orders placed again (new event ids, so the inbox would not catch them) — the
    // rejected one even asking for what is now available.
    apply(&db, &placed(held, &[(a, 1)])).await.unwrap();
    apply(&db, &placed(rejected, &[(a, 1)])).await.unwrap();
    assert_eq!((snapshot(&db).await, outbox(&db).await), before);
    assert_eq!(status(&db, rejected).await.as_deref(), Some("rejected"));
    assert_eq!(held_lines(&db, held).await, vec![(a, 2)]);
    assert_invariant(&db, &[(a, 3)]).await;
}

#[tokio::test]
async fn a_confirmed_order_turns_held_stock_into_sold_stock() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = shop(&db).await;
    let (a, b) = (product(&app, "SKU-A", 10).await, product(&app, "SKU-B", 5).await);
    let order = Uuid::now_v7();
    apply(&db, &placed(order, &[(a, 3), (b, 5)])).await.unwrap();
    clear_outbox(&db).await;

    let event = confirmed(order);
    apply(&db, &event).await.unwrap();
    assert_eq!(levels(&db, a).await, (7, 0, 3));
    assert_eq!(levels(&db, b).await, (0, 0, 5));
    assert_eq!(status(&db, order).await.as_deref(), Some("committed"));
    let events = outbox(&db).await;
    assert_eq!(events.len(), 3, "{events:#?}");
    assert_eq!(events[0].event_type, "inventory.committed");
    assert_eq!((events[0].aggregate_id, events[0].aggregate_version), (order, 2));
    assert_eq!(
        events[0].decode::<InventoryCommitted>().unwrap(),
        InventoryCommitted {
            order_id: order,
            lines: lines(&[(a, 3), (b, 5)])
        }
    );
    assert_eq!(adjusted(&events), vec![(level(a, 7, 0, 3), 3), (level(b, 0, 0, 5), 3)]);
    events.iter().for_each(|e| assert_reacts_to(e, &event));
    let inventory = app
        .get(&format!("/api/products/{a}/inventory"), &admin())
        .await
        .expect(200);
    assert_eq!(
        inventory,
        json!({"product_id": a, "on_hand": 7, "reserved": 0, "available": 7, "sold": 3})
    );

    // Confirming again changes nothing.
    clear_outbox(&db).await;
    apply(&db, &confirmed(order)).await.unwrap();
    assert_eq!(levels(&db, a).await, (7, 0, 3));
    assert!(outbox(&db).await.is_empty());
    assert_invariant(&db, &[(a, 10), (b, 5)]).await;
}

#[tokio::test]
async fn a_cancelled_order_releases_what_it_held() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = shop(&db).await;
    let a = product(&app, "SKU-A", 10).await;
    let order = Uuid::now_v7();
    apply(&db, &placed(order, &[(a, 4)])).await.unwrap();
    clear_outbox(&db).await;

    let event = cancelled(order);
    apply(&db, &event).await.unwrap();
    assert_eq!(levels(&db, a).await, (10, 0, 0));
    assert_eq!(status(&db, order).await.as_deref(), Some("released"));
    let events = outbox(&db).await;
    assert_eq!(events.len(), 2, "{events:#?}");
    assert_eq!(events[0].event_type, "inventory.released");
    assert_eq!((events[0].aggregate_id, events[0].aggregate_version), (order, 2));
    assert_eq!(
        events[0].decode::<InventoryReleased>().unwrap(),
        InventoryReleased {
            order_id: order,
            lines: lines(&[(a, 4)])
        }
    );
    assert_eq!(adjusted(&events), vec![(level(a, 10, 0, 0), 3)]);
    events.iter().for_each(|e| assert_reacts_to(e, &event));

    // A second cancellation, or a confirmation that lost the race, changes nothing.
    clear_outbox(&db).await;
    apply(&db, &cancelled(order)).await.unwrap();
    apply(&db, &confirmed(order)).await.unwrap();
    assert_eq!(levels(&db, a).await, (10, 0, 0));
    assert_eq!(status(&db, order).await.as_deref(), Some("released"));
    assert!(outbox(&db).await.is_empty());
    assert_invariant(&db, &[(a, 10)]).await;
}

#[tokio::test]
async fn an_order_cancelled_after_confirmation_puts_its_stock_back() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = shop(&db).await;
    let a = product(&app, "SKU-A", 10).await;
    let order = Uuid::now_v7();
    apply(&db, &placed(order, &[(a, 4)])).await.unwrap();
    apply(&db, &confirmed(order)).await.unwrap();
    assert_eq!(levels(&db, a).await, (6, 0, 4));
    clear_outbox(&db).await;

    let event = cancelled(order);
    apply(&db, &event).await.unwrap();
    assert_eq!(levels(&db, a).await, (10, 0, 0));
    assert_eq!(status(&db, order).await.as_deref(), Some("released"));
    let events = outbox(&db).await;
    assert_eq!(events.len(), 2, "{events:#?}");
    assert_eq!(events[0].event_type, "inventory.released");
    assert_eq!((events[0].aggregate_id, events[0].aggregate_version), (order, 3));
    assert_eq!(
        events[0].decode::<InventoryReleased>().unwrap(),
        InventoryReleased {
            order_id: order,
            lines: lines(&[(a, 4)])
        }
    );
    assert_eq!(adjusted(&events), vec![(level(a, 10, 0, 0), 4)]);

    clear_outbox(&db).await;
    apply(&db, &cancelled(order)).await.unwrap();
    assert_eq!(levels(&db, a).await, (10, 0, 0));
    assert!(outbox(&db).await.is_empty());
    assert_invariant(&db, &[(a, 10)]).await;
}

#[tokio::test]
async fn a_cancellation_that_overtakes_the_placement_leaves_a_tombstone() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = shop(&db).await;
    let a = product(&app, "SKU-A", 10).await;
    clear_outbox(&db).await;
    let order = Uuid::now_v7();

    apply(&db, &cancelled(order)).await.unwrap();
    assert_eq!(status(&db, order).await.as_deref(), Some("released"));
    assert!(held_lines(&db, order).await.is_empty());
    // The late placement and confirmation hold nothing.
    apply(&db, &placed(order, &[(a, 4)])).await.unwrap();
    apply(&db, &confirmed(order)).await.unwrap();
    apply(&db, &cancelled(order)).await.unwrap();
    assert_eq!(levels(&db, a).await, (10, 0, 0));
    assert_eq!(status(&db, order).await.as_deref(), Some("released"));
    assert!(outbox(&db).await.is_empty());
    assert_invariant(&db, &[(a, 10)]).await;
}

#[tokio::test]
async fn confirming_or_cancelling_what_holds_nothing_changes_nothing() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = shop(&db).await;
    let a = product(&app, "SKU-A", 1).await;
    let rejected = Uuid::now_v7();
    apply(&db, &placed(rejected, &[(a, 5)])).await.unwrap();
    clear_outbox(&db).await;
    let before = snapshot(&db).await;

    // Confirmed before it was ever placed here (out of order): not even a tombstone.
    let unknown = Uuid::now_v7();
    apply(&db, &confirmed(unknown)).await.unwrap();
    assert_eq!(status(&db, unknown).await, None);
    apply(&db, &confirmed(rejected)).await.unwrap();
    apply(&db, &cancelled(rejected)).await.unwrap();
    assert_eq!(status(&db, rejected).await.as_deref(), Some("rejected"));
    assert_eq!(snapshot(&db).await, before);
    assert!(outbox(&db).await.is_empty());
}

#[tokio::test]
async fn events_the_handler_cannot_read_fail_and_change_nothing() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = shop(&db).await;
    let a = product(&app, "SKU-A", 10).await;
    clear_outbox(&db).await;
    let order = Uuid::now_v7();

    let mut garbled = placed(order, &[(a, 1)]);
    garbled.data = json!({"order_id": order, "lines": "many"});
    let mut future = placed(order, &[(a, 1)]);
    future.schema_version = 2;
    let mut negative = placed(order, &[(a, 1)]);
    negative.data["lines"][0]["quantity"] = json!(-1);
    let unsubscribed = Envelope::new(
        "order",
        order,
        2,
        &shop_contracts::events::OrderRejected {
            order_id: order,
            user_id: Uuid::now_v7(),
            reason: "x".into(),
        },
        Cause::new_flow(),
    );
    for event in [garbled, future, negative, unsubscribed] {
        let error = apply(&db, &event).await.expect_err(&event.event_type);
        assert!(!format!("{error:#}").is_empty());
    }
    assert_eq!(levels(&db, a).await, (10, 0, 0));
    assert_eq!(count(&db, "reservations").await, 0);
    assert!(outbox(&db).await.is_empty());
}

#[tokio::test]
async fn stock_held_for_orders_cannot_be_adjusted_away() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = shop(&db).await;
    let a = product(&app, "SKU-A", 10).await;
    apply(&db, &placed(Uuid::now_v7(), &[(a, 4)])).await.unwrap();
    let path = format!("/api/products/{a}/stock-adjustments");
    app.post(&path, &admin(), json!({"delta": -7, "reason": "stock-take"}))
        .await
        .expect_problem(409, "conflict");
    let inventory = app
        .post(&path, &admin(), json!({"delta": -6, "reason": "stock-take"}))
        .await
        .expect(200);
    assert_eq!(
        inventory,
        json!({"product_id": a, "on_hand": 4, "reserved": 4, "available": 0, "sold": 0})
    );
    let events = outbox(&db).await;
    assert_eq!(adjusted(&events).last(), Some(&(level(a, 4, 4, 0), 3)));
}

/// Applies `event` like the consumer runner, retrying if PostgreSQL gives up on the
/// transaction (serialization failure or deadlock). Returns how many retries it took.
async fn apply_retrying(db: &PgPool, event: &Envelope) -> u32 {
    let mut retries = 0;
    loop {
        match apply(db, event).await {
            Ok(()) => return retries,
            Err(error) if retries < 10 && is_transient(&error) => retries += 1,
            Err(error) => panic!("{} failed: {error:#}", event.event_type),
        }
    }
}

fn is_transient(error: &anyhow::Error) -> bool {
    let code = error
        .downcast_ref::<sqlx::Error>()
        .and_then(|e| e.as_database_error())
        .and_then(|e| e.code().map(|c| c.into_owned()));
    matches!(code.as_deref(), Some("40001" | "40P01"))
}

/// A pool of its own, so that many transactions really are open at once.
async fn wide_pool(db: &PgPool) -> PgPool {
    PgPoolOptions::new()
        .max_connections(12)
        .connect_with((*db.connect_options()).clone())
        .await
        .unwrap()
}

/// Applies all events at once, each from its own task; returns the total retries.
async fn apply_concurrently(db: &PgPool, events: Vec<Envelope>) -> u32 {
    let mut tasks = JoinSet::new();
    for event in events {
        let db = db.clone();
        tasks.spawn(async move { apply_retrying(&db, &event).await });
    }
    let mut retries = 0;
    while let Some(result) = tasks.join_next().await {
        retries += result.unwrap();
    }
    retries
}

#[tokio::test]
async fn fifty_checkouts_for_ten_units_hold_exactly_ten() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = shop(&db).await;
    let a = product(&app, "SKU-A", 10).await;
    clear_outbox(&db).await;
    let pool = wide_pool(&db).await;

    let orders: Vec<Uuid> = (0..50).map(|_| Uuid::now_v7()).collect();
    apply_concurrently(&pool, orders.iter().map(|order| placed(*order, &[(a, 1)])).collect()).await;

    assert_eq!(levels(&db, a).await, (10, 10, 0));
    let statuses: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM reservations GROUP BY status ORDER BY status")
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(statuses, vec![("held".into(), 10), ("rejected".into(), 40)]);
    let events = outbox(&db).await;
    let of_type = |t: &str| events.iter().filter(|e| e.event_type == t).count();
    assert_eq!((of_type("inventory.reserved"), of_type("inventory.rejected")), (10, 40));
    for event in events.iter().filter(|e| e.event_type == "inventory.rejected") {
        let rejected = event.decode::<InventoryRejected>().unwrap();
        assert_eq!(rejected.lines.len(), 1);
        assert_eq!(
            (rejected.lines[0].available, rejected.lines[0].reason.as_str()),
            (0, "out_of_stock")
        );
    }
    // Every hold saw the one before it: the level versions form an unbroken sequence.
    let mut versions: Vec<(i32, i64)> = adjusted(&events).into_iter().map(|(l, v)| (l.reserved, v)).collect();
    versions.sort();
    assert_eq!(versions, (1..=10).map(|n| (n, i64::from(n) + 1)).collect::<Vec<_>>());
    assert_invariant(&db, &[(a, 10)]).await;

    // The ten winners settle concurrently, half confirmed and half cancelled.
    let held: Vec<Uuid> = sqlx::query_scalar("SELECT order_id FROM reservations WHERE status = 'held'")
        .fetch_all(&db)
        .await
        .unwrap();
    let settle = held
        .iter()
        .enumerate()
        .map(|(i, order)| {
            if i % 2 == 0 {
                confirmed(*order)
            } else {
                cancelled(*order)
            }
        })
        .collect();
    apply_concurrently(&pool, settle).await;
    assert_eq!(levels(&db, a).await, (5, 0, 5));
    assert_invariant(&db, &[(a, 10)]).await;
}

#[tokio::test]
async fn checkouts_of_the_same_products_in_any_line_order_never_deadlock() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = shop(&db).await;
    let (a, b, c) = (
        product(&app, "SKU-A", 100).await,
        product(&app, "SKU-B", 100).await,
        product(&app, "SKU-C", 100).await,
    );
    let pool = wide_pool(&db).await;
    let orders: Vec<Uuid> = (0..30).map(|_| Uuid::now_v7()).collect();
    // Every order wants all three products, listed in different orders.
    let placements = orders
        .iter()
        .enumerate()
        .map(|(i, order)| match i % 3 {
            0 => placed(*order, &[(a, 1), (b, 2), (c, 3)]),
            1 => placed(*order, &[(c, 3), (b, 2), (a, 1)]),
            _ => placed(*order, &[(b, 2), (c, 3), (a, 1)]),
        })
        .collect();
    assert_eq!(
        apply_concurrently(&pool, placements).await,
        0,
        "no transaction had to be retried"
    );
    assert_eq!(levels(&db, a).await, (100, 30, 0));
    assert_eq!(levels(&db, c).await, (100, 90, 0));

    let settle = orders
        .iter()
        .enumerate()
        .map(|(i, order)| {
            if i % 2 == 0 {
                confirmed(*order)
            } else {
                cancelled(*order)
            }
        })
        .collect();
    assert_eq!(apply_concurrently(&pool, settle).await, 0);
    assert_eq!(levels(&db, a).await, (85, 0, 15));
    assert_eq!(levels(&db, b).await, (70, 0, 30));
    assert_eq!(levels(&db, c).await, (55, 0, 45));
    assert_invariant(&db, &[(a, 100), (b, 100), (c, 100)]).await;
}
