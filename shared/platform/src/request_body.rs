//! Every request's body is read whole, within [`BODY_LIMIT_BYTES`], before the service
//! handles it.
//!
//! A handler may answer without reading the body (a 401 decided from the headers, before the
//! JSON is looked at). If the body's bytes have not all arrived by then, hyper cannot keep
//! the connection and closes it after the response — without a `Connection: close` header to
//! say so. A client that pools connections (the gateway) may then send its next request on
//! the connection in the moment before the close reaches it, and that request, whoever's it
//! is, fails as an incomplete message: a 502 for a request that did nothing wrong. Reading
//! every body first leaves nothing unread, so every connection stays reusable.

use axum::{
    body::Body,
    extract::Request,
    middleware::Next,
    response::{IntoResponse, Response},
};
use http_body_util::LengthLimitError;

use crate::{error::ApiError, server::BODY_LIMIT_BYTES};

/// Middleware: see the module documentation. Over the limit: 413.
pub async fn read_whole(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, BODY_LIMIT_BYTES).await {
        Ok(bytes) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
        Err(error) if is_over_limit(&error) => ApiError::PayloadTooLarge(BODY_LIMIT_BYTES).into_response(),
        Err(error) => ApiError::BadRequest(format!("the request body could not be read: {error}")).into_response(),
    }
}

fn is_over_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if cause.is::<LengthLimitError>() {
            return true;
        }
        source = cause.source();
    }
    false
}
