//! The monolith: every module of the shop in one process behind one port, as the early stages
//! of the ladder run it. It is the same service crates as the full system, composed
//! differently: their API routers merged into one router, their messaging (outbox relays,
//! consumers, the saga) on the in-process bus, each module's tables in a schema of its own
//! when their database URLs point at one database, and the gateway's edge — sessions,
//! sign-in, limits, `/docs` — in front of them in the same process, calling them as functions
//! instead of over sockets. No business logic differs; only this composition does.

use std::future::Future;

use clap::{Parser, ValueEnum};
use shop_messaging::{Bus, runtime::Messaging};
use shop_platform::{Readiness, Service};
use utoipa_axum::router::OpenApiRouter;

use crate::launcher::Configs;

/// How `GET /api/search` is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SearchBackend {
    /// `ILIKE` over the product table, in the product module.
    Sql,
    /// The search module's index, fed by the product events.
    Index,
}

#[derive(Debug, Clone, Parser)]
#[command(name = "monolith")]
pub struct Config {
    /// How search is answered: `sql` (the young shop's `ILIKE`) or `index` (the search
    /// module's index; from the search-engine stage on).
    #[arg(long, env = "SHOP_SEARCH", value_enum, default_value_t = SearchBackend::Index)]
    pub search: SearchBackend,
}

/// Runs the whole shop in this process until `shutdown`: the gateway's listen address is the
/// only port.
pub async fn run(configs: Configs, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    tracing::info!(
        search = ?configs.monolith.search,
        catalog_cache = configs.product.catalog_cache,
        "starting the shop as one process"
    );
    let user_db = configs.user.service.connect_database(&user_service::MIGRATOR).await?;
    let product_db = configs
        .product
        .service
        .connect_database(&product_service::MIGRATOR)
        .await?;
    let order_db = configs.order.service.connect_database(&order_service::MIGRATOR).await?;
    let bus = shop_messaging::runtime::in_process();
    let namespace = configs.user.service.messaging.event_namespace.clone();

    let product_read = configs
        .product
        .read
        .connect(&product_db, configs.product.service.database_max_connections)
        .await?;
    let order_shards = configs.order.connect_shards(order_db).await?;
    let catalog = configs.product.catalog().await?;
    let mut product_messaging = product_service::messaging(bus.clone(), product_db.clone(), namespace.clone());
    product_service::invalidate_on_events(&mut product_messaging, &catalog);
    let mut messaging: Vec<Messaging<Bus>> = vec![
        user_service::messaging(bus.clone(), user_db.clone(), namespace.clone()),
        product_messaging,
        order_service::messaging(
            bus.clone(),
            &order_shards,
            namespace.clone(),
            configs.order.pending_timeout(),
        ),
    ];
    let product_api = product_service::api::routes(product_service::api::AppState {
        db: product_db.clone(),
        read: product_read.clone(),
        catalog,
    });
    let search_api: OpenApiRouter = match configs.monolith.search {
        SearchBackend::Sql => product_service::api::search::router().with_state(product_read),
        SearchBackend::Index => {
            let search_db = configs
                .search
                .service
                .connect_database(&search_service::MIGRATOR)
                .await?;
            let index = search_service::open_index(&configs.search, &search_db).await?;
            messaging.push(search_service::messaging(
                bus.clone(),
                search_db.clone(),
                namespace.clone(),
                index.clone(),
            ));
            search_service::api::router().with_state(search_service::AppState { db: search_db, index })
        }
    };
    // The order module's replica of the catalog catches up from the product module directly.
    let feed = order_service::catalog_sync::Feed::in_process(
        product_api.clone().split_for_parts().0,
        configs.gateway.identity_key.clone(),
    );
    let catch_up = tokio::spawn(order_service::catalog_sync::catch_up_every_shard(
        order_shards.clone(),
        feed,
    ));

    let identity_key = configs.gateway.identity_key.clone();
    let services = Service {
        name: "monolith",
        api: user_service::api::router()
            .with_state(user_db.clone())
            .merge(product_api)
            .merge(order_service::api::routes(order_service::api::AppState {
                shards: order_shards,
            }))
            .merge(search_api),
        readiness: Readiness::database(user_db),
        identity_key,
    }
    .into_router();
    let edge = gateway::AppState::in_process(configs.gateway, services).await?;
    let served = gateway::serve(edge, shutdown).await;
    catch_up.abort();
    for messaging in messaging {
        messaging.stop().await;
    }
    served
}
