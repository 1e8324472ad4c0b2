//! Consumer behaviour — each event applied once, retries, dead letters — checked against the
//! real NATS JetStream and against the in-process bus: the same tests, both implementations.

mod common;

use std::time::Duration;

use common::{Recorder, Tick, applied, on_both_buses, setup, spec, tick};
use futures_util::StreamExt;
use shop_contracts::events::{Envelope, Event};
use shop_messaging::{
    EventBus, Handler, Namespace, bus::Subscription, consumer, dead_letter::DeadLetter, outbox, runtime::Messaging,
};
use shop_testkit::{TestBus, eventually};
use sqlx::{PgConnection, PgPool};

/// The same event published twice (by a relay that crashed before marking it sent, under a
/// new message id so the broker cannot help) is applied once.
async fn an_event_delivered_twice_is_applied_once<B: EventBus>(bus: B, namespace: Namespace, db: PgPool) {
    setup(&db).await;
    bus.ensure_streams(&namespace).await.unwrap();
    let mut messaging = Messaging::new(bus.clone(), db.clone(), namespace.clone(), "test");
    messaging.start_consumer(spec(), Recorder);

    let event = tick(false);
    let first = outbox::outgoing(&namespace, &event);
    bus.publish(first.clone()).await.unwrap();
    bus.publish(first.clone()).await.unwrap(); // same message id: dropped by the broker
    bus.publish(shop_messaging::bus::Outgoing {
        message_id: "another-id".into(),
        ..first
    })
    .await
    .unwrap();
    let marker = tick(false);
    bus.publish(outbox::outgoing(&namespace, &marker)).await.unwrap();

    eventually("the marker is applied", async || applied(&db, &marker).await == 1).await;
    assert_eq!(applied(&db, &event).await, 1);
    messaging.stop().await;
}

/// A consumer that applied an event but died before acknowledging it gets it again and
/// changes nothing the second time.
async fn a_redelivery_after_a_crash_before_ack_changes_nothing<B: EventBus>(bus: B, namespace: Namespace, db: PgPool) {
    setup(&db).await;
    bus.ensure_streams(&namespace).await.unwrap();
    let mut spec = spec();
    spec.ack_wait = Duration::from_secs(1);
    let event = tick(false);
    bus.publish(outbox::outgoing(&namespace, &event)).await.unwrap();

    let mut deliveries = bus.subscribe(spec.subscription(&namespace)).await.unwrap();
    let first = deliveries.next().await.unwrap().unwrap();
    assert_eq!(first.attempt, 1);
    assert!(consumer::apply(&db, &spec.name, &Recorder, &event).await.unwrap());
    drop(first); // the crash: effects committed, no ack

    let again = tokio::time::timeout(Duration::from_secs(10), deliveries.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(again.attempt, 2);
    let outcome = consumer::process(&bus, &db, &namespace, &spec, &Recorder, again)
        .await
        .unwrap();
    assert_eq!(outcome, consumer::Outcome::Duplicate);
    assert_eq!(applied(&db, &event).await, 1);
}

/// A poison event is retried a bounded number of times, then dead-lettered with its error;
/// the events behind it are processed.
async fn poison_events_are_dead_lettered_and_the_rest_flows<B: EventBus>(bus: B, namespace: Namespace, db: PgPool) {
    setup(&db).await;
    bus.ensure_streams(&namespace).await.unwrap();
    let mut messaging = Messaging::new(bus.clone(), db.clone(), namespace.clone(), "test");
    messaging.start_consumer(spec(), Recorder);

    let poison = tick(true);
    let good = tick(false);
    bus.publish(outbox::outgoing(&namespace, &poison)).await.unwrap();
    bus.publish(outbox::outgoing(&namespace, &good)).await.unwrap();
    let garbage = shop_messaging::bus::Outgoing {
        subject: namespace.subject(Tick::TYPE),
        message_id: "garbage".into(),
        headers: Vec::new(),
        payload: bytes::Bytes::from_static(b"not an envelope"),
    };
    bus.publish(garbage).await.unwrap();
    eventually("the good event is applied", async || applied(&db, &good).await == 1).await;

    let mut dead = bus
        .subscribe(Subscription {
            durable: "dlq-reader".into(),
            stream: namespace.dead_letter_stream(),
            filter: namespace.dead_letter_subject("recorder"),
            ack_wait: Duration::from_secs(30),
        })
        .await
        .unwrap();
    let mut letters = Vec::new();
    for _ in 0..2 {
        let delivery = tokio::time::timeout(Duration::from_secs(10), dead.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        letters.push(DeadLetter::from_delivery(&delivery));
        delivery.ack().await.unwrap();
    }
    let poisoned = letters
        .iter()
        .find(|l| l.payload.as_ref() != b"not an envelope")
        .unwrap();
    assert!(poisoned.error.contains("poison event"), "{poisoned:?}");
    assert_eq!(poisoned.consumer, "recorder");
    assert_eq!(poisoned.subject, namespace.subject(Tick::TYPE));
    let envelope: Envelope = serde_json::from_slice(&poisoned.payload).unwrap();
    assert_eq!(envelope.id, poison.id);
    assert!(letters.iter().any(|l| l.error.contains("not an event envelope")));
    // Every failed attempt was rolled back.
    assert_eq!(applied(&db, &poison).await, 0);
    messaging.stop().await;
}

/// Panics on poison events: a handler with a bug that crashes instead of returning an error.
struct Panicking;

impl Handler for Panicking {
    type Events = Tick;

    async fn handle(&self, tx: &mut PgConnection, envelope: &Envelope, tick: Tick) -> anyhow::Result<()> {
        sqlx::query("INSERT INTO applied (event_id) VALUES ($1)")
            .bind(envelope.id)
            .execute(&mut *tx)
            .await?;
        assert!(!tick.poison, "the handler's bug");
        Ok(())
    }
}

/// A handler that panics fails that delivery like an error would: it is rolled back, retried,
/// dead-lettered, and the consumer lives on to apply what comes after it.
async fn a_panicking_handler_fails_only_its_event<B: EventBus>(bus: B, namespace: Namespace, db: PgPool) {
    setup(&db).await;
    bus.ensure_streams(&namespace).await.unwrap();
    let mut messaging = Messaging::new(bus.clone(), db.clone(), namespace.clone(), "test");
    messaging.start_consumer(spec(), Panicking);

    let (before, poison) = (tick(false), tick(true));
    for event in [&before, &poison] {
        bus.publish(outbox::outgoing(&namespace, event)).await.unwrap();
    }
    let mut dead = bus
        .subscribe(Subscription {
            durable: "dlq-reader".into(),
            stream: namespace.dead_letter_stream(),
            filter: namespace.dead_letter_subject("recorder"),
            ack_wait: Duration::from_secs(30),
        })
        .await
        .unwrap();
    let letter = common::receive(&mut dead, 1).await.remove(0);
    assert_eq!(common::envelope_of(&letter).id, poison.id);
    assert!(DeadLetter::from_delivery(&letter).error.contains("handler panicked"));

    let after = tick(false);
    bus.publish(outbox::outgoing(&namespace, &after)).await.unwrap();
    eventually("the event after the panics is applied", async || {
        applied(&db, &after).await == 1
    })
    .await;
    assert_eq!(applied(&db, &before).await, 1);
    assert_eq!(
        applied(&db, &poison).await,
        0,
        "every panicking attempt was rolled back"
    );
    messaging.stop().await;
}

/// Events committed with a transaction are published by the relay in the order they were
/// enqueued; events of a rolled-back transaction never are.
async fn the_relay_publishes_committed_events_only<B: EventBus>(bus: B, namespace: Namespace, db: PgPool) {
    setup(&db).await;
    bus.ensure_streams(&namespace).await.unwrap();
    let kept: Vec<Envelope> = (0..5).map(|_| tick(false)).collect();
    let mut tx = db.begin().await.unwrap();
    for event in &kept {
        outbox::enqueue(&mut tx, event).await.unwrap();
    }
    tx.commit().await.unwrap();
    let rolled_back = tick(false);
    let mut tx = db.begin().await.unwrap();
    outbox::enqueue(&mut tx, &rolled_back).await.unwrap();
    tx.rollback().await.unwrap();

    let relay = outbox::Relay::new(db.clone(), bus.clone(), namespace.clone(), "test");
    assert_eq!(relay.publish_pending().await.unwrap(), 5);
    assert_eq!(relay.publish_pending().await.unwrap(), 0);
    assert_eq!(relay.record_backlog().await.unwrap().0, 0);

    let mut deliveries = bus.subscribe(spec().subscription(&namespace)).await.unwrap();
    for expected in &kept {
        let delivery = tokio::time::timeout(Duration::from_secs(10), deliveries.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let envelope: Envelope = serde_json::from_slice(&delivery.payload).unwrap();
        assert_eq!(envelope.id, expected.id, "published in the order they were enqueued");
        assert!(
            delivery
                .header("traceparent")
                .is_some_and(|t| t.contains(&expected.correlation_id.simple().to_string()))
        );
        delivery.ack().await.unwrap();
    }
    assert!(
        tokio::time::timeout(Duration::from_millis(300), deliveries.next())
            .await
            .is_err(),
        "nothing else"
    );
}

on_both_buses!(
    an_event_delivered_twice_is_applied_once,
    a_redelivery_after_a_crash_before_ack_changes_nothing,
    poison_events_are_dead_lettered_and_the_rest_flows,
    a_panicking_handler_fails_only_its_event,
    the_relay_publishes_committed_events_only,
);

/// Fails poison events until `cured` has a row: a bug fixed after its events were dead-lettered.
struct Curable;

impl Handler for Curable {
    type Events = Tick;

    async fn handle(&self, tx: &mut PgConnection, envelope: &Envelope, tick: Tick) -> anyhow::Result<()> {
        let cured: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM cured)")
            .fetch_one(&mut *tx)
            .await?;
        anyhow::ensure!(!tick.poison || cured, "poison event");
        sqlx::query("INSERT INTO applied (event_id) VALUES ($1)")
            .bind(envelope.id)
            .execute(&mut *tx)
            .await?;
        Ok(())
    }
}

#[tokio::test]
async fn dead_letters_can_be_listed_and_replayed_once_the_bug_is_fixed() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("user", &common::MIGRATIONS).await;
    let test_bus = TestBus::jetstream().await;
    let (bus, namespace) = (test_bus.bus.clone(), test_bus.namespace.clone());
    setup(&db).await;
    sqlx::query("CREATE TABLE cured (at timestamptz)")
        .execute(&db)
        .await
        .unwrap();
    let mut messaging = Messaging::new(bus.clone(), db.clone(), namespace.clone(), "test");
    messaging.start_consumer(spec(), Curable);

    let poison = tick(true);
    bus.publish(outbox::outgoing(&namespace, &poison)).await.unwrap();
    let mut letters = Vec::new();
    eventually("the event is dead-lettered", async || {
        letters = bus.dead_letters(&namespace).await.unwrap();
        !letters.is_empty()
    })
    .await;
    let (sequence, letter) = &letters[0];
    assert_eq!(letter.event(), Some(("order.ticked".to_owned(), poison.id)));
    assert!(letter.error.contains("poison event"));

    sqlx::query("INSERT INTO cured VALUES (now())")
        .execute(&db)
        .await
        .unwrap();
    bus.replay_dead_letter(&namespace, *sequence).await.unwrap();
    eventually("the replayed event is applied", async || {
        applied(&db, &poison).await == 1
    })
    .await;
    assert!(bus.dead_letters(&namespace).await.unwrap().is_empty());
    messaging.stop().await;
}
