//! The README's run command, end to end: `shop up` on fresh databases, free ports and an event
//! namespace of its own brings every service and the gateway up with demo data; a customer
//! signs in and checks out through the gateway; a crashed service is started again while the
//! rest keep serving; Ctrl-C stops everything. Its start-up output
//! is one summary, without warnings, configuration dumps or colour codes.

use std::{process::Stdio, time::Duration};

use nix::{sys::signal, unistd::Pid};
use serde_json::{Value, json};
use shop_testkit::{RedisPrefix, TempDir, TestBus, TestDatabase, eventually, free_port};
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test]
async fn shop_up_runs_the_whole_system_and_stops_cleanly_on_ctrl_c() {
    let databases = [
        TestDatabase::create("users").await,
        TestDatabase::create("products").await,
        TestDatabase::create("orders").await,
        TestDatabase::create("search").await,
    ];
    let index_dir = TempDir::new("shop-run-index");
    let data_dir = TempDir::new("shop-run-data");
    let bus = TestBus::jetstream().await;
    let redis = RedisPrefix::new();
    let ports = [free_port(), free_port(), free_port(), free_port(), free_port()];
    let gateway = format!("http://127.0.0.1:{}", ports[4]);

    let mut shop = tokio::process::Command::new(env!("CARGO_BIN_EXE_shop"))
        .arg("up")
        .env("USER_DATABASE_URL", &databases[0].url)
        .env("PRODUCT_DATABASE_URL", &databases[1].url)
        .env("ORDER_DATABASE_URL", &databases[2].url)
        .env("USER_LISTEN_ADDR", format!("127.0.0.1:{}", ports[0]))
        .env("PRODUCT_LISTEN_ADDR", format!("127.0.0.1:{}", ports[1]))
        .env("ORDER_LISTEN_ADDR", format!("127.0.0.1:{}", ports[2]))
        .env("SEARCH_DATABASE_URL", &databases[3].url)
        .env("SEARCH_LISTEN_ADDR", format!("127.0.0.1:{}", ports[3]))
        .env("SEARCH_INDEX_DIR", &index_dir.path)
        .env("SHOP_DATA_DIR", &data_dir.path)
        .env("GATEWAY_LISTEN_ADDR", format!("127.0.0.1:{}", ports[4]))
        .env("EVENT_NAMESPACE", bus.namespace.as_str())
        .env("REDIS_KEY_PREFIX", &redis.prefix)
        // As on a developer's machine: no key set, so `shop up` runs the public development key.
        .env_remove("IDENTITY_KEY")
        .env_remove("SHOP_DEVELOPMENT")
        .env("SHOP_DEMO_PRODUCTS", "20")
        .env_remove("PRODUCT_SERVICE_URL")
        .env_remove("USER_UPSTREAMS")
        .env_remove("PRODUCT_UPSTREAMS")
        .env_remove("ORDER_UPSTREAMS")
        .env_remove("SEARCH_UPSTREAMS")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start shop up");

    // The banner names the gateway as the shop's URL once everything is ready.
    let mut stdout = BufReader::new(shop.stdout.take().unwrap()).lines();
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
    .expect("shop up became ready in time");
    // Keep reading its output, or the services block once the pipe is full.
    tokio::spawn(async move { while let Ok(Some(_)) = stdout.next_line().await {} });
    assert!(banner.contains(&format!("Open {gateway}")), "{banner}");
    for port in &ports[..4] {
        assert!(banner.contains(&format!("127.0.0.1:{port}")), "{banner}");
    }
    // One summary, nothing alarming before it: the order service starts after the product
    // service it reads the catalog from, configurations are not dumped, and output that is
    // not a terminal gets no colour codes.
    let summary: Vec<&str> = banner
        .lines()
        .skip_while(|line| !line.contains("The shop is running"))
        .collect();
    for database in &databases {
        let name = database.url.rsplit('/').next().unwrap();
        assert!(summary.iter().any(|line| line.contains(name)), "{banner}");
    }
    assert!(summary.iter().any(|line| line.contains("demo data")), "{banner}");
    // No warnings and no start-up chatter from the NATS client; the public development
    // identity key (the test sets no IDENTITY_KEY, as a newcomer would not) is said once, in
    // the summary.
    let warnings: Vec<&str> = banner.lines().filter(|line| line.contains(" WARN ")).collect();
    assert!(warnings.is_empty(), "{banner}");
    assert!(!banner.contains("async_nats"), "{banner}");
    assert!(
        summary
            .iter()
            .any(|line| line.contains("identity key") && line.contains("public development key")),
        "{banner}"
    );
    assert!(!banner.contains("config="), "{banner}");
    assert!(!banner.contains('\x1b'), "{banner}");

    // Through the gateway only: browse, sign in, fill the cart, check out.
    let client = reqwest::Client::new();
    let page: Value = client
        .get(format!("{gateway}/api/products?limit=5"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 5, "demo catalog is loaded");
    let product_id = items[0]["id"].as_str().unwrap().to_owned();

    let cookie = shop_testkit::sign_in(
        &client,
        &gateway,
        user_service::seed::CUSTOMER_EMAIL,
        user_service::seed::CUSTOMER_PASSWORD,
    )
    .await;
    let call = |method: reqwest::Method, path: &str| {
        client
            .request(method, format!("{gateway}{path}"))
            .header("cookie", cookie.clone())
    };
    // The order service learns about products through its catalog replica; wait for it.
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
        .header("Idempotency-Key", "run-command-test")
        .json(&json!({
            "shipping_address": {"recipient": "Demo Customer", "line1": "1 Main Street", "city": "Springfield",
                                 "postal_code": "12345", "country": "US"},
            "payment_token": "tok_visa",
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(order["items"][0]["unit_price"], items[0]["price"]);
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

    // The demo catalog reached the search index through the event stream.
    let name = items[0]["name"].as_str().unwrap().to_owned();
    let word = name.split_whitespace().max_by_key(|w| w.len()).unwrap().to_owned();
    eventually("the catalog is searchable through the gateway", async || {
        let found: Value = client
            .get(format!("{gateway}/api/search"))
            .query(&[("q", &word)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap_or(Value::Null);
        found["total"].as_u64().is_some_and(|total| total > 0)
    })
    .await;

    // The services stage's demonstration: an order placed, then confirmed through the events.
    let demo = tokio::process::Command::new(env!("CARGO_BIN_EXE_shop"))
        .args(["stages", "demo", "services", "--url", &gateway])
        .env("SHOP_DATA_DIR", &data_dir.path)
        .output()
        .await
        .unwrap();
    let story = String::from_utf8_lossy(&demo.stdout);
    assert!(
        demo.status.success(),
        "{story}{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    assert!(story.contains("the order is confirmed"), "{story}");

    // A crash: the product service is killed. `shop up` starts it again (its run file names
    // the new process), the rest of the shop keeps serving meanwhile, and the restarted
    // service counts the restart on its /metrics.
    let run_file = data_dir.path.join("run").join(format!("{}.json", ports[4]));
    let product_pid = |run: &Value| {
        run["processes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|process| process["label"] == "product service")
            .and_then(|process| process["pid"].as_u64())
            .unwrap()
    };
    let read_run = || serde_json::from_slice::<Value>(&std::fs::read(&run_file).unwrap()).unwrap();
    let crashed = product_pid(&read_run());
    signal::kill(Pid::from_raw(crashed as i32), signal::Signal::SIGKILL).unwrap();
    let signed_in = client
        .get(format!("{gateway}/api/cart"))
        .header("cookie", cookie.clone());
    assert!(
        signed_in.send().await.unwrap().status().is_success(),
        "the others keep serving"
    );
    eventually("the product service is started again", async || {
        product_pid(&read_run()) != crashed
    })
    .await;
    let product = format!("http://127.0.0.1:{}", ports[1]);
    eventually(
        "the restarted product service counts its restart",
        async || match client.get(format!("{product}/metrics")).send().await {
            Ok(response) => response
                .text()
                .await
                .unwrap_or_default()
                .contains("shop_process_restarts{process=\"product\"} 1"),
            Err(_) => false,
        },
    )
    .await;
    eventually("the catalog answers through the gateway again", async || {
        client
            .get(format!("{gateway}/api/products?limit=1"))
            .send()
            .await
            .is_ok_and(|response| response.status().is_success())
    })
    .await;

    // Ctrl-C: the runner stops every service and exits successfully.
    signal::kill(Pid::from_raw(shop.id().unwrap() as i32), signal::Signal::SIGINT).unwrap();
    let status = tokio::time::timeout(Duration::from_secs(30), shop.wait())
        .await
        .expect("stops in time")
        .unwrap();
    assert!(status.success(), "shop up exited with {status}");
    for port in ports {
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "port {port} still open"
        );
    }
}
