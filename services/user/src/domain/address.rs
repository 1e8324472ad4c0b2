//! Shipping addresses: each part is its own type, checked when it is read, and a user keeps
//! at most [`MAX_PER_USER`] of them.

use std::fmt;

use serde::{Deserialize, Serialize};
use shop_platform::bounded_text;
use utoipa::ToSchema;

/// Enough for home, work and a few relatives; bounds the rows one account can create.
pub const MAX_PER_USER: i64 = 20;

bounded_text!(
    /// Who the parcel is for.
    pub Recipient, 1, 100
);

bounded_text!(
    /// One line of a street address.
    pub AddressLine, 1, 200
);

bounded_text!(
    pub City, 1, 100
);

bounded_text!(
    /// State, province, county or prefecture, where the country uses one.
    pub Region, 1, 100
);

/// A postal code: letters, digits, spaces and hyphens, stored upper-case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, min_length = 2, max_length = 12, example = "SW1A 1AA")]
pub struct PostalCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostalCodeError {
    #[error("must be 2 to 12 characters")]
    Length,
    #[error("may contain only letters, digits, spaces and hyphens")]
    Character,
}

impl PostalCode {
    pub fn parse(input: &str) -> Result<Self, PostalCodeError> {
        let code = input.trim();
        if !(2..=12).contains(&code.chars().count()) {
            return Err(PostalCodeError::Length);
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || c == ' ' || c == '-';
        if !code.chars().all(allowed) || !code.chars().any(|c| c.is_ascii_alphanumeric()) {
            return Err(PostalCodeError::Character);
        }
        Ok(Self(code.to_ascii_uppercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PostalCode {
    type Error = PostalCodeError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PostalCode> for String {
    fn from(code: PostalCode) -> Self {
        code.0
    }
}

/// Every officially assigned ISO 3166-1 alpha-2 code, sorted.
const COUNTRIES: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ", "BA", "BB", "BD",
    "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY", "BZ", "CA",
    "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE",
    "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA",
    "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK",
    "HM", "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO", "JP",
    "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT",
    "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS",
    "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ",
    "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS",
    "RU", "RW", "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS", "ST",
    "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW",
    "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI", "VN", "VU", "WF", "WS", "YE", "YT", "ZA",
    "ZM", "ZW",
];

/// An ISO 3166-1 alpha-2 country code such as `DE`, upper-case.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, pattern = "^[A-Z]{2}$", example = "DE")]
pub struct CountryCode([u8; 2]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be an upper-case ISO 3166-1 alpha-2 country code, like DE or US")]
pub struct CountryCodeError;

impl CountryCode {
    pub fn parse(code: &str) -> Result<Self, CountryCodeError> {
        match code.as_bytes() {
            &[a, b] if COUNTRIES.binary_search(&code).is_ok() => Ok(Self([a, b])),
            _ => Err(CountryCodeError),
        }
    }

    pub fn as_str(&self) -> &str {
        // Only codes from the list, all ASCII, are ever stored.
        std::str::from_utf8(&self.0).expect("country codes are ASCII")
    }
}

impl TryFrom<String> for CountryCode {
    type Error = CountryCodeError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CountryCode> for String {
    fn from(code: CountryCode) -> Self {
        code.as_str().to_owned()
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountryCode({})", self.as_str())
    }
}

/// A phone number for the courier: an optional leading `+`, then digits with the usual
/// separators (spaces, hyphens, dots, parentheses); 5 to 15 digits, as E.164 allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, min_length = 5, max_length = 25, example = "+44 20 7946 0958")]
pub struct PhoneNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be a phone number of 5 to 15 digits, optionally starting with + (at most 25 characters)")]
pub struct PhoneNumberError;

impl PhoneNumber {
    pub fn parse(input: &str) -> Result<Self, PhoneNumberError> {
        let phone = input.trim();
        let rest = phone.strip_prefix('+').unwrap_or(phone);
        let separator = |c: char| matches!(c, ' ' | '-' | '.' | '(' | ')');
        let digits = rest.chars().filter(char::is_ascii_digit).count();
        let well_formed = rest.chars().all(|c| c.is_ascii_digit() || separator(c));
        if !well_formed || !(5..=15).contains(&digits) || phone.len() > 25 {
            return Err(PhoneNumberError);
        }
        Ok(Self(phone.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = PhoneNumberError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PhoneNumber> for String {
    fn from(phone: PhoneNumber) -> Self {
        phone.0
    }
}

/// A complete, valid shipping address.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub recipient: Recipient,
    pub line1: AddressLine,
    pub line2: Option<AddressLine>,
    pub city: City,
    pub region: Option<Region>,
    pub postal_code: PostalCode,
    pub country: CountryCode,
    pub phone: Option<PhoneNumber>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_codes_are_the_assigned_upper_case_ones() {
        assert!(COUNTRIES.is_sorted(), "binary search needs a sorted list");
        for ok in ["DE", "US", "GB", "JP", "ZW", "AD"] {
            assert_eq!(CountryCode::parse(ok).unwrap().as_str(), ok);
        }
        for bad in ["de", "Us", "XX", "UK", "EU", "D", "DEU", "", " DE"] {
            assert_eq!(CountryCode::parse(bad), Err(CountryCodeError), "{bad:?}");
        }
    }

    #[test]
    fn postal_codes_are_trimmed_and_upper_cased() {
        assert_eq!(PostalCode::parse(" sw1a 1aa ").unwrap().as_str(), "SW1A 1AA");
        for ok in ["10115", "12345-6789", "K1A 0B1", "100"] {
            assert!(PostalCode::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(PostalCode::parse("1"), Err(PostalCodeError::Length));
        assert_eq!(PostalCode::parse("1234567890123"), Err(PostalCodeError::Length));
        assert_eq!(PostalCode::parse("   "), Err(PostalCodeError::Length));
        assert_eq!(PostalCode::parse("12_45"), Err(PostalCodeError::Character));
        assert_eq!(PostalCode::parse("--"), Err(PostalCodeError::Character));
        assert_eq!(PostalCode::parse("1234é"), Err(PostalCodeError::Character));
    }

    #[test]
    fn phone_numbers_need_enough_digits_and_nothing_else() {
        for ok in [
            "+44 20 7946 0958",
            "(030) 123-4567",
            "030.1234567",
            "12345",
            "+123456789012345",
        ] {
            assert_eq!(PhoneNumber::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "1234",
            "+1234567890123456",
            "call me",
            "12345x",
            "++12345",
            "123+45",
            "",
            "1 2 3 4 5 6 7 8 9 0 1 2 3 4",
        ] {
            assert_eq!(PhoneNumber::parse(bad), Err(PhoneNumberError), "{bad:?}");
        }
    }

    #[test]
    fn address_lines_are_bounded_text() {
        assert_eq!(AddressLine::parse("  1 Main St  ").unwrap().as_str(), "1 Main St");
        assert!(AddressLine::parse("").is_err());
        assert!(AddressLine::parse(&"x".repeat(AddressLine::MAX + 1)).is_err());
        assert!(Recipient::parse("Ada\nLovelace").is_err());
    }

    #[test]
    fn an_address_deserializes_only_when_every_part_is_valid() {
        let mut json = serde_json::json!({
            "recipient": "Ada Lovelace", "line1": "12 St James's Square", "city": "London",
            "postal_code": "sw1y 4jh", "country": "GB",
        });
        let address: Address = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(address.postal_code.as_str(), "SW1Y 4JH");
        assert_eq!(address.line2, None);
        json["country"] = "gb".into();
        assert!(serde_json::from_value::<Address>(json.clone()).is_err());
        json["country"] = "GB".into();
        json["extra"] = "field".into();
        assert!(serde_json::from_value::<Address>(json).is_err());
    }
}
