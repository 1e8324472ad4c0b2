//! A service answering before it has read a request's body keeps the connection usable: the
//! next request on it (the gateway's pooled connection) is answered, not cut off.

use std::time::Duration;

use axum::http::StatusCode;
use shop_contracts::IdentityKey;
use shop_platform::{
    error::ApiError,
    server::{BODY_LIMIT_BYTES, Readiness, Service},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use utoipa_axum::router::OpenApiRouter;

/// A service whose `/refuse` answers 401 from the headers alone, never reading the body.
async fn service() -> std::net::SocketAddr {
    let api = OpenApiRouter::new().route(
        "/refuse",
        axum::routing::post(|| async { ApiError::Unauthorized("no identity".into()) }),
    );
    let router = Service {
        name: "body-test",
        api,
        readiness: Readiness::check(|| async { Ok(()) }),
        identity_key: IdentityKey::new("a-test-identity-key-of-at-least-32-bytes").unwrap(),
    }
    .into_router();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(shop_platform::server::serve(
        listener,
        router,
        Duration::from_secs(1),
        std::future::pending(),
    ));
    addr
}

/// Reads one response with a `content-length` and returns its status line's code.
async fn read_response(stream: &mut TcpStream) -> Option<u16> {
    let mut buffer = Vec::new();
    let mut chunk = [0; 4096];
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .map_or(0, |value| value.trim().parse().unwrap());
            if buffer.len() >= end + 4 + length {
                return head.split(' ').nth(1).and_then(|code| code.parse().ok());
            }
        }
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk)).await {
            Ok(Ok(0) | Err(_)) => return None,
            Ok(Ok(n)) => buffer.extend_from_slice(&chunk[..n]),
            Err(_) => panic!("no answer within 5 s"),
        }
    }
}

#[tokio::test]
async fn a_body_arriving_after_the_answer_leaves_the_connection_usable() {
    let addr = service().await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST /refuse HTTP/1.1\r\nhost: s\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n")
        .await
        .unwrap();
    // The body comes later, as a second segment would.
    tokio::time::sleep(Duration::from_millis(50)).await;
    stream.write_all(b"{}").await.unwrap();
    assert_eq!(read_response(&mut stream).await, Some(401));

    tokio::time::sleep(Duration::from_millis(50)).await;
    let second = stream.write_all(b"GET /healthz HTTP/1.1\r\nhost: s\r\n\r\n").await;
    assert!(second.is_ok(), "the connection was closed: {second:?}");
    assert_eq!(
        read_response(&mut stream).await,
        Some(200),
        "the next request on the connection is answered"
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_before_any_handler() {
    let addr = service().await;
    let client = reqwest::Client::new();
    let response = client
        .post(format!("http://{addr}/refuse"))
        .body(vec![b'x'; BODY_LIMIT_BYTES + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let within = client
        .post(format!("http://{addr}/refuse"))
        .body(vec![b'x'; BODY_LIMIT_BYTES])
        .send()
        .await
        .unwrap();
    assert_eq!(within.status(), StatusCode::UNAUTHORIZED);
}
