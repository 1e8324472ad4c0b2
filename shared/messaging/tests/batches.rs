//! The batched consumer path: a batch of deliveries applied in one transaction, and what a
//! crash at each point of it (after the fetch, during the apply, after the commit, part-way
//! through the acknowledgements) leaves behind — never a lost event, never one applied twice.
//! Against the real NATS JetStream and the in-process bus.

mod common;

use std::time::Duration;

use common::{
    Recorder, Tick, applied, applied_in_order, envelope_of, nothing_more, on_both_buses, receive, setup, spec, tick,
};
use serde::{Deserialize, Serialize};
use shop_contracts::events::{Cause, Envelope, Event};
use shop_messaging::{
    EventBus, Namespace,
    bus::{Deliveries, Delivery},
    consumer::{self, ConsumerSpec, Outcome},
    outbox,
};
use sqlx::PgPool;
use uuid::Uuid;

const EVENTS: usize = 20;

/// A consumer that gets deliveries back one second after it drops them unacknowledged.
fn quick_redelivery() -> ConsumerSpec<Tick> {
    let mut spec = spec();
    spec.ack_wait = Duration::from_secs(1);
    spec
}

/// Publishes `events` and subscribes to them.
async fn published<B: EventBus>(bus: &B, namespace: &Namespace, events: &[Envelope]) -> Deliveries {
    bus.ensure_streams(namespace).await.unwrap();
    for event in events {
        bus.publish(outbox::outgoing(namespace, event)).await.unwrap();
    }
    bus.subscribe(quick_redelivery().subscription(namespace)).await.unwrap()
}

async fn outcomes<B: EventBus>(bus: &B, namespace: &Namespace, db: &PgPool, deliveries: Vec<Delivery>) -> Vec<Outcome> {
    let spec = quick_redelivery();
    consumer::process_batch(bus, db, namespace, &spec, &Recorder, deliveries)
        .await
        .into_iter()
        .map(|outcome| outcome.unwrap())
        .collect()
}

/// A batch is applied in delivery order, each event once.
async fn a_batch_is_applied_in_order<B: EventBus>(bus: B, namespace: Namespace, db: PgPool) {
    setup(&db).await;
    let events: Vec<Envelope> = (0..EVENTS).map(|_| tick(false)).collect();
    let mut deliveries = published(&bus, &namespace, &events).await;
    let batch = receive(&mut deliveries, EVENTS).await;
    assert_eq!(
        outcomes(&bus, &namespace, &db, batch).await,
        vec![Outcome::Applied; EVENTS]
    );
    let ids: Vec<_> = events.iter().map(|e| e.id).collect();
    assert_eq!(applied_in_order(&db).await, ids);
    nothing_more(&mut deliveries).await;
}

/// The consumer fetched a batch and died before applying it: every event comes again and is
/// applied once.
async fn a_crash_after_the_fetch_loses_nothing<B: EventBus>(bus: B, namespace: Namespace, db: PgPool) {
    setup(&db).await;
    let events: Vec<Envelope> = (0..EVENTS).map(|_| tick(false)).collect();
    let mut deliveries = published(&bus, &namespace, &events).await;
    drop(receive(&mut deliveries, EVENTS).await);

    let again = receive(&mut deliveries, EVENTS).await;
    assert!(again.iter().all(|delivery| delivery.attempt == 2));
    assert_eq!(
        outcomes(&bus, &namespace, &db, again).await,
        vec![Outcome::Applied; EVENTS]
    );
    for event in &events {
        assert_eq!(applied(&db, event).await, 1);
    }
    nothing_more(&mut deliveries).await;
}

/// An event of a batch fails while the batch is applied: nothing of the batch is committed
/// (the poison event's own effects included), then every other event is applied once and
/// acknowledged, and the failing one alone is left to be retried.
async fn a_failure_during_the_apply_commits_nothing_of_the_batch_and_fails_only_its_event<B: EventBus>(
    bus: B,
    namespace: Namespace,
    db: PgPool,
) {
    setup(&db).await;
    let mut events: Vec<Envelope> = (0..EVENTS).map(|_| tick(false)).collect();
    events.insert(EVENTS / 2, tick(true));
    let envelopes: Vec<&Envelope> = events.iter().collect();
    assert!(
        consumer::apply_batch(&db, "recorder", &Recorder, &envelopes)
            .await
            .is_err()
    );
    assert!(
        applied_in_order(&db).await.is_empty(),
        "the failed batch left nothing behind"
    );

    let mut deliveries = published(&bus, &namespace, &events).await;
    let batch = receive(&mut deliveries, events.len()).await;
    let mut expected = vec![Outcome::Applied; EVENTS];
    expected.insert(EVENTS / 2, Outcome::Retrying);
    assert_eq!(outcomes(&bus, &namespace, &db, batch).await, expected);
    for (position, event) in events.iter().enumerate() {
        let times = if position == EVENTS / 2 { 0 } else { 1 };
        assert_eq!(applied(&db, event).await, times);
    }
    let retried = receive(&mut deliveries, 1).await;
    assert_eq!(envelope_of(&retried[0]).id, events[EVENTS / 2].id);
}

/// The batch committed and the consumer died before acknowledging it: every event comes
/// again, and none is applied a second time.
async fn a_crash_after_the_commit_applies_nothing_twice<B: EventBus>(bus: B, namespace: Namespace, db: PgPool) {
    setup(&db).await;
    let events: Vec<Envelope> = (0..EVENTS).map(|_| tick(false)).collect();
    let mut deliveries = published(&bus, &namespace, &events).await;
    let batch = receive(&mut deliveries, EVENTS).await;
    let envelopes: Vec<Envelope> = batch.iter().map(envelope_of).collect();
    let fresh = consumer::apply_batch(&db, "recorder", &Recorder, &envelopes.iter().collect::<Vec<_>>())
        .await
        .unwrap();
    assert_eq!(fresh, vec![true; EVENTS]);
    drop(batch);

    let again = receive(&mut deliveries, EVENTS).await;
    assert_eq!(
        outcomes(&bus, &namespace, &db, again).await,
        vec![Outcome::Duplicate; EVENTS]
    );
    for event in &events {
        assert_eq!(applied(&db, event).await, 1);
    }
    nothing_more(&mut deliveries).await;
}

/// The consumer died part-way through acknowledging a committed batch: only the events not
/// yet acknowledged come again, and they change nothing.
async fn a_crash_during_the_acks_redelivers_only_the_rest_and_applies_nothing_twice<B: EventBus>(
    bus: B,
    namespace: Namespace,
    db: PgPool,
) {
    setup(&db).await;
    let events: Vec<Envelope> = (0..EVENTS).map(|_| tick(false)).collect();
    let mut deliveries = published(&bus, &namespace, &events).await;
    let mut batch = receive(&mut deliveries, EVENTS).await;
    let envelopes: Vec<Envelope> = batch.iter().map(envelope_of).collect();
    consumer::apply_batch(&db, "recorder", &Recorder, &envelopes.iter().collect::<Vec<_>>())
        .await
        .unwrap();
    let unacknowledged = batch.split_off(EVENTS / 2);
    for delivery in batch {
        delivery.ack().await.unwrap();
    }
    drop(unacknowledged);

    let again = receive(&mut deliveries, EVENTS - EVENTS / 2).await;
    let again_ids: Vec<_> = again.iter().map(|d| envelope_of(d).id).collect();
    let rest: Vec<_> = events[EVENTS / 2..].iter().map(|e| e.id).collect();
    assert_eq!(again_ids, rest);
    assert_eq!(
        outcomes(&bus, &namespace, &db, again).await,
        vec![Outcome::Duplicate; EVENTS - EVENTS / 2]
    );
    for event in &events {
        assert_eq!(applied(&db, event).await, 1);
    }
    nothing_more(&mut deliveries).await;
}

/// The same event twice in one batch (re-published under another message id) is applied once.
async fn an_event_twice_in_one_batch_is_applied_once<B: EventBus>(bus: B, namespace: Namespace, db: PgPool) {
    setup(&db).await;
    let event = tick(false);
    bus.ensure_streams(&namespace).await.unwrap();
    let first = outbox::outgoing(&namespace, &event);
    bus.publish(first.clone()).await.unwrap();
    bus.publish(shop_messaging::bus::Outgoing {
        message_id: "another-id".into(),
        ..first
    })
    .await
    .unwrap();
    let mut deliveries = bus
        .subscribe(quick_redelivery().subscription(&namespace))
        .await
        .unwrap();
    let batch = receive(&mut deliveries, 2).await;
    assert_eq!(
        outcomes(&bus, &namespace, &db, batch).await,
        vec![Outcome::Applied, Outcome::Duplicate]
    );
    assert_eq!(applied(&db, &event).await, 1);
}

/// Another event type of the same context, which the recorder's set does not contain.
#[derive(Debug, Serialize, Deserialize)]
struct Tock;

impl Event for Tock {
    const TYPE: &'static str = "order.tocked";
}

/// Events of the stream outside the consumer's set are acknowledged unseen, in a batch and on
/// their own; handed to the handler directly, one is refused and leaves no inbox row.
async fn events_outside_the_set_are_acknowledged_unseen<B: EventBus>(bus: B, namespace: Namespace, db: PgPool) {
    setup(&db).await;
    let tock = || Envelope::new("test", Uuid::now_v7(), 1, &Tock, Cause::new_flow());
    let events = [tick(false), tock(), tick(false), tock()];
    let mut deliveries = published(&bus, &namespace, &events).await;
    let mut batch = receive(&mut deliveries, events.len()).await;
    let alone = batch.pop().unwrap();
    assert_eq!(
        outcomes(&bus, &namespace, &db, batch).await,
        [Outcome::Applied, Outcome::Ignored, Outcome::Applied]
    );
    let spec = quick_redelivery();
    let outcome = consumer::process(&bus, &db, &namespace, &spec, &Recorder, alone).await;
    assert_eq!(outcome.unwrap(), Outcome::Ignored);
    assert_eq!(applied_in_order(&db).await, [events[0].id, events[2].id]);
    nothing_more(&mut deliveries).await;

    let refused = consumer::apply(&db, "recorder", &Recorder, &tock()).await.unwrap_err();
    assert!(
        format!("{refused:#}").contains("expected order.ticked, got order.tocked"),
        "{refused:#}"
    );
    let inbox: i64 = sqlx::query_scalar("SELECT count(*) FROM inbox")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(inbox, 2, "only the applied events are in the inbox");
}

on_both_buses!(
    a_batch_is_applied_in_order,
    events_outside_the_set_are_acknowledged_unseen,
    a_crash_after_the_fetch_loses_nothing,
    a_failure_during_the_apply_commits_nothing_of_the_batch_and_fails_only_its_event,
    a_crash_after_the_commit_applies_nothing_twice,
    a_crash_during_the_acks_redelivers_only_the_rest_and_applies_nothing_twice,
    an_event_twice_in_one_batch_is_applied_once,
);
