//! The order service: carts, checkout, orders and the checkout saga, with the product replica
//! they are priced from, in its own `orders` database. Every endpoint serves the signed-in
//! caller's own data; the request path never calls another service.

pub mod api;
pub mod catalog_sync;
pub mod commands;
pub mod deadline;
pub mod domain;
pub mod events;
pub mod idempotency;
pub mod store;

use std::{future::Future, sync::LazyLock, time::Duration};

use axum::Router;
use clap::Parser;
use shop_contracts::IdentityKey;
use shop_messaging::{EventBus, Namespace, runtime::Messaging};
use shop_platform::{
    Readiness, Service,
    config::{ServiceConfig, ServiceDefaults, ServiceUrl},
    replica::{ReadReplicaConfig, ReadReplicaDefaults},
    startup::Connections,
};
use sqlx::{PgPool, migrate::Migrator};

/// The order database's migrations: its own, and the shared messaging tables at version 4.
pub static MIGRATOR: LazyLock<Migrator> =
    LazyLock::new(|| shop_messaging::schema::migrator(&sqlx::migrate!("../../migrations/order"), [4, 6]));

#[derive(Debug, Clone, Parser)]
#[command(
    name = "order-service",
    about = "Carts, checkout and orders, priced from a replica of the product catalog"
)]
pub struct Config {
    #[command(flatten)]
    pub service: ServiceConfig<Self>,

    /// Base URL of the product service, whose catalog feed fills the product replica at start-up.
    #[arg(long, env = "PRODUCT_SERVICE_URL", default_value = "http://127.0.0.1:8082")]
    pub product_service_url: ServiceUrl,

    /// Seconds an order may stay pending (waiting for stock and payment) before it is cancelled.
    #[arg(long, env = "ORDER_PENDING_TIMEOUT_SECONDS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub pending_timeout_seconds: u64,

    #[command(flatten)]
    pub read: ReadReplicaConfig<Self>,
}

impl ServiceDefaults for Config {
    const LISTEN_ADDR_VAR: &str = "ORDER_LISTEN_ADDR";
    const LISTEN_ADDR: &str = "127.0.0.1:8083";
    const DATABASE_URL_VAR: &str = "ORDER_DATABASE_URL";
    const DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/orders";
}

impl ReadReplicaDefaults for Config {
    const DATABASE_READ_URL_VAR: &str = "ORDER_DATABASE_READ_URL";
}

impl Config {
    pub fn pending_timeout(&self) -> Duration {
        Duration::from_secs(self.pending_timeout_seconds)
    }
}

/// The complete HTTP service over an already migrated database. Messaging and the catalog
/// catch-up are not started: [`run`] does that.
pub fn app(db: PgPool, identity_key: IdentityKey) -> Router {
    service(db.into(), identity_key).into_router()
}

fn service(state: api::AppState, identity_key: IdentityKey) -> Service {
    Service {
        name: "order",
        readiness: Readiness::database(state.db.clone()),
        api: api::routes(state),
        identity_key,
    }
}

/// The service's background work around the bus: the outbox relay, the `order-saga` and
/// `order-catalog` consumers, and the pending deadline.
/// Starts the relay, the consumers and the pending deadline (orders pending longer than
/// `pending_timeout` are cancelled). None of them needs the broker to be up to start.
pub fn messaging<B: EventBus>(bus: B, db: PgPool, namespace: Namespace, pending_timeout: Duration) -> Messaging<B> {
    let mut messaging = Messaging::new(bus, db.clone(), namespace, events::SOURCE);
    messaging.start_relay();
    messaging.start_consumer(events::saga::spec(), events::saga::SagaHandler);
    messaging.start_consumer(events::catalog::spec(), events::catalog::CatalogHandler);
    messaging.spawn(|stopped| deadline::run(db, pending_timeout, stopped));
    messaging
}

pub async fn run(config: Config, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    tracing::debug!(?config, "starting order service");
    let feed = catalog_sync::Feed::http(config.product_service_url.clone(), config.service.identity_key.clone())?;
    let Connections { db, bus } = config.service.connect(&MIGRATOR).await?;
    let namespace = config.service.messaging.event_namespace.clone();
    let messaging = messaging(bus, db.clone(), namespace, config.pending_timeout());
    let read = config
        .read
        .connect(&db, config.service.database_max_connections)
        .await?;
    let catch_up = tokio::spawn(catalog_sync::catch_up(db.clone(), feed));
    let service = service(api::AppState { db, read }, config.service.identity_key.clone());
    let served = config.service.serve(service, messaging, shutdown).await;
    catch_up.abort();
    served
}
