//! The behaviour suite (`suite/`) against a real Meilisearch server, plus its rebuild and swap.
//! Runs when `MEILI_URL` is set (and `MEILI_API_KEY`, if the server has a master key); without
//! it every test here returns at once. Each test uses its own index and deletes it.

mod suite;

use std::ops::Deref;
use std::sync::Arc;

use search_service::index::SearchIndex;
use search_service::meili::MeiliIndex;
use suite::catalog;
use uuid::Uuid;

/// A fresh Meilisearch index, deleted afterwards.
struct MeiliTest {
    url: String,
    key: Option<String>,
    uid: String,
    index: SearchIndex,
}

impl MeiliTest {
    async fn empty() -> Option<Self> {
        let Ok(url) = std::env::var("MEILI_URL") else {
            eprintln!("MEILI_URL is not set: the Meilisearch checks are skipped");
            return None;
        };
        let key = std::env::var("MEILI_API_KEY").ok();
        let uid = format!("shop-test-{}", Uuid::now_v7().simple());
        let index = MeiliIndex::connect(&url, key.as_deref(), &uid).await.unwrap();
        Some(Self {
            url,
            key,
            uid,
            index: SearchIndex::Meilisearch(Arc::new(index)),
        })
    }

    async fn seeded() -> Option<Self> {
        let test = Self::empty().await?;
        assert_eq!(test.index.upsert(&catalog::products()).await.unwrap(), 20);
        Some(test)
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
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(async {
                    let client = meilisearch_sdk::client::Client::new(url, key).map_err(std::io::Error::other)?;
                    let _ = client.delete_index(&uid).await;
                    Ok::<_, std::io::Error>(())
                })
        })
        .join();
    }
}

run_all_checks!(MeiliTest::seeded());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_replaces_the_documents_at_once() {
    let Some(test) = MeiliTest::seeded().await else { return };
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
    let client = meilisearch_sdk::client::Client::new(&test.url, test.key.clone()).unwrap();
    let uids: Vec<String> = meilisearch_sdk::indexes::IndexesQuery::new(&client)
        .with_limit(1_000)
        .execute()
        .await
        .unwrap()
        .results
        .into_iter()
        .map(|index| index.uid)
        .filter(|uid| uid.starts_with(&test.uid))
        .collect();
    assert_eq!(uids, std::slice::from_ref(&test.uid));
}
