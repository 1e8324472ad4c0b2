//! The shop's public API as a browser sees it: one session per shopper (the `shop_session`
//! cookie), `Sec-Fetch-Site: same-origin` on every request as the shop's own pages send it
//! (the gateway's CSRF rule), and every call recorded under its endpoint and journey step.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use reqwest::{Method, header};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::stats::{Context, Outcome, Recorder};

const SESSION_COOKIE: &str = "shop_session";

/// The shop behind one base URL, and where its calls are recorded.
pub struct Shop {
    http: reqwest::Client,
    base_url: String,
    recorder: Arc<Recorder>,
}

impl Shop {
    pub fn new(base_url: &str, timeout: Duration, recorder: Arc<Recorder>) -> anyhow::Result<Arc<Self>> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()?;
        Ok(Arc::new(Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            recorder,
        }))
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }
}

/// One request: the endpoint it counts under (a path template), the journey step it belongs
/// to, and what to send. Unrecorded sessions ignore the two names; they pass `""`.
#[derive(Clone)]
pub struct Request {
    pub endpoint: &'static str,
    pub step: &'static str,
    pub method: Method,
    pub path: String,
    pub body: Option<Value>,
    pub idempotency_key: Option<String>,
}

impl Request {
    pub fn get(endpoint: &'static str, step: &'static str, path: impl Into<String>) -> Self {
        Self {
            endpoint,
            step,
            method: Method::GET,
            path: path.into(),
            body: None,
            idempotency_key: None,
        }
    }

    pub fn with_body(
        method: Method,
        endpoint: &'static str,
        step: &'static str,
        path: impl Into<String>,
        body: Value,
    ) -> Self {
        Self {
            endpoint,
            step,
            method,
            path: path.into(),
            body: Some(body),
            idempotency_key: None,
        }
    }

    pub fn idempotency_key(mut self, key: String) -> Self {
        self.idempotency_key = Some(key);
        self
    }
}

/// An answer, body read in full.
pub struct Reply {
    /// The request it answers, `METHOD path`.
    pub request: String,
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A 5xx: the shop (or a part of it) is failing, and the same request may work later.
    pub fn is_server_error(&self) -> bool {
        self.status >= 500
    }

    /// The start of the body, for error messages.
    pub fn excerpt(&self) -> String {
        String::from_utf8_lossy(&self.body[..self.body.len().min(300)]).into_owned()
    }

    /// This reply if it is a 2xx, else an error naming the request and the answer.
    pub fn success(self) -> anyhow::Result<Self> {
        if !self.is_success() {
            bail!("{} answered {}: {}", self.request, self.status, self.excerpt());
        }
        Ok(self)
    }

    pub fn json<T: DeserializeOwned>(&self) -> anyhow::Result<T> {
        serde_json::from_slice(&self.body).with_context(|| {
            format!(
                "unexpected answer ({}): {}",
                self.status,
                String::from_utf8_lossy(&self.body[..self.body.len().min(300)])
            )
        })
    }
}

/// A shopper's (or the administrator's) conversation with the shop.
pub struct Session {
    shop: Arc<Shop>,
    cookie: Option<String>,
    /// Recorded under this journey and phase; `None` for set-up and checking traffic.
    context: Option<Context>,
    /// The intended start of the journey: the first request's latency is measured from it,
    /// so a late start shows as latency (no coordinated omission).
    due: Option<Instant>,
    /// Checking traffic that must outlast a fault (see [`Session::checking`]).
    patience: Option<Patience>,
}

/// How a checking session rides out a fault: whom to sign in as again when the session is
/// lost, and how long to keep retrying a request that got no answer or a 5xx.
struct Patience {
    email: String,
    password: String,
    limit: Duration,
}

/// Pause between the retries of a checking session.
const RETRY_PAUSE: Duration = Duration::from_millis(250);

fn login(step: &'static str, email: &str, password: &str) -> Request {
    Request::with_body(
        Method::POST,
        "POST /api/auth/login",
        step,
        "/api/auth/login",
        serde_json::json!({"email": email, "password": password}),
    )
}

impl Session {
    /// A shopper whose calls are recorded; the first is measured from `due`.
    pub fn recorded(shop: Arc<Shop>, context: Context, due: Instant) -> Self {
        Self {
            shop,
            cookie: None,
            context: Some(context),
            due: Some(due),
            patience: None,
        }
    }

    /// Set-up and verification traffic, not part of the measurements.
    pub fn unrecorded(shop: Arc<Shop>) -> Self {
        Self {
            shop,
            cookie: None,
            context: None,
            due: None,
            patience: None,
        }
    }

    /// Checking traffic (the stock snapshot, the reconciliation, the freshness probe) that
    /// outlasts faults, signed in as `email`: a lost session (401, e.g. the session store
    /// restarted empty) is signed in again, and a request that got no answer or a 5xx is
    /// retried, for up to `limit` per request. Unrecorded.
    pub async fn checking(shop: Arc<Shop>, email: &str, password: &str, limit: Duration) -> anyhow::Result<Self> {
        let mut session = Self {
            patience: Some(Patience {
                email: email.to_owned(),
                password: password.to_owned(),
                limit,
            }),
            ..Self::unrecorded(shop)
        };
        session.sign_in("", email, password).await?;
        Ok(session)
    }

    /// Sends `request`; any answer but a 2xx is an error (recorded first).
    pub async fn call(&mut self, request: Request) -> anyhow::Result<Reply> {
        self.send(request).await?.success()
    }

    /// Sends `request` and records how it went; an error only when no answer came. A checking
    /// session retries as [`Session::checking`] says.
    pub async fn send(&mut self, request: Request) -> anyhow::Result<Reply> {
        let Some(limit) = self.patience.as_ref().map(|patience| patience.limit) else {
            return self.attempt(request).await;
        };
        let give_up = Instant::now() + limit;
        loop {
            let result = self.attempt(request.clone()).await;
            let lost_session = matches!(&result, Ok(reply) if reply.status == 401);
            let failed = result.as_ref().map_or(true, Reply::is_server_error);
            if !(lost_session || failed) || Instant::now() >= give_up {
                return result;
            }
            tokio::time::sleep(RETRY_PAUSE).await;
            if lost_session && let Some(patience) = &self.patience {
                let login = login("", &patience.email, &patience.password);
                // A sign-in that fails too is tried again with the next retry.
                let _ = self.attempt(login).await;
            }
        }
    }

    async fn attempt(&mut self, request: Request) -> anyhow::Result<Reply> {
        let Request {
            endpoint,
            step,
            method,
            path,
            body,
            idempotency_key,
        } = request;
        let mut builder = self
            .shop
            .http
            .request(method.clone(), format!("{}{path}", self.shop.base_url))
            .header("sec-fetch-site", "same-origin");
        if let Some(cookie) = &self.cookie {
            builder = builder.header(header::COOKIE, format!("{SESSION_COOKIE}={cookie}"));
        }
        if let Some(key) = idempotency_key {
            builder = builder.header("Idempotency-Key", key);
        }
        if let Some(body) = &body {
            builder = builder.json(body);
        }
        let started = self.due.take().unwrap_or_else(Instant::now);
        let result = match builder.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let cookie = session_cookie(response.headers());
                match response.bytes().await {
                    Ok(bytes) => Ok((status, cookie, bytes.to_vec())),
                    Err(error) => Err(error),
                }
            }
            Err(error) => Err(error),
        };
        let latency = started.elapsed();
        let outcome = match &result {
            Ok((status, ..)) => Outcome::Status(*status),
            Err(error) if error.is_timeout() => Outcome::Timeout,
            Err(_) => Outcome::Transport,
        };
        if let Some(context) = self.context {
            self.shop.recorder.request(context, endpoint, step, latency, outcome);
        }
        let request = format!("{method} {path}");
        let (status, cookie, body) = match result {
            Ok(answer) => answer,
            Err(error) => {
                if self.context.is_some() {
                    self.shop.recorder.error_sample(format!("{request} → {error}"));
                }
                return Err(error).context(request);
            }
        };
        if let Some(cookie) = cookie {
            // An emptied cookie is the gateway signing the session out.
            self.cookie = (!cookie.is_empty()).then_some(cookie);
        }
        let reply = Reply { request, status, body };
        if !reply.is_success() && self.context.is_some() {
            self.shop
                .recorder
                .error_sample(format!("{} → {}: {}", reply.request, status, reply.excerpt()));
        }
        Ok(reply)
    }

    pub async fn get<T: DeserializeOwned>(
        &mut self,
        endpoint: &'static str,
        step: &'static str,
        path: impl Into<String>,
    ) -> anyhow::Result<T> {
        self.call(Request::get(endpoint, step, path)).await?.json()
    }

    pub async fn sign_in(&mut self, step: &'static str, email: &str, password: &str) -> anyhow::Result<()> {
        self.call(login(step, email, password)).await?;
        if self.cookie.is_none() {
            bail!("signed in as {email}, but the gateway set no session cookie");
        }
        Ok(())
    }

    /// Leaves without signing out: the session cookie, for the shopper's next visit.
    pub fn keep_signed_in(&mut self) -> Option<String> {
        self.cookie.take()
    }

    /// Continues a session kept from an earlier visit (no sign-in request).
    pub fn resume(&mut self, cookie: String) {
        self.cookie = Some(cookie);
    }

    pub async fn sign_out(&mut self, step: &'static str) -> anyhow::Result<()> {
        self.call(Request::with_body(
            Method::POST,
            "POST /api/auth/logout",
            step,
            "/api/auth/logout",
            serde_json::json!({}),
        ))
        .await?;
        self.cookie = None;
        Ok(())
    }
}

/// The value of a `shop_session` cookie being set, if the response sets one.
fn session_cookie(headers: &header::HeaderMap) -> Option<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| {
            let pair = value.split(';').next()?.trim();
            Some(pair.strip_prefix(SESSION_COOKIE)?.strip_prefix('=')?.to_owned())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_read_from_set_cookie() {
        let mut headers = header::HeaderMap::new();
        headers.append(header::SET_COOKIE, "other=1; Path=/".parse().unwrap());
        headers.append(
            header::SET_COOKIE,
            "shop_session=abc; HttpOnly; SameSite=Lax; Path=/".parse().unwrap(),
        );
        assert_eq!(session_cookie(&headers).as_deref(), Some("abc"));
        assert_eq!(session_cookie(&header::HeaderMap::new()), None);
    }
}
