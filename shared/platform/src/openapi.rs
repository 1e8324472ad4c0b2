//! Reusable OpenAPI pieces: the error responses every service documents.

use shop_contracts::identity::IDENTITY_HEADER;
use utoipa::{
    Modify, ToResponse,
    openapi::{
        Ref, RefOr,
        security::{ApiKey, ApiKeyValue, SecurityScheme},
    },
};

use crate::error::Problem;

/// Malformed request (for example, a body that is not valid JSON).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct BadRequest(#[to_schema] pub Problem);

/// No valid identity token: signed out, forged or expired.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Unauthorized(#[to_schema] pub Problem);

/// Signed in, but not allowed to do this.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Forbidden(#[to_schema] pub Problem);

/// No such resource, or it belongs to someone else.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct NotFound(#[to_schema] pub Problem);

/// The request conflicts with the current state (a duplicate, say).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Conflict(#[to_schema] pub Problem);

/// Well-formed JSON with invalid values; `errors` lists each field and what is wrong.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Invalid(#[to_schema] pub Problem);

/// The request body is larger than the service accepts.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct PayloadTooLarge(#[to_schema] pub Problem);

/// The request body is not declared as JSON (`Content-Type: application/json`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct UnsupportedMediaType(#[to_schema] pub Problem);

/// A dependency of the service (its database, say) cannot be used right now; retry after
/// `Retry-After` seconds.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    headers(("Retry-After" = u32, description = "Seconds to wait before retrying"))
)]
pub struct Unavailable(#[to_schema] pub Problem);

/// Adds the shared error responses to `openapi`'s components, so operations can refer to
/// them, and documents what is answered before any handler runs: on every operation 400 (a
/// request the service cannot read), 422 (a NUL in the path or query, see [`crate::input`])
/// and 503 (a dependency is down), and on every operation that takes a body what the JSON
/// extractor answers: 400 (not JSON), 413 (too large), 415 (not declared as JSON).
pub fn add_error_responses(openapi: &mut utoipa::openapi::OpenApi) {
    let components = openapi.components.get_or_insert_with(Default::default);
    for (name, response) in [
        BadRequest::response(),
        Unauthorized::response(),
        Forbidden::response(),
        NotFound::response(),
        Conflict::response(),
        Invalid::response(),
        PayloadTooLarge::response(),
        UnsupportedMediaType::response(),
        Unavailable::response(),
    ] {
        components.responses.insert(name.to_string(), response);
    }
    let body_errors = [
        ("413", PayloadTooLarge::response().0),
        ("415", UnsupportedMediaType::response().0),
    ];
    for item in openapi.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
            let has_body = operation.request_body.is_some();
            let responses = &mut operation.responses.responses;
            let mut document = |status: &str, name: &str| {
                responses
                    .entry(status.to_owned())
                    .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
            };
            document("400", BadRequest::response().0);
            document("422", Invalid::response().0);
            document("503", Unavailable::response().0);
            if has_body {
                for (status, name) in body_errors {
                    document(status, name);
                }
            }
        }
    }
}

/// Name of the security scheme protected operations refer to: `security(("identity" = []))`.
pub const IDENTITY_SCHEME: &str = "identity";

/// Documents the identity-token header as a security scheme. Add it to a service's
/// `#[openapi(modifiers(&IdentitySecurity))]`.
pub struct IdentitySecurity;

impl Modify for IdentitySecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = ApiKeyValue::new(IDENTITY_HEADER);
        scheme.description = Some(
            "Short-lived token signed by the gateway for the signed-in user, or on internal \
             endpoints a service token naming the calling service; services reject requests \
             whose token is missing, forged, expired or of the other kind."
                .into(),
        );
        components.add_security_scheme(IDENTITY_SCHEME, SecurityScheme::ApiKey(ApiKey::Header(scheme)));
    }
}
