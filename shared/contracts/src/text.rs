//! Bounded, trimmed text: the building block of most domain newtypes (names, address lines,
//! descriptions). Input is trimmed; it must then have `min..=max` characters and no control
//! characters (newlines and tabs are allowed where `multiline` is set).

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at least {0} characters")]
    TooShort(usize),
    #[error("must be at most {0} characters")]
    TooLong(usize),
    #[error("must not contain control characters")]
    ControlCharacter,
}

/// Trims `input` and checks it against the bounds.
pub fn bounded(input: &str, min: usize, max: usize, multiline: bool) -> Result<String, TextError> {
    let trimmed = input.trim();
    let length = trimmed.chars().count();
    if length == 0 && min > 0 {
        return Err(TextError::Empty);
    }
    if length < min {
        return Err(TextError::TooShort(min));
    }
    if length > max {
        return Err(TextError::TooLong(max));
    }
    let allowed = |c: char| !c.is_control() || (multiline && (c == '\n' || c == '\t' || c == '\r'));
    if !trimmed.chars().all(allowed) {
        return Err(TextError::ControlCharacter);
    }
    Ok(trimmed.to_owned())
}

/// The JSON schema of what [`bounded`] accepts, exactly: a pattern, since the bounds count
/// characters after trimming (a length limit on the raw string would be stricter than the
/// validator for a value with spaces around it).
pub fn schema(min: usize, max: usize, multiline: bool) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    // What `str::trim` removes (Unicode White_Space), and the control characters refused.
    const SPACE: &str = r"\t-\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";
    let control = if multiline {
        r"\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F"
    } else {
        r"\u0000-\u001F\u007F-\u009F"
    };
    let edge = format!("[^{SPACE}{control}]");
    let inner = format!("[^{control}]");
    // The trimmed text: empty, one character, or an edge, inner characters and an edge.
    let text = match (min, max) {
        (_, 0) => String::new(),
        (0 | 1, 1) => edge.clone(),
        (0 | 1, max) => format!("{edge}(?:{inner}{{0,{}}}{edge})?", max - 2),
        (min, max) => format!("{edge}{inner}{{{},{}}}{edge}", min - 2, max - 2),
    };
    let text = if min == 0 && max > 0 {
        format!("(?:{text})?")
    } else {
        text
    };
    let what = if multiline {
        "line breaks and tabs allowed"
    } else {
        "no control characters"
    };
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(Some(format!("^[{SPACE}]*{text}[{SPACE}]*$")))
        .description(Some(format!(
            "{min} to {max} characters once spaces around it are trimmed; {what}"
        )))
        .into()
}

/// Defines a string newtype accepted only through [`bounded`], with the glue of
/// [`text_newtype!`](crate::text_newtype): deserializing it validates it, so a handler never
/// sees an invalid value.
///
/// ```ignore
/// bounded_text!(
///     /// A person's name as shown in the shop.
///     pub DisplayName, 1, 80
/// );
/// ```
#[macro_export]
macro_rules! bounded_text {
    ($(#[$meta:meta])* $vis:vis $name:ident, $min:expr, $max:expr $(, multiline = $multiline:expr)?) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        $vis struct $name(::std::string::String);

        // Written by hand: utoipa's derive cannot read bounds passed through a macro.
        impl $crate::__private::utoipa::PartialSchema for $name {
            fn schema() -> $crate::__private::utoipa::openapi::RefOr<$crate::__private::utoipa::openapi::schema::Schema> {
                $crate::text::schema($min, $max, false $(|| $multiline)?)
            }
        }

        impl $crate::__private::utoipa::ToSchema for $name {}

        impl $name {
            pub const MIN: usize = $min;
            pub const MAX: usize = $max;

            pub fn parse(input: &str) -> ::core::result::Result<Self, $crate::text::TextError> {
                $crate::text::bounded(input, $min, $max, false $(|| $multiline)?).map(Self)
            }
        }

        $crate::text_newtype!($name, $crate::text::TextError);
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_checks_bounds_in_characters_not_bytes() {
        assert_eq!(bounded("  Zoë  ", 1, 3, false).unwrap(), "Zoë");
        assert_eq!(bounded("   ", 1, 10, false), Err(TextError::Empty));
        assert_eq!(bounded("ab", 3, 10, false), Err(TextError::TooShort(3)));
        assert_eq!(bounded("abcd", 1, 3, false), Err(TextError::TooLong(3)));
        assert_eq!(bounded("", 0, 3, false).unwrap(), "");
    }

    #[test]
    fn control_characters_only_where_multiline() {
        assert_eq!(bounded("a\u{0}b", 1, 10, false), Err(TextError::ControlCharacter));
        assert_eq!(bounded("a\nb", 1, 10, false), Err(TextError::ControlCharacter));
        assert_eq!(bounded("a\nb", 1, 10, true).unwrap(), "a\nb");
    }
}
