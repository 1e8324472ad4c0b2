//! `shop stages demo read-replica`: replication lag, and read-your-writes. Against the running
//! stage, the standby is made to apply the primary's changes a second late (what a busy or
//! distant replica does), an administrator changes a price, and the product is read at once by
//! someone else and by the administrator; then the standby is set back.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::{Client, header};
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};

use crate::demo::{Outcome, admin_session, place_order, read_run_file, set_price, sign_in_as};

/// How late the standby applies changes during the demonstration.
const APPLY_DELAY: &str = "1s";
/// Price changes made, each read back at once.
const WRITES: i64 = 3;

pub async fn run(client: &Client, url: &str) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::default();
    let run = read_run_file(url)?;
    let standby = run
        .replica_url
        .context("the running stage has no read replica (its run file names none)")?;
    let mut standby = PgConnection::connect(&standby)
        .await
        .context("connecting to the stage's standby")?;
    let primary = run.database_url.context("the running stage names no database server")?;
    let mut primary = PgConnection::connect(&primary)
        .await
        .context("connecting to the stage's database server")?;
    let replayed: String = sqlx::query_scalar("SELECT pg_last_wal_replay_lsn()::text")
        .fetch_one(&mut standby)
        .await?;
    let behind: f64 = sqlx::query_scalar("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::text::pg_lsn)::float8")
        .bind(&replayed)
        .fetch_one(&mut primary)
        .await?;
    outcome.say(format!(
        "the standby streams the primary's WAL and has applied it up to {replayed}: {behind:.0} bytes behind the primary"
    ));

    set_apply_delay(&mut standby, APPLY_DELAY).await?;
    outcome.say(format!(
        "the standby now applies each change {APPLY_DELAY} after its commit (recovery_min_apply_delay), as a \
         busy or distant replica would"
    ));
    let mut shown = writes_read_back(client, url, &mut outcome).await;
    if shown.is_ok() {
        shown = order_read_back(client, url, &mut outcome).await;
    }
    set_apply_delay(&mut standby, "0").await?;
    outcome.say("the standby applies changes as they come again");
    shown?;
    Ok(outcome)
}

async fn writes_read_back(client: &Client, url: &str, outcome: &mut Outcome) -> anyhow::Result<()> {
    let admin = admin_session(client, url).await?;
    let page = get_json(client, &format!("{url}/api/products?limit=1"), None).await?;
    let product = page["items"][0].clone();
    let id = product["id"].as_str().context("the catalog is empty")?;
    let price = product["price"].clone();
    let amount = price["amount_minor"].as_i64().context("a price has an amount")?;
    let mut stale_for_others = false;
    let mut stale_for_writer = false;
    for step in 1..=WRITES {
        let changed = json!({"amount_minor": amount + step, "currency": price["currency"]});
        set_price(client, url, id, &admin, &changed).await?;
        let reads = [("someone else", None), ("the administrator", Some(admin.as_str()))];
        let mut seen = Vec::new();
        for (who, cookie) in reads {
            let now = get_json(client, &format!("{url}/api/products/{id}"), cookie).await?;
            let fresh = now["price"]["amount_minor"].as_i64() == Some(amount + step);
            seen.push(format!(
                "{who} reads {}",
                if fresh { "the new price" } else { "the OLD price" }
            ));
            match (cookie, fresh) {
                (None, false) => stale_for_others = true,
                (Some(_), false) => stale_for_writer = true,
                _ => {}
            }
        }
        outcome.say(format!(
            "price change {step} of {WRITES}, read back at once: {}",
            seen.join("; ")
        ));
    }
    if stale_for_others {
        outcome.say(
            "someone else's read went to the replica, which had not applied the change yet: replication lag, \
             the price of the split (they see it a moment later)",
        );
    }
    if stale_for_writer {
        outcome.say(
            "the administrator read their own change as not made: read-your-writes is off \
             (DATABASE_READ_YOUR_WRITES=false)",
        );
    } else {
        outcome.say(
            "the administrator always read their own change: after their write, their reads went to the primary \
             until the replica had replayed it (read-your-writes)",
        );
    }
    outcome.stale_for_others = Some(stale_for_others);
    outcome.stale_for_writer = Some(stale_for_writer);

    let started = Instant::now();
    loop {
        let now = get_json(client, &format!("{url}/api/products/{id}"), None).await?;
        if now["price"]["amount_minor"].as_i64() == Some(amount + WRITES) {
            break;
        }
        if started.elapsed() > Duration::from_secs(10) {
            bail!("the replica still had the old price 10 s after the change");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    outcome.say(format!(
        "the replica showed the last change to everyone {} ms later",
        started.elapsed().as_millis()
    ));
    set_price(client, url, id, &admin, &price).await
}

/// The customer's side: an order placed, and its page opened at once.
async fn order_read_back(client: &Client, url: &str, outcome: &mut Outcome) -> anyhow::Result<()> {
    let (customer, _) = sign_in_as(
        client,
        url,
        user_service::seed::CUSTOMER_EMAIL,
        user_service::seed::CUSTOMER_PASSWORD,
    )
    .await?;
    let page = get_json(client, &format!("{url}/api/products?limit=1"), None).await?;
    let product = page["items"][0]["id"].as_str().context("the catalog is empty")?;
    client
        .post(format!("{url}/api/cart/items"))
        .header(header::COOKIE, &customer)
        .json(&json!({"product_id": product, "quantity": 1}))
        .send()
        .await?
        .error_for_status()?;
    let order = place_order(client, url, &customer).await?;
    let id = order["id"].as_str().context("an order has an id")?;
    let status = client
        .get(format!("{url}/api/orders/{id}"))
        .header(header::COOKIE, &customer)
        .send()
        .await?
        .status();
    outcome.say(format!(
        "a customer checks out and opens the new order's page at once: {status}{}",
        if status.is_success() {
            " (read from the primary: the replica had not replayed the order yet)"
        } else {
            " — their own order, not found: the replica had not replayed it"
        }
    ));
    outcome.own_order_found = Some(status.is_success());
    // The order's saga ends before the demonstration does, so nothing of it is left half-done.
    let started = Instant::now();
    loop {
        let answer = client
            .get(format!("{url}/api/orders/{id}"))
            .header(header::COOKIE, &customer)
            .send()
            .await?;
        if answer.status().is_success() {
            let order: Value = answer.json().await?;
            if order["status"] != "pending" {
                outcome.say(format!(
                    "the order is {} (its saga is done)",
                    order["status"].as_str().unwrap_or("?")
                ));
                return Ok(());
            }
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!("the order was still pending after 30 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn set_apply_delay(standby: &mut PgConnection, delay: &str) -> anyhow::Result<()> {
    // ALTER SYSTEM takes no parameters; the delay is one of this module's constants.
    sqlx::raw_sql(&format!("ALTER SYSTEM SET recovery_min_apply_delay = '{delay}'"))
        .execute(&mut *standby)
        .await
        .context("setting the standby's apply delay")?;
    sqlx::query("SELECT pg_reload_conf()").execute(&mut *standby).await?;
    Ok(())
}

async fn get_json(client: &Client, url: &str, cookie: Option<&str>) -> anyhow::Result<Value> {
    let mut request = client.get(url);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    Ok(request.send().await?.error_for_status()?.json().await?)
}
