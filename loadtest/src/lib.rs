//! Open-loop load tests of the shop through its gateway: realistic shopper journeys at a
//! target arrival rate, latency measured from each journey's intended start, a consistency
//! reconciliation of orders and stock at the end, and reports (HTML, JSON, terminal).
//! See `loadtest/README.md`.

pub mod api;
pub mod catalog;
pub mod freshness;
pub mod journeys;
pub mod ledger;
pub mod monitor;
pub mod pages;
pub mod profile;
pub mod reconcile;
pub mod report;
pub mod resources;
pub mod run;
pub mod schedule;
pub mod stats;
pub mod users;

pub use run::{RunArgs, Summary, run};
