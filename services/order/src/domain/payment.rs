//! The payment step of the checkout saga, simulated: it runs once the stock of an order is
//! reserved and decides whether the order is confirmed or cancelled.

use shop_contracts::bounded_text;

bounded_text!(
    /// What the customer's payment provider handed the storefront for this checkout.
    pub PaymentToken, 1, 64
);

/// The token a customer uses to see a payment declined.
pub const DECLINED_TOKEN: &str = "tok_decline";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentOutcome {
    Approved,
    Declined,
}

/// Charges an order's payment token. There is no payment provider: the outcome depends on
/// the token alone, so every run of the saga is reproducible. The token `tok_decline`
/// ([`DECLINED_TOKEN`]) is declined; every other token is approved.
pub fn charge(token: &PaymentToken) -> PaymentOutcome {
    if token.as_str() == DECLINED_TOKEN {
        PaymentOutcome::Declined
    } else {
        PaymentOutcome::Approved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(value: &str) -> PaymentToken {
        PaymentToken::parse(value).unwrap()
    }

    #[test]
    fn tok_decline_is_declined_and_every_other_token_approved() {
        assert_eq!(charge(&token("tok_decline")), PaymentOutcome::Declined);
        // Parsing trims, so the padded token is the same token.
        assert_eq!(charge(&token("  tok_decline ")), PaymentOutcome::Declined);
        for approved in ["tok_visa", "tok_declined", "TOK_DECLINE", "x"] {
            assert_eq!(charge(&token(approved)), PaymentOutcome::Approved, "{approved}");
        }
    }

    #[test]
    fn tokens_are_1_to_64_characters() {
        assert!(PaymentToken::parse(&"t".repeat(64)).is_ok());
        for bad in [String::new(), "   ".into(), "t".repeat(65), "a\nb".into()] {
            assert!(PaymentToken::parse(&bad).is_err(), "{bad:?}");
        }
    }
}
