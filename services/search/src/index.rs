//! The search index behind the service, chosen by configuration: Meilisearch when `MEILI_URL`
//! is set, otherwise the embedded tantivy index. Both keep the newest version of each product
//! (a removal is kept as a versioned tombstone) and answer [`SearchQuery`]s the same way.

use std::sync::Arc;

use uuid::Uuid;

use crate::{
    Config,
    document::{Change, ProductDocument, SearchQuery, SearchResults},
    embedded::{self, EmbeddedIndex},
    meili::{self, MeiliIndex},
};

/// The index could not answer for now (Meilisearch unreachable or overloaded, still after
/// retries): the search API's 503, not a bug.
#[derive(Debug, thiserror::Error)]
#[error("the search engine is unavailable: {0}")]
pub struct Unavailable(pub String);

#[derive(Clone)]
pub enum SearchIndex {
    Embedded(Arc<EmbeddedIndex>),
    Meilisearch(Arc<MeiliIndex>),
}

/// A complete new index being written beside the live one; see [`SearchIndex::rebuild`].
pub enum Rebuild {
    Embedded(Box<embedded::Rebuild>),
    Meilisearch(meili::Rebuild),
}

impl SearchIndex {
    /// Opens the configured index (for Meilisearch: connects and applies the index settings).
    pub async fn open(config: &Config) -> anyhow::Result<Self> {
        Ok(match &config.meili_url {
            Some(url) => {
                let index = MeiliIndex::connect(
                    url,
                    config.meili_api_key.as_ref().map(|key| key.expose()),
                    &config.meili_index,
                )
                .await?;
                tracing::info!(%url, index = config.meili_index, "search backend: Meilisearch");
                Self::Meilisearch(Arc::new(index))
            }
            None => {
                let dir = config.index_dir.clone();
                let index = tokio::task::spawn_blocking(move || EmbeddedIndex::open(&dir)).await??;
                tracing::info!(dir = %config.index_dir.display(), "search backend: embedded index");
                Self::Embedded(Arc::new(index))
            }
        })
    }

    /// Deletes the configured index and everything in it (`shop reset`); a missing one is fine.
    pub async fn delete(config: &Config) -> anyhow::Result<()> {
        match &config.meili_url {
            Some(url) => {
                MeiliIndex::delete(
                    url,
                    config.meili_api_key.as_ref().map(|key| key.expose()),
                    &config.meili_index,
                )
                .await
            }
            None => match std::fs::remove_dir_all(&config.index_dir) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                    Err(anyhow::Error::new(error).context("cannot delete the search index"))
                }
                _ => Ok(()),
            },
        }
    }

    /// Applies the changes, each only where newer than what the index holds; they are
    /// searchable when this returns. Returns how many were applied.
    pub async fn apply(&self, changes: Vec<Change>) -> anyhow::Result<usize> {
        match self {
            Self::Embedded(index) => {
                let index = index.clone();
                tokio::task::spawn_blocking(move || index.apply(changes)).await?
            }
            Self::Meilisearch(index) => index.apply(changes).await,
        }
    }

    pub async fn upsert(&self, products: &[ProductDocument]) -> anyhow::Result<usize> {
        self.apply(products.iter().cloned().map(Change::Upsert).collect()).await
    }

    pub async fn remove(&self, id: Uuid, version: i64) -> anyhow::Result<bool> {
        Ok(self.apply(vec![Change::Remove { id, version }]).await? > 0)
    }

    /// Assumes a valid page (≥ 1) and page size; the API validates them.
    pub async fn search(&self, query: SearchQuery) -> anyhow::Result<SearchResults> {
        match self {
            Self::Embedded(index) => {
                let index = index.clone();
                tokio::task::spawn_blocking(move || index.search(&query)).await?
            }
            Self::Meilisearch(index) => index.search(&query).await,
        }
    }

    /// How many products are searchable.
    pub async fn document_count(&self) -> anyhow::Result<u64> {
        match self {
            Self::Embedded(index) => {
                let index = index.clone();
                tokio::task::spawn_blocking(move || index.document_count()).await?
            }
            Self::Meilisearch(index) => index.document_count().await,
        }
    }

    /// Starts a complete new index; searches keep using the current one until [`Self::swap_in`].
    pub async fn rebuild(&self) -> anyhow::Result<Rebuild> {
        Ok(match self {
            Self::Embedded(index) => {
                let index = index.clone();
                Rebuild::Embedded(Box::new(tokio::task::spawn_blocking(move || index.rebuild()).await??))
            }
            Self::Meilisearch(index) => Rebuild::Meilisearch(index.rebuild().await?),
        })
    }

    /// Makes searches use the rebuilt index, at once, and drops the previous one.
    pub async fn swap_in(&self, rebuild: Rebuild) -> anyhow::Result<()> {
        match (self, rebuild) {
            (Self::Embedded(index), Rebuild::Embedded(rebuild)) => {
                let index = index.clone();
                tokio::task::spawn_blocking(move || index.swap_in(*rebuild)).await?
            }
            (Self::Meilisearch(index), Rebuild::Meilisearch(rebuild)) => index.swap_in(rebuild).await,
            _ => anyhow::bail!("the rebuild belongs to another kind of search index"),
        }
    }
}

impl Rebuild {
    /// Adds products to the new index.
    pub async fn add(self, products: Vec<ProductDocument>) -> anyhow::Result<Self> {
        Ok(match self {
            Self::Embedded(mut rebuild) => {
                Self::Embedded(tokio::task::spawn_blocking(move || rebuild.add(&products).map(|()| rebuild)).await??)
            }
            Self::Meilisearch(mut rebuild) => {
                rebuild.add(&products).await?;
                Self::Meilisearch(rebuild)
            }
        })
    }
}
