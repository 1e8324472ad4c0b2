//! The product replica from `product.*` events (the `order-catalog` consumer), and the
//! start-up catch-up from the catalog feed that covers what is older than the event stream.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{Router, http::StatusCode, response::IntoResponse, routing::get};
use order_service::shards::Shards;
use order_service::{catalog_sync, events::catalog::CatalogHandler};
use shop_contracts::{
    catalog::{CATALOG_FEED_PATH, CatalogPage},
    events::{ProductCreated, ProductDeactivated, ProductUpdated},
};
use shop_messaging::{EventBus, consumer, outbox::outgoing};
use shop_testkit::{TestBus, eventually};

use crate::helpers::{event, handle, next_version, replica, serve, snapshot};

#[tokio::test]
async fn product_events_keep_the_replica_current() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let mug = snapshot(1000, "USD");
    let cheaper = next_version(&mug, |p| p.price.amount_minor = 800);
    let retired = next_version(&cheaper, |p| p.active = false);

    handle(
        &db,
        &CatalogHandler,
        &event("product", mug.id, 1, &ProductCreated { product: mug.clone() }),
    )
    .await
    .unwrap();
    assert_eq!(replica(&db).await, [(mug.id, 1, 1000, true)]);
    handle(
        &db,
        &CatalogHandler,
        &event(
            "product",
            mug.id,
            2,
            &ProductUpdated {
                product: cheaper.clone(),
            },
        ),
    )
    .await
    .unwrap();
    assert_eq!(replica(&db).await, [(mug.id, 2, 800, true)]);
    handle(
        &db,
        &CatalogHandler,
        &event("product", mug.id, 3, &ProductDeactivated { product: retired }),
    )
    .await
    .unwrap();
    assert_eq!(replica(&db).await, [(mug.id, 3, 800, false)]);
}

#[tokio::test]
async fn stale_and_repeated_product_events_change_nothing() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let mug = snapshot(1000, "USD");
    let v2 = next_version(&mug, |p| p.price.amount_minor = 800);
    let v3 = next_version(&v2, |p| p.name = "Renamed".into());

    // Out of order: the newest first, then the older ones, then the newest again.
    for product in [&v3, &mug, &v2, &v3] {
        let update = ProductUpdated {
            product: product.clone(),
        };
        handle(
            &db,
            &CatalogHandler,
            &event("product", mug.id, product.version, &update),
        )
        .await
        .unwrap();
    }

    assert_eq!(replica(&db).await, [(mug.id, 3, 800, true)]);
    let name: String = sqlx::query_scalar("SELECT name FROM product_replica")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(name, "Renamed");
}

/// A catch-up hands the consumer hundreds of events at once, applied with one statement: the
/// replica ends as if they had been applied one by one, whatever their order and repeats.
#[tokio::test]
async fn a_batch_of_product_events_leaves_the_replica_as_one_by_one_would() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let mug = snapshot(1000, "USD");
    let v2 = next_version(&mug, |p| p.price.amount_minor = 800);
    let v3 = next_version(&v2, |p| p.name = "Renamed".into());
    let lamp = snapshot(2500, "EUR");
    let retired_lamp = next_version(&lamp, |p| p.active = false);
    let update = |product: &shop_contracts::catalog::ProductSnapshot| {
        event(
            "product",
            product.id,
            product.version,
            &ProductUpdated {
                product: product.clone(),
            },
        )
    };
    let v3_event = update(&v3);
    // The newest of the mug first, its older versions after; the lamp in order; one event twice.
    let events = [
        update(&mug),
        v3_event.clone(),
        update(&v2),
        update(&lamp),
        update(&retired_lamp),
        v3_event,
    ];
    let batch: Vec<_> = events.iter().collect();

    let fresh = consumer::apply_batch(&db, "order-catalog", &CatalogHandler, &batch)
        .await
        .unwrap();
    assert_eq!(fresh, [true, true, true, true, true, false], "the repeat is recognised");
    let mut expected = vec![(mug.id, 3, 800, true), (lamp.id, 2, 2500, false)];
    expected.sort();
    assert_eq!(replica(&db).await, expected);
    let name: String = sqlx::query_scalar("SELECT name FROM product_replica WHERE product_id = $1")
        .bind(mug.id)
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(name, "Renamed");

    // Delivered again (a redelivery after a lost acknowledgement): nothing is new.
    let again = consumer::apply_batch(&db, "order-catalog", &CatalogHandler, &batch)
        .await
        .unwrap();
    assert!(again.iter().all(|fresh| !fresh));
}

#[tokio::test]
async fn malformed_product_events_fail_and_change_nothing() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let mut garbled = event(
        "product",
        uuid::Uuid::now_v7(),
        1,
        &ProductCreated {
            product: snapshot(1, "USD"),
        },
    );
    garbled.data = serde_json::json!({"product": {"id": "?"}});
    assert!(handle(&db, &CatalogHandler, &garbled).await.is_err());
    let mut future = event(
        "product",
        uuid::Uuid::now_v7(),
        1,
        &ProductCreated {
            product: snapshot(1, "USD"),
        },
    );
    future.schema_version = 9;
    assert!(handle(&db, &CatalogHandler, &future).await.is_err());
    assert!(replica(&db).await.is_empty());
}

#[tokio::test]
async fn the_catalog_consumer_applies_product_events_from_jetstream() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let bus = TestBus::jetstream().await;
    let mug = snapshot(1000, "USD");
    let cheaper = next_version(&mug, |p| p.price.amount_minor = 750);
    let messaging = order_service::messaging(
        bus.bus.clone(),
        &Shards::from(db.clone()),
        bus.namespace.clone(),
        Duration::from_secs(3600),
    );

    let created = event("product", mug.id, 1, &ProductCreated { product: mug.clone() });
    let updated = event("product", mug.id, 2, &ProductUpdated { product: cheaper });
    for envelope in [&created, &updated] {
        bus.bus.publish(outgoing(&bus.namespace, envelope)).await.unwrap();
    }

    eventually("the replica has the updated product", async || {
        replica(&db).await == [(mug.id, 2, 750, true)]
    })
    .await;
    messaging.stop().await;
}

#[tokio::test]
async fn the_start_up_catch_up_waits_for_the_product_service() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let mug = snapshot(1000, "USD");
    let page = CatalogPage {
        items: vec![mug.clone()],
        next_after: None,
    };
    let requests = Arc::new(AtomicUsize::new(0));
    let seen = requests.clone();
    // Unavailable for the first two requests, as a product service still starting would be.
    let feed = serve(Router::new().route(
        CATALOG_FEED_PATH,
        get(move || {
            let page = page.clone();
            let attempt = seen.fetch_add(1, Ordering::SeqCst);
            async move {
                if attempt < 2 {
                    StatusCode::SERVICE_UNAVAILABLE.into_response()
                } else {
                    axum::Json(page).into_response()
                }
            }
        }),
    ))
    .await;

    tokio::time::timeout(
        Duration::from_secs(20),
        catalog_sync::catch_up(
            db.clone(),
            catalog_sync::Feed::http(feed, shop_testkit::identity_key()).unwrap(),
        ),
    )
    .await
    .expect("the catch-up finishes once the feed answers");

    assert_eq!(
        requests.load(Ordering::SeqCst),
        3,
        "one full read after two failures, then no more"
    );
    assert_eq!(replica(&db).await, [(mug.id, 1, 1000, true)]);
}
