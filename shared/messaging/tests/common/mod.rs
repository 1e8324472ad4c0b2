//! What the messaging tests share: a test event, a handler that records what it applied, and
//! running one test against both buses.

#![allow(dead_code, unused_macros, unused_imports)] // each test binary uses its own part

use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use shop_contracts::events::{Cause, Envelope, Event};
use shop_messaging::{
    EventBus, Handler, Namespace,
    bus::{Deliveries, Delivery},
    consumer::ConsumerSpec,
};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// The messaging tables alone.
pub static MIGRATIONS: std::sync::LazyLock<sqlx::migrate::Migrator> =
    std::sync::LazyLock::new(|| shop_messaging::schema::migrator(&sqlx::migrate::Migrator::DEFAULT, [1, 2]));

/// A test event: `poison` ones always fail.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tick {
    pub poison: bool,
}

impl Event for Tick {
    const TYPE: &'static str = "order.ticked";
}

/// Records each applied event in `applied`, in the consumer's transaction, then fails a
/// poison event (so a test can see that its row was rolled back).
pub struct Recorder;

impl Handler for Recorder {
    type Events = Tick;

    async fn handle(&self, tx: &mut PgConnection, envelope: &Envelope, tick: Tick) -> anyhow::Result<()> {
        sqlx::query("INSERT INTO applied (event_id) VALUES ($1)")
            .bind(envelope.id)
            .execute(&mut *tx)
            .await?;
        anyhow::ensure!(!tick.poison, "poison event");
        Ok(())
    }
}

/// `applied` keeps the order in which events were applied.
pub async fn setup(db: &PgPool) {
    sqlx::query("CREATE TABLE applied (n bigint GENERATED ALWAYS AS IDENTITY, event_id uuid NOT NULL)")
        .execute(db)
        .await
        .unwrap();
}

pub fn tick(poison: bool) -> Envelope {
    Envelope::new("test", Uuid::now_v7(), 1, &Tick { poison }, Cause::new_flow())
}

/// How many times `event` was applied.
pub async fn applied(db: &PgPool, event: &Envelope) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM applied WHERE event_id = $1")
        .bind(event.id)
        .fetch_one(db)
        .await
        .unwrap()
}

/// The ids of applied events, in the order they were applied.
pub async fn applied_in_order(db: &PgPool) -> Vec<Uuid> {
    sqlx::query_scalar("SELECT event_id FROM applied ORDER BY n")
        .fetch_all(db)
        .await
        .unwrap()
}

pub fn spec() -> ConsumerSpec<Tick> {
    let mut spec = ConsumerSpec::new("recorder");
    spec.max_deliveries = 3;
    spec.backoff = vec![Duration::from_millis(20)];
    spec
}

/// The next `count` deliveries (waiting at most 10 s for each).
pub async fn receive(deliveries: &mut Deliveries, count: usize) -> Vec<Delivery> {
    let mut received = Vec::with_capacity(count);
    for _ in 0..count {
        let delivery = tokio::time::timeout(Duration::from_secs(10), deliveries.next())
            .await
            .expect("a delivery within 10 s")
            .expect("the subscription goes on")
            .expect("a delivery, not an error");
        received.push(delivery);
    }
    received
}

/// Asserts that no further delivery comes within a short while.
pub async fn nothing_more(deliveries: &mut Deliveries) {
    assert!(
        tokio::time::timeout(Duration::from_millis(300), deliveries.next())
            .await
            .is_err(),
        "nothing else"
    );
}

pub fn envelope_of(delivery: &Delivery) -> Envelope {
    serde_json::from_slice(&delivery.payload).unwrap()
}

/// Runs each named `async fn(bus, namespace, db)` against the real NATS JetStream and the
/// in-process bus, each with a fresh database.
macro_rules! on_both_buses {
    ($($name:ident),* $(,)?) => {
        mod jetstream {
            $(
                #[tokio::test]
                async fn $name() {
                    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &$crate::common::MIGRATIONS).await;
                    let test_bus = shop_testkit::TestBus::jetstream().await;
                    super::$name(test_bus.bus.clone(), test_bus.namespace.clone(), db).await;
                }
            )*
        }
        mod in_process {
            $(
                #[tokio::test]
                async fn $name() {
                    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &$crate::common::MIGRATIONS).await;
                    super::$name(
                        shop_messaging::in_process::InProcessBus::new(),
                        shop_messaging::Namespace::new("test").unwrap(),
                        db,
                    )
                    .await;
                }
            )*
        }
    };
}
pub(crate) use on_both_buses;
