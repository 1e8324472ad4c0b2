//! The order service: carts, checkout, orders and the checkout saga, with the product replica
//! they are priced from, in its own `orders` database. Every endpoint serves the signed-in
//! caller's own data; the request path never calls another service.

pub mod api;
pub mod catalog_sync;
pub mod deadline;
pub mod domain;
pub mod events;
pub mod store;

use std::{future::Future, net::SocketAddr, time::Duration};

use axum::Router;
use clap::Parser;
use shop_contracts::IdentityKey;
use shop_messaging::{
    EventBus, Namespace,
    runtime::{Messaging, MessagingConfig},
};
use shop_platform::{
    Service,
    config::{DatabaseUrl, ServiceConfig, ServiceUrl},
};
use sqlx::{PgPool, migrate::Migrator};

pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/order");

#[derive(Debug, Clone, Parser)]
#[command(
    name = "order-service",
    about = "Carts, checkout and orders, priced from a replica of the product catalog"
)]
pub struct Config {
    /// Address to serve HTTP on.
    #[arg(long, env = "ORDER_LISTEN_ADDR", default_value = "127.0.0.1:8083")]
    pub listen_addr: SocketAddr,

    /// The service's own database.
    #[arg(
        long,
        env = "ORDER_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/orders"
    )]
    pub database_url: DatabaseUrl,

    /// Base URL of the product service, whose catalog feed fills the product replica at start-up.
    #[arg(long, env = "PRODUCT_SERVICE_URL", default_value = "http://127.0.0.1:8082")]
    pub product_service_url: ServiceUrl,

    /// Seconds an order may stay pending (waiting for stock and payment) before it is cancelled.
    #[arg(long, env = "ORDER_PENDING_TIMEOUT_SECONDS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub pending_timeout_seconds: u64,

    #[command(flatten)]
    pub messaging: MessagingConfig,

    #[command(flatten)]
    pub service: ServiceConfig,
}

impl Config {
    pub fn pending_timeout(&self) -> Duration {
        Duration::from_secs(self.pending_timeout_seconds)
    }
}

/// The complete HTTP service over an already migrated database. Messaging and the catalog
/// catch-up are not started: [`run`] does that.
pub fn app(db: PgPool, identity_key: IdentityKey) -> Router {
    service(db, identity_key).into_router()
}

fn service(db: PgPool, identity_key: IdentityKey) -> Service {
    Service {
        name: "order",
        api: api::router().with_state(db.clone()),
        db,
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
    let db = config.service.connect(&config.database_url, &MIGRATOR).await?;
    let feed = catalog_sync::Feed::http(config.product_service_url.clone())?;
    // Returns at once even while NATS is down; the client keeps reconnecting.
    let bus = config.messaging.connect().await?;
    let messaging = messaging(
        bus,
        db.clone(),
        config.messaging.event_namespace.clone(),
        config.pending_timeout(),
    );
    let catch_up = tokio::spawn(catalog_sync::catch_up(db.clone(), feed));
    let served = service(db, config.service.identity_key.clone())
        .run(config.listen_addr, &config.service, shutdown)
        .await;
    catch_up.abort();
    messaging.stop().await;
    served
}
