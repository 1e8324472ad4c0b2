//! The bus on NATS JetStream: one file-backed stream per context with a de-duplication
//! window, durable pull consumers with explicit acknowledgement.

use async_nats::{
    HeaderMap,
    jetstream::{self, consumer::pull, stream},
};
use futures_util::StreamExt;

use crate::{
    EventBus, Namespace,
    bus::{Acker, BusError, Deliveries, Delivery, Outgoing, Subscription},
    topology::{CONTEXTS, DUPLICATE_WINDOW, RETENTION},
};

#[derive(Clone)]
pub struct JetStreamBus {
    jetstream: jetstream::Context,
}

impl JetStreamBus {
    /// Connects to `url`. If the server is down, this returns at once and the client keeps
    /// reconnecting in the background; operations fail until it is back.
    pub async fn connect(url: &str) -> Result<Self, BusError> {
        let client = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .connect(url)
            .await
            .map_err(|e| BusError(format!("cannot connect to NATS at {url}: {e}")))?;
        Ok(Self { jetstream: jetstream::new(client) })
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

fn stream_names(namespace: &Namespace) -> Vec<String> {
    CONTEXTS.iter().map(|context| namespace.stream(context)).chain([namespace.dead_letter_stream()]).collect()
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
                    ..Default::default()
                })
                .await
                .map_err(|e| BusError(format!("cannot create stream {name}: {e}")))?;
        }
        Ok(())
    }

    async fn publish(&self, message: Outgoing) -> Result<(), BusError> {
        let mut headers = HeaderMap::new();
        for (name, value) in &message.headers {
            headers.insert(name.as_str(), value.as_str());
        }
        headers.insert("Nats-Msg-Id", message.message_id.as_str());
        let ack = self
            .jetstream
            .publish_with_headers(message.subject, headers, message.payload)
            .await
            .map_err(BusError::new)?;
        ack.await.map_err(BusError::new)?;
        Ok(())
    }

    async fn subscribe(&self, subscription: Subscription) -> Result<Deliveries, BusError> {
        let stream = self.jetstream.get_stream(&subscription.stream).await.map_err(BusError::new)?;
        let consumer = stream
            .get_or_create_consumer(
                &subscription.durable,
                pull::Config {
                    durable_name: Some(subscription.durable.clone()),
                    filter_subject: subscription.filter.clone(),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: subscription.ack_wait,
                    deliver_policy: jetstream::consumer::DeliverPolicy::All,
                    ..Default::default()
                },
            )
            .await
            .map_err(BusError::new)?;
        let messages = consumer.messages().await.map_err(BusError::new)?;
        Ok(Box::pin(messages.map(|message| {
            let message = message.map_err(BusError::new)?;
            let attempt = message.info().map_err(BusError::new)?.delivered;
            let headers = message
                .headers
                .iter()
                .flat_map(HeaderMap::iter)
                .flat_map(|(name, values)| values.iter().map(move |value| (name.to_string(), value.to_string())))
                .collect();
            Ok(Delivery {
                subject: message.subject.to_string(),
                headers,
                payload: message.payload.clone(),
                attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
                acker: Acker::JetStream(message),
            })
        })))
    }
}
