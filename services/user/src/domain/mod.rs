//! The user service's domain: what an account, an e-mail address and a password are, how many
//! shipping addresses an account keeps, and the rules they obey. Pure types; no I/O.

pub mod address;
pub mod email;
pub mod password;
pub mod user;

pub use email::Email;
pub use password::{HashedPassword, Password, PasswordAttempt};
pub use user::DisplayName;
