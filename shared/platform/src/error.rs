//! The one error type of every service's HTTP API, rendered as RFC 7807
//! `application/problem+json` with a stable `type` per kind of failure.
//!
//! Internal errors are logged with their cause and reach the client only as a generic 500;
//! everything a client can cause is a 4xx with a message that says what to fix.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";
/// Seconds a client is asked to wait (`Retry-After`) before retrying a 503.
pub const RETRY_UNAVAILABLE_AFTER_SECONDS: u32 = 2;

/// An RFC 7807 problem document.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// Stable identifier of the kind of problem, e.g. `urn:shop:problem:validation`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What went wrong, for a person.
    pub detail: String,
    /// For `validation` problems: which fields are wrong and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// Path of the offending field in the request, e.g. `price.currency`.
    pub field: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("this route does not take that method")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    RequestTimeout(String),
    #[error("request body is larger than the {0}-byte limit")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("{0}")]
    BadGateway(String),
    #[error("{0}")]
    GatewayTimeout(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// A 422 naming one bad field.
    pub fn invalid(field: impl Into<String>, message: impl ToString) -> Self {
        Self::Validation(vec![FieldError {
            field: field.into(),
            message: message.to_string(),
        }])
    }

    /// A 422 naming each bad field.
    pub fn invalid_fields<F: Into<String>, M: ToString>(errors: impl IntoIterator<Item = (F, M)>) -> Self {
        Self::Validation(
            errors
                .into_iter()
                .map(|(field, message)| FieldError {
                    field: field.into(),
                    message: message.to_string(),
                })
                .collect(),
        )
    }

    fn kind(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad-request", "Bad request"),
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized", "Authentication required"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            Self::RequestTimeout(_) => (StatusCode::REQUEST_TIMEOUT, "request-timeout", "Request timeout"),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large", "Payload too large"),
            Self::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
            Self::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation", "Invalid input"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Service unavailable"),
            Self::BadGateway(_) => (StatusCode::BAD_GATEWAY, "bad-gateway", "Bad gateway"),
            Self::GatewayTimeout(_) => (StatusCode::GATEWAY_TIMEOUT, "gateway-timeout", "Gateway timeout"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal server error"),
        }
    }

    pub fn status(&self) -> StatusCode {
        self.kind().0
    }

    pub fn to_problem(&self) -> Problem {
        let (status, slug, title) = self.kind();
        let detail = match self {
            Self::Internal(_) => "the server failed to handle this request; it has been logged".to_owned(),
            Self::Validation(errors) => errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        };
        let errors = match self {
            Self::Validation(errors) => errors.clone(),
            _ => Vec::new(),
        };
        Problem {
            kind: format!("urn:shop:problem:{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            errors,
        }
    }
}

const DATABASE_UNAVAILABLE: &str = "the database is unavailable; try again shortly";

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        if crate::db::is_unavailable(&error) {
            tracing::warn!(%error, "database unavailable");
            Self::Unavailable(DATABASE_UNAVAILABLE.into())
        } else {
            Self::Internal(error.into())
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            // A database outage reached through `anyhow` is still an outage, not a bug.
            let database_down = cause
                .chain()
                .any(|e| e.downcast_ref::<sqlx::Error>().is_some_and(crate::db::is_unavailable));
            if database_down {
                tracing::warn!(error = format!("{cause:#}"), "database unavailable");
                return problem_response(&Self::Unavailable(DATABASE_UNAVAILABLE.into()).to_problem());
            }
            tracing::error!(error = format!("{cause:#}"), "request failed");
        }
        problem_response(&self.to_problem())
    }
}

/// The problem as a response; a 503 also says when to retry.
pub fn problem_response(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, axum::Json(problem)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_CONTENT_TYPE));
    if status == StatusCode::SERVICE_UNAVAILABLE {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_UNAVAILABLE_AFTER_SECONDS));
    }
    response
}

/// Turns a database constraint violation into the client error it stands for.
pub trait ResultExt<T> {
    fn on_constraint(self, constraint: &str, to_error: impl FnOnce() -> ApiError) -> Result<T, ApiError>;
}

impl<T, E: Into<ApiError>> ResultExt<T> for Result<T, E> {
    fn on_constraint(self, constraint: &str, to_error: impl FnOnce() -> ApiError) -> Result<T, ApiError> {
        self.map_err(|error| match error.into() {
            ApiError::Internal(cause)
                if cause
                    .downcast_ref::<sqlx::Error>()
                    .is_some_and(|e| crate::db::is_constraint_violation(e, constraint)) =>
            {
                to_error()
            }
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(error: ApiError) -> (StatusCode, Option<String>) {
        let response = error.into_response();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_owned());
        (response.status(), retry_after)
    }

    #[test]
    fn a_database_that_cannot_be_reached_is_a_503_with_retry_after() {
        let expected = (StatusCode::SERVICE_UNAVAILABLE, Some("2".to_owned()));
        assert_eq!(answer(sqlx::Error::PoolTimedOut.into()), expected);
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(answer(sqlx::Error::Io(refused).into()), expected);
        // The same, reached through anyhow with context on the way.
        let wrapped = anyhow::Error::from(sqlx::Error::PoolTimedOut).context("loading the cart");
        assert_eq!(answer(ApiError::Internal(wrapped)), expected);
    }

    #[test]
    fn a_statement_that_fails_is_still_a_500() {
        assert_eq!(
            answer(sqlx::Error::RowNotFound.into()),
            (StatusCode::INTERNAL_SERVER_ERROR, None)
        );
        let wrapped = anyhow::anyhow!("no such thing").context("loading the cart");
        assert_eq!(
            answer(ApiError::Internal(wrapped)),
            (StatusCode::INTERNAL_SERVER_ERROR, None)
        );
    }
}
