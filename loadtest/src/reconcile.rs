//! The consistency reconciliation at the end of a run, and the business numbers read on the
//! way: every order the run placed must reach a terminal state, none may be confirmed twice,
//! and for every product the shoppers bought, `initial = available + reserved + sold` with
//! nothing left reserved, and exactly the units of the run's confirmed orders sold.
//!
//! The stock checks assume the run is the only buyer of its working set while it runs.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{api::Session, ledger::Ledger, stats::Series};

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct Inventory {
    pub on_hand: i32,
    pub reserved: i32,
    pub available: i32,
    pub sold: i32,
}

impl Inventory {
    /// `available + reserved + sold`: what the checkout saga must conserve.
    pub fn total(&self) -> i64 {
        i64::from(self.available) + i64::from(self.reserved) + i64::from(self.sold)
    }
}

#[derive(Debug, Clone, Deserialize)]
struct OrderLine {
    product_id: Uuid,
    quantity: i64,
}

#[derive(Debug, Clone, Deserialize)]
struct StatusChange {
    status: String,
    reason: Option<String>,
    occurred_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize)]
struct Order {
    id: Uuid,
    status: String,
    items: Vec<OrderLine>,
    history: Vec<StatusChange>,
}

impl Order {
    fn is_terminal(&self) -> bool {
        self.status != "pending"
    }

    fn entered(&self, status: &str) -> Option<DateTime<Utc>> {
        self.history
            .iter()
            .find(|change| change.status == status)
            .map(|c| c.occurred_at)
    }
}

pub async fn inventory(admin: &mut Session, product: Uuid) -> anyhow::Result<Inventory> {
    admin.get("", "", format!("/api/products/{product}/inventory")).await
}

/// Stock of the working set before the run.
pub async fn snapshot(admin: &mut Session, products: &[Uuid]) -> anyhow::Result<BTreeMap<Uuid, Inventory>> {
    let mut stock = BTreeMap::new();
    for product in products {
        stock.insert(*product, inventory(admin, *product).await?);
    }
    Ok(stock)
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Business {
    pub orders_placed: u64,
    pub confirmed: u64,
    /// Confirmed, then cancelled by the shopper.
    pub cancelled_by_customer: u64,
    pub cancelled_payment_declined: u64,
    pub cancelled_other: u64,
    /// Not enough stock.
    pub rejected: u64,
    pub still_pending: u64,
    /// Placed → confirmed, from the order's own status history.
    pub placed_to_confirmed_ms: Option<LatencySummary>,
    /// Placed → any terminal state.
    pub placed_to_settled_ms: Option<LatencySummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl LatencySummary {
    pub fn of(series: &Series) -> Option<Self> {
        let summary = series.summary(String::new(), 1.0);
        (summary.count > 0).then_some(Self {
            count: summary.count,
            p50: summary.p50_ms,
            p90: summary.p90_ms,
            p99: summary.p99_ms,
            max: summary.max_ms,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ProductCheck {
    pub product_id: Uuid,
    pub before: Inventory,
    pub after: Inventory,
    /// Units of this product in the run's orders that ended confirmed.
    pub sold_by_run: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Reconciliation {
    pub passed: bool,
    pub orders_checked: usize,
    pub products_checked: usize,
    pub violations: Vec<String>,
    pub products: Vec<ProductCheck>,
    /// How long the shop took, after the load stopped, to settle every order and reservation.
    pub settle_seconds: f64,
}

/// Waits (up to `deadline`) for every order to settle and the stock to add up, then checks.
pub async fn reconcile(
    admin: &mut Session,
    ledger: &Ledger,
    before: &BTreeMap<Uuid, Inventory>,
    deadline: Duration,
) -> anyhow::Result<(Reconciliation, Business)> {
    let started = Instant::now();
    let give_up = started + deadline;
    let mut violations = Vec::new();

    let mut orders: BTreeMap<Uuid, Order> = BTreeMap::new();
    let mut waiting = ledger.placed_orders();
    loop {
        let mut still = Vec::new();
        for id in waiting {
            let order: Order = admin.get("", "", format!("/api/orders/{id}")).await?;
            if !order.is_terminal() {
                still.push(id);
            }
            orders.insert(id, order);
        }
        waiting = still;
        if waiting.is_empty() || Instant::now() > give_up {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for id in &waiting {
        violations.push(format!(
            "order {id} is still pending {deadline:?} after the load stopped"
        ));
    }
    for order in orders.values() {
        let confirmations = order.history.iter().filter(|c| c.status == "confirmed").count();
        if confirmations > 1 {
            violations.push(format!("order {} was confirmed {confirmations} times", order.id));
        }
        if order.history.first().map(|c| c.status.as_str()) != Some("pending") {
            violations.push(format!("order {}'s history does not start at pending", order.id));
        }
    }
    for id in ledger.cancelled_orders() {
        if orders.get(&id).is_some_and(|order| order.status != "cancelled") {
            violations.push(format!(
                "order {id} was cancelled by its shopper but is {}",
                orders[&id].status
            ));
        }
    }
    if ledger.unknown_checkouts() > 0 {
        violations.push(format!(
            "{} checkouts got no answer: orders may exist that the run cannot account for",
            ledger.unknown_checkouts()
        ));
    }

    let mut sold_by_run: BTreeMap<Uuid, i64> = before.keys().map(|id| (*id, 0)).collect();
    for order in orders.values().filter(|order| order.status == "confirmed") {
        for line in &order.items {
            match sold_by_run.get_mut(&line.product_id) {
                Some(units) => *units += line.quantity,
                None => violations.push(format!(
                    "order {} bought product {} whose stock was not taken before the run",
                    order.id, line.product_id
                )),
            }
        }
    }

    // Stock follows the orders through events: poll until it adds up or time runs out.
    let mut products = Vec::new();
    loop {
        products.clear();
        for (id, initial) in before {
            products.push(ProductCheck {
                product_id: *id,
                before: initial.clone(),
                after: inventory(admin, *id).await?,
                sold_by_run: sold_by_run[id],
            });
        }
        if products.iter().all(|check| stock_violation(check).is_none()) || Instant::now() > give_up {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    violations.extend(products.iter().filter_map(stock_violation));

    let business = business(&orders);
    let reconciliation = Reconciliation {
        passed: violations.is_empty(),
        orders_checked: orders.len(),
        products_checked: products.len(),
        violations,
        products,
        settle_seconds: started.elapsed().as_secs_f64(),
    };
    Ok((reconciliation, business))
}

fn stock_violation(check: &ProductCheck) -> Option<String> {
    let (before, after) = (&check.before, &check.after);
    let id = check.product_id;
    if after.total() != before.total() {
        return Some(format!(
            "product {id}: available + reserved + sold was {} and is {} ({after:?})",
            before.total(),
            after.total()
        ));
    }
    if after.reserved != 0 {
        return Some(format!("product {id}: {} units still reserved", after.reserved));
    }
    let sold = i64::from(after.sold) - i64::from(before.sold);
    if sold != check.sold_by_run {
        return Some(format!(
            "product {id}: {sold} units sold during the run, but its confirmed orders hold {}",
            check.sold_by_run
        ));
    }
    None
}

fn business(orders: &BTreeMap<Uuid, Order>) -> Business {
    let mut business = Business {
        orders_placed: orders.len() as u64,
        ..Business::default()
    };
    let mut confirmed = Series::default();
    let mut settled = Series::default();
    let since_placed = |order: &Order, at: DateTime<Utc>| {
        let placed = order.entered("pending")?;
        (at - placed).to_std().ok()
    };
    for order in orders.values() {
        if let Some(latency) = order.entered("confirmed").and_then(|at| since_placed(order, at)) {
            confirmed.record(latency, crate::stats::Outcome::Status(200));
        }
        let settled_at = order
            .history
            .iter()
            .find(|c| c.status != "pending")
            .map(|c| c.occurred_at);
        if let Some(latency) = settled_at.and_then(|at| since_placed(order, at)) {
            settled.record(latency, crate::stats::Outcome::Status(200));
        }
        let reason = order.history.last().and_then(|c| c.reason.as_deref()).unwrap_or("");
        match order.status.as_str() {
            "confirmed" => business.confirmed += 1,
            "rejected" => business.rejected += 1,
            "pending" => business.still_pending += 1,
            _ if reason == "customer_cancelled" => business.cancelled_by_customer += 1,
            _ if reason == "payment_declined" => business.cancelled_payment_declined += 1,
            _ => business.cancelled_other += 1,
        }
    }
    business.placed_to_confirmed_ms = LatencySummary::of(&confirmed);
    business.placed_to_settled_ms = LatencySummary::of(&settled);
    business
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stock(on_hand: i32, reserved: i32, sold: i32) -> Inventory {
        Inventory {
            on_hand,
            reserved,
            available: on_hand - reserved,
            sold,
        }
    }

    fn check(before: Inventory, after: Inventory, sold_by_run: i64) -> Option<String> {
        stock_violation(&ProductCheck {
            product_id: Uuid::nil(),
            before,
            after,
            sold_by_run,
        })
    }

    #[test]
    fn stock_must_add_up_be_released_and_match_the_confirmed_orders() {
        assert_eq!(check(stock(100, 0, 5), stock(97, 0, 8), 3), None);
        assert!(
            check(stock(100, 0, 5), stock(97, 0, 9), 3)
                .unwrap()
                .contains("was 105 and is 106")
        );
        assert!(
            check(stock(100, 0, 5), stock(100, 3, 5), 0)
                .unwrap()
                .contains("3 units still reserved")
        );
        assert!(
            check(stock(100, 0, 5), stock(98, 0, 7), 3)
                .unwrap()
                .contains("2 units sold")
        );
    }

    fn order(status: &str, history: &[(&str, Option<&str>, i64)]) -> Order {
        let start = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        Order {
            id: Uuid::now_v7(),
            status: status.into(),
            items: Vec::new(),
            history: history
                .iter()
                .map(|(status, reason, ms)| StatusChange {
                    status: (*status).into(),
                    reason: reason.map(Into::into),
                    occurred_at: start + chrono::Duration::milliseconds(*ms),
                })
                .collect(),
        }
    }

    #[test]
    fn orders_are_counted_by_outcome_with_saga_latency_from_their_history() {
        let orders: BTreeMap<Uuid, Order> = [
            order(
                "confirmed",
                &[("pending", None, 0), ("confirmed", Some("payment approved"), 40)],
            ),
            order(
                "cancelled",
                &[
                    ("pending", None, 0),
                    ("confirmed", None, 20),
                    ("cancelled", Some("customer_cancelled"), 900),
                ],
            ),
            order(
                "cancelled",
                &[("pending", None, 0), ("cancelled", Some("payment_declined"), 30)],
            ),
            order(
                "rejected",
                &[("pending", None, 0), ("rejected", Some("out of stock"), 10)],
            ),
        ]
        .into_iter()
        .map(|order| (order.id, order))
        .collect();
        let business = business(&orders);
        assert_eq!(business.orders_placed, 4);
        assert_eq!(
            (
                business.confirmed,
                business.cancelled_by_customer,
                business.cancelled_payment_declined,
                business.rejected
            ),
            (1, 1, 1, 1)
        );
        let confirmed = business.placed_to_confirmed_ms.unwrap();
        assert_eq!(confirmed.count, 2);
        assert!((39.0..=41.0).contains(&confirmed.max), "{}", confirmed.max);
        assert_eq!(business.placed_to_settled_ms.unwrap().count, 4);
    }
}
