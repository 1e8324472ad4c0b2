//! Integration tests of the user service: the real router on a random port, a fresh
//! PostgreSQL database per test, real HTTP.

mod addresses;
mod authorization;
mod credentials;
mod events;
mod helpers;
mod openapi;
mod seed;
mod users;
