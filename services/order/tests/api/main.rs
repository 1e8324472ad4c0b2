//! The order service over real HTTP against a fresh PostgreSQL database per test.

mod authorization;
mod cancel;
mod cart;
mod catalog;
mod catalog_events;
mod checkout;
mod deadline;
mod helpers;
mod openapi;
mod orders;
mod run;
mod saga;
mod sharding;
