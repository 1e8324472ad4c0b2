//! The streaming reverse proxy to one upstream instance: rewrites the request for the
//! instance (hop-by-hop headers, forwarding headers, identity, request id, trace context),
//! sends it over a pooled keep-alive connection and streams the response back.
//! Choosing the instance and retrying are the caller's.
//!
//! An instance can also live in this process (the monolith stages): its router is registered
//! under a base URL of its own, and a request to it is a function call with the same
//! rewritten request, instead of a trip over a socket.

use std::{error::Error as _, net::IpAddr, sync::Arc, time::Duration};

use axum::{
    Router,
    body::Body,
    extract::Request,
    http::{
        HeaderMap, HeaderName, HeaderValue, Uri, Version, header,
        uri::{self, Authority, PathAndQuery},
    },
    response::Response,
};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::{TokioExecutor, TokioTimer},
};
use shop_contracts::identity::IDENTITY_HEADER;
use tower::ServiceExt;
use uuid::Uuid;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus the
/// non-standard ones still seen in the wild.
const HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Idle pooled connections are closed before a typical upstream server would close them,
/// so a request rarely races the server's own idle close.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Pooled HTTP/1.1 client to upstream instances (keep-alive connections are reused per
/// instance).
#[derive(Clone)]
pub struct Proxy {
    client: Client<HttpConnector, Body>,
    response_timeout: Duration,
    in_process: Option<Arc<InProcess>>,
}

/// The instance served by a router in this process, and the base URL that names it.
struct InProcess {
    url: String,
    router: Router,
}

/// How long the gateway waits for a connection to an instance to open.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The base URL of the instance that runs inside the gateway's own process.
pub const IN_PROCESS_URL: &str = "http://in-process";

/// What the gateway knows about the request and adds to it.
#[derive(Debug, Clone)]
pub struct Forwarded {
    pub client_ip: IpAddr,
    /// `http` or `https` as seen by the client.
    pub proto: &'static str,
    /// The Host the client used.
    pub host: Option<String>,
    pub request_id: String,
    /// Signed identity token for the signed-in user, set as `x-shop-identity`; None for
    /// anonymous requests.
    pub identity_token: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// Nothing reached the instance (refused, reset before the request was sent, DNS): safe
    /// to retry an idempotent request elsewhere.
    #[error("cannot connect to upstream: {0}")]
    Connect(String),
    /// No response headers within the response timeout.
    #[error("upstream did not answer within {0:?}")]
    Timeout(Duration),
    /// Anything else after the request was (maybe) sent.
    #[error("upstream failed: {0}")]
    Upstream(String),
}

impl Proxy {
    pub fn new(connect_timeout: Duration, response_timeout: Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(connect_timeout));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build(connector);
        Self {
            client,
            response_timeout,
            in_process: None,
        }
    }

    /// Serves requests for [`IN_PROCESS_URL`] with `router`, in this process.
    #[must_use]
    pub fn with_in_process(mut self, router: Router) -> Self {
        self.in_process = Some(Arc::new(InProcess {
            url: IN_PROCESS_URL.to_owned(),
            router,
        }));
        self
    }

    /// Sends `request` to `base_url` (e.g. `http://127.0.0.1:8082`; path and query are taken
    /// from the request URI) and returns the upstream's response with its body streamed.
    ///
    /// The response timeout covers everything up to the response headers: connecting,
    /// sending the request (body included, as far as the upstream reads it before answering)
    /// and waiting.
    ///
    /// # Panics
    /// If `context.identity_token` is not a valid header value (minted tokens are base64url).
    pub async fn forward(&self, base_url: &str, request: Request, context: &Forwarded) -> Result<Response, ProxyError> {
        let (mut parts, body) = request.into_parts();
        let (uri, authority) = instance_uri(base_url, parts.uri.path_and_query())?;
        parts.uri = uri;
        parts.version = Version::HTTP_11;
        prepare_request_headers(&mut parts.headers, &authority, context);
        self.send_prepared(base_url, Request::from_parts(parts, body)).await
    }

    /// Sends the gateway's own request (a credential check, a health check) to `base_url`,
    /// with the request's path and query, as it is.
    pub async fn send(&self, base_url: &str, request: Request) -> Result<Response, ProxyError> {
        let (mut parts, body) = request.into_parts();
        let (uri, authority) = instance_uri(base_url, parts.uri.path_and_query())?;
        parts.uri = uri;
        parts.headers.insert(
            header::HOST,
            HeaderValue::from_str(authority.as_str()).expect("an authority is a valid header value"),
        );
        self.send_prepared(base_url, Request::from_parts(parts, body)).await
    }

    async fn send_prepared(&self, base_url: &str, request: Request) -> Result<Response, ProxyError> {
        if let Some(local) = self.in_process.as_ref().filter(|local| local.url == base_url) {
            let handled = local.router.clone().oneshot(request);
            return match tokio::time::timeout(self.response_timeout, handled).await {
                Err(_) => Err(ProxyError::Timeout(self.response_timeout)),
                Ok(response) => Ok(response.unwrap_or_else(|never| match never {})),
            };
        }
        let pending = self.client.request(request);
        let response = match tokio::time::timeout(self.response_timeout, pending).await {
            Err(_) => return Err(ProxyError::Timeout(self.response_timeout)),
            Ok(Err(error)) => return Err(classify(error)),
            Ok(Ok(response)) => response,
        };
        let (mut parts, body) = response.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        Ok(Response::from_parts(parts, Body::new(body)))
    }
}

/// Largest answer the gateway reads for itself (a service's OpenAPI document is the largest).
const OWN_READ_LIMIT: usize = 4 * 1024 * 1024;

/// Reads an upstream's JSON answer to one of the gateway's own requests.
pub async fn read_json<T: serde::de::DeserializeOwned>(response: Response) -> Result<T, String> {
    let body = axum::body::to_bytes(response.into_body(), OWN_READ_LIMIT)
        .await
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&body).map_err(|e| e.to_string())
}

/// The request's URI pointed at the instance, and the instance's authority.
fn instance_uri(base_url: &str, path_and_query: Option<&PathAndQuery>) -> Result<(Uri, Authority), ProxyError> {
    let invalid = || ProxyError::Connect(format!("invalid upstream url {base_url:?}"));
    let base: Uri = base_url.parse().map_err(|_| invalid())?;
    let (Some(scheme), Some(authority)) = (base.scheme(), base.authority()) else {
        return Err(invalid());
    };
    let mut parts = uri::Parts::default();
    parts.scheme = Some(scheme.clone());
    parts.authority = Some(authority.clone());
    parts.path_and_query = Some(
        path_and_query
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/")),
    );
    let uri = Uri::from_parts(parts).map_err(|_| invalid())?;
    Ok((uri, authority.clone()))
}

fn prepare_request_headers(headers: &mut HeaderMap, instance: &Authority, context: &Forwarded) {
    strip_hop_by_hop(headers);

    // Whatever the client sent, only the gateway speaks for the user.
    headers.remove(IDENTITY_HEADER);
    if let Some(token) = &context.identity_token {
        let token = HeaderValue::try_from(token).expect("identity tokens are header-safe");
        headers.insert(IDENTITY_HEADER, token);
    }

    let client_ip = context.client_ip.to_canonical();
    append_element(headers, X_FORWARDED_FOR, &client_ip.to_string());
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(context.proto));
    // A Host that cannot be a header value is left out rather than failing the request.
    let host = context
        .host
        .as_deref()
        .and_then(|host| Some((host, HeaderValue::from_str(host).ok()?)));
    match &host {
        Some((_, value)) => headers.insert(X_FORWARDED_HOST, value.clone()),
        None => headers.remove(X_FORWARDED_HOST),
    };
    let host = host.map(|(host, _)| host);
    append_element(
        headers,
        header::FORWARDED,
        &forwarded_element(client_ip, context.proto, host),
    );

    match HeaderValue::from_str(&context.request_id) {
        Ok(request_id) => headers.insert(X_REQUEST_ID, request_id),
        Err(_) => headers.remove(X_REQUEST_ID),
    };
    ensure_trace_context(headers);

    headers.insert(
        header::HOST,
        HeaderValue::from_str(instance.as_str()).expect("an authority is a valid header value"),
    );
}

/// Removes the hop-by-hop headers, including those the Connection header names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named.iter().chain(&HOP_BY_HOP) {
        headers.remove(name);
    }
}

/// Appends `element` to the comma-separated list in `name`, folding earlier header lines
/// into one.
fn append_element(headers: &mut HeaderMap, name: HeaderName, element: &str) {
    let mut list = Vec::new();
    for value in headers.get_all(&name) {
        let value = value.as_bytes().trim_ascii();
        if !value.is_empty() {
            list.extend_from_slice(value);
            list.extend_from_slice(b", ");
        }
    }
    list.extend_from_slice(element.as_bytes());
    let list = HeaderValue::from_bytes(&list).expect("header values joined by commas are valid");
    headers.insert(name, list);
}

/// One RFC 7239 `Forwarded` element: `for=…;proto=…[;host=…]`.
fn forwarded_element(client_ip: IpAddr, proto: &str, host: Option<&str>) -> String {
    let node = match client_ip {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("\"[{ip}]\""),
    };
    let mut element = format!("for={node};proto={}", forwarded_value(proto));
    if let Some(host) = host {
        element.push_str(";host=");
        element.push_str(&forwarded_value(host));
    }
    element
}

/// A token as is, anything else as a quoted string.
fn forwarded_value(value: &str) -> String {
    let is_tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if !value.is_empty() && value.chars().all(is_tchar) {
        return value.to_owned();
    }
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

/// Passes a valid W3C `traceparent` through; otherwise starts a new trace (and drops a
/// `tracestate` that belonged to the unusable one).
fn ensure_trace_context(headers: &mut HeaderMap) {
    let mut values = headers.get_all(TRACEPARENT).iter();
    let valid = match (values.next(), values.next()) {
        (Some(value), None) => is_valid_traceparent(value.as_bytes()),
        _ => false,
    };
    if !valid {
        headers.insert(TRACEPARENT, new_traceparent());
        headers.remove(TRACESTATE);
    }
}

fn is_valid_traceparent(value: &[u8]) -> bool {
    let Ok(value) = std::str::from_utf8(value) else {
        return false;
    };
    let is_hex =
        |field: &str, len: usize| field.len() == len && field.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let not_zero = |field: &str| field.bytes().any(|b| b != b'0');
    let mut fields = value.split('-');
    let (Some(version), Some(trace_id), Some(parent_id), Some(flags)) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return false;
    };
    // Version 00 has exactly four fields; later versions may append more.
    let more = fields.next().is_some();
    is_hex(version, 2)
        && version != "ff"
        && !(version == "00" && more)
        && is_hex(trace_id, 32)
        && not_zero(trace_id)
        && is_hex(parent_id, 16)
        && not_zero(parent_id)
        && is_hex(flags, 2)
}

/// `00-<trace id>-<span id>-01` (sampled). Ids come from UUIDv7s, as elsewhere in the shop:
/// their rightmost bytes are random, and they are never all zeros.
fn new_traceparent() -> HeaderValue {
    let trace_id = Uuid::now_v7().simple().to_string();
    let span_id = Uuid::now_v7().simple().to_string();
    let value = format!("00-{trace_id}-{}-01", &span_id[16..]);
    HeaderValue::from_str(&value).expect("hex is a valid header value")
}

/// Nothing was sent when connecting failed, or when hyper hands the request back
/// unstarted (canceled: the connection closed first).
fn classify(error: hyper_util::client::legacy::Error) -> ProxyError {
    let unsent = error.is_connect()
        || error
            .source()
            .and_then(|source| source.downcast_ref::<hyper::Error>())
            .is_some_and(hyper::Error::is_canceled);
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    if unsent {
        ProxyError::Connect(message)
    } else {
        ProxyError::Upstream(message)
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    fn context(client_ip: IpAddr, host: Option<&str>) -> Forwarded {
        Forwarded {
            client_ip,
            proto: "https",
            host: host.map(str::to_owned),
            request_id: "req-1".into(),
            identity_token: None,
        }
    }

    fn prepared(mut headers: HeaderMap, context: &Forwarded) -> HeaderMap {
        let instance = Authority::from_static("10.0.0.7:8082");
        prepare_request_headers(&mut headers, &instance, context);
        headers
    }

    fn header_map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn forwarding_headers_fold_earlier_lines_and_append_the_client() {
        let headers = header_map(&[
            ("x-forwarded-for", "203.0.113.1"),
            ("x-forwarded-for", "198.51.100.2, 192.0.2.3"),
            ("forwarded", "for=192.0.2.60;proto=http"),
        ]);
        let client = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 43));
        let headers = prepared(headers, &context(client, Some("shop.example")));
        assert_eq!(
            headers["x-forwarded-for"],
            "203.0.113.1, 198.51.100.2, 192.0.2.3, 192.0.2.43"
        );
        assert_eq!(
            headers["forwarded"],
            "for=192.0.2.60;proto=http, for=192.0.2.43;proto=https;host=shop.example"
        );
        assert_eq!(headers["x-forwarded-proto"], "https");
        assert_eq!(headers["x-forwarded-host"], "shop.example");
        assert_eq!(headers["host"], "10.0.0.7:8082");
        assert_eq!(headers["x-request-id"], "req-1");
    }

    #[test]
    fn ipv6_clients_and_hosts_with_ports_are_quoted_in_forwarded() {
        let headers = prepared(
            HeaderMap::new(),
            &context(IpAddr::V6(Ipv6Addr::LOCALHOST), Some("localhost:8080")),
        );
        assert_eq!(headers["x-forwarded-for"], "::1");
        assert_eq!(
            headers["forwarded"],
            "for=\"[::1]\";proto=https;host=\"localhost:8080\""
        );
    }

    #[test]
    fn ipv4_mapped_clients_are_written_as_ipv4() {
        let mapped = IpAddr::V6(Ipv4Addr::new(127, 0, 0, 1).to_ipv6_mapped());
        let headers = prepared(HeaderMap::new(), &context(mapped, None));
        assert_eq!(headers["x-forwarded-for"], "127.0.0.1");
        assert_eq!(headers["forwarded"], "for=127.0.0.1;proto=https");
    }

    #[test]
    fn client_sent_forwarded_host_is_dropped_without_a_host() {
        let headers = header_map(&[("x-forwarded-host", "evil.example")]);
        let headers = prepared(headers, &context(Ipv4Addr::LOCALHOST.into(), None));
        assert!(!headers.contains_key("x-forwarded-host"));
    }

    #[test]
    fn forwarded_values_quote_and_escape_non_tokens() {
        assert_eq!(forwarded_value("shop.example"), "shop.example");
        assert_eq!(forwarded_value("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(forwarded_value(""), "\"\"");
    }

    #[test]
    fn hop_by_hop_headers_and_those_named_in_connection_are_removed() {
        let mut headers = header_map(&[
            ("connection", "keep-alive, X-Secret"),
            ("connection", "x-other"),
            ("keep-alive", "timeout=5"),
            ("proxy-connection", "keep-alive"),
            ("proxy-authorization", "Basic eA=="),
            ("proxy-authenticate", "Basic"),
            ("te", "trailers"),
            ("trailer", "x-checksum"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("x-secret", "1"),
            ("x-other", "2"),
            ("accept", "application/json"),
        ]);
        strip_hop_by_hop(&mut headers);
        let names: Vec<_> = headers.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["accept"]);
    }

    #[test]
    fn identity_from_the_client_is_replaced_or_removed() {
        let sent = header_map(&[("x-shop-identity", "v1.forged.token")]);
        let anonymous = prepared(sent.clone(), &context(Ipv4Addr::LOCALHOST.into(), None));
        assert!(!anonymous.contains_key(IDENTITY_HEADER));

        let mut signed_in = context(Ipv4Addr::LOCALHOST.into(), None);
        signed_in.identity_token = Some("v1.real.token".into());
        let headers = prepared(sent, &signed_in);
        let values: Vec<_> = headers.get_all(IDENTITY_HEADER).iter().collect();
        assert_eq!(values, ["v1.real.token"]);
    }

    #[test]
    fn traceparent_validation_follows_w3c() {
        let valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert!(is_valid_traceparent(valid.as_bytes()));
        // A later version may carry more fields.
        assert!(is_valid_traceparent(
            b"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"
        ));
        for invalid in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
        ] {
            assert!(!is_valid_traceparent(invalid.as_bytes()), "{invalid}");
        }
    }

    #[test]
    fn new_traceparents_are_valid_and_distinct() {
        let first = new_traceparent();
        let second = new_traceparent();
        assert!(is_valid_traceparent(first.as_bytes()));
        assert!(first.to_str().unwrap().ends_with("-01"));
        assert_ne!(first, second);
    }

    #[test]
    fn invalid_or_repeated_traceparent_starts_a_new_trace_without_tracestate() {
        let valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let mut kept = header_map(&[("traceparent", valid), ("tracestate", "shop=1")]);
        ensure_trace_context(&mut kept);
        assert_eq!(kept["traceparent"], valid);
        assert_eq!(kept["tracestate"], "shop=1");

        for sent in [
            header_map(&[("traceparent", "garbage"), ("tracestate", "shop=1")]),
            header_map(&[("traceparent", valid), ("traceparent", valid), ("tracestate", "shop=1")]),
        ] {
            let mut headers = sent;
            ensure_trace_context(&mut headers);
            assert_eq!(headers.get_all("traceparent").iter().count(), 1);
            assert_ne!(headers["traceparent"], valid);
            assert!(is_valid_traceparent(headers["traceparent"].as_bytes()));
            assert!(!headers.contains_key("tracestate"));
        }
    }

    #[test]
    fn the_uri_points_at_the_instance_with_the_request_path_and_query() {
        let path = PathAndQuery::from_static("/api/products?page=2");
        let (uri, authority) = instance_uri("http://127.0.0.1:8082", Some(&path)).unwrap();
        assert_eq!(uri, "http://127.0.0.1:8082/api/products?page=2");
        assert_eq!(authority, "127.0.0.1:8082");
        let (uri, _) = instance_uri("http://product:80/", None).unwrap();
        assert_eq!(uri, "http://product:80/");
        for invalid in ["", "127.0.0.1:8082", "/just/a/path", "http://"] {
            assert!(
                matches!(instance_uri(invalid, None), Err(ProxyError::Connect(_))),
                "{invalid}"
            );
        }
    }
}
