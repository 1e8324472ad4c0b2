//! `shop stages demo database-per-business`: what a database per module takes away, what
//! answers instead, and what it buys. Against the running stage: the demo customer places an
//! order; the report a single database answers with one join — units sold per category, the
//! order module's lines joined to the product module's categories — is refused by the order
//! module's server, and answered there from the order module's own catalog replica, which the
//! product events keep. Then the user module's server is stopped: browsing and the signed-in
//! customer's own orders go on, signing in fails with a 503, and after the server is back
//! signing in works again.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::{Client, StatusCode, header};
use serde_json::json;
use sqlx::{Connection, PgConnection};

use crate::{
    demo::{Outcome, customer_with_a_full_cart, place_order, read_run_file},
    plan::ModuleDatabase,
};

/// The report, as a shared database answers it (the modules' schemas side by side).
const JOINED_REPORT: &str = "SELECT c.name, sum(i.quantity)::bigint \
     FROM order_items i JOIN products.public.products p ON p.id = i.product_id \
     JOIN products.public.categories c ON c.id = p.category_id GROUP BY c.name ORDER BY 2 DESC";

/// The same report from the order module's own data.
const REPLICA_REPORT: &str = "SELECT r.category, sum(i.quantity)::bigint \
     FROM order_items i JOIN product_replica r ON r.product_id = i.product_id GROUP BY r.category ORDER BY 2 DESC";

/// What the shop answered while the user module's server was down.
#[derive(Debug, Clone, Copy)]
pub struct WithUsersDown {
    pub browse: StatusCode,
    pub own_orders: StatusCode,
    pub sign_in: StatusCode,
    /// How long the refused sign-in took.
    pub sign_in_ms: u128,
}

pub async fn run(client: &Client, url: &str) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::default();
    let run = read_run_file(url)?;
    if run.module_databases.is_empty() {
        bail!("the running stage has no database per module (its run file names none)");
    }
    for database in &run.module_databases {
        outcome.say(format!("the {} database: {}", database.module, database.url));
    }
    let module = |name: &str| {
        run.module_databases
            .iter()
            .find(|database| database.module == name)
            .with_context(|| format!("the running stage names no {name} database"))
    };

    let cookie = customer_with_a_full_cart(client, url).await?;
    let order = place_order(client, url, &cookie).await?;
    outcome.say(format!(
        "the demo customer placed order {}",
        order["id"].as_str().unwrap_or_default()
    ));

    reports(&module("orders")?.url, &module("products")?.url, &mut outcome).await?;
    users_down(client, url, module("users")?, &cookie, &mut outcome).await?;
    Ok(outcome)
}

/// The cross-module report: refused as a join, answered from the order module's replica.
async fn reports(orders: &str, products: &str, outcome: &mut Outcome) -> anyhow::Result<()> {
    let mut orders = PgConnection::connect(orders)
        .await
        .context("connecting to the order module's database")?;
    outcome.say(
        "report \"units sold per category\": on one database, the order lines joined to the product \
         module's products and categories",
    );
    match sqlx::query(JOINED_REPORT).fetch_all(&mut orders).await {
        Ok(_) => {
            outcome.cross_module_join_refused = Some(false);
            outcome.say("the join ran: the modules still share a database");
        }
        Err(sqlx::Error::Database(error)) => {
            outcome.cross_module_join_refused = Some(true);
            outcome.say(format!(
                "the order module's server refuses it: {} — another server's tables are out of reach of a join, \
                 and of a transaction",
                error.message()
            ));
        }
        Err(error) => return Err(error).context("running the joined report"),
    }
    let rows: Vec<(String, i64)> = sqlx::query_as(REPLICA_REPORT)
        .fetch_all(&mut orders)
        .await
        .context("running the report on the order module's replica")?;
    let replicated: i64 = sqlx::query_scalar("SELECT count(*) FROM product_replica")
        .fetch_one(&mut orders)
        .await?;
    let mut products = PgConnection::connect(products)
        .await
        .context("connecting to the product module's database")?;
    let catalog: i64 = sqlx::query_scalar("SELECT count(*) FROM products")
        .fetch_one(&mut products)
        .await?;
    outcome.replica_report_rows = Some(rows.len());
    let top = rows
        .iter()
        .take(3)
        .map(|(category, units)| format!("{category} {units}"))
        .collect::<Vec<_>>()
        .join(", ");
    outcome.say(format!(
        "the order module answers it from its own catalog replica ({replicated} of the product module's {catalog} \
         products, kept by the product.* events): units per category — {top}"
    ));
    Ok(())
}

/// The user module's server stopped: what still works, what fails and how, and the way back.
async fn users_down(
    client: &Client,
    url: &str,
    users: &ModuleDatabase,
    cookie: &str,
    outcome: &mut Outcome,
) -> anyhow::Result<()> {
    users.shut_down().await.context("stopping the user module's server")?;
    outcome.say(format!(
        "stopped the user module's database server (port {})",
        users.port
    ));
    let seen = with_users_down(client, url, cookie).await;
    let restarted = users.start_again().await;
    let seen = seen?;
    restarted.context("starting the user module's server again")?;
    outcome.say(format!(
        "browsing the catalog: {}; the signed-in customer's own orders: {}; signing in: {} after {} ms",
        seen.browse, seen.own_orders, seen.sign_in, seen.sign_in_ms
    ));
    outcome.say("one module's database down fails that module's requests only");
    outcome.with_users_down = Some(seen);

    let started = Instant::now();
    loop {
        let answer = sign_in(client, url).await?;
        if answer.is_success() {
            outcome.say(format!(
                "started it again: signing in works after {} ms",
                started.elapsed().as_millis()
            ));
            outcome.signed_in_after_restart = Some(true);
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(20) {
            outcome.signed_in_after_restart = Some(false);
            bail!("signing in still answered {answer} 20 s after the user module's server was back");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn with_users_down(client: &Client, url: &str, cookie: &str) -> anyhow::Result<WithUsersDown> {
    let browse = client.get(format!("{url}/api/products?limit=3")).send().await?.status();
    let own_orders = client
        .get(format!("{url}/api/orders"))
        .header(header::COOKIE, cookie)
        .send()
        .await?
        .status();
    let started = Instant::now();
    let sign_in = sign_in(client, url).await?;
    Ok(WithUsersDown {
        browse,
        own_orders,
        sign_in,
        sign_in_ms: started.elapsed().as_millis(),
    })
}

/// The demo customer's sign-in, as a status.
async fn sign_in(client: &Client, url: &str) -> anyhow::Result<StatusCode> {
    Ok(client
        .post(format!("{url}/api/auth/login"))
        .json(&json!({
            "email": user_service::seed::CUSTOMER_EMAIL,
            "password": user_service::seed::CUSTOMER_PASSWORD,
        }))
        .send()
        .await?
        .status())
}
