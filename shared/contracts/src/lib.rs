//! What crosses service boundaries: the money type, the shipping address, the signed identity
//! token the gateway hands to services, the catalog snapshots other services replicate, and
//! the public search contract every search implementation serves — and the validated text
//! newtypes they are made of ([`text`], [`newtype`]), which every service builds its own
//! domain types with.
//!
//! Nothing here performs I/O; every service can depend on it without pulling in a runtime.

pub mod address;
pub mod catalog;
pub mod events;
pub mod identity;
pub mod money;
pub mod newtype;
pub mod search;
pub mod text;

pub use address::Address;
pub use identity::{Identity, IdentityKey, Role};
pub use money::{Currency, Money};

/// What the macros ([`bounded_text!`], [`text_newtype!`]) name, so a crate using them needs no
/// dependency of its own for them.
#[doc(hidden)]
pub mod __private {
    pub use serde;
    pub use utoipa;
}
