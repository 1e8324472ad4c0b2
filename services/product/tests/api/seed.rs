use shop_testkit::Actor;
use sqlx::PgPool;

use crate::helpers::{count, spawn};

#[sqlx::test(migrations = "../../migrations/product")]
async fn the_demo_catalog_loads_once_however_often_it_is_seeded(db: PgPool) {
    let first = product_service::seed::demo_catalog(&db, 300).await.unwrap();
    assert_eq!(first.products, 300);
    assert!(first.categories >= 10);
    let again = product_service::seed::demo_catalog(&db, 300).await.unwrap();
    assert_eq!(again, product_service::seed::Seeded::default());
    assert_eq!(count(&db, "products").await, 300);
    assert_eq!(count(&db, "inventory").await, 300);

    // Growing the catalog adds only the new products.
    let more = product_service::seed::demo_catalog(&db, 350).await.unwrap();
    assert_eq!(more.products, 50);

    let app = spawn(&db).await;
    let page = app.get("/api/products?limit=100", &Actor::Anonymous).await.expect(200);
    assert_eq!(page["items"].as_array().unwrap().len(), 100);
    let categories = app.get("/api/categories", &Actor::Anonymous).await.expect(200);
    assert!(
        categories
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["product_count"].as_i64().unwrap() > 0)
    );
}
