//! API documentation for the whole system at `/docs`: Swagger UI (served by the gateway
//! itself, no CDN) listing the gateway's own document and each service's, fetched live from a
//! healthy instance and trimmed to what is reachable through the gateway.

use axum::{
    Router,
    extract::{Path, State},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::Value;
use shop_platform::{ApiError, Json};
use utoipa::OpenApi;
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi, Url};

use crate::{AppState, auth, client_ip::ClientIp, proxy::read_json, routes::Owner};

#[derive(OpenApi)]
#[openapi(
    info(title = "Gateway", description = "Sign-in and sessions. Every other `/api/...` path is \
        served by the service listed beside this document; the gateway adds the caller's identity."),
    paths(auth::login, auth::logout, auth::current_session),
    tags((name = "auth", description = "Sessions"))
)]
struct GatewayDoc;

/// Each service's document: name, owner, where the gateway serves it.
const SERVICES: [(&str, Owner, &str); 4] = [
    ("user", Owner::User, "/openapi/user"),
    ("product", Owner::Product, "/openapi/product"),
    ("order", Owner::Order, "/openapi/order"),
    ("search", Owner::Search, "/openapi/search"),
];

pub fn router(state: &AppState) -> Router<AppState> {
    let mut urls = vec![Url::new("gateway", "/openapi/gateway")];
    for (name, owner, path) in SERVICES {
        if state.pools.of(owner).is_some() {
            urls.push(Url::new(name, path));
        }
    }
    Router::new()
        .route("/openapi/{document}", get(document))
        .merge(SwaggerUi::new("/docs").config(SwaggerConfig::new(urls)))
}

async fn document(State(state): State<AppState>, ClientIp(client): ClientIp, Path(document): Path<String>) -> Response {
    if document == "gateway" {
        return axum::Json(GatewayDoc::openapi()).into_response();
    }
    let Some((owner, pool)) = SERVICES
        .iter()
        .find(|(name, ..)| *name == document)
        .and_then(|(_, owner, _)| Some((*owner, state.pools.of(*owner)?)))
    else {
        return ApiError::NotFound("document").into_response();
    };
    let Some(lease) = pool.pick(client, &[]) else {
        return ApiError::Unavailable(format!("no healthy instance of the {document} service")).into_response();
    };
    let request = axum::http::Request::get("/openapi.json")
        .body(axum::body::Body::empty())
        .expect("a request to a fixed path is valid");
    let mut spec: Value = match state.proxy.send(lease.url(), request).await {
        Ok(response) if response.status().is_success() => match read_json(response).await {
            Ok(spec) => spec,
            Err(error) => return ApiError::BadGateway(format!("bad OpenAPI document: {error}")).into_response(),
        },
        _ => return ApiError::BadGateway(format!("cannot fetch the {document} service's document")).into_response(),
    };
    lease.succeeded();
    // Only what the gateway routes to this service is reachable from outside (in the monolith,
    // one document describes every module: each keeps its own paths).
    if let Some(paths) = spec.get_mut("paths").and_then(Value::as_object_mut) {
        paths.retain(|path, _| crate::routes::route(path).is_some_and(|(_, routed)| routed == owner));
    }
    Json(spec).into_response()
}
