//! The order service's types and rules: quantities, carts and orders. No I/O.

pub mod cart;
pub mod order;
pub mod quantity;
