//! `shop reset`: nothing without `--yes`; with it, the databases, streams and index are gone.

use shop_testkit::{TempDir, TestBus, TestDatabase};

async fn database_exists(url: &str) -> bool {
    let name = url.rsplit('/').next().unwrap().to_owned();
    let server = std::env::var("DATABASE_URL").unwrap();
    let db = sqlx::PgPool::connect(&server).await.unwrap();
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(&db)
        .await
        .unwrap()
}

#[tokio::test]
async fn reset_deletes_everything_the_system_stored_but_only_when_confirmed() {
    let databases = [
        TestDatabase::create("reset_users").await,
        TestDatabase::create("reset_products").await,
        TestDatabase::create("reset_orders").await,
        TestDatabase::create("reset_search").await,
    ];
    let bus = TestBus::jetstream().await;
    let index_dir = TempDir::new("shop-reset");
    std::fs::create_dir_all(&index_dir.path).unwrap();
    let reset = |confirm: bool| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_shop"));
        command
            .arg("reset")
            .env("USER_DATABASE_URL", &databases[0].url)
            .env("PRODUCT_DATABASE_URL", &databases[1].url)
            .env("ORDER_DATABASE_URL", &databases[2].url)
            .env("SEARCH_DATABASE_URL", &databases[3].url)
            .env("EVENT_NAMESPACE", bus.namespace.as_str())
            .env("SEARCH_INDEX_DIR", &index_dir.path);
        if confirm {
            command.arg("--yes");
        }
        command.output().unwrap()
    };

    let refused = reset(false);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--yes"));
    for database in &databases {
        assert!(database_exists(&database.url).await);
    }
    let mut streams: Vec<String> = shop_messaging::topology::CONTEXTS
        .iter()
        .map(|context| bus.namespace.stream(context))
        .chain([bus.namespace.dead_letter_stream()])
        .collect();
    streams.sort();
    assert_eq!(bus.streams().await, streams, "every stream is still there");

    let done = reset(true);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    for database in &databases {
        assert!(!database_exists(&database.url).await, "{} still exists", database.url);
    }
    assert_eq!(bus.streams().await, Vec::<String>::new(), "every stream is deleted");
    assert!(!index_dir.path.exists(), "the index is deleted");
}
