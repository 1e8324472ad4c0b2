//! Orders: what was bought at which price, where it goes, and the states an order passes
//! through. An order copies names and prices at checkout, so later catalog changes never
//! alter it.

use std::fmt;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use shop_contracts::{Address, Money, events::RejectedLine};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{cart::CartLine, payment::PaymentToken, quantity::Quantity};

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

/// The client's key that makes placing an order safe to retry: 1 to 255 visible ASCII
/// characters (no spaces), taken as sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be 1 to {} visible ASCII characters, without spaces", IdempotencyKey::MAX)]
pub struct InvalidIdempotencyKey;

impl IdempotencyKey {
    pub const MAX: usize = 255;

    pub fn parse(key: &str) -> Result<Self, InvalidIdempotencyKey> {
        let visible = |b: u8| b.is_ascii_graphic();
        if (1..=Self::MAX).contains(&key.len()) && key.bytes().all(visible) {
            Ok(Self(key.to_owned()))
        } else {
            Err(InvalidIdempotencyKey)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
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
    /// Where the order is delivered, copied into it when it is placed.
    pub shipping_address: Address,
    pub idempotency_key: IdempotencyKey,
    /// Identifies the request body, so a reused idempotency key with another body is caught.
    pub request_fingerprint: String,
    /// What the payment step charges once the stock is reserved.
    pub payment_token: PaymentToken,
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
    /// The id the order gets: chosen by the caller, who knows the shard it names.
    pub order_id: Uuid,
    pub user_id: Uuid,
    pub shipping_address: Address,
    pub idempotency_key: IdempotencyKey,
    pub request_fingerprint: String,
    pub payment_token: PaymentToken,
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
            id: placement.order_id,
            user_id: placement.user_id,
            lines,
            total,
            shipping_address: placement.shipping_address,
            idempotency_key: placement.idempotency_key,
            request_fingerprint: placement.request_fingerprint,
            payment_token: placement.payment_token,
            // As PostgreSQL stores it, so the order reads back as it was placed.
            placed_at: Utc::now().trunc_subsecs(6),
        })
    }
}

/// Why an order was cancelled, as its history and its `order.cancelled` event say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    /// The customer asked.
    Customer,
    /// The payment step declined the order's payment token.
    PaymentDeclined,
    /// Stock and payment did not settle the order before the pending deadline.
    Timeout,
}

impl CancelReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer_cancelled",
            Self::PaymentDeclined => "payment_declined",
            Self::Timeout => "timeout",
        }
    }
}

/// A change of a placed order's status. Each applies only from certain statuses, so a
/// repeated or late event, a second request or a race between them changes nothing twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// Stock is reserved and the payment was approved.
    Confirm,
    Cancel(CancelReason),
    /// Stock could not be reserved; the reason says for which products.
    Reject {
        reason: String,
    },
}

impl Transition {
    /// The history reason of a confirmation.
    pub const PAYMENT_APPROVED: &'static str = "payment_approved";

    /// The status the order ends up in.
    pub fn target(&self) -> OrderStatus {
        match self {
            Self::Confirm => OrderStatus::Confirmed,
            Self::Cancel(_) => OrderStatus::Cancelled,
            Self::Reject { .. } => OrderStatus::Rejected,
        }
    }

    /// The statuses the order must be in for this transition to apply. Only the customer may
    /// cancel a confirmed order; everything else settles pending orders only.
    pub fn allowed_from(&self) -> &'static [OrderStatus] {
        match self {
            Self::Cancel(CancelReason::Customer) => &[OrderStatus::Pending, OrderStatus::Confirmed],
            _ => &[OrderStatus::Pending],
        }
    }

    pub fn applies_to(&self, status: OrderStatus) -> bool {
        self.allowed_from().contains(&status)
    }

    /// Why the order moved, as its status history records it.
    pub fn reason(&self) -> &str {
        match self {
            Self::Confirm => Self::PAYMENT_APPROVED,
            Self::Cancel(reason) => reason.as_str(),
            Self::Reject { reason } => reason,
        }
    }
}

/// The reason of a rejection: every product that could not be reserved and why, named as the
/// order names it (`names` holds the order's `(product id, product name)` pairs).
pub fn rejection_reason(rejected: &[RejectedLine], names: &[(Uuid, String)]) -> String {
    let products: Vec<String> = rejected
        .iter()
        .map(|line| {
            let product = match names.iter().find(|(id, _)| *id == line.product_id) {
                Some((id, name)) => format!("{name} ({id})"),
                None => line.product_id.to_string(),
            };
            format!(
                "{product}: {}, requested {}, available {}",
                line.reason, line.requested, line.available
            )
        })
        .collect();
    if products.is_empty() {
        "stock could not be reserved".to_owned()
    } else {
        format!("stock could not be reserved: {}", products.join("; "))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::cart::{
        Product,
        tests::{line, product},
    };

    pub(crate) fn address() -> Address {
        serde_json::from_value(serde_json::json!({
            "recipient": "Ada Lovelace", "line1": "12 St James's Square", "city": "London",
            "postal_code": "SW1Y 4JH", "country": "GB",
        }))
        .unwrap()
    }

    fn placement() -> Placement {
        Placement {
            order_id: Uuid::now_v7(),
            user_id: Uuid::now_v7(),
            shipping_address: address(),
            idempotency_key: IdempotencyKey::parse("key-1").unwrap(),
            request_fingerprint: "fingerprint".into(),
            payment_token: PaymentToken::parse("tok_visa").unwrap(),
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
    fn idempotency_keys_are_visible_ascii_up_to_255() {
        assert!(IdempotencyKey::parse("a").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        assert!(IdempotencyKey::parse("0191b3c4-7f1e-7a8b-9c2d-3e4f5a6b7c8d").is_ok());
        assert_eq!(IdempotencyKey::parse(" key ").unwrap_err(), InvalidIdempotencyKey);
        for bad in ["", "a b", "tab\there", "zoë", "new\nline", "\u{7f}"] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
    }

    #[test]
    fn transitions_apply_only_from_the_statuses_they_settle() {
        use OrderStatus::*;
        let customer = Transition::Cancel(CancelReason::Customer);
        let settling = [
            Transition::Confirm,
            Transition::Cancel(CancelReason::PaymentDeclined),
            Transition::Cancel(CancelReason::Timeout),
            Transition::Reject {
                reason: "out of stock".into(),
            },
        ];
        for transition in &settling {
            assert!(transition.applies_to(Pending), "{transition:?}");
            for settled in [Confirmed, Cancelled, Rejected] {
                assert!(!transition.applies_to(settled), "{transition:?} from {settled}");
            }
        }
        assert!(customer.applies_to(Pending));
        assert!(customer.applies_to(Confirmed));
        assert!(!customer.applies_to(Cancelled));
        assert!(!customer.applies_to(Rejected));
    }

    #[test]
    fn transitions_name_their_target_and_reason() {
        let cases = [
            (Transition::Confirm, OrderStatus::Confirmed, "payment_approved"),
            (
                Transition::Cancel(CancelReason::Customer),
                OrderStatus::Cancelled,
                "customer_cancelled",
            ),
            (
                Transition::Cancel(CancelReason::PaymentDeclined),
                OrderStatus::Cancelled,
                "payment_declined",
            ),
            (
                Transition::Cancel(CancelReason::Timeout),
                OrderStatus::Cancelled,
                "timeout",
            ),
            (
                Transition::Reject {
                    reason: "no stock".into(),
                },
                OrderStatus::Rejected,
                "no stock",
            ),
        ];
        for (transition, target, reason) in cases {
            assert_eq!((transition.target(), transition.reason()), (target, reason));
        }
    }

    #[test]
    fn rejection_reasons_name_every_rejected_product() {
        let (mug, gone) = (Uuid::now_v7(), Uuid::now_v7());
        let rejected = [
            RejectedLine {
                product_id: mug,
                requested: 3,
                available: 1,
                reason: "out_of_stock".into(),
            },
            RejectedLine {
                product_id: gone,
                requested: 1,
                available: 0,
                reason: "unknown_product".into(),
            },
        ];
        let reason = rejection_reason(&rejected, &[(mug, "Blue mug".into())]);
        assert_eq!(
            reason,
            format!(
                "stock could not be reserved: Blue mug ({mug}): out_of_stock, requested 3, available 1; \
                 {gone}: unknown_product, requested 1, available 0"
            )
        );
        assert_eq!(rejection_reason(&[], &[]), "stock could not be reserved");
    }
}
