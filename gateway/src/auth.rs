//! Sign-in, sign-out and the current session. The session (in Redis) remembers who the user
//! is; every proxied request then carries a fresh short-lived identity token instead.

use std::{net::IpAddr, sync::Arc};

use axum::{extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use shop_contracts::{
    Identity, Role,
    identity::{EndSessions, IDENTITY_HEADER, MAX_PASSWORD_CHARS, VERIFY_CREDENTIALS_PATH, VerifiedCredentials},
};
use shop_platform::{
    ApiError, ApiResult, Json,
    error::{Problem, problem_response},
    openapi as responses,
};
use tower_sessions::Session;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    client_ip::ClientIp,
    proxy::read_json,
    session::SessionEpochs,
    state::{IdentityTokens, Upstreams},
};

/// Where the signed-in user is kept in the session.
const SESSION_USER: &str = "user";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SessionUser {
    user_id: Uuid,
    roles: Vec<Role>,
    /// The user's session epoch at sign-in (sessions from before this field are epoch 0).
    #[serde(default)]
    epoch: u64,
}

fn store_error(error: tower_sessions::session::Error) -> ApiError {
    ApiError::Unavailable(format!("session store: {error}"))
}

/// The signed-in user of this session, if any. A session from before the user's sessions were
/// ended (see [`SessionEpochs`]) is signed out here.
pub async fn session_identity(epochs: &SessionEpochs, session: &Session) -> ApiResult<Option<Identity>> {
    let Some(user) = session.get::<SessionUser>(SESSION_USER).await.map_err(store_error)? else {
        return Ok(None);
    };
    if user.epoch < epochs.current(user.user_id).await? {
        session.flush().await.map_err(store_error)?;
        return Ok(None);
    }
    Ok(Some(Identity::new(user.user_id, user.roles)))
}

/// Acts on a service's [`shop_contracts::identity::END_SESSIONS_HEADER`]: ends the user's sessions, keeping this
/// request's own session signed in when asked to and it is that user's.
pub async fn end_sessions(epochs: &SessionEpochs, session: &Session, end: EndSessions) -> ApiResult<()> {
    let epoch = epochs.advance(end.user_id).await?;
    if !end.keep_current {
        return Ok(());
    }
    let current: Option<SessionUser> = session.get(SESSION_USER).await.map_err(store_error)?;
    if let Some(user) = current.filter(|user| user.user_id == end.user_id) {
        let user = SessionUser { epoch, ..user };
        session.insert(SESSION_USER, &user).await.map_err(store_error)?;
    }
    Ok(())
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    #[schema(example = "customer@shop.local", max_length = 254)]
    pub email: String,
    #[schema(min_length = 1, max_length = 128)]
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub authenticated: bool,
    pub user_id: Option<Uuid>,
    pub roles: Vec<Role>,
}

impl SessionView {
    fn of(identity: Option<Identity>) -> Self {
        match identity {
            Some(identity) => Self {
                authenticated: true,
                user_id: Some(identity.user_id),
                roles: identity.roles,
            },
            None => Self {
                authenticated: false,
                user_id: None,
                roles: Vec::new(),
            },
        }
    }
}

/// Sign in: checks the credentials with the user service and starts a session.
///
/// The session id is replaced on sign-in, so an id planted before (session fixation) is useless.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = Credentials,
    responses(
        (status = 200, description = "Signed in; the `shop_session` cookie is set", body = SessionView),
        (status = 400, response = responses::BadRequest),
        (status = 401, response = responses::Unauthorized),
        (status = 422, response = responses::Invalid),
        (status = 429, description = "Too many sign-in attempts", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(
    State(upstreams): State<Upstreams>,
    State(epochs): State<Arc<SessionEpochs>>,
    State(tokens): State<Arc<IdentityTokens>>,
    ClientIp(client): ClientIp,
    session: Session,
    Json(credentials): Json<Credentials>,
) -> Result<Json<SessionView>, axum::response::Response> {
    use axum::response::IntoResponse;
    if credentials.email.chars().count() > 254 || credentials.password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(ApiError::invalid("body", "email or password is too long").into_response());
    }
    let verified = verify(&upstreams, &tokens, client, &credentials).await?;
    let epoch = epochs
        .current(verified.user_id)
        .await
        .map_err(IntoResponse::into_response)?;
    let user = SessionUser {
        user_id: verified.user_id,
        roles: verified.roles,
        epoch,
    };
    session.cycle_id().await.map_err(|e| store_error(e).into_response())?;
    session
        .insert(SESSION_USER, &user)
        .await
        .map_err(|e| store_error(e).into_response())?;
    Ok(Json(SessionView::of(Some(Identity::new(user.user_id, user.roles)))))
}

/// Asks an instance of the user service whose credentials these are. Its refusals (401, 422)
/// reach the client as they are.
async fn verify(
    upstreams: &Upstreams,
    tokens: &IdentityTokens,
    client: IpAddr,
    credentials: &Credentials,
) -> Result<VerifiedCredentials, axum::response::Response> {
    use axum::response::IntoResponse;
    let pool = &upstreams.pools.user;
    let lease = pool
        .pick(client, &[])
        .ok_or_else(|| ApiError::Unavailable("no healthy instance of the user service".into()).into_response())?;
    let request = axum::http::Request::post(VERIFY_CREDENTIALS_PATH)
        .header(axum::http::header::CONTENT_TYPE, "application/json")
        .header(IDENTITY_HEADER, tokens.mint_service())
        .body(axum::body::Body::from(
            serde_json::to_vec(credentials).expect("credentials serialise"),
        ))
        .expect("a request to a fixed path is valid");
    let upstream = lease.url().to_owned();
    let response = match upstreams.proxy.send(&upstream, request).await {
        Ok(response) => {
            lease.succeeded();
            response
        }
        Err(error) => {
            lease.failed();
            tracing::warn!(%error, upstream, "credential check failed");
            return Err(
                ApiError::BadGateway("the user service could not check the credentials".into()).into_response(),
            );
        }
    };
    let status = response.status();
    if status.is_success() {
        return read_json(response).await.map_err(|e| {
            ApiError::BadGateway(format!("unexpected answer from the user service: {e}")).into_response()
        });
    }
    match read_json::<Problem>(response).await {
        // The user service's own refusal, or its database down: theirs to tell, not a bad gateway.
        Ok(problem) if status.is_client_error() || status == StatusCode::SERVICE_UNAVAILABLE => {
            Err(problem_response(&problem))
        }
        _ => Err(ApiError::BadGateway(format!("the user service answered {status}")).into_response()),
    }
}

#[utoipa::path(post, path = "/api/auth/logout", tag = "auth",
    responses((status = 204, description = "Signed out (also when there was no session)")))]
pub async fn logout(session: Session) -> ApiResult<StatusCode> {
    session.flush().await.map_err(store_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who this session belongs to.
#[utoipa::path(get, path = "/api/auth/session", tag = "auth", responses((status = 200, body = SessionView)))]
pub async fn current_session(
    State(epochs): State<Arc<SessionEpochs>>,
    session: Session,
) -> ApiResult<Json<SessionView>> {
    Ok(Json(SessionView::of(session_identity(&epochs, &session).await?)))
}
