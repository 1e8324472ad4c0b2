//! A request's body, read whole before the request is handled: within a size limit, and
//! where one is set, within a time limit of the request's arrival. The gateway reads its
//! clients' bodies so (`MAX_BODY_BYTES`, `BODY_READ_TIMEOUT_MS`), and every service reads the
//! bodies it gets so ([`read_first`], within [`BODY_LIMIT_BYTES`]).
//!
//! At the gateway, it keeps the client's faults there: a body that is too large (413), too
//! slow (408) or cut off (400) is answered before it reaches an instance, so it never counts
//! toward ejecting one — otherwise a few oversized or trickled bodies from one anonymous
//! client could take a service out of rotation for everyone.
//!
//! At a service, it keeps every connection reusable. A handler may answer without reading the
//! body (a 401 decided from the headers, before the JSON is looked at). If the body's bytes
//! have not all arrived by then, hyper cannot keep the connection and closes it after the
//! response — without a `Connection: close` header to say so. A client that pools connections
//! (the gateway) may then send its next request on the connection in the moment before the
//! close reaches it, and that request, whoever's it is, fails as an incomplete message: a 502
//! for a request that did nothing wrong. Read first, no body is ever left unread.

use std::time::Duration;

use axum::{
    body::{Body, Bytes},
    extract::Request,
    http::{HeaderValue, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http_body_util::BodyExt;

use crate::{error::ApiError, server::BODY_LIMIT_BYTES};

/// Middleware for the services: the body read whole within [`BODY_LIMIT_BYTES`] (see the
/// module documentation).
pub async fn read_first(request: Request, next: Next) -> Response {
    match read_whole(request, BODY_LIMIT_BYTES, None).await {
        Ok(request) => next.run(request).await,
        Err(refused) => refused.into_response(),
    }
}

/// The request with its body read into memory and its length declared, or the client error
/// the body earned: over `limit` bytes 413, not all there within `timeout` 408, cut off 400.
pub async fn read_whole(request: Request, limit: usize, timeout: Option<Duration>) -> Result<Request, ApiError> {
    let (mut parts, mut body) = request.into_parts();
    let read = async {
        let mut collected = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|_| ApiError::BadRequest("the request body was cut off".into()))?;
            if let Ok(data) = frame.into_data() {
                if collected.len() + data.len() > limit {
                    return Err(ApiError::PayloadTooLarge(limit));
                }
                collected.extend_from_slice(&data);
            }
        }
        Ok(Bytes::from(collected))
    };
    let bytes = match timeout {
        None => read.await?,
        Some(timeout) => tokio::time::timeout(timeout, read)
            .await
            .map_err(|_| ApiError::RequestTimeout(format!("the request body did not arrive within {timeout:?}")))??,
    };
    if parts.headers.remove(header::TRANSFER_ENCODING).is_some() || !bytes.is_empty() {
        parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}
