//! Events between services, so that nothing is lost and nothing is applied twice:
//!
//! - [`outbox`]: a service writes the events describing a state change in the same database
//!   transaction as the change; the [`outbox::Relay`] publishes them afterwards and marks them
//!   sent. Publishing twice is harmless: the broker drops duplicates by event id.
//! - [`consumer`]: a handler applies an event in one transaction together with an inbox row
//!   `(consumer, event id)`, so a redelivery changes nothing. Failures are retried with
//!   back-off a bounded number of times, then the event goes to a dead-letter subject.
//! - [`bus`]: the broker behind one trait — NATS JetStream ([`jetstream`]), or an in-process
//!   bus ([`in_process`]) with the same delivery semantics for a single-process system.
//! - [`schema`]: the outbox and inbox tables, which every publishing service's migrator adds.

pub mod bus;
pub mod consumer;
pub mod dead_letter;
pub mod in_process;
pub mod jetstream;
pub mod lag;
pub mod outbox;
pub mod runtime;
pub mod schema;
pub mod topology;
pub mod wakeup;

pub use bus::{Bus, EventBus};
pub use consumer::{ConsumerSpec, Handler};
pub use topology::Namespace;
