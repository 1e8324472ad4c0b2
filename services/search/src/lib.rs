//! The search service: a read replica of the catalog in a search index. Product and stock
//! events are merged into its own small database (which also keeps its consumers' inbox) and
//! projected into the index; `GET /api/search` queries it.

pub mod api;
pub mod catalog;
pub mod document;
pub mod embedded;
pub mod events;
pub mod reindex;

use std::{future::Future, net::SocketAddr, path::PathBuf, sync::Arc};

use axum::Router;
use clap::Parser;
use shop_contracts::IdentityKey;
use shop_messaging::{
    EventBus, Namespace,
    runtime::{Messaging, MessagingConfig},
};
use shop_platform::{
    Service,
    config::{DatabaseUrl, ServiceConfig},
};
use sqlx::{PgPool, migrate::Migrator};

use crate::embedded::EmbeddedIndex;

pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/search");

/// The `source` name of this service in logs and metrics (it publishes no events).
pub const SOURCE: &str = "search";

#[derive(Debug, Clone, Parser)]
#[command(name = "search-service", about = "The catalog's search index")]
pub struct Config {
    /// Address to serve HTTP on.
    #[arg(long, env = "SEARCH_LISTEN_ADDR", default_value = "127.0.0.1:8084")]
    pub listen_addr: SocketAddr,

    /// The service's own database: the merged catalog the index is projected from, and the
    /// consumers' inbox.
    #[arg(
        long,
        env = "SEARCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/search"
    )]
    pub database_url: DatabaseUrl,

    /// Directory of the embedded index.
    #[arg(long, env = "SEARCH_INDEX_DIR", default_value = "data/search-index")]
    pub index_dir: PathBuf,

    #[command(flatten)]
    pub service: ServiceConfig,

    #[command(flatten)]
    pub messaging: MessagingConfig,
}

/// What the HTTP handlers share.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub index: Arc<EmbeddedIndex>,
}

/// The complete HTTP service over an open index.
pub fn app(db: PgPool, identity_key: IdentityKey, index: Arc<EmbeddedIndex>) -> Router {
    service(db, identity_key, index).into_router()
}

fn service(db: PgPool, identity_key: IdentityKey, index: Arc<EmbeddedIndex>) -> Service {
    Service {
        name: SOURCE,
        api: api::router().with_state(AppState { db: db.clone(), index }),
        db,
        identity_key,
    }
}

/// The consumers that keep the index current.
pub fn messaging<B: EventBus>(bus: B, db: PgPool, namespace: Namespace, index: Arc<EmbeddedIndex>) -> Messaging<B> {
    let mut messaging = Messaging::new(bus, db, namespace, SOURCE);
    let indexer = events::Indexer { index };
    messaging.start_consumer(events::product_spec(), indexer.clone());
    messaging.start_consumer(events::stock_spec(), indexer);
    messaging
}

pub async fn run(config: Config, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    tracing::info!(?config, "starting search service");
    let db = config.service.connect(&config.database_url, &MIGRATOR).await?;
    let index = Arc::new(EmbeddedIndex::open(&config.index_dir)?);
    // A lost or new index directory is rebuilt from the replica the service already has.
    if index.document_count()? == 0 && catalog::count(&db).await? > 0 {
        let (db, index) = (db.clone(), index.clone());
        tokio::spawn(async move {
            if let Err(error) = reindex::reindex(&db, index).await {
                tracing::error!(error = format!("{error:#}"), "rebuilding the empty index failed");
            }
        });
    }
    let bus = config.messaging.connect().await?;
    let messaging = messaging(bus, db.clone(), config.messaging.event_namespace.clone(), index.clone());
    let served = service(db, config.service.identity_key.clone(), index)
        .run(config.listen_addr, &config.service, shutdown)
        .await;
    messaging.stop().await;
    served
}
