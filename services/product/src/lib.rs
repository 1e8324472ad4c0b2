//! The product service: catalog, categories, prices and inventory, in its own `products`
//! database. Public reads; writes for administrators only. Publishes catalog and stock
//! changes; reserves stock for the checkout saga.

pub mod api;
pub mod cache;
pub mod domain;
pub mod events;
pub mod seed;
pub mod store;

use std::{future::Future, sync::LazyLock};

use axum::Router;
use clap::Parser;
use shop_cache::CacheConfig;
use shop_contracts::IdentityKey;
use shop_messaging::{EventBus, Namespace, runtime::Messaging};
use shop_platform::{
    Readiness, Service,
    config::{ServiceConfig, ServiceDefaults},
    replica::{ReadReplicaConfig, ReadReplicaDefaults},
    startup::Connections,
};
use sqlx::{PgPool, migrate::Migrator};

use crate::{api::AppState, cache::CatalogCache};

/// The product database's migrations: its own, and the shared messaging tables at version 2.
pub static MIGRATOR: LazyLock<Migrator> =
    LazyLock::new(|| shop_messaging::schema::migrator(&sqlx::migrate!("../../migrations/product"), [2, 4]));

#[derive(Debug, Clone, Parser)]
#[command(name = "product-service", about = "Catalog, categories, prices and inventory")]
pub struct Config {
    #[command(flatten)]
    pub service: ServiceConfig<Self>,

    /// Serve catalog reads (products, listings, categories) through the cache: Redis with an
    /// in-process layer in front, invalidated by the service's own events. Off by default.
    #[arg(long, env = "CATALOG_CACHE", default_value_t = false)]
    pub catalog_cache: bool,

    #[command(flatten)]
    pub cache: CacheConfig,

    #[command(flatten)]
    pub read: ReadReplicaConfig<Self>,
}

impl Config {
    /// The catalog cache as configured (nothing when it is off).
    pub async fn catalog(&self) -> anyhow::Result<CatalogCache> {
        CatalogCache::new(self.catalog_cache, &self.cache).await
    }
}

impl ServiceDefaults for Config {
    const LISTEN_ADDR_VAR: &str = "PRODUCT_LISTEN_ADDR";
    const LISTEN_ADDR: &str = "127.0.0.1:8082";
    const DATABASE_URL_VAR: &str = "PRODUCT_DATABASE_URL";
    const DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/products";
}

impl ReadReplicaDefaults for Config {
    const DATABASE_READ_URL_VAR: &str = "PRODUCT_DATABASE_READ_URL";
}

/// The complete HTTP service over an already migrated database (and the cache, if on).
pub fn app(state: AppState, identity_key: IdentityKey) -> Router {
    service(state, identity_key).into_router()
}

fn service(state: AppState, identity_key: IdentityKey) -> Service {
    Service {
        name: "product",
        readiness: Readiness::database(state.db.clone()),
        api: api::routes(state),
        identity_key,
    }
}

/// The service's events in the background: the outbox relay and the stock-reservation
/// consumer. Stop them with [`Messaging::stop`].
pub fn messaging<B: EventBus>(bus: B, db: PgPool, namespace: Namespace) -> Messaging<B> {
    let mut messaging = Messaging::new(bus, db, namespace, events::SOURCE);
    messaging.start_relay();
    messaging.start_consumer(events::reservations::spec(), events::reservations::StockReservations);
    messaging
}

/// Has the service's own catalog and stock events invalidate `catalog`, when it is on.
pub fn invalidate_on_events<B: EventBus>(messaging: &mut Messaging<B>, catalog: &CatalogCache) {
    if catalog.is_on() {
        messaging.start_consumer(
            events::cache::catalog_spec(),
            events::cache::Invalidation::new(catalog.clone()),
        );
        messaging.start_consumer(
            events::cache::stock_spec(),
            events::cache::Invalidation::new(catalog.clone()),
        );
    }
}

pub async fn run(config: Config, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    tracing::debug!(?config, "starting product service");
    let Connections { db, bus } = config.service.connect(&MIGRATOR).await?;
    let read = config
        .read
        .connect(&db, config.service.database_max_connections)
        .await?;
    let catalog = config.catalog().await?;
    let mut messaging = messaging(bus, db.clone(), config.service.messaging.event_namespace.clone());
    invalidate_on_events(&mut messaging, &catalog);
    let service = service(AppState { db, read, catalog }, config.service.identity_key.clone());
    config.service.serve(service, messaging, shutdown).await
}
