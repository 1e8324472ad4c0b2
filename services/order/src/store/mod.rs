//! sqlx queries against the `orders` database: the product replica, carts and orders.
//! Rows are turned into domain types here; a stored value the domain refuses is a decode
//! error (the database's CHECK constraints make that a bug, not a user error).

pub mod cart;
pub mod catalog;
pub mod orders;

use shop_contracts::{Currency, Money};

use crate::domain::{order::OrderStatus, quantity::Quantity};

fn decode_error(message: String) -> sqlx::Error {
    sqlx::Error::Decode(message.into())
}

fn money(amount_minor: i64, currency: &str) -> sqlx::Result<Money> {
    Currency::parse(currency)
        .and_then(|currency| Money::new(amount_minor, currency))
        .map_err(|e| decode_error(format!("stored amount {amount_minor} {currency:?}: {e}")))
}

fn quantity(units: i32) -> sqlx::Result<Quantity> {
    Quantity::new(units.into()).map_err(|e| decode_error(format!("stored quantity {units}: {e}")))
}

fn status(name: &str) -> sqlx::Result<OrderStatus> {
    OrderStatus::parse(name).ok_or_else(|| decode_error(format!("unknown stored order status {name:?}")))
}
