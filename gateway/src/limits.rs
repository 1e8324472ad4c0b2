//! Rate limits shared by every gateway instance: fixed windows counted in Redis, so a client
//! gets one budget however its requests are spread over the instances — or, where the
//! gateway keeps its sessions in memory too, counted in this process alone. Owns the counting
//! and the 429 response; which scopes and limits apply is decided where requests are routed.
//!
//! A window is identified by `now / window` on the instance's clock, so instances are assumed
//! to have synchronised clocks; skew only shifts where one instance sees a window end.
//!
//! **Batches.** A round trip to Redis for every request would cost more than the rest of the
//! request together (docs/benchmarks.md, "Gateway against HAProxy"), so an instance reserves
//! requests in the shared count in batches and lets them through from memory. A batch is
//! added to the Redis counter before any of its requests is let through, so the instances
//! together never let more than the limit through in a window. The price is on the other
//! side: requests one instance has reserved and not used are not available to the others, so
//! a client whose requests are spread over several instances may be refused up to
//! `batch − 1` requests per other instance before it reaches its limit. Batches therefore
//! start at one request in every window and double while a client keeps using them, up to a
//! thirty-second of the limit (and [`MAX_BATCH`]): a client far below its limit costs one
//! round trip per request as before, a busy one about one per [`MAX_BATCH`]. The next batch is
//! reserved in the background once half of the current one is used.

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

/// Adds a reservation of `ARGV[2]` requests to the window's count and returns the new count;
/// the key's expiry starts with the window's first reservation, atomically, so no counter can
/// outlive its window.
static RESERVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local count = redis.call('INCRBY', KEYS[1], ARGV[2])
        if count == tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
        return count
        ",
    )
});

/// The largest batch an instance reserves at once.
pub const MAX_BATCH: u32 = 64;

/// Counters kept in memory (of one window's subjects) before the stale ones are dropped.
const MAX_TRACKED: usize = 100_000;

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
    Redis(Arc<SharedCounts>),
    /// Window counts by key, each with the window it counts.
    Local(Arc<Mutex<HashMap<String, (u128, u64)>>>),
}

/// Counts in Redis, and the batches of them this instance holds, by key.
#[derive(Debug)]
struct SharedCounts {
    conn: ConnectionManager,
    batches: Mutex<HashMap<String, Batch>>,
}

/// What this instance holds of one key's count in one window.
#[derive(Debug)]
struct Batch {
    window: u128,
    /// Requests reserved in Redis and not yet let through.
    unused: u32,
    /// The size of the next reservation.
    next: u32,
    /// The window's shared count as last seen (every instance's reservations).
    counted: u64,
    /// A reservation of the next batch is on its way.
    reserving: bool,
}

impl Batch {
    fn new(window: u128) -> Self {
        Self {
            window,
            unused: 0,
            next: 1,
            counted: 0,
            reserving: false,
        }
    }

    fn spent(&self, limit: u32) -> bool {
        self.counted >= u64::from(limit)
    }

    fn remaining(&self, limit: u32) -> u32 {
        let shared = u32::try_from(u64::from(limit).saturating_sub(self.counted)).unwrap_or(0);
        shared.saturating_add(self.unused)
    }

    /// Starts reserving the next batch; returns its size.
    fn start_reserving(&mut self, limit: u32) -> u32 {
        let largest = (limit / 32).clamp(1, MAX_BATCH);
        self.reserving = true;
        let size = self.next;
        self.next = (self.next * 2).min(largest);
        size
    }

    /// Takes in a reservation of `size` that brought the shared count to `count`, and returns
    /// the part of it within `limit`; a reservation of the next batch ends with it.
    fn take_in(&mut self, size: u32, count: u64, limit: u32, next_batch: bool) -> u32 {
        self.reserving &= !next_batch;
        self.counted = self.counted.max(count);
        within(size, count, limit)
    }
}

/// The part of a reservation of `size` that brought the count to `count` within `limit`.
fn within(size: u32, count: u64, limit: u32) -> u32 {
    let before = count.saturating_sub(u64::from(size));
    let within = u64::from(limit).saturating_sub(before).min(u64::from(size));
    u32::try_from(within).expect("at most size")
}

/// What a request does after looking at its key's batch.
enum Step {
    Allowed {
        remaining: u32,
        reserve_ahead: Option<u32>,
    },
    Limited,
    /// Reserve `size` now: the next batch, or one request for itself alone.
    Reserve {
        size: u32,
        next_batch: bool,
    },
}

impl Batch {
    /// A request's way through: a request already reserved, or a reservation.
    fn step(&mut self, limit: u32) -> Step {
        if self.unused > 0 {
            self.unused -= 1;
            let reserve_ahead = (!self.reserving && !self.spent(limit) && self.unused < self.next / 2)
                .then(|| self.start_reserving(limit));
            return Step::Allowed {
                remaining: self.remaining(limit),
                reserve_ahead,
            };
        }
        if self.spent(limit) {
            return Step::Limited;
        }
        if self.reserving {
            // Another request is reserving the next batch; this one does not wait for it.
            return Step::Reserve {
                size: 1,
                next_batch: false,
            };
        }
        Step::Reserve {
            size: self.start_reserving(limit),
            next_batch: true,
        }
    }
}

impl RateLimiter {
    /// Limiters with the same Redis and `prefix` share their counts.
    pub fn new(conn: ConnectionManager, prefix: impl Into<String>) -> Self {
        Self {
            counters: Counters::Redis(Arc::new(SharedCounts {
                conn,
                batches: Mutex::default(),
            })),
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
        let limited = || {
            let until_end = (index + 1) * window_ms - now_ms;
            let retry_after = Duration::from_millis(u64::try_from(until_end).unwrap_or(u64::MAX));
            Decision::Limited {
                retry_after: retry_after.max(Duration::from_secs(1)),
            }
        };
        let key = format!("{scope}:{subject}");
        let counts = match &self.counters {
            Counters::Redis(counts) => counts,
            Counters::Local(counts) => {
                let mut counts = counts.lock().expect("rate-limit counters poisoned");
                // Counts of past windows are dropped as they are met, and all of them when
                // the map grows large, so it stays bounded by one window's subjects.
                if counts.len() > MAX_TRACKED {
                    counts.retain(|_, (window, _)| *window == index);
                }
                let entry = counts.entry(key).or_insert((index, 0));
                if entry.0 != index {
                    *entry = (index, 0);
                }
                entry.1 += 1;
                return Ok(match u32::try_from(entry.1) {
                    Ok(count) if count <= limit => Decision::Allowed {
                        remaining: limit - count,
                    },
                    _ => limited(),
                });
            }
        };
        let window = Window {
            redis_key: format!("{}{key}:{index}", self.prefix),
            key,
            index,
            window_ms: u64::try_from(window_ms).unwrap_or(u64::MAX),
            limit,
        };
        match counts.step(&window) {
            Step::Allowed {
                remaining,
                reserve_ahead,
            } => {
                if let Some(size) = reserve_ahead {
                    let counts = counts.clone();
                    tokio::spawn(async move {
                        if let Err(error) = counts.reserve_next_batch(&window, size).await {
                            tracing::warn!(%error, "rate limiter: the next batch could not be reserved");
                        }
                    });
                }
                Ok(Decision::Allowed { remaining })
            }
            Step::Limited => Ok(limited()),
            Step::Reserve { size, next_batch } => {
                let count = counts.reserve(&window, size).await;
                let mut batches = counts.batches.lock().expect("rate-limit batches poisoned");
                let batch = batches.get_mut(&window.key).filter(|batch| batch.window == index);
                let (granted, remaining) = match (count, batch) {
                    (Ok(count), Some(batch)) => {
                        let granted = batch.take_in(size, count, limit, next_batch);
                        batch.unused += granted.saturating_sub(1);
                        (granted, batch.remaining(limit))
                    }
                    // The window ended meanwhile; what was reserved belonged to it.
                    (Ok(count), None) => (within(size, count, limit), 0),
                    (Err(error), batch) => {
                        if let Some(batch) = batch {
                            batch.reserving &= !next_batch;
                        }
                        return Err(error);
                    }
                };
                Ok(if granted > 0 {
                    Decision::Allowed { remaining }
                } else {
                    limited()
                })
            }
        }
    }
}

/// One key's window: where it is counted in Redis and in this instance.
struct Window {
    redis_key: String,
    key: String,
    index: u128,
    window_ms: u64,
    limit: u32,
}

impl SharedCounts {
    fn step(&self, window: &Window) -> Step {
        let mut batches = self.batches.lock().expect("rate-limit batches poisoned");
        if batches.len() > MAX_TRACKED {
            batches.retain(|_, batch| batch.window == window.index);
        }
        let batch = match batches.get_mut(&window.key) {
            Some(batch) => batch,
            None => batches
                .entry(window.key.clone())
                .or_insert_with(|| Batch::new(window.index)),
        };
        if batch.window != window.index {
            *batch = Batch::new(window.index);
        }
        batch.step(window.limit)
    }

    /// Adds `size` requests to the window's shared count; returns the count.
    async fn reserve(&self, window: &Window, size: u32) -> Result<u64, redis::RedisError> {
        RESERVE
            .key(&window.redis_key)
            .arg(window.window_ms)
            .arg(size)
            .invoke_async::<u64>(&mut self.conn.clone())
            .await
    }

    /// Reserves the next batch of `size` ahead of need.
    async fn reserve_next_batch(&self, window: &Window, size: u32) -> Result<(), redis::RedisError> {
        let count = self.reserve(window, size).await;
        let mut batches = self.batches.lock().expect("rate-limit batches poisoned");
        let Some(batch) = batches
            .get_mut(&window.key)
            .filter(|batch| batch.window == window.index)
        else {
            return count.map(drop);
        };
        match count {
            Ok(count) => {
                batch.unused += batch.take_in(size, count, window.limit, true);
                Ok(())
            }
            Err(error) => {
                batch.reserving = false;
                Err(error)
            }
        }
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
