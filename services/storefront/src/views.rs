//! How API values are shown: prices, stock states, picture paths, highlighted search text,
//! and the frame every page shares.

use std::fmt;

use shop_contracts::Money;
use uuid::Uuid;

use crate::model::Product;

/// Under this many units a product shows "only N left".
const FEW_LEFT: i32 = 5;

/// Quantities the cart accepts per line (the order service's limit).
pub const MAX_QUANTITY: u32 = 99;

/// `$12.34` for dollars, `12.34 EUR` for anything else (every currency of the demo catalog
/// has two minor digits).
pub fn price(money: &Money) -> String {
    let sign = if money.amount_minor < 0 { "-" } else { "" };
    let minor = money.amount_minor.unsigned_abs();
    let amount = format!("{sign}{}.{:02}", group_thousands(minor / 100), minor % 100);
    match money.currency.as_str() {
        "USD" => format!("${amount}"),
        code => format!("{amount} {code}"),
    }
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// Dollars as typed in a price filter (`12`, `12.5`) → minor units.
pub fn parse_amount(input: &str) -> Option<i64> {
    let input = input.trim();
    if input.is_empty() {
        return None;
    }
    let (whole, fraction) = input.split_once('.').unwrap_or((input, ""));
    if whole.len() > 9 || fraction.len() > 2 || !(whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit())) {
        return None;
    }
    let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let cents: i64 = format!("{fraction:0<2}").parse().ok()?;
    Some(whole * 100 + cents)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    InStock,
    FewLeft(i32),
    OutOfStock,
}

impl Availability {
    pub fn of(available: i32) -> Self {
        match available {
            ..=0 => Self::OutOfStock,
            n if n <= FEW_LEFT => Self::FewLeft(n),
            _ => Self::InStock,
        }
    }

    pub fn label(&self) -> String {
        match self {
            Self::InStock => "In stock".to_owned(),
            Self::FewLeft(n) => format!("Only {n} left"),
            Self::OutOfStock => "Out of stock".to_owned(),
        }
    }

    pub fn css(&self) -> &'static str {
        match self {
            Self::InStock => "in-stock",
            Self::FewLeft(_) => "few-left",
            Self::OutOfStock => "out-of-stock",
        }
    }

    pub fn can_buy(&self) -> bool {
        *self != Self::OutOfStock
    }
}

/// The product's picture, drawn by this system (see `images`): the same path the demo
/// catalog's `image_url`s name, so a picture never comes from another host.
pub fn image_path(category_slug: &str, sku: &str) -> String {
    format!("/images/products/{category_slug}/{}.svg", sku.to_ascii_lowercase())
}

/// One option of a choice (a sort order), as a form shows it.
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

pub fn choices(options: &[(&'static str, &'static str)], selected: &str) -> Vec<Choice> {
    options
        .iter()
        .map(|(value, label)| Choice {
            value,
            label,
            selected: *value == selected,
        })
        .collect()
}

/// A product as a tile in a grid.
pub struct Tile {
    pub href: String,
    pub image: String,
    /// Safe HTML: escaped text, with search matches in `<em>`.
    pub name: Highlighted,
    pub price: String,
    pub stock: Availability,
}

impl Tile {
    pub fn of(product: &Product) -> Self {
        Self {
            href: product_path(product.id),
            image: image_path(&product.category.slug, &product.sku),
            name: Highlighted::plain(&product.name),
            price: price(&product.price),
            stock: Availability::of(product.available),
        }
    }
}

pub fn product_path(id: Uuid) -> String {
    format!("/products/{id}")
}

/// Text with search matches marked: only `<em>` and `</em>` survive as markup, everything
/// else is escaped here, whatever the search service sent.
pub struct Highlighted(String);

impl Highlighted {
    pub fn plain(text: &str) -> Self {
        Self(escape(text))
    }

    /// From the search service's highlighted text (escaped, matches in `<em>`).
    pub fn from_marked(marked: &str) -> Self {
        let mut out = String::with_capacity(marked.len());
        let mut open = false;
        let mut rest = marked;
        while !rest.is_empty() {
            let next = [("<em>", true), ("</em>", false)]
                .into_iter()
                .filter_map(|(tag, opens)| rest.find(tag).map(|at| (at, tag, opens)))
                .min_by_key(|(at, ..)| *at);
            let Some((at, tag, opens)) = next else {
                out.push_str(&escape(&unescape(rest)));
                break;
            };
            out.push_str(&escape(&unescape(&rest[..at])));
            if opens != open {
                out.push_str(tag);
                open = opens;
            }
            rest = &rest[at + tag.len()..];
        }
        if open {
            out.push_str("</em>");
        }
        Self(out)
    }
}

impl fmt::Display for Highlighted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// A URL query string from pairs, leaving out empty values.
pub fn query(pairs: &[(&str, &str)]) -> String {
    let pairs: Vec<_> = pairs.iter().filter(|(_, value)| !value.is_empty()).collect();
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// A path with its query, `?` only when there is one.
pub fn with_query(path: &str, pairs: &[(&str, &str)]) -> String {
    match query(pairs) {
        q if q.is_empty() => path.to_owned(),
        q => format!("{path}?{q}"),
    }
}

#[cfg(test)]
mod tests {
    use shop_contracts::money::Currency;

    use super::*;

    fn usd(minor: i64) -> Money {
        Money {
            amount_minor: minor,
            currency: Currency::parse("USD").unwrap(),
        }
    }

    #[test]
    fn prices_read_like_prices() {
        assert_eq!(price(&usd(1999)), "$19.99");
        assert_eq!(price(&usd(5)), "$0.05");
        assert_eq!(price(&usd(123_456_700)), "$1,234,567.00");
    }

    #[test]
    fn typed_amounts_become_minor_units() {
        assert_eq!(parse_amount("12"), Some(1200));
        assert_eq!(parse_amount("12.5"), Some(1250));
        assert_eq!(parse_amount(" 0.99 "), Some(99));
        for bad in ["", "-1", "1.234", "abc", "1e3", "9999999999"] {
            assert_eq!(parse_amount(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn stock_states() {
        assert_eq!(Availability::of(0), Availability::OutOfStock);
        assert_eq!(Availability::of(3).label(), "Only 3 left");
        assert_eq!(Availability::of(6), Availability::InStock);
    }

    #[test]
    fn only_match_marks_survive_highlighting() {
        let marked = "&lt;script&gt; <em>Head</em>phones &amp; <b>x</b> <em>open";
        assert_eq!(
            Highlighted::from_marked(marked).to_string(),
            "&lt;script&gt; <em>Head</em>phones &amp; &lt;b&gt;x&lt;/b&gt; <em>open</em>"
        );
        assert_eq!(Highlighted::from_marked("a</em>b").to_string(), "ab");
        assert_eq!(
            Highlighted::plain("<img onerror=x>").to_string(),
            "&lt;img onerror=x&gt;"
        );
        assert_eq!(Highlighted::plain("\"'&").to_string(), "&quot;&#39;&amp;");
    }
}
