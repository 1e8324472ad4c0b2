//! Search freshness: how long a catalog change takes to become searchable. Every few
//! seconds the administrator changes the price of one product outside the working set
//! (alternating between its price and one cent more) and polls the search until it shows the
//! new price. The price is put back at the end.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::watch;
use uuid::Uuid;

use crate::{
    api::{Request, Session},
    catalog::{Money, Product},
    reconcile::LatencySummary,
    stats::{Outcome, Series},
};

/// A change not searchable after this long counts as missed.
const GIVE_UP: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(50);

#[derive(Debug, Clone, Serialize)]
pub struct Freshness {
    pub product_id: Option<Uuid>,
    pub changes: u64,
    /// Changes not searchable within 30 s.
    pub missed: u64,
    /// Probes that failed (the change or a search got no answer, even after retrying): during
    /// a fault the probe goes on with the next one.
    pub failed: u64,
    pub lag_ms: Option<LatencySummary>,
}

#[derive(Deserialize)]
struct SearchPage {
    hits: Vec<Hit>,
}

#[derive(Deserialize)]
struct Hit {
    id: Uuid,
    price: Money,
}

async fn set_price(admin: &mut Session, product: Uuid, price: &Money) -> anyhow::Result<()> {
    admin
        .call(Request::with_body(
            Method::PUT,
            "",
            "",
            format!("/api/products/{product}/price"),
            json!(price),
        ))
        .await?;
    Ok(())
}

async fn searchable(admin: &mut Session, product: &Product, amount: i64) -> anyhow::Result<bool> {
    let query: String = product
        .name
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '+' })
        .collect();
    let page: SearchPage = admin.get("", "", format!("/api/search?q={query}&per_page=50")).await?;
    Ok(page
        .hits
        .iter()
        .any(|hit| hit.id == product.id && hit.price.amount_minor == amount))
}

/// Probes every `interval` until `stop` turns true.
pub async fn probe(
    mut admin: Session,
    product: Option<Product>,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<Freshness> {
    let mut lags = Series::default();
    let mut result = Freshness {
        product_id: product.as_ref().map(|p| p.id),
        changes: 0,
        missed: 0,
        failed: 0,
        lag_ms: None,
    };
    let Some(product) = product else {
        return Ok(result);
    };
    let original = product.price.clone();
    let mut ticker = tokio::time::interval(interval);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => break,
        }
        let price = Money {
            amount_minor: original.amount_minor + (result.changes as i64 + 1) % 2,
            currency: original.currency.clone(),
        };
        if set_price(&mut admin, product.id, &price).await.is_err() {
            result.failed += 1;
            continue;
        }
        let changed = Instant::now();
        result.changes += 1;
        loop {
            match searchable(&mut admin, &product, price.amount_minor).await {
                Ok(true) => {
                    lags.record(changed.elapsed(), Outcome::Status(200));
                    break;
                }
                Ok(false) => {}
                Err(_) => {
                    result.failed += 1;
                    break;
                }
            }
            if changed.elapsed() > GIVE_UP {
                result.missed += 1;
                break;
            }
            tokio::time::sleep(POLL).await;
        }
    }
    set_price(&mut admin, product.id, &original).await?;
    result.lag_ms = LatencySummary::of(&lags);
    Ok(result)
}
