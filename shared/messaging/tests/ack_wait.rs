//! How long a delivery stays with its consumer: a consumer that dies costs `ack_wait` (seconds,
//! not half a minute), and a live one keeps even slow work, and the work waiting behind it,
//! from being delivered a second time. Against the real NATS JetStream and the in-process bus.

mod common;

use std::time::{Duration, Instant};

use common::{Tick, applied, on_both_buses, receive, setup, spec, tick};
use futures_util::StreamExt;
use shop_contracts::events::Envelope;
use shop_messaging::{EventBus, Handler, Namespace, bus::Subscription, consumer::ACK_WAIT, outbox, runtime::Messaging};
use shop_testkit::eventually;
use sqlx::{PgConnection, PgPool};

/// A consumer that took an event and died (no ack, no keep-alive) hands it on within the
/// default `ack_wait` — also when its durable was made by a release with a longer one.
async fn a_dead_consumers_event_is_delivered_again_within_seconds<B: EventBus>(
    bus: B,
    namespace: Namespace,
    db: PgPool,
) {
    setup(&db).await;
    bus.ensure_streams(&namespace).await.unwrap();
    let spec = spec();
    assert_eq!(spec.ack_wait, ACK_WAIT);
    let older = Subscription {
        ack_wait: Duration::from_secs(30),
        ..spec.subscription(&namespace)
    };
    drop(bus.subscribe(older).await.unwrap());
    bus.publish(outbox::outgoing(&namespace, &tick(false))).await.unwrap();

    let mut deliveries = bus.subscribe(spec.subscription(&namespace)).await.unwrap();
    let taken = receive(&mut deliveries, 1).await.remove(0);
    let died = Instant::now();
    drop(taken);
    let again = receive(&mut deliveries, 1).await.remove(0);
    let waited = died.elapsed();
    assert_eq!(again.attempt, 2);
    assert!(
        waited <= ACK_WAIT + Duration::from_secs(2),
        "delivered again after {waited:?}"
    );
}

/// While its keep-alive signals, a delivery is not given out again however long it is held;
/// once it is dropped, it comes back after `ack_wait`.
async fn a_delivery_kept_alive_is_not_delivered_again<B: EventBus>(bus: B, namespace: Namespace, db: PgPool) {
    setup(&db).await;
    bus.ensure_streams(&namespace).await.unwrap();
    let mut spec = spec();
    spec.ack_wait = Duration::from_secs(1);
    bus.publish(outbox::outgoing(&namespace, &tick(false))).await.unwrap();
    let mut deliveries = bus.subscribe(spec.subscription(&namespace)).await.unwrap();
    let held = receive(&mut deliveries, 1).await.remove(0);
    let keep_alive = held.keep_alive();

    let holding = async {
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            keep_alive.signal().await.unwrap();
        }
    };
    tokio::select! {
        () = holding => unreachable!(),
        next = deliveries.next() => panic!("delivered again while kept alive: {:?}", next.map(|d| d.map(|d| d.attempt))),
        () = tokio::time::sleep(Duration::from_secs(4)) => {}
    }
    drop(held);
    keep_alive.signal().await.unwrap(); // says nothing for a dropped delivery
    let again = receive(&mut deliveries, 1).await.remove(0);
    assert_eq!(again.attempt, 2);
}

/// Takes longer than `ack_wait` over each event.
struct Slow(Duration);

impl Handler for Slow {
    type Events = Tick;

    async fn handle(&self, tx: &mut PgConnection, envelope: &Envelope, _: Tick) -> anyhow::Result<()> {
        tokio::time::sleep(self.0).await;
        sqlx::query("INSERT INTO applied (event_id) VALUES ($1)")
            .bind(envelope.id)
            .execute(&mut *tx)
            .await?;
        Ok(())
    }
}

/// A consumer busy with one event for three times its `ack_wait`, with more events received
/// and waiting behind it, gets none of them a second time: each is applied once, and no
/// delivery turns out to be a duplicate.
async fn slow_work_and_the_events_behind_it_are_not_delivered_twice<B: EventBus>(
    bus: B,
    namespace: Namespace,
    db: PgPool,
) {
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .unwrap();
    setup(&db).await;
    bus.ensure_streams(&namespace).await.unwrap();
    let mut spec = spec();
    spec.ack_wait = Duration::from_secs(1);
    spec.batch = 1; // the events behind the first wait, received, while it is applied
    let mut messaging = Messaging::new(bus.clone(), db.clone(), namespace.clone(), "test");
    messaging.start_consumer(spec, Slow(Duration::from_secs(3)));

    let events: Vec<Envelope> = (0..3).map(|_| tick(false)).collect();
    for event in &events {
        bus.publish(outbox::outgoing(&namespace, event)).await.unwrap();
    }
    eventually("the last event is applied", async || {
        applied(&db, &events[2]).await == 1
    })
    .await;
    for event in &events {
        assert_eq!(applied(&db, event).await, 1);
    }
    let exported = metrics.render();
    assert!(
        exported.contains("events_consumed_total{consumer=\"recorder\",outcome=\"applied\"} 3"),
        "{exported}"
    );
    assert!(!exported.contains("outcome=\"duplicate\""), "{exported}");
    messaging.stop().await;
}

on_both_buses!(
    a_dead_consumers_event_is_delivered_again_within_seconds,
    a_delivery_kept_alive_is_not_delivered_again,
    slow_work_and_the_events_behind_it_are_not_delivered_twice,
);
