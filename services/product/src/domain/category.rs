//! Categories group products; shoppers and URLs know them by slug.

use shop_contracts::{bounded_text, text_newtype};
use utoipa::ToSchema;

bounded_text!(
    /// A category's display name.
    pub CategoryName, 1, 80
);

bounded_text!(
    /// A short text shown on the category page.
    pub CategoryDescription, 0, 500, multiline = true
);

/// URL-safe category identifier: lower-case letters, digits and single hyphens, e.g. `home-office`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, ToSchema)]
#[schema(value_type = String, pattern = "^[a-z0-9]+(-[a-z0-9]+)*$", max_length = 64, example = "kitchen")]
pub struct CategorySlug(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("must be 1 to 64 lower-case letters, digits and single hyphens, like `home-office`")]
pub struct InvalidSlug;

impl CategorySlug {
    pub fn parse(input: &str) -> Result<Self, InvalidSlug> {
        let valid = (1..=64).contains(&input.len())
            && input
                .split('-')
                .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        if valid {
            Ok(Self(input.to_owned()))
        } else {
            Err(InvalidSlug)
        }
    }
}

text_newtype!(CategorySlug, InvalidSlug);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lower_case_words_joined_by_single_hyphens() {
        for good in ["kitchen", "home-office", "3d-printing", "a"] {
            assert!(CategorySlug::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Kitchen",
            "home--office",
            "-home",
            "home-",
            "home office",
            "café",
            &"a".repeat(65),
        ] {
            assert_eq!(CategorySlug::parse(bad), Err(InvalidSlug), "{bad:?}");
        }
    }
}
