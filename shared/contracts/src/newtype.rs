//! The glue every validated text newtype needs, written once. A newtype states only its rule —
//! a `parse(&str) -> Result<Self, Error>` and its schema — and [`text_newtype!`] gives it the
//! rest, the same way for every such type in the workspace.

use std::fmt;

/// Gives `$name`, a tuple struct whose one field holds its valid text (a `String`, or a
/// [`LetterCode`]), everything besides its rule `Self::parse(&str) -> Result<Self, $error>`:
/// `as_str`, `TryFrom<String>` (through `parse`), `From<$name> for String`, `Display`, and
/// serde as a JSON string that is parsed on the way in, so a handler never sees an invalid
/// value and a refused one is reported with `$error`'s message.
///
/// `secret $name` gives a secret (a password) only what it needs and nothing that could print
/// it: `TryFrom<String>`, deserializing, `expose_secret`, and a `Debug` that shows no text.
///
/// ```ignore
/// #[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
/// #[schema(value_type = String, pattern = "^[A-Z0-9-]{3,32}$")]
/// pub struct Sku(String);
/// text_newtype!(Sku, InvalidSku);
/// ```
#[macro_export]
macro_rules! text_newtype {
    ($name:ident, $error:ty) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                ::core::convert::AsRef::<str>::as_ref(&self.0)
            }
        }

        impl ::core::convert::TryFrom<::std::string::String> for $name {
            type Error = $error;
            fn try_from(value: ::std::string::String) -> ::core::result::Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl ::core::convert::From<$name> for ::std::string::String {
            fn from(value: $name) -> Self {
                ::std::string::String::from(value.0)
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::__private::serde::Serialize for $name {
            fn serialize<S: $crate::__private::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        $crate::text_newtype!(@deserialize $name);
    };
    (secret $name:ident, $error:ty) => {
        impl $name {
            pub fn expose_secret(&self) -> &str {
                &self.0
            }
        }

        impl ::core::convert::TryFrom<::std::string::String> for $name {
            type Error = $error;
            fn try_from(value: ::std::string::String) -> ::core::result::Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl ::core::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(::core::concat!(::core::stringify!($name), "(<redacted>)"))
            }
        }

        $crate::text_newtype!(@deserialize $name);
    };
    (@deserialize $name:ident) => {
        impl<'de> $crate::__private::serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__private::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::core::result::Result<Self, D::Error> {
                let text = <::std::string::String as $crate::__private::serde::Deserialize>::deserialize(deserializer)?;
                Self::try_from(text).map_err(<D::Error as $crate::__private::serde::de::Error>::custom)
            }
        }
    };
}

/// `N` upper-case ASCII letters, held inline so that a code type built on it (a currency, a
/// country) is `Copy`. Its `Debug` is the code itself.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LetterCode<const N: usize>([u8; N]);

impl<const N: usize> LetterCode<N> {
    /// `code` if it is exactly `N` upper-case ASCII letters.
    pub fn parse(code: &str) -> Option<Self> {
        let letters: [u8; N] = code.as_bytes().try_into().ok()?;
        letters.iter().all(u8::is_ascii_uppercase).then_some(Self(letters))
    }
}

impl<const N: usize> AsRef<str> for LetterCode<N> {
    fn as_ref(&self) -> &str {
        std::str::from_utf8(&self.0).expect("only ASCII letters are stored")
    }
}

impl<const N: usize> From<LetterCode<N>> for String {
    fn from(code: LetterCode<N>) -> Self {
        code.as_ref().to_owned()
    }
}

impl<const N: usize> fmt::Debug for LetterCode<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Eq)]
    struct Word(String);

    #[derive(Debug, PartialEq, Eq, thiserror::Error)]
    #[error("must be one lower-case word")]
    struct NotAWord;

    impl Word {
        fn parse(input: &str) -> Result<Self, NotAWord> {
            let valid = !input.is_empty() && input.chars().all(|c| c.is_ascii_lowercase());
            valid.then(|| Self(input.to_owned())).ok_or(NotAWord)
        }
    }

    crate::text_newtype!(Word, NotAWord);

    struct Secret(String);

    impl Secret {
        fn parse(input: &str) -> Result<Self, NotAWord> {
            Word::parse(input).map(|word| Self(word.0))
        }
    }

    crate::text_newtype!(secret Secret, NotAWord);

    #[test]
    fn a_text_newtype_is_a_json_string_parsed_on_the_way_in() {
        let word: Word = serde_json::from_str("\"shop\"").unwrap();
        assert_eq!((word.as_str(), word.to_string()), ("shop", "shop".to_owned()));
        assert_eq!(serde_json::to_string(&word).unwrap(), "\"shop\"");
        assert_eq!(String::from(word), "shop");
        assert_eq!(Word::try_from("Shop".to_owned()), Err(NotAWord));
        let refused = serde_json::from_str::<Word>("\"Shop\"").unwrap_err().to_string();
        assert_eq!(refused, "must be one lower-case word");
        assert!(serde_json::from_str::<Word>("12").is_err());
    }

    #[test]
    fn a_secret_is_read_but_never_shown() {
        let secret: Secret = serde_json::from_str("\"hunter\"").unwrap();
        assert_eq!(secret.expose_secret(), "hunter");
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
        assert!(Secret::try_from("Hunter".to_owned()).is_err());
    }

    #[test]
    fn letter_codes_are_exactly_n_upper_case_letters() {
        let code = LetterCode::<3>::parse("USD").unwrap();
        assert_eq!((code.as_ref(), format!("{code:?}")), ("USD", "USD".to_owned()));
        for bad in ["usd", "US", "USDX", "U$D", "", "ÜSD"] {
            assert_eq!(LetterCode::<3>::parse(bad), None, "{bad:?}");
        }
    }
}
