//! Carts and orders split over several databases by a hash of the user id: every customer's
//! data on their one shard, order ids naming theirs, and the administrators' listing gathered
//! from all of them.

use std::collections::HashSet;

use order_service::shards::{ShardId, Shards};
use serde_json::Value;
use shop_contracts::catalog::ProductSnapshot;
use shop_testkit::{Actor, TestApp, TestDatabase};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{apply, checked_out, snapshot};

struct Sharded {
    app: TestApp,
    shards: Shards,
    mug: ProductSnapshot,
    _databases: Vec<TestDatabase>,
}

/// The order service over `count` fresh databases, each with the same product for sale.
async fn sharded(count: usize) -> Sharded {
    let mut pools = Vec::new();
    let mut databases = Vec::new();
    for _ in 0..count {
        let (db, database) = TestDatabase::migrated("order_shard", &order_service::MIGRATOR).await;
        pools.push(db);
        databases.push(database);
    }
    let mug = snapshot(1200, "EUR");
    for db in &pools {
        apply(db, &mug).await;
    }
    let shards = Shards::over(pools);
    Sharded {
        app: TestApp::spawn(order_service::sharded_app(shards.clone(), shop_testkit::identity_key())).await,
        shards,
        mug,
        _databases: databases,
    }
}

async fn order_ids(db: &PgPool) -> HashSet<Uuid> {
    sqlx::query_scalar("SELECT id FROM orders")
        .fetch_all(db)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

fn id(order: &Value) -> Uuid {
    order["id"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_customers_cart_and_orders_live_on_their_shard_and_the_order_id_names_it() {
    let shop = sharded(2).await;
    let mut placed = Vec::new();
    for _ in 0..12 {
        let customer = Actor::customer(Uuid::now_v7());
        let order = checked_out(&shop.app, &customer, &[(&shop.mug, 1)], "tok_visa").await;
        placed.push((customer, id(&order)));
    }

    for (customer, order) in &placed {
        let home = ShardId::of_user(customer.user_id(), 2);
        assert_eq!(ShardId::of_order(*order, 2), home, "the id names the customer's shard");
        assert!(
            order_ids(&shop.shards.iter().nth(home.index).unwrap().db)
                .await
                .contains(order)
        );
        let other = &shop.shards.iter().nth(1 - home.index).unwrap().db;
        assert!(!order_ids(other).await.contains(order), "stored on one shard only");
        // Found by id from the id alone; still only by its customer.
        let read = shop
            .app
            .get(&format!("/api/orders/{order}"), customer)
            .await
            .expect(200);
        assert_eq!(read["user_id"].as_str().unwrap(), customer.user_id().to_string());
        shop.app
            .get(&format!("/api/orders/{order}"), &Actor::customer(Uuid::now_v7()))
            .await
            .expect(404);
        let listed = shop.app.get("/api/orders", customer).await.expect(200);
        assert_eq!(listed["items"].as_array().unwrap().len(), 1);
        shop.app
            .post(&format!("/api/orders/{order}/cancel"), customer, serde_json::json!({}))
            .await
            .expect(200);
    }
    let per_shard: Vec<usize> = futures_util::future::join_all(shop.shards.iter().map(|s| order_ids(&s.db)))
        .await
        .iter()
        .map(HashSet::len)
        .collect();
    assert!(
        per_shard.iter().all(|&n| n > 0),
        "both shards hold orders: {per_shard:?}"
    );
    // An id made up for another shard than any order's is simply not found.
    let unknown = ShardId { index: 1, count: 2 }.new_order_id();
    shop.app
        .get(&format!("/api/orders/{unknown}"), &Actor::admin(Uuid::now_v7()))
        .await
        .expect(404);
}

/// Every page of the gathered listing, following `next_cursor` to the end.
async fn every_page(app: &TestApp, admin: &Actor, limit: u32) -> Vec<Vec<Value>> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            None => format!("/api/admin/orders?limit={limit}"),
            Some(cursor) => format!("/api/admin/orders?limit={limit}&cursor={cursor}"),
        };
        let page = app.get(&path, admin).await.expect(200);
        pages.push(page["items"].as_array().unwrap().clone());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return pages,
        }
    }
}

#[tokio::test]
async fn the_admin_listing_pages_through_every_shard_returning_each_order_exactly_once() {
    let shop = sharded(3).await;
    for _ in 0..40 {
        let customer = Actor::customer(Uuid::now_v7());
        checked_out(&shop.app, &customer, &[(&shop.mug, 1)], "tok_visa").await;
    }
    // Many orders placed at the same instant on different shards: the id breaks the tie, the
    // same way on every shard and in the merge.
    let mut expected = HashSet::new();
    for shard in shop.shards.iter() {
        sqlx::query("UPDATE orders SET created_at = timestamptz '2026-12-01 12:00:00+00' + (get_byte(uuid_send(id), 14) % 3) * interval '1 second'")
            .execute(&shard.db)
            .await
            .unwrap();
        expected.extend(order_ids(&shard.db).await);
    }
    assert_eq!(expected.len(), 40);
    let admin = Actor::admin(Uuid::now_v7());

    for limit in [1, 7, 40, 100] {
        let pages = every_page(&shop.app, &admin, limit).await;
        let listed: Vec<&Value> = pages.iter().flatten().collect();
        let ids: Vec<Uuid> = listed.iter().map(|order| id(order)).collect();
        let unique: HashSet<Uuid> = ids.iter().copied().collect();
        assert_eq!(ids.len(), 40, "limit {limit}: every order once, no more");
        assert_eq!(unique, expected, "limit {limit}: every order of every shard");
        assert!(pages.iter().all(|page| page.len() <= limit as usize));
        let keys: Vec<(String, Uuid)> = listed
            .iter()
            .map(|order| (order["created_at"].as_str().unwrap().to_owned(), id(order)))
            .collect();
        assert!(
            keys.windows(2).all(|pair| pair[0] > pair[1]),
            "limit {limit}: newest first"
        );
    }
}

#[tokio::test]
async fn the_admin_listing_is_for_administrators_and_refuses_bad_pages() {
    let shop = sharded(2).await;
    let customer = Actor::customer(Uuid::now_v7());
    shop.app.get("/api/admin/orders", &customer).await.expect(403);
    shop.app.get("/api/admin/orders", &Actor::Anonymous).await.expect(401);
    let admin = Actor::admin(Uuid::now_v7());
    shop.app
        .get("/api/admin/orders?limit=0", &admin)
        .await
        .expect_invalid("limit");
    shop.app
        .get("/api/admin/orders?cursor=nonsense", &admin)
        .await
        .expect_invalid("cursor");
    let empty = shop.app.get("/api/admin/orders", &admin).await.expect(200);
    assert_eq!(empty["items"], serde_json::json!([]));
    assert_eq!(empty["next_cursor"], Value::Null);
}

#[tokio::test]
async fn the_shards_are_configured_by_their_urls_and_refuse_sharing_a_database_or_a_replica() {
    let (db, database) = TestDatabase::migrated("order_shard", &order_service::MIGRATOR).await;
    let further = TestDatabase::create("order_shard").await;
    let url = |database: &TestDatabase| database.url.clone();
    let config = |extra: &[&str]| -> order_service::Config {
        let args = ["order-service", "--database-url", &url(&database)];
        shop_testkit::config_from_args(args.iter().copied().chain(extra.iter().copied()))
    };

    // Empty (as compose passes an unset variable): unsharded.
    let unsharded = config(&["--shard-database-urls", ""])
        .connect_shards(db.clone())
        .await
        .unwrap();
    assert_eq!(unsharded.count(), 1);
    // A further database: two shards, the new one migrated on the way.
    let two = config(&["--shard-database-urls", &url(&further)])
        .connect_shards(db.clone())
        .await
        .unwrap();
    assert_eq!(two.count(), 2);
    let migrated: bool = sqlx::query_scalar("SELECT to_regclass('orders') IS NOT NULL")
        .fetch_one(&two.iter().nth(1).unwrap().db)
        .await
        .unwrap();
    assert!(migrated);

    let shared = config(&["--shard-database-urls", &url(&database)])
        .connect_shards(db.clone())
        .await;
    let error = shared.err().expect("shard 0 twice is refused").to_string();
    assert!(error.contains("is another shard's database"), "{error}");
    let replica = config(&[
        "--shard-database-urls",
        &url(&further),
        "--database-read-url",
        &url(&further),
    ])
    .connect_shards(db.clone())
    .await;
    let error = replica.err().expect("a replica with shards is refused").to_string();
    assert!(error.contains("not both"), "{error}");
}

#[tokio::test]
async fn the_service_stays_ready_while_any_shard_answers() {
    let shop = sharded(2).await;
    let on = |index: usize| {
        let user = std::iter::repeat_with(Uuid::now_v7)
            .find(|user| ShardId::of_user(*user, 2).index == index)
            .unwrap();
        Actor::customer(user)
    };
    let (home, away) = (on(0), on(1));
    let shard = |index: usize| shop.shards.iter().nth(index).unwrap().db.clone();

    shard(1).close().await;
    shop.app.get("/readyz", &Actor::Anonymous).await.expect(200);
    shop.app.get("/api/cart", &home).await.expect(200);
    shop.app
        .get("/api/cart", &away)
        .await
        .expect_problem(503, "unavailable");
    shop.app
        .get("/api/admin/orders", &Actor::admin(Uuid::now_v7()))
        .await
        .expect_problem(503, "unavailable");

    shard(0).close().await;
    shop.app
        .get("/readyz", &Actor::Anonymous)
        .await
        .expect_problem(503, "unavailable");
}
