//! The rate limiter against a real Redis, and its 429 response.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{StatusCode, header};
use gateway::limits::{Decision, RateLimiter, too_many_requests};
use http_body_util::BodyExt;
use redis::AsyncCommands;
use serde_json::Value;
use shop_testkit::RedisPrefix;

const MINUTE: Duration = Duration::from_secs(60);
const SECOND: Duration = Duration::from_secs(1);

fn until_window_ends(window: Duration) -> Duration {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis();
    let window = window.as_millis();
    Duration::from_millis((window - now % window) as u64)
}

/// Waits, if needed, so that the next 300 ms fall in one window: a test's calls then share it.
async fn away_from_window_end(window: Duration) {
    let left = until_window_ends(window);
    if left < Duration::from_millis(300) {
        tokio::time::sleep(left + Duration::from_millis(10)).await;
    }
}

async fn check(limiter: &RateLimiter, scope: &str, subject: &str, limit: u32, window: Duration) -> Decision {
    limiter
        .check(scope, subject, limit, window)
        .await
        .expect("Redis answers")
}

#[tokio::test]
async fn the_call_past_the_limit_is_limited_until_the_window_ends() {
    let test_redis = RedisPrefix::new();
    let prefix = test_redis.prefix.clone();
    let limiter = RateLimiter::new(test_redis.connection().await, &prefix);

    away_from_window_end(MINUTE).await;
    for remaining in [2, 1, 0] {
        let decision = check(&limiter, "api", "10.0.0.1", 3, MINUTE).await;
        assert_eq!(decision, Decision::Allowed { remaining });
    }
    let Decision::Limited { retry_after } = check(&limiter, "api", "10.0.0.1", 3, MINUTE).await else {
        panic!("the fourth call in the window is limited");
    };
    assert!(retry_after <= MINUTE, "{retry_after:?}");
    assert!(retry_after >= SECOND, "{retry_after:?}");
    assert!(
        retry_after.abs_diff(until_window_ends(MINUTE)) < SECOND,
        "{retry_after:?}"
    );
    assert!(matches!(
        check(&limiter, "api", "10.0.0.1", 3, MINUTE).await,
        Decision::Limited { .. }
    ));
}

#[tokio::test]
async fn a_new_window_allows_again() {
    let test_redis = RedisPrefix::new();
    let prefix = test_redis.prefix.clone();
    let limiter = RateLimiter::new(test_redis.connection().await, &prefix);

    away_from_window_end(SECOND).await;
    assert_eq!(
        check(&limiter, "login", "10.0.0.1", 1, SECOND).await,
        Decision::Allowed { remaining: 0 }
    );
    let Decision::Limited { retry_after } = check(&limiter, "login", "10.0.0.1", 1, SECOND).await else {
        panic!("the second call in the window is limited");
    };
    assert_eq!(retry_after, SECOND, "at least a second, at most the window");

    tokio::time::sleep(until_window_ends(SECOND)).await;
    assert_eq!(
        check(&limiter, "login", "10.0.0.1", 1, SECOND).await,
        Decision::Allowed { remaining: 0 }
    );
}

#[tokio::test]
async fn subjects_and_scopes_are_counted_separately() {
    let test_redis = RedisPrefix::new();
    let prefix = test_redis.prefix.clone();
    let limiter = RateLimiter::new(test_redis.connection().await, &prefix);

    away_from_window_end(MINUTE).await;
    assert_eq!(
        check(&limiter, "api", "10.0.0.1", 1, MINUTE).await,
        Decision::Allowed { remaining: 0 }
    );
    assert_eq!(
        check(&limiter, "api", "10.0.0.2", 1, MINUTE).await,
        Decision::Allowed { remaining: 0 }
    );
    assert_eq!(
        check(&limiter, "login", "10.0.0.1", 1, MINUTE).await,
        Decision::Allowed { remaining: 0 }
    );
    assert!(matches!(
        check(&limiter, "api", "10.0.0.1", 1, MINUTE).await,
        Decision::Limited { .. }
    ));
    assert!(matches!(
        check(&limiter, "api", "10.0.0.2", 1, MINUTE).await,
        Decision::Limited { .. }
    ));
    assert!(matches!(
        check(&limiter, "login", "10.0.0.1", 1, MINUTE).await,
        Decision::Limited { .. }
    ));
}

#[tokio::test]
async fn limiters_on_separate_connections_share_the_count() {
    let test_redis = RedisPrefix::new();
    let prefix = test_redis.prefix.clone();
    let first = RateLimiter::new(test_redis.connection().await, &prefix);
    let second = RateLimiter::new(test_redis.connection().await, &prefix);

    away_from_window_end(MINUTE).await;
    assert_eq!(
        check(&first, "api", "10.0.0.1", 2, MINUTE).await,
        Decision::Allowed { remaining: 1 }
    );
    assert_eq!(
        check(&second, "api", "10.0.0.1", 2, MINUTE).await,
        Decision::Allowed { remaining: 0 }
    );
    assert!(matches!(
        check(&first, "api", "10.0.0.1", 2, MINUTE).await,
        Decision::Limited { .. }
    ));
    assert!(matches!(
        check(&second, "api", "10.0.0.1", 2, MINUTE).await,
        Decision::Limited { .. }
    ));
}

#[tokio::test]
async fn counters_expire() {
    let test_redis = RedisPrefix::new();
    let prefix = test_redis.prefix.clone();
    let mut conn = test_redis.connection().await;
    let limiter = RateLimiter::new(conn.clone(), &prefix);

    check(&limiter, "api", "10.0.0.1", 5, SECOND).await;
    let counters = test_redis.keys().await;
    assert_eq!(counters.len(), 1);
    let ttl_ms: i64 = conn.pttl(&counters[0]).await.unwrap();
    assert!(
        (1..=1_000).contains(&ttl_ms),
        "a counter lives at most one window: {ttl_ms} ms"
    );

    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert!(test_redis.keys().await.is_empty(), "Redis dropped the counter");
}

#[tokio::test]
async fn too_many_requests_is_a_problem_with_retry_after() {
    let response = too_many_requests(Duration::from_millis(1_200));
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        response.headers()[header::RETRY_AFTER],
        "2",
        "whole seconds, rounded up"
    );
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/problem+json");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let problem: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(problem["type"], "urn:shop:problem:rate-limited");
    assert_eq!(problem["status"], 429);
    assert!(
        problem["detail"].as_str().unwrap().contains("retry in 2 s"),
        "{problem}"
    );

    let response = too_many_requests(Duration::from_secs(30));
    assert_eq!(response.headers()[header::RETRY_AFTER], "30");
}
