//! Idempotent consumers: each event is applied in a transaction together with an inbox row
//! `(consumer, event id)`, and acknowledged only after that commits. A redelivery finds the
//! inbox row and changes nothing; a failure rolls everything back and is retried with
//! back-off; after `max_deliveries` the event goes to the consumer's dead-letter subject.
//!
//! A [`Handler`] names the events it handles as one [`EventSet`] type. Its consumer reads the
//! stream of that set's context, hands the handler each event of the set decoded as that type,
//! and acknowledges the stream's other events unseen; so a handler cannot be subscribed to an
//! event it has no case for, nor miss one it has.
//!
//! Events are taken in batches of whatever has arrived (one event when they trickle in, up to
//! [`ConsumerSpec::batch`] when the consumer is behind) and applied in order in one
//! transaction, so a backlog costs one commit per batch instead of one per event. If any event
//! of a batch fails, the whole transaction is rolled back and the batch's events are applied
//! one at a time, each in its own transaction: a failing event is retried or dead-lettered on
//! its own, exactly as if it had arrived alone, and blocks nothing but itself.

use std::{
    collections::{HashMap, HashSet, VecDeque, hash_map::Entry},
    future::Future,
    hash::Hash,
    marker::PhantomData,
    panic::AssertUnwindSafe,
    time::Duration,
};

use futures_util::{FutureExt, StreamExt, future::join_all};
use shop_contracts::events::{Envelope, EventSet};
use sqlx::{PgConnection, PgPool};
use tracing::Instrument;

use crate::{
    EventBus, Namespace,
    bus::{BusError, Deliveries, Delivery, KeepAlive, Subscription},
    dead_letter, wakeup,
};

/// Applies the events of its [`Handler::Events`] set, inside the given transaction. Events it
/// publishes in reaction go to the outbox on the same transaction.
pub trait Handler: Send + Sync + 'static {
    /// Every event type the handler is given, as one type; its consumer subscribes to these.
    type Events: EventSet;

    fn handle<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        envelope: &'a Envelope,
        event: Self::Events,
    ) -> impl Future<Output = anyhow::Result<()>> + Send + 'a;

    /// Applies several events, in the order given, inside one transaction: what calling
    /// [`Handler::handle`] on each in turn does, which is the default. A handler whose events
    /// can be applied set-wise (version-guarded upserts, say) overrides it with one statement
    /// for the whole batch; its result must equal applying them one at a time, in order.
    fn handle_batch<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        events: Vec<(&'a Envelope, Self::Events)>,
    ) -> impl Future<Output = anyhow::Result<()>> + Send + 'a {
        async move {
            for (envelope, event) in events {
                let span = tracing::info_span!("event", event_type = envelope.event_type,
                    event_id = %envelope.id, correlation_id = %envelope.correlation_id);
                self.handle(&mut *tx, envelope, event).instrument(span).await?;
            }
            Ok(())
        }
    }
}

/// Of several items per key, the one with the highest version, each key once, in the order the
/// keys first appear. A version-guarded upsert keeps only the newest of a row's changes anyway;
/// a set-wise one must be given each row once, since one statement cannot change a row twice.
pub fn newest_per_key<T, K: Hash + Eq>(
    items: impl IntoIterator<Item = T>,
    key: impl Fn(&T) -> K,
    version: impl Fn(&T) -> i64,
) -> Vec<T> {
    let mut position: HashMap<K, usize> = HashMap::new();
    let mut newest: Vec<T> = Vec::new();
    for item in items {
        match position.entry(key(&item)) {
            Entry::Occupied(seen) => {
                let kept = &mut newest[*seen.get()];
                if version(&item) > version(kept) {
                    *kept = item;
                }
            }
            Entry::Vacant(slot) => {
                slot.insert(newest.len());
                newest.push(item);
            }
        }
    }
    newest
}

/// Events per transaction when a consumer is behind: enough that the commit is a small share
/// of the work, few enough that a batch takes well under a second and a failed batch (applied
/// again one event at a time) costs little.
pub const BATCH: usize = 500;

/// How long a consumer that died mid-event holds it up: its deliveries go to the next
/// consumer (or the restarted one) after this. Short, since live consumers keep theirs alive.
pub const ACK_WAIT: Duration = Duration::from_secs(5);

/// What a consumer of the event set `E` reads and how hard it tries. It reads the whole stream
/// of `E`'s context, in order, and gives the handler the events of `E`; other events of the
/// context are acknowledged unseen. Reading the whole stream with one consumer keeps each
/// aggregate's events in the order they were published.
pub struct ConsumerSpec<E> {
    /// Durable name, also the inbox key and the dead-letter subject suffix: `order-saga`.
    pub name: String,
    /// Deliveries before an event is dead-lettered.
    pub max_deliveries: u32,
    /// Delay before the n-th redelivery (the last entry repeats).
    pub backoff: Vec<Duration>,
    /// A delivery not acknowledged within this time is taken to be lost with its consumer and
    /// delivered again. A live consumer keeps its deliveries alive every third of it.
    pub ack_wait: Duration,
    /// Most events applied in one transaction.
    pub batch: usize,
    events: PhantomData<fn() -> E>,
}

impl<E: EventSet> ConsumerSpec<E> {
    /// The consumer `name` of `E`, whose types must all belong to one context.
    pub fn new(name: &str) -> Self {
        let context = Self::context();
        assert!(
            E::TYPES.iter().all(|t| t.split('.').next() == Some(context)),
            "a consumer reads one context: {:?}",
            E::TYPES
        );
        Self {
            name: name.to_owned(),
            max_deliveries: 5,
            backoff: vec![
                Duration::from_millis(100),
                Duration::from_millis(500),
                Duration::from_secs(2),
            ],
            ack_wait: ACK_WAIT,
            batch: BATCH,
            events: PhantomData,
        }
    }

    /// The context whose stream the consumer reads: `inventory` for `inventory.reserved`.
    fn context() -> &'static str {
        E::TYPES.first().and_then(|t| t.split('.').next()).unwrap_or_default()
    }

    fn wants(&self, event_type: &str) -> bool {
        E::TYPES.contains(&event_type)
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
            stream: namespace.stream(Self::context()),
            filter: namespace.stream_subjects(Self::context()),
            ack_wait: self.ack_wait,
        }
    }
}

// By hand: derived, it would require `E: Clone`, and `E` is only a marker here.
impl<E> Clone for ConsumerSpec<E> {
    fn clone(&self) -> Self {
        Self {
            name: self.name.clone(),
            max_deliveries: self.max_deliveries,
            backoff: self.backoff.clone(),
            ack_wait: self.ack_wait,
            batch: self.batch,
            events: PhantomData,
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
///
/// Everything received is held here, not in the client's buffer, so that every delivery the
/// broker has handed out is kept alive (see [`KeepAlive`]) until it is acknowledged: the
/// batch being applied and those waiting behind it. `ack_wait` can then be short — a consumer
/// that dies costs that long before its deliveries go to another — without live work being
/// delivered twice.
pub async fn run<B: EventBus, H: Handler>(
    bus: B,
    db: PgPool,
    namespace: Namespace,
    spec: ConsumerSpec<H::Events>,
    handler: H,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), BusError> {
    let batch = spec.batch.max(1);
    let mut received = Received::new(bus.subscribe(spec.subscription(&namespace)).await?, 2 * batch);
    let mut keep_alive = tokio::time::interval(spec.ack_wait / 3);
    keep_alive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        if received.waiting.is_empty() {
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                more = received.wait(&spec.name) => more?,
            }
            received.take_ready(&spec.name)?;
            continue;
        }
        let deliveries: Vec<Delivery> = received.waiting.drain(..received.waiting.len().min(batch)).collect();
        let applying: Vec<KeepAlive> = deliveries.iter().map(Delivery::keep_alive).collect();
        let work = process_batch(&bus, &db, &namespace, &spec, &handler, deliveries);
        tokio::pin!(work);
        let outcomes = loop {
            tokio::select! {
                outcomes = &mut work => break outcomes,
                more = received.wait(&spec.name), if received.has_room() => more?,
                _ = keep_alive.tick() => {
                    let waiting = received.waiting.iter().map(Delivery::keep_alive);
                    signal_all(applying.iter().cloned().chain(waiting)).await;
                }
            }
        };
        for outcome in outcomes {
            if let Err(error) = outcome {
                tracing::warn!(
                    consumer = spec.name,
                    error = format!("{error:#}"),
                    "event left for redelivery"
                );
            }
        }
    }
}

/// Deliveries taken from the broker and not yet handed to [`process_batch`], at most `room`.
struct Received {
    deliveries: Deliveries,
    waiting: VecDeque<Delivery>,
    room: usize,
}

impl Received {
    fn new(deliveries: Deliveries, room: usize) -> Self {
        Self {
            deliveries,
            waiting: VecDeque::new(),
            room,
        }
    }

    fn has_room(&self) -> bool {
        self.waiting.len() < self.room
    }

    /// Waits for the next delivery. An error of the subscription's stream is only logged
    /// (after a pause, so a broker that is down is not spun on); its end is fatal.
    async fn wait(&mut self, consumer: &str) -> Result<(), BusError> {
        match self.deliveries.next().await {
            Some(Ok(delivery)) => self.waiting.push_back(delivery),
            Some(Err(error)) => {
                tracing::warn!(consumer, %error, "cannot receive events; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            None => return Err(BusError::new(format!("the subscription of {consumer} ended"))),
        }
        Ok(())
    }

    /// Takes what has already arrived, without waiting: one event when they trickle in, a
    /// batch when the consumer is behind.
    fn take_ready(&mut self, consumer: &str) -> Result<(), BusError> {
        while self.has_room() {
            match self.wait(consumer).now_or_never() {
                Some(result) => result?,
                None => break,
            }
        }
        Ok(())
    }
}

async fn signal_all(keep_alives: impl Iterator<Item = KeepAlive>) {
    for result in join_all(keep_alives.map(|keep_alive| async move { keep_alive.signal().await })).await {
        if let Err(error) = result {
            tracing::debug!(%error, "cannot keep a delivery alive");
        }
    }
}

/// Applies a batch of deliveries in order and acknowledges each as its outcome requires;
/// returns the outcomes in delivery order.
///
/// First deliveries of wanted events are applied together in one transaction; events this
/// consumer ignores are just acknowledged. A redelivery (it failed before) or a message that
/// is not an event goes through [`process`] on its own, in its place in the order.
pub async fn process_batch<B: EventBus, H: Handler>(
    bus: &B,
    db: &PgPool,
    namespace: &Namespace,
    spec: &ConsumerSpec<H::Events>,
    handler: &H,
    deliveries: Vec<Delivery>,
) -> Vec<anyhow::Result<Outcome>> {
    let mut outcomes: Vec<Option<anyhow::Result<Outcome>>> = (0..deliveries.len()).map(|_| None).collect();
    let mut together = Together::default();
    for (position, delivery) in deliveries.into_iter().enumerate() {
        let envelope = match serde_json::from_slice::<Envelope>(&delivery.payload) {
            Ok(envelope) if delivery.attempt == 1 => envelope,
            _ => {
                together.finish(bus, db, namespace, spec, handler, &mut outcomes).await;
                outcomes[position] = Some(process(bus, db, namespace, spec, handler, delivery).await);
                continue;
            }
        };
        if spec.wants(&envelope.event_type) {
            together.apply.push((position, delivery, envelope));
        } else {
            together.ignore.push((position, delivery));
        }
    }
    together.finish(bus, db, namespace, spec, handler, &mut outcomes).await;
    outcomes
        .into_iter()
        .map(|outcome| outcome.expect("every delivery has an outcome"))
        .collect()
}

/// Deliveries handled together: applied in one transaction, or acknowledged unseen.
#[derive(Default)]
struct Together {
    apply: Vec<(usize, Delivery, Envelope)>,
    ignore: Vec<(usize, Delivery)>,
}

impl Together {
    async fn finish<B: EventBus, H: Handler>(
        &mut self,
        bus: &B,
        db: &PgPool,
        namespace: &Namespace,
        spec: &ConsumerSpec<H::Events>,
        handler: &H,
        outcomes: &mut [Option<anyhow::Result<Outcome>>],
    ) {
        let apply = std::mem::take(&mut self.apply);
        let mut acks: Vec<(usize, Delivery, Outcome)> = std::mem::take(&mut self.ignore)
            .into_iter()
            .map(|(position, delivery)| (position, delivery, Outcome::Ignored))
            .collect();
        if let [_] = apply.as_slice() {
            // Alone: straight to the single path, which a failure would end up on anyway.
            let (position, delivery, _) = apply.into_iter().next().expect("one delivery");
            outcomes[position] = Some(process(bus, db, namespace, spec, handler, delivery).await);
        } else if !apply.is_empty() {
            let envelopes: Vec<&Envelope> = apply.iter().map(|(_, _, envelope)| envelope).collect();
            match apply_batch(db, &spec.name, handler, &envelopes).await {
                Ok(fresh) => acks.extend(apply.into_iter().zip(fresh).map(|((position, delivery, _), fresh)| {
                    (
                        position,
                        delivery,
                        if fresh { Outcome::Applied } else { Outcome::Duplicate },
                    )
                })),
                Err(error) => {
                    tracing::info!(
                        consumer = spec.name,
                        count = apply.len(),
                        error = format!("{error:#}"),
                        "batch failed; applying its events one at a time"
                    );
                    for (position, delivery, _) in apply {
                        outcomes[position] = Some(process(bus, db, namespace, spec, handler, delivery).await);
                    }
                }
            }
        }
        // Committed (or ignored): the acknowledgements may all be in flight at once.
        let acked =
            join_all(acks.into_iter().map(|(position, delivery, outcome)| async move {
                (position, delivery.ack().await.map(|()| outcome))
            }))
            .await;
        for (position, acked) in acked {
            if let Ok(outcome @ (Outcome::Applied | Outcome::Duplicate)) = acked {
                metrics::counter!("events_consumed_total", "consumer" => spec.name.clone(), "outcome" => outcome.label())
                    .increment(1);
            }
            outcomes[position] = Some(acked.map_err(Into::into));
        }
    }
}

/// Applies one delivery and acknowledges it as its outcome requires.
pub async fn process<B: EventBus, H: Handler>(
    bus: &B,
    db: &PgPool,
    namespace: &Namespace,
    spec: &ConsumerSpec<H::Events>,
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
    match apply(db, &spec.name, handler, &envelope).await {
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
    Ok(apply_batch(db, consumer, handler, &[envelope]).await?[0])
}

/// Runs the handler for each event in order and records their inbox rows, all in one
/// transaction: all of them are applied, or (on any error) none. For each event, whether it
/// was new (`false`: seen before, or earlier in the same batch).
pub async fn apply_batch<H: Handler>(
    db: &PgPool,
    consumer: &str,
    handler: &H,
    envelopes: &[&Envelope],
) -> anyhow::Result<Vec<bool>> {
    let mut tx = db.begin().await?;
    let ids: Vec<_> = envelopes.iter().map(|envelope| envelope.id).collect();
    let mut fresh: HashSet<uuid::Uuid> = sqlx::query_scalar!(
        "INSERT INTO inbox (consumer, event_id) SELECT $1, id FROM UNNEST($2::uuid[]) AS id
         ON CONFLICT DO NOTHING RETURNING event_id",
        consumer,
        &ids,
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    let mut applied = Vec::with_capacity(envelopes.len());
    let mut events = Vec::with_capacity(fresh.len());
    for envelope in envelopes {
        let new = fresh.remove(&envelope.id);
        if new {
            events.push((*envelope, H::Events::decode(envelope)?));
        }
        applied.push(new);
    }
    if !events.is_empty() {
        // A panicking handler is a failed delivery like any other, not a dead consumer.
        let span = tracing::info_span!("events", consumer, count = events.len());
        AssertUnwindSafe(handler.handle_batch(&mut tx, events))
            .catch_unwind()
            .instrument(span)
            .await
            .map_err(|_| anyhow::anyhow!("handler panicked"))??;
    }
    if applied.contains(&true) {
        wakeup::commit(tx).await?;
    }
    Ok(applied)
}

/// Decodes `envelope` as one of the handler's events and runs the handler on it in `tx`:
/// applying an event, without the inbox. An event outside the handler's set is an error.
pub async fn handle<H: Handler>(tx: &mut PgConnection, handler: &H, envelope: &Envelope) -> anyhow::Result<()> {
    let event = H::Events::decode(envelope)?;
    handler.handle(tx, envelope, event).await
}

impl<H: Handler> Handler for std::sync::Arc<H> {
    type Events = H::Events;

    fn handle<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        envelope: &'a Envelope,
        event: Self::Events,
    ) -> impl Future<Output = anyhow::Result<()>> + Send + 'a {
        (**self).handle(tx, envelope, event)
    }

    fn handle_batch<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        events: Vec<(&'a Envelope, Self::Events)>,
    ) -> impl Future<Output = anyhow::Result<()>> + Send + 'a {
        (**self).handle_batch(tx, events)
    }
}

#[cfg(test)]
mod tests {
    use super::newest_per_key;

    #[test]
    fn newest_per_key_keeps_the_highest_version_of_each_key_in_first_seen_order() {
        let items = [("b", 1), ("a", 3), ("b", 4), ("a", 1), ("c", 2), ("b", 2), ("a", 3)];
        assert_eq!(
            newest_per_key(items, |(key, _)| *key, |(_, version)| *version),
            [("b", 4), ("a", 3), ("c", 2)]
        );
        assert!(newest_per_key(Vec::<(u8, i64)>::new(), |(k, _)| *k, |(_, v)| *v).is_empty());
    }
}
