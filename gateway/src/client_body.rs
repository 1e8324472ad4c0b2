//! The client's request body, read whole before the request goes anywhere: at most
//! `MAX_BODY_BYTES`, all of it within `BODY_READ_TIMEOUT_MS` of the request's arrival.
//!
//! Reading it first keeps the client's faults at the gateway. A body that is too large (413),
//! too slow (408) or cut off (400) is answered here and never reaches an instance, so it
//! cannot count toward ejecting one — otherwise a few oversized or trickled bodies from one
//! anonymous client could take a service out of rotation for everyone. And an instance always
//! receives a complete body of declared length, in one piece: an instance that answers before
//! reading the body (a 401 from the identity check, say) keeps its connection usable. With a
//! streamed body whose end had not arrived yet, hyper closes that connection after the answer,
//! and the gateway's pool could hand it to the next request in the moment before the close
//! arrived — a 502 for a request the instance never saw.

use std::time::Duration;

use axum::{
    body::{Body, Bytes},
    extract::Request,
    http::{HeaderValue, header},
};
use http_body_util::BodyExt;
use shop_platform::ApiError;

/// The request with its body read into memory and its length declared, or the client error
/// the body earned.
pub async fn read_whole(request: Request, limit: usize, timeout: Duration) -> Result<Request, ApiError> {
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
    let bytes = tokio::time::timeout(timeout, read)
        .await
        .map_err(|_| ApiError::RequestTimeout(format!("the request body did not arrive within {timeout:?}")))??;
    if parts.headers.remove(header::TRANSFER_ENCODING).is_some() || !bytes.is_empty() {
        parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}
