//! Saved shipping addresses. What an address is, is the shared contract
//! ([`shop_contracts::Address`]), so that a saved address can be sent to checkout as it is;
//! the user service adds only how many of them an account keeps.

/// Enough for home, work and a few relatives; bounds the rows one account can create.
pub const MAX_PER_USER: i64 = 20;
