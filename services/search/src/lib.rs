//! The search service: a read replica of the catalog in a search index. Product and stock
//! events are merged into its own small database (which also keeps its consumers' inbox); the
//! projector writes the changed rows into the index in batches; `GET /api/search` queries it.

pub mod api;
pub mod catalog;
pub mod document;
pub mod embedded;
pub mod events;
pub mod index;
pub mod meili;
pub mod projector;
pub mod reindex;

use std::{future::Future, path::PathBuf};

use axum::Router;
use clap::Parser;
use shop_contracts::IdentityKey;
use shop_messaging::{EventBus, Namespace, runtime::Messaging};
use shop_platform::{
    Readiness, Service,
    config::{Secret, ServiceConfig, ServiceDefaults},
    startup::Connections,
};
use sqlx::{PgPool, migrate::Migrator};

use crate::index::SearchIndex;

pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/search");

/// The `source` name of this service in logs and metrics (it publishes no events).
pub const SOURCE: &str = "search";

#[derive(Debug, Clone, Parser)]
#[command(name = "search-service", about = "The catalog's search index")]
pub struct Config {
    /// Its database is the merged catalog the index is projected from, and the consumers' inbox.
    #[command(flatten)]
    pub service: ServiceConfig<Self>,

    /// Directory of the embedded index (used when no Meilisearch URL is set).
    #[arg(long, env = "SEARCH_INDEX_DIR", default_value = "data/search-index")]
    pub index_dir: PathBuf,

    /// Meilisearch server to keep the index in, e.g. `http://127.0.0.1:7700`; unset: the
    /// embedded index.
    #[arg(long, env = "MEILI_URL")]
    pub meili_url: Option<String>,

    /// Meilisearch API key (the master key, or a key allowed to manage the index).
    #[arg(long, env = "MEILI_API_KEY", hide_env_values = true)]
    pub meili_api_key: Option<Secret>,

    /// Name of the Meilisearch index.
    #[arg(long, env = "MEILI_INDEX", default_value = "products")]
    pub meili_index: String,
}

impl ServiceDefaults for Config {
    const LISTEN_ADDR_VAR: &str = "SEARCH_LISTEN_ADDR";
    const LISTEN_ADDR: &str = "127.0.0.1:8084";
    const DATABASE_URL_VAR: &str = "SEARCH_DATABASE_URL";
    const DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/search";
}

/// What the HTTP handlers share.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub index: SearchIndex,
}

/// The complete HTTP service over an open index.
pub fn app(db: PgPool, identity_key: IdentityKey, index: SearchIndex) -> Router {
    service(db, identity_key, index).into_router()
}

/// Ready while the index answers: searches need nothing else, so a database outage stops
/// the catalog's updates (and re-indexing) but not the searches.
fn service(db: PgPool, identity_key: IdentityKey, index: SearchIndex) -> Service {
    let checked = index.clone();
    Service {
        name: SOURCE,
        api: api::router().with_state(AppState { db, index }),
        readiness: Readiness::check(move || {
            let index = checked.clone();
            async move {
                index
                    .document_count()
                    .await
                    .map(drop)
                    .map_err(|e| format!("search index: {e:#}"))
            }
        }),
        identity_key,
    }
}

/// The consumers that keep the catalog replica current, and the projector that writes it to
/// the index.
pub fn messaging<B: EventBus>(bus: B, db: PgPool, namespace: Namespace, index: SearchIndex) -> Messaging<B> {
    let mut messaging = Messaging::new(bus, db.clone(), namespace, SOURCE);
    messaging.start_consumer(events::product_spec(), events::ProductMerger);
    messaging.start_consumer(events::stock_spec(), events::StockMerger);
    messaging.spawn(|stopped| projector::run(db, index, stopped));
    messaging
}

/// Opens the configured index; one that is empty while the catalog replica is not (lost, or
/// new) is rebuilt from the replica in the background.
pub async fn open_index(config: &Config, db: &PgPool) -> anyhow::Result<SearchIndex> {
    let index = SearchIndex::open(config).await?;
    if index.document_count().await? == 0 && catalog::count(db).await? > 0 {
        let (db, index) = (db.clone(), index.clone());
        tokio::spawn(async move {
            if let Err(error) = reindex::reindex(&db, &index, drop).await {
                tracing::error!(error = format!("{error:#}"), "rebuilding the empty index failed");
            }
        });
    }
    Ok(index)
}

pub async fn run(config: Config, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    tracing::debug!(?config, "starting search service");
    let Connections { db, bus } = config.service.connect(&MIGRATOR).await?;
    let index = open_index(&config, &db).await?;
    let namespace = config.service.messaging.event_namespace.clone();
    let messaging = messaging(bus, db.clone(), namespace, index.clone());
    let service = service(db, config.service.identity_key.clone(), index);
    config.service.serve(service, messaging, shutdown).await
}
