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

fn window_index(window: Duration) -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() / window.as_millis()
}

/// Runs `calls` under a fresh key prefix until a run starts and ends in one fixed window, and
/// returns that prefix with the run's decisions: a window's end between two calls would split
/// their count, and a test must not depend on how fast Redis answers.
async fn in_one_window(
    test_redis: &RedisPrefix,
    window: Duration,
    mut calls: impl AsyncFnMut(&str) -> Vec<Decision>,
) -> (String, Vec<Decision>) {
    for run in 0.. {
        let prefix = format!("{}{run}:", test_redis.prefix);
        let started = window_index(window);
        let decisions = calls(&prefix).await;
        if window_index(window) == started {
            return (prefix, decisions);
        }
    }
    unreachable!()
}

async fn check(limiter: &RateLimiter, scope: &str, subject: &str, limit: u32, window: Duration) -> Decision {
    limiter
        .check(scope, subject, limit, window)
        .await
        .expect("Redis answers")
}

fn limited(decision: &Decision) -> Option<Duration> {
    match decision {
        Decision::Limited { retry_after } => Some(*retry_after),
        Decision::Allowed { .. } => None,
    }
}

#[tokio::test]
async fn the_call_past_the_limit_is_limited_until_the_window_ends() {
    let test_redis = RedisPrefix::new();
    let (_, decisions) = in_one_window(&test_redis, MINUTE, async |prefix| {
        let limiter = RateLimiter::new(test_redis.connection().await, prefix);
        let mut decisions = Vec::new();
        for _ in 0..5 {
            decisions.push(check(&limiter, "api", "10.0.0.1", 3, MINUTE).await);
        }
        decisions
    })
    .await;
    let allowed: Vec<_> = (0..3).rev().map(|remaining| Decision::Allowed { remaining }).collect();
    assert_eq!(decisions[..3], allowed);
    for decision in &decisions[3..] {
        let retry_after = limited(decision).expect("past the limit, limited for the rest of the window");
        assert!((SECOND..=MINUTE).contains(&retry_after), "{retry_after:?}");
    }
}

#[tokio::test]
async fn a_new_window_allows_again() {
    let test_redis = RedisPrefix::new();
    let (prefix, decisions) = in_one_window(&test_redis, SECOND, async |prefix| {
        let limiter = RateLimiter::new(test_redis.connection().await, prefix);
        vec![
            check(&limiter, "login", "10.0.0.1", 1, SECOND).await,
            check(&limiter, "login", "10.0.0.1", 1, SECOND).await,
        ]
    })
    .await;
    assert_eq!(
        decisions,
        [
            Decision::Allowed { remaining: 0 },
            // At least a second, at most the window.
            Decision::Limited { retry_after: SECOND },
        ]
    );

    let limited_in = window_index(SECOND);
    while window_index(SECOND) == limited_in {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let limiter = RateLimiter::new(test_redis.connection().await, prefix);
    assert_eq!(
        check(&limiter, "login", "10.0.0.1", 1, SECOND).await,
        Decision::Allowed { remaining: 0 }
    );
}

#[tokio::test]
async fn subjects_and_scopes_are_counted_separately() {
    let test_redis = RedisPrefix::new();
    let (_, decisions) = in_one_window(&test_redis, MINUTE, async |prefix| {
        let limiter = RateLimiter::new(test_redis.connection().await, prefix);
        let mut decisions = Vec::new();
        for _ in 0..2 {
            for (scope, subject) in [("api", "10.0.0.1"), ("api", "10.0.0.2"), ("login", "10.0.0.1")] {
                decisions.push(check(&limiter, scope, subject, 1, MINUTE).await);
            }
        }
        decisions
    })
    .await;
    assert_eq!(decisions[..3], [Decision::Allowed { remaining: 0 }; 3]);
    assert!(decisions[3..].iter().all(|d| limited(d).is_some()), "{decisions:?}");
}

#[tokio::test]
async fn limiters_on_separate_connections_share_the_count() {
    let test_redis = RedisPrefix::new();
    let (_, decisions) = in_one_window(&test_redis, MINUTE, async |prefix| {
        let first = RateLimiter::new(test_redis.connection().await, prefix);
        let second = RateLimiter::new(test_redis.connection().await, prefix);
        vec![
            check(&first, "api", "10.0.0.1", 2, MINUTE).await,
            check(&second, "api", "10.0.0.1", 2, MINUTE).await,
            check(&first, "api", "10.0.0.1", 2, MINUTE).await,
            check(&second, "api", "10.0.0.1", 2, MINUTE).await,
        ]
    })
    .await;
    assert_eq!(
        decisions[..2],
        [Decision::Allowed { remaining: 1 }, Decision::Allowed { remaining: 0 }]
    );
    assert!(decisions[2..].iter().all(|d| limited(d).is_some()), "{decisions:?}");
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

/// Two instances drawing on one shared count in batches, with requests in flight on both at
/// once: however the batches fall, the two together let exactly the limit through.
#[tokio::test]
async fn two_instances_together_never_pass_the_shared_limit() {
    const LIMIT: u32 = 1_000;
    let test_redis = RedisPrefix::new();
    let (prefix, allowed) = in_one_window(&test_redis, MINUTE, async |prefix| {
        let first = RateLimiter::new(test_redis.connection().await, prefix);
        let second = RateLimiter::new(test_redis.connection().await, prefix);
        // Each instance keeps sending until it is refused, 16 requests in flight at a time.
        let drain = async |limiter: &RateLimiter| {
            let mut allowed = 0;
            loop {
                let wave = (0..16).map(|_| check(limiter, "api", "10.0.0.1", LIMIT, MINUTE));
                let decisions = futures_util::future::join_all(wave).await;
                let passed = decisions.iter().filter(|d| limited(d).is_none()).count();
                allowed += passed;
                if passed == 0 {
                    return allowed;
                }
            }
        };
        let (a, b) = tokio::join!(drain(&first), drain(&second));
        // The run's one result, the number let through, carried as `remaining`.
        vec![Decision::Allowed {
            remaining: u32::try_from(a + b).unwrap(),
        }]
    })
    .await;
    assert_eq!(
        allowed,
        [Decision::Allowed { remaining: LIMIT }],
        "requests let through by both"
    );

    let mut conn = test_redis.connection().await;
    let counters = test_redis.keys().await;
    assert!(counters.iter().all(|key| key.starts_with(&prefix)), "{counters:?}");
    let counted: u64 = conn.get(&counters[0]).await.unwrap();
    assert!(
        counted < u64::from(LIMIT) + 100,
        "reservations past the limit stay small: {counted}"
    );
}
