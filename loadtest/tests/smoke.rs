//! The smoke profile in CI: the whole system — every service and the gateway, each with the
//! `run` its binary uses — in this process, on fresh databases, free ports, an event namespace
//! and a Redis prefix of its own, with the demo data. The profile runs shortened to 15 s
//! (3 journeys/s) and must end with no failed request and a clean reconciliation. Nothing
//! here asserts on timing.

use std::time::Duration;

use serde_json::{Value, json};
use shop_testkit::{
    IDENTITY_KEY, RedisPrefix, RunningService, TempDir, TestBus, TestDatabase, config_from_args, eventually, free_port,
};

/// Products in the demo catalog: a few per category, enough for a working set.
const DEMO_PRODUCTS: usize = 64;

struct System {
    gateway_url: String,
    /// In start-up order; stopped in reverse.
    services: Vec<RunningService>,
    /// To start the product service again after a test stopped it (`services[PRODUCT]`).
    product_config: product_service::Config,
    _databases: [TestDatabase; 4],
    _bus: TestBus,
    redis: RedisPrefix,
    _index: TempDir,
}

/// The product service's place in [`System::services`].
const PRODUCT: usize = 1;

impl System {
    async fn stop(self) {
        for service in self.services.into_iter().rev() {
            tokio::time::timeout(Duration::from_secs(30), service.stop())
                .await
                .expect("stops in time")
                .expect("stops cleanly");
        }
    }
}

fn addr(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

fn url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// What `shop up` does, in this process: databases, demo data, then each service in order.
async fn start_system() -> System {
    let (users, users_db) = TestDatabase::migrated("lt_users", &user_service::MIGRATOR).await;
    user_service::seed::demo_accounts(&users).await.unwrap();
    users.close().await;
    let (products, products_db) = TestDatabase::migrated("lt_products", &product_service::MIGRATOR).await;
    product_service::seed::demo_catalog(&products, DEMO_PRODUCTS)
        .await
        .unwrap();
    products.close().await;
    // The order and search services migrate their own databases at start, as `shop up` has them.
    let databases = [
        users_db,
        products_db,
        TestDatabase::create("lt_orders").await,
        TestDatabase::create("lt_search").await,
    ];

    let bus = TestBus::jetstream().await;
    let redis = RedisPrefix::new();
    let index = TempDir::new("loadtest-search-index");
    let namespace = bus.namespace.as_str().to_owned();
    let ports = [free_port(), free_port(), free_port(), free_port(), free_port()];
    let common = |port: u16, database: &TestDatabase| {
        vec![
            "service".to_owned(),
            "--listen-addr".into(),
            addr(port),
            "--database-url".into(),
            database.url.clone(),
            "--event-namespace".into(),
            namespace.clone(),
            "--identity-key".into(),
            IDENTITY_KEY.into(),
        ]
    };

    let mut services = Vec::new();
    let config = config_from_args::<user_service::Config>(common(ports[0], &databases[0]));
    services.push(RunningService::start(ports[0], |stop| user_service::run(config, stop)).await);
    let product_config = config_from_args::<product_service::Config>(common(ports[1], &databases[1]));
    let config = product_config.clone();
    services.push(RunningService::start(ports[1], |stop| product_service::run(config, stop)).await);
    let mut args = common(ports[2], &databases[2]);
    args.extend(["--product-service-url".into(), url(ports[1])]);
    let config = config_from_args::<order_service::Config>(args);
    services.push(RunningService::start(ports[2], |stop| order_service::run(config, stop)).await);
    let mut args = common(ports[3], &databases[3]);
    args.extend(["--index-dir".into(), index.path.display().to_string()]);
    let config = config_from_args::<search_service::Config>(args);
    services.push(RunningService::start(ports[3], |stop| search_service::run(config, stop)).await);
    // Rate limits off, as loadtest/README.md asks of a system under load.
    let config = config_from_args::<gateway::Config>([
        "gateway".to_owned(),
        "--listen-addr".into(),
        addr(ports[4]),
        "--user-upstreams".into(),
        url(ports[0]),
        "--product-upstreams".into(),
        url(ports[1]),
        "--order-upstreams".into(),
        url(ports[2]),
        "--search-upstreams".into(),
        url(ports[3]),
        "--redis-url".into(),
        redis.url.clone(),
        "--redis-key-prefix".into(),
        redis.prefix.clone(),
        "--identity-key".into(),
        IDENTITY_KEY.into(),
        "--rate-limit-per-minute".into(),
        "0".into(),
        "--session-rate-limit-per-minute".into(),
        "0".into(),
        "--login-rate-limit-per-minute".into(),
        "0".into(),
    ]);
    services.push(RunningService::start(ports[4], |stop| gateway::run(config, stop)).await);

    let system = System {
        gateway_url: url(ports[4]),
        services,
        product_config,
        _databases: databases,
        _bus: bus,
        redis,
        _index: index,
    };
    wait_for_catalog_replica(&system.gateway_url).await;
    system
}

/// The order service copies the catalog in the background at start-up, in id order: once
/// a cart takes the newest product, it has them all.
async fn wait_for_catalog_replica(gateway: &str) {
    let client = reqwest::Client::new();
    let cookie = shop_testkit::sign_in(
        &client,
        gateway,
        user_service::seed::CUSTOMER_EMAIL,
        user_service::seed::CUSTOMER_PASSWORD,
    )
    .await;
    let page: Value = client
        .get(format!("{gateway}/api/products?limit=100"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let newest = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|product| product["id"].as_str())
        .max()
        .unwrap()
        .to_owned();
    eventually("the order service knows the whole catalog", async || {
        client
            .post(format!("{gateway}/api/cart/items"))
            .header("cookie", &cookie)
            .json(&json!({"product_id": newest, "quantity": 1}))
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    })
    .await;
    let emptied = client
        .delete(format!("{gateway}/api/cart"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert!(emptied.status().is_success());
}

#[derive(clap::Parser)]
struct Cli {
    #[command(flatten)]
    run: loadtest::RunArgs,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_smoke_profile_runs_without_errors_and_reconciles() {
    let system = start_system().await;
    let out = TempDir::new("loadtest-report");
    let args = config_from_args::<Cli>([
        "loadtest",
        "--profile",
        "smoke",
        "--base-url",
        &system.gateway_url,
        "--seconds",
        "15",
        "--rate",
        "3",
        "--users",
        "6",
        "--products",
        "12",
        "--freshness-interval",
        "3",
        "--settle-seconds",
        "60",
        "--quiet",
        "--out",
        out.path.to_str().unwrap(),
    ])
    .run;

    let summary = loadtest::run(&args).await.expect("the run completes");
    loadtest::report::write(&summary, &out.path).unwrap();
    let terminal = loadtest::report::terminal::render(&summary);

    assert_eq!(
        summary.measurements.requests.errors, 0,
        "{terminal}\n{:#?}",
        summary.measurements.error_samples
    );
    assert!(
        summary.measurements.journeys.iter().all(|journey| journey.errors == 0),
        "{terminal}"
    );
    assert!(summary.reconciliation.passed, "{terminal}");
    assert!(summary.verdict.passed, "{terminal}");
    assert!(summary.business.orders_placed > 0, "{terminal}");
    assert_eq!(summary.business.still_pending, 0, "{terminal}");
    assert_eq!(
        summary.reconciliation.orders_checked as u64,
        summary.business.orders_placed
    );
    for journey in ["browse", "search", "buy"] {
        assert!(
            summary
                .measurements
                .journeys
                .iter()
                .any(|j| j.name == journey && j.count > 0),
            "no {journey} journey ran:\n{terminal}"
        );
    }
    let json: Value = serde_json::from_slice(&std::fs::read(out.path.join("summary.json")).unwrap()).unwrap();
    assert_eq!(json["reconciliation"]["passed"], true);
    let html = std::fs::read_to_string(out.path.join("report.html")).unwrap();
    assert!(html.contains("PASSED") && html.contains("<svg"));
    assert!(
        !html.contains("<script") && !html.contains("src="),
        "the report loads nothing"
    );

    system.stop().await;
}

/// The run outlasts a fault it did not cause: the product service stops for a few seconds
/// mid-run. Requests fail meanwhile (counted, in the timeline), the run goes on, and the
/// checking traffic (freshness probe, reconciliation) waits the outage out: the orders settle
/// and the stock adds up once the service is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_outlasts_a_service_outage_and_still_reconciles() {
    let mut system = start_system().await;
    let out = TempDir::new("loadtest-report");
    let args = config_from_args::<Cli>([
        "loadtest",
        "--base-url",
        &system.gateway_url,
        "--seconds",
        "12",
        "--rate",
        "4",
        "--mix",
        "browse=1,buy=2",
        "--users",
        "6",
        "--products",
        "12",
        "--freshness-interval",
        "1",
        "--settle-seconds",
        "60",
        "--fail-on-errors",
        "false",
        "--quiet",
        "--out",
        out.path.to_str().unwrap(),
    ])
    .run;
    let run = tokio::spawn(async move { loadtest::run(&args).await });

    tokio::time::sleep(Duration::from_secs(4)).await;
    let product = system.services.remove(PRODUCT);
    let port: u16 = product.base_url.rsplit(':').next().unwrap().parse().unwrap();
    product.stop().await.expect("the product service stops cleanly");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let config = system.product_config.clone();
    let restarted = RunningService::start(port, |stop| product_service::run(config, stop)).await;
    system.services.insert(PRODUCT, restarted);

    let summary = run.await.unwrap().expect("the run completes despite the outage");
    let terminal = loadtest::report::terminal::render(&summary);
    assert!(
        summary.measurements.requests.errors > 0,
        "the outage went unnoticed:\n{terminal}"
    );
    assert!(
        summary.measurements.timeline.iter().any(|second| second.errors > 0),
        "{terminal}"
    );
    assert!(summary.reconciliation.passed, "{terminal}");
    assert!(summary.business.orders_placed > 0, "{terminal}");
    system.stop().await;
}

/// The reconciliation's administrator session is lost (the session store forgot it, as a
/// Redis restart without persistence does): it signs in again instead of failing with 401.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_checking_session_signs_in_again_when_its_session_is_lost() {
    let system = start_system().await;
    let recorder = std::sync::Arc::new(loadtest::stats::Recorder::new(1));
    let shop = loadtest::api::Shop::new(&system.gateway_url, Duration::from_secs(10), recorder).unwrap();
    let mut admin = loadtest::api::Session::checking(
        shop,
        user_service::seed::ADMIN_EMAIL,
        user_service::seed::ADMIN_PASSWORD,
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    let product = {
        let page: Value = admin.get("", "", "/api/products?limit=1").await.unwrap();
        page["items"][0]["id"].as_str().unwrap().to_owned()
    };
    let inventory = format!("/api/products/{product}/inventory");
    admin.get::<Value>("", "", inventory.clone()).await.unwrap();

    let mut redis = system.redis.connection().await;
    for key in system.redis.keys().await {
        let _: () = redis::cmd("DEL").arg(key).query_async(&mut redis).await.unwrap();
    }
    let stock: Value = admin
        .get("", "", inventory)
        .await
        .expect("signed in again after the session was lost");
    assert!(stock["on_hand"].is_i64(), "{stock}");
    system.stop().await;
}
