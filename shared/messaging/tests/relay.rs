//! The outbox relay beyond the happy path: a batch the broker refuses part-way, two relays on
//! one database, the purge of old rows, and the LISTEN/NOTIFY wake-up on its own (with the
//! poll that would hide a broken one turned off). Against the real NATS JetStream and the
//! in-process bus.

mod common;

use std::time::Duration;

use common::{envelope_of, nothing_more, on_both_buses, receive, spec, tick};
use serde::{Deserialize, Serialize};
use shop_contracts::events::{Cause, Envelope, Event};
use shop_messaging::{EventBus, Namespace, outbox, wakeup};
use shop_testkit::eventually;
use sqlx::PgPool;
use uuid::Uuid;

/// An event of a context that has no stream: the broker refuses to store it.
#[derive(Debug, Serialize, Deserialize)]
struct Lost;

impl Event for Lost {
    const TYPE: &'static str = "nowhere.lost";
}

async fn enqueue(db: &PgPool, events: &[Envelope]) {
    let mut tx = db.begin().await.unwrap();
    for event in events {
        outbox::enqueue(&mut tx, event).await.unwrap();
    }
    wakeup::commit(tx).await.unwrap();
}

async fn pending(db: &PgPool) -> Vec<Uuid> {
    sqlx::query_scalar("SELECT event_id FROM outbox WHERE published_at IS NULL ORDER BY id")
        .fetch_all(db)
        .await
        .unwrap()
}

async fn published(db: &PgPool, event: &Envelope) -> bool {
    sqlx::query_scalar("SELECT published_at IS NOT NULL FROM outbox WHERE event_id = $1")
        .bind(event.id)
        .fetch_one(db)
        .await
        .unwrap()
}

/// The broker stores the first events of a batch and refuses one: those stored are marked
/// sent, the refused one and everything after it stay pending, and once the cause is gone
/// (here the refused row is removed) the rest is published — each event exactly once in the
/// stream, in order.
async fn a_batch_failing_part_way_keeps_the_rest_and_publishes_nothing_twice<B: EventBus>(
    bus: B,
    namespace: Namespace,
    db: PgPool,
) {
    bus.ensure_streams(&namespace).await.unwrap();
    let (a, b, c) = (tick(false), tick(false), tick(false));
    let lost = Envelope::new("test", Uuid::now_v7(), 1, &Lost, Cause::new_flow());
    enqueue(&db, &[a.clone(), b.clone(), lost.clone(), c.clone()]).await;

    let relay = outbox::Relay::new(db.clone(), bus.clone(), namespace.clone(), "test");
    assert!(relay.publish_pending().await.is_err());
    assert!(published(&db, &a).await && published(&db, &b).await);
    assert_eq!(pending(&db).await, vec![lost.id, c.id]);

    sqlx::query("DELETE FROM outbox WHERE event_id = $1")
        .bind(lost.id)
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(relay.publish_pending().await.unwrap(), 1);
    assert!(pending(&db).await.is_empty());

    let mut deliveries = bus.subscribe(spec().subscription(&namespace)).await.unwrap();
    let ids: Vec<Uuid> = receive(&mut deliveries, 3)
        .await
        .iter()
        .map(|d| envelope_of(d).id)
        .collect();
    assert_eq!(ids, vec![a.id, b.id, c.id]);
    nothing_more(&mut deliveries).await;
}

/// Two relays on one database while events keep being committed: every event is in the
/// stream once, in commit order, and every row ends up marked sent.
async fn two_relays_side_by_side_publish_each_event_once_in_order<B: EventBus>(
    bus: B,
    namespace: Namespace,
    db: PgPool,
) {
    bus.ensure_streams(&namespace).await.unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let relays: Vec<_> = (0..2)
        .map(|_| {
            let relay = outbox::Relay::new(db.clone(), bus.clone(), namespace.clone(), "test");
            let mut stopped = stopped.clone();
            tokio::spawn(relay.run(async move {
                let _ = stopped.wait_for(|stopped| *stopped).await;
            }))
        })
        .collect();
    let mut events = Vec::new();
    for _ in 0..50 {
        let batch: Vec<Envelope> = (0..40).map(|_| tick(false)).collect();
        enqueue(&db, &batch).await;
        events.extend(batch);
    }
    eventually("every event is published", async || pending(&db).await.is_empty()).await;
    stop.send(true).unwrap();
    for relay in relays {
        relay.await.unwrap();
    }

    let mut deliveries = bus.subscribe(spec().subscription(&namespace)).await.unwrap();
    let mut ids = Vec::with_capacity(events.len());
    // Acknowledged as they come: the broker holds back more than 1,000 unacknowledged.
    for _ in 0..events.len() {
        let delivery = receive(&mut deliveries, 1).await.remove(0);
        ids.push(envelope_of(&delivery).id);
        delivery.ack().await.unwrap();
    }
    assert_eq!(ids, events.iter().map(|e| e.id).collect::<Vec<_>>());
    nothing_more(&mut deliveries).await;
}

/// The purge deletes rows published more than a day ago, and nothing else: not rows published
/// recently, and never a row not yet published however old.
async fn the_purge_deletes_only_rows_published_long_ago<B: EventBus>(bus: B, namespace: Namespace, db: PgPool) {
    bus.ensure_streams(&namespace).await.unwrap();
    let (old, recent) = (tick(false), tick(false));
    enqueue(&db, &[old.clone(), recent.clone()]).await;
    let relay = outbox::Relay::new(db.clone(), bus.clone(), namespace.clone(), "test");
    assert_eq!(relay.publish_pending().await.unwrap(), 2);
    let waiting = tick(false);
    enqueue(&db, std::slice::from_ref(&waiting)).await;
    sqlx::query("UPDATE outbox SET published_at = now() - interval '25 hours' WHERE event_id = $1")
        .bind(old.id)
        .execute(&db)
        .await
        .unwrap();
    sqlx::query("UPDATE outbox SET created_at = now() - interval '30 days' WHERE event_id = $1")
        .bind(waiting.id)
        .execute(&db)
        .await
        .unwrap();

    assert_eq!(relay.purge().await.unwrap(), 1);
    let left: Vec<Uuid> = sqlx::query_scalar("SELECT event_id FROM outbox ORDER BY id")
        .fetch_all(&db)
        .await
        .unwrap();
    assert_eq!(left, vec![recent.id, waiting.id]);
}

/// A relay running in the background, polling every `poll`, that has published a first event:
/// so it has made its first pass and waits.
struct WaitingRelay {
    stop: tokio::sync::watch::Sender<bool>,
    running: tokio::task::JoinHandle<()>,
}

impl WaitingRelay {
    async fn start<B: EventBus>(bus: &B, namespace: &Namespace, db: &PgPool, poll: Duration) -> Self {
        bus.ensure_streams(namespace).await.unwrap();
        let relay = outbox::Relay::new(db.clone(), bus.clone(), namespace.clone(), "test").polling_every(poll);
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let running = tokio::spawn(relay.run(async move {
            let _ = stopped.wait_for(|stopped| *stopped).await;
        }));
        let first = tick(false);
        enqueue(db, std::slice::from_ref(&first)).await;
        eventually("the first event is published", async || published(db, &first).await).await;
        Self { stop, running }
    }

    async fn stop(self) {
        self.stop.send(true).unwrap();
        self.running.await.unwrap();
    }
}

/// With polling as good as off, an event committed while the relay waits is published: the
/// commit's announcement woke it.
async fn the_relay_is_woken_by_the_commit<B: EventBus>(bus: B, namespace: Namespace, db: PgPool) {
    let relay = WaitingRelay::start(&bus, &namespace, &db, Duration::from_secs(3600)).await;
    let event = tick(false);
    enqueue(&db, std::slice::from_ref(&event)).await;
    eventually("the event is published", async || published(&db, &event).await).await;
    relay.stop().await;
}

/// A commit nobody announces to this process (another process's, as a command-line tool
/// makes) is published all the same, on the relay's next poll.
async fn an_event_committed_by_another_process_is_found_by_the_poll<B: EventBus>(
    bus: B,
    namespace: Namespace,
    db: PgPool,
) {
    let relay = WaitingRelay::start(&bus, &namespace, &db, Duration::from_millis(200)).await;
    let event = tick(false);
    let mut tx = db.begin().await.unwrap();
    outbox::enqueue(&mut tx, &event).await.unwrap();
    tx.commit().await.unwrap();
    eventually("the event is published", async || published(&db, &event).await).await;
    relay.stop().await;
}

on_both_buses!(
    a_batch_failing_part_way_keeps_the_rest_and_publishes_nothing_twice,
    two_relays_side_by_side_publish_each_event_once_in_order,
    the_purge_deletes_only_rows_published_long_ago,
    the_relay_is_woken_by_the_commit,
    an_event_committed_by_another_process_is_found_by_the_poll,
);
