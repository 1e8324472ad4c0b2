//! The order service: carts, orders and the product replica they are priced from, in its own
//! `orders` database. Every endpoint serves the signed-in caller's own data; the request path
//! never calls another service.

pub mod api;
pub mod catalog_sync;
pub mod domain;
pub mod store;

use std::{future::Future, net::SocketAddr, time::Duration};

use axum::Router;
use clap::Parser;
use shop_contracts::IdentityKey;
use shop_platform::{
    Service,
    config::{DatabaseUrl, ServiceConfig, ServiceUrl},
};
use sqlx::{PgPool, migrate::Migrator};

pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/order");

#[derive(Debug, Clone, Parser)]
#[command(
    name = "order-service",
    about = "Carts, orders and the product replica they are priced from"
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

    /// Base URL of the product service, whose catalog feed fills the product replica.
    #[arg(long, env = "PRODUCT_SERVICE_URL", default_value = "http://127.0.0.1:8082")]
    pub product_service_url: ServiceUrl,

    /// Seconds between two reads of the product service's catalog feed.
    #[arg(long, env = "CATALOG_SYNC_INTERVAL_SECONDS", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub catalog_sync_interval_seconds: u64,

    #[command(flatten)]
    pub service: ServiceConfig,
}

/// The complete HTTP service over an already migrated database. The catalog sync is not
/// started: [`run`] does that.
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

pub async fn run(config: Config, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    tracing::info!(?config, "starting order service");
    let db = config.service.connect(&config.database_url, &MIGRATOR).await?;
    let sync = tokio::spawn(catalog_sync::run(
        db.clone(),
        catalog_sync::client()?,
        config.product_service_url.clone(),
        Duration::from_secs(config.catalog_sync_interval_seconds),
    ));
    let served = service(db, config.service.identity_key.clone())
        .run(config.listen_addr, &config.service, shutdown)
        .await;
    sync.abort();
    served
}
