//! The broker seen by the outbox relay and the consumers: publish with de-duplication, and
//! durable consumers with explicit acknowledgement and redelivery.

use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, Weak},
    time::Duration,
};

use bytes::Bytes;
use futures_util::Stream;

use crate::{in_process::InProcessBus, jetstream::JetStreamBus};

/// A message to publish.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Full subject, namespace included.
    pub subject: String,
    /// The broker drops a second message with the same id inside its duplicate window.
    pub message_id: String,
    pub headers: Vec<(String, String)>,
    pub payload: Bytes,
}

/// A durable consumer: it survives restarts and resumes where it stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Durable name, unique per consuming service and purpose.
    pub durable: String,
    /// Stream to read, e.g. `shop_order`.
    pub stream: String,
    /// Subject filter inside the stream, e.g. `shop.order.placed` or `shop.order.>`.
    pub filter: String,
    /// Unacknowledged deliveries are redelivered after this long.
    pub ack_wait: Duration,
}

/// One delivery of a message to a consumer. Exactly one of `ack` or `retry_after` should be
/// called; dropping it unacknowledged means redelivery after `ack_wait`, unless a
/// [`KeepAlive`] of it keeps saying it is still being worked on.
pub struct Delivery {
    pub subject: String,
    pub headers: Vec<(String, String)>,
    pub payload: Bytes,
    /// 1 on the first delivery, 2 on the first redelivery, …
    pub attempt: u32,
    pub(crate) acker: Acker,
    /// Held until the delivery is acknowledged or dropped; its [`KeepAlive`]s stop with it.
    pub(crate) live: Arc<()>,
}

#[derive(Clone)]
pub(crate) enum Acker {
    JetStream(Box<async_nats::jetstream::Message>),
    InProcess(crate::in_process::Ack),
}

/// Tells the broker that a delivery is still being worked on, which restarts its `ack_wait`:
/// a consumer holding it for longer than that is not taken for dead. Once the delivery is
/// acknowledged, retried or dropped, it says nothing: a retry keeps its own delay.
#[derive(Clone)]
pub struct KeepAlive {
    acker: Acker,
    live: Weak<()>,
}

impl KeepAlive {
    pub async fn signal(&self) -> Result<(), BusError> {
        if self.live.strong_count() == 0 {
            return Ok(());
        }
        match &self.acker {
            Acker::JetStream(message) => message
                .ack_with(async_nats::jetstream::AckKind::Progress)
                .await
                .map_err(BusError::new),
            Acker::InProcess(ack) => {
                ack.in_progress();
                Ok(())
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BusError(pub String);

/// A [`EventBus::publish_all`] that stopped part-way: the first `stored` messages are stored,
/// the one after them failed with `error`, and nothing behind it counts as published.
#[derive(Debug, thiserror::Error)]
#[error("{stored} messages stored, then: {error}")]
pub struct PartlyPublished {
    pub stored: usize,
    pub error: BusError,
}

impl BusError {
    pub fn new(error: impl std::fmt::Display) -> Self {
        Self(error.to_string())
    }
}

pub type Deliveries = Pin<Box<dyn Stream<Item = Result<Delivery, BusError>> + Send>>;

impl Delivery {
    pub(crate) fn new(
        subject: String,
        headers: Vec<(String, String)>,
        payload: Bytes,
        attempt: u32,
        acker: Acker,
    ) -> Self {
        Self {
            subject,
            headers,
            payload,
            attempt,
            acker,
            live: Arc::new(()),
        }
    }

    pub fn keep_alive(&self) -> KeepAlive {
        KeepAlive {
            acker: self.acker.clone(),
            live: Arc::downgrade(&self.live),
        }
    }

    /// Done with it; it will not be delivered again.
    pub async fn ack(self) -> Result<(), BusError> {
        match self.acker {
            Acker::JetStream(message) => message.double_ack().await.map_err(BusError::new),
            Acker::InProcess(ack) => {
                ack.ack();
                Ok(())
            }
        }
    }

    /// Deliver it again after `delay`.
    pub async fn retry_after(self, delay: Duration) -> Result<(), BusError> {
        match self.acker {
            Acker::JetStream(message) => message
                .ack_with(async_nats::jetstream::AckKind::Nak(Some(delay)))
                .await
                .map_err(BusError::new),
            Acker::InProcess(ack) => {
                ack.retry_after(delay);
                Ok(())
            }
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// What the outbox relay and the consumers need from a broker.
pub trait EventBus: Clone + Send + Sync + 'static {
    /// Creates the namespace's streams if they do not exist (idempotent).
    fn ensure_streams(&self, namespace: &crate::Namespace) -> impl Future<Output = Result<(), BusError>> + Send;

    /// Publishes and waits until the broker has stored the message.
    fn publish(&self, message: Outgoing) -> impl Future<Output = Result<(), BusError>> + Send;

    /// Publishes `messages` in order without waiting for each acknowledgement before sending
    /// the next, then waits until the broker has stored them all. On failure it says how many
    /// leading messages are stored for certain; the caller publishes the rest again (the
    /// broker drops any of them it did store, by message id).
    fn publish_all(&self, messages: Vec<Outgoing>) -> impl Future<Output = Result<(), PartlyPublished>> + Send;

    /// Starts (or resumes) a durable consumer.
    fn subscribe(&self, subscription: Subscription) -> impl Future<Output = Result<Deliveries, BusError>> + Send;

    /// How many events of its stream the durable consumer has not acknowledged yet, or `None`
    /// if this broker keeps no such count.
    fn pending(&self, _subscription: &Subscription) -> impl Future<Output = Result<Option<u64>, BusError>> + Send {
        async { Ok(None) }
    }
}

/// The bus chosen by configuration.
#[derive(Clone)]
pub enum Bus {
    JetStream(Box<JetStreamBus>),
    InProcess(InProcessBus),
}

impl EventBus for Bus {
    async fn ensure_streams(&self, namespace: &crate::Namespace) -> Result<(), BusError> {
        match self {
            Bus::JetStream(bus) => bus.ensure_streams(namespace).await,
            Bus::InProcess(bus) => bus.ensure_streams(namespace).await,
        }
    }

    async fn publish(&self, message: Outgoing) -> Result<(), BusError> {
        match self {
            Bus::JetStream(bus) => bus.publish(message).await,
            Bus::InProcess(bus) => bus.publish(message).await,
        }
    }

    async fn publish_all(&self, messages: Vec<Outgoing>) -> Result<(), PartlyPublished> {
        match self {
            Bus::JetStream(bus) => bus.publish_all(messages).await,
            Bus::InProcess(bus) => bus.publish_all(messages).await,
        }
    }

    async fn subscribe(&self, subscription: Subscription) -> Result<Deliveries, BusError> {
        match self {
            Bus::JetStream(bus) => bus.subscribe(subscription).await,
            Bus::InProcess(bus) => bus.subscribe(subscription).await,
        }
    }

    async fn pending(&self, subscription: &Subscription) -> Result<Option<u64>, BusError> {
        match self {
            Bus::JetStream(bus) => bus.pending(subscription).await,
            Bus::InProcess(bus) => bus.pending(subscription).await,
        }
    }
}
