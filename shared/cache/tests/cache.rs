//! The cache against the machine's Redis, each test under a key prefix of its own (deleted
//! after it); the outage against a Redis server of the test's own.

use std::{
    convert::Infallible,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use clap::Parser;
use futures_util::future::join_all;
use shop_cache::{Cache, CacheConfig};
use shop_testkit::{OwnServer, RedisPrefix};

#[derive(Parser)]
struct Settings {
    #[command(flatten)]
    cache: CacheConfig,
}

fn config(url: &str, prefix: &str) -> CacheConfig {
    Settings::parse_from(["test", "--cache-redis-url", url, "--cache-key-prefix", prefix]).cache
}

/// A loader that counts its calls and answers `value` after a pause, long enough for the
/// other callers to pile up behind the first.
fn counting(calls: &Arc<AtomicUsize>, value: Option<u32>) -> impl AsyncFnOnce() -> Result<Option<u32>, Infallible> {
    let calls = calls.clone();
    async move || {
        calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok(value)
    }
}

#[tokio::test]
async fn a_stampede_of_misses_on_one_key_rebuilds_it_once() {
    let redis = RedisPrefix::new();
    let cache = Cache::new("test", &config(&redis.url, &redis.prefix)).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let readers = (0..100).map(|_| cache.get_or_load("product:1", "", counting(&calls, Some(7))));
    for read in join_all(readers).await {
        assert_eq!(read.unwrap(), Some(7));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1, "100 concurrent misses, one rebuild");

    // After an invalidation the key is rebuilt, once again.
    cache.invalidate("product:1").await.unwrap();
    let readers = (0..100).map(|_| cache.get_or_load("product:1", "", counting(&calls, Some(8))));
    for read in join_all(readers).await {
        assert_eq!(read.unwrap(), Some(8));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn ids_that_do_not_exist_are_answered_from_negative_entries() {
    let redis = RedisPrefix::new();
    let cache = Cache::new("test", &config(&redis.url, &redis.prefix)).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    for _ in 0..50 {
        let found = cache
            .get_or_load("product:missing", "", counting(&calls, None))
            .await
            .unwrap();
        assert_eq!(found, None);
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "50 lookups of a missing id, one database read"
    );

    // Another process (an empty in-process layer) finds the negative entry in Redis.
    let other = Cache::new("test", &config(&redis.url, &redis.prefix)).unwrap();
    assert_eq!(
        other
            .get_or_load("product:missing", "", counting(&calls, None))
            .await
            .unwrap(),
        None
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // Shorter-lived than a real entry (30 s against 300 s ± 20 %).
    let mut conn = redis.connection().await;
    let key = format!("{}product:missing@0|", redis.prefix);
    let life: i64 = redis::cmd("PTTL").arg(&key).query_async(&mut conn).await.unwrap();
    assert!((1..=36_000).contains(&life), "negative entry lives {life} ms");
}

#[tokio::test]
async fn entries_written_together_expire_at_spread_out_times() {
    let redis = RedisPrefix::new();
    let cache = Cache::new("test", &config(&redis.url, &redis.prefix)).unwrap();
    for id in 0..200 {
        let scope = format!("product:{id}");
        cache
            .get_or_load(&scope, "", async || Ok::<_, Infallible>(Some(id)))
            .await
            .unwrap();
    }
    let mut conn = redis.connection().await;
    let mut lives = Vec::new();
    for id in 0..200 {
        let key = format!("{}product:{id}@0|", redis.prefix);
        let life: i64 = redis::cmd("PTTL").arg(&key).query_async(&mut conn).await.unwrap();
        lives.push(life);
    }
    let (shortest, longest) = (*lives.iter().min().unwrap(), *lives.iter().max().unwrap());
    // 300 s ± 20 %: all within 240–360 s, and spread over most of that range, not one instant.
    assert!(
        shortest > 230_000 && longest <= 360_000,
        "lives {shortest}..{longest} ms"
    );
    assert!(
        longest - shortest > 60_000,
        "lives only spread over {} ms",
        longest - shortest
    );
}

#[tokio::test]
async fn an_invalidation_during_a_rebuild_keeps_the_old_value_out() {
    let redis = RedisPrefix::new();
    let cache = Cache::new("test", &config(&redis.url, &redis.prefix)).unwrap();
    let (invalidator, scope) = (cache.clone(), "product:2");
    // The rebuild reads the old value, then the change lands and is invalidated before the
    // rebuild stores what it read.
    let old = cache
        .get_or_load(scope, "", async || {
            invalidator.invalidate(scope).await.unwrap();
            Ok::<_, Infallible>(Some(1))
        })
        .await
        .unwrap();
    assert_eq!(old, Some(1));
    let fresh = cache
        .get_or_load(scope, "", async || Ok::<_, Infallible>(Some(2)))
        .await
        .unwrap();
    assert_eq!(
        fresh,
        Some(2),
        "the value read before the invalidation was not served after it"
    );
}

#[tokio::test]
async fn with_redis_down_reads_go_to_the_loader_and_come_back_to_redis_after() {
    let port = shop_testkit::free_port();
    let mut server = OwnServer::start(
        port,
        "redis-server",
        ["--port", &port.to_string(), "--save", "", "--appendonly", "no"],
    );
    let url = format!("redis://127.0.0.1:{port}");
    let mut settings = config(&url, "outage:");
    settings.cache_local_ttl_ms = 0;
    let cache = Cache::new("test", &settings).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    assert_eq!(
        cache.get_or_load("s", "k", counting(&calls, Some(1))).await.unwrap(),
        Some(1)
    );
    assert_eq!(
        cache.get_or_load("s", "k", counting(&calls, Some(1))).await.unwrap(),
        Some(1)
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the second read is a Redis hit");

    server.stop();
    for _ in 0..20 {
        assert_eq!(
            cache.get_or_load("s", "k", counting(&calls, Some(1))).await.unwrap(),
            Some(1)
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 21, "every read went to the loader");
    assert!(
        cache.invalidate("s").await.is_err(),
        "an invalidation that did not happen says so"
    );

    server.resume();
    shop_testkit::eventually("the cache uses Redis again", async || {
        let before = calls.load(Ordering::SeqCst);
        cache.get_or_load("s", "k", counting(&calls, Some(1))).await.unwrap();
        cache.get_or_load("s", "k", counting(&calls, Some(1))).await.unwrap();
        calls.load(Ordering::SeqCst) == before + 1
    })
    .await;
}
