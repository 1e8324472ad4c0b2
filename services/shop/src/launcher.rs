//! Starts, watches and stops the services of the system on this machine.

use std::{net::SocketAddr, time::Duration};

use anyhow::{Context, bail};
use clap::{Args, Parser, ValueEnum};
use nix::{sys::signal, unistd::Pid};
use shop_contracts::{
    Identity,
    identity::{IDENTITY_HEADER, VERIFY_CREDENTIALS_PATH, VerifiedCredentials},
};
use shop_platform::{config::DatabaseUrl, db, server, telemetry};

use crate::{
    monolith,
    plan::Plan,
    stages::{SessionChoice, StageArg},
    supervisor::{self, Exited, Restarted, Supervisor},
};
use sqlx::{PgPool, migrate::Migrator};
use tokio::{task::JoinSet, time::Instant};

const READY_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ServiceName {
    User,
    Product,
    Order,
    Search,
    Gateway,
    /// The whole shop in one process (the monolith stages).
    Monolith,
}

impl ServiceName {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Product => "product",
            Self::Order => "order",
            Self::Search => "search",
            Self::Gateway => "gateway",
            Self::Monolith => "monolith",
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

    /// The evolution stage to run, by number or name (`shop stages` lists them). Without it:
    /// the full system.
    #[arg(long, default_value_t)]
    pub stage: StageArg,

    /// Monolith stages: how many instances run behind the gateway acting as reverse proxy
    /// (0: the monolith itself is the public port). The cluster stage runs 2.
    #[arg(long)]
    pub instances: Option<usize>,

    /// Monolith stages with instances: their ports, comma-separated (by default the ports
    /// after the public one: 8091, 8092, …).
    #[arg(long, value_delimiter = ',')]
    pub instance_ports: Vec<u16>,

    /// Monolith stages with instances: where they keep sessions — each in its own memory
    /// (a second instance does not know the session), or in the Redis they share.
    #[arg(long, value_enum, default_value_t = SessionChoice::Memory)]
    pub sessions: SessionChoice,

    /// Monolith stages with instances: how the reverse proxy spreads requests over them.
    #[arg(long, value_enum)]
    pub lb_policy: Option<gateway::upstream::Policy>,

    /// Monolith stages: leave every process free to run on any CPU, instead of the stage's
    /// placement of the application and the database.
    #[arg(long)]
    pub no_pin: bool,

    /// Monolith stages: keep every module's tables in this database instead of starting the
    /// stage's own database server (nothing is then pinned to a CPU).
    #[arg(long, env = "SHOP_STAGE_DATABASE_URL")]
    pub database_url: Option<DatabaseUrl>,

    /// Monolith stages: the port of the stage's own database server (the database-per-business
    /// stage: of the user module's, the other modules' on the ports after it).
    #[arg(long, default_value_t = 5440)]
    pub database_port: u16,

    /// The read/write split stage: the port of its standby (by default the port after the
    /// database server's).
    #[arg(long)]
    pub replica_port: Option<u16>,

    /// The sharding stage: how many database servers the orders and carts are split over (2
    /// by default; the shards after the first on the ports after the modules' servers).
    #[arg(long, value_parser = clap::value_parser!(u16).range(2..=16))]
    pub order_shards: Option<u16>,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The account's email address.
    #[arg(required_unless_present = "service")]
    pub email: Option<String>,
    /// The account's password.
    #[arg(required_unless_present = "service")]
    pub password: Option<String>,
    /// Print a service token instead, for the services' internal endpoints (such as the
    /// search service's `/internal/reindex`), signed with the configured identity key.
    #[arg(long, conflicts_with_all = ["email", "password"])]
    pub service: bool,
}

/// How the `shop` command names itself in the service tokens it mints.
pub const SERVICE_NAME: &str = "shop";

/// A service token of the `shop` command for the services' internal endpoints.
pub fn service_token(configs: &Configs) -> String {
    configs
        .user
        .service
        .identity_key
        .mint_service(SERVICE_NAME, chrono::Duration::hours(1))
}

/// Each service's configuration as that service will read it: its own environment
/// variables, or their defaults.
pub struct Configs {
    pub user: user_service::Config,
    pub product: product_service::Config,
    pub order: order_service::Config,
    pub search: search_service::Config,
    pub gateway: gateway::Config,
    pub monolith: monolith::Config,
}

impl Configs {
    pub fn from_env() -> Self {
        Self {
            user: user_service::Config::parse_from(["user-service"]),
            product: product_service::Config::parse_from(["product-service"]),
            order: order_service::Config::parse_from(["order-service"]),
            search: search_service::Config::parse_from(["search-service"]),
            gateway: gateway::Config::parse_from(["gateway"]),
            monolith: monolith::Config::parse_from(["monolith"]),
        }
    }

    pub fn listen_addr(&self, service: ServiceName) -> SocketAddr {
        match service {
            ServiceName::User => self.user.service.listen_addr,
            ServiceName::Product => self.product.service.listen_addr,
            ServiceName::Order => self.order.service.listen_addr,
            ServiceName::Search => self.search.service.listen_addr,
            ServiceName::Gateway | ServiceName::Monolith => self.gateway.listen_addr,
        }
    }
}

struct Databases {
    user: PgPool,
    product: PgPool,
}

/// What was prepared before any process started, for the start-up summary.
pub struct Prepared {
    /// Every database (or, in the monolith stages, schema) by name, and whether it was
    /// created just now; all of them are migrated.
    pub databases: Vec<(String, bool)>,
    /// What the demo data added, when it was loaded.
    pub demo: Option<product_service::seed::Seeded>,
}

impl Prepared {
    /// `users, products, orders, search (migrated, 2 created now)`.
    pub fn databases_line(&self) -> String {
        let names: Vec<&str> = self.databases.iter().map(|(name, _)| name.as_str()).collect();
        let created = self.databases.iter().filter(|(_, created)| *created).count();
        let created = if created > 0 {
            format!(", {created} created now")
        } else {
            String::new()
        };
        format!("{} (migrated{created})", names.join(", "))
    }

    pub fn demo_line(&self) -> String {
        match self.demo {
            None => "not loaded (--no-seed)".to_owned(),
            Some(seeded) if seeded == Default::default() => "loaded before; nothing new to add".to_owned(),
            Some(seeded) => format!(
                "{} categories and {} products added",
                seeded.categories, seeded.products
            ),
        }
    }
}

/// Creates the database if missing and migrates it; says whether it was created.
async fn prepare(url: &DatabaseUrl, migrator: &Migrator) -> anyhow::Result<(PgPool, bool)> {
    let created = db::ensure_database(url).await?;
    Ok((db::connect_and_migrate(url, 2, migrator).await?, created))
}

/// Creates and migrates every database; returns pools to those that get demo data.
async fn prepare_all(configs: &Configs) -> anyhow::Result<(Databases, Prepared)> {
    let name = |url: &DatabaseUrl| url.schema().or(url.database()).unwrap_or_default().to_owned();
    let mut prepared = Prepared {
        databases: Vec::new(),
        demo: None,
    };
    let (user, created) = prepare(&configs.user.service.database_url, &user_service::MIGRATOR).await?;
    prepared
        .databases
        .push((name(&configs.user.service.database_url), created));
    let (product, created) = prepare(&configs.product.service.database_url, &product_service::MIGRATOR).await?;
    prepared
        .databases
        .push((name(&configs.product.service.database_url), created));
    let order_shards = configs
        .order
        .shard_database_urls
        .0
        .iter()
        .map(|url| (url, &*order_service::MIGRATOR));
    for (url, migrator) in [
        (&configs.order.service.database_url, &*order_service::MIGRATOR),
        (&configs.search.service.database_url, &search_service::MIGRATOR),
    ]
    .into_iter()
    .chain(order_shards)
    {
        let (pool, created) = prepare(url, migrator).await?;
        pool.close().await;
        prepared.databases.push((name(url), created));
    }
    Ok((Databases { user, product }, prepared))
}

async fn load_demo_data(databases: &Databases, args: &SeedArgs) -> anyhow::Result<product_service::seed::Seeded> {
    user_service::seed::demo_accounts(&databases.user)
        .await
        .context("seeding demo accounts")?;
    let catalog = product_service::seed::demo_catalog(&databases.product, args.products)
        .await
        .context("seeding the demo catalog")?;
    // `loadtest/pipeline.sh` times the catalog's events from this line.
    tracing::info!(
        new_categories = catalog.categories,
        new_products = catalog.products,
        "demo data loaded (existing rows are left as they are)"
    );
    Ok(catalog)
}

pub async fn seed(args: &SeedArgs) -> anyhow::Result<()> {
    let (databases, mut prepared) = prepare_all(&Configs::from_env()).await?;
    prepared.demo = Some(load_demo_data(&databases, args).await?);
    println!("databases  {}", prepared.databases_line());
    Ok(())
}

/// Drops every service database, deletes the event namespace's streams and the search index.
pub async fn reset(confirmed: bool) -> anyhow::Result<()> {
    let configs = Configs::from_env();
    let databases: Vec<&DatabaseUrl> = [
        &configs.user.service.database_url,
        &configs.product.service.database_url,
        &configs.order.service.database_url,
        &configs.search.service.database_url,
    ]
    .into_iter()
    .chain(&configs.order.shard_database_urls.0)
    .collect();
    let namespace = &configs.user.service.messaging.event_namespace;
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
    let bus = shop_messaging::jetstream::JetStreamBus::connect(&configs.user.service.messaging.nats_url).await?;
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
    if args.service {
        println!("{}", service_token(&configs));
        return Ok(());
    }
    let url = format!(
        "{}{VERIFY_CREDENTIALS_PATH}",
        base_url(configs.user.service.listen_addr)
    );
    let response = reqwest::Client::new()
        .post(&url)
        .header(IDENTITY_HEADER, service_token(&configs))
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
    let _logs = telemetry::init(match service {
        ServiceName::User => configs.user.service.log_format,
        ServiceName::Product => configs.product.service.log_format,
        ServiceName::Order => configs.order.service.log_format,
        ServiceName::Search => configs.search.service.log_format,
        ServiceName::Gateway | ServiceName::Monolith => configs.gateway.log_format,
    });
    supervisor::export_restarts(service.as_str());
    match service {
        ServiceName::User => user_service::run(configs.user, stop_signal()).await,
        ServiceName::Product => product_service::run(configs.product, stop_signal()).await,
        ServiceName::Order => order_service::run(configs.order, stop_signal()).await,
        ServiceName::Search => search_service::run(configs.search, stop_signal()).await,
        ServiceName::Gateway => gateway::run(configs.gateway, stop_signal()).await,
        ServiceName::Monolith => monolith::run(configs, stop_signal()).await,
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

pub async fn up(args: UpArgs) -> anyhow::Result<()> {
    let plan = Plan::new(&args).await?;
    let outcome = run_plan(&plan, &args).await;
    plan.finish().await;
    outcome
}

async fn run_plan(plan: &Plan, args: &UpArgs) -> anyhow::Result<()> {
    let (databases, mut prepared) = prepare_all(&plan.configs).await?;
    if !args.no_seed {
        prepared.demo = Some(load_demo_data(&databases, &args.seed).await?);
    }
    databases.user.close().await;
    databases.product.close().await;
    let broker_reachable = !plan.uses_broker() || check_broker(&plan.configs.user.service.messaging).await;

    let exe = std::env::current_exe().context("cannot find the shop executable")?;
    let (restarts, mut restarted) = tokio::sync::mpsc::unbounded_channel();
    let mut supervisor = Supervisor::new(exe, restarts);
    let mut pids = Vec::new();
    let outcome = async {
        // Phase by phase, so that whoever fronts the others finds them ready.
        for phase in &plan.phases {
            for process in phase {
                let pid = supervisor.start(pids.len(), process)?;
                pids.push((process, pid));
            }
            tokio::select! {
                ready = wait_until_ready(phase) => ready?,
                exited = essential_exit(&mut supervisor.running) => return Err(exited),
            }
        }
        supervisor.stage_is_up();
        plan.print_banner(&pids, &prepared, broker_reachable);
        plan.write_run_file(&pids)?;
        loop {
            tokio::select! {
                () = server::shutdown_signal() => return Ok(()),
                exited = essential_exit(&mut supervisor.running) => return Err(exited),
                Some(Restarted { index, pid }) = restarted.recv() => {
                    pids[index].1 = pid;
                    plan.write_run_file(&pids)?;
                }
            }
        }
    }
    .await;
    supervisor.stop_restarting();
    while let Ok(Restarted { index, pid }) = restarted.try_recv() {
        pids[index].1 = pid;
    }
    let pids: Vec<u32> = pids.iter().filter_map(|(_, pid)| *pid).collect();
    stop(&pids, &mut supervisor.running).await;
    outcome
}

/// Services start without the broker (events wait in their outboxes), but say so up front.
/// Returns whether it is reachable.
async fn check_broker(config: &shop_messaging::runtime::MessagingConfig) -> bool {
    let ready = match config.connect().await {
        Ok(bus) => shop_messaging::runtime::ensure_streams(&bus, &config.event_namespace, Duration::from_secs(3)).await,
        Err(error) => Err(error),
    };
    if let Err(error) = &ready {
        tracing::warn!(nats = config.nats_url, %error,
            "NATS JetStream is not reachable: the services run, but checkouts stay pending until it is");
    }
    ready.is_ok()
}

/// Waits for the first process whose exit stops the stage; the others' exits are logged.
async fn essential_exit(running: &mut JoinSet<Exited>) -> anyhow::Error {
    loop {
        match running.join_next().await {
            None => return anyhow::anyhow!("no process left to watch"),
            Some(Err(error)) => return anyhow::anyhow!("process watcher failed: {error}"),
            Some(Ok((label, false, status))) => {
                tracing::warn!(process = label, ?status, "stopped; the others keep serving");
            }
            Some(Ok((label, true, Ok(status)))) => {
                return anyhow::anyhow!("the {label} stopped unexpectedly ({status})");
            }
            Some(Ok((label, true, Err(error)))) => return anyhow::anyhow!("lost track of the {label}: {error}"),
        }
    }
}

async fn wait_until_ready(processes: &[crate::plan::Process]) -> anyhow::Result<()> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
    let deadline = Instant::now() + READY_TIMEOUT;
    for process in processes {
        let url = format!("{}/readyz", base_url(process.listen_addr));
        loop {
            match client.get(&url).send().await {
                Ok(response) if response.status().is_success() => break,
                _ if Instant::now() > deadline => {
                    bail!("the {} was not ready at {url} within {READY_TIMEOUT:?}", process.label)
                }
                _ => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
    Ok(())
}

/// Asks every service to drain and stop, and waits for them; stragglers are killed.
async fn stop(pids: &[u32], running: &mut JoinSet<Exited>) {
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
