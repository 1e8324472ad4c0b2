//! The order service's types and rules: quantities, carts, orders and their transitions, and
//! the payment step. No I/O.

pub mod cart;
pub mod order;
pub mod payment;
pub mod quantity;
