//! SQL for the `products` database. Functions take any executor so callers choose the
//! transaction boundaries.

pub mod categories;
pub mod products;
pub mod reservations;
pub mod search;
