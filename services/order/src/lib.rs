//! The order service: carts, checkout, orders and the checkout saga, with the product replica
//! they are priced from, in its own `orders` database — or split over several by a hash of
//! the user id ([`shards`]). Every endpoint serves the signed-in caller's own data (but the
//! administrators' listing of every order); the request path never calls another service.

pub mod api;
pub mod catalog_sync;
pub mod commands;
pub mod deadline;
pub mod domain;
pub mod events;
pub mod idempotency;
pub mod shards;
pub mod store;

use std::{future::Future, sync::LazyLock, time::Duration};

use axum::Router;
use clap::Parser;
use shop_contracts::IdentityKey;
use shop_messaging::{EventBus, Namespace, runtime::Messaging};
use shop_platform::{
    Readiness, Service,
    config::{DatabaseUrl, ServiceConfig, ServiceDefaults, ServiceUrl},
    replica::{ReadReplicaConfig, ReadReplicaDefaults},
    startup::Connections,
};
use sqlx::{PgPool, migrate::Migrator};

use crate::shards::{MAX_SHARDS, Shards};

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

    /// Further order databases, separated by commas. With N URLs here, carts and orders are
    /// split over N + 1 databases (shards) by a hash of the user id, ORDER_DATABASE_URL being
    /// shard 0; every shard keeps its own catalog replica, outbox and consumers. Empty: one
    /// database, unsharded.
    #[arg(long, env = "ORDER_SHARD_DATABASE_URLS", default_value = "")]
    pub shard_database_urls: ShardUrls,

    #[command(flatten)]
    pub read: ReadReplicaConfig<Self>,
}

/// Database URLs separated by commas; empty for none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShardUrls(pub Vec<DatabaseUrl>);

impl std::str::FromStr for ShardUrls {
    type Err = String;

    fn from_str(urls: &str) -> Result<Self, String> {
        let urls = urls.split(',').map(str::trim).filter(|url| !url.is_empty());
        urls.map(str::parse).collect::<Result<_, _>>().map(Self)
    }
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

    /// The shards over `db` — shard 0, connected and migrated — and the further shard
    /// databases, connected and migrated here; an unsharded service's one shard reads from
    /// its replica, when one is configured.
    pub async fn connect_shards(&self, db: PgPool) -> anyhow::Result<Shards> {
        let max_connections = self.service.database_max_connections;
        let further = &self.shard_database_urls.0;
        if further.is_empty() {
            let read = self.read.connect(&db, max_connections).await?;
            return Ok(Shards::single(db, read));
        }
        anyhow::ensure!(
            self.read.database_read_url.is_none(),
            "a read replica serves an unsharded order database: set ORDER_DATABASE_READ_URL or \
             ORDER_SHARD_DATABASE_URLS, not both"
        );
        let urls: Vec<&DatabaseUrl> = std::iter::once(&self.service.database_url).chain(further).collect();
        anyhow::ensure!(
            urls.len() <= MAX_SHARDS,
            "at most {MAX_SHARDS} order databases; {} configured",
            urls.len()
        );
        if let Some((index, url)) = urls
            .iter()
            .enumerate()
            .find(|(index, url)| urls[..*index].contains(url))
        {
            anyhow::bail!("order shard {index} ({url}) is another shard's database: every shard needs its own");
        }
        let mut databases = vec![db];
        for url in further {
            databases.push(shop_platform::db::connect_and_migrate(url, max_connections, &MIGRATOR).await?);
        }
        Ok(Shards::over(databases))
    }
}

/// The complete HTTP service over an already migrated database, unsharded. Messaging and the
/// catalog catch-up are not started: [`run`] does that.
pub fn app(db: PgPool, identity_key: IdentityKey) -> Router {
    service(db.into(), identity_key).into_router()
}

/// The complete HTTP service over already migrated shards.
pub fn sharded_app(shards: Shards, identity_key: IdentityKey) -> Router {
    service(api::AppState { shards }, identity_key).into_router()
}

fn service(state: api::AppState, identity_key: IdentityKey) -> Service {
    Service {
        name: "order",
        readiness: readiness(&state.shards),
        api: api::routes(state),
        identity_key,
    }
}

/// Ready while any shard answers: a shard that is down fails its own customers' requests (503),
/// and taking the service out of rotation would fail everyone else's too.
fn readiness(shards: &Shards) -> Readiness {
    match shards.count() {
        1 => Readiness::database(shards.first().db.clone()),
        _ => Readiness::any_database(shards.iter().map(|shard| shard.db.clone()).collect()),
    }
}

/// The service's background work around the bus, on every shard: the outbox relay, the
/// `order-saga` and `order-catalog` consumers (suffixed `-shard-N` when sharded), and the
/// pending deadline (orders pending longer than `pending_timeout` are cancelled). None of them
/// needs the broker to be up to start.
pub fn messaging<B: EventBus>(
    bus: B,
    shards: &Shards,
    namespace: Namespace,
    pending_timeout: Duration,
) -> Messaging<B> {
    let mut messaging = Messaging::new(bus, shards.first().db.clone(), namespace, events::SOURCE);
    for shard in shards.iter() {
        messaging.start_relay_on(shard.db.clone());
        let saga = events::saga::SagaHandler { shard: shard.id };
        messaging.start_consumer_on(shard.db.clone(), events::saga::spec(shard.id), saga);
        let catalog = events::catalog::spec(shard.id);
        messaging.start_consumer_on(shard.db.clone(), catalog, events::catalog::CatalogHandler);
        let db = shard.db.clone();
        messaging.spawn(|stopped| deadline::run(db, pending_timeout, stopped));
    }
    messaging
}

pub async fn run(config: Config, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    tracing::debug!(?config, "starting order service");
    let feed = catalog_sync::Feed::http(config.product_service_url.clone(), config.service.identity_key.clone())?;
    let Connections { db, bus } = config.service.connect(&MIGRATOR).await?;
    let shards = config.connect_shards(db).await?;
    let namespace = config.service.messaging.event_namespace.clone();
    let messaging = messaging(bus, &shards, namespace, config.pending_timeout());
    let catch_up = tokio::spawn(catalog_sync::catch_up_every_shard(shards.clone(), feed));
    let service = service(api::AppState { shards }, config.service.identity_key.clone());
    let served = config.service.serve(service, messaging, shutdown).await;
    catch_up.abort();
    served
}
