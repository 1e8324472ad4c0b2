//! The proxy over real sockets: a test client talks to a tiny gateway (the proxy mounted in an
//! axum router) on loopback, which forwards to real axum upstreams on loopback.

use std::{
    net::{Ipv4Addr, SocketAddr},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{any, get, post},
    serve::ListenerExt,
};
use futures_util::{StreamExt, stream};
use gateway::proxy::{Forwarded, Proxy, ProxyError};
use http_body_util::StreamBody;
use hyper::body::Frame;
use serde_json::{Value, json};
use tokio::{net::TcpListener, sync::mpsc};

const REQUEST_ID: &str = "test-request-7";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const LARGE: usize = 8 * 1024 * 1024;

fn proxy() -> Proxy {
    Proxy::new(Duration::from_secs(2), Duration::from_secs(10))
}

/// Serves `router` on a fresh loopback port; returns its base URL and the number of
/// connections it has accepted so far.
async fn serve(router: Router) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    let listener = listener.tap_io(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await.unwrap() });
    (url, accepted)
}

#[derive(Clone)]
struct Gateway {
    proxy: Proxy,
    upstream: String,
    identity_token: Option<String>,
}

/// The proxy mounted the way the gateway mounts it; errors become a 502 naming the variant.
async fn spawn_gateway(upstream: &str, identity_token: Option<&str>) -> String {
    let gateway = Gateway {
        proxy: proxy(),
        upstream: upstream.to_owned(),
        identity_token: identity_token.map(str::to_owned),
    };
    let router = Router::new().fallback(forward_handler).with_state(gateway);
    serve(router).await.0
}

async fn forward_handler(
    State(gateway): State<Gateway>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let context = Forwarded {
        client_ip: client.ip(),
        proto: "https",
        host: request
            .headers()
            .get(header::HOST)
            .and_then(|host| host.to_str().ok())
            .map(str::to_owned),
        request_id: REQUEST_ID.into(),
        identity_token: gateway.identity_token.clone(),
    };
    match gateway.proxy.forward(&gateway.upstream, request, &context).await {
        Ok(response) => response,
        Err(error) => (StatusCode::BAD_GATEWAY, format!("{error:?}")).into_response(),
    }
}

/// Returns the request it saw: method, path and query, and every header line.
async fn echo(request: Request) -> Response {
    let headers: Vec<Value> = request
        .headers()
        .iter()
        .map(|(name, value)| json!([name.as_str(), value.to_str().unwrap()]))
        .collect();
    let seen = json!({
        "method": request.method().as_str(),
        "uri": request.uri().to_string(),
        "headers": headers,
    });
    (
        [
            ("connection", "x-upstream-hop"),
            ("x-upstream-hop", "secret"),
            ("keep-alive", "timeout=5"),
            ("proxy-authenticate", "Basic"),
            ("trailer", "x-checksum"),
            ("upgrade", "h2c"),
            ("x-upstream-kept", "yes"),
        ],
        axum::Json(seen),
    )
        .into_response()
}

/// The values of header `name` in an echoed request, one per line.
fn seen(echoed: &Value, name: &str) -> Vec<String> {
    echoed["headers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|pair| pair[0] == name)
        .map(|pair| pair[1].as_str().unwrap().to_owned())
        .collect()
}

fn seen_one(echoed: &Value, name: &str) -> String {
    let values = seen(echoed, name);
    assert_eq!(values.len(), 1, "{name}: {values:?}");
    values.into_iter().next().unwrap()
}

async fn echo_through_gateway(identity_token: Option<&str>, headers: &[(&str, &str)]) -> (HeaderMap, Value, String) {
    let (upstream, _) = serve(Router::new().route("/{*path}", any(echo))).await;
    let gateway = spawn_gateway(&upstream, identity_token).await;
    let mut request = reqwest::Client::new().get(format!("{gateway}/api/products?page=2&q=a%20b"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    let echoed = response.json().await.unwrap();
    (headers, echoed, upstream)
}

#[tokio::test]
async fn forwarding_headers_are_set_and_the_uri_points_at_the_instance() {
    let (_, echoed, upstream) = echo_through_gateway(None, &[("x-forwarded-for", "203.0.113.9")]).await;

    assert_eq!(echoed["method"], "GET");
    assert_eq!(echoed["uri"], "/api/products?page=2&q=a%20b");
    assert_eq!(seen_one(&echoed, "host"), upstream.trim_start_matches("http://"));
    assert_eq!(seen_one(&echoed, "x-forwarded-for"), "203.0.113.9, 127.0.0.1");
    assert_eq!(seen_one(&echoed, "x-forwarded-proto"), "https");
    let gateway_host = seen_one(&echoed, "x-forwarded-host");
    assert!(gateway_host.starts_with("127.0.0.1:"), "{gateway_host}");
    assert_eq!(
        seen_one(&echoed, "forwarded"),
        format!("for=127.0.0.1;proto=https;host=\"{gateway_host}\"")
    );
    assert_eq!(seen_one(&echoed, "x-request-id"), REQUEST_ID);
}

#[tokio::test]
async fn a_client_request_id_is_replaced_by_the_gateways() {
    let (_, echoed, _) = echo_through_gateway(None, &[("x-request-id", "client-chosen")]).await;
    assert_eq!(seen_one(&echoed, "x-request-id"), REQUEST_ID);
}

#[tokio::test]
async fn a_valid_traceparent_and_its_tracestate_pass_through_unchanged() {
    let (_, echoed, _) = echo_through_gateway(None, &[("traceparent", TRACEPARENT), ("tracestate", "shop=abc")]).await;
    assert_eq!(seen_one(&echoed, "traceparent"), TRACEPARENT);
    assert_eq!(seen_one(&echoed, "tracestate"), "shop=abc");
}

fn assert_new_traceparent(traceparent: &str) {
    let fields: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(fields.len(), 4, "{traceparent}");
    assert_eq!(fields[0], "00");
    assert_eq!(fields[1].len(), 32);
    assert_eq!(fields[2].len(), 16);
    assert_eq!(fields[3], "01");
    assert!(
        fields[1..3]
            .iter()
            .all(|id| id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))),
        "{traceparent}"
    );
}

#[tokio::test]
async fn a_missing_traceparent_is_created() {
    let (_, echoed, _) = echo_through_gateway(None, &[]).await;
    assert_new_traceparent(&seen_one(&echoed, "traceparent"));
}

#[tokio::test]
async fn a_malformed_traceparent_is_replaced_and_its_tracestate_dropped() {
    let (_, echoed, _) =
        echo_through_gateway(None, &[("traceparent", "00-nonsense-01"), ("tracestate", "shop=abc")]).await;
    assert_new_traceparent(&seen_one(&echoed, "traceparent"));
    assert!(seen(&echoed, "tracestate").is_empty());
}

#[tokio::test]
async fn a_client_cannot_forge_identity() {
    let forged = [("x-shop-identity", "v1.forged.signature")];

    let (_, anonymous, _) = echo_through_gateway(None, &forged).await;
    assert!(seen(&anonymous, "x-shop-identity").is_empty());

    let (_, signed_in, _) = echo_through_gateway(Some("v1.minted.token"), &forged).await;
    assert_eq!(seen(&signed_in, "x-shop-identity"), ["v1.minted.token"]);

    // Naming the header in Connection does not get the client's own value through either.
    let (_, via_connection, _) = echo_through_gateway(
        Some("v1.minted.token"),
        &[
            ("connection", "x-shop-identity"),
            ("x-shop-identity", "v1.forged.signature"),
        ],
    )
    .await;
    assert_eq!(seen(&via_connection, "x-shop-identity"), ["v1.minted.token"]);
}

#[tokio::test]
async fn hop_by_hop_headers_are_removed_both_ways() {
    let (response_headers, echoed, _) = echo_through_gateway(
        None,
        &[
            ("connection", "keep-alive, x-client-hop"),
            ("x-client-hop", "secret"),
            ("keep-alive", "timeout=5"),
            ("proxy-connection", "keep-alive"),
            ("proxy-authorization", "Basic dXNlcjpwYXNz"),
            ("te", "trailers"),
            ("trailer", "x-checksum"),
            ("x-client-kept", "yes"),
        ],
    )
    .await;
    for name in [
        "connection",
        "x-client-hop",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ] {
        assert!(seen(&echoed, name).is_empty(), "{name} reached the upstream");
    }
    assert_eq!(seen_one(&echoed, "x-client-kept"), "yes");

    for name in [
        "connection",
        "x-upstream-hop",
        "keep-alive",
        "proxy-authenticate",
        "trailer",
        "upgrade",
        "transfer-encoding",
    ] {
        assert!(!response_headers.contains_key(name), "{name} reached the client");
    }
    assert_eq!(response_headers["x-upstream-kept"], "yes");
}

/// FNV-1a: independent of how the bytes are split into chunks.
fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// `LARGE` deterministic pseudo-random bytes in 64 KiB chunks, so misordered or lost chunks
/// change the hash.
fn large_chunks() -> impl Iterator<Item = Bytes> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..LARGE / 65_536).map(move |_| {
        let chunk: Vec<u8> = (0..65_536)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        Bytes::from(chunk)
    })
}

fn large_hash() -> u64 {
    large_chunks().fold(FNV_OFFSET, |hash, chunk| fnv1a(hash, &chunk))
}

/// Hashes the request body as it streams in.
async fn hash_upload(request: Request) -> String {
    let mut body = request.into_body().into_data_stream();
    let (mut length, mut hash) = (0, FNV_OFFSET);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.unwrap();
        length += chunk.len();
        hash = fnv1a(hash, &chunk);
    }
    format!("{length} {hash}")
}

async fn download() -> Body {
    Body::from_stream(stream::iter(large_chunks().map(Ok::<_, std::io::Error>)))
}

#[tokio::test]
async fn large_bodies_stream_through_intact_both_ways() {
    let router = Router::new()
        .route("/upload", post(hash_upload))
        .route("/download", get(download));
    let (upstream, _) = serve(router).await;
    let gateway = spawn_gateway(&upstream, None).await;
    let client = reqwest::Client::new();

    // Without a Content-Length the upload is chunked all the way.
    let upload = reqwest::Body::wrap(StreamBody::new(stream::iter(
        large_chunks().map(|chunk| Ok::<_, std::io::Error>(Frame::data(chunk))),
    )));
    let response = client
        .post(format!("{gateway}/upload"))
        .body(upload)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), format!("{LARGE} {}", large_hash()));

    let mut response = client.get(format!("{gateway}/download")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let (mut length, mut hash) = (0, FNV_OFFSET);
    while let Some(chunk) = response.chunk().await.unwrap() {
        length += chunk.len();
        hash = fnv1a(hash, &chunk);
    }
    assert_eq!((length, hash), (LARGE, large_hash()));
}

/// Streams whatever the test sends on the channel, ending when the test drops the sender.
async fn stream_from_test(State(chunks): State<Arc<Mutex<Option<mpsc::Receiver<Bytes>>>>>) -> Body {
    let receiver = chunks.lock().unwrap().take().expect("one request");
    Body::from_stream(stream::unfold(receiver, |mut receiver| async move {
        let chunk = receiver.recv().await?;
        Some((Ok::<_, std::io::Error>(chunk), receiver))
    }))
}

#[tokio::test]
async fn a_streaming_response_arrives_before_the_upstream_finishes() {
    let (sender, receiver) = mpsc::channel(4);
    let router = Router::new()
        .route("/events", get(stream_from_test))
        .with_state(Arc::new(Mutex::new(Some(receiver))));
    let (upstream, _) = serve(router).await;
    let gateway = spawn_gateway(&upstream, None).await;

    sender.send(Bytes::from_static(b"first")).await.unwrap();
    // The upstream still holds the rest: a buffering proxy would never deliver this.
    let (mut response, first) = tokio::time::timeout(Duration::from_secs(10), async {
        let mut response = reqwest::get(format!("{gateway}/events")).await.unwrap();
        let first = response.chunk().await.unwrap();
        (response, first)
    })
    .await
    .expect("the first chunk arrives while the upstream is still streaming");
    assert_eq!(response.status(), 200);
    assert_eq!(first.as_deref(), Some(&b"first"[..]));

    sender.send(Bytes::from_static(b"second")).await.unwrap();
    sender.send(Bytes::from_static(b"third")).await.unwrap();
    drop(sender);
    let mut rest = Vec::new();
    while let Some(chunk) = response.chunk().await.unwrap() {
        rest.extend_from_slice(&chunk);
    }
    assert_eq!(rest, b"secondthird");
}

fn context() -> Forwarded {
    Forwarded {
        client_ip: Ipv4Addr::LOCALHOST.into(),
        proto: "http",
        host: None,
        request_id: REQUEST_ID.into(),
        identity_token: None,
    }
}

fn get_request(path: &str) -> Request {
    Request::get(path).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn a_port_without_a_listener_is_a_connect_error() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);

    let error = proxy()
        .forward(&closed, get_request("/api/products"), &context())
        .await
        .unwrap_err();
    assert!(matches!(error, ProxyError::Connect(_)), "{error:?}");
}

#[tokio::test]
async fn an_upstream_that_never_answers_is_a_timeout() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let silent = format!("http://{}", listener.local_addr().unwrap());
    // Accepts and holds connections open without ever answering.
    tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            held.push(listener.accept().await.unwrap().0);
        }
    });

    let timeout = Duration::from_millis(200);
    let error = Proxy::new(Duration::from_secs(2), timeout)
        .forward(&silent, get_request("/api/products"), &context())
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProxyError::Timeout(waited) if waited == timeout),
        "{error:?}"
    );
}

#[tokio::test]
async fn sequential_requests_reuse_pooled_connections() {
    let (upstream, accepted) = serve(Router::new().route("/{*path}", any(echo))).await;
    let proxy = proxy();
    for _ in 0..20 {
        let response = proxy
            .forward(&upstream, get_request("/api/products"), &context())
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        // Reading the body to its end frees the connection for the next request.
        axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    }
    let accepted = accepted.load(Ordering::SeqCst);
    // One connection is expected; another may open while the first is being returned to
    // the pool. Without pooling there would be 20.
    assert!(accepted < 5, "{accepted} connections for 20 requests");
}
