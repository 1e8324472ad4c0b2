//! The order service over real HTTP against a fresh PostgreSQL database per test.

mod authorization;
mod cart;
mod catalog;
mod helpers;
mod openapi;
mod orders;
