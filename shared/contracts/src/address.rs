//! The shipping address, one contract for every service: the user service keeps an account's
//! addresses in it and checkout takes it, so a saved address can be sent to checkout as it is.
//! Each part is its own type, checked when it is read; the optional parts are left out of the
//! JSON when absent, and read as absent when left out or `null`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{bounded_text, newtype::LetterCode, text_newtype};

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
#[derive(Debug, Clone, PartialEq, Eq, Hash, ToSchema)]
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
}

text_newtype!(PostalCode, PostalCodeError);

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

/// An ISO 3166-1 alpha-2 country code such as `DE`: upper-case, and one of the assigned codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ToSchema)]
#[schema(value_type = String, pattern = "^[A-Z]{2}$", example = "DE")]
pub struct CountryCode(LetterCode<2>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be an upper-case ISO 3166-1 alpha-2 country code, like DE or US")]
pub struct CountryCodeError;

impl CountryCode {
    pub fn parse(code: &str) -> Result<Self, CountryCodeError> {
        LetterCode::parse(code)
            .filter(|_| COUNTRIES.binary_search(&code).is_ok())
            .map(Self)
            .ok_or(CountryCodeError)
    }
}

text_newtype!(CountryCode, CountryCodeError);

/// A phone number for the courier: an optional leading `+`, then digits with the usual
/// separators (spaces, hyphens, dots, parentheses); 5 to 15 digits, as E.164 allows.
#[derive(Debug, Clone, PartialEq, Eq, Hash, ToSchema)]
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
}

text_newtype!(PhoneNumber, PhoneNumberError);

/// A complete, valid shipping address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub recipient: Recipient,
    pub line1: AddressLine,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line2: Option<AddressLine>,
    pub city: City,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
    pub postal_code: PostalCode,
    pub country: CountryCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<PhoneNumber>,
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn complete() -> Value {
        json!({
            "recipient": "Ada Lovelace", "line1": "12 St James's Square", "line2": "Flat 3",
            "city": "London", "region": "Greater London", "postal_code": "SW1Y 4JH", "country": "GB",
            "phone": "+44 20 7946 0958",
        })
    }

    #[test]
    fn country_codes_are_the_assigned_upper_case_ones() {
        assert!(COUNTRIES.is_sorted(), "binary search needs a sorted list");
        for ok in ["DE", "US", "GB", "JP", "ZW", "AD"] {
            assert_eq!(CountryCode::parse(ok).unwrap().as_str(), ok);
        }
        for bad in ["de", "Us", "XX", "ZZ", "UK", "EU", "D", "DEU", "", " DE", "1A"] {
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
        let mut json = json!({
            "recipient": "Ada Lovelace", "line1": "12 St James's Square", "city": "London",
            "postal_code": "sw1y 4jh", "country": "GB",
        });
        let address: Address = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(address.postal_code.as_str(), "SW1Y 4JH");
        assert_eq!(address.line2, None);
        for (field, bad) in [
            ("country", "gb"),
            ("country", "ZZ"),
            ("recipient", "  "),
            ("postal_code", "1"),
        ] {
            let mut refused = json.clone();
            refused[field] = bad.into();
            assert!(serde_json::from_value::<Address>(refused).is_err(), "{field}: {bad:?}");
        }
        json["floor"] = "3".into();
        assert!(serde_json::from_value::<Address>(json).is_err());
    }

    #[test]
    fn an_address_round_trips_and_leaves_absent_parts_out() {
        let address: Address = serde_json::from_value(complete()).unwrap();
        assert_eq!(serde_json::to_value(&address).unwrap(), complete());

        // As a saved address is listed: absent parts as null. Read back, they are left out.
        let mut listed = complete();
        for optional in ["line2", "region", "phone"] {
            listed[optional] = Value::Null;
        }
        let address: Address = serde_json::from_value(listed).unwrap();
        let written = serde_json::to_value(&address).unwrap();
        assert_eq!(
            written,
            json!({
                "recipient": "Ada Lovelace", "line1": "12 St James's Square", "city": "London",
                "postal_code": "SW1Y 4JH", "country": "GB",
            })
        );
        assert_eq!(serde_json::from_value::<Address>(written).unwrap(), address);
    }
}
