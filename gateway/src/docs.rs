//! API documentation for the whole system at `/docs`: Swagger UI (served by the gateway
//! itself, no CDN) listing the gateway's own document (`/openapi.json`) and each service's
//! (`/openapi/{service}`), fetched live from a healthy instance and trimmed to what is
//! reachable through the gateway.
//!
//! Through the gateway, who you are is the `shop_session` cookie that signing in sets; the
//! services' own documents describe the identity header the gateway sends them instead, so
//! their security scheme is replaced by the cookie here.

use axum::{
    Router,
    extract::{Path, State},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Value, json};
use shop_platform::{ApiError, Json, openapi::IDENTITY_SCHEME};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{ApiKey, ApiKeyValue, SecurityScheme},
};
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi, Url};

use crate::{
    auth,
    client_ip::ClientIp,
    proxy::read_json,
    routes::{self, Owner, Pools},
    session::SESSION_COOKIE,
    state::{AppState, Upstreams},
};

/// How to sign in and then use every API from the docs page; the first thing it shows.
const SIGN_IN: &str = "**To try the APIs from this page, sign in first.** In this definition, \
open `POST /api/auth/login`, choose *Try it out*, enter an account (the demo customer is \
`customer@shop.local` / `customer-password-123`, the demo administrator `admin@shop.local` / \
`admin-password-123`) and *Execute*. The gateway answers with the `shop_session` cookie, which \
your browser keeps and sends with every request made from this page: then select another \
definition at the top (user, product, order, search) and try its operations as that user. \
*Authorize* is not needed (a page cannot hand a cookie to it); `POST /api/auth/logout` signs \
out.";

#[derive(OpenApi)]
#[openapi(
    info(title = "Gateway"),
    paths(auth::login, auth::logout, auth::current_session),
    modifiers(&GatewayDescription),
    tags((name = "auth", description = "Sign-in and sessions"))
)]
struct GatewayDoc;

struct GatewayDescription;

impl Modify for GatewayDescription {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi.info.description = Some(format!(
            "{SIGN_IN}\n\nSign-in and sessions are the gateway's own; every other `/api/...` path \
             is served by the service whose definition lists it, and the gateway tells that \
             service who the signed-in user is."
        ));
        shop_platform::openapi::add_error_responses(openapi);
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut cookie = ApiKeyValue::new(SESSION_COOKIE);
        cookie.description = Some(SESSION_SCHEME.into());
        components.add_security_scheme(IDENTITY_SCHEME, SecurityScheme::ApiKey(ApiKey::Cookie(cookie)));
    }
}

/// The security scheme of every document served here.
const SESSION_SCHEME: &str = "The session cookie set by `POST /api/auth/login` (HttpOnly): sign \
in with the gateway definition and the browser sends it with every request.";

/// The gateway's own document, served at `/openapi.json` like every service's.
pub fn gateway_document() -> utoipa::openapi::OpenApi {
    GatewayDoc::openapi()
}

/// Each service's document: name, owner, where the gateway serves it.
const SERVICES: [(&str, Owner, &str); 4] = [
    ("user", Owner::User, "/openapi/user"),
    ("product", Owner::Product, "/openapi/product"),
    ("order", Owner::Order, "/openapi/order"),
    ("search", Owner::Search, "/openapi/search"),
];

/// The documents and Swagger UI; it lists the services that have instances in `pools`.
pub fn router(pools: &Pools) -> Router<AppState> {
    let mut urls = vec![Url::new("gateway", "/openapi.json")];
    for (name, owner, path) in SERVICES {
        if pools.of(owner).is_some() {
            urls.push(Url::new(name, path));
        }
    }
    let gateway = gateway_document();
    Router::new()
        .route("/openapi.json", get(move || async move { axum::Json(gateway.clone()) }))
        .route("/openapi/{service}", get(service_document))
        .merge(SwaggerUi::new("/docs").config(SwaggerConfig::new(urls)))
}

async fn service_document(
    State(upstreams): State<Upstreams>,
    ClientIp(client): ClientIp,
    Path(service): Path<String>,
) -> Response {
    let Some((owner, pool)) = SERVICES
        .iter()
        .find(|(name, ..)| *name == service)
        .and_then(|(_, owner, _)| Some((*owner, upstreams.pools.of(*owner)?)))
    else {
        return ApiError::NotFound("document").into_response();
    };
    let Some(lease) = pool.pick(client, &[]) else {
        return ApiError::Unavailable(format!("no healthy instance of the {service} service")).into_response();
    };
    let request = axum::http::Request::get("/openapi.json")
        .body(axum::body::Body::empty())
        .expect("a request to a fixed path is valid");
    let mut spec: Value = match upstreams.proxy.send(lease.url(), request).await {
        Ok(response) if response.status().is_success() => match read_json(response).await {
            Ok(spec) => spec,
            Err(error) => return ApiError::BadGateway(format!("bad OpenAPI document: {error}")).into_response(),
        },
        _ => return ApiError::BadGateway(format!("cannot fetch the {service} service's document")).into_response(),
    };
    lease.succeeded();
    as_seen_through_the_gateway(&mut spec, owner);
    Json(spec).into_response()
}

/// Only what the gateway routes to this service is reachable from outside (in the monolith,
/// one document describes every module: each keeps its own paths), and who you are is the
/// session cookie.
fn as_seen_through_the_gateway(spec: &mut Value, owner: Owner) {
    if let Some(paths) = spec.get_mut("paths").and_then(Value::as_object_mut) {
        paths.retain(|path, _| routes::route(path).is_some_and(|(_, routed)| routed == owner));
    }
    if let Some(scheme) = spec.pointer_mut(&format!("/components/securitySchemes/{IDENTITY_SCHEME}")) {
        *scheme = json!({
            "type": "apiKey",
            "in": "cookie",
            "name": SESSION_COOKIE,
            "description": SESSION_SCHEME,
        });
    }
    if let Some(info) = spec.get_mut("info").and_then(Value::as_object_mut) {
        let own = info.get("description").and_then(Value::as_str).unwrap_or_default();
        let description = format!(
            "{own}\n\nThrough the gateway: operations that need a signed-in user take the \
             `shop_session` cookie. Sign in with `POST /api/auth/login` in the gateway \
             definition first; the browser then sends the cookie with every request you try here."
        );
        info.insert("description".into(), Value::String(description));
    }
}
