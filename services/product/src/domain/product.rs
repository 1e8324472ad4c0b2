//! Products: identity (SKU), presentation (name, description, image), price and stock rules.

use serde::{Deserialize, Serialize};
use shop_contracts::{Money, bounded_text, money::MoneyError, text_newtype};
use utoipa::ToSchema;

bounded_text!(
    /// A product's display name.
    pub ProductName, 1, 200
);

bounded_text!(
    /// Free text shown on the product page.
    pub Description, 0, 2000, multiline = true
);

bounded_text!(
    /// Why stock was adjusted by hand (a stock-take, damaged goods, a delivery…).
    pub AdjustmentReason, 1, 200
);

/// Stock-keeping unit: 3–32 upper-case letters, digits and hyphens, starting with a letter
/// or digit. Input is upper-cased, so `elec-1` and `ELEC-1` are the same SKU.
#[derive(Debug, Clone, PartialEq, Eq, Hash, ToSchema)]
#[schema(value_type = String, pattern = "^[A-Z0-9][A-Z0-9-]{2,31}$", example = "ELEC-000123")]
pub struct Sku(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("must be 3 to 32 letters, digits and hyphens, starting with a letter or digit")]
pub struct InvalidSku;

impl Sku {
    pub fn parse(input: &str) -> Result<Self, InvalidSku> {
        let sku = input.trim().to_ascii_uppercase();
        let bytes = sku.as_bytes();
        let valid = (3..=32).contains(&bytes.len())
            && bytes[0].is_ascii_alphanumeric()
            && bytes
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'-');
        if valid { Ok(Self(sku)) } else { Err(InvalidSku) }
    }
}

text_newtype!(Sku, InvalidSku);

/// A product image: an absolute http(s) URL, or a path on the shop itself (`/images/…`, as the
/// demo catalog's pictures, which the storefront draws), at most 2,048 characters.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[schema(value_type = String, max_length = 2048, example = "/images/products/electronics/elec-000123.svg")]
pub struct ImageUrl(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "must be an absolute http:// or https:// URL or a path starting with /, of at most 2048 characters without spaces"
)]
pub struct InvalidImageUrl;

impl ImageUrl {
    pub fn parse(input: &str) -> Result<Self, InvalidImageUrl> {
        let url = input.trim();
        let host = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
        let own_path = url.starts_with('/') && !url.starts_with("//");
        let valid = url.len() <= 2048
            && (own_path || host.is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/')))
            && !url.chars().any(|c| c.is_whitespace() || c.is_control());
        if valid {
            Ok(Self(url.to_owned()))
        } else {
            Err(InvalidImageUrl)
        }
    }
}

text_newtype!(ImageUrl, InvalidImageUrl);

/// A selling price: money with an upper bound, so a typo of a few extra digits is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Money", into = "Money")]
pub struct Price(Money);

// Written by hand: Money's schema with the price's upper bound.
impl utoipa::PartialSchema for Price {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .property(
                "amount_minor",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1))
                    .maximum(Some(Self::MAX_MINOR))
                    .description(Some("Amount in minor units, e.g. 1999 for USD 19.99")),
            )
            .required("amount_minor")
            .property(
                "currency",
                <shop_contracts::Currency as utoipa::PartialSchema>::schema(),
            )
            .required("currency")
            .into()
    }
}

impl ToSchema for Price {}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidPrice {
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error("must be at most {} minor units", Price::MAX_MINOR)]
    TooHigh,
    #[error("must be more than zero: nothing in the shop is free")]
    Zero,
}

impl Price {
    pub const MAX_MINOR: i64 = 100_000_000;

    pub fn new(money: Money) -> Result<Self, InvalidPrice> {
        if money.amount_minor > Self::MAX_MINOR {
            return Err(InvalidPrice::TooHigh);
        }
        if money.amount_minor == 0 {
            return Err(InvalidPrice::Zero);
        }
        Ok(Self(money))
    }

    pub fn money(self) -> Money {
        self.0
    }
}

impl TryFrom<Money> for Price {
    type Error = InvalidPrice;
    fn try_from(money: Money) -> Result<Self, Self::Error> {
        Self::new(money)
    }
}

impl From<Price> for Money {
    fn from(price: Price) -> Self {
        price.0
    }
}

/// Units of stock a product can be created with: 0 to 1,000,000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "i64", into = "i32")]
#[schema(value_type = i32, minimum = 0, maximum = 1_000_000)]
pub struct StockLevel(i32);

/// A manual change to stock on hand: non-zero, at most 1,000,000 either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i32")]
pub struct StockDelta(i32);

// Written by hand: a range without its middle (zero) is two ranges.
impl utoipa::PartialSchema for StockDelta {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        let range = |minimum: i32, maximum: i32| {
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(minimum))
                .maximum(Some(maximum))
        };
        OneOfBuilder::new()
            .item(range(-MAX_STOCK_CHANGE, -1))
            .item(range(1, MAX_STOCK_CHANGE))
            .description(Some("Units to add (positive) or remove (negative); never zero"))
            .into()
    }
}

impl ToSchema for StockDelta {}

pub const MAX_STOCK_CHANGE: i32 = 1_000_000;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidStock {
    #[error("must be between 0 and {MAX_STOCK_CHANGE}")]
    Level,
    #[error("must be non-zero and between -{MAX_STOCK_CHANGE} and {MAX_STOCK_CHANGE}")]
    Delta,
}

impl StockLevel {
    pub fn new(units: i64) -> Result<Self, InvalidStock> {
        match i32::try_from(units) {
            Ok(units @ 0..=MAX_STOCK_CHANGE) => Ok(Self(units)),
            _ => Err(InvalidStock::Level),
        }
    }

    pub fn units(self) -> i32 {
        self.0
    }
}

impl StockDelta {
    pub fn new(units: i64) -> Result<Self, InvalidStock> {
        match i32::try_from(units) {
            Ok(units) if units != 0 && units.abs() <= MAX_STOCK_CHANGE => Ok(Self(units)),
            _ => Err(InvalidStock::Delta),
        }
    }

    pub fn units(self) -> i32 {
        self.0
    }
}

impl TryFrom<i64> for StockLevel {
    type Error = InvalidStock;
    fn try_from(units: i64) -> Result<Self, Self::Error> {
        Self::new(units)
    }
}

impl From<StockLevel> for i32 {
    fn from(level: StockLevel) -> Self {
        level.0
    }
}

impl TryFrom<i64> for StockDelta {
    type Error = InvalidStock;
    fn try_from(units: i64) -> Result<Self, Self::Error> {
        Self::new(units)
    }
}

impl From<StockDelta> for i32 {
    fn from(delta: StockDelta) -> Self {
        delta.0
    }
}

/// Orders in which the catalog can be listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Most recently added first.
    #[default]
    Newest,
    PriceAsc,
    PriceDesc,
    /// Alphabetical by name.
    Name,
}

#[cfg(test)]
mod tests {
    use shop_contracts::Currency;

    use super::*;

    #[test]
    fn skus_are_normalised_to_upper_case_and_checked() {
        assert_eq!(Sku::parse(" elec-000123 ").unwrap().as_str(), "ELEC-000123");
        for bad in ["", "AB", "-ABC", "AB C", "ABC_1", "ÄBC", &"A".repeat(33)] {
            assert_eq!(Sku::parse(bad), Err(InvalidSku), "{bad:?}");
        }
        assert!(Sku::parse(&"A".repeat(32)).is_ok());
    }

    #[test]
    fn image_urls_must_be_absolute_http_or_the_shops_own_paths() {
        assert!(ImageUrl::parse("https://img.example/a.jpg").is_ok());
        assert!(ImageUrl::parse("/images/products/books/book-000001.svg").is_ok());
        for bad in [
            "ftp://x/a.jpg",
            "//evil.example/a.jpg",
            "a.jpg",
            "https://",
            "https:///a",
            "https://a b",
            "javascript:alert(1)",
        ] {
            assert_eq!(ImageUrl::parse(bad), Err(InvalidImageUrl), "{bad:?}");
        }
    }

    #[test]
    fn prices_are_bounded() {
        let usd = Currency::parse("USD").unwrap();
        assert!(Price::new(Money::new(Price::MAX_MINOR, usd).unwrap()).is_ok());
        assert_eq!(
            Price::new(Money::new(Price::MAX_MINOR + 1, usd).unwrap()),
            Err(InvalidPrice::TooHigh)
        );
        assert_eq!(Price::new(Money::new(0, usd).unwrap()), Err(InvalidPrice::Zero));
        assert!(Price::new(Money::new(1, usd).unwrap()).is_ok());
    }

    #[test]
    fn stock_values_are_bounded() {
        assert_eq!(StockLevel::new(0).unwrap().units(), 0);
        assert!(StockLevel::new(-1).is_err());
        assert!(StockLevel::new(1_000_001).is_err());
        assert!(StockLevel::new(i64::MAX).is_err());
        assert_eq!(StockDelta::new(-5).unwrap().units(), -5);
        assert!(StockDelta::new(0).is_err());
        assert!(StockDelta::new(-1_000_001).is_err());
    }

    #[test]
    fn sort_names_are_snake_case() {
        assert_eq!(serde_json::to_value(Sort::PriceDesc).unwrap(), "price_desc");
    }
}
