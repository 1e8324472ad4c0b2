//! The README's run command, end to end: `shop up` on fresh databases and free ports brings
//! every service up with demo data, the services work together, and Ctrl-C stops them all.

use std::{process::Stdio, time::Duration};

use nix::{sys::signal, unistd::Pid};
use serde_json::{Value, json};
use shop_contracts::identity::{IDENTITY_HEADER, VERIFY_CREDENTIALS_PATH, VerifiedCredentials};
use shop_testkit::{TestDatabase, free_port};
use tokio::io::{AsyncBufReadExt, BufReader};

async fn sign_in(client: &reqwest::Client, user: &str, email: &str, password: &str) -> String {
    let verified: VerifiedCredentials = client
        .post(format!("{user}{VERIFY_CREDENTIALS_PATH}"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    shop_testkit::token(&verified.into())
}

#[tokio::test]
async fn shop_up_runs_the_whole_system_and_stops_cleanly_on_ctrl_c() {
    let databases = [
        TestDatabase::create("users").await,
        TestDatabase::create("products").await,
        TestDatabase::create("orders").await,
    ];
    let ports = [free_port(), free_port(), free_port()];
    let [user, product, order] = ports.map(|port| format!("http://127.0.0.1:{port}"));

    let mut shop = tokio::process::Command::new(env!("CARGO_BIN_EXE_shop"))
        .arg("up")
        .env("USER_DATABASE_URL", &databases[0].url)
        .env("PRODUCT_DATABASE_URL", &databases[1].url)
        .env("ORDER_DATABASE_URL", &databases[2].url)
        .env("USER_LISTEN_ADDR", format!("127.0.0.1:{}", ports[0]))
        .env("PRODUCT_LISTEN_ADDR", format!("127.0.0.1:{}", ports[1]))
        .env("ORDER_LISTEN_ADDR", format!("127.0.0.1:{}", ports[2]))
        .env("IDENTITY_KEY", shop_testkit::IDENTITY_KEY)
        .env("CATALOG_SYNC_INTERVAL_SECONDS", "1")
        .env("SHOP_DEMO_PRODUCTS", "200")
        .env_remove("PRODUCT_SERVICE_URL")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start shop up");

    // The banner lists every service's URL once all of them are ready.
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
    for url in [&user, &product, &order] {
        assert!(banner.contains(url.as_str()), "{url} missing from:\n{banner}");
    }

    let client = reqwest::Client::new();
    let page: Value = client
        .get(format!("{product}/api/products?limit=5"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 5, "demo catalog is loaded");
    let product_id = items[0]["id"].as_str().unwrap().to_owned();

    let token = sign_in(
        &client,
        &user,
        user_service::seed::CUSTOMER_EMAIL,
        user_service::seed::CUSTOMER_PASSWORD,
    )
    .await;
    // The order service learns about products through its catalog replica; wait for it.
    let mut added = None;
    for _ in 0..100 {
        let response = client
            .post(format!("{order}/api/cart/items"))
            .header(IDENTITY_HEADER, &token)
            .json(&json!({"product_id": product_id, "quantity": 2}))
            .send()
            .await
            .unwrap();
        if response.status().is_success() {
            added = Some(response.json::<Value>().await.unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    added.expect("the product reached the order service's replica");
    let cart: Value = client
        .get(format!("{order}/api/cart"))
        .header(IDENTITY_HEADER, &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cart["items"][0]["quantity"], 2);
    assert_eq!(cart["items"][0]["unit_price"], items[0]["price"]);

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
