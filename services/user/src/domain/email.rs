//! E-mail addresses as accounts are known by: a sane syntax check, not full RFC 5322 (quoted
//! local parts, comments and IP-literal domains are refused; nobody signs up to a shop with
//! them). Kept as entered apart from trimming and Unicode normalization (NFC); compared
//! case-insensitively.
//!
//! Look-alikes are refused: no word of the address (a domain label, or a piece of the local
//! part between `.`, `+`, `-` and `_`) may mix scripts (UTS #39's single-script test), so
//! `pаypal@example.com` with a Cyrillic `а` is no account; and `zoë` typed as `o` + a combining
//! diaeresis is the same account as `zoë` typed as one character.

use shop_contracts::text_newtype;
use unicode_normalization::UnicodeNormalization;
use unicode_security::MixedScript;
use utoipa::ToSchema;

pub const MAX_LENGTH: usize = 254;
pub const MAX_LOCAL_PART_LENGTH: usize = 64;
const MAX_LABEL_LENGTH: usize = 63;
/// Characters that only appear in the quoted or commented forms this type refuses.
const FORBIDDEN: &[char] = &['"', '(', ')', ',', ':', ';', '<', '>', '[', '\\', ']'];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {MAX_LENGTH} characters")]
    TooLong,
    #[error("must not contain spaces or control characters")]
    Whitespace,
    #[error("must contain exactly one @")]
    At,
    #[error("must have a name before the @ of at most {MAX_LOCAL_PART_LENGTH} characters")]
    LocalPart,
    #[error("must have a domain like example.com after the @")]
    Domain,
    #[error("must not contain quotes, brackets, commas, colons, semicolons or backslashes")]
    Forbidden,
    #[error("must not mix scripts within a word (such as Latin and Cyrillic letters), as look-alike addresses do")]
    MixedScript,
}

/// A syntactically sane e-mail address.
#[derive(Debug, Clone, ToSchema)]
#[schema(value_type = String, format = Email, max_length = 254, example = "ada@example.com")]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let email: String = input.trim().nfc().collect();
        let email = email.as_str();
        if email.is_empty() {
            return Err(EmailError::Empty);
        }
        if email.chars().count() > MAX_LENGTH {
            return Err(EmailError::TooLong);
        }
        if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EmailError::Whitespace);
        }
        if email.contains(FORBIDDEN) {
            return Err(EmailError::Forbidden);
        }
        let Some((local, domain)) = email.split_once('@') else {
            return Err(EmailError::At);
        };
        if domain.contains('@') {
            return Err(EmailError::At);
        }
        if !valid_local_part(local) {
            return Err(EmailError::LocalPart);
        }
        if !valid_domain(domain) {
            return Err(EmailError::Domain);
        }
        let words = local.split(['.', '+', '-', '_']).chain(domain.split('.'));
        if !words.into_iter().all(MixedScript::is_single_script) {
            return Err(EmailError::MixedScript);
        }
        Ok(Self(email.to_owned()))
    }

    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        self.0.split_once('@').map_or(&self.0, |(local, _)| local)
    }

    /// The form addresses are compared in.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

fn valid_local_part(local: &str) -> bool {
    !local.is_empty()
        && local.chars().count() <= MAX_LOCAL_PART_LENGTH
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
}

fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.chars().count() <= MAX_LABEL_LENGTH
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels.last().is_some_and(|tld| tld.chars().count() >= 2)
}

impl PartialEq for Email {
    fn eq(&self, other: &Self) -> bool {
        self.normalized() == other.normalized()
    }
}

impl Eq for Email {}

text_newtype!(Email, EmailError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses_and_trims_them() {
        for ok in [
            "ada@example.com",
            "a.b+tag@mail.example.co.uk",
            "x_y-z@sub-domain.io",
            "zoë@exämple.de",
        ] {
            assert_eq!(Email::parse(ok).unwrap().as_str(), ok);
        }
        assert_eq!(
            Email::parse("  Ada@Example.com \n").unwrap().as_str(),
            "Ada@Example.com"
        );
    }

    #[test]
    fn compares_case_insensitively_but_keeps_the_case_it_was_given() {
        let mixed = Email::parse("Ada@Example.COM").unwrap();
        assert_eq!(mixed, Email::parse("ada@example.com").unwrap());
        assert_eq!(mixed.normalized(), "ada@example.com");
        assert_eq!(mixed.to_string(), "Ada@Example.COM");
    }

    #[test]
    fn look_alike_addresses_are_refused_and_one_spelling_is_one_account() {
        for spoof in [
            "p\u{430}ypal@example.com", // Cyrillic а
            "ada@ex\u{430}mple.com",
            "\u{3b1}da@example.com", // Greek α
            "ada@example.c\u{3bf}m", // Greek ο
        ] {
            assert_eq!(Email::parse(spoof), Err(EmailError::MixedScript), "{spoof:?}");
        }
        for ok in [
            "иван.ada@example.com",
            "ada+иван@example.com",
            "иван@пример.рф",
            "山田たろう@example.jp",
            "ada2024@example.com",
        ] {
            assert!(Email::parse(ok).is_ok(), "{ok:?}");
        }
        let composed = Email::parse("zo\u{eb}@example.com").unwrap();
        let decomposed = Email::parse("zoe\u{308}@example.com").unwrap();
        assert_eq!(decomposed.as_str(), "zo\u{eb}@example.com");
        assert_eq!(composed.normalized(), decomposed.normalized());
    }

    #[test]
    fn the_local_part_is_what_comes_before_the_at() {
        assert_eq!(
            Email::parse("ada.lovelace@example.com").unwrap().local_part(),
            "ada.lovelace"
        );
    }

    #[test]
    fn refuses_what_is_not_an_address() {
        let cases = [
            ("", EmailError::Empty),
            ("   ", EmailError::Empty),
            ("ada.example.com", EmailError::At),
            ("ada@b@example.com", EmailError::At),
            ("@example.com", EmailError::LocalPart),
            (".ada@example.com", EmailError::LocalPart),
            ("ada.@example.com", EmailError::LocalPart),
            ("a..da@example.com", EmailError::LocalPart),
            ("ada@", EmailError::Domain),
            ("ada@localhost", EmailError::Domain),
            ("ada@example.", EmailError::Domain),
            ("ada@.example.com", EmailError::Domain),
            ("ada@exa..mple.com", EmailError::Domain),
            ("ada@-example.com", EmailError::Domain),
            ("ada@example.c", EmailError::Domain),
            ("ada@exa_mple.com", EmailError::Domain),
            ("a da@example.com", EmailError::Whitespace),
            ("ada@exam\tple.com", EmailError::Whitespace),
            ("ada\u{0}@example.com", EmailError::Whitespace),
            ("\"ada\"@example.com", EmailError::Forbidden),
            ("ada@[127.0.0.1]", EmailError::Forbidden),
        ];
        for (input, expected) in cases {
            assert_eq!(Email::parse(input), Err(expected), "{input:?}");
        }
    }

    #[test]
    fn enforces_the_length_limits() {
        let local = "a".repeat(MAX_LOCAL_PART_LENGTH);
        assert!(Email::parse(&format!("{local}@example.com")).is_ok());
        assert_eq!(
            Email::parse(&format!("{local}a@example.com")),
            Err(EmailError::LocalPart)
        );

        let label = "d".repeat(MAX_LABEL_LENGTH);
        let longest_domain = format!("{label}.{label}.{label}.{}.com", "d".repeat(56));
        let longest = format!("a@{longest_domain}");
        assert_eq!(longest.len(), MAX_LENGTH);
        assert!(Email::parse(&longest).is_ok());
        assert_eq!(Email::parse(&format!("ab@{longest_domain}")), Err(EmailError::TooLong));
        assert_eq!(
            Email::parse(&format!("a@{}.com", "d".repeat(64))),
            Err(EmailError::Domain)
        );
    }

    #[test]
    fn deserializing_validates() {
        let email: Email = serde_json::from_str("\" ada@example.com \"").unwrap();
        assert_eq!(email.as_str(), "ada@example.com");
        assert!(serde_json::from_str::<Email>("\"nope\"").is_err());
    }
}
