//! The bus inside one process, for the single-process stage: the same semantics as the
//! JetStream bus — streams that keep events, durable consumers that resume, de-duplication by
//! message id, explicit acknowledgement, redelivery after a delay or an ack time-out — but
//! nothing survives a restart.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{sync::Notify, time::Instant};

use crate::{
    EventBus, Namespace,
    bus::{Acker, BusError, Deliveries, Delivery, Outgoing, PartlyPublished, Subscription},
    topology::{CONTEXTS, DUPLICATE_WINDOW, subject_matches},
};

#[derive(Clone, Default)]
pub struct InProcessBus {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    changed: Notify,
}

#[derive(Default)]
struct State {
    streams: HashMap<String, Log>,
    consumers: HashMap<String, Cursor>,
}

struct Log {
    subjects: String,
    messages: Vec<Stored>,
    recent_ids: HashMap<String, Instant>,
}

#[derive(Clone)]
struct Stored {
    subject: String,
    headers: Vec<(String, String)>,
    payload: bytes::Bytes,
}

/// A durable consumer's position: messages before `next` were handed out; `unacked` holds
/// those not yet acknowledged, each with the time it may be delivered (again).
struct Cursor {
    stream: String,
    filter: String,
    ack_wait: Duration,
    next: usize,
    unacked: BTreeMap<usize, Unacked>,
}

struct Unacked {
    deliveries: u32,
    due: Instant,
}

/// Acknowledges one in-process delivery.
#[derive(Clone)]
pub struct Ack {
    shared: Arc<Shared>,
    durable: String,
    index: usize,
}

impl Ack {
    pub(crate) fn ack(self) {
        self.update(|cursor, index| {
            cursor.unacked.remove(&index);
        });
    }

    pub(crate) fn retry_after(self, delay: Duration) {
        self.update(|cursor, index| {
            if let Some(unacked) = cursor.unacked.get_mut(&index) {
                unacked.due = Instant::now() + delay;
            }
        });
    }

    pub(crate) fn in_progress(&self) {
        self.clone().update(|cursor, index| {
            let ack_wait = cursor.ack_wait;
            if let Some(unacked) = cursor.unacked.get_mut(&index) {
                unacked.due = Instant::now() + ack_wait;
            }
        });
    }

    fn update(self, change: impl FnOnce(&mut Cursor, usize)) {
        let mut state = self.shared.state.lock().expect("bus state lock");
        if let Some(cursor) = state.consumers.get_mut(&self.durable) {
            change(cursor, self.index);
        }
        drop(state);
        self.shared.changed.notify_waiters();
    }
}

impl InProcessBus {
    pub fn new() -> Self {
        Self::default()
    }

    /// The next delivery for `durable`, or when to look again.
    fn next_delivery(&self, durable: &str) -> Result<Delivery, Option<Instant>> {
        let mut state = self.shared.state.lock().expect("bus state lock");
        let State { streams, consumers } = &mut *state;
        let cursor = consumers.get_mut(durable).expect("subscribed consumers have a cursor");
        let log = &streams[&cursor.stream];
        let now = Instant::now();
        let redelivery = cursor
            .unacked
            .iter()
            .find(|(_, unacked)| unacked.due <= now)
            .map(|(index, _)| *index);
        let index = match redelivery {
            Some(index) => index,
            None => match log.messages[cursor.next..]
                .iter()
                .position(|m| subject_matches(&cursor.filter, &m.subject))
            {
                Some(offset) => {
                    let index = cursor.next + offset;
                    cursor.next = index + 1;
                    cursor.unacked.insert(
                        index,
                        Unacked {
                            deliveries: 0,
                            due: now,
                        },
                    );
                    index
                }
                None => {
                    cursor.next = log.messages.len();
                    return Err(cursor.unacked.values().map(|u| u.due).min());
                }
            },
        };
        let unacked = cursor.unacked.get_mut(&index).expect("just found or inserted");
        unacked.deliveries += 1;
        unacked.due = now + cursor.ack_wait;
        let message = log.messages[index].clone();
        Ok(Delivery::new(
            message.subject,
            message.headers,
            message.payload,
            unacked.deliveries,
            Acker::InProcess(Ack {
                shared: self.shared.clone(),
                durable: durable.to_owned(),
                index,
            }),
        ))
    }
}

impl EventBus for InProcessBus {
    async fn ensure_streams(&self, namespace: &Namespace) -> Result<(), BusError> {
        let mut state = self.shared.state.lock().expect("bus state lock");
        let names = CONTEXTS
            .iter()
            .map(|context| (namespace.stream(context), namespace.stream_subjects(context)))
            .chain([(namespace.dead_letter_stream(), format!("{}.dlq.>", namespace.as_str()))]);
        for (name, subjects) in names {
            state.streams.entry(name).or_insert_with(|| Log {
                subjects,
                messages: Vec::new(),
                recent_ids: HashMap::new(),
            });
        }
        Ok(())
    }

    async fn publish(&self, message: Outgoing) -> Result<(), BusError> {
        let mut state = self.shared.state.lock().expect("bus state lock");
        let log = state
            .streams
            .values_mut()
            .find(|log| subject_matches(&log.subjects, &message.subject))
            .ok_or_else(|| BusError(format!("no stream captures {}", message.subject)))?;
        let now = Instant::now();
        log.recent_ids
            .retain(|_, published| now.duration_since(*published) < DUPLICATE_WINDOW);
        if log.recent_ids.insert(message.message_id.clone(), now).is_some() {
            return Ok(());
        }
        log.messages.push(Stored {
            subject: message.subject,
            headers: message.headers,
            payload: message.payload,
        });
        drop(state);
        self.shared.changed.notify_waiters();
        Ok(())
    }

    async fn publish_all(&self, messages: Vec<Outgoing>) -> Result<(), PartlyPublished> {
        // Stored the moment it is published, so there is nothing to pipeline: in order, and a
        // failure stops at the message that failed, as on JetStream.
        for (stored, message) in messages.into_iter().enumerate() {
            self.publish(message)
                .await
                .map_err(|error| PartlyPublished { stored, error })?;
        }
        Ok(())
    }

    async fn subscribe(&self, subscription: Subscription) -> Result<Deliveries, BusError> {
        {
            let mut state = self.shared.state.lock().expect("bus state lock");
            if !state.streams.contains_key(&subscription.stream) {
                return Err(BusError(format!("stream {} does not exist", subscription.stream)));
            }
            // Like a JetStream durable: resumed where it stopped, with the current `ack_wait`.
            state
                .consumers
                .entry(subscription.durable.clone())
                .or_insert_with(|| Cursor {
                    stream: subscription.stream.clone(),
                    filter: subscription.filter.clone(),
                    ack_wait: subscription.ack_wait,
                    next: 0,
                    unacked: BTreeMap::new(),
                })
                .ack_wait = subscription.ack_wait;
        }
        let bus = self.clone();
        let durable = subscription.durable;
        Ok(Box::pin(futures_util::stream::unfold(
            (bus, durable),
            |(bus, durable)| async move {
                let shared = bus.shared.clone();
                loop {
                    // Registered before looking, so a publish in between still wakes us.
                    let changed = shared.changed.notified();
                    tokio::pin!(changed);
                    changed.as_mut().enable();
                    match bus.next_delivery(&durable) {
                        Ok(delivery) => return Some((Ok(delivery), (bus, durable))),
                        Err(Some(due)) => {
                            tokio::select! {
                                () = changed => {},
                                () = tokio::time::sleep_until(due) => {},
                            }
                        }
                        Err(None) => changed.await,
                    }
                }
            },
        )))
    }
}
