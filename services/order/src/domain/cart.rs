//! A customer's cart: lines of products and quantities. Lines hold no prices; a cart is
//! priced from the product replica whenever it is read, so it always shows today's prices.

use shop_contracts::{Currency, Money};
use uuid::Uuid;

use super::quantity::Quantity;

/// Most different products one cart may hold.
pub const MAX_LINES: usize = 50;

/// A product as the replica knows it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub id: Uuid,
    pub sku: String,
    pub name: String,
    pub price: Money,
    /// Inactive products stay in carts (shown as unavailable) but cannot be added or bought.
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartLine {
    pub product: Product,
    pub quantity: Quantity,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CartError {
    #[error("this product is not for sale")]
    Unavailable,
    #[error("this product is priced in {product}, but the cart holds products priced in {cart}")]
    CurrencyMismatch { cart: Currency, product: Currency },
    #[error("the cart already holds {held} of this product; a line holds at most {max}", max = Quantity::MAX)]
    QuantityTooLarge { held: Quantity },
    #[error("a cart holds at most {MAX_LINES} different products")]
    TooManyLines,
}

/// What adding a product to a cart does to it: the quantity the product's line ends up with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addition {
    NewLine(Quantity),
    Increment(Quantity),
}

/// Adds `quantity` of `product` to a cart holding `lines`, if the cart's rules allow it.
pub fn add(lines: &[CartLine], product: &Product, quantity: Quantity) -> Result<Addition, CartError> {
    if !product.active {
        return Err(CartError::Unavailable);
    }
    let currency = product.price.currency;
    if let Some(other) = lines
        .iter()
        .map(|line| line.product.price.currency)
        .find(|other| *other != currency)
    {
        return Err(CartError::CurrencyMismatch {
            cart: other,
            product: currency,
        });
    }
    match lines.iter().find(|line| line.product.id == product.id) {
        Some(line) => line
            .quantity
            .checked_add(quantity)
            .map(Addition::Increment)
            .map_err(|_| CartError::QuantityTooLarge { held: line.quantity }),
        None if lines.len() >= MAX_LINES => Err(CartError::TooManyLines),
        None => Ok(Addition::NewLine(quantity)),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    pub line: CartLine,
    pub line_total: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedCart {
    pub lines: Vec<PricedLine>,
    /// What the available lines cost together; `None` when no line is available, or when
    /// their currencies differ (a product's currency changed after it was added).
    pub total: Option<Money>,
    /// Units in the cart, over all lines.
    pub item_count: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the cart's total exceeds the largest amount that can be charged")]
pub struct TotalOverflow;

/// Prices every line and totals the ones that can be bought.
pub fn price(lines: Vec<CartLine>) -> Result<PricedCart, TotalOverflow> {
    let item_count = lines.iter().map(|line| line.quantity.get()).sum();
    let lines = lines
        .into_iter()
        .map(|line| {
            let line_total = line.product.price.times(line.quantity.get()).ok_or(TotalOverflow)?;
            Ok(PricedLine { line, line_total })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut available = lines.iter().filter(|l| l.line.product.active).map(|l| l.line_total);
    let total = match available.next() {
        None => None,
        Some(first) if available.clone().any(|m| m.currency != first.currency) => None,
        Some(first) => Some(available.try_fold(first, Money::checked_add).ok_or(TotalOverflow)?),
    };
    Ok(PricedCart {
        lines,
        total,
        item_count,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn product(price_minor: i64, currency: &str) -> Product {
        Product {
            id: Uuid::now_v7(),
            sku: "SKU-1".into(),
            name: "Thing".into(),
            price: Money::new(price_minor, Currency::parse(currency).unwrap()).unwrap(),
            active: true,
        }
    }

    pub(crate) fn line(product: &Product, quantity: i64) -> CartLine {
        CartLine {
            product: product.clone(),
            quantity: q(quantity),
        }
    }

    fn q(n: i64) -> Quantity {
        Quantity::new(n).unwrap()
    }

    #[test]
    fn adding_a_new_product_opens_a_line() {
        let mug = product(1200, "USD");
        assert_eq!(add(&[], &mug, q(2)), Ok(Addition::NewLine(q(2))));
    }

    #[test]
    fn adding_a_held_product_increments_its_line_up_to_the_maximum() {
        let mug = product(1200, "USD");
        let lines = [line(&mug, 90)];
        assert_eq!(add(&lines, &mug, q(9)), Ok(Addition::Increment(q(99))));
        assert_eq!(
            add(&lines, &mug, q(10)),
            Err(CartError::QuantityTooLarge { held: q(90) })
        );
    }

    #[test]
    fn inactive_products_cannot_be_added() {
        let gone = Product {
            active: false,
            ..product(100, "USD")
        };
        assert_eq!(add(&[], &gone, q(1)), Err(CartError::Unavailable));
    }

    #[test]
    fn a_cart_holds_one_currency() {
        let lines = [line(&product(100, "EUR"), 1)];
        let usd = Currency::parse("USD").unwrap();
        let eur = Currency::parse("EUR").unwrap();
        assert_eq!(
            add(&lines, &product(100, "USD"), q(1)),
            Err(CartError::CurrencyMismatch {
                cart: eur,
                product: usd
            })
        );
        assert!(add(&lines, &product(100, "EUR"), q(1)).is_ok());
    }

    #[test]
    fn a_full_cart_takes_no_new_products_but_held_ones_can_grow() {
        let lines: Vec<_> = (0..MAX_LINES).map(|_| line(&product(100, "USD"), 1)).collect();
        assert_eq!(add(&lines, &product(100, "USD"), q(1)), Err(CartError::TooManyLines));
        assert_eq!(add(&lines, &lines[0].product, q(1)), Ok(Addition::Increment(q(2))));
    }

    #[test]
    fn totals_sum_the_available_lines() {
        let mug = product(1999, "USD");
        let pen = product(250, "USD");
        let gone = Product {
            active: false,
            ..product(5000, "USD")
        };
        let cart = price(vec![line(&mug, 2), line(&pen, 3), line(&gone, 1)]).unwrap();
        let totals: Vec<i64> = cart.lines.iter().map(|l| l.line_total.amount_minor).collect();
        assert_eq!(totals, [3998, 750, 5000]);
        assert_eq!(cart.total.unwrap().amount_minor, 4748);
        assert_eq!(cart.total.unwrap().currency.as_str(), "USD");
        assert_eq!(cart.item_count, 6);
    }

    #[test]
    fn an_empty_cart_has_no_total() {
        let cart = price(vec![]).unwrap();
        assert_eq!((cart.total, cart.item_count), (None, 0));
        let gone = Product {
            active: false,
            ..product(5000, "USD")
        };
        assert_eq!(price(vec![line(&gone, 1)]).unwrap().total, None);
    }

    #[test]
    fn mixed_currencies_have_no_total() {
        let cart = price(vec![line(&product(100, "USD"), 1), line(&product(100, "EUR"), 1)]).unwrap();
        assert_eq!(cart.total, None);
        assert_eq!(cart.lines.len(), 2);
    }

    #[test]
    fn overflowing_amounts_are_an_error_not_a_wrap() {
        let huge = product(i64::MAX / 2, "USD");
        assert_eq!(price(vec![line(&huge, 3)]), Err(TotalOverflow));
        let other = product(i64::MAX / 2, "USD");
        assert_eq!(
            price(vec![line(&huge, 1), line(&other, 1), line(&product(2, "USD"), 1)]),
            Err(TotalOverflow)
        );
    }
}
