//! Cache-aside for read models: an in-process layer in front of Redis in front of the
//! database, with the classic failures handled here once for every user.
//!
//! - **Stampede**: concurrent misses of one key rebuild it once per process (single-flight,
//!   [`flight`]); the others wait their turn and find it built.
//! - **Penetration**: a lookup that finds nothing is cached too, as a negative entry with a
//!   shorter life, so asking for ids that do not exist does not reach the database each time.
//! - **Avalanche**: every entry's life is spread ±20 % around the configured TTL, so entries
//!   written together (a warm-up, a deploy) do not expire together.
//!
//! Entries live in **scopes** (a product, "the listings"). Invalidating a scope moves its
//! generation on in Redis; readers look entries up under the generation they read in the same
//! round trip, so a rebuild that read the database before the change can only write under the
//! old generation, where no one looks again. Generation keys never expire: one small counter
//! per scope ever invalidated.
//!
//! Redis is optional at run time: every call is bounded, and after a failure the cache goes
//! straight to the in-process layer and the database for a second before trying Redis again.

pub mod config;
mod flight;
mod local;

use std::{
    hash::BuildHasher,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use redis::{
    Script,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use serde::{Serialize, de::DeserializeOwned};

pub use crate::config::CacheConfig;
use crate::{flight::Flights, local::Local};

/// How long a Redis call may take before the read goes to the database instead.
const REDIS_TIMEOUT: Duration = Duration::from_millis(100);
/// How long the cache leaves Redis alone after a failure.
const REDIS_PAUSE: Duration = Duration::from_secs(1);
/// Each entry's life is the TTL times a factor in [1 - JITTER, 1 + JITTER].
const JITTER: f64 = 0.2;

const PRESENT: u8 = b'+';
const ABSENT: u8 = b'-';

/// Reads a scope's generation and the entry under it in one round trip.
const READ: &str = r"
local generation = redis.call('GET', KEYS[1]) or '0'
return {generation, redis.call('GET', ARGV[1] .. generation .. ARGV[2])}
";

#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

struct Inner {
    /// The `cache` label of the metrics.
    name: &'static str,
    redis: ConnectionManager,
    prefix: String,
    ttl: Duration,
    negative_ttl: Duration,
    local: Local,
    flights: Flights,
    read: Script,
    started: Instant,
    /// Milliseconds after `started` until which Redis is left alone.
    redis_paused_until: AtomicU64,
    lookups: AtomicU64,
    hits: AtomicU64,
}

/// Where a lookup was answered from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Local,
    Redis,
    /// Rebuilt from the database and stored.
    Miss,
    /// Rebuilt from the database with Redis unreachable.
    RedisDown,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Self::Local => "local_hit",
            Self::Redis => "redis_hit",
            Self::Miss => "miss",
            Self::RedisDown => "redis_down",
        }
    }
}

impl Cache {
    /// A cache named `name` (in its metrics). Does not wait for Redis: it is connected on
    /// first use, and reconnected whenever it comes back.
    pub fn new(name: &'static str, config: &CacheConfig) -> anyhow::Result<Self> {
        let client = redis::Client::open(config.redis_url.as_str())
            .map_err(|e| anyhow::anyhow!("invalid REDIS_URL for the cache: {e}"))?;
        let bounded = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(REDIS_TIMEOUT);
        let redis = ConnectionManager::new_lazy_with_config(client, bounded)?;
        Ok(Self {
            inner: Arc::new(Inner {
                name,
                redis,
                prefix: config.cache_key_prefix.clone(),
                ttl: config.ttl(),
                negative_ttl: config.negative_ttl(),
                local: Local::new(config.local_ttl(), config.cache_local_capacity),
                flights: Flights::default(),
                read: Script::new(READ),
                started: Instant::now(),
                redis_paused_until: AtomicU64::new(0),
                lookups: AtomicU64::new(0),
                hits: AtomicU64::new(0),
            }),
        })
    }

    /// The entry `key` of `scope`, from the in-process layer, else Redis, else `load` (whose
    /// answer, found or not, is stored in both). `load` runs at most once at a time per key in
    /// this process.
    pub async fn get_or_load<T, E>(
        &self,
        scope: &str,
        key: &str,
        load: impl AsyncFnOnce() -> Result<Option<T>, E>,
    ) -> Result<Option<T>, E>
    where
        T: Serialize + DeserializeOwned,
    {
        if let Some(value) = self.local_entry(scope, key) {
            self.count(Outcome::Local);
            return Ok(value);
        }
        let flight = format!("{scope}|{key}");
        let inner = &self.inner;
        inner
            .flights
            .one_at_a_time(&flight, async {
                // Whoever had the turn before may have built it.
                if let Some(value) = self.local_entry(scope, key) {
                    self.count(Outcome::Local);
                    return Ok(value);
                }
                let epoch = inner.local.epoch();
                let generation = match self.redis_entry(scope, key).await {
                    Some((generation, Some(bytes))) => {
                        if let Some(value) = decode(&bytes) {
                            inner.local.put(epoch, scope, key, bytes);
                            self.count(Outcome::Redis);
                            return Ok(value);
                        }
                        Some(generation)
                    }
                    Some((generation, None)) => Some(generation),
                    None => None,
                };
                let value = load().await?;
                let bytes = encode(value.as_ref());
                if let Some(generation) = &generation {
                    let ttl = if value.is_some() { inner.ttl } else { inner.negative_ttl };
                    self.store(&self.entry_key(scope, generation, key), &bytes, jittered(ttl, key))
                        .await;
                }
                inner.local.put(epoch, scope, key, bytes);
                self.count(if generation.is_some() {
                    Outcome::Miss
                } else {
                    Outcome::RedisDown
                });
                Ok(value)
            })
            .await
    }

    /// Drops every entry of `scope`: this process's copies at once, everyone's in Redis by
    /// moving the scope's generation on. Fails if Redis does not take it; the caller retries.
    pub async fn invalidate(&self, scope: &str) -> redis::RedisResult<()> {
        self.inner.local.invalidate(scope);
        let mut redis = self.inner.redis.clone();
        redis::cmd("INCR")
            .arg(self.generation_key(scope))
            .query_async::<i64>(&mut redis)
            .await
            .map(drop)
    }

    fn local_entry<T: DeserializeOwned>(&self, scope: &str, key: &str) -> Option<Option<T>> {
        self.inner.local.get(scope, key).and_then(|bytes| decode(&bytes))
    }

    /// The scope's generation and the entry under it, or None with Redis unreachable.
    async fn redis_entry(&self, scope: &str, key: &str) -> Option<(String, Option<Vec<u8>>)> {
        let inner = &self.inner;
        if self.elapsed_ms() < inner.redis_paused_until.load(Ordering::Relaxed) {
            return None;
        }
        let mut redis = inner.redis.clone();
        let mut read = inner.read.key(self.generation_key(scope));
        read.arg(format!("{}{scope}@", inner.prefix)).arg(format!("|{key}"));
        let answer = tokio::time::timeout(REDIS_TIMEOUT, read.invoke_async(&mut redis)).await;
        match answer {
            Ok(Ok(entry)) => Some(entry),
            Ok(Err(error)) => {
                self.redis_failed(&error);
                None
            }
            Err(_) => {
                self.redis_failed(&"timed out");
                None
            }
        }
    }

    async fn store(&self, key: &str, bytes: &[u8], ttl: Duration) {
        let mut redis = self.inner.redis.clone();
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut set = redis::cmd("SET");
        set.arg(key).arg(bytes).arg("PX").arg(ttl_ms);
        match tokio::time::timeout(REDIS_TIMEOUT, set.query_async::<()>(&mut redis)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => self.redis_failed(&error),
            Err(_) => self.redis_failed(&"timed out"),
        }
    }

    fn redis_failed(&self, error: &dyn std::fmt::Display) {
        let inner = &self.inner;
        let until = self.elapsed_ms() + REDIS_PAUSE.as_millis() as u64;
        let previous = inner.redis_paused_until.swap(until, Ordering::Relaxed);
        if previous <= self.elapsed_ms() {
            tracing::warn!(cache = inner.name, %error, "Redis unreachable: reading from the database");
        }
        metrics::counter!("cache_redis_errors_total", "cache" => inner.name).increment(1);
    }

    fn elapsed_ms(&self) -> u64 {
        self.inner.started.elapsed().as_millis() as u64
    }

    fn generation_key(&self, scope: &str) -> String {
        format!("{}{scope}#generation", self.inner.prefix)
    }

    fn entry_key(&self, scope: &str, generation: &str, key: &str) -> String {
        format!("{}{scope}@{generation}|{key}", self.inner.prefix)
    }

    fn count(&self, outcome: Outcome) {
        let inner = &self.inner;
        let lookups = inner.lookups.fetch_add(1, Ordering::Relaxed) + 1;
        let hits = if matches!(outcome, Outcome::Local | Outcome::Redis) {
            inner.hits.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            inner.hits.load(Ordering::Relaxed)
        };
        metrics::counter!("cache_lookups_total", "cache" => inner.name, "result" => outcome.label()).increment(1);
        metrics::gauge!("cache_hit_ratio", "cache" => inner.name).set(hits as f64 / lookups as f64);
    }
}

fn encode<T: Serialize>(value: Option<&T>) -> Vec<u8> {
    match value {
        None => vec![ABSENT],
        Some(value) => {
            let mut bytes = vec![PRESENT];
            serde_json::to_writer(&mut bytes, value).expect("a cached value serialises");
            bytes
        }
    }
}

/// None when the bytes are not an entry of `T` (written by another version): a miss.
fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Option<Option<T>> {
    match bytes.split_first() {
        Some((&ABSENT, [])) => Some(None),
        Some((&PRESENT, json)) => serde_json::from_slice(json).ok().map(Some),
        _ => None,
    }
}

/// `ttl` spread by ±[`JITTER`], differently on every call.
fn jittered(ttl: Duration, key: &str) -> Duration {
    let random = std::collections::hash_map::RandomState::new().hash_one(key);
    let unit = (random % 10_001) as f64 / 10_000.0;
    ttl.mul_f64(1.0 - JITTER + 2.0 * JITTER * unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jittered_lives_stay_within_the_spread_and_differ() {
        let ttl = Duration::from_secs(100);
        let lives: Vec<Duration> = (0..200).map(|i| jittered(ttl, &i.to_string())).collect();
        assert!(lives.iter().all(|life| (80.0..=120.0).contains(&life.as_secs_f64())));
        let distinct: std::collections::HashSet<_> = lives.iter().map(Duration::as_millis).collect();
        assert!(distinct.len() > 100, "{} distinct lives of 200", distinct.len());
    }

    #[test]
    fn entries_round_trip_found_or_not() {
        assert_eq!(decode::<u32>(&encode(Some(&7u32))), Some(Some(7)));
        assert_eq!(decode::<u32>(&encode::<u32>(None)), Some(None));
        assert_eq!(decode::<u32>(b"+\"text\""), None);
    }
}
