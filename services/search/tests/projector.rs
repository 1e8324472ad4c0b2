//! The projector against a real PostgreSQL: merged catalog rows reach the index in batches,
//! newest state wins whatever the order events arrived in, and a reindex equals the catalog.

use std::sync::Arc;

use chrono::Utc;
use search_service::{catalog, embedded::EmbeddedIndex, index::SearchIndex, projector, reindex};
use shop_contracts::{Currency, Money, catalog::ProductSnapshot, events::InventoryAdjusted};
use shop_testkit::TestDatabase;
use sqlx::PgPool;
use uuid::Uuid;

struct Setup {
    db: PgPool,
    index: SearchIndex,
    dir: std::path::PathBuf,
    _database: TestDatabase,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn setup(label: &str) -> Setup {
    let database = TestDatabase::create(label).await;
    let db = PgPool::connect(&database.url).await.unwrap();
    search_service::MIGRATOR.run(&db).await.unwrap();
    let dir = std::env::temp_dir().join(format!("search-projector-{}", Uuid::now_v7().simple()));
    let index = SearchIndex::Embedded(Arc::new(EmbeddedIndex::open(&dir).unwrap()));
    Setup {
        db,
        index,
        dir,
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
    assert_eq!(setup.index.document_count().await.unwrap(), 22);

    let mut reported = Vec::new();
    let count = reindex::reindex(&setup.db, &setup.index, |progress| reported.push(progress.done))
        .await
        .unwrap();
    assert_eq!(count, 27);
    assert_eq!(reported, [30]);
    assert_eq!(setup.index.document_count().await.unwrap(), 27);
}
