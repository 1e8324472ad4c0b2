//! Searches need only the index: with the database down, the service stays ready (so the
//! gateway keeps routing to it) and answers searches, while what needs the database fails.

use std::{sync::Arc, time::Duration};

use search_service::{embedded::EmbeddedIndex, index::SearchIndex};
use shop_testkit::{Actor, TempDir, TestApp};

#[tokio::test]
async fn with_its_database_down_the_search_service_is_ready_and_answers_searches() {
    // Nothing listens on the port: every connection attempt is refused.
    let url = format!("postgres://root@127.0.0.1:{}/search", shop_testkit::free_port());
    let db = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(300))
        .connect_lazy(&url)
        .unwrap();
    let dir = TempDir::new("search-readiness");
    let index = SearchIndex::Embedded(Arc::new(EmbeddedIndex::open(&dir.path).unwrap()));
    let app = TestApp::spawn(search_service::app(db, shop_testkit::identity_key(), index)).await;

    assert_eq!(
        app.get("/readyz", &Actor::Anonymous).await.expect(200)["status"],
        "ready"
    );
    let results = app.get("/api/search?q=lamp", &Actor::Anonymous).await.expect(200);
    assert_eq!(results["total"], 0, "{results}");
}
