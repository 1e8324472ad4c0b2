//! The cache's settings, flattened into a service's `clap` configuration.

use std::time::Duration;

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct CacheConfig {
    /// Redis holding the shared layer of the cache (the same server as the sessions').
    #[arg(
        long = "cache-redis-url",
        env = "REDIS_URL",
        default_value = "redis://127.0.0.1:6379"
    )]
    pub redis_url: String,

    /// Prefix of every Redis key the cache writes.
    #[arg(long, env = "CACHE_KEY_PREFIX", default_value = "shop:cache:")]
    pub cache_key_prefix: String,

    /// Life of an entry in Redis, the backstop behind event invalidation; each entry's is
    /// spread ±20 % so that entries written together do not expire together.
    #[arg(long, env = "CACHE_TTL_SECONDS", default_value_t = 300)]
    pub cache_ttl_seconds: u64,

    /// Life of a negative entry ("no such id"), shorter than a real one's.
    #[arg(long, env = "CACHE_NEGATIVE_TTL_SECONDS", default_value_t = 30)]
    pub cache_negative_ttl_seconds: u64,

    /// Life of an entry in the in-process layer. Short: another instance's invalidations
    /// reach this one's process-local copies only through it.
    #[arg(long, env = "CACHE_LOCAL_TTL_MS", default_value_t = 1000)]
    pub cache_local_ttl_ms: u64,

    /// Entries the in-process layer holds at most.
    #[arg(long, env = "CACHE_LOCAL_CAPACITY", default_value_t = 10_000)]
    pub cache_local_capacity: usize,
}

impl CacheConfig {
    pub(crate) fn ttl(&self) -> Duration {
        Duration::from_secs(self.cache_ttl_seconds)
    }

    pub(crate) fn negative_ttl(&self) -> Duration {
        Duration::from_secs(self.cache_negative_ttl_seconds)
    }

    pub(crate) fn local_ttl(&self) -> Duration {
        Duration::from_millis(self.cache_local_ttl_ms)
    }
}
