//! Product service tests: the real service over HTTP and its event handlers called directly,
//! each test on a fresh database; the messaging wiring on real NATS JetStream.

mod cache;
mod catalog_events;
mod catalog_feed;
mod categories;
mod helpers;
mod messaging;
mod operations;
mod products;
mod reservations;
mod run;
mod seed;
