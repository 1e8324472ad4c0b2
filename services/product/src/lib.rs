//! The product service: catalog, categories, prices and inventory, in its own `products`
//! database. Public reads; writes for administrators only. Publishes catalog and stock
//! changes; reserves stock for the checkout saga.

pub mod api;
pub mod domain;
pub mod events;
pub mod seed;
pub mod store;

use std::{future::Future, net::SocketAddr};

use axum::Router;
use clap::Parser;
use shop_contracts::IdentityKey;
use shop_messaging::{EventBus, Namespace, runtime::Messaging};
use shop_platform::{
    Service,
    config::{DatabaseUrl, ServiceConfig},
};
use sqlx::{PgPool, migrate::Migrator};

pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/product");

#[derive(Debug, Clone, Parser)]
#[command(name = "product-service", about = "Catalog, categories, prices and inventory")]
pub struct Config {
    /// Address to serve HTTP on.
    #[arg(long, env = "PRODUCT_LISTEN_ADDR", default_value = "127.0.0.1:8082")]
    pub listen_addr: SocketAddr,

    /// The service's own database.
    #[arg(
        long,
        env = "PRODUCT_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/products"
    )]
    pub database_url: DatabaseUrl,

    #[command(flatten)]
    pub service: ServiceConfig,

    #[command(flatten)]
    pub messaging: shop_messaging::runtime::MessagingConfig,
}

/// The complete HTTP service over an already migrated database.
pub fn app(db: PgPool, identity_key: IdentityKey) -> Router {
    service(db, identity_key).into_router()
}

fn service(db: PgPool, identity_key: IdentityKey) -> Service {
    Service {
        name: "product",
        api: api::router().with_state(db.clone()),
        db,
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

pub async fn run(config: Config, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    tracing::debug!(?config, "starting product service");
    let db = config.service.connect(&config.database_url, &MIGRATOR).await?;
    // Returns at once even while NATS is down; the relay and consumer retry until it is back.
    let bus = config.messaging.connect().await?;
    let messaging = messaging(bus, db.clone(), config.messaging.event_namespace.clone());
    let served = service(db, config.service.identity_key.clone())
        .run(config.listen_addr, &config.service, shutdown)
        .await;
    messaging.stop().await;
    served
}
