//! Stock reservations in the checkout saga: what each order event does to an order's
//! reservation given its current state, how each step moves stock levels, and whether an
//! order's lines can be held. No I/O here.

use std::{collections::BTreeMap, str::FromStr};

use shop_contracts::events::{OrderLine, RejectedLine};
use uuid::Uuid;

/// Where an order's reservation stands. `Released` without lines is also the tombstone of an
/// order cancelled before it was placed here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationStatus {
    Held,
    Committed,
    Released,
    Rejected,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown reservation status {0:?}")]
pub struct UnknownStatus(String);

impl ReservationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Held => "held",
            Self::Committed => "committed",
            Self::Released => "released",
            Self::Rejected => "rejected",
        }
    }
}

impl FromStr for ReservationStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "held" => Ok(Self::Held),
            "committed" => Ok(Self::Committed),
            "released" => Ok(Self::Released),
            "rejected" => Ok(Self::Rejected),
            other => Err(UnknownStatus(other.to_owned())),
        }
    }
}

/// The order events that move a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderEvent {
    Placed,
    Confirmed,
    Cancelled,
}

/// What an order event does to the order's reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Hold stock for every line, or reject the order and hold nothing.
    Reserve,
    /// Held stock becomes sold.
    Commit,
    /// Held stock becomes available again.
    Release,
    /// Sold stock of an order cancelled after confirmation goes back on hand.
    Restock,
    /// Cancelled before it was placed: remember that, so a late placement holds nothing.
    Tombstone,
    /// Done already, or too late: a repeated or out-of-order event changes nothing.
    Ignore,
}

/// Every transition is guarded by the current state, so applying an event twice is harmless.
pub fn step(event: OrderEvent, current: Option<ReservationStatus>) -> Step {
    use ReservationStatus::{Committed, Held};
    match (event, current) {
        (OrderEvent::Placed, None) => Step::Reserve,
        (OrderEvent::Confirmed, Some(Held)) => Step::Commit,
        (OrderEvent::Cancelled, Some(Held)) => Step::Release,
        (OrderEvent::Cancelled, Some(Committed)) => Step::Restock,
        (OrderEvent::Cancelled, None) => Step::Tombstone,
        _ => Step::Ignore,
    }
}

/// Stock levels of one product, or a change to them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Levels {
    pub on_hand: i32,
    pub reserved: i32,
    pub sold: i32,
}

impl Step {
    /// How the step moves the levels of a product with `quantity` units in the reservation.
    /// No step changes `on_hand + sold`: stock is only ever moved, never made or lost.
    pub fn moves(self, quantity: i32) -> Levels {
        let q = quantity;
        match self {
            Step::Reserve => Levels {
                reserved: q,
                ..Levels::default()
            },
            Step::Commit => Levels {
                on_hand: -q,
                reserved: -q,
                sold: q,
            },
            Step::Release => Levels {
                reserved: -q,
                ..Levels::default()
            },
            Step::Restock => Levels {
                on_hand: q,
                reserved: 0,
                sold: -q,
            },
            Step::Tombstone | Step::Ignore => Levels::default(),
        }
    }

    /// The reservation's version after the step: the `aggregate_version` of the event the step
    /// publishes (placed → 1, confirmed → 2, cancelled → 2 or 3). Tombstones publish nothing.
    pub fn version(self) -> i64 {
        match self {
            Step::Reserve => 1,
            Step::Commit | Step::Release => 2,
            Step::Restock => 3,
            Step::Tombstone | Step::Ignore => 0,
        }
    }
}

pub const OUT_OF_STOCK: &str = "out_of_stock";
pub const UNKNOWN_PRODUCT: &str = "unknown_product";
pub const INACTIVE_PRODUCT: &str = "inactive_product";

/// An order's lines as they are reserved: one per product in product-id order, quantities of a
/// repeated product added up; a line of zero units holds nothing and is dropped.
pub fn merge_lines(lines: &[OrderLine]) -> Vec<OrderLine> {
    let mut merged = BTreeMap::<Uuid, u32>::new();
    for line in lines.iter().filter(|line| line.quantity > 0) {
        let quantity = merged.entry(line.product_id).or_default();
        *quantity = quantity.saturating_add(line.quantity);
    }
    merged
        .into_iter()
        .map(|(product_id, quantity)| OrderLine { product_id, quantity })
        .collect()
}

/// One product's stock as locked for a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stock {
    pub product_id: Uuid,
    pub active: bool,
    /// On hand minus reserved.
    pub available: i32,
}

/// `Ok` if every line can be held; otherwise why each line that cannot, cannot. A product
/// missing from `stock` does not exist.
pub fn check(lines: &[OrderLine], stock: &[Stock]) -> Result<(), Vec<RejectedLine>> {
    let stock: BTreeMap<Uuid, &Stock> = stock.iter().map(|s| (s.product_id, s)).collect();
    let rejected: Vec<RejectedLine> = lines
        .iter()
        .filter_map(|line| {
            let (reason, available) = match stock.get(&line.product_id) {
                None => (UNKNOWN_PRODUCT, 0),
                // Nothing of an inactive product can be ordered, whatever is on the shelf.
                Some(s) if !s.active => (INACTIVE_PRODUCT, 0),
                Some(s) => {
                    let available = u32::try_from(s.available).unwrap_or(0);
                    if available >= line.quantity {
                        return None;
                    }
                    (OUT_OF_STOCK, available)
                }
            };
            Some(RejectedLine {
                product_id: line.product_id,
                requested: line.quantity,
                available,
                reason: reason.to_owned(),
            })
        })
        .collect();
    if rejected.is_empty() { Ok(()) } else { Err(rejected) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_STATES: [Option<ReservationStatus>; 5] = [
        None,
        Some(ReservationStatus::Held),
        Some(ReservationStatus::Committed),
        Some(ReservationStatus::Released),
        Some(ReservationStatus::Rejected),
    ];

    #[test]
    fn statuses_round_trip_through_their_names() {
        for status in ALL_STATES.into_iter().flatten() {
            assert_eq!(status.as_str().parse::<ReservationStatus>(), Ok(status));
        }
        assert!("pending".parse::<ReservationStatus>().is_err());
    }

    #[test]
    fn only_the_expected_transitions_do_anything() {
        use OrderEvent::*;
        use ReservationStatus::*;
        for current in ALL_STATES {
            let expected = |event| match (event, current) {
                (Placed, None) => Step::Reserve,
                (Confirmed, Some(Held)) => Step::Commit,
                (Cancelled, Some(Held)) => Step::Release,
                (Cancelled, Some(Committed)) => Step::Restock,
                (Cancelled, None) => Step::Tombstone,
                _ => Step::Ignore,
            };
            for event in [Placed, Confirmed, Cancelled] {
                assert_eq!(step(event, current), expected(event), "{event:?} on {current:?}");
            }
        }
        // A cancelled order that was placed late, a confirmation before placement, a
        // second placement: all ignored.
        assert_eq!(step(Placed, Some(Released)), Step::Ignore);
        assert_eq!(step(Confirmed, None), Step::Ignore);
        assert_eq!(step(Placed, Some(Held)), Step::Ignore);
    }

    #[test]
    fn steps_move_stock_without_making_or_losing_any() {
        let steps = [
            Step::Reserve,
            Step::Commit,
            Step::Release,
            Step::Restock,
            Step::Tombstone,
            Step::Ignore,
        ];
        for step in steps {
            let moved = step.moves(3);
            assert_eq!(moved.on_hand + moved.sold, 0, "{step:?}");
        }
        // A reservation's life: held, then sold, then (cancelled) back on hand.
        let start = Levels {
            on_hand: 10,
            reserved: 0,
            sold: 0,
        };
        let after = |levels: Levels, step: Step| {
            let m = step.moves(3);
            Levels {
                on_hand: levels.on_hand + m.on_hand,
                reserved: levels.reserved + m.reserved,
                sold: levels.sold + m.sold,
            }
        };
        let held = after(start, Step::Reserve);
        assert_eq!(
            held,
            Levels {
                on_hand: 10,
                reserved: 3,
                sold: 0
            }
        );
        let sold = after(held, Step::Commit);
        assert_eq!(
            sold,
            Levels {
                on_hand: 7,
                reserved: 0,
                sold: 3
            }
        );
        assert_eq!(after(sold, Step::Restock), start);
        assert_eq!(after(held, Step::Release), start);
    }

    #[test]
    fn versions_follow_the_reservation_life() {
        assert_eq!(Step::Reserve.version(), 1);
        assert_eq!(Step::Commit.version(), 2);
        assert_eq!(Step::Release.version(), 2);
        assert_eq!(Step::Restock.version(), 3);
    }

    fn line(product_id: Uuid, quantity: u32) -> OrderLine {
        OrderLine { product_id, quantity }
    }

    #[test]
    fn lines_merge_per_product_in_id_order() {
        let (a, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let merged = merge_lines(&[line(c, 1), line(a, 2), line(c, 4), line(b, 0), line(a, u32::MAX)]);
        assert_eq!(merged, vec![line(a, u32::MAX), line(c, 5)]);
        assert!(merge_lines(&[]).is_empty());
    }

    #[test]
    fn every_failing_line_is_reported_with_its_reason() {
        let (a, b, c, d) = (
            Uuid::from_u128(1),
            Uuid::from_u128(2),
            Uuid::from_u128(3),
            Uuid::from_u128(4),
        );
        let stock = [
            Stock {
                product_id: a,
                active: true,
                available: 5,
            },
            Stock {
                product_id: b,
                active: true,
                available: 1,
            },
            Stock {
                product_id: c,
                active: false,
                available: 9,
            },
        ];
        assert_eq!(check(&[line(a, 5)], &stock), Ok(()));
        assert_eq!(check(&[], &stock), Ok(()));
        let rejected = check(&[line(a, 5), line(b, 2), line(c, 1), line(d, 1)], &stock).unwrap_err();
        let summary: Vec<(Uuid, u32, u32, &str)> = rejected
            .iter()
            .map(|r| (r.product_id, r.requested, r.available, r.reason.as_str()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (b, 2, 1, OUT_OF_STOCK),
                (c, 1, 0, INACTIVE_PRODUCT),
                (d, 1, 0, UNKNOWN_PRODUCT)
            ]
        );
        // More than could ever be in stock.
        let huge = check(&[line(a, u32::MAX)], &stock).unwrap_err();
        assert_eq!(huge[0].reason, OUT_OF_STOCK);
    }
}
