use std::collections::HashSet;

use serde_json::json;
use shop_contracts::catalog::{CATALOG_FEED_PATH, CatalogPage};
use shop_testkit::Actor;

use crate::helpers::{admin, create_category, create_product, id, spawn};

#[tokio::test]
async fn the_feed_pages_through_every_product_including_inactive_ones() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = spawn(&db).await;
    create_category(&app, "toys").await;
    let mut created = HashSet::new();
    for i in 0..5 {
        let product = create_product(&app, &format!("SKU-{i}"), "toys", 100 + i).await;
        created.insert(id(&product).to_owned());
    }
    let first = created.iter().min().unwrap().clone();
    app.post(&format!("/api/products/{first}/deactivate"), &admin(), json!({}))
        .await
        .expect(200);

    let mut seen = Vec::new();
    let mut path = format!("{CATALOG_FEED_PATH}?limit=2");
    loop {
        let page: CatalogPage = serde_json::from_value(app.get(&path, &Actor::Service).await.expect(200)).unwrap();
        seen.extend(page.items);
        match page.next_after {
            Some(after) => path = format!("{CATALOG_FEED_PATH}?limit=2&after={after}"),
            None => break,
        }
    }
    let ids: Vec<String> = seen.iter().map(|s| s.id.to_string()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "feed is in id order");
    assert_eq!(ids.iter().cloned().collect::<HashSet<_>>(), created);
    let inactive = seen.iter().find(|s| s.id.to_string() == first).unwrap();
    assert!(!inactive.active);
    assert_eq!(inactive.version, 2);
    assert_eq!(inactive.category, "toys");
}

#[tokio::test]
async fn feed_parameters_are_checked() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = spawn(&db).await;
    app.get(&format!("{CATALOG_FEED_PATH}?limit=0"), &Actor::Service)
        .await
        .expect_invalid("limit");
    app.get(&format!("{CATALOG_FEED_PATH}?limit=1001"), &Actor::Service)
        .await
        .expect_invalid("limit");
    app.get(&format!("{CATALOG_FEED_PATH}?after=nope"), &Actor::Service)
        .await
        .expect_invalid("after");
    let empty = app.get(CATALOG_FEED_PATH, &Actor::Service).await.expect(200);
    assert_eq!(empty, json!({"items": [], "next_after": null}));
}
