//! What an account is called and which role it has.

use shop_contracts::Role;
use shop_contracts::bounded_text;

bounded_text!(
    /// The name the shop greets a user by.
    pub DisplayName, 1, 80
);

/// Every account starts as a customer; administrators are made, not registered.
pub const DEFAULT_ROLE: Role = Role::Customer;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        assert_eq!(DisplayName::parse("  Ada  ").unwrap().as_str(), "Ada");
        assert!(DisplayName::parse(" ").is_err());
        assert!(DisplayName::parse(&"x".repeat(DisplayName::MAX)).is_ok());
        assert!(DisplayName::parse(&"x".repeat(DisplayName::MAX + 1)).is_err());
    }
}
