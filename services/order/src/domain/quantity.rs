//! How many units of one product a cart line or an order line holds.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Between 1 and 99 units of one product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "i64", into = "u32")]
#[schema(value_type = u32, minimum = 1, maximum = 99, example = 2)]
pub struct Quantity(u32);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be between {} and {}", Quantity::MIN, Quantity::MAX)]
pub struct QuantityOutOfRange;

impl Quantity {
    pub const MIN: u32 = 1;
    pub const MAX: u32 = 99;

    pub fn new(units: i64) -> Result<Self, QuantityOutOfRange> {
        u32::try_from(units)
            .ok()
            .filter(|units| (Self::MIN..=Self::MAX).contains(units))
            .map(Self)
            .ok_or(QuantityOutOfRange)
    }

    pub fn get(self) -> u32 {
        self.0
    }

    /// Both quantities on one line, which must still be in range.
    pub fn checked_add(self, more: Quantity) -> Result<Self, QuantityOutOfRange> {
        Self::new(i64::from(self.0) + i64::from(more.0))
    }
}

impl TryFrom<i64> for Quantity {
    type Error = QuantityOutOfRange;
    fn try_from(units: i64) -> Result<Self, Self::Error> {
        Self::new(units)
    }
}

impl From<Quantity> for u32 {
    fn from(quantity: Quantity) -> Self {
        quantity.0
    }
}

impl From<Quantity> for i32 {
    fn from(quantity: Quantity) -> Self {
        // At most 99, so it always fits.
        quantity.0 as i32
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_one_to_ninety_nine() {
        assert_eq!(Quantity::new(1).unwrap().get(), 1);
        assert_eq!(Quantity::new(99).unwrap().get(), 99);
        for bad in [0, -1, 100, i64::from(u32::MAX) + 1, i64::MIN, i64::MAX] {
            assert_eq!(Quantity::new(bad), Err(QuantityOutOfRange), "{bad}");
        }
    }

    #[test]
    fn adding_to_a_line_stays_in_range() {
        let q = |n| Quantity::new(n).unwrap();
        assert_eq!(q(40).checked_add(q(59)), Ok(q(99)));
        assert_eq!(q(40).checked_add(q(60)), Err(QuantityOutOfRange));
        assert_eq!(q(99).checked_add(q(99)), Err(QuantityOutOfRange));
    }

    #[test]
    fn deserializing_validates() {
        assert_eq!(serde_json::from_str::<Quantity>("3").unwrap().get(), 3);
        for bad in ["0", "100", "-2", "1.5", "\"3\"", "null", "18446744073709551616"] {
            assert!(serde_json::from_str::<Quantity>(bad).is_err(), "{bad}");
        }
        assert_eq!(serde_json::to_string(&Quantity::new(7).unwrap()).unwrap(), "7");
    }
}
