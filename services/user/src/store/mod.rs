//! The `users` database: accounts and their addresses, queried with plain SQL.

pub mod addresses;
pub mod users;
