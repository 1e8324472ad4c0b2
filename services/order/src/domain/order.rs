//! Orders: what was bought at which price, where it goes, and the states an order passes
//! through. An order copies names and prices at checkout, so later catalog changes never
//! alter it.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shop_contracts::Money;
use shop_platform::bounded_text;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{cart::CartLine, quantity::Quantity};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Placed; stock and payment are being settled.
    Pending,
    Confirmed,
    /// Stopped after it was placed (for example, the payment failed).
    Cancelled,
    /// Refused at placement (for example, out of stock).
    Rejected,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Confirmed => "confirmed",
            Self::Cancelled => "cancelled",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [Self::Pending, Self::Confirmed, Self::Cancelled, Self::Rejected]
            .into_iter()
            .find(|status| status.as_str() == name)
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

bounded_text!(
    /// The client's key that makes placing an order safe to retry.
    pub IdempotencyKey, 1, 128
);
bounded_text!(pub RecipientName, 1, 100);
bounded_text!(pub AddressLine, 1, 200);
bounded_text!(pub City, 1, 100);
bounded_text!(pub PostalCode, 1, 20);

/// An ISO 3166-1 alpha-2 country code such as `DE`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, pattern = "^[A-Z]{2}$", example = "DE")]
pub struct CountryCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be a two-letter upper-case ISO 3166 country code, like DE")]
pub struct InvalidCountryCode;

impl TryFrom<String> for CountryCode {
    type Error = InvalidCountryCode;
    fn try_from(code: String) -> Result<Self, Self::Error> {
        match code.as_bytes() {
            [a, b] if a.is_ascii_uppercase() && b.is_ascii_uppercase() => Ok(Self(code)),
            _ => Err(InvalidCountryCode),
        }
    }
}

impl From<CountryCode> for String {
    fn from(code: CountryCode) -> Self {
        code.0
    }
}

/// Where an order is delivered, copied into the order when it is placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShippingAddress {
    pub recipient: RecipientName,
    pub line1: AddressLine,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<AddressLine>,
    pub city: City,
    pub postal_code: PostalCode,
    pub country: CountryCode,
}

/// One product of an order, at the price it was bought for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLine {
    pub product_id: Uuid,
    pub sku: String,
    pub product_name: String,
    pub unit_price: Money,
    pub quantity: Quantity,
    pub line_total: Money,
}

/// An entry of an order's status history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub status: OrderStatus,
    pub reason: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

/// An order about to be placed: priced, totalled and checked, not yet stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub id: Uuid,
    pub user_id: Uuid,
    pub lines: Vec<OrderLine>,
    pub total: Money,
    pub shipping_address: ShippingAddress,
    pub idempotency_key: IdempotencyKey,
    /// Identifies the request body, so a reused idempotency key with another body is caught.
    pub request_fingerprint: String,
    pub placed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("an order needs at least one product")]
    Empty,
    #[error("product {0} is not for sale")]
    Unavailable(Uuid),
    #[error("all products of an order must be priced in one currency")]
    MixedCurrencies,
    #[error("the order's total exceeds the largest amount that can be charged")]
    Overflow,
}

/// What placing an order needs besides its lines.
#[derive(Debug, Clone)]
pub struct Placement {
    pub user_id: Uuid,
    pub shipping_address: ShippingAddress,
    pub idempotency_key: IdempotencyKey,
    pub request_fingerprint: String,
}

impl NewOrder {
    /// Every order starts out pending, until stock and payment settle it.
    pub const INITIAL_STATUS: OrderStatus = OrderStatus::Pending;

    /// A pending order for `lines` at their current prices.
    pub fn place(lines: Vec<CartLine>, placement: Placement) -> Result<Self, OrderError> {
        let currency = lines.first().ok_or(OrderError::Empty)?.product.price.currency;
        let lines = lines
            .into_iter()
            .map(|CartLine { product, quantity }| {
                if !product.active {
                    return Err(OrderError::Unavailable(product.id));
                }
                if product.price.currency != currency {
                    return Err(OrderError::MixedCurrencies);
                }
                let line_total = product.price.times(quantity.get()).ok_or(OrderError::Overflow)?;
                Ok(OrderLine {
                    product_id: product.id,
                    sku: product.sku,
                    product_name: product.name,
                    unit_price: product.price,
                    quantity,
                    line_total,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let zero = Money::new(0, currency).expect("zero is not negative");
        let total = lines
            .iter()
            .try_fold(zero, |sum, line| sum.checked_add(line.line_total))
            .ok_or(OrderError::Overflow)?;
        Ok(Self {
            id: Uuid::now_v7(),
            user_id: placement.user_id,
            lines,
            total,
            shipping_address: placement.shipping_address,
            idempotency_key: placement.idempotency_key,
            request_fingerprint: placement.request_fingerprint,
            placed_at: Utc::now(),
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::cart::{
        Product,
        tests::{line, product},
    };

    pub(crate) fn address() -> ShippingAddress {
        serde_json::from_value(serde_json::json!({
            "recipient": "Ada Lovelace", "line1": "12 St James's Square", "city": "London",
            "postal_code": "SW1Y 4JH", "country": "GB",
        }))
        .unwrap()
    }

    fn placement() -> Placement {
        Placement {
            user_id: Uuid::now_v7(),
            shipping_address: address(),
            idempotency_key: IdempotencyKey::parse("key-1").unwrap(),
            request_fingerprint: "fingerprint".into(),
        }
    }

    #[test]
    fn an_order_copies_prices_and_totals_its_lines() {
        let mug = product(1999, "USD");
        let pen = product(250, "USD");
        let order = NewOrder::place(vec![line(&mug, 2), line(&pen, 4)], placement()).unwrap();
        let totals: Vec<i64> = order.lines.iter().map(|l| l.line_total.amount_minor).collect();
        assert_eq!(totals, [3998, 1000]);
        assert_eq!(order.total, Money::new(4998, mug.price.currency).unwrap());
        assert_eq!(order.lines[0].product_name, mug.name);
        assert_eq!(order.lines[1].unit_price, pen.price);
    }

    #[test]
    fn orders_refuse_empty_unavailable_mixed_and_overflowing_lines() {
        assert_eq!(NewOrder::place(vec![], placement()), Err(OrderError::Empty));
        let gone = Product {
            active: false,
            ..product(100, "USD")
        };
        assert_eq!(
            NewOrder::place(vec![line(&gone, 1)], placement()),
            Err(OrderError::Unavailable(gone.id))
        );
        let mixed = vec![line(&product(100, "USD"), 1), line(&product(100, "EUR"), 1)];
        assert_eq!(NewOrder::place(mixed, placement()), Err(OrderError::MixedCurrencies));
        let huge = vec![
            line(&product(i64::MAX / 2, "USD"), 1),
            line(&product(i64::MAX / 2 + 2, "USD"), 1),
        ];
        assert_eq!(NewOrder::place(huge, placement()), Err(OrderError::Overflow));
    }

    #[test]
    fn statuses_round_trip_through_their_names() {
        for status in [
            OrderStatus::Pending,
            OrderStatus::Confirmed,
            OrderStatus::Cancelled,
            OrderStatus::Rejected,
        ] {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        assert_eq!(OrderStatus::parse("shipped"), None);
    }

    #[test]
    fn addresses_validate_every_field() {
        assert_eq!(address().country, CountryCode::try_from("GB".to_owned()).unwrap());
        for bad in ["gb", "GBR", "G", "", "1A"] {
            assert!(CountryCode::try_from(bad.to_owned()).is_err(), "{bad:?}");
        }
        let mut json = serde_json::to_value(address()).unwrap();
        json["recipient"] = "  ".into();
        assert!(serde_json::from_value::<ShippingAddress>(json).is_err());
        let mut json = serde_json::to_value(address()).unwrap();
        json["floor"] = "3".into();
        assert!(serde_json::from_value::<ShippingAddress>(json).is_err());
    }
}
