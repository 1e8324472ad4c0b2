//! Idempotent consumers: each event is applied in one transaction together with an inbox row
//! `(consumer, event id)`, and acknowledged only after that commits. A redelivery finds the
//! inbox row and changes nothing; a failure rolls everything back and is retried with
//! back-off; after `max_deliveries` the event goes to the consumer's dead-letter subject.

use std::{future::Future, panic::AssertUnwindSafe, time::Duration};

use futures_util::{FutureExt, StreamExt};
use shop_contracts::events::Envelope;
use sqlx::{PgConnection, PgPool};
use tracing::Instrument;

use crate::{
    EventBus, Namespace,
    bus::{BusError, Delivery, Subscription},
    dead_letter,
};

/// Applies events of the types it was subscribed to, inside the given transaction. Events it
/// publishes in reaction go through [`crate::outbox::enqueue`] on the same transaction.
pub trait Handler: Send + Sync + 'static {
    fn handle<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        event: &'a Envelope,
    ) -> impl Future<Output = anyhow::Result<()>> + Send + 'a;
}

/// What a consumer reads and how hard it tries.
#[derive(Debug, Clone)]
pub struct ConsumerSpec {
    /// Durable name, also the inbox key and the dead-letter subject suffix: `order-saga`.
    pub name: String,
    /// The context whose stream it reads, in order: `inventory`.
    pub context: String,
    /// The event types the handler is given; other events of the context are acknowledged
    /// unseen. Reading the whole stream with one consumer keeps each aggregate's events in
    /// the order they were published.
    pub event_types: Vec<String>,
    /// Deliveries before an event is dead-lettered.
    pub max_deliveries: u32,
    /// Delay before the n-th redelivery (the last entry repeats).
    pub backoff: Vec<Duration>,
    /// A delivery not acknowledged within this time (the consumer died) is delivered again.
    pub ack_wait: Duration,
}

impl ConsumerSpec {
    /// A consumer of `event_types`, which must all belong to one context.
    pub fn new(name: &str, event_types: &[&str]) -> Self {
        let context = event_types
            .first()
            .and_then(|t| t.split('.').next())
            .unwrap_or_default();
        assert!(
            event_types.iter().all(|t| t.split('.').next() == Some(context)),
            "a consumer reads one context: {event_types:?}"
        );
        Self {
            name: name.to_owned(),
            context: context.to_owned(),
            event_types: event_types.iter().map(|t| (*t).to_owned()).collect(),
            max_deliveries: 5,
            backoff: vec![
                Duration::from_millis(100),
                Duration::from_millis(500),
                Duration::from_secs(2),
            ],
            ack_wait: Duration::from_secs(30),
        }
    }

    fn wants(&self, event_type: &str) -> bool {
        self.event_types.iter().any(|t| t == event_type)
    }

    fn delay_before(&self, attempt: u32) -> Duration {
        let index = (attempt as usize)
            .saturating_sub(1)
            .min(self.backoff.len().saturating_sub(1));
        self.backoff.get(index).copied().unwrap_or(Duration::from_secs(1))
    }

    pub fn subscription(&self, namespace: &Namespace) -> Subscription {
        Subscription {
            durable: self.name.clone(),
            stream: namespace.stream(&self.context),
            filter: namespace.stream_subjects(&self.context),
            ack_wait: self.ack_wait,
        }
    }
}

/// What became of one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// An event type this consumer does not handle.
    Ignored,
    Duplicate,
    Retrying,
    DeadLettered,
}

/// Consumes until `shutdown` completes. Returns an error only if the broker refuses the
/// subscription; delivery problems are retried.
pub async fn run<B: EventBus, H: Handler>(
    bus: B,
    db: PgPool,
    namespace: Namespace,
    spec: ConsumerSpec,
    handler: H,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), BusError> {
    let mut deliveries = bus.subscribe(spec.subscription(&namespace)).await?;
    tokio::pin!(shutdown);
    loop {
        let delivery = tokio::select! {
            () = &mut shutdown => return Ok(()),
            next = deliveries.next() => match next {
                Some(Ok(delivery)) => delivery,
                Some(Err(error)) => {
                    tracing::warn!(consumer = spec.name, %error, "cannot receive events; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                None => return Err(BusError::new(format!("the subscriptions of {} ended", spec.name))),
            },
        };
        if let Err(error) = process(&bus, &db, &namespace, &spec, &handler, delivery).await {
            tracing::warn!(consumer = spec.name, %error, "event left for redelivery");
        }
    }
}

/// Applies one delivery and acknowledges it as its outcome requires.
pub async fn process<B: EventBus, H: Handler>(
    bus: &B,
    db: &PgPool,
    namespace: &Namespace,
    spec: &ConsumerSpec,
    handler: &H,
    delivery: Delivery,
) -> anyhow::Result<Outcome> {
    let envelope: Envelope = match serde_json::from_slice(&delivery.payload) {
        Ok(envelope) => envelope,
        Err(error) => {
            // Not an event at all: no retry can fix it.
            let reason = format!("not an event envelope: {error}");
            dead_letter::send(bus, namespace, &spec.name, &delivery, &reason).await?;
            delivery.ack().await?;
            return Ok(Outcome::DeadLettered);
        }
    };
    if !spec.wants(&envelope.event_type) {
        delivery.ack().await?;
        return Ok(Outcome::Ignored);
    }
    let span = tracing::info_span!("event", consumer = spec.name, event_type = envelope.event_type,
        event_id = %envelope.id, correlation_id = %envelope.correlation_id, attempt = delivery.attempt);
    match apply(db, &spec.name, handler, &envelope).instrument(span).await {
        Ok(fresh) => {
            delivery.ack().await?;
            let outcome = if fresh { Outcome::Applied } else { Outcome::Duplicate };
            metrics::counter!("events_consumed_total", "consumer" => spec.name.clone(), "outcome" => outcome.label())
                .increment(1);
            Ok(outcome)
        }
        Err(error) if delivery.attempt >= spec.max_deliveries => {
            let reason = format!("{error:#}");
            tracing::error!(consumer = spec.name, event_id = %envelope.id, event_type = envelope.event_type,
                attempts = delivery.attempt, error = reason, "event dead-lettered");
            dead_letter::send(bus, namespace, &spec.name, &delivery, &reason).await?;
            delivery.ack().await?;
            metrics::counter!("events_consumed_total", "consumer" => spec.name.clone(), "outcome" => "dead_lettered")
                .increment(1);
            Ok(Outcome::DeadLettered)
        }
        Err(error) => {
            let delay = spec.delay_before(delivery.attempt);
            tracing::warn!(consumer = spec.name, event_id = %envelope.id, event_type = envelope.event_type,
                attempt = delivery.attempt, retry_in = ?delay, error = format!("{error:#}"), "event failed; will retry");
            delivery.retry_after(delay).await?;
            metrics::counter!("events_consumed_total", "consumer" => spec.name.clone(), "outcome" => "retrying")
                .increment(1);
            Ok(Outcome::Retrying)
        }
    }
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Ignored => "ignored",
            Outcome::Duplicate => "duplicate",
            Outcome::Retrying => "retrying",
            Outcome::DeadLettered => "dead_lettered",
        }
    }
}

/// Runs the handler and records the inbox row in one transaction. `Ok(false)`: seen before.
pub async fn apply<H: Handler>(db: &PgPool, consumer: &str, handler: &H, envelope: &Envelope) -> anyhow::Result<bool> {
    let mut tx = db.begin().await?;
    let fresh = sqlx::query("INSERT INTO inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(consumer)
        .bind(envelope.id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    if !fresh {
        return Ok(false);
    }
    // A panicking handler is a failed delivery like any other, not a dead consumer.
    AssertUnwindSafe(handler.handle(&mut tx, envelope))
        .catch_unwind()
        .await
        .map_err(|_| anyhow::anyhow!("handler panicked"))??;
    tx.commit().await?;
    Ok(true)
}

impl<H: Handler> Handler for std::sync::Arc<H> {
    fn handle<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        event: &'a Envelope,
    ) -> impl Future<Output = anyhow::Result<()>> + Send + 'a {
        (**self).handle(tx, event)
    }
}
