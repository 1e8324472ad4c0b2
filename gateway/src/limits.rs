//! Rate limits shared by every gateway instance: fixed windows counted in Redis, so a client
//! gets one budget however its requests are spread over the instances — or, where the
//! gateway keeps its sessions in memory too, counted in this process alone. Owns the counting
//! and the 429 response; which scopes and limits apply is decided where requests are routed.
//!
//! A window is identified by `now / window` on the instance's clock, so instances are assumed
//! to have synchronised clocks; skew only shifts where one instance sees a window end.

use std::{
    collections::HashMap,
    sync::{Arc, LazyLock, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::Response,
};
use redis::{Script, aio::ConnectionManager};
use shop_platform::error::{Problem, problem_response};

/// Counts one request and starts the key's expiry with the window's first request, atomically,
/// so no counter can outlive its window.
static COUNT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local count = redis.call('INCR', KEYS[1])
        if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
        return count
        ",
    )
});

/// Whether a request may proceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Within the limit; `remaining` more requests fit in this window.
    Allowed { remaining: u32 },
    /// Over the limit until the window ends, `retry_after` from now (at least 1 s).
    Limited { retry_after: Duration },
}

#[derive(Debug, Clone)]
pub struct RateLimiter {
    counters: Counters,
    prefix: String,
}

#[derive(Debug, Clone)]
enum Counters {
    Redis(ConnectionManager),
    /// Window counts by key, each with the window it counts.
    Local(Arc<Mutex<HashMap<String, (u128, u64)>>>),
}

impl RateLimiter {
    /// Limiters with the same Redis and `prefix` share their counts.
    pub fn new(conn: ConnectionManager, prefix: impl Into<String>) -> Self {
        Self {
            counters: Counters::Redis(conn),
            prefix: prefix.into(),
        }
    }

    /// A limiter that counts in this process only.
    pub fn local() -> Self {
        Self {
            counters: Counters::Local(Arc::default()),
            prefix: String::new(),
        }
    }

    /// Counts a request by `subject` (a client IP, a session id) against `limit` requests per
    /// `window` in `scope` (e.g. `api`, `login`); scopes are counted separately.
    pub async fn check(
        &self,
        scope: &str,
        subject: &str,
        limit: u32,
        window: Duration,
    ) -> Result<Decision, redis::RedisError> {
        let window_ms = window.as_millis().max(1);
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("the clock is past 1970")
            .as_millis();
        let index = now_ms / window_ms;
        let count = match &self.counters {
            Counters::Redis(conn) => {
                let key = format!("{}{scope}:{subject}:{index}", self.prefix);
                COUNT
                    .key(key)
                    .arg(u64::try_from(window_ms).unwrap_or(u64::MAX))
                    .invoke_async::<u64>(&mut conn.clone())
                    .await?
            }
            Counters::Local(counts) => {
                let mut counts = counts.lock().expect("rate-limit counters poisoned");
                // Counts of past windows are dropped as they are met, and all of them when
                // the map grows large, so it stays bounded by one window's subjects.
                if counts.len() > 100_000 {
                    counts.retain(|_, (window, _)| *window == index);
                }
                let entry = counts.entry(format!("{scope}:{subject}")).or_insert((index, 0));
                if entry.0 != index {
                    *entry = (index, 0);
                }
                entry.1 += 1;
                entry.1
            }
        };
        Ok(match u32::try_from(count) {
            Ok(count) if count <= limit => Decision::Allowed {
                remaining: limit - count,
            },
            _ => {
                let until_end = (index + 1) * window_ms - now_ms;
                let retry_after = Duration::from_millis(u64::try_from(until_end).unwrap_or(u64::MAX));
                Decision::Limited {
                    retry_after: retry_after.max(Duration::from_secs(1)),
                }
            }
        })
    }
}

/// 429 problem+json with `Retry-After` in whole seconds, rounded up.
pub fn too_many_requests(retry_after: Duration) -> Response {
    let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    let mut response = problem_response(&Problem {
        kind: "urn:shop:problem:rate-limited".to_owned(),
        title: "Too many requests".to_owned(),
        status: StatusCode::TOO_MANY_REQUESTS.as_u16(),
        detail: format!("too many requests; retry in {seconds} s"),
        errors: Vec::new(),
    });
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}
