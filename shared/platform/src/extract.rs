//! Request extractors whose rejections are the project's problem+json errors rather than
//! axum's plain-text ones, plus the verified caller identity.

mod arrays_as_objects;
mod every_field;

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request, rejection::BytesRejection},
    http::{header, request::Parts},
    response::{IntoResponse, Response},
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, error::Category};
use shop_contracts::{Identity, IdentityKey, identity::IDENTITY_HEADER};
use utoipa::{
    PartialSchema, ToSchema,
    openapi::{RefOr, Schema},
};

use crate::error::{ApiError, FieldError};

/// JSON body extractor and response. Malformed JSON is a 400; JSON of the wrong shape, a
/// missing field or a value a domain type refuses is a 422 naming every such field (the
/// missing ones of the top-level object from the body's schema).
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + ToSchema, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim();
                mime.eq_ignore_ascii_case("application/json")
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType(
                "expected a request body with Content-Type: application/json".into(),
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|rejection| match rejection {
                BytesRejection::FailedToBufferBody(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                    ApiError::PayloadTooLarge(crate::server::BODY_LIMIT_BYTES)
                }
                other => ApiError::BadRequest(other.body_text()),
            })?;
        parse_json(&bytes).map(Json)
    }
}

/// Deserializes `bytes`, reporting every field of the document that was rejected, and where.
/// A NUL in any string is a 422 on its field (see [`crate::input`]).
pub fn parse_json<T: DeserializeOwned + ToSchema>(bytes: &[u8]) -> Result<T, ApiError> {
    refuse_arrays_for_objects::<T>(bytes)?;
    let bytes = &*integral_numbers_as_integers(bytes);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let field = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            Category::Data => {
                let message = every_field::without_position(&inner.to_string());
                let first = FieldError {
                    field: field_name(&field, &message),
                    message,
                };
                ApiError::Validation(every_invalid_field::<T>(bytes, first))
            }
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::BadRequest(format!("request body is not valid JSON: {inner}"))
            }
        }
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::BadRequest(format!("request body is not valid JSON: {e}")))?;
    if let Some(error) = crate::input::refuse_nul_in_json(bytes) {
        return Err(error);
    }
    Ok(value)
}

/// An array where the schema has an object is a 422 on that field ([`arrays_as_objects`]).
fn refuse_arrays_for_objects<T: ToSchema>(bytes: &[u8]) -> Result<(), ApiError> {
    // No array anywhere (most bodies): nothing to look at.
    if !bytes.contains(&b'[') {
        return Ok(());
    }
    let Ok(document) = serde_json::from_slice::<Value>(bytes) else {
        return Ok(()); // not JSON: the parse below says so
    };
    match arrays_as_objects::find::<T>(&document) {
        None => Ok(()),
        Some(field) => Err(ApiError::Validation(vec![FieldError {
            field,
            message: "expected a JSON object, not an array".into(),
        }])),
    }
}

/// The field a data error is about. serde reports a missing or unknown field at its parent's
/// path, naming the field only in the message.
fn field_name(path: &str, message: &str) -> String {
    let named = ["missing field `", "unknown field `", "duplicate field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next());
    match (path, named) {
        (".", Some(name)) => name.to_owned(),
        (".", None) => "body".to_owned(),
        // Unknown fields are already part of the path; missing ones are not.
        (path, Some(name)) if path == name || path.ends_with(&format!(".{name}")) => path.to_owned(),
        (parent, Some(name)) => format!("{parent}.{name}"),
        (path, None) => path.to_owned(),
    }
}

/// `bytes` with every number written with a fraction of zeros (`2.0`, `-7.00`) written as the
/// integer it is. JSON (and JSON Schema) has one kind of number, so `2.0` is a valid
/// `"type": "integer"`, but serde refuses a float where it expects an integer.
fn integral_numbers_as_integers(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let mut out: Option<Vec<u8>> = None;
    let (mut in_string, mut escaped) = (false, false);
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if in_string {
            (in_string, escaped) = match (escaped, byte) {
                (true, _) => (true, false),
                (false, b'\\') => (true, true),
                (false, b'"') => (false, false),
                _ => (true, false),
            };
        } else if byte == b'"' {
            in_string = true;
        } else if byte == b'.' && i > 0 && bytes[i - 1].is_ascii_digit() {
            let zeros = bytes[i + 1..].iter().take_while(|&&b| b == b'0').count();
            let after = bytes.get(i + 1 + zeros);
            let ends = after.is_none_or(|b| !(b.is_ascii_digit() || matches!(b, b'e' | b'E')));
            if zeros > 0 && ends {
                out.get_or_insert_with(|| bytes[..i].to_vec());
                i += 1 + zeros;
                continue;
            }
        }
        if let Some(kept) = &mut out {
            kept.push(byte);
        }
        i += 1;
    }
    match out {
        Some(normalized) => std::borrow::Cow::Owned(normalized),
        None => std::borrow::Cow::Borrowed(bytes),
    }
}

/// `first`, the field the document was refused for, and every other field `T` refuses in it.
fn every_invalid_field<T: DeserializeOwned + PartialSchema>(bytes: &[u8], first: FieldError) -> Vec<FieldError> {
    // A body refused for its data is well-formed JSON up to that point, but not necessarily after.
    let Ok(document) = serde_json::from_slice::<Value>(bytes) else {
        return vec![first];
    };
    let missing = missing_required::<T>(&document);
    let mut errors = every_field::field_errors::<T>(every_field::JsonDocument(document));
    // First the field serde met first in the body; the document, a map, may order its keys
    // otherwise, and a field can be refused in the bytes only (a duplicate, say).
    errors.retain(|error| error.field != first.field);
    errors.insert(0, first);
    for field in missing {
        if !errors.iter().any(|error| error.field == field) {
            let message = format!("missing field `{field}`");
            errors.push(FieldError { field, message });
        }
    }
    errors
}

/// The fields `T`'s schema requires that the body's object lacks. serde names only the first
/// missing field of an object, and cannot go on without it; the schema knows them all.
fn missing_required<T: PartialSchema>(document: &Value) -> Vec<String> {
    let (RefOr::T(Schema::Object(schema)), Value::Object(present)) = (T::schema(), document) else {
        return Vec::new();
    };
    schema
        .required
        .into_iter()
        .filter(|field| !present.contains_key(field))
        .collect()
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Query-string extractor; a parameter of the wrong type is a 422 naming every such parameter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|rejection| {
                let query = every_field::QueryDocument::parse(parts.uri.query().unwrap_or_default());
                let errors = every_field::field_errors::<T>(query);
                if errors.is_empty() {
                    let message = rejection
                        .body_text()
                        .replace("Failed to deserialize query string: ", "");
                    ApiError::invalid("query", message)
                } else {
                    ApiError::Validation(errors)
                }
            })
    }
}

/// Path-parameter extractor; an id that cannot exist (not a UUID, say) is a 404.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|_| ApiError::NotFound("resource"))
    }
}

/// The authenticated caller, from a valid identity token. Missing, forged or expired → 401.
#[derive(Debug, Clone)]
pub struct Caller(pub Identity);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let (key, token) = identity_token(parts, "this endpoint requires a signed-in user")?;
        key.verify(token)
            .map(Caller)
            .map_err(|e| ApiError::Unauthorized(e.to_string()))
    }
}

/// Another service of the shop calling an internal endpoint, with a valid service token (see
/// `shop_contracts::identity`); holds the caller's name. Anyone else, users included → 401.
#[derive(Debug, Clone)]
pub struct Internal(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Internal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let (key, token) = identity_token(parts, "this endpoint is for the shop's own services")?;
        key.verify_service(token)
            .map(Internal)
            .map_err(|e| ApiError::Unauthorized(format!("{e} (a service token is required)")))
    }
}

/// The router's key and the request's token; `missing` says why a request without one is
/// refused.
fn identity_token<'a>(parts: &'a Parts, missing: &str) -> Result<(&'a IdentityKey, &'a str), ApiError> {
    let key = parts
        .extensions
        .get::<IdentityKey>()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no IdentityKey extension on the router")))?;
    let token = parts
        .headers
        .get(IDENTITY_HEADER)
        .ok_or_else(|| ApiError::Unauthorized(missing.into()))?
        .to_str()
        .map_err(|_| ApiError::Unauthorized("identity token is malformed".into()))?;
    Ok((key, token))
}

/// An authenticated caller with the admin role; anyone else signed in → 403.
#[derive(Debug, Clone)]
pub struct Admin(pub Identity);

impl<S: Send + Sync> FromRequestParts<S> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Caller(identity) = Caller::from_request_parts(parts, state).await?;
        if identity.is_admin() {
            Ok(Admin(identity))
        } else {
            Err(ApiError::Forbidden("this endpoint is for administrators"))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, utoipa::ToSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        name: String,
        quantity: u8,
    }

    fn field_errors(result: Result<Item, ApiError>) -> Vec<crate::error::FieldError> {
        match result {
            Err(ApiError::Validation(errors)) => errors,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn syntax_errors_are_bad_requests() {
        assert!(matches!(
            parse_json::<Item>(b"{\"name\":"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            parse_json::<Item>(br#"{"name":"x","quantity":1} trailing"#),
            Err(ApiError::BadRequest(_))
        ));
    }

    #[test]
    fn shape_errors_name_the_field() {
        let errors = field_errors(parse_json(br#"{"name":"x","quantity":"many"}"#));
        assert_eq!(errors[0].field, "quantity");
        let errors = field_errors(parse_json(br#"{"name":"x","quantity":300}"#));
        assert_eq!(errors[0].field, "quantity");
        let errors = field_errors(parse_json(br#"{"name":"x"}"#));
        assert_eq!(errors[0].field, "quantity");
        assert!(errors[0].message.contains("missing field `quantity`"), "{errors:?}");
        let errors = field_errors(parse_json(br#"{"name":"x","quantity":1,"colour":"red"}"#));
        assert_eq!(errors[0].field, "colour");
        let errors = field_errors(parse_json(br#"{"name":"x\u0000","quantity":1}"#));
        assert_eq!(errors[0].field, "name");
        assert!(errors[0].message.contains("NUL"), "{errors:?}");
        let errors = field_errors(parse_json(br#""just a string""#));
        assert_eq!(errors[0].field, "body");
        assert!(!errors[0].message.contains("line 1"));
    }

    #[derive(Debug, Deserialize, utoipa::ToSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Order {
        item: Item,
        count: u8,
        note: Option<String>,
        tags: Option<Vec<u8>>,
    }

    /// The first field reported, then the others in any order.
    fn fields<T: std::fmt::Debug>(result: Result<T, ApiError>) -> (String, BTreeSet<String>) {
        match result {
            Err(ApiError::Validation(errors)) => {
                let first = errors[0].field.clone();
                let all: BTreeSet<String> = errors.into_iter().map(|error| error.field).collect();
                (first, all)
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    fn set(fields: &[&str]) -> BTreeSet<String> {
        fields.iter().map(|&field| field.to_owned()).collect()
    }

    #[test]
    fn an_object_written_as_an_array_of_its_values_is_refused() {
        assert_eq!(
            fields(parse_json::<Item>(br#" ["lamp", 2]"#)),
            ("body".into(), set(&["body"]))
        );
        assert!(parse_json::<Item>(br#"{"name":"lamp","quantity":2}"#).is_ok());
        assert!(parse_json::<Vec<u8>>(b"[1, 2]").is_ok());
    }

    #[derive(Debug, Deserialize, utoipa::ToSchema)]
    #[allow(dead_code)]
    struct Basket {
        items: Vec<Item>,
        gift: Option<Item>,
        note: Vec<String>,
    }

    #[test]
    fn an_object_inside_the_body_written_as_an_array_is_refused_where_it_is() {
        let refused = |body: &[u8]| fields(parse_json::<Basket>(body)).0;
        assert_eq!(refused(br#"{"items":[["lamp",2]],"gift":null,"note":[]}"#), "items[0]");
        assert_eq!(
            refused(br#"{"items":[{"name":"lamp","quantity":2}],"gift":["lamp",1],"note":["x"]}"#),
            "gift"
        );
        assert!(parse_json::<Basket>(br#"{"items":[{"name":"lamp","quantity":2}],"gift":null,"note":["x"]}"#).is_ok());
        assert!(parse_json::<Basket>(br#"{"items":[],"gift":{"name":"lamp","quantity":1},"note":[]}"#).is_ok());
    }

    #[test]
    fn every_invalid_field_is_reported_once() {
        assert_eq!(
            fields(parse_json::<Item>(br#"{"name":7,"quantity":"many","colour":"red"}"#)),
            ("name".into(), set(&["name", "quantity", "colour"]))
        );
        assert_eq!(
            fields(parse_json::<Item>(br#"{"colour":"red"}"#)),
            ("colour".into(), set(&["colour", "name", "quantity"]))
        );
        assert_eq!(
            fields(parse_json::<Order>(
                br#"{"item":{"name":1,"quantity":1000},"count":-1,"note":5,"tags":[1,"x",-1]}"#
            )),
            (
                "item.name".into(),
                set(&["item.name", "item.quantity", "count", "note", "tags[1]"])
            )
        );
        assert_eq!(
            fields(parse_json::<Order>(br#"{"item":{"quantity":1},"note":5}"#)),
            ("item.name".into(), set(&["item.name", "note", "count"]))
        );
        // Refused in the bytes only: the document as a map keeps the last of the two.
        assert_eq!(
            fields(parse_json::<Item>(br#"{"name":"x","name":"y","quantity":1}"#)),
            ("name".into(), set(&["name"]))
        );
    }

    #[test]
    fn integral_numbers_are_integers_wherever_they_are_not_text() {
        let item: Item = parse_json(br#"{"name":"2.0 and \"3.00\"","quantity":7.00}"#).unwrap();
        assert_eq!((item.name.as_str(), item.quantity), (r#"2.0 and "3.00""#, 7));
        assert_eq!(
            fields(parse_json::<Item>(br#"{"name":"x","quantity":7.5}"#)).0,
            "quantity"
        );
        assert_eq!(
            fields(parse_json::<Item>(br#"{"name":"x","quantity":7.0e1}"#)).0,
            "quantity"
        );
    }

    #[test]
    fn a_body_full_of_bad_fields_is_bounded() {
        let body = format!(
            "{{{}}}",
            (0..1000).map(|i| format!("\"f{i}\":1")).collect::<Vec<_>>().join(",")
        );
        let (_, errors) = fields(parse_json::<Item>(body.as_bytes()));
        assert!(
            errors.len() > 2 && errors.len() < 40,
            "a few dozen rounds, not a thousand: {errors:?}"
        );
    }
}
