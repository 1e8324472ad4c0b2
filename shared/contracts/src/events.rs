//! Integration events: the envelope every event travels in, and the typed payload of each
//! event the services publish. A payload change is a new `SCHEMA_VERSION`, never a silent
//! reshaping; consumers refuse versions they do not know.
//!
//! Subjects are `<context>.<event>` (`order.placed`), the same string as the event's type.
//!
//! A consumer names the events it handles once, as an [`EventSet`]: an enum made by
//! [`event_set!`](crate::event_set), or a single event type. Its subscription is derived
//! from the set, and its handler gets the events decoded as the set's type.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use uuid::Uuid;

use crate::{Money, catalog::ProductSnapshot};

/// One event as it is stored in an outbox and sent on the bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// UUIDv7; also the broker's de-duplication id and the consumers' idempotency key.
    pub id: Uuid,
    #[serde(rename = "type")]
    pub event_type: String,
    pub schema_version: u32,
    pub occurred_at: DateTime<Utc>,
    /// The service that published it.
    pub source: String,
    /// Shared by every event of one business flow (one checkout, say).
    pub correlation_id: Uuid,
    /// The event (or request) that caused this one.
    pub causation_id: Option<Uuid>,
    pub aggregate_id: Uuid,
    pub aggregate_version: i64,
    pub data: serde_json::Value,
}

/// A payload type, with the type name that is also its subject.
pub trait Event: Serialize + DeserializeOwned {
    const TYPE: &'static str;
    const SCHEMA_VERSION: u32 = 1;
}

/// Where an event comes from in its flow: a fresh flow, or a reaction to another event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cause {
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
}

impl Cause {
    /// The first event of a new flow.
    pub fn new_flow() -> Self {
        Self {
            correlation_id: Uuid::now_v7(),
            causation_id: None,
        }
    }

    /// An event caused by `envelope`, in the same flow.
    pub fn reacting_to(envelope: &Envelope) -> Self {
        Self {
            correlation_id: envelope.correlation_id,
            causation_id: Some(envelope.id),
        }
    }
}

/// The events one consumer handles, as one type: it subscribes to exactly [`EventSet::TYPES`]
/// and its handler is given each event as `Self`. A single [`Event`] is a set of one; larger
/// sets are enums made by [`event_set!`](crate::event_set).
pub trait EventSet: Sized + Send + 'static {
    /// The event types of the set, all of one context.
    const TYPES: &'static [&'static str];

    /// The event in `envelope`, if it is one of the set's types, of a supported version.
    fn decode(envelope: &Envelope) -> Result<Self, DecodeError>;
}

impl<E: Event + Send + 'static> EventSet for E {
    const TYPES: &'static [&'static str] = &[E::TYPE];

    fn decode(envelope: &Envelope) -> Result<Self, DecodeError> {
        envelope.decode()
    }
}

/// Declares an enum with one variant per event type and makes it an [`EventSet`], so the list
/// of types a consumer handles is written once:
///
/// ```
/// shop_contracts::event_set! {
///     /// What the order saga handles.
///     pub enum InventoryAnswer {
///         Reserved(shop_contracts::events::InventoryReserved),
///         Rejected(shop_contracts::events::InventoryRejected),
///     }
/// }
/// ```
#[macro_export]
macro_rules! event_set {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($variant:ident($event:ty)),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        $vis enum $name {
            $($variant($event)),+
        }

        impl $crate::events::EventSet for $name {
            const TYPES: &'static [&'static str] = &[$(<$event as $crate::events::Event>::TYPE),+];

            fn decode(envelope: &$crate::events::Envelope) -> Result<Self, $crate::events::DecodeError> {
                $(
                    if envelope.event_type == <$event as $crate::events::Event>::TYPE {
                        return envelope.decode::<$event>().map(Self::$variant);
                    }
                )+
                Err($crate::events::DecodeError::WrongType {
                    expected: Self::TYPES,
                    actual: envelope.event_type.clone(),
                })
            }
        }
    };
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("expected {}, got {actual}", expected.join(" or "))]
    WrongType {
        expected: &'static [&'static str],
        actual: String,
    },
    #[error("{event_type} schema version {actual} is not supported (expected {expected})")]
    UnsupportedVersion {
        event_type: String,
        expected: u32,
        actual: u32,
    },
    #[error("malformed {event_type} payload: {source}")]
    Payload {
        event_type: String,
        source: serde_json::Error,
    },
}

impl Envelope {
    pub fn new<E: Event>(source: &str, aggregate_id: Uuid, aggregate_version: i64, event: &E, cause: Cause) -> Self {
        Self {
            id: Uuid::now_v7(),
            event_type: E::TYPE.to_owned(),
            schema_version: E::SCHEMA_VERSION,
            occurred_at: Utc::now(),
            source: source.to_owned(),
            correlation_id: cause.correlation_id,
            causation_id: cause.causation_id,
            aggregate_id,
            aggregate_version,
            data: serde_json::to_value(event).expect("event payloads serialize"),
        }
    }

    /// The payload as `E`, if this envelope carries an `E` of a supported version.
    pub fn decode<E: Event>(&self) -> Result<E, DecodeError> {
        if self.event_type != E::TYPE {
            return Err(DecodeError::WrongType {
                expected: const { &[E::TYPE] },
                actual: self.event_type.clone(),
            });
        }
        if self.schema_version != E::SCHEMA_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                event_type: self.event_type.clone(),
                expected: E::SCHEMA_VERSION,
                actual: self.schema_version,
            });
        }
        serde_json::from_value(self.data.clone()).map_err(|source| DecodeError::Payload {
            event_type: self.event_type.clone(),
            source,
        })
    }

    /// The bounded context the event belongs to: the part of its type before the dot.
    pub fn context(&self) -> &str {
        self.event_type.split('.').next().unwrap_or_default()
    }
}

macro_rules! events {
    ($($(#[$meta:meta])* $name:ident = $type:literal { $($(#[$field_meta:meta])* $field:ident : $ty:ty),* $(,)? })*) => {
        $(
            $(#[$meta])*
            #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
            pub struct $name { $($(#[$field_meta])* pub $field: $ty),* }

            impl Event for $name {
                const TYPE: &'static str = $type;
            }
        )*
    };
}

/// One product and quantity in an order or a reservation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub product_id: Uuid,
    pub quantity: u32,
}

/// Why one line of an order could not be reserved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedLine {
    pub product_id: Uuid,
    pub requested: u32,
    pub available: u32,
    /// `out_of_stock`, `unknown_product` or `inactive_product`.
    pub reason: String,
}

events! {
    /// A customer account was created.
    UserRegistered = "user.registered" { user_id: Uuid, email: String, display_name: String }
    /// A customer changed their profile.
    UserUpdated = "user.updated" { user_id: Uuid, display_name: String }

    /// A product was added to the catalog (full snapshot).
    ProductCreated = "product.created" { product: ProductSnapshot }
    /// A product's name, description, category, image or price changed (full snapshot).
    ProductUpdated = "product.updated" { product: ProductSnapshot }
    /// A product is no longer sold (full snapshot, `active` false).
    ProductDeactivated = "product.deactivated" { product: ProductSnapshot }

    /// Stock for every line of an order is held for it.
    InventoryReserved = "inventory.reserved" { order_id: Uuid, lines: Vec<OrderLine> }
    /// Not every line could be reserved; nothing was.
    InventoryRejected = "inventory.rejected" { order_id: Uuid, lines: Vec<RejectedLine> }
    /// A reservation (or sold stock, for an order cancelled after confirmation) went back to stock.
    InventoryReleased = "inventory.released" { order_id: Uuid, lines: Vec<OrderLine> }
    /// A confirmed order's reservation became sold stock.
    InventoryCommitted = "inventory.committed" { order_id: Uuid, lines: Vec<OrderLine> }
    /// Stock levels of a product changed, by hand or by a reservation.
    InventoryAdjusted = "inventory.adjusted" { product_id: Uuid, on_hand: i32, reserved: i32, sold: i32 }

    /// A customer checked out: the order waits for stock and payment.
    OrderPlaced = "order.placed" { order_id: Uuid, user_id: Uuid, lines: Vec<OrderLine>, total: Money }
    /// Stock is reserved and payment succeeded.
    OrderConfirmed = "order.confirmed" { order_id: Uuid, user_id: Uuid }
    /// The order was cancelled: by the customer, a declined payment or the pending deadline.
    OrderCancelled = "order.cancelled" { order_id: Uuid, user_id: Uuid, reason: String }
    /// Stock could not be reserved.
    OrderRejected = "order.rejected" { order_id: Uuid, user_id: Uuid, reason: String }
}

event_set! {
    /// A change to a product's catalog entry, each with the full snapshot: what the product
    /// replicas consume.
    pub enum ProductChange {
        Created(ProductCreated),
        Updated(ProductUpdated),
        Deactivated(ProductDeactivated),
    }
}

impl ProductChange {
    /// The product as it is after the change.
    pub fn into_snapshot(self) -> ProductSnapshot {
        match self {
            Self::Created(ProductCreated { product })
            | Self::Updated(ProductUpdated { product })
            | Self::Deactivated(ProductDeactivated { product }) => product,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_round_trip_and_check_type_and_version() {
        let placed = OrderConfirmed {
            order_id: Uuid::now_v7(),
            user_id: Uuid::now_v7(),
        };
        let envelope = Envelope::new("order", placed.order_id, 2, &placed, Cause::new_flow());
        assert_eq!(envelope.event_type, "order.confirmed");
        assert_eq!(envelope.context(), "order");
        let json = serde_json::to_string(&envelope).unwrap();
        let back: Envelope = serde_json::from_str(&json).unwrap();
        assert_eq!(back.decode::<OrderConfirmed>().unwrap(), placed);
        assert!(matches!(
            back.decode::<OrderRejected>(),
            Err(DecodeError::WrongType { .. })
        ));

        let mut future = back.clone();
        future.schema_version = 2;
        assert!(matches!(
            future.decode::<OrderConfirmed>(),
            Err(DecodeError::UnsupportedVersion { .. })
        ));
        let mut garbled = back;
        garbled.data = serde_json::json!({"order_id": 5});
        assert!(matches!(
            garbled.decode::<OrderConfirmed>(),
            Err(DecodeError::Payload { .. })
        ));
    }

    event_set! {
        enum Settled {
            Confirmed(OrderConfirmed),
            Rejected(OrderRejected),
        }
    }

    #[test]
    fn event_sets_list_their_types_once_and_decode_only_those() {
        assert_eq!(Settled::TYPES, ["order.confirmed", "order.rejected"]);
        assert_eq!(<OrderPlaced as EventSet>::TYPES, ["order.placed"]);

        let confirmed = OrderConfirmed {
            order_id: Uuid::now_v7(),
            user_id: Uuid::now_v7(),
        };
        let envelope = Envelope::new("order", confirmed.order_id, 2, &confirmed, Cause::new_flow());
        assert_eq!(
            Settled::decode(&envelope).unwrap(),
            Settled::Confirmed(confirmed.clone())
        );
        assert_eq!(<OrderConfirmed as EventSet>::decode(&envelope).unwrap(), confirmed);

        let mut cancelled = envelope.clone();
        cancelled.event_type = "order.cancelled".into();
        let error = Settled::decode(&cancelled).unwrap_err();
        assert!(matches!(error, DecodeError::WrongType { .. }));
        assert_eq!(
            error.to_string(),
            "expected order.confirmed or order.rejected, got order.cancelled"
        );
        let mut future = envelope;
        future.schema_version = 2;
        assert!(matches!(
            Settled::decode(&future),
            Err(DecodeError::UnsupportedVersion { .. })
        ));
    }

    #[test]
    fn reactions_stay_in_the_flow() {
        let first = Envelope::new(
            "order",
            Uuid::now_v7(),
            1,
            &OrderConfirmed {
                order_id: Uuid::nil(),
                user_id: Uuid::nil(),
            },
            Cause::new_flow(),
        );
        let cause = Cause::reacting_to(&first);
        assert_eq!(cause.correlation_id, first.correlation_id);
        assert_eq!(cause.causation_id, Some(first.id));
    }
}
