//! The product replica: `apply_snapshot` keeps the newest version, and the catalog sync
//! pages through a product service's feed (here a stand-in serving fixed pages over HTTP).

use std::{
    io::Write,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use axum::{Router, http::StatusCode, response::IntoResponse, routing::get};
use order_service::{
    catalog_sync::{self, Feed},
    store,
};
use shop_contracts::catalog::{CATALOG_FEED_PATH, CatalogPage};

use crate::helpers::{apply, catalog_feed, next_version, replica, serve, snapshot};

#[tokio::test]
async fn apply_snapshot_keeps_the_newest_version() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let v1 = snapshot(1000, "USD");
    let v2 = next_version(&v1, |p| p.price.amount_minor = 1200);
    let v3 = next_version(&v2, |p| p.active = false);

    assert!(store::catalog::apply_snapshot(&db, &v1).await.unwrap());
    assert!(store::catalog::apply_snapshot(&db, &v3).await.unwrap());
    assert_eq!(replica(&db).await, [(v1.id, 3, 1200, false)]);

    // Late and repeated deliveries change nothing.
    assert!(!store::catalog::apply_snapshot(&db, &v2).await.unwrap());
    assert!(!store::catalog::apply_snapshot(&db, &v1).await.unwrap());
    assert!(!store::catalog::apply_snapshot(&db, &v3).await.unwrap());
    assert_eq!(replica(&db).await, [(v1.id, 3, 1200, false)]);

    let found = store::catalog::find_product(&db, v1.id).await.unwrap().unwrap();
    assert_eq!(
        (found.sku, found.name, found.price, found.active),
        (v3.sku, v3.name, v3.price, false)
    );
}

#[tokio::test]
async fn sync_pages_through_the_whole_feed() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let mut products: Vec<_> = (0..5).map(|i| snapshot(100 * (i + 1), "USD")).collect();
    products.sort_by_key(|p| p.id);
    let pages = vec![
        CatalogPage {
            items: products[..2].to_vec(),
            next_after: Some(products[1].id),
        },
        CatalogPage {
            items: products[2..4].to_vec(),
            next_after: Some(products[3].id),
        },
        CatalogPage {
            items: products[4..].to_vec(),
            next_after: None,
        },
    ];
    let (url, requests) = catalog_feed(pages).await;

    assert_eq!(catalog_sync::sync_catalog_once(&db, &feed(&url)).await.unwrap(), 5);

    let expected: Vec<_> = products.iter().map(|p| (p.id, 1, p.price.amount_minor, true)).collect();
    assert_eq!(replica(&db).await, expected);
    let requests = requests.lock().unwrap().clone();
    let afters: Vec<_> = requests.iter().map(|q| q.get("after").cloned()).collect();
    assert_eq!(
        afters,
        [None, Some(products[1].id.to_string()), Some(products[3].id.to_string())]
    );
    assert!(requests.iter().all(|q| q["limit"] == "500"), "{requests:?}");

    // A second round finds nothing new.
    assert_eq!(catalog_sync::sync_catalog_once(&db, &feed(&url)).await.unwrap(), 0);
    assert_eq!(replica(&db).await, expected);
}

#[tokio::test]
async fn sync_skips_snapshots_older_than_the_replica() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let kept = snapshot(1000, "USD");
    let newer = next_version(&next_version(&kept, |_| {}), |p| p.price.amount_minor = 900);
    apply(&db, &newer).await;
    let stale = next_version(&kept, |p| p.price.amount_minor = 100);
    let fresh = snapshot(500, "USD");
    let (url, _) = catalog_feed(vec![CatalogPage {
        items: vec![stale, fresh.clone()],
        next_after: None,
    }])
    .await;

    let changed = catalog_sync::sync_catalog_once(&db, &feed(&url)).await.unwrap();

    assert_eq!(changed, 1);
    let mut expected = vec![(kept.id, 3, 900, true), (fresh.id, 1, 500, true)];
    expected.sort();
    assert_eq!(replica(&db).await, expected);
}

#[tokio::test]
async fn sync_failures_are_errors_not_panics() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    // Nothing listens on a port that was just released.
    let unreachable: shop_platform::config::ServiceUrl = format!("http://127.0.0.1:{}", shop_testkit::free_port())
        .parse()
        .unwrap();
    let error = catalog_sync::sync_catalog_once(&db, &feed(&unreachable))
        .await
        .unwrap_err();
    assert!(
        format!("{error:#}").contains("cannot fetch the catalog feed"),
        "{error:#}"
    );

    let failing =
        serve(Router::new().route(CATALOG_FEED_PATH, get(|| async { StatusCode::SERVICE_UNAVAILABLE }))).await;
    assert!(catalog_sync::sync_catalog_once(&db, &feed(&failing)).await.is_err());

    let garbage = serve(Router::new().route(CATALOG_FEED_PATH, get(|| async { "{\"items\": 42}" }))).await;
    assert!(catalog_sync::sync_catalog_once(&db, &feed(&garbage)).await.is_err());

    // A feed whose cursor never moves on would otherwise be read forever.
    let product = snapshot(100, "USD");
    let stuck_page = CatalogPage {
        items: vec![product.clone()],
        next_after: Some(product.id),
    };
    let stuck = serve(Router::new().route(
        CATALOG_FEED_PATH,
        get(move || {
            let page = stuck_page.clone();
            async move { axum::Json(page) }
        }),
    ))
    .await;
    let error = catalog_sync::sync_catalog_once(&db, &feed(&stuck)).await.unwrap_err();
    assert!(format!("{error:#}").contains("cursor"), "{error:#}");

    assert_eq!(
        replica(&db).await,
        [(product.id, 1, 100, true)],
        "only the stuck feed's one page was applied"
    );
}

/// Log output captured from the current thread.
#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_product_service_that_answers_after_a_few_retries_is_not_a_warning() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("order", &order_service::MIGRATOR).await;
    let product = snapshot(100, "USD");
    let page = CatalogPage {
        items: vec![product.clone()],
        next_after: None,
    };
    // Still starting for the first two requests, as when both services start at once.
    let requests = Arc::new(AtomicUsize::new(0));
    let feed = serve(Router::new().route(
        CATALOG_FEED_PATH,
        get(move || {
            let (page, requests) = (page.clone(), requests.clone());
            async move {
                match requests.fetch_add(1, Ordering::SeqCst) {
                    0 | 1 => StatusCode::SERVICE_UNAVAILABLE.into_response(),
                    _ => axum::Json(page).into_response(),
                }
            }
        }),
    ))
    .await;
    let logs = CapturedLogs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _capturing = tracing::subscriber::set_default(subscriber);

    catalog_sync::catch_up(db.clone(), self::feed(&feed)).await;

    assert_eq!(replica(&db).await, [(product.id, 1, 100, true)]);
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(!logs.contains("WARN"), "{logs}");
    assert!(
        logs.contains("product replica caught up with the catalog feed"),
        "{logs}"
    );
    assert!(logs.contains("attempts=3"), "{logs}");
}

/// The feed at `url`, read with the test key's service tokens.
fn feed(url: &shop_platform::config::ServiceUrl) -> Feed {
    Feed::http(url.clone(), shop_testkit::identity_key()).unwrap()
}
