//! The evolution stages, each started from nothing with its one command (`shop up --stage …`)
//! on fresh databases and free ports: each serves the shopper's journey through its public
//! port with the stock reconciled, and each demonstration does what its page says.

use std::{path::PathBuf, process::Stdio, time::Duration};

use nix::{sys::signal, unistd::Pid};
use serde_json::{Value, json};
use shop_testkit::{RedisPrefix, TempDir, TestDatabase, eventually, free_port};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

/// A port nothing listens on: the monolith stages must not need NATS or Redis at all.
fn closed_port_url(scheme: &str) -> String {
    format!("{scheme}://127.0.0.1:{}", free_port())
}

/// `shop up` running a stage, stopped with Ctrl-C when dropped or by [`Stage::stop`].
struct Stage {
    child: Child,
    url: String,
    data_dir: PathBuf,
    /// The environment the stage was started with, which its demonstration gets too.
    env: Vec<(String, String)>,
}

impl Stage {
    async fn start(args: &[&str], env: &[(&str, &str)], data_dir: &PathBuf) -> Self {
        let port = free_port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_shop"));
        command
            .arg("up")
            .args(args)
            .env("GATEWAY_LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("SHOP_DATA_DIR", data_dir)
            .env("SHOP_DEMO_PRODUCTS", "40")
            .env("IDENTITY_KEY", shop_testkit::IDENTITY_KEY)
            .env("NATS_URL", closed_port_url("nats"))
            .env_remove("SEARCH_INDEX_DIR")
            .env_remove("LB_POLICY")
            .env_remove("SITE_UPSTREAMS")
            .env_remove("SESSION_STORE")
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start shop up");
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut banner = String::new();
        tokio::time::timeout(Duration::from_secs(120), async {
            while let Some(line) = stdout.next_line().await.unwrap() {
                banner.push_str(&line);
                banner.push('\n');
                if line.contains("Ctrl-C") {
                    return;
                }
            }
            panic!("shop up exited before it was ready:\n{banner}");
        })
        .await
        .expect("the stage became ready in time");
        tokio::spawn(async move { while let Ok(Some(_)) = stdout.next_line().await {} });
        let url = format!("http://127.0.0.1:{port}");
        assert!(banner.contains(&format!("Open {url}")), "{banner}");
        Self {
            child,
            url,
            data_dir: data_dir.clone(),
            env: env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        }
    }

    /// `shop stages demo <stage>` against this stage; its story, a line per step.
    async fn demo(&self, stage: &str) -> String {
        let output = Command::new(env!("CARGO_BIN_EXE_shop"))
            .args(["stages", "demo", stage, "--url", &self.url])
            .env("SHOP_DATA_DIR", &self.data_dir)
            .envs(self.env.iter().cloned())
            .output()
            .await
            .expect("run the demonstration");
        let story = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "the demonstration failed: {story}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        story
    }

    async fn stop(mut self) {
        signal::kill(Pid::from_raw(self.child.id().unwrap() as i32), signal::Signal::SIGINT).unwrap();
        let status = tokio::time::timeout(Duration::from_secs(40), self.child.wait())
            .await
            .expect("stops in time")
            .unwrap();
        assert!(status.success(), "shop up exited with {status}");
    }
}

/// The stage's data folder, removed when the test ends, passed or failed.
fn temp_dir(label: &str) -> TempDir {
    let dir = TempDir::new(&format!("shop-stage-{label}"));
    std::fs::create_dir_all(&dir.path).unwrap();
    dir
}

/// Waits until the stage's search index finds the demo catalog's products.
async fn index_holds_the_catalog(url: &str) {
    eventually("the index holds the catalog", async || {
        reqwest::get(format!("{url}/api/search?q=wireless"))
            .await
            .unwrap()
            .json::<Value>()
            .await
            .is_ok_and(|found| found["total"].as_u64().is_some_and(|total| total > 0))
    })
    .await;
}

/// Register → sign in → browse → search → cart → checkout → confirmed, then the stock of the
/// product bought reconciles: nothing reserved, what was put in is on hand or sold.
async fn journey(url: &str, search_word: &str) {
    let client = reqwest::Client::new();
    let email = format!("stage-{}@example.com", uuid::Uuid::now_v7().simple());
    let registered = client
        .post(format!("{url}/api/users"))
        .json(&json!({"email": email, "password": "correct horse battery", "display_name": "Stage"}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201, "register");
    let cookie = shop_testkit::sign_in(&client, url, &email, "correct horse battery").await;
    let page: Value = client
        .get(format!("{url}/api/products?limit=5"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let product = page["items"][0].clone();
    let product_id = product["id"].as_str().unwrap().to_owned();
    let found: Value = client
        .get(format!("{url}/api/search"))
        .query(&[("q", search_word)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(found["total"].as_u64().unwrap() > 0, "search `{search_word}`: {found}");

    let admin = shop_testkit::sign_in(
        &client,
        url,
        user_service::seed::ADMIN_EMAIL,
        user_service::seed::ADMIN_PASSWORD,
    )
    .await;
    let inventory = async || -> Value {
        client
            .get(format!("{url}/api/products/{product_id}/inventory"))
            .header("cookie", &admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    };
    let before = inventory().await;

    let call = |method: reqwest::Method, path: &str| {
        client
            .request(method, format!("{url}{path}"))
            .header("cookie", cookie.clone())
    };
    eventually("the cart accepts the product", async || {
        call(reqwest::Method::POST, "/api/cart/items")
            .json(&json!({"product_id": product_id, "quantity": 2}))
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    })
    .await;
    let order: Value = call(reqwest::Method::POST, "/api/orders")
        .header("Idempotency-Key", uuid::Uuid::now_v7().to_string())
        .json(&json!({
            "shipping_address": {"recipient": "Stage Shopper", "line1": "1 Main Street", "city": "Springfield",
                                 "postal_code": "12345", "country": "US"},
            "payment_token": "tok_visa",
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let order_path = format!("/api/orders/{}", order["id"].as_str().unwrap());
    eventually("the order is confirmed", async || {
        let order: Value = call(reqwest::Method::GET, &order_path)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        order["status"] == "confirmed"
    })
    .await;
    eventually("the stock reconciles", async || {
        let after = inventory().await;
        after["reserved"] == 0
            && after["sold"].as_i64() == before["sold"].as_i64().map(|sold| sold + 2)
            && after["on_hand"]
                .as_i64()
                .zip(after["sold"].as_i64())
                .map(|(a, b)| a + b)
                == before["on_hand"]
                    .as_i64()
                    .zip(before["sold"].as_i64())
                    .map(|(a, b)| a + b)
    })
    .await;
}

#[tokio::test]
async fn the_monolith_serves_the_journey_with_no_broker_and_no_redis_and_cannot_take_a_typo() {
    let database = TestDatabase::create("stage_monolith").await;
    let dir = temp_dir("monolith");
    let data_dir = &dir.path;
    let redis = closed_port_url("redis");
    let stage = Stage::start(
        &["--stage", "monolith", "--database-url", &database.url],
        &[("REDIS_URL", &redis)],
        data_dir,
    )
    .await;
    journey(&stage.url, "wireless").await;
    let story = stage.demo("monolith").await;
    assert!(story.contains("a letter missing): 0 hits"), "{story}");
    assert_eq!(
        story.matches(": 0 hits").count(),
        1,
        "the word itself is found: {story}"
    );
    stage.stop().await;
}

#[tokio::test]
async fn the_search_engine_stage_finds_through_a_typo() {
    let database = TestDatabase::create("stage_search").await;
    let dir = temp_dir("search");
    let data_dir = &dir.path;
    let redis = closed_port_url("redis");
    let stage = Stage::start(
        &["--stage", "search-engine", "--database-url", &database.url],
        &[("REDIS_URL", &redis)],
        data_dir,
    )
    .await;
    index_holds_the_catalog(&stage.url).await;
    journey(&stage.url, "wireles").await;
    let story = stage.demo("search-engine").await;
    assert!(story.contains("the typo still finds them"), "{story}");
    assert!(!story.contains(": 0 hits"), "{story}");
    stage.stop().await;
}

/// The cluster with memory sessions breaks; ip-hash holds until its instance stops; Redis
/// sessions survive both, and serve the journey.
#[tokio::test]
async fn the_cluster_loses_memory_sessions_and_redis_sessions_fix_it() {
    let database = TestDatabase::create("stage_cluster").await;
    let dir = temp_dir("cluster");
    let data_dir = &dir.path;
    let ports = format!("{},{}", free_port(), free_port());
    let cluster = |extra: &'static [&'static str]| {
        let mut args = vec![
            "--stage",
            "cluster",
            "--instance-ports",
            &ports,
            "--database-url",
            &database.url,
        ];
        args.extend_from_slice(extra);
        args
    };
    let no_redis = closed_port_url("redis");

    let stage = Stage::start(&cluster(&[]), &[("REDIS_URL", &no_redis)], data_dir).await;
    let story = stage.demo("cluster").await;
    assert!(story.contains("401, not signed in"), "{story}");
    assert!(story.contains("has never heard of it"), "{story}");
    stage.stop().await;

    let stage = Stage::start(
        &cluster(&["--no-seed", "--lb-policy", "ip-hash"]),
        &[("REDIS_URL", &no_redis)],
        data_dir,
    )
    .await;
    let story = stage.demo("cluster").await;
    assert!(story.contains("the proxy keeps this client there"), "{story}");
    assert!(story.contains("the session died with the instance"), "{story}");
    stage.stop().await;

    let redis = RedisPrefix::new();
    let stage = Stage::start(
        &cluster(&["--no-seed", "--sessions", "redis"]),
        &[("REDIS_KEY_PREFIX", &redis.prefix)],
        data_dir,
    )
    .await;
    journey(&stage.url, "wireless").await;
    let story = stage.demo("cluster").await;
    assert!(story.contains("each knew the session"), "{story}");
    assert!(story.contains("still signed in"), "{story}");
    stage.stop().await;
}

/// The cache stage: catalog reads through Redis (under the test's own prefix) and the
/// in-process layer; its demonstration shows single-flight, negative entries, spread-out
/// lives and a fresh price after the change's event.
#[tokio::test]
async fn the_cache_stage_rebuilds_a_hot_key_once_and_answers_missing_ids_from_the_cache() {
    let database = TestDatabase::create("stage_cache").await;
    let dir = temp_dir("cache");
    let redis = RedisPrefix::new();
    let stage = Stage::start(
        &["--stage", "cache", "--database-url", &database.url],
        &[("REDIS_URL", &redis.url), ("CACHE_KEY_PREFIX", &redis.prefix)],
        &dir.path,
    )
    .await;
    journey(&stage.url, "wireless").await;
    let story = stage.demo("cache").await;
    assert!(
        story.contains("concurrent reads of a product nobody had read → 1 database read(s)"),
        "{story}"
    );
    assert!(story.contains("404, 1 database read(s)"), "{story}");
    assert!(
        story.contains("product entries written within a second expire between"),
        "{story}"
    );
    assert!(story.contains("freshness: a price change showed"), "{story}");
    stage.stop().await;
    assert!(
        !redis.keys().await.is_empty(),
        "the stage cached under the test's prefix"
    );
}

/// The separate database host: the stage starts a PostgreSQL server of its own on the second
/// CPU, with the monolith on the first.
#[tokio::test]
async fn the_separate_database_stage_runs_its_own_server_on_a_cpu_of_its_own() {
    let dir = temp_dir("dbhost");
    let data_dir = &dir.path;
    let redis = closed_port_url("redis");
    let db_port = free_port().to_string();
    let stage = Stage::start(
        &["--stage", "separate-database", "--database-port", &db_port],
        &[("REDIS_URL", &redis)],
        data_dir,
    )
    .await;
    journey(&stage.url, "wireless").await;
    let postmaster = std::fs::read_to_string(data_dir.join("stage-postgres/postmaster.pid")).unwrap();
    let server_pid = postmaster.lines().next().unwrap().trim().to_owned();
    let run: Value = serde_json::from_slice(
        &std::fs::read(
            data_dir
                .join("run")
                .join(format!("{}.json", stage.url.rsplit(':').next().unwrap())),
        )
        .unwrap(),
    )
    .unwrap();
    let app_pid = run["processes"][0]["pid"].as_u64().unwrap().to_string();
    let cpus = |pid: &str| {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap()
            .lines()
            .find_map(|line| {
                line.strip_prefix("Cpus_allowed_list:")
                    .map(|cpus| cpus.trim().to_owned())
            })
            .unwrap()
    };
    assert_eq!(cpus(&app_pid), "0");
    assert_eq!(cpus(&server_pid), "1");
    let story = stage.demo("separate-database").await;
    assert!(
        story.contains("round trips to the database over loopback TCP: p50"),
        "{story}"
    );
    stage.stop().await;
    assert!(
        !data_dir.join("stage-postgres/postmaster.pid").exists(),
        "the stage's database server stopped with it"
    );
}

/// The read/write split: a real hot standby made from the stage's own server takes the
/// catalog's reads. With its apply delayed, a read right after a write is stale — for the
/// writer too while read-your-writes is off; with it on, the writer never reads stale.
#[tokio::test]
async fn the_read_replica_stage_reads_from_a_standby_and_the_writer_reads_their_writes() {
    let Some(bin) = server_binaries_with("pg_basebackup") else {
        eprintln!("SKIPPED: no pg_basebackup on this machine (install the PostgreSQL server package)");
        return;
    };
    eprintln!("PostgreSQL binaries: {}", bin.display());
    let dir = temp_dir("replica");
    let data_dir = &dir.path;
    let _servers = ServersStopped(data_dir.clone());
    let redis = closed_port_url("redis");
    // The stage's two servers' ports: STAGE_TEST_DATABASE_PORT and the one after it, else free ones.
    let db_port = std::env::var("STAGE_TEST_DATABASE_PORT")
        .ok()
        .and_then(|port| port.parse::<u16>().ok())
        .unwrap_or_else(free_port);
    let replica_port = if std::env::var_os("STAGE_TEST_DATABASE_PORT").is_some() {
        db_port + 1
    } else {
        free_port()
    };
    let (db_port, replica_port) = (db_port.to_string(), replica_port.to_string());
    let args = [
        "--stage",
        "read-replica",
        "--database-port",
        &db_port,
        "--replica-port",
        &replica_port,
    ];

    let stage = Stage::start(
        &args,
        &[("REDIS_URL", &redis), ("DATABASE_READ_YOUR_WRITES", "false")],
        data_dir,
    )
    .await;
    let story = stage.demo("read-replica").await;
    assert!(story.contains("someone else reads the OLD price"), "{story}");
    assert!(story.contains("the administrator reads the OLD price"), "{story}");
    assert!(
        story.contains("at once: 404 Not Found — their own order, not found"),
        "{story}"
    );
    stage.stop().await;

    let stage = Stage::start(&args, &[("REDIS_URL", &redis)], data_dir).await;
    journey(&stage.url, "wireless").await;
    let story = stage.demo("read-replica").await;
    // Reads go to the replica: someone else's read right after the write is stale.
    assert!(story.contains("someone else reads the OLD price"), "{story}");
    assert!(!story.contains("the administrator reads the OLD price"), "{story}");
    assert!(story.contains("the administrator reads the new price"), "{story}");
    assert!(story.contains("at once: 200 OK (read from the primary"), "{story}");
    let metrics = reqwest::get(format!("{}/metrics", stage.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("database_reads_total{pool=\"replica\",reason=\"no recent write\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("database_reads_total{pool=\"primary\",reason=\"write not replayed yet\"}"),
        "{metrics}"
    );
    stage.stop().await;
    for server in ["stage-postgres", "stage-postgres-replica"] {
        assert!(
            !data_dir.join(server).join("postmaster.pid").exists(),
            "{server} stopped with the stage"
        );
    }
}

/// Database per business: a server per module under the same monolith. The demonstration's
/// cross-module join is refused by the order module's server and answered from its catalog
/// replica; with the user module's server down only signing in fails, with a 503; once it is
/// back the journey works again.
#[tokio::test]
async fn the_database_per_business_stage_gives_each_module_a_server_and_survives_one_down() {
    let dir = temp_dir("per-business");
    let data_dir = &dir.path;
    let _servers = ServersStopped(data_dir.clone());
    let redis = closed_port_url("redis");
    let db_port = shop_testkit::free_ports(4).to_string();
    let stage = Stage::start(
        &["--stage", "database-per-business", "--database-port", &db_port],
        &[("REDIS_URL", &redis)],
        data_dir,
    )
    .await;
    assert!(!data_dir.join("stage-postgres").exists(), "no shared server");
    for module in MODULES {
        let server = data_dir.join(format!("stage-postgres-{module}"));
        assert!(
            server.join("postmaster.pid").exists(),
            "the {module} module's server runs"
        );
    }
    index_holds_the_catalog(&stage.url).await;
    journey(&stage.url, "wireles").await;
    let story = stage.demo("database-per-business").await;
    assert!(
        story.contains("the order module's server refuses it: cross-database references are not implemented"),
        "{story}"
    );
    assert!(story.contains("units per category — "), "{story}");
    assert!(
        story.contains(
            "browsing the catalog: 200 OK; the signed-in customer's own orders: 200 OK; signing in: 503 Service Unavailable"
        ),
        "{story}"
    );
    assert!(story.contains("started it again: signing in works after"), "{story}");
    journey(&stage.url, "wireles").await;
    stage.stop().await;
    for module in MODULES {
        let server = data_dir.join(format!("stage-postgres-{module}"));
        assert!(
            !server.join("postmaster.pid").exists(),
            "the {module} module's server stopped with the stage"
        );
    }
}

/// Sharding: the stage-7 servers and a second one for the orders. The demonstration's
/// customers land on both shards, each order on its customer's shard only and settled there by
/// the saga, the administrators' listing names every order once, and with one shard's server
/// down only its customers (and the listing of every order) get a 503.
#[tokio::test]
async fn the_sharding_stage_splits_the_orders_over_two_servers_and_survives_one_down() {
    let dir = temp_dir("sharding");
    let data_dir = &dir.path;
    let _servers = ServersStopped(data_dir.clone());
    let redis = closed_port_url("redis");
    let db_port = shop_testkit::free_ports(5).to_string();
    let stage = Stage::start(
        &["--stage", "sharding", "--database-port", &db_port],
        &[("REDIS_URL", &redis)],
        data_dir,
    )
    .await;
    for server in MODULES.iter().copied().chain([ORDER_SHARD_1]) {
        assert!(
            data_dir
                .join(format!("stage-postgres-{server}"))
                .join("postmaster.pid")
                .exists(),
            "the {server} server runs"
        );
    }
    journey(&stage.url, "wireles").await;
    let story = stage.demo("sharding").await;
    assert!(story.contains("hashes to shard 0;"), "{story}");
    assert!(story.contains("hashes to shard 1;"), "{story}");
    assert!(
        story.contains(
            "naming shard 1, is stored on that shard's server only, and the saga settled it there: confirmed"
        ),
        "{story}"
    );
    assert!(
        story.contains("pages of 5 from every shard, 7 of them distinct"),
        "{story}"
    );
    assert!(
        story.contains(
            "a shard 0 customer's orders: 200 OK; a shard 1 customer's orders: 503 Service Unavailable after"
        ),
        "{story}"
    );
    assert!(
        story.contains("every order (administrators): 503 Service Unavailable"),
        "{story}"
    );
    assert!(
        story.contains("started it again: its customers' orders answer after"),
        "{story}"
    );
    journey(&stage.url, "wireles").await;
    stage.stop().await;
    for server in MODULES.iter().copied().chain([ORDER_SHARD_1]) {
        assert!(
            !data_dir
                .join(format!("stage-postgres-{server}"))
                .join("postmaster.pid")
                .exists(),
            "the {server} server stopped with the stage"
        );
    }
}

/// The modules of the database-per-business stage, each with a server of its own.
const MODULES: [&str; 4] = ["users", "products", "orders", "search"];
/// The second shard of the orders, in the sharding stage.
const ORDER_SHARD_1: &str = "orders-shard-1";

/// Stops the stage's database servers when the test ends, passed or failed: a test that panics
/// kills `shop up` before it could stop them.
struct ServersStopped(PathBuf);

impl Drop for ServersStopped {
    fn drop(&mut self) {
        let modules = MODULES.map(|module| format!("stage-postgres-{module}"));
        let shard = format!("stage-postgres-{ORDER_SHARD_1}");
        let servers = ["stage-postgres-replica", "stage-postgres", shard.as_str()]
            .into_iter()
            .chain(modules.iter().map(String::as_str));
        for server in servers {
            let Ok(pid) = std::fs::read_to_string(self.0.join(server).join("postmaster.pid")) else {
                continue;
            };
            if let Some(pid) = pid.lines().next().and_then(|pid| pid.trim().parse().ok()) {
                // SIGINT: PostgreSQL's fast shutdown.
                let _ = signal::kill(Pid::from_raw(pid), signal::Signal::SIGINT);
            }
        }
    }
}

/// The directory of the PostgreSQL server binaries if it holds `program`.
fn server_binaries_with(program: &str) -> Option<PathBuf> {
    let from_pg_config = std::process::Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()));
    let debian = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"));
    from_pg_config
        .into_iter()
        .chain(debian)
        .find(|bin| bin.join(program).exists())
}
