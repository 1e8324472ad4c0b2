//! The behaviour suite (`suite/`) against a real Meilisearch server, plus its rebuild and swap.
//! There is none in CI, so every test here is ignored, and listed as skipped, unless asked for:
//! `MEILI_URL=http://127.0.0.1:7700 cargo nextest run -p search-service --run-ignored only`
//! (with `MEILI_API_KEY` if the server has a master key). Each test uses indexes of its own and
//! deletes them, rebuilds included.

mod suite;

use std::ops::Deref;
use std::sync::Arc;

use search_service::index::SearchIndex;
use search_service::meili::MeiliIndex;
use suite::catalog;
use uuid::Uuid;

/// A fresh Meilisearch index; it and every index named after it are deleted afterwards.
struct MeiliTest {
    url: String,
    key: Option<String>,
    uid: String,
    index: SearchIndex,
}

impl MeiliTest {
    async fn empty() -> Self {
        let url = std::env::var("MEILI_URL").expect("MEILI_URL names the Meilisearch server to test against");
        let key = std::env::var("MEILI_API_KEY").ok();
        let uid = format!("shop-test-{}", Uuid::now_v7().simple());
        let index = MeiliIndex::connect(&url, key.as_deref(), &uid).await.unwrap();
        Self {
            url,
            key,
            uid,
            index: SearchIndex::Meilisearch(Arc::new(index)),
        }
    }

    async fn seeded() -> Self {
        let test = Self::empty().await;
        assert_eq!(test.index.upsert(&catalog::products()).await.unwrap(), 20);
        test
    }

    /// The indexes on the server whose names start with this test's.
    async fn indexes(url: &str, key: Option<String>, uid: &str) -> Vec<String> {
        let client = meilisearch_sdk::client::Client::new(url, key).unwrap();
        meilisearch_sdk::indexes::IndexesQuery::new(&client)
            .with_limit(1_000)
            .execute()
            .await
            .unwrap()
            .results
            .into_iter()
            .map(|index| index.uid)
            .filter(|name| name.starts_with(uid))
            .collect()
    }
}

impl Deref for MeiliTest {
    type Target = SearchIndex;
    fn deref(&self) -> &SearchIndex {
        &self.index
    }
}

impl Drop for MeiliTest {
    fn drop(&mut self) {
        let (url, key, uid) = (self.url.clone(), self.key.clone(), self.uid.clone());
        // Drop cannot await; a thread with its own runtime can.
        let deleted = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(async {
                    for name in Self::indexes(&url, key.clone(), &uid).await {
                        MeiliIndex::delete(&url, key.as_deref(), &name).await?;
                    }
                    anyhow::Ok(())
                })
        })
        .join();
        if !matches!(deleted, Ok(Ok(()))) {
            eprintln!("warning: could not delete the Meilisearch indexes named {}*", self.uid);
        }
    }
}

run_all_checks!(
    MeiliTest::seeded(),
    #[ignore = "needs a Meilisearch server: set MEILI_URL, add --run-ignored only"]
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Meilisearch server: set MEILI_URL, add --run-ignored only"]
async fn a_rebuild_replaces_the_documents_at_once() {
    let test = MeiliTest::seeded().await;
    let mut rebuild = test.rebuild().await.unwrap();
    rebuild = rebuild.add(catalog::products()[..5].to_vec()).await.unwrap();
    rebuild = rebuild.add(catalog::products()[5..8].to_vec()).await.unwrap();
    assert_eq!(
        test.document_count().await.unwrap(),
        20,
        "the live index until the swap"
    );
    test.swap_in(rebuild).await.unwrap();
    assert_eq!(test.document_count().await.unwrap(), 8);
    assert_eq!(test.search(catalog::find("espresso")).await.unwrap().total, 1);
    // The previous documents went with the swap: one index is left under the test's name.
    let names = MeiliTest::indexes(&test.url, test.key.clone(), &test.uid).await;
    assert_eq!(names, std::slice::from_ref(&test.uid));
}
