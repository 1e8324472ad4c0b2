//! The pages: one module per part of the shop, each a set of handlers that call the public API
//! and render a template. This module holds what they share: the frame of every page, how a
//! failed API call becomes a page, and the per-request context.

mod about;
mod account;
mod cart;
mod catalog;
mod orders;
mod search;

use askama::Template;
use axum::{
    Router,
    extract::{FromRequest, OptionalFromRequestParts, Request, State},
    http::{HeaderValue, Method, StatusCode, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::de::DeserializeOwned;

use crate::{
    Storefront,
    api::{CallError, Shopper},
    assets,
    model::{Cart, SessionView},
};

pub fn router() -> Router<Storefront> {
    Router::new()
        .route("/", get(catalog::home))
        .route("/categories/{slug}", get(catalog::category))
        .route("/products/{id}", get(catalog::product))
        .route("/search", get(search::search))
        .route("/signin", get(account::signin_form).post(account::signin))
        .route("/register", get(account::register_form).post(account::register))
        .route("/signout", post(account::signout))
        .route("/account", get(account::account))
        .route("/account/profile", post(account::update_profile))
        .route("/account/addresses", post(account::add_address))
        .route("/account/addresses/{id}/delete", post(account::delete_address))
        .route("/cart", get(cart::cart))
        .route("/cart/items", post(cart::add))
        .route("/cart/items/{product_id}", post(cart::update))
        .route("/cart/items/{product_id}/remove", post(cart::remove))
        .route("/checkout", get(cart::checkout_form).post(cart::checkout))
        .route("/orders", get(orders::list))
        .route("/orders/{id}", get(orders::detail))
        .route("/orders/{id}/status", get(orders::status))
        .route("/orders/{id}/cancel", post(orders::cancel))
        .route("/about", get(about::about))
}

/// The frame every page shares: the header's state and the footer's note of who answered.
pub struct Layout {
    pub title: String,
    pub signed_in: bool,
    pub cart_count: u32,
    /// What the search box shows.
    pub q: String,
    pub css: &'static str,
    pub js: &'static str,
    shopper: Shopper,
}

impl Layout {
    /// Whether the shopper is signed in, and how full their cart is.
    pub async fn load(shopper: &Shopper, title: impl Into<String>) -> Self {
        let signed_in = shopper
            .get::<SessionView>("/api/auth/session")
            .await
            .is_ok_and(|session| session.authenticated);
        let cart_count = if signed_in {
            shopper.get::<Cart>("/api/cart").await.map_or(0, |cart| cart.item_count)
        } else {
            0
        };
        Self {
            title: title.into(),
            signed_in,
            cart_count,
            q: String::new(),
            css: assets::css_path(),
            js: assets::js_path(),
            shopper: shopper.clone(),
        }
    }

    pub fn with_query(mut self, q: &str) -> Self {
        self.q = q.to_owned();
        self
    }

    /// The services that answered this page's calls, for the footer.
    pub fn answered(&self) -> String {
        self.shopper.answered().join(", ")
    }
}

/// A page that could not be shown; `shopper_context` renders it with the frame.
#[derive(Debug)]
pub enum PageError {
    /// The API refused or failed a call.
    Api(CallError),
    NotFound(&'static str),
    BadRequest(String),
    /// A part of the system this page needs is not there.
    Unavailable(&'static str),
}

impl From<CallError> for PageError {
    fn from(error: CallError) -> Self {
        Self::Api(error)
    }
}

/// Carried in the response from a handler to `shopper_context`.
#[derive(Debug, Clone)]
struct ErrorPage {
    status: StatusCode,
    message: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            Self::Api(error) => {
                if let CallError::Unreadable(cause) = &error {
                    tracing::error!(%cause, "an API answer the storefront cannot read");
                }
                (error.status(), error.detail())
            }
            Self::NotFound(what) => (StatusCode::NOT_FOUND, format!("There is no such {what}.")),
            Self::BadRequest(message) => (StatusCode::BAD_REQUEST, message),
            Self::Unavailable(message) => (StatusCode::SERVICE_UNAVAILABLE, message.to_owned()),
        };
        let mut response = status.into_response();
        response.extensions_mut().insert(ErrorPage { status, message });
        response
    }
}

pub type PageResult = Result<Response, PageError>;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate {
    layout: Layout,
    status: u16,
    heading: &'static str,
    message: String,
}

async fn error_page(shopper: &Shopper, status: StatusCode, message: String) -> Response {
    let heading = match status {
        StatusCode::NOT_FOUND => "Page not found",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::TOO_MANY_REQUESTS => "Too many requests",
        s if s.is_server_error() => "The shop is having trouble",
        _ => "Something is not right",
    };
    let layout = Layout::load(shopper, heading).await;
    render_with(
        status,
        &ErrorTemplate {
            layout,
            status: status.as_u16(),
            heading,
            message,
        },
    )
}

/// Gives every request its [`Shopper`], turns error results into pages (a 401 into the
/// sign-in page, coming back here afterwards), and hands the API's cookies to the browser.
pub async fn shopper_context(State(state): State<Storefront>, mut request: Request, next: Next) -> Response {
    let shopper = Shopper::for_request(state.api.clone(), &request);
    // Where to come back after signing in: this page, or for a form the page it was sent from.
    let back = if request.method() == Method::GET {
        request.uri().path_and_query().map(|pq| pq.as_str().to_owned())
    } else {
        request
            .headers()
            .get(header::REFERER)
            .and_then(|v| v.to_str().ok())
            .and_then(|referer| referer.split_once("://"))
            .and_then(|(_, rest)| rest.find('/').map(|at| rest[at..].to_owned()))
    };
    request.extensions_mut().insert(shopper.clone());
    let mut response = next.run(request).await;
    if let Some(error) = response.extensions_mut().remove::<ErrorPage>() {
        response = if error.status == StatusCode::UNAUTHORIZED {
            let back = local_path(back.as_deref());
            see_other(&crate::views::with_query("/signin", &[("next", &back)]))
        } else {
            error_page(&shopper, error.status, error.message).await
        };
    }
    for cookie in shopper.cookies_to_set() {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// Whatever the storefront does not serve (the API, `/docs`, health and metrics) goes to the
/// gateway; a browser asking for a page that does not exist gets a real 404 page.
pub async fn not_ours(State(state): State<Storefront>, shopper: Shopper, request: Request) -> Response {
    let wants_page = matches!(*request.method(), Method::GET | Method::HEAD)
        && !request.uri().path().starts_with("/api/")
        && request
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"));
    let response = Shopper::pass_through(&state.api, request).await;
    if wants_page && response.status() == StatusCode::NOT_FOUND {
        return error_page(
            &shopper,
            StatusCode::NOT_FOUND,
            "There is no page at this address.".into(),
        )
        .await;
    }
    response
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Shopper {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Shopper>()
            .cloned()
            .expect("shopper_context runs before every page"))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Shopper {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Shopper>().cloned())
    }
}

/// A submitted form; one that cannot be read is a 400 page, not a bare error text.
pub struct PageForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for PageForm<T> {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::Form::<T>::from_request(request, state)
            .await
            .map(|axum::Form(form)| Self(form))
            .map_err(|rejection| {
                PageError::BadRequest(format!("The form could not be read: {}", rejection.body_text()))
            })
    }
}

pub fn render(template: &impl Template) -> Response {
    render_with(StatusCode::OK, template)
}

/// A page with the headers every page carries: only the shop's own scripts, styles, pictures
/// and form targets; never framed; never cached (pages show the shopper's own state).
pub fn render_with(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (
            status,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ),
                (
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(
                        "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; \
                         form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
                    ),
                ),
                (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
                (header::REFERRER_POLICY, HeaderValue::from_static("same-origin")),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            html,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "a page failed to render");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// After a form: go to the page that shows the result (so a refresh does not post again).
pub fn see_other(path: &str) -> Response {
    Redirect::to(path).into_response()
}

/// Where to go after signing in: only a path on this shop, never another site.
pub fn local_path(next: Option<&str>) -> String {
    next.filter(|next| next.starts_with('/') && !next.starts_with("//") && !next.contains('\\'))
        .unwrap_or("/")
        .to_owned()
}

/// The field errors of a form, by field name, as the API reported them.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<(String, String)>);

impl FieldErrors {
    pub fn from_api(error: &CallError) -> Self {
        Self(
            error
                .field_errors()
                .iter()
                .map(|e| (e.field.clone(), e.message.clone()))
                .collect(),
        )
    }

    pub fn one(field: &str, message: impl Into<String>) -> Self {
        Self(vec![(field.to_owned(), message.into())])
    }

    /// The message for `field` (or a nested field of it), empty when there is none.
    pub fn get(&self, field: &str) -> &str {
        self.0
            .iter()
            .find(|(name, _)| name == field || name.strip_prefix(field).is_some_and(|rest| rest.starts_with('.')))
            .map_or("", |(_, message)| message.as_str())
    }

    /// The message for `prefix` + `field` (`shipping_address.` + `city`).
    pub fn get_in(&self, prefix: &str, field: &str) -> &str {
        self.get(&format!("{prefix}{field}"))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_only_returns_to_this_shop() {
        assert_eq!(local_path(Some("/cart")), "/cart");
        for away in ["//evil.example", "https://evil.example", "/\\evil.example", "cart"] {
            assert_eq!(local_path(Some(away)), "/", "{away}");
        }
        assert_eq!(local_path(None), "/");
    }
}
