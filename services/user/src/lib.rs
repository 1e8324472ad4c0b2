//! The user service: accounts, credentials (argon2id), profiles and shipping addresses, in its
//! own `users` database. Registration is public; credential checks are an internal endpoint
//! for the gateway; everything else belongs to the signed-in user or to administrators.

pub mod api;
pub mod credentials;
pub mod domain;
pub mod events;
pub mod seed;
pub mod store;

use std::{future::Future, sync::LazyLock};

use axum::Router;
use clap::Parser;
use shop_contracts::IdentityKey;
use shop_messaging::{EventBus, Namespace, runtime::Messaging};
use shop_platform::{
    Readiness, Service,
    config::{ServiceConfig, ServiceDefaults},
    startup::Connections,
};
use sqlx::{PgPool, migrate::Migrator};

/// The user database's migrations: its own, and the shared messaging tables at version 2.
pub static MIGRATOR: LazyLock<Migrator> =
    LazyLock::new(|| shop_messaging::schema::migrator(&sqlx::migrate!("../../migrations/user"), [2, 4]));

#[derive(Debug, Clone, Parser)]
#[command(
    name = "user-service",
    about = "Accounts, credentials, profiles and shipping addresses"
)]
pub struct Config {
    #[command(flatten)]
    pub service: ServiceConfig<Self>,
}

impl ServiceDefaults for Config {
    const LISTEN_ADDR_VAR: &str = "USER_LISTEN_ADDR";
    const LISTEN_ADDR: &str = "127.0.0.1:8081";
    const DATABASE_URL_VAR: &str = "USER_DATABASE_URL";
    const DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/users";
}

/// The complete HTTP service over an already migrated database.
pub fn app(db: PgPool, identity_key: IdentityKey) -> Router {
    service(db, identity_key).into_router()
}

fn service(db: PgPool, identity_key: IdentityKey) -> Service {
    Service {
        name: "user",
        api: api::router().with_state(db.clone()),
        readiness: Readiness::database(db),
        identity_key,
    }
}

pub async fn run(config: Config, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    tracing::debug!(?config, "starting user service");
    let Connections { db, bus } = config.service.connect(&MIGRATOR).await?;
    let messaging = messaging(bus, db.clone(), config.service.messaging.event_namespace.clone());
    let service = service(db, config.service.identity_key.clone());
    config.service.serve(service, messaging, shutdown).await
}

/// The service's messaging: the relay that publishes its outbox (it consumes no events).
pub fn messaging<B: EventBus>(bus: B, db: PgPool, namespace: Namespace) -> Messaging<B> {
    let mut messaging = Messaging::new(bus, db, namespace, events::SOURCE);
    messaging.start_relay();
    messaging
}
