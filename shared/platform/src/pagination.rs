//! Keyset (cursor) pagination: the client gets an opaque cursor naming the last row it saw,
//! and the next page starts strictly after it — stable under inserts, and as fast on page
//! 1,000 as on page 1.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Serialize, de::DeserializeOwned};

use crate::error::ApiError;

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

/// Encodes a position (the sort key and id of the last row) as an opaque string.
pub fn encode_cursor<T: Serialize>(position: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(position).expect("cursor serializes"))
}

/// Longest cursor accepted; the longest position (a product name and an id) is far shorter.
const MAX_CURSOR_LENGTH: usize = 1024;

/// Decodes a cursor from [`encode_cursor`]; anything else is a 422 on `cursor`. Cursors are
/// not signed, so they are checked in full: bounded in length, valid base64 of JSON of the
/// position's shape, no NUL anywhere, and exactly the text [`encode_cursor`] writes for that
/// position (no extra fields, no other spelling).
pub fn decode_cursor<T: Serialize + DeserializeOwned>(cursor: &str) -> Result<T, ApiError> {
    let invalid = || ApiError::invalid("cursor", "is not a cursor returned by this endpoint");
    if cursor.len() > MAX_CURSOR_LENGTH {
        return Err(invalid());
    }
    let json = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    if crate::input::json_has_nul(&json) {
        return Err(invalid());
    }
    let position: T = serde_json::from_slice(&json).map_err(|_| invalid())?;
    if encode_cursor(&position) != cursor {
        return Err(invalid());
    }
    Ok(position)
}

/// The page size asked for, checked against the bounds.
pub fn limit(requested: Option<u32>) -> Result<u32, ApiError> {
    match requested.unwrap_or(DEFAULT_LIMIT) {
        n @ 1..=MAX_LIMIT => Ok(n),
        _ => Err(ApiError::invalid("limit", format!("must be between 1 and {MAX_LIMIT}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_a_validation_error() {
        let cursor = encode_cursor(&(1999_i64, "abc"));
        assert_eq!(decode_cursor::<(i64, String)>(&cursor).unwrap(), (1999, "abc".into()));
        assert!(matches!(
            decode_cursor::<(i64, String)>("!!"),
            Err(ApiError::Validation(_))
        ));
        assert!(matches!(
            decode_cursor::<(i64, String)>(&encode_cursor(&"x")),
            Err(ApiError::Validation(_))
        ));
    }

    #[test]
    fn cursors_with_a_nul_extra_fields_or_another_spelling_are_refused() {
        let forged = |json: &str| URL_SAFE_NO_PAD.encode(json);
        for cursor in [
            forged(r#"[1999,"a\u0000b"]"#),
            forged(r#"[1999, "abc"]"#),
            forged(r#"[1999,"abc",3]"#),
            "A".repeat(MAX_CURSOR_LENGTH + 4),
        ] {
            assert!(
                matches!(decode_cursor::<(i64, String)>(&cursor), Err(ApiError::Validation(_))),
                "{cursor}"
            );
        }
        assert!(decode_cursor::<(i64, String)>(&forged(r#"[1999,"abc"]"#)).is_ok());
    }

    #[test]
    fn limits_are_bounded() {
        assert_eq!(limit(None).unwrap(), DEFAULT_LIMIT);
        assert_eq!(limit(Some(MAX_LIMIT)).unwrap(), MAX_LIMIT);
        assert!(limit(Some(0)).is_err());
        assert!(limit(Some(MAX_LIMIT + 1)).is_err());
    }
}
