//! The catalog's rules as types: a value that exists has been checked. No I/O here.

pub mod category;
pub mod product;
pub mod reservation;
