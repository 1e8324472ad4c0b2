//! Product service API tests: the real service over HTTP, each test on a fresh database.

mod catalog_feed;
mod categories;
mod helpers;
mod operations;
mod products;
mod seed;
