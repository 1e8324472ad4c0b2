//! Text no service accepts anywhere: the NUL character, which PostgreSQL cannot store in a
//! `text` column (or `jsonb`), so that a query carrying one fails in the database instead of
//! being refused as bad input. It is refused once, where input enters: in the request URI
//! (path and query, by [`refuse_nul_in_uri`], which every service and the gateway mount), in
//! JSON bodies (by [`crate::Json`]) and in cursors (by [`crate::pagination`]).

use axum::{
    extract::Request,
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde_json::Value;

use crate::error::ApiError;

/// Middleware: a request whose path or query carries an encoded NUL (`%00`) is a 422 on the
/// query parameter that holds it (or on `path`), as a NUL in a JSON field is: the request is
/// well-formed, one of its values is not acceptable.
pub async fn refuse_nul_in_uri(request: Request, next: Next) -> Response {
    let has_nul = |text: &str| text.as_bytes().windows(3).any(|w| w == b"%00");
    let uri = request.uri();
    let field = if has_nul(uri.path()) {
        Some("path".to_owned())
    } else {
        uri.query().filter(|query| has_nul(query)).map(|query| {
            form_urlencoded::parse(query.as_bytes())
                .find(|(name, value)| name.contains('\0') || value.contains('\0'))
                .map_or_else(|| "query".to_owned(), |(name, _)| name.replace('\0', "\\0"))
        })
    };
    match field {
        Some(field) => ApiError::invalid(field, "must not contain the NUL character (%00)").into_response(),
        None => next.run(request).await,
    }
}

/// Whether the JSON text `json` has a `\u0000` escape (the only way JSON can carry a NUL): a
/// `u0000` after an odd number of backslashes, so that an escaped backslash followed by
/// `u0000` does not count.
pub fn json_has_nul(json: &[u8]) -> bool {
    let mut backslashes = 0usize;
    for (i, &byte) in json.iter().enumerate() {
        if byte == b'\\' {
            backslashes += 1;
            continue;
        }
        if backslashes % 2 == 1 && json[i..].starts_with(b"u0000") {
            return true;
        }
        backslashes = 0;
    }
    false
}

/// The path (`items[2].name`, `body` for the document itself) of the first string or key in
/// `value` that holds a NUL.
pub fn nul_field(value: &Value) -> Option<String> {
    fn walk(value: &Value, path: &str) -> Option<String> {
        let here = || {
            if path.is_empty() {
                "body".to_owned()
            } else {
                path.to_owned()
            }
        };
        match value {
            Value::String(text) => text.contains('\0').then(here),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, item)| walk(item, &format!("{path}[{i}]"))),
            Value::Object(fields) => fields.iter().find_map(|(key, item)| {
                let field = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                if key.contains('\0') {
                    return Some(here());
                }
                walk(item, &field)
            }),
            _ => None,
        }
    }
    walk(value, "")
}

/// The 422 for a JSON document carrying a NUL; None if it carries none.
pub fn refuse_nul_in_json(json: &[u8]) -> Option<ApiError> {
    if !json_has_nul(json) {
        return None;
    }
    let field = serde_json::from_slice::<Value>(json)
        .ok()
        .and_then(|value| nul_field(&value))
        .unwrap_or_else(|| "body".to_owned());
    Some(ApiError::invalid(field, "must not contain the NUL character"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_real_nul_escapes_count() {
        assert!(json_has_nul(br#"{"a":"x\u0000y"}"#));
        assert!(json_has_nul(br#"{"a":"\\\u0000"}"#));
        assert!(!json_has_nul(br#"{"a":"\\u0000"}"#), "an escaped backslash, then text");
        assert!(!json_has_nul(br#"{"a":"\u0001 u0000"}"#));
        assert!(!json_has_nul(br#"{"a":"plain"}"#));
    }

    #[test]
    fn the_field_holding_a_nul_is_named() {
        assert_eq!(
            nul_field(&json!({"a": {"b": ["ok", "x\u{0}"]}})).as_deref(),
            Some("a.b[1]")
        );
        assert_eq!(nul_field(&json!({"a\u{0}": 1})).as_deref(), Some("body"));
        assert_eq!(nul_field(&json!("\u{0}")).as_deref(), Some("body"));
        assert_eq!(nul_field(&json!({"a": "fine"})), None);
    }
}
