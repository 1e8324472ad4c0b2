//! The search consumers and the projector against a real PostgreSQL: catalog events are merged
//! once, merged rows reach the index in batches (again after the index fails), newest state
//! wins whatever the order events arrived in, and a reindex equals the catalog.

use std::sync::Arc;

use chrono::Utc;
use search_service::events::{ProductMerger, StockMerger, product_spec, stock_spec};
use search_service::{catalog, embedded::EmbeddedIndex, index::SearchIndex, projector, reindex};
use shop_contracts::{
    Currency, Money,
    catalog::ProductSnapshot,
    events::{Cause, Envelope, InventoryAdjusted, ProductCreated, ProductDeactivated, ProductUpdated},
};
use shop_messaging::consumer;
use shop_testkit::{TempDir, TestDatabase};
use sqlx::PgPool;
use uuid::Uuid;

/// Fields drop in order: the index closes before its folder goes.
struct Setup {
    db: PgPool,
    index: SearchIndex,
    _dir: TempDir,
    _database: TestDatabase,
}

async fn setup(label: &str) -> Setup {
    let (db, database) = TestDatabase::migrated(label, &search_service::MIGRATOR).await;
    let dir = TempDir::new("search-projector");
    let index = SearchIndex::Embedded(Arc::new(EmbeddedIndex::open(&dir.path).unwrap()));
    Setup {
        db,
        index,
        _dir: dir,
        _database: database,
    }
}

fn snapshot(n: u128, version: i64, price_minor: i64, active: bool) -> ProductSnapshot {
    ProductSnapshot {
        id: Uuid::from_u128(n),
        sku: format!("SKU-{n}"),
        name: format!("Lamp model {n}"),
        description: "A lamp.".into(),
        category: "lighting".into(),
        price: Money::new(price_minor, Currency::parse("EUR").unwrap()).unwrap(),
        active,
        version,
        created_at: Some(Utc::now()),
        updated_at: Utc::now(),
    }
}

async fn merge(db: &PgPool, product: &ProductSnapshot) -> bool {
    let mut tx = db.begin().await.unwrap();
    let applied = catalog::apply_product(&mut tx, product, Utc::now()).await.unwrap();
    tx.commit().await.unwrap();
    applied
}

async fn stock(db: &PgPool, n: u128, on_hand: i32, version: i64) {
    let mut tx = db.begin().await.unwrap();
    let adjusted = InventoryAdjusted {
        product_id: Uuid::from_u128(n),
        on_hand,
        reserved: 0,
        sold: 0,
    };
    catalog::apply_stock(&mut tx, &adjusted, version, Utc::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// Projects until nothing is left; returns the batch sizes.
async fn project_all(setup: &Setup) -> Vec<usize> {
    let mut batches = Vec::new();
    loop {
        match projector::project_batch(&setup.db, &setup.index).await.unwrap() {
            0 => return batches,
            n => batches.push(n),
        }
    }
}

async fn prices(setup: &Setup) -> Vec<(u128, i64, bool)> {
    let query = search_service::document::SearchQuery {
        sort: search_service::document::SortOrder::PriceAsc,
        per_page: 100,
        ..Default::default()
    };
    let mut found: Vec<_> = setup
        .index
        .search(query)
        .await
        .unwrap()
        .hits
        .into_iter()
        .map(|hit| (hit.product.id.as_u128(), hit.product.price_minor, hit.product.in_stock))
        .collect();
    found.sort();
    found
}

#[tokio::test]
async fn changed_rows_are_projected_in_batches_and_marked() {
    let setup = setup("projector_batches").await;
    let mut tx = setup.db.begin().await.unwrap();
    for n in 1..=2_500 {
        catalog::apply_product(&mut tx, &snapshot(n, 1, 1_000, true), Utc::now())
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();

    assert_eq!(project_all(&setup).await, [1_000, 1_000, 500]);
    assert_eq!(setup.index.document_count().await.unwrap(), 2_500);
    let behind: i64 = sqlx::query_scalar("SELECT count(*) FROM catalog WHERE projected_revision < revision")
        .fetch_one(&setup.db)
        .await
        .unwrap();
    assert_eq!(behind, 0);
    assert!(project_all(&setup).await.is_empty(), "nothing left to project");
}

#[tokio::test]
async fn the_index_follows_the_newest_state_whatever_the_event_order() {
    let setup = setup("projector_order").await;
    // Stock known before the product: not searchable yet.
    stock(&setup.db, 1, 5, 1).await;
    project_all(&setup).await;
    assert_eq!(setup.index.document_count().await.unwrap(), 0);

    assert!(merge(&setup.db, &snapshot(1, 1, 1_000, true)).await);
    assert!(merge(&setup.db, &snapshot(2, 3, 2_000, true)).await);
    // A late, older version of product 2 is ignored.
    assert!(!merge(&setup.db, &snapshot(2, 2, 9_999, true)).await);
    project_all(&setup).await;
    assert_eq!(prices(&setup).await, [(1, 1_000, true), (2, 2_000, false)]);

    // Several changes between two projections: only the newest state is written.
    assert!(merge(&setup.db, &snapshot(1, 2, 1_500, true)).await);
    stock(&setup.db, 1, 0, 2).await;
    assert!(merge(&setup.db, &snapshot(2, 4, 2_000, false)).await);
    stock(&setup.db, 1, 0, 1).await; // stale
    assert_eq!(project_all(&setup).await, [2]);
    assert_eq!(prices(&setup).await, [(1, 1_500, false)]);
}

#[tokio::test]
async fn a_reindex_rebuilds_the_index_from_the_catalog() {
    let setup = setup("projector_reindex").await;
    for n in 1..=30 {
        merge(&setup.db, &snapshot(n, 1, 100 * n as i64, n % 10 != 0)).await;
    }
    // The index lost some rows (an index directory restored from an old backup, say).
    sqlx::query("UPDATE catalog SET projected_revision = revision WHERE product_id <= $1")
        .bind(Uuid::from_u128(5))
        .execute(&setup.db)
        .await
        .unwrap();
    project_all(&setup).await;
    let in_the_catalog = |n: u128| !n.is_multiple_of(10);
    let lost = |n: u128| n <= 5;
    let expected = |restored: bool| -> Vec<(u128, i64, bool)> {
        (1..=30)
            .filter(|&n| in_the_catalog(n) && (restored || !lost(n)))
            .map(|n| (n, 100 * n as i64, false))
            .collect()
    };
    assert_eq!(prices(&setup).await, expected(false));

    let mut reported = Vec::new();
    let count = reindex::reindex(&setup.db, &setup.index, |progress| reported.push(progress.done))
        .await
        .unwrap();
    assert_eq!(count, 27);
    assert_eq!(reported, [30]);
    assert_eq!(prices(&setup).await, expected(true), "the index equals the catalog");
}

#[tokio::test]
async fn rows_an_index_fails_to_take_are_projected_again() {
    let setup = setup("projector_failing").await;
    for n in 1..=3 {
        merge(&setup.db, &snapshot(n, 1, 1_000, true)).await;
    }
    // An index whose folder has gone cannot write.
    let broken_dir = TempDir::new("search-projector-broken");
    let broken = SearchIndex::Embedded(Arc::new(EmbeddedIndex::open(&broken_dir.path).unwrap()));
    std::fs::remove_dir_all(&broken_dir.path).unwrap();
    assert!(projector::project_batch(&setup.db, &broken).await.is_err());
    let behind: i64 = sqlx::query_scalar("SELECT count(*) FROM catalog WHERE projected_revision < revision")
        .fetch_one(&setup.db)
        .await
        .unwrap();
    assert_eq!(behind, 3, "nothing is marked projected");

    assert_eq!(project_all(&setup).await, [3], "a working index gets every row");
    assert_eq!(
        prices(&setup).await,
        [(1, 1_000, false), (2, 1_000, false), (3, 1_000, false)]
    );
}

/// Hands `event` to `search-products` as its loop would: whether it was new to the consumer.
async fn deliver_product(setup: &Setup, event: &Envelope) -> anyhow::Result<bool> {
    consumer::apply(&setup.db, &product_spec().name, &ProductMerger, event).await
}

/// Hands `event` to `search-stock` as its loop would: whether it was new to the consumer.
async fn deliver_stock(setup: &Setup, event: &Envelope) -> anyhow::Result<bool> {
    consumer::apply(&setup.db, &stock_spec().name, &StockMerger, event).await
}

#[tokio::test]
async fn the_search_consumers_merge_catalog_events_once_and_refuse_others() {
    let setup = setup("search_consumers").await;
    let event = |version: i64, product: ProductSnapshot| {
        Envelope::new(
            "product",
            product.id,
            version,
            &ProductUpdated { product },
            Cause::new_flow(),
        )
    };

    let lamp = snapshot(1, 1, 1_000, true);
    let created = Envelope::new(
        "product",
        lamp.id,
        1,
        &ProductCreated { product: lamp },
        Cause::new_flow(),
    );
    assert!(deliver_product(&setup, &created).await.unwrap());
    assert!(
        !deliver_product(&setup, &created).await.unwrap(),
        "a repeated delivery is skipped"
    );
    assert!(
        deliver_product(&setup, &event(2, snapshot(1, 2, 800, true)))
            .await
            .unwrap()
    );
    // A late, older version: delivered, and changes nothing.
    assert!(
        deliver_product(&setup, &event(1, snapshot(1, 1, 9_999, true)))
            .await
            .unwrap()
    );
    let adjusted = InventoryAdjusted {
        product_id: Uuid::from_u128(1),
        on_hand: 3,
        reserved: 0,
        sold: 0,
    };
    let restocked = Envelope::new("inventory", adjusted.product_id, 1, &adjusted, Cause::new_flow());
    assert!(deliver_stock(&setup, &restocked).await.unwrap());
    project_all(&setup).await;
    assert_eq!(prices(&setup).await, [(1, 800, true)]);

    let retired = snapshot(1, 3, 800, false);
    let deactivated = Envelope::new(
        "product",
        retired.id,
        3,
        &ProductDeactivated { product: retired },
        Cause::new_flow(),
    );
    assert!(deliver_product(&setup, &deactivated).await.unwrap());
    project_all(&setup).await;
    assert!(prices(&setup).await.is_empty(), "a deactivated product is not found");

    // An event the consumers do not handle fails, and leaves no trace (it can be retried).
    let mut foreign = event(4, snapshot(1, 4, 1, true));
    foreign.event_type = "order.placed".into();
    assert!(deliver_product(&setup, &foreign).await.is_err());
    let recorded: i64 = sqlx::query_scalar("SELECT count(*) FROM inbox WHERE event_id = $1")
        .bind(foreign.id)
        .fetch_one(&setup.db)
        .await
        .unwrap();
    assert_eq!(recorded, 0);
    assert!(project_all(&setup).await.is_empty(), "nothing changed");
}

/// A catch-up hands each consumer hundreds of events at once, merged with one statement per
/// batch: the catalog ends as if they had been merged one by one, whatever their order.
#[tokio::test]
async fn batches_of_catalog_events_merge_as_one_by_one_would() {
    let setup = setup("search_batches").await;
    let update = |product: ProductSnapshot| {
        Envelope::new(
            "product",
            product.id,
            product.version,
            &ProductUpdated { product },
            Cause::new_flow(),
        )
    };
    let restock = |n: u128, on_hand: i32, version: i64| {
        let adjusted = InventoryAdjusted {
            product_id: Uuid::from_u128(n),
            on_hand,
            reserved: 0,
            sold: 0,
        };
        Envelope::new("inventory", adjusted.product_id, version, &adjusted, Cause::new_flow())
    };
    // Product 1: the newest version first, then older ones; product 2 in order, then retired.
    let products = [
        update(snapshot(1, 3, 1_300, true)),
        update(snapshot(1, 1, 1_100, true)),
        update(snapshot(2, 1, 2_000, true)),
        update(snapshot(1, 2, 1_200, true)),
        update(snapshot(2, 2, 2_000, false)),
        update(snapshot(3, 1, 3_000, true)),
    ];
    let stocks = [restock(1, 0, 2), restock(1, 7, 1), restock(3, 1, 1), restock(3, 4, 2)];

    let batch: Vec<_> = products.iter().collect();
    let fresh = consumer::apply_batch(&setup.db, &product_spec().name, &ProductMerger, &batch)
        .await
        .unwrap();
    assert!(fresh.iter().all(|fresh| *fresh));
    let batch: Vec<_> = stocks.iter().collect();
    consumer::apply_batch(&setup.db, &stock_spec().name, &StockMerger, &batch)
        .await
        .unwrap();

    let versions: Vec<(Uuid, i64, i64, i32)> = sqlx::query_as(
        "SELECT product_id, product_version, inventory_version, on_hand FROM catalog ORDER BY product_id",
    )
    .fetch_all(&setup.db)
    .await
    .unwrap();
    assert_eq!(
        versions,
        [
            (Uuid::from_u128(1), 3, 2, 0),
            (Uuid::from_u128(2), 2, 0, 0),
            (Uuid::from_u128(3), 1, 2, 4)
        ]
    );
    project_all(&setup).await;
    assert_eq!(prices(&setup).await, [(1, 1_300, false), (3, 3_000, true)]);

    // The same batch again (redelivered): every event is a repeat and nothing changes.
    let batch: Vec<_> = products.iter().collect();
    let again = consumer::apply_batch(&setup.db, &product_spec().name, &ProductMerger, &batch)
        .await
        .unwrap();
    assert!(again.iter().all(|fresh| !fresh));
    assert!(project_all(&setup).await.is_empty(), "nothing changed");
}
