//! What `shop up` starts for a stage: the processes in start-up phases, the environment each
//! gets, the CPUs they are pinned to, the database server of the monolith stages, and the
//! configuration the databases are prepared with. The launcher then runs any plan the same way.

use std::{net::SocketAddr, path::PathBuf};

use anyhow::{Context, bail};
use clap::ValueEnum;
use serde::{Deserialize, Serialize};
use shop_platform::config::{DEV_IDENTITY_KEY, DatabaseUrl};

use crate::{
    database_host::DatabaseHost,
    launcher::{Configs, Prepared, ServiceName, UpArgs, base_url},
    monolith::SearchBackend,
    stages::{DatabaseHost as Placement, Databases, Layout, SessionChoice, Stage},
};

/// One process of the plan: `shop serve <serve>` with `env`, answering on `listen_addr`.
pub struct Process {
    pub label: String,
    pub serve: ServiceName,
    pub env: Vec<(&'static str, String)>,
    pub listen_addr: SocketAddr,
    /// A `taskset` CPU list, when pinned.
    pub cpus: Option<&'static str>,
    /// Whether the stage stops when this process exits. A cluster's instance is not: the
    /// proxy routes around it, which is what the cluster is for.
    pub essential: bool,
}

pub struct Plan {
    pub stage: &'static Stage,
    /// Started in order; each phase is ready before the next starts.
    pub phases: Vec<Vec<Process>>,
    /// The configuration the databases are prepared and seeded with, as the processes read it.
    pub configs: Configs,
    database_host: Option<DatabaseHost>,
    /// The hot standby of `database_host`, in the read/write split stage.
    replica_host: Option<DatabaseHost>,
    /// A server per module instead of `database_host`, in the database-per-business stage.
    module_hosts: Vec<ModuleHost>,
    public: SocketAddr,
}

/// The monolith's modules: their schemas in the one database, or their databases, each on a
/// server of its own, in the database-per-business stage.
const MODULES: [&str; 4] = ["users", "products", "orders", "search"];

/// The gateway's rate-limit settings (0 turns a limit off).
const RATE_LIMITS: [&str; 3] = [
    "RATE_LIMIT_PER_MINUTE",
    "SESSION_RATE_LIMIT_PER_MINUTE",
    "LOGIN_RATE_LIMIT_PER_MINUTE",
];

/// The services in start-up phases: the order service reads the product service's catalog
/// feed as it starts, so it starts once the product service is ready.
const SERVICE_PHASES: [&[ServiceName]; 2] = [
    &[ServiceName::User, ServiceName::Product, ServiceName::Search],
    &[ServiceName::Order],
];

/// CPUs of the monolith stages: the application on the first; the database on the same one
/// (one machine) or on the second (a host of its own).
const APP_CPUS: &str = "0";
const OWN_DATABASE_CPUS: &str = "1";

/// Where the shop keeps what it stores on this machine besides the services' databases: the
/// stages' database server, their search index, the run files. `SHOP_DATA_DIR`, else `data`.
pub fn data_dir() -> PathBuf {
    std::env::var_os("SHOP_DATA_DIR").map_or_else(|| PathBuf::from("data"), PathBuf::from)
}

impl Plan {
    pub async fn new(args: &UpArgs) -> anyhow::Result<Self> {
        let stage = args.stage.0;
        let mut configs = Configs::from_env();
        let public = configs.gateway.listen_addr;
        match stage.layout {
            None => bail!(
                "stage {} ({}) is not built yet; `shop stages` lists those that are",
                stage.number,
                stage.name
            ),
            Some(Layout::Containers) => bail!(
                "stage {} runs in containers, not from `shop up`: `docker compose up` (with a Docker engine) \
                 or `kubectl apply -k k8s/overlays/dev`; see docs/stages/10-containers.md",
                stage.number
            ),
            Some(Layout::Services) => {
                if args.instances.is_some() {
                    bail!("--instances is for the monolith stages; the services stage scales per service");
                }
                let service = |service: ServiceName| {
                    let mut env = links(service, &configs);
                    env.push(("SHOP_STAGE", stage.label()));
                    Process {
                        label: format!("{} service", service.as_str()),
                        serve: service,
                        env,
                        listen_addr: configs.listen_addr(service),
                        cpus: None,
                        essential: true,
                    }
                };
                let mut phases: Vec<Vec<Process>> = SERVICE_PHASES
                    .iter()
                    .map(|phase| phase.iter().copied().map(service).collect())
                    .collect();
                let mut gateway_env = links(ServiceName::Gateway, &configs);
                gateway_env.extend(rate_limit_env(args));
                gateway_env.push(("SHOP_STAGE", stage.label()));
                phases.push(vec![Process {
                    label: "gateway".into(),
                    serve: ServiceName::Gateway,
                    env: gateway_env,
                    listen_addr: public,
                    cpus: None,
                    essential: true,
                }]);
                Ok(Self {
                    stage,
                    phases,
                    configs,
                    database_host: None,
                    replica_host: None,
                    module_hosts: Vec::new(),
                    public,
                })
            }
            Some(Layout::Monolith {
                search,
                database,
                instances,
                cache,
                replica,
                databases,
            }) => {
                if replica && args.database_url.is_some() {
                    bail!(
                        "the read/write split stage makes its standby from a database server of its own: \
                         leave out --database-url (SHOP_STAGE_DATABASE_URL)"
                    );
                }
                if databases != Databases::Shared && args.database_url.is_some() {
                    bail!(
                        "the database-per-business and sharding stages start a database server per module: \
                         leave out --database-url (SHOP_STAGE_DATABASE_URL)"
                    );
                }
                let order_shards = match (databases, args.order_shards) {
                    (Databases::PerModule { order_shards }, None) => order_shards,
                    (Databases::PerModule { order_shards }, Some(shards)) if order_shards > 1 => shards,
                    (_, Some(_)) => bail!("--order-shards is for the sharding stage"),
                    (Databases::Shared, None) => 1,
                };
                let instances = match (args.instances, args.instance_ports.len()) {
                    (Some(count), given) if given > 0 && given != count => {
                        bail!("--instances {count} but {given} --instance-ports")
                    }
                    (_, given) if given > 0 => given,
                    (Some(count), _) => count,
                    (None, _) => instances,
                };
                if instances > 1 && search == SearchBackend::Index && configs.search.meili_url.is_none() {
                    bail!(
                        "the embedded search index lives in one process: run the search-engine stage as one \
                         instance, or give the instances one Meilisearch (MEILI_URL)"
                    );
                }
                let pin = !args.no_pin && args.database_url.is_none();
                let database_cpus = pin.then_some(match database {
                    Placement::SharedCpu => APP_CPUS,
                    Placement::OwnCpu => OWN_DATABASE_CPUS,
                });
                let module_hosts = match databases {
                    Databases::Shared => Vec::new(),
                    Databases::PerModule { .. } => {
                        start_module_hosts(args.database_port, database_cpus, order_shards).await?
                    }
                };
                let (module_urls, database_host) = match (&args.database_url, databases) {
                    (Some(url), _) => (MODULES.map(|module| url.with_schema(module)), None),
                    // Started in the order of MODULES, the orders' further shards after them.
                    (None, Databases::PerModule { .. }) => {
                        (std::array::from_fn(|index| module_hosts[index].url()), None)
                    }
                    (None, Databases::Shared) => {
                        let host =
                            DatabaseHost::start(&data_dir().join("stage-postgres"), args.database_port, database_cpus)
                                .await?;
                        (MODULES.map(|module| host.url().with_schema(module)), Some(host))
                    }
                };
                // On the database's CPUs too: one machine has no third CPU for it, and what the
                // split moves is the reads' work off the primary.
                let standby = match (&database_host, replica) {
                    (Some(primary), true) => {
                        let port = args.replica_port.unwrap_or(args.database_port + 1);
                        let dir = data_dir().join("stage-postgres-replica");
                        Some(primary.start_standby(&dir, port, database_cpus).await)
                    }
                    _ => None,
                };
                let replica_host = match standby {
                    None => None,
                    Some(Ok(standby)) => Some(standby),
                    Some(Err(error)) => {
                        if let Some(primary) = database_host {
                            primary.stop().await;
                        }
                        return Err(error.context("the stage's standby did not start"));
                    }
                };
                let mut env = monolith_env(stage, search, cache, module_urls, args, &mut configs);
                let further_shards: Vec<DatabaseUrl> =
                    module_hosts.iter().skip(MODULES.len()).map(ModuleHost::url).collect();
                if !further_shards.is_empty() {
                    let urls: Vec<&str> = further_shards.iter().map(DatabaseUrl::expose).collect();
                    env.push(("ORDER_SHARD_DATABASE_URLS", urls.join(",")));
                    configs.order.shard_database_urls = order_service::ShardUrls(further_shards);
                }
                if let Some(standby) = &replica_host {
                    let products = standby.url().with_schema("products");
                    let orders = standby.url().with_schema("orders");
                    env.push(("PRODUCT_DATABASE_READ_URL", products.expose().to_owned()));
                    env.push(("ORDER_DATABASE_READ_URL", orders.expose().to_owned()));
                    configs.product.read.database_read_url = Some(products);
                    configs.order.read.database_read_url = Some(orders);
                }
                let app_cpus = pin.then_some(APP_CPUS);
                let phases = if instances == 0 {
                    let mut env = env;
                    env.extend(rate_limit_env(args));
                    vec![vec![Process {
                        label: "monolith".into(),
                        serve: ServiceName::Monolith,
                        env,
                        listen_addr: public,
                        cpus: app_cpus,
                        essential: true,
                    }]]
                } else {
                    cluster(stage, public, instances, env, app_cpus, args)?
                };
                Ok(Self {
                    stage,
                    phases,
                    configs,
                    database_host,
                    replica_host,
                    module_hosts,
                    public,
                })
            }
        }
    }

    /// Whether the plan's processes use NATS.
    pub fn uses_broker(&self) -> bool {
        self.stage.layout == Some(Layout::Services)
    }

    /// Stops what the plan started besides its processes.
    pub async fn finish(self) {
        let _ = std::fs::remove_file(self.run_file());
        // The standby first: stopped after its primary, it would retry the connection until then.
        if let Some(host) = self.replica_host {
            host.stop().await;
        }
        if let Some(host) = self.database_host {
            host.stop().await;
        }
        for module in self.module_hosts {
            module.host.stop().await;
        }
    }

    /// The start-up summary: where the shop is, what runs behind it, and what it stores.
    pub fn print_banner(&self, started: &[(&Process, Option<u32>)], prepared: &Prepared, broker_reachable: bool) {
        let shop = base_url(self.public);
        println!();
        println!(
            "  The shop is running (stage {} · {}). Open {shop}",
            self.stage.number, self.stage.name
        );
        println!("    API docs         {shop}/docs");
        if self.stage.layout == Some(Layout::Services) {
            println!("  Behind the gateway (each serves /openapi.json, /healthz, /readyz, /metrics):");
        } else {
            println!("  Processes:");
        }
        for (process, pid) in started {
            if process.listen_addr == self.public && self.stage.layout == Some(Layout::Services) {
                continue;
            }
            let pinned = process.cpus.map(|cpus| format!(", CPU {cpus}")).unwrap_or_default();
            let pid = pid.map(|pid| format!(" (pid {pid}{pinned})")).unwrap_or_default();
            let label = &process.label;
            println!("    {label:<16} {}{pid}", base_url(process.listen_addr));
        }
        if let Some(host) = &self.database_host {
            println!("    {:<16} {}", "database server", host.url());
        }
        if let Some(host) = &self.replica_host {
            println!(
                "    {:<16} {} (hot standby: the catalog's reads)",
                "read replica",
                host.url()
            );
        }
        for module in &self.module_hosts {
            println!("    {:<16} {}", format!("{} server", module.label()), module.url());
        }
        println!("  Data:");
        println!("    {:<16} {}", "databases", prepared.databases_line());
        println!("    {:<16} {}", "demo data", prepared.demo_line());
        if self.uses_broker() {
            let messaging = &self.configs.user.service.messaging;
            let reachable = if broker_reachable {
                ""
            } else {
                " (not reachable: checkouts stay pending until it is)"
            };
            println!(
                "    {:<16} NATS {}, namespace {}{reachable}",
                "events", messaging.nats_url, messaging.event_namespace
            );
        }
        if self.configs.gateway.identity_key.has_secret(DEV_IDENTITY_KEY) {
            println!(
                "    {:<16} the public development key: this machine only (set IDENTITY_KEY anywhere else)",
                "identity key"
            );
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
        println!("  The evolution stages: shop stages. Press Ctrl-C to stop.");
        println!();
    }

    /// Where a running stage is described for `shop stages demo`.
    pub fn run_file(&self) -> PathBuf {
        run_file(self.public.port())
    }

    pub fn write_run_file(&self, started: &[(&Process, Option<u32>)]) -> anyhow::Result<()> {
        let file = RunFile {
            stage: self.stage.number,
            url: base_url(self.public),
            processes: started
                .iter()
                .map(|(process, pid)| RunningProcess {
                    label: process.label.clone(),
                    pid: *pid,
                    url: base_url(process.listen_addr),
                })
                .collect(),
            database_url: self.database_host.as_ref().map(|host| host.url().expose().to_owned()),
            replica_url: self.replica_host.as_ref().map(|host| host.url().expose().to_owned()),
            module_databases: self
                .module_hosts
                .iter()
                .map(|module| ModuleDatabase {
                    module: module.module.to_owned(),
                    shard: module.shard,
                    url: module.url().expose().to_owned(),
                    data_dir: module.host.data_dir().to_owned(),
                    port: module.host.port(),
                    cpus: module.host.cpus().map(str::to_owned),
                })
                .collect(),
        };
        let path = self.run_file();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, serde_json::to_vec_pretty(&file)?)
            .with_context(|| format!("cannot write {}", path.display()))
    }
}

/// The run file of the shop whose public port is `port`.
pub fn run_file(port: u16) -> PathBuf {
    data_dir().join("run").join(format!("{port}.json"))
}

/// What a running stage looks like, for `shop stages demo`.
#[derive(Debug, Serialize, Deserialize)]
pub struct RunFile {
    pub stage: u8,
    pub url: String,
    pub processes: Vec<RunningProcess>,
    /// The stage's own database server, when it has one.
    pub database_url: Option<String>,
    /// Its hot standby, in the read/write split stage.
    #[serde(default)]
    pub replica_url: Option<String>,
    /// The modules' own servers, in the database-per-business stage.
    #[serde(default)]
    pub module_databases: Vec<ModuleDatabase>,
}

/// A module's own database server: where it serves, and how to stop and start it again.
#[derive(Debug, Serialize, Deserialize)]
pub struct ModuleDatabase {
    pub module: String,
    /// Which of the module's shards it holds, when the module is sharded (the orders).
    #[serde(default)]
    pub shard: Option<u16>,
    pub url: String,
    pub data_dir: PathBuf,
    pub port: u16,
    pub cpus: Option<String>,
}

impl ModuleDatabase {
    /// Stops the server (a fast shutdown), as an outage the demonstrations show.
    pub async fn shut_down(&self) -> anyhow::Result<()> {
        DatabaseHost::at(&self.data_dir, self.port, self.cpus.as_deref())?
            .shut_down()
            .await
    }

    /// Starts the server again after [`ModuleDatabase::shut_down`].
    pub async fn start_again(&self) -> anyhow::Result<()> {
        DatabaseHost::start(&self.data_dir, self.port, self.cpus.as_deref())
            .await
            .map(drop)
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct RunningProcess {
    pub label: String,
    pub pid: Option<u32>,
    pub url: String,
}

fn rate_limit_env(args: &UpArgs) -> Vec<(&'static str, String)> {
    if args.no_rate_limits {
        RATE_LIMITS.iter().map(|&variable| (variable, "0".to_owned())).collect()
    } else {
        Vec::new()
    }
}

/// The environment variables through which `service` finds the services it calls, as this
/// runner started them, unless set already.
fn links(service: ServiceName, configs: &Configs) -> Vec<(&'static str, String)> {
    let targets: &[(&'static str, ServiceName)] = match service {
        ServiceName::Order => &[("PRODUCT_SERVICE_URL", ServiceName::Product)],
        ServiceName::Gateway => &[
            ("USER_UPSTREAMS", ServiceName::User),
            ("PRODUCT_UPSTREAMS", ServiceName::Product),
            ("ORDER_UPSTREAMS", ServiceName::Order),
            ("SEARCH_UPSTREAMS", ServiceName::Search),
        ],
        _ => &[],
    };
    targets
        .iter()
        .filter(|(variable, _)| std::env::var_os(variable).is_none())
        .map(|&(variable, target)| (variable, base_url(configs.listen_addr(target))))
        .collect()
}

/// The monolith's environment: every module's tables at its URL (in the order of [`MODULES`]), search and the
/// catalog cache as the stage has them, sessions in memory unless the instances share Redis. `configs` is updated to
/// match, so the databases are prepared as the monolith will use them.
fn monolith_env(
    stage: &Stage,
    search: SearchBackend,
    cache: bool,
    module_urls: [DatabaseUrl; 4],
    args: &UpArgs,
    configs: &mut Configs,
) -> Vec<(&'static str, String)> {
    let [users, products, orders, search_module] = module_urls;
    configs.user.service.database_url = users;
    configs.product.service.database_url = products;
    configs.order.service.database_url = orders;
    configs.search.service.database_url = search_module;
    let mut env = vec![
        (
            "USER_DATABASE_URL",
            configs.user.service.database_url.expose().to_owned(),
        ),
        (
            "PRODUCT_DATABASE_URL",
            configs.product.service.database_url.expose().to_owned(),
        ),
        (
            "ORDER_DATABASE_URL",
            configs.order.service.database_url.expose().to_owned(),
        ),
        (
            "SEARCH_DATABASE_URL",
            configs.search.service.database_url.expose().to_owned(),
        ),
        (
            "SHOP_SEARCH",
            match search {
                SearchBackend::Sql => "sql",
                SearchBackend::Index => "index",
            }
            .to_owned(),
        ),
        (
            "SESSION_STORE",
            match args.sessions {
                SessionChoice::Redis => "redis",
                SessionChoice::Memory => "memory",
            }
            .to_owned(),
        ),
        ("SHOP_STAGE", stage.label()),
    ];
    // On in the cache stage; the other stages leave it as configured (off by default).
    if cache {
        env.push(("CATALOG_CACHE", "true".to_owned()));
        configs.product.catalog_cache = true;
    }
    // The stages' index is their own, not the full system's.
    if std::env::var_os("SEARCH_INDEX_DIR").is_none() {
        let dir = data_dir().join("stage-search-index");
        env.push(("SEARCH_INDEX_DIR", dir.display().to_string()));
        configs.search.index_dir = dir;
    }
    env
}

/// A module's own database server, in the database-per-business and sharding stages.
struct ModuleHost {
    /// The module, whose database on the server is named after it.
    module: &'static str,
    /// Which of the module's shards the server holds, when the module is sharded.
    shard: Option<u16>,
    host: DatabaseHost,
}

impl ModuleHost {
    /// The module's database on its server.
    fn url(&self) -> DatabaseUrl {
        self.host.url().with_database(self.module)
    }

    /// `orders`, or `orders 1` for shard 1 of the orders.
    fn label(&self) -> String {
        match self.shard {
            None => self.module.to_owned(),
            Some(shard) => format!("{} {shard}", self.module),
        }
    }
}

/// A database server per module, in the order of [`MODULES`], then the further shards of the
/// orders when `order_shards` > 1, on `port` and the ports after it, all on `cpus`: started
/// side by side, or none left running if one does not start.
async fn start_module_hosts(
    port: u16,
    cpus: Option<&'static str>,
    order_shards: u16,
) -> anyhow::Result<Vec<ModuleHost>> {
    let sharded = order_shards > 1;
    let servers = MODULES
        .iter()
        .map(|&module| (module, (sharded && module == "orders").then_some(0)))
        .chain((1..order_shards).map(|shard| ("orders", Some(shard))));
    let started = futures_util::future::join_all(servers.zip(0u16..).map(|((module, shard), offset)| async move {
        let port = port
            .checked_add(offset)
            .context("the database port leaves no room for a server per module above it")?;
        let dir = match shard {
            None | Some(0) => data_dir().join(format!("stage-postgres-{module}")),
            Some(shard) => data_dir().join(format!("stage-postgres-{module}-shard-{shard}")),
        };
        let host = DatabaseHost::start(&dir, port, cpus)
            .await
            .with_context(|| format!("the {module} module's database server did not start"))?;
        anyhow::Ok(ModuleHost { module, shard, host })
    }))
    .await;
    let mut hosts = Vec::new();
    let mut failure = None;
    for result in started {
        match result {
            Ok(host) => hosts.push(host),
            Err(error) => failure = failure.or(Some(error)),
        }
    }
    if let Some(error) = failure {
        for module in hosts {
            module.host.stop().await;
        }
        return Err(error);
    }
    Ok(hosts)
}

/// `instances` monoliths on the ports after the public one, behind the gateway as reverse
/// proxy on the public port.
fn cluster(
    stage: &Stage,
    public: SocketAddr,
    instances: usize,
    env: Vec<(&'static str, String)>,
    cpus: Option<&'static str>,
    args: &UpArgs,
) -> anyhow::Result<Vec<Vec<Process>>> {
    let front = base_url(public);
    let ports: Vec<u16> = if args.instance_ports.is_empty() {
        (1..=instances)
            .map(|number| u16::try_from(usize::from(public.port()) + 10 + number))
            .collect::<Result<_, _>>()
            .ok()
            .context("the public port leaves no room for the instances' ports above it")?
    } else {
        args.instance_ports.clone()
    };
    let mut members = Vec::new();
    for (index, port) in ports.into_iter().enumerate() {
        let number = index + 1;
        let listen_addr = SocketAddr::new(public.ip(), port);
        let mut env = env.clone();
        env.extend(rate_limit_env(args));
        env.push(("GATEWAY_LISTEN_ADDR", listen_addr.to_string()));
        // The proxy is the peer: the client is in X-Forwarded-For, and the pages come from
        // the proxy's origin.
        env.push(("GATEWAY_TRUSTED_PROXIES", public.ip().to_string()));
        env.push(("ALLOWED_ORIGINS", front.clone()));
        members.push(Process {
            label: format!("instance {number}"),
            serve: ServiceName::Monolith,
            env,
            listen_addr,
            cpus,
            essential: false,
        });
    }
    let upstreams: Vec<String> = members.iter().map(|m| base_url(m.listen_addr)).collect();
    let mut proxy_env = vec![("SITE_UPSTREAMS", upstreams.join(",")), ("SHOP_STAGE", stage.label())];
    if let Some(policy) = args.lb_policy {
        let name = policy.to_possible_value().expect("every policy has a name");
        proxy_env.push(("LB_POLICY", name.get_name().to_owned()));
    }
    let proxy = Process {
        label: "reverse proxy".into(),
        serve: ServiceName::Gateway,
        env: proxy_env,
        listen_addr: public,
        cpus,
        essential: true,
    };
    Ok(vec![members, vec![proxy]])
}
