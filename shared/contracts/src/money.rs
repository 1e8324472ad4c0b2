//! Money is an integer number of minor units plus an ISO 4217 currency — never a float.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::newtype::LetterCode;

/// An ISO 4217 currency code such as `USD`: three upper-case ASCII letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ToSchema)]
#[schema(value_type = String, example = "USD", pattern = "^[A-Z]{3}$")]
pub struct Currency(LetterCode<3>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MoneyError {
    #[error("currency must be a three-letter upper-case ISO 4217 code, like USD")]
    Currency,
    #[error("currency must be money: {0} is an ISO 4217 code for no currency, a test, a metal or a unit of account")]
    NotMoney(&'static str),
    #[error("amount must not be negative")]
    Negative,
}

/// The ISO 4217 codes that name no money anyone pays with: no currency (`XXX`), testing
/// (`XTS`), precious metals, bond-market units and units of account.
const NOT_MONEY: [&str; 12] = [
    "XXX", "XTS", "XAU", "XAG", "XPD", "XPT", "XBA", "XBB", "XBC", "XBD", "XDR", "XSU",
];

impl Currency {
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        if let Some(code) = NOT_MONEY.iter().find(|not_money| **not_money == code) {
            return Err(MoneyError::NotMoney(code));
        }
        LetterCode::parse(code).map(Self).ok_or(MoneyError::Currency)
    }
}

crate::text_newtype!(Currency, MoneyError);

/// A non-negative amount in the currency's minor unit (cents for USD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "RawMoney")]
pub struct Money {
    /// Amount in minor units, e.g. 1999 for USD 19.99.
    #[schema(minimum = 0, example = 1999)]
    pub amount_minor: i64,
    pub currency: Currency,
}

#[derive(Deserialize)]
struct RawMoney {
    amount_minor: i64,
    currency: Currency,
}

impl TryFrom<RawMoney> for Money {
    type Error = MoneyError;
    fn try_from(raw: RawMoney) -> Result<Self, Self::Error> {
        Self::new(raw.amount_minor, raw.currency)
    }
}

impl Money {
    pub fn new(amount_minor: i64, currency: Currency) -> Result<Self, MoneyError> {
        if amount_minor < 0 {
            return Err(MoneyError::Negative);
        }
        Ok(Self { amount_minor, currency })
    }

    /// `self` times `quantity`, or `None` on overflow.
    pub fn times(self, quantity: u32) -> Option<Self> {
        let amount_minor = self.amount_minor.checked_mul(i64::from(quantity))?;
        Some(Self { amount_minor, ..self })
    }

    /// The sum of two amounts in the same currency; `None` on a currency mismatch or overflow.
    pub fn checked_add(self, other: Self) -> Option<Self> {
        if self.currency != other.currency {
            return None;
        }
        let amount_minor = self.amount_minor.checked_add(other.amount_minor)?;
        Some(Self { amount_minor, ..self })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    #[test]
    fn currency_accepts_three_upper_case_letters_only() {
        assert_eq!(usd().as_str(), "USD");
        for bad in ["usd", "US", "USDX", "U$D", "", "ÜSD"] {
            assert_eq!(Currency::parse(bad), Err(MoneyError::Currency), "{bad:?}");
        }
        assert_eq!(Currency::parse("XXX"), Err(MoneyError::NotMoney("XXX")));
        assert_eq!(Currency::parse("XTS"), Err(MoneyError::NotMoney("XTS")));
        // Real currencies with an X: the CFA francs, the East Caribbean dollar.
        for real in ["XAF", "XOF", "XCD", "XPF"] {
            assert!(Currency::parse(real).is_ok(), "{real}");
        }
    }

    #[test]
    fn money_rejects_negative_amounts() {
        assert_eq!(Money::new(-1, usd()), Err(MoneyError::Negative));
        assert_eq!(Money::new(0, usd()).unwrap().amount_minor, 0);
    }

    #[test]
    fn money_arithmetic_is_checked() {
        let price = Money::new(1999, usd()).unwrap();
        assert_eq!(price.times(3).unwrap().amount_minor, 5997);
        assert_eq!(Money::new(i64::MAX, usd()).unwrap().times(2), None);
        let eur = Money::new(1, Currency::parse("EUR").unwrap()).unwrap();
        assert_eq!(price.checked_add(eur), None);
        assert_eq!(price.checked_add(price).unwrap().amount_minor, 3998);
    }

    #[test]
    fn money_round_trips_through_json_and_validates_on_the_way_in() {
        let price = Money::new(1999, usd()).unwrap();
        let json = serde_json::to_value(price).unwrap();
        assert_eq!(json, serde_json::json!({"amount_minor": 1999, "currency": "USD"}));
        assert_eq!(serde_json::from_value::<Money>(json).unwrap(), price);
        let negative = serde_json::json!({"amount_minor": -5, "currency": "USD"});
        assert!(serde_json::from_value::<Money>(negative).is_err());
        let lower = serde_json::json!({"amount_minor": 5, "currency": "usd"});
        assert!(serde_json::from_value::<Money>(lower).is_err());
    }
}
