//! Bounded, trimmed text: the building block of most domain newtypes (names, address lines,
//! descriptions). Input is trimmed; it must then have `min..=max` characters, begin with a
//! visible character, and hold no control characters (newlines and tabs are allowed where
//! `multiline` is set) and no bidirectional controls.
//!
//! The last two rules are against spoofing: a name made only of zero-width characters or
//! Hangul fillers shows as nothing, and an override or isolate (U+202A–U+202E,
//! U+2066–U+2069) reorders the text shown after it. Right-to-left scripts need neither: the
//! Unicode bidirectional algorithm lays them out by itself.

use std::ops::RangeInclusive;

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
    #[error("must begin with a visible character")]
    Invisible,
    #[error("must not contain bidirectional control characters (U+202A-U+202E, U+2066-U+2069)")]
    BidiControl,
}

const BIDI_CONTROLS: [RangeInclusive<char>; 2] = ['\u{202A}'..='\u{202E}', '\u{2066}'..='\u{2069}'];

/// The default-ignorable code points of the Basic Multilingual Plane (Unicode's
/// `Default_Ignorable_Code_Point`: zero-width and format characters, variation selectors,
/// Hangul fillers), which render as nothing. The few outside the BMP (tag characters,
/// musical formatting) are left out: the JSON Schema pattern, which must describe exactly
/// what is accepted, cannot name them in a form both ECMA-262 and Python regular expressions
/// read.
const INVISIBLE: [RangeInclusive<char>; 14] = [
    '\u{00AD}'..='\u{00AD}',
    '\u{034F}'..='\u{034F}',
    '\u{061C}'..='\u{061C}',
    '\u{115F}'..='\u{1160}',
    '\u{17B4}'..='\u{17B5}',
    '\u{180B}'..='\u{180F}',
    '\u{200B}'..='\u{200F}',
    '\u{202A}'..='\u{202E}',
    '\u{2060}'..='\u{206F}',
    '\u{3164}'..='\u{3164}',
    '\u{FE00}'..='\u{FE0F}',
    '\u{FEFF}'..='\u{FEFF}',
    '\u{FFA0}'..='\u{FFA0}',
    '\u{FFF0}'..='\u{FFF8}',
];

fn in_any(ranges: &[RangeInclusive<char>], c: char) -> bool {
    ranges.iter().any(|range| range.contains(&c))
}

/// `ranges` as the inside of a regular-expression character class.
fn class(ranges: &[RangeInclusive<char>]) -> String {
    let code = |c: char| format!("\\u{:04X}", u32::from(c));
    ranges
        .iter()
        .map(|range| match (*range.start(), *range.end()) {
            (start, end) if start == end => code(start),
            (start, end) => format!("{}-{}", code(start), code(end)),
        })
        .collect()
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
    if trimmed.chars().any(|c| in_any(&BIDI_CONTROLS, c)) {
        return Err(TextError::BidiControl);
    }
    if trimmed.chars().next().is_some_and(|c| in_any(&INVISIBLE, c)) {
        return Err(TextError::Invisible);
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
    let (bidi, invisible) = (class(&BIDI_CONTROLS), class(&INVISIBLE));
    let first = format!("[^{SPACE}{control}{invisible}]");
    let last = format!("[^{SPACE}{control}{bidi}]");
    let inner = format!("[^{control}{bidi}]");
    // The trimmed text: empty, one character, or a first, inner characters and a last.
    let text = match (min, max) {
        (_, 0) => String::new(),
        (0 | 1, 1) => first,
        (0 | 1, max) => format!("{first}(?:{inner}{{0,{}}}{last})?", max - 2),
        (min, max) => format!("{first}{inner}{{{},{}}}{last}", min - 2, max - 2),
    };
    let text = if min == 0 && max > 0 {
        format!("(?:{text})?")
    } else {
        text
    };
    let what = if multiline {
        "line breaks and tabs allowed, no other control characters"
    } else {
        "no control characters"
    };
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(Some(format!("^[{SPACE}]*{text}[{SPACE}]*$")))
        .description(Some(format!(
            "{min} to {max} characters once spaces around it are trimmed, beginning with a visible \
             character; {what} and no bidirectional controls"
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

    #[test]
    fn text_that_shows_as_nothing_or_reorders_is_refused() {
        for blank in [
            "\u{200B}",
            "\u{200B}\u{200C}\u{200D}",
            "\u{3164}\u{3164}",
            "\u{FEFF}Ada",
            "\u{2060}x",
        ] {
            assert_eq!(bounded(blank, 1, 10, false), Err(TextError::Invisible), "{blank:?}");
        }
        for spoof in ["\u{202E}gnp.exe", "Ada\u{2066}", "a\u{202A}b", "\u{2069}"] {
            assert_eq!(bounded(spoof, 1, 10, true), Err(TextError::BidiControl), "{spoof:?}");
        }
        // Joiners and variation selectors inside or after visible text are ordinary text.
        for ok in ["❤\u{FE0F}", "👩\u{200D}💻", "Ada\u{200B}", "שלום", "مرحبا"] {
            assert_eq!(bounded(ok, 1, 10, false).unwrap(), ok);
        }
    }

    #[test]
    fn the_schema_pattern_accepts_exactly_what_the_validator_does() {
        let utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Object(schema)) = schema(1, 10, false) else {
            panic!("a string schema");
        };
        let pattern = regex::Regex::new(&schema.pattern.unwrap()).unwrap();
        for input in [
            "Ada",
            " Ada ",
            "\u{200B}",
            "\u{200B}Ada",
            "Ada\u{200B}",
            "\u{202E}x",
            "x\u{2066}",
            "a\u{0}b",
            "❤\u{FE0F}",
            "",
            "  ",
            "abcdefghijk",
            "\u{3164}",
            "\u{00AD}x",
        ] {
            assert_eq!(
                pattern.is_match(input),
                bounded(input, 1, 10, false).is_ok(),
                "{input:?}"
            );
        }
    }
}
