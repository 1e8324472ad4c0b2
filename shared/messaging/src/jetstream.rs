//! The bus on NATS JetStream: one file-backed stream per context with a de-duplication
//! window, durable pull consumers with explicit acknowledgement. On a cluster, streams and
//! consumers keep as many copies as configured, and the client follows the cluster's nodes.

use std::future::IntoFuture;

use async_nats::{
    HeaderMap,
    jetstream::{self, consumer::pull, stream},
};
use futures_util::StreamExt;

use crate::{
    EventBus, Namespace,
    bus::{Acker, BusError, Deliveries, Delivery, Outgoing, PartlyPublished, Subscription},
    dead_letter::DeadLetter,
    topology::{CONTEXTS, DUPLICATE_WINDOW, RETENTION},
};

#[derive(Clone)]
pub struct JetStreamBus {
    jetstream: jetstream::Context,
    replicas: usize,
}

impl JetStreamBus {
    /// Connects to `servers`: one URL, or a cluster's nodes separated by commas (the client
    /// also learns the other nodes from the cluster). If none answers, this returns at once
    /// and the client keeps reconnecting in the background, to whichever node is up;
    /// operations fail until one is. Streams it creates have one copy ([`Self::replicated`]).
    pub async fn connect(servers: &str) -> Result<Self, BusError> {
        let addresses = servers.split(',').map(str::trim).collect::<Vec<_>>();
        let client = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .connect(addresses)
            .await
            .map_err(|e| BusError(format!("cannot connect to NATS at {servers}: {e}")))?;
        Ok(Self {
            jetstream: jetstream::new(client),
            replicas: 1,
        })
    }

    /// Streams created from now on keep `replicas` copies, each on another node of the
    /// cluster, and so do their consumers' states: they survive the loss of a minority of them.
    pub fn replicated(self, replicas: usize) -> Self {
        Self { replicas, ..self }
    }

    /// Deletes the namespace's streams (and with them their consumers). For tests and resets.
    pub async fn delete_streams(&self, namespace: &Namespace) -> Result<(), BusError> {
        for name in stream_names(namespace) {
            match self.jetstream.delete_stream(&name).await {
                Ok(_) => {}
                Err(error) if error.to_string().contains("not found") => {}
                Err(error) => return Err(BusError::new(error)),
            }
        }
        Ok(())
    }
}

impl JetStreamBus {
    /// Sends one message with its de-duplication id; the returned future resolves when the
    /// broker has stored it.
    async fn send(&self, message: Outgoing) -> Result<jetstream::context::PublishAckFuture, BusError> {
        let mut headers = HeaderMap::new();
        for (name, value) in &message.headers {
            headers.insert(name.as_str(), value.as_str());
        }
        headers.insert("Nats-Msg-Id", message.message_id.as_str());
        self.jetstream
            .publish_with_headers(message.subject, headers, message.payload)
            .await
            .map_err(BusError::new)
    }
}

/// Publishes awaiting their acknowledgement at once: well below the client's limit (5,000),
/// above which sending waits for a free slot.
const IN_FLIGHT: usize = 1_000;

/// Messages a consumer asks for at once: two of the consumers' batches, so the next batch is
/// already here when one is done. That is also the broker's default cap on a consumer's
/// unacknowledged deliveries (1,000).
const PREFETCH: usize = 2 * crate::consumer::BATCH;

/// At most this many dead letters are listed at once.
const MAX_LISTED: usize = 1000;

impl JetStreamBus {
    /// The dead letters kept in the namespace, oldest first, with their sequence numbers.
    pub async fn dead_letters(&self, namespace: &Namespace) -> Result<Vec<(u64, DeadLetter)>, BusError> {
        let mut stream = self
            .jetstream
            .get_stream(namespace.dead_letter_stream())
            .await
            .map_err(BusError::new)?;
        let state = stream.info().await.map_err(BusError::new)?.state.clone();
        let mut letters = Vec::new();
        if state.messages == 0 {
            return Ok(letters);
        }
        for sequence in state.first_sequence..=state.last_sequence {
            if letters.len() == MAX_LISTED {
                break;
            }
            // Gaps are letters already replayed (deleted).
            if let Ok(message) = stream.get_raw_message(sequence).await {
                letters.push((
                    sequence,
                    DeadLetter::from_parts(&headers_of(&message.headers), message.payload),
                ));
            }
        }
        Ok(letters)
    }

    /// Publishes dead letter `sequence` to its original subject again and removes it.
    pub async fn replay_dead_letter(&self, namespace: &Namespace, sequence: u64) -> Result<DeadLetter, BusError> {
        let stream = self
            .jetstream
            .get_stream(namespace.dead_letter_stream())
            .await
            .map_err(BusError::new)?;
        let message = stream
            .get_raw_message(sequence)
            .await
            .map_err(|e| BusError(format!("no dead letter {sequence}: {e}")))?;
        let letter = DeadLetter::from_parts(&headers_of(&message.headers), message.payload);
        letter.republish(self).await?;
        stream.delete_message(sequence).await.map_err(BusError::new)?;
        Ok(letter)
    }
}

fn headers_of(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .flat_map(|(name, values)| values.iter().map(move |value| (name.to_string(), value.to_string())))
        .collect()
}

fn stream_names(namespace: &Namespace) -> Vec<String> {
    CONTEXTS
        .iter()
        .map(|context| namespace.stream(context))
        .chain([namespace.dead_letter_stream()])
        .collect()
}

impl EventBus for JetStreamBus {
    async fn ensure_streams(&self, namespace: &Namespace) -> Result<(), BusError> {
        let subjects = CONTEXTS
            .iter()
            .map(|context| (namespace.stream(context), namespace.stream_subjects(context)))
            .chain([(namespace.dead_letter_stream(), format!("{}.dlq.>", namespace.as_str()))]);
        for (name, subjects) in subjects {
            self.jetstream
                .get_or_create_stream(stream::Config {
                    name: name.clone(),
                    subjects: vec![subjects],
                    retention: stream::RetentionPolicy::Limits,
                    storage: stream::StorageType::File,
                    max_age: RETENTION,
                    duplicate_window: DUPLICATE_WINDOW,
                    num_replicas: self.replicas,
                    ..Default::default()
                })
                .await
                .map_err(|e| BusError(format!("cannot create stream {name}: {e}")))?;
        }
        Ok(())
    }

    async fn publish(&self, message: Outgoing) -> Result<(), BusError> {
        self.send(message).await?.await.map_err(BusError::new)?;
        Ok(())
    }

    async fn publish_all(&self, messages: Vec<Outgoing>) -> Result<(), PartlyPublished> {
        let mut stored = 0;
        let mut messages = messages.into_iter().peekable();
        while messages.peek().is_some() {
            // Everything sent goes out on one connection, so the stream stores it in this order.
            let mut acks = Vec::with_capacity(IN_FLIGHT);
            let mut failed = None;
            for message in messages.by_ref().take(IN_FLIGHT) {
                match self.send(message).await {
                    Ok(ack) => acks.push(ack.into_future()),
                    Err(error) => {
                        failed = Some(error);
                        break;
                    }
                }
            }
            for ack in futures_util::future::join_all(acks).await {
                if let Err(error) = ack {
                    return Err(PartlyPublished {
                        stored,
                        error: BusError::new(error),
                    });
                }
                stored += 1;
            }
            if let Some(error) = failed {
                return Err(PartlyPublished { stored, error });
            }
        }
        Ok(())
    }

    async fn pending(&self, subscription: &Subscription) -> Result<Option<u64>, BusError> {
        let consumer: jetstream::consumer::Consumer<pull::Config> = self
            .jetstream
            .get_consumer_from_stream(&subscription.durable, &subscription.stream)
            .await
            .map_err(BusError::new)?;
        let info = consumer.cached_info();
        Ok(Some(info.num_pending + info.num_ack_pending as u64))
    }

    async fn subscribe(&self, subscription: Subscription) -> Result<Deliveries, BusError> {
        let stream = self
            .jetstream
            .get_stream(&subscription.stream)
            .await
            .map_err(BusError::new)?;
        // Created, or updated in place: a durable made by an older release takes the current
        // `ack_wait` and keeps its position.
        let consumer = stream
            .create_consumer(pull::Config {
                durable_name: Some(subscription.durable.clone()),
                filter_subject: subscription.filter.clone(),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ack_wait: subscription.ack_wait,
                max_ack_pending: PREFETCH as i64,
                deliver_policy: jetstream::consumer::DeliverPolicy::All,
                // Left at 0, its state keeps as many copies as the stream.
                ..Default::default()
            })
            .await
            .map_err(BusError::new)?;
        let messages = consumer
            .stream()
            .max_messages_per_batch(PREFETCH)
            .messages()
            .await
            .map_err(BusError::new)?;
        Ok(Box::pin(messages.map(|message| {
            let message = message.map_err(BusError::new)?;
            let attempt = message.info().map_err(BusError::new)?.delivered;
            let headers = message.headers.as_ref().map(headers_of).unwrap_or_default();
            Ok(Delivery::new(
                message.subject.to_string(),
                headers,
                message.payload.clone(),
                u32::try_from(attempt).unwrap_or(u32::MAX),
                Acker::JetStream(Box::new(message)),
            ))
        })))
    }
}
