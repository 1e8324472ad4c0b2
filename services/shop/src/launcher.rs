//! Starts, watches and stops the services of the system on this machine.

use std::{net::SocketAddr, process::ExitStatus, time::Duration};

use anyhow::{Context, bail};
use clap::{Args, Parser, ValueEnum};
use nix::{sys::signal, unistd::Pid};
use shop_contracts::{
    Identity,
    identity::{VERIFY_CREDENTIALS_PATH, VerifiedCredentials},
};
use shop_platform::{config::DatabaseUrl, db, server, telemetry};
use sqlx::{PgPool, migrate::Migrator};
use tokio::{process::Command, task::JoinSet, time::Instant};

const READY_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ServiceName {
    User,
    Product,
    Order,
    Search,
    Gateway,
}

/// In start-up order: the order service replicates the product catalog; the gateway fronts
/// them all.
const SERVICES: [ServiceName; 5] = [
    ServiceName::User,
    ServiceName::Product,
    ServiceName::Order,
    ServiceName::Search,
    ServiceName::Gateway,
];

impl ServiceName {
    fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Product => "product",
            Self::Order => "order",
            Self::Search => "search",
            Self::Gateway => "gateway",
        }
    }
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// How many demo products to generate.
    #[arg(long, env = "SHOP_DEMO_PRODUCTS", default_value_t = product_service::seed::catalog::DEFAULT_PRODUCT_COUNT)]
    pub products: usize,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub seed: SeedArgs,

    /// Start with whatever is in the databases, without loading demo data.
    #[arg(long)]
    pub no_seed: bool,

    /// Turn the gateway's rate limits off, for load tests: all their traffic comes from one
    /// address. (Same as setting the three `*RATE_LIMIT_PER_MINUTE` variables to 0.)
    #[arg(long)]
    pub no_rate_limits: bool,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The account's email address.
    pub email: String,
    /// The account's password.
    pub password: String,
}

/// Each service's configuration as that service will read it: its own environment
/// variables, or their defaults.
pub struct Configs {
    pub user: user_service::Config,
    pub product: product_service::Config,
    pub order: order_service::Config,
    pub search: search_service::Config,
    pub gateway: gateway::Config,
}

impl Configs {
    pub fn from_env() -> Self {
        Self {
            user: user_service::Config::parse_from(["user-service"]),
            product: product_service::Config::parse_from(["product-service"]),
            order: order_service::Config::parse_from(["order-service"]),
            search: search_service::Config::parse_from(["search-service"]),
            gateway: gateway::Config::parse_from(["gateway"]),
        }
    }

    pub fn listen_addr(&self, service: ServiceName) -> SocketAddr {
        match service {
            ServiceName::User => self.user.listen_addr,
            ServiceName::Product => self.product.listen_addr,
            ServiceName::Order => self.order.listen_addr,
            ServiceName::Search => self.search.listen_addr,
            ServiceName::Gateway => self.gateway.listen_addr,
        }
    }
}

struct Databases {
    user: PgPool,
    product: PgPool,
}

async fn prepare(url: &DatabaseUrl, migrator: &Migrator) -> anyhow::Result<PgPool> {
    if db::ensure_database(url).await? {
        tracing::info!(database = %url, "created database");
    }
    db::connect_and_migrate(url, 2, migrator).await
}

/// Creates and migrates every database; returns pools to those that get demo data.
async fn prepare_all(configs: &Configs) -> anyhow::Result<Databases> {
    let user = prepare(&configs.user.database_url, &user_service::MIGRATOR).await?;
    let product = prepare(&configs.product.database_url, &product_service::MIGRATOR).await?;
    for (url, migrator) in [
        (&configs.order.database_url, &order_service::MIGRATOR),
        (&configs.search.database_url, &search_service::MIGRATOR),
    ] {
        prepare(url, migrator).await?.close().await;
    }
    Ok(Databases { user, product })
}

async fn load_demo_data(databases: &Databases, args: &SeedArgs) -> anyhow::Result<()> {
    user_service::seed::demo_accounts(&databases.user)
        .await
        .context("seeding demo accounts")?;
    let catalog = product_service::seed::demo_catalog(&databases.product, args.products)
        .await
        .context("seeding the demo catalog")?;
    tracing::info!(
        new_categories = catalog.categories,
        new_products = catalog.products,
        "demo data loaded (existing rows are left as they are)"
    );
    Ok(())
}

pub async fn seed(args: &SeedArgs) -> anyhow::Result<()> {
    let databases = prepare_all(&Configs::from_env()).await?;
    load_demo_data(&databases, args).await
}

/// Drops every service database, deletes the event namespace's streams and the search index.
pub async fn reset(confirmed: bool) -> anyhow::Result<()> {
    let configs = Configs::from_env();
    let databases = [
        &configs.user.database_url,
        &configs.product.database_url,
        &configs.order.database_url,
        &configs.search.database_url,
    ];
    let namespace = &configs.user.messaging.event_namespace;
    if !confirmed {
        bail!(
            "this deletes the databases {}, the event streams of namespace `{namespace}` and the search index \
             ({}); run `shop reset --yes` to do it",
            databases.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
            match &configs.search.meili_url {
                Some(url) => format!("Meilisearch index `{}` at {url}", configs.search.meili_index),
                None => configs.search.index_dir.display().to_string(),
            }
        );
    }
    for url in databases {
        db::drop_database(url).await?;
        tracing::info!(database = %url, "dropped");
    }
    let bus = shop_messaging::jetstream::JetStreamBus::connect(&configs.user.messaging.nats_url).await?;
    bus.delete_streams(namespace).await?;
    tracing::info!(%namespace, "event streams deleted");
    search_service::index::SearchIndex::delete(&configs.search).await?;
    tracing::info!("search index deleted");
    Ok(())
}

/// Checks the credentials with the running user service and prints a token signed with the
/// configured `IDENTITY_KEY`.
pub async fn token(args: &TokenArgs) -> anyhow::Result<()> {
    let configs = Configs::from_env();
    let url = format!("{}{VERIFY_CREDENTIALS_PATH}", base_url(configs.user.listen_addr));
    let response = reqwest::Client::new()
        .post(&url)
        .json(&serde_json::json!({"email": args.email, "password": args.password}))
        .send()
        .await
        .with_context(|| format!("cannot reach the user service at {url}; is `shop up` running?"))?;
    if !response.status().is_success() {
        bail!(
            "sign-in failed ({}): {}",
            response.status(),
            response.text().await.unwrap_or_default()
        );
    }
    let verified: VerifiedCredentials = response
        .json()
        .await
        .context("unexpected answer from the user service")?;
    let identity = Identity::from(verified);
    println!(
        "{}",
        configs
            .user
            .service
            .identity_key
            .mint(&identity, chrono::Duration::hours(1))
    );
    Ok(())
}

/// Runs one service in this process until SIGTERM, Ctrl-C, or the death of the `shop up`
/// that started it (so no service outlives a runner that was killed).
pub async fn serve(service: ServiceName) -> anyhow::Result<()> {
    let configs = Configs::from_env();
    match service {
        ServiceName::User => {
            telemetry::init(configs.user.service.log_format);
            user_service::run(configs.user, stop_signal()).await
        }
        ServiceName::Product => {
            telemetry::init(configs.product.service.log_format);
            product_service::run(configs.product, stop_signal()).await
        }
        ServiceName::Order => {
            telemetry::init(configs.order.service.log_format);
            order_service::run(configs.order, stop_signal()).await
        }
        ServiceName::Search => {
            telemetry::init(configs.search.service.log_format);
            search_service::run(configs.search, stop_signal()).await
        }
        ServiceName::Gateway => {
            telemetry::init(configs.gateway.log_format);
            gateway::run(configs.gateway, stop_signal()).await
        }
    }
}

/// Completes on SIGTERM or Ctrl-C, or when this process's parent is gone.
async fn stop_signal() {
    let parent = std::os::unix::process::parent_id();
    let orphaned = async move {
        // A container's first process (parent 0) or a child of an init (parent 1) has no runner
        // to outlive; the runtime's SIGTERM is its stop signal.
        if parent <= 1 {
            return std::future::pending().await;
        }
        while std::os::unix::process::parent_id() == parent {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        tracing::warn!("the runner that started this service is gone; stopping");
    };
    tokio::select! {
        () = server::shutdown_signal() => {}
        () = orphaned => {}
    }
}

/// The gateway's rate-limit settings (0 turns a limit off).
const RATE_LIMITS: [&str; 3] = [
    "RATE_LIMIT_PER_MINUTE",
    "SESSION_RATE_LIMIT_PER_MINUTE",
    "LOGIN_RATE_LIMIT_PER_MINUTE",
];

pub async fn up(args: UpArgs) -> anyhow::Result<()> {
    let configs = Configs::from_env();
    let databases = prepare_all(&configs).await?;
    if !args.no_seed {
        load_demo_data(&databases, &args.seed).await?;
    }
    databases.user.close().await;
    databases.product.close().await;
    check_broker(&configs.user.messaging).await;

    let exe = std::env::current_exe().context("cannot find the shop executable")?;
    let mut running = JoinSet::new();
    let mut pids = Vec::new();
    let outcome = async {
        // The services first, then the gateway in front of them, so that it finds them ready.
        let (services, gateway) = SERVICES.split_at(SERVICES.len() - 1);
        for phase in [services, gateway] {
            for &service in phase {
                let mut command = Command::new(&exe);
                command.arg("serve").arg(service.as_str()).kill_on_drop(true);
                // Point each service at the others as this runner started them, unless told otherwise.
                for (variable, target) in links(service) {
                    if std::env::var_os(variable).is_none() {
                        command.env(variable, base_url(configs.listen_addr(*target)));
                    }
                }
                if args.no_rate_limits && service == ServiceName::Gateway {
                    for variable in RATE_LIMITS {
                        command.env(variable, "0");
                    }
                }
                let mut child = command
                    .spawn()
                    .with_context(|| format!("cannot start the {} service", service.as_str()))?;
                pids.extend(child.id());
                running.spawn(async move { (service, child.wait().await) });
            }
            tokio::select! {
                ready = wait_until_ready(&configs, phase) => ready?,
                Some(exited) = running.join_next() => return Err(unexpected_exit(exited)),
            }
        }
        print_banner(&configs);
        tokio::select! {
            () = server::shutdown_signal() => Ok(()),
            Some(exited) = running.join_next() => Err(unexpected_exit(exited)),
        }
    }
    .await;
    stop(&pids, &mut running).await;
    outcome
}

/// The environment variables through which `service` finds the services it calls.
fn links(service: ServiceName) -> &'static [(&'static str, ServiceName)] {
    match service {
        ServiceName::Order => &[("PRODUCT_SERVICE_URL", ServiceName::Product)],
        ServiceName::Gateway => &[
            ("USER_UPSTREAMS", ServiceName::User),
            ("PRODUCT_UPSTREAMS", ServiceName::Product),
            ("ORDER_UPSTREAMS", ServiceName::Order),
            ("SEARCH_UPSTREAMS", ServiceName::Search),
        ],
        ServiceName::User | ServiceName::Product | ServiceName::Search => &[],
    }
}

/// Services start without the broker (events wait in their outboxes), but say so up front.
async fn check_broker(config: &shop_messaging::runtime::MessagingConfig) {
    let ready = match config.connect().await {
        Ok(bus) => shop_messaging::runtime::ensure_streams(&bus, &config.event_namespace, Duration::from_secs(3)).await,
        Err(error) => Err(error),
    };
    if let Err(error) = ready {
        tracing::warn!(nats = config.nats_url, %error,
            "NATS JetStream is not reachable: the services run, but checkouts stay pending until it is");
    }
}

fn unexpected_exit(
    exited: Result<(ServiceName, std::io::Result<ExitStatus>), tokio::task::JoinError>,
) -> anyhow::Error {
    match exited {
        Ok((service, Ok(status))) => {
            anyhow::anyhow!("the {} service stopped unexpectedly ({status})", service.as_str())
        }
        Ok((service, Err(error))) => anyhow::anyhow!("lost track of the {} service: {error}", service.as_str()),
        Err(error) => anyhow::anyhow!("service watcher failed: {error}"),
    }
}

async fn wait_until_ready(configs: &Configs, services: &[ServiceName]) -> anyhow::Result<()> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
    let deadline = Instant::now() + READY_TIMEOUT;
    for &service in services {
        let url = format!("{}/readyz", base_url(configs.listen_addr(service)));
        loop {
            match client.get(&url).send().await {
                Ok(response) if response.status().is_success() => break,
                _ if Instant::now() > deadline => {
                    bail!(
                        "the {} service was not ready at {url} within {READY_TIMEOUT:?}",
                        service.as_str()
                    )
                }
                _ => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
    Ok(())
}

/// Asks every service to drain and stop, and waits for them; stragglers are killed.
async fn stop(pids: &[u32], running: &mut JoinSet<(ServiceName, std::io::Result<ExitStatus>)>) {
    for pid in pids {
        // Already gone is fine: Ctrl-C in a terminal reaches the children too.
        let _ = signal::kill(Pid::from_raw(*pid as i32), signal::Signal::SIGTERM);
    }
    if tokio::time::timeout(STOP_TIMEOUT, async { while running.join_next().await.is_some() {} })
        .await
        .is_err()
    {
        tracing::warn!("services did not stop within {STOP_TIMEOUT:?}; killing them");
        running.shutdown().await;
    }
    tracing::info!("all services stopped");
}

pub fn base_url(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("http://localhost:{}", addr.port())
    } else {
        format!("http://{addr}")
    }
}

fn print_banner(configs: &Configs) {
    let shop = base_url(configs.listen_addr(ServiceName::Gateway));
    println!();
    println!("  The shop is running. Open {shop}");
    println!("    API docs         {shop}/docs");
    println!("  Behind the gateway (each serves /openapi.json, /healthz, /readyz, /metrics):");
    for service in SERVICES.into_iter().filter(|service| *service != ServiceName::Gateway) {
        let label = format!("{} service", service.as_str());
        println!("    {label:<16} {}", base_url(configs.listen_addr(service)));
    }
    println!();
    println!("  Try:  curl '{shop}/api/products?limit=3'");
    println!(
        "  Demo accounts: {} / {}  and  {} / {}",
        user_service::seed::ADMIN_EMAIL,
        user_service::seed::ADMIN_PASSWORD,
        user_service::seed::CUSTOMER_EMAIL,
        user_service::seed::CUSTOMER_PASSWORD,
    );
    println!("  Press Ctrl-C to stop.");
    println!();
}
