//! The response cache: bodies the engine generates per request, kept in memory (with a TTL
//! and a byte bound) and, optionally, in Redis shared by several instances.
//!
//! Only the description's generated bodies are cached (the engine defers them, see
//! `engine::Pending`): examples are built once anyway, and answers of rules are never
//! cached. The key is the method, path, sorted query, `Accept`, `Content-Type` and
//! `Prefer` (which picks the response), under a fingerprint of the description and seed.
//!
//! Redis keys are `{prefix}:body:{sha256 of key}` with a TTL. Invalidation clears memory
//! and deletes every `{prefix}:body:*` key, so every instance on the same prefix sees it.
//! A Redis that fails or is slow never fails a request: the body is generated, the error
//! counted, a warning logged at most every ten seconds, and Redis is left alone for a
//! second before it is tried again.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use bytes::Bytes;
use redis::aio::ConnectionManager;
use serde::Serialize;

/// Which levels a cache has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheBackend {
    /// Memory only.
    Memory,
    /// Memory, then Redis.
    Redis,
}

/// Settings of the response cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    pub backend: CacheBackend,
    /// How long an entry is served, in memory and in Redis.
    pub ttl: Duration,
    /// Bound of the memory level: keys and bodies, in bytes.
    pub max_bytes: u64,
    pub redis_url: String,
    /// Start of every Redis key; instances that share it share entries.
    pub prefix: String,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            backend: CacheBackend::Memory,
            ttl: Duration::from_secs(60),
            max_bytes: 64 * 1024 * 1024,
            redis_url: "redis://127.0.0.1:6379".to_owned(),
            prefix: "mockloop".to_owned(),
        }
    }
}

/// Longest wait for one Redis command on the request path.
const REDIS_TIMEOUT: Duration = Duration::from_millis(250);
/// How long Redis is left alone after a failure.
const REDIS_PAUSE_MS: u64 = 1000;
/// At most one warning about Redis in this many milliseconds.
const WARN_EVERY_MS: u64 = 10_000;
/// Bytes counted per memory entry beside its key and body.
const ENTRY_OVERHEAD: u64 = 64;

/// Where a body came from, for the `X-Mockloop-Cache` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// Found in memory.
    Memory,
    /// Found in Redis (and now kept in memory too).
    Redis,
    /// Not found: generate and [`ResponseCache::put`].
    Miss,
}

#[derive(Debug, Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    errors: AtomicU64,
}

impl Counters {
    fn report(&self) -> LevelCounts {
        LevelCounts {
            hits: self.hits.load(Relaxed),
            misses: self.misses.load(Relaxed),
            errors: self.errors.load(Relaxed),
        }
    }
}

/// Hits, misses and errors of one level.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct LevelCounts {
    pub hits: u64,
    pub misses: u64,
    pub errors: u64,
}

/// The cache's settings and figures, for `/api/cache` and `/api/metrics`.
#[derive(Debug, Clone, Serialize)]
pub struct CacheReport {
    pub backend: CacheBackend,
    pub ttl_seconds: f64,
    pub max_bytes: u64,
    /// Requests that bypassed the cache (`Cache-Control: no-cache` or `no-store`).
    pub bypassed: u64,
    /// Invalidations since start (rule changes and clears).
    pub invalidations: u64,
    pub memory: MemoryReport,
    /// Null without a Redis level.
    pub redis: Option<RedisReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MemoryReport {
    pub entries: usize,
    pub bytes: u64,
    #[serde(flatten)]
    pub counts: LevelCounts,
}

#[derive(Debug, Clone, Serialize)]
pub struct RedisReport {
    pub prefix: String,
    /// Bodies written to Redis.
    pub stored: u64,
    /// Requests that skipped Redis during the pause after a failure.
    pub skipped: u64,
    #[serde(flatten)]
    pub counts: LevelCounts,
}

#[derive(Debug, Clone)]
struct Entry {
    body: Bytes,
    /// Milliseconds since the cache started.
    expires_ms: u64,
}

#[derive(Debug, Clone)]
struct Weigh;

impl quick_cache::Weighter<String, Entry> for Weigh {
    fn weight(&self, key: &String, entry: &Entry) -> u64 {
        key.len() as u64 + entry.body.len() as u64 + ENTRY_OVERHEAD
    }
}

struct RedisLevel {
    connection: ConnectionManager,
    counters: Counters,
    stored: AtomicU64,
    skipped: AtomicU64,
    /// Milliseconds since start before which Redis is not tried (after a failure).
    paused_until_ms: AtomicU64,
    last_warning_ms: AtomicU64,
}

/// The response cache of one mock.
pub struct ResponseCache {
    config: CacheConfig,
    /// The description and seed, so that instances serving another never share entries.
    fingerprint: u64,
    started: Instant,
    memory: quick_cache::sync::Cache<String, Entry, Weigh>,
    counters: Counters,
    bypassed: AtomicU64,
    invalidations: AtomicU64,
    redis: Option<Arc<RedisLevel>>,
}

impl std::fmt::Debug for ResponseCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseCache")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A bad cache setting.
#[derive(Debug, thiserror::Error)]
#[error("invalid redis_url '{url}': {reason}")]
pub struct CacheError {
    url: String,
    reason: String,
}

impl ResponseCache {
    /// The cache; with a Redis level, the connection is made on first use (a Redis that is
    /// down at start is tried again later). Must run inside a tokio runtime.
    pub fn new(config: CacheConfig, fingerprint: u64) -> Result<ResponseCache, CacheError> {
        let redis = match config.backend {
            CacheBackend::Memory => None,
            CacheBackend::Redis => Some(Arc::new(RedisLevel::connect(&config.redis_url)?)),
        };
        let estimated = usize::try_from(config.max_bytes / 4096)
            .unwrap_or(1024)
            .max(16);
        Ok(ResponseCache {
            memory: quick_cache::sync::Cache::with_weighter(
                estimated,
                config.max_bytes.max(1),
                Weigh,
            ),
            config,
            fingerprint,
            started: Instant::now(),
            counters: Counters::default(),
            bypassed: AtomicU64::new(0),
            invalidations: AtomicU64::new(0),
            redis,
        })
    }

    pub fn config(&self) -> &CacheConfig {
        &self.config
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The key of a request: fingerprint, method, path, query with its pairs sorted,
    /// `Accept`, `Content-Type` and `Prefer`, one per line.
    pub fn key(&self, parts: &http::request::Parts) -> String {
        let header = |name: http::header::HeaderName| {
            parts
                .headers
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_default()
        };
        let mut query: Vec<&str> = parts
            .uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|pair| !pair.is_empty())
            .collect();
        query.sort_unstable();
        format!(
            "{:016x}\n{}\n{}\n{}\n{}\n{}\n{}",
            self.fingerprint,
            parts.method,
            parts.uri.path(),
            query.join("&"),
            header(http::header::ACCEPT),
            header(http::header::CONTENT_TYPE),
            header(http::HeaderName::from_static("prefer")),
        )
    }

    /// Counts a request that did not read the cache.
    pub fn bypassed(&self) {
        self.bypassed.fetch_add(1, Relaxed);
    }

    /// The body kept under `key`: memory first, then Redis.
    pub async fn get(&self, key: &str) -> (Option<Bytes>, Lookup) {
        let now = self.now_ms();
        if let Some(entry) = self.memory.get(key) {
            if entry.expires_ms > now {
                self.counters.hits.fetch_add(1, Relaxed);
                return (Some(entry.body), Lookup::Memory);
            }
            self.memory.remove(key);
        }
        self.counters.misses.fetch_add(1, Relaxed);
        let Some(redis) = &self.redis else {
            return (None, Lookup::Miss);
        };
        match redis.get(&self.redis_key(key), now).await {
            Some(body) => {
                self.remember(key.to_owned(), body.clone(), now);
                (Some(body), Lookup::Redis)
            }
            None => (None, Lookup::Miss),
        }
    }

    /// Keeps a generated body in memory and, without waiting, in Redis.
    pub fn put(&self, key: String, body: Bytes) {
        let now = self.now_ms();
        if let Some(redis) = &self.redis
            && !redis.paused(now)
        {
            let redis = redis.clone();
            let redis_key = self.redis_key(&key);
            let ttl_ms = u64::try_from(self.config.ttl.as_millis()).unwrap_or(u64::MAX);
            let body = body.clone();
            let started = self.started;
            tokio::spawn(async move {
                redis.set(redis_key, body, ttl_ms.max(1), started).await;
            });
        }
        self.remember(key, body, now);
    }

    fn remember(&self, key: String, body: Bytes, now: u64) {
        let ttl_ms = u64::try_from(self.config.ttl.as_millis()).unwrap_or(u64::MAX);
        self.memory.insert(
            key,
            Entry {
                body,
                expires_ms: now.saturating_add(ttl_ms),
            },
        );
    }

    /// The Redis key of a cache key: its SHA-256, so that a long query or header makes no
    /// long key and no key carries request text.
    fn redis_key(&self, key: &str) -> String {
        use sha2::Digest as _;
        format!(
            "{}:body:{:x}",
            self.config.prefix,
            sha2::Sha256::digest(key)
        )
    }

    /// Drops every entry after a rule change: memory now, Redis on a task of its own.
    pub fn invalidate(&self) {
        self.invalidations.fetch_add(1, Relaxed);
        self.memory.clear();
        if let Some(redis) = &self.redis {
            let redis = redis.clone();
            let pattern = self.redis_pattern();
            let started = self.started;
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    if let Err(err) = redis.delete_matching(&pattern).await {
                        redis.failed(&err, started);
                    }
                });
            }
        }
    }

    /// Drops every entry and waits for Redis; returns the memory entries and Redis keys
    /// removed, or why Redis could not be cleared.
    pub async fn clear(&self) -> Result<(usize, u64), String> {
        self.invalidations.fetch_add(1, Relaxed);
        let entries = self.memory.len();
        self.memory.clear();
        let removed = match &self.redis {
            Some(redis) => redis
                .delete_matching(&self.redis_pattern())
                .await
                .map_err(|err| format!("cannot clear the redis level: {err}"))?,
            None => 0,
        };
        Ok((entries, removed))
    }

    /// `{prefix}:body:*` with the prefix's glob characters escaped.
    fn redis_pattern(&self) -> String {
        let mut pattern = String::with_capacity(self.config.prefix.len() + 8);
        for c in self.config.prefix.chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push_str(":body:*");
        pattern
    }

    pub fn report(&self) -> CacheReport {
        CacheReport {
            backend: self.config.backend,
            ttl_seconds: self.config.ttl.as_secs_f64(),
            max_bytes: self.config.max_bytes,
            bypassed: self.bypassed.load(Relaxed),
            invalidations: self.invalidations.load(Relaxed),
            memory: MemoryReport {
                entries: self.memory.len(),
                bytes: self.memory.weight(),
                counts: self.counters.report(),
            },
            redis: self.redis.as_ref().map(|redis| RedisReport {
                prefix: self.config.prefix.clone(),
                stored: redis.stored.load(Relaxed),
                skipped: redis.skipped.load(Relaxed),
                counts: redis.counters.report(),
            }),
        }
    }
}

impl RedisLevel {
    fn connect(url: &str) -> Result<RedisLevel, CacheError> {
        let invalid = |reason: String| CacheError {
            url: url.to_owned(),
            reason,
        };
        let client = redis::Client::open(url).map_err(|e| invalid(e.to_string()))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(1);
        let connection = client
            .get_connection_manager_lazy(config)
            .map_err(|e| invalid(e.to_string()))?;
        Ok(RedisLevel {
            connection,
            counters: Counters::default(),
            stored: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            paused_until_ms: AtomicU64::new(0),
            last_warning_ms: AtomicU64::new(0),
        })
    }

    fn paused(&self, now_ms: u64) -> bool {
        self.paused_until_ms.load(Relaxed) > now_ms
    }

    async fn get(&self, key: &str, now_ms: u64) -> Option<Bytes> {
        if self.paused(now_ms) {
            self.skipped.fetch_add(1, Relaxed);
            return None;
        }
        let mut connection = self.connection.clone();
        let mut get = redis::cmd("GET");
        get.arg(key);
        let command = get.query_async::<Option<Vec<u8>>>(&mut connection);
        let outcome = tokio::time::timeout(REDIS_TIMEOUT, command).await;
        match outcome {
            Ok(Ok(Some(body))) => {
                self.counters.hits.fetch_add(1, Relaxed);
                Some(Bytes::from(body))
            }
            Ok(Ok(None)) => {
                self.counters.misses.fetch_add(1, Relaxed);
                None
            }
            Ok(Err(err)) => {
                self.failed_at(&err.to_string(), now_ms);
                None
            }
            Err(_) => {
                self.failed_at("no answer within 250 ms", now_ms);
                None
            }
        }
    }

    async fn set(&self, key: String, body: Bytes, ttl_ms: u64, started: Instant) {
        let mut connection = self.connection.clone();
        let mut set = redis::cmd("SET");
        set.arg(key).arg(body.as_ref()).arg("PX").arg(ttl_ms);
        let command = set.query_async::<()>(&mut connection);
        match tokio::time::timeout(REDIS_TIMEOUT, command).await {
            Ok(Ok(())) => {
                self.stored.fetch_add(1, Relaxed);
            }
            Ok(Err(err)) => self.failed(&err.to_string(), started),
            Err(_) => self.failed("no answer within 250 ms", started),
        }
    }

    /// Deletes every key matching `pattern` (SCAN, then UNLINK in batches).
    async fn delete_matching(&self, pattern: &str) -> Result<u64, String> {
        let mut connection = self.connection.clone();
        let mut cursor: u64 = 0;
        let mut removed = 0;
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(500);
            let scan = scan.query_async::<(u64, Vec<Vec<u8>>)>(&mut connection);
            let (next, keys) = tokio::time::timeout(REDIS_TIMEOUT * 4, scan)
                .await
                .map_err(|_| "no answer to SCAN within 1 s".to_owned())?
                .map_err(|e| e.to_string())?;
            if !keys.is_empty() {
                let mut unlink = redis::cmd("UNLINK");
                unlink.arg(&keys);
                let unlink = unlink.query_async::<u64>(&mut connection);
                removed += tokio::time::timeout(REDIS_TIMEOUT * 4, unlink)
                    .await
                    .map_err(|_| "no answer to UNLINK within 1 s".to_owned())?
                    .map_err(|e| e.to_string())?;
            }
            if next == 0 {
                return Ok(removed);
            }
            cursor = next;
        }
    }

    fn failed(&self, cause: &str, started: Instant) {
        let now = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.failed_at(cause, now);
    }

    /// Counts an error, pauses Redis for a while and warns, at most every ten seconds.
    fn failed_at(&self, cause: &str, now_ms: u64) {
        self.counters.errors.fetch_add(1, Relaxed);
        self.paused_until_ms
            .store(now_ms.saturating_add(REDIS_PAUSE_MS), Relaxed);
        let last = self.last_warning_ms.load(Relaxed);
        let due = last == 0 || now_ms.saturating_sub(last) >= WARN_EVERY_MS;
        if due
            && self
                .last_warning_ms
                .compare_exchange(last, now_ms.max(1), Relaxed, Relaxed)
                .is_ok()
        {
            tracing::warn!(
                cause,
                "redis cache level failed; answering without it (further failures within \
                 10 s are only counted)"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str, headers: &[(&str, &str)]) -> http::request::Parts {
        let mut builder = http::Request::builder().uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[tokio::test]
    async fn the_key_sorts_the_query_and_keeps_the_negotiating_headers_apart() {
        let cache = ResponseCache::new(CacheConfig::default(), 7).unwrap();
        let a = cache.key(&parts("/items/1?b=2&a=1", &[]));
        let b = cache.key(&parts("/items/1?a=1&b=2", &[]));
        assert_eq!(a, b);
        let xml = cache.key(&parts("/items/1?a=1&b=2", &[("accept", "application/xml")]));
        assert_ne!(a, xml);
        let prefer = cache.key(&parts("/items/1?a=1&b=2", &[("prefer", "code=404")]));
        assert_ne!(a, prefer);
        let other = ResponseCache::new(CacheConfig::default(), 8).unwrap();
        assert_ne!(a, other.key(&parts("/items/1?a=1&b=2", &[])));
    }

    #[tokio::test]
    async fn memory_entries_expire_and_are_counted() {
        let config = CacheConfig {
            ttl: Duration::from_millis(1),
            ..CacheConfig::default()
        };
        let cache = ResponseCache::new(config, 0).unwrap();
        assert_eq!(cache.get("k").await, (None, Lookup::Miss));
        cache.put("k".to_owned(), Bytes::from_static(b"body"));
        // Expiry is checked against the clock in whole milliseconds.
        let deadline = Instant::now() + Duration::from_secs(5);
        while cache.now_ms() < 2 && Instant::now() < deadline {
            tokio::task::yield_now().await;
        }
        assert_eq!(cache.get("k").await, (None, Lookup::Miss));
        let report = cache.report();
        assert_eq!(report.memory.counts.misses, 2);
        assert_eq!(report.memory.counts.hits, 0);

        let cache = ResponseCache::new(CacheConfig::default(), 0).unwrap();
        cache.put("k".to_owned(), Bytes::from_static(b"body"));
        assert_eq!(
            cache.get("k").await,
            (Some(Bytes::from_static(b"body")), Lookup::Memory)
        );
        cache.invalidate();
        assert_eq!(cache.get("k").await.1, Lookup::Miss);
        assert_eq!(cache.report().invalidations, 1);
    }

    #[tokio::test]
    async fn the_memory_level_keeps_within_its_byte_bound() {
        let config = CacheConfig {
            max_bytes: 10_000,
            ..CacheConfig::default()
        };
        let cache = ResponseCache::new(config, 0).unwrap();
        for i in 0..100 {
            cache.put(format!("key-{i}"), Bytes::from(vec![b'x'; 500]));
        }
        let report = cache.report();
        assert!(report.memory.bytes <= 10_000, "{report:?}");
        assert!(report.memory.entries < 100 && report.memory.entries > 0);
    }

    #[test]
    fn glob_characters_of_the_prefix_are_escaped() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let _guard = runtime.enter();
        let config = CacheConfig {
            prefix: "a*b".to_owned(),
            ..CacheConfig::default()
        };
        let cache = ResponseCache::new(config, 0).unwrap();
        assert_eq!(cache.redis_pattern(), "a\\*b:body:*");
    }

    /// Against the Redis server on 127.0.0.1:6379, under a prefix of this test alone.
    #[tokio::test]
    async fn redis_keys_carry_the_ttl_and_invalidation_deletes_them() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let config = CacheConfig {
            backend: CacheBackend::Redis,
            ttl: Duration::from_secs(30),
            prefix: format!("mockloop-unit-{}-{nanos}", std::process::id()),
            ..CacheConfig::default()
        };
        let cache = ResponseCache::new(config.clone(), 1).unwrap();
        cache.put("k".to_owned(), Bytes::from_static(b"shared"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while cache.report().redis.unwrap().stored == 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let client = redis::Client::open(config.redis_url.as_str()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        let key = cache.redis_key("k");
        let mut pttl = redis::cmd("PTTL");
        pttl.arg(&key);
        let left: i64 = pttl.query_async(&mut connection).await.unwrap();
        assert!(left > 0 && left <= 30_000, "{left}");

        // Another instance on the prefix finds it in Redis.
        let other = ResponseCache::new(config, 1).unwrap();
        let (body, level) = other.get("k").await;
        assert_eq!(
            (body, level),
            (Some(Bytes::from_static(b"shared")), Lookup::Redis)
        );

        cache.invalidate();
        let mut exists = redis::cmd("EXISTS");
        exists.arg(&key);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let count: i64 = exists.query_async(&mut connection).await.unwrap();
            if count == 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the key outlived the invalidation"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn a_bad_redis_url_is_named() {
        let config = CacheConfig {
            backend: CacheBackend::Redis,
            redis_url: "http://nowhere".to_owned(),
            ..CacheConfig::default()
        };
        let err = ResponseCache::new(config, 0).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid redis_url 'http://nowhere'"),
            "{err}"
        );
    }
}
