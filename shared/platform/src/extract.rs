//! Request extractors whose rejections are the project's problem+json errors rather than
//! axum's plain-text ones, plus the verified caller identity.

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request, rejection::BytesRejection},
    http::{header, request::Parts},
    response::{IntoResponse, Response},
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::error::Category;
use shop_contracts::{Identity, IdentityKey, identity::IDENTITY_HEADER};

use crate::error::ApiError;

/// JSON body extractor and response. Malformed JSON is a 400; JSON of the wrong shape, a
/// missing field or a value a domain type refuses is a 422 naming the field.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
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

/// Deserializes `bytes`, reporting where in the document a value was rejected. A NUL in any
/// string is a 422 on its field (see [`crate::input`]).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let field = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            Category::Data => {
                let message = strip_position(&inner);
                ApiError::invalid(field_name(&field, &message), message)
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

/// The field a data error is about. serde reports a missing or unknown field at its parent's
/// path, naming the field only in the message.
fn field_name(path: &str, message: &str) -> String {
    let named = ["missing field `", "unknown field `"]
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

/// serde_json appends " at line 1 column 42"; the field path already says where.
fn strip_position(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message,
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Query-string extractor; a parameter of the wrong type is a 422.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|rejection| {
                ApiError::invalid(
                    "query",
                    rejection
                        .body_text()
                        .replace("Failed to deserialize query string: ", ""),
                )
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
        let key = parts
            .extensions
            .get::<IdentityKey>()
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no IdentityKey extension on the router")))?;
        let token = parts
            .headers
            .get(IDENTITY_HEADER)
            .ok_or_else(|| ApiError::Unauthorized("this endpoint requires a signed-in user".into()))?
            .to_str()
            .map_err(|_| ApiError::Unauthorized("identity token is malformed".into()))?;
        key.verify(token)
            .map(Caller)
            .map_err(|e| ApiError::Unauthorized(e.to_string()))
    }
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
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
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
}
