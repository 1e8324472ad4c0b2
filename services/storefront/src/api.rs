//! Calls into the public API on behalf of the shopper whose page is being rendered.
//!
//! A call is an ordinary request dispatched in-process into the gateway's public-API router:
//! the browser's cookies, client address and `Origin` / `Sec-Fetch-Site` travel with it, so
//! the gateway's session, identity, rate-limit and cross-site checks see the real shopper,
//! exactly as for a request from the browser's own script. Any `Set-Cookie` the API answers
//! (a new session at sign-in, its removal at sign-out) is kept for the next call of the same
//! page and handed back to the browser with the page.

use std::{
    collections::BTreeSet,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::{ConnectInfo, Request},
    http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header},
    response::Response,
};
use http_body_util::BodyExt;
use serde::{Serialize, de::DeserializeOwned};
use shop_platform::error::{FieldError, Problem};
use tower::ServiceExt;

/// Who answers a public path: a service's name, or `None` for the gateway itself.
pub type OwnerOf = fn(&str) -> Option<&'static str>;

/// Browser headers a call passes on: what the gateway's guards and the services' logs read.
const PASSED_ON: [HeaderName; 6] = [
    header::HOST,
    header::ORIGIN,
    HeaderName::from_static("sec-fetch-site"),
    HeaderName::from_static("x-forwarded-for"),
    HeaderName::from_static("x-request-id"),
    header::USER_AGENT,
];

/// Largest API answer a page reads (the biggest, a search page, is a few tens of KiB).
const MAX_ANSWER_BYTES: usize = 2 * 1024 * 1024;

/// A failed call, as the page needs to know it.
#[derive(Debug)]
pub enum CallError {
    /// The API answered with an error status and (usually) a problem document.
    Status {
        status: StatusCode,
        problem: Option<Problem>,
    },
    /// The answer could not be read as what the page expected: a bug on one side.
    Unreadable(String),
}

impl CallError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Status { status, .. } => *status,
            Self::Unreadable(_) => StatusCode::BAD_GATEWAY,
        }
    }

    /// The field errors of a 422, as the API named them.
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            Self::Status {
                problem: Some(problem), ..
            } => &problem.errors,
            _ => &[],
        }
    }

    /// What went wrong, for a person.
    pub fn detail(&self) -> String {
        match self {
            Self::Status {
                problem: Some(problem), ..
            } => problem.detail.clone(),
            Self::Status { status, .. } => status.canonical_reason().unwrap_or("error").to_owned(),
            Self::Unreadable(_) => "the shop answered something unexpected".to_owned(),
        }
    }
}

pub type ApiResult<T> = Result<T, CallError>;

/// The public API, shared by every page.
#[derive(Clone)]
pub struct PublicApi {
    router: Router,
    owner_of: OwnerOf,
}

impl PublicApi {
    pub fn new(router: Router, owner_of: OwnerOf) -> Self {
        Self { router, owner_of }
    }

    /// The API router itself, for requests the storefront does not handle.
    pub fn router(&self) -> Router {
        self.router.clone()
    }
}

/// The API as one browser request sees it: its headers and cookies, the cookies the API set
/// since, and which services answered.
#[derive(Clone)]
pub struct Shopper(Arc<ShopperState>);

struct ShopperState {
    api: PublicApi,
    passed_on: HeaderMap,
    peer: Option<ConnectInfo<SocketAddr>>,
    cookies: Mutex<Vec<(String, String)>>,
    set_cookies: Mutex<Vec<(String, HeaderValue)>>,
    answered: Mutex<BTreeSet<&'static str>>,
}

impl Shopper {
    pub fn for_request<B>(api: PublicApi, request: &axum::http::Request<B>) -> Self {
        let headers = request.headers();
        let mut passed_on = HeaderMap::new();
        for name in PASSED_ON {
            for value in headers.get_all(&name) {
                passed_on.append(name.clone(), value.clone());
            }
        }
        let cookies = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        Self(Arc::new(ShopperState {
            api,
            passed_on,
            peer: request.extensions().get::<ConnectInfo<SocketAddr>>().copied(),
            cookies: Mutex::new(cookies),
            set_cookies: Mutex::new(Vec::new()),
            answered: Mutex::new(BTreeSet::new()),
        }))
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> ApiResult<T> {
        self.call(Method::GET, path, None::<&()>, &[]).await
    }

    pub async fn post<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> ApiResult<T> {
        self.call(Method::POST, path, Some(body), &[]).await
    }

    /// A call whose answer (if any) the page does not read.
    pub async fn send(&self, method: Method, path: &str, body: Option<&impl Serialize>) -> ApiResult<()> {
        self.call::<serde::de::IgnoredAny>(method, path, body, &[])
            .await
            .map(drop)
    }

    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
        extra_headers: &[(&'static str, String)],
    ) -> ApiResult<T> {
        let request = self.request(method, path, body, extra_headers)?;
        let response = self
            .0
            .api
            .router
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|never| match never {});
        if let Some(service) = (self.0.api.owner_of)(path) {
            self.0.answered.lock().expect("not poisoned").insert(service);
        }
        self.keep_cookies(response.headers());
        let status = response.status();
        let bytes = read(response).await?;
        if !status.is_success() {
            return Err(CallError::Status {
                status,
                problem: serde_json::from_slice(&bytes).ok(),
            });
        }
        let bytes = if bytes.is_empty() { &b"null"[..] } else { &bytes[..] };
        serde_json::from_slice(bytes).map_err(|e| CallError::Unreadable(format!("{path}: {e}")))
    }

    fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
        extra_headers: &[(&'static str, String)],
    ) -> ApiResult<Request> {
        let mut builder = Request::builder().method(method).uri(path);
        let headers = builder.headers_mut().expect("a fresh builder");
        headers.extend(self.0.passed_on.clone());
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        let cookie = self
            .0
            .cookies
            .lock()
            .expect("not poisoned")
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        if let Ok(cookie) = HeaderValue::from_str(&cookie)
            && !cookie.is_empty()
        {
            headers.insert(header::COOKIE, cookie);
        }
        for (name, value) in extra_headers {
            let value = HeaderValue::from_str(value).map_err(|e| CallError::Unreadable(format!("{name}: {e}")))?;
            headers.insert(*name, value);
        }
        let body = match body {
            Some(body) => {
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                Body::from(serde_json::to_vec(body).map_err(|e| CallError::Unreadable(e.to_string()))?)
            }
            None => Body::empty(),
        };
        let mut request = builder.body(body).map_err(|e| CallError::Unreadable(e.to_string()))?;
        if let Some(peer) = self.0.peer {
            request.extensions_mut().insert(peer);
        }
        Ok(request)
    }

    /// Remembers every cookie the API set, for the following calls and for the browser.
    fn keep_cookies(&self, headers: &HeaderMap) {
        for value in headers.get_all(header::SET_COOKIE) {
            let Some((name, rest)) = value.to_str().ok().and_then(|v| v.split_once('=')) else {
                continue;
            };
            let cookie_value = rest.split(';').next().unwrap_or_default().trim();
            let removed = cookie_value.is_empty() || rest.to_ascii_lowercase().contains("max-age=0");
            let mut cookies = self.0.cookies.lock().expect("not poisoned");
            cookies.retain(|(existing, _)| existing != name);
            if !removed {
                cookies.push((name.to_owned(), cookie_value.to_owned()));
            }
            let mut set = self.0.set_cookies.lock().expect("not poisoned");
            set.retain(|(existing, _)| existing != name);
            set.push((name.to_owned(), value.clone()));
        }
    }

    /// The `Set-Cookie` headers the browser must get with this page.
    pub fn cookies_to_set(&self) -> Vec<HeaderValue> {
        let set = self.0.set_cookies.lock().expect("not poisoned");
        set.iter().map(|(_, value)| value.clone()).collect()
    }

    /// The services behind the gateway that answered a call of this page so far, by name.
    pub fn answered(&self) -> Vec<&'static str> {
        self.0.answered.lock().expect("not poisoned").iter().copied().collect()
    }

    /// Passes a request the storefront does not handle to the API untouched.
    pub async fn pass_through(api: &PublicApi, request: Request) -> Response {
        api.router
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|never| match never {})
    }
}

async fn read(response: Response) -> ApiResult<Bytes> {
    let limited = http_body_util::Limited::new(response.into_body(), MAX_ANSWER_BYTES);
    limited
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .map_err(|e| CallError::Unreadable(format!("reading the answer: {e}")))
}
