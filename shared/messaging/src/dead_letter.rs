//! Dead letters: events a consumer gave up on, kept on `<namespace>.dlq.<consumer>` with the
//! error, so nothing is silently dropped — listed and re-published with `shop dlq`.

use bytes::Bytes;
use uuid::Uuid;

use crate::{
    EventBus, Namespace,
    bus::{BusError, Delivery, Outgoing},
};

pub const ERROR_HEADER: &str = "Shop-Dead-Letter-Error";
pub const SUBJECT_HEADER: &str = "Shop-Dead-Letter-Subject";
pub const CONSUMER_HEADER: &str = "Shop-Dead-Letter-Consumer";

/// Publishes `delivery` to the consumer's dead-letter subject with the reason it failed.
pub async fn send<B: EventBus>(
    bus: &B,
    namespace: &Namespace,
    consumer: &str,
    delivery: &Delivery,
    reason: &str,
) -> Result<(), BusError> {
    let mut headers: Vec<(String, String)> = delivery
        .headers
        .iter()
        .filter(|(name, _)| !name.starts_with("Shop-Dead-Letter-") && !name.eq_ignore_ascii_case("Nats-Msg-Id"))
        .cloned()
        .collect();
    // Headers are single-line; keep the error readable but bounded.
    let reason: String = reason.replace(['\r', '\n'], " ").chars().take(1000).collect();
    headers.push((ERROR_HEADER.into(), reason));
    headers.push((SUBJECT_HEADER.into(), delivery.subject.clone()));
    headers.push((CONSUMER_HEADER.into(), consumer.to_owned()));
    bus.publish(Outgoing {
        subject: namespace.dead_letter_subject(consumer),
        message_id: format!("dlq-{}", Uuid::now_v7()),
        headers,
        payload: delivery.payload.clone(),
    })
    .await
}

/// A dead letter as stored: what failed, where it was going, and why.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub consumer: String,
    pub subject: String,
    pub error: String,
    pub payload: Bytes,
}

impl DeadLetter {
    pub fn from_delivery(delivery: &Delivery) -> Self {
        Self::from_parts(&delivery.headers, delivery.payload.clone())
    }

    pub fn from_parts(headers: &[(String, String)], payload: Bytes) -> Self {
        let header = |name: &str| {
            headers
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        Self {
            consumer: header(CONSUMER_HEADER),
            subject: header(SUBJECT_HEADER),
            error: header(ERROR_HEADER),
            payload,
        }
    }

    /// The event's type and id, when the payload is an event envelope.
    pub fn event(&self) -> Option<(String, Uuid)> {
        let envelope: shop_contracts::events::Envelope = serde_json::from_slice(&self.payload).ok()?;
        Some((envelope.event_type, envelope.id))
    }

    /// Publishes the original message again to its original subject, under a new message id
    /// (the original id is inside the broker's duplicate window or long gone; the consumers'
    /// inbox still guarantees it is applied once).
    pub async fn republish<B: EventBus>(&self, bus: &B) -> Result<(), BusError> {
        bus.publish(Outgoing {
            subject: self.subject.clone(),
            message_id: format!("replay-{}", Uuid::now_v7()),
            headers: Vec::new(),
            payload: self.payload.clone(),
        })
        .await
    }
}
