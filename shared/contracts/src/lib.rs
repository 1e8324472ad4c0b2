//! What crosses service boundaries: the money type, the signed identity token the gateway
//! hands to services, the catalog snapshots other services replicate, and the public search
//! contract every search implementation serves.
//!
//! Nothing here performs I/O; every service can depend on it without pulling in a runtime.

pub mod catalog;
pub mod events;
pub mod identity;
pub mod money;
pub mod search;

pub use identity::{Identity, IdentityKey, Role};
pub use money::{Currency, Money};
