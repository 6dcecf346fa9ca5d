//! The Redis store: every instance reads and writes the same keys, each operation in one
//! round trip with its own timeout, and a local [`MemoryStore`] in front (the limiter every
//! take passes first and falls back to, a status cache of at most 1 s, local revocations).
//!
//! Keys, under the prefix (`iampass:` by default); the handle is in braces so that a
//! handle's keys share a Redis Cluster slot:
//! `limit:<limit key>` (GCRA TAT, µs), `revoked:{<handle>}`, `status:{<handle>}`
//! (`<status> <checked at, ms> <expires at, ms>`), `good:{<handle>}` (ms), `claim:<key>`.

use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, ErrorKind, FromRedisValue, Pipeline, RedisError, ServerErrorKind};

use super::gcra::{Gcra, micros};
use super::memory::MemoryStore;
use super::values::{CachedStatus, LimitKey, MAX_TTL, Rate};
use super::{Backend, Store, StoreError};

/// The default key prefix.
const DEFAULT_PREFIX: &str = "iampass:";
/// The default timeout of one Redis call.
const DEFAULT_TIMEOUT: Duration = Duration::from_millis(250);
/// How long a status read from Redis is answered locally: the longest a revocation made on
/// another instance can go unseen here.
const FRONT_CACHE: Duration = Duration::from_secs(1);
/// At most one warning about Redis failing per this interval.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// Configures a Redis [`Store`]; made by [`Store::redis`] or [`Store::redis_client`].
///
/// Every instance that should share state must use the same Redis and the same prefix.
pub struct RedisStoreBuilder {
    client: redis::Client,
    prefix: String,
    timeout: Duration,
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStoreBuilder")
            .field("server", &server_name(&self.client))
            .field("key_prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RedisStoreBuilder {
    pub(crate) fn from_url(url: &str) -> Result<RedisStoreBuilder, StoreError> {
        // The parser's messages never repeat the URL's user part, so no password leaks.
        let client = redis::Client::open(url)
            .map_err(|e| StoreError::Config(format!("not a usable Redis URL: {e}")))?;
        Ok(RedisStoreBuilder::from_client(client))
    }

    pub(crate) fn from_client(client: redis::Client) -> RedisStoreBuilder {
        RedisStoreBuilder {
            client,
            prefix: DEFAULT_PREFIX.to_owned(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The prefix of every key (default `iampass:`), to share one Redis between
    /// applications or deployments.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> RedisStoreBuilder {
        self.prefix = prefix.into();
        self
    }

    /// How long one Redis call (connecting included) may take before the store gives up on
    /// it and falls back (default 250 ms). At least 1 ms.
    pub fn timeout(mut self, timeout: Duration) -> RedisStoreBuilder {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// The store. Does not connect: the first operation does (within its timeout).
    pub fn build(self) -> Store {
        Store {
            backend: std::sync::Arc::new(Backend::Redis(RedisStore {
                server: server_name(&self.client),
                client: self.client,
                manager: OnceLock::new(),
                prefix: self.prefix,
                timeout: self.timeout,
                local: MemoryStore::new(),
                script: redis::Script::new(include_str!("gcra.lua")),
                round_trips: AtomicU64::new(0),
                created: Instant::now(),
                next_warning_ms: AtomicU64::new(0),
                unreported_failures: AtomicU64::new(0),
            })),
        }
    }
}

/// `host:port/db` (or the socket path): what a log line may say about the server.
fn server_name(client: &redis::Client) -> String {
    let info = client.get_connection_info();
    format!("{}/{}", info.addr(), info.redis_settings().db())
}

pub(crate) struct RedisStore {
    client: redis::Client,
    /// Created on first use (it needs the runtime), then cloned per call.
    manager: OnceLock<ConnectionManager>,
    prefix: String,
    timeout: Duration,
    server: String,
    local: MemoryStore,
    script: redis::Script,
    round_trips: AtomicU64,
    created: Instant,
    /// Milliseconds since `created` before which no new warning is logged.
    next_warning_ms: AtomicU64,
    unreported_failures: AtomicU64,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &"redis")
            .field("server", &self.server)
            .field("key_prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Why a Redis call failed.
enum Failure {
    Timeout,
    Redis(RedisError),
}

impl RedisStore {
    pub(crate) fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    fn connection(&self) -> Result<ConnectionManager, Failure> {
        if let Some(manager) = self.manager.get() {
            return Ok(manager.clone());
        }
        // No retries inside the manager: a call fails fast while Redis is down, and the next
        // call after a failure starts a fresh connection attempt.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(0);
        let manager = ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            .map_err(Failure::Redis)?;
        Ok(self.manager.get_or_init(|| manager).clone())
    }

    async fn run<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, Failure> {
        let mut connection = self.connection()?;
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        match tokio::time::timeout(self.timeout, cmd.query_async(&mut connection)).await {
            Ok(answer) => answer.map_err(Failure::Redis),
            Err(_) => Err(Failure::Timeout),
        }
    }

    async fn run_pipeline<T: FromRedisValue>(&self, pipeline: &Pipeline) -> Result<T, Failure> {
        let mut connection = self.connection()?;
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        match tokio::time::timeout(self.timeout, pipeline.query_async(&mut connection)).await {
            Ok(answer) => answer.map_err(Failure::Redis),
            Err(_) => Err(Failure::Timeout),
        }
    }

    /// Maps a failure to the caller's error, logging a warning at most once per
    /// [`WARN_EVERY`] (with the number of failures not logged since).
    fn failed(&self, operation: &'static str, failure: Failure) -> StoreError {
        crate::metrics::store_error(operation);
        let error = match failure {
            Failure::Timeout => StoreError::Timeout(self.timeout),
            Failure::Redis(e) if e.is_timeout() => StoreError::Timeout(self.timeout),
            Failure::Redis(e)
                if e.is_io_error() || e.is_connection_refusal() || e.is_connection_dropped() =>
            {
                StoreError::Unavailable(e.to_string())
            }
            Failure::Redis(e) => StoreError::Protocol(e.to_string()),
        };
        let unreported = self.unreported_failures.fetch_add(1, Ordering::Relaxed) + 1;
        let now_ms = u64::try_from(self.created.elapsed().as_millis()).unwrap_or(u64::MAX);
        let next = self.next_warning_ms.load(Ordering::Relaxed);
        if now_ms >= next
            && self
                .next_warning_ms
                .compare_exchange(
                    next,
                    now_ms + WARN_EVERY.as_millis() as u64,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            self.unreported_failures
                .fetch_sub(unreported, Ordering::Relaxed);
            tracing::warn!(
                server = %self.server,
                operation,
                failures = unreported,
                "shared store (Redis) failed: {error}; limits fall back to this instance's own, \
                 cache reads count as misses"
            );
        }
        error
    }

    fn key(&self, kind: &str, name: &str) -> String {
        format!("{}{kind}:{name}", self.prefix)
    }

    /// A key of a session handle, with the handle as the Redis Cluster hash tag.
    fn handle_key(&self, kind: &str, handle: &str) -> String {
        format!("{}{kind}:{{{handle}}}", self.prefix)
    }

    pub(crate) async fn take(&self, key: &LimitKey, rate: Rate) -> Result<(), Duration> {
        // This instance's own limiter first: it refuses without a round trip, and keeps
        // counting so that it can take over when Redis fails.
        self.local.take(key, rate).await?;
        let Some(gcra) = Gcra::new(rate) else {
            return Ok(());
        };
        let redis_key = self.key("limit", key.as_str());
        let mut evalsha = redis::cmd("EVALSHA");
        evalsha
            .arg(self.script.get_hash())
            .arg(1)
            .arg(&redis_key)
            .arg(gcra.interval)
            .arg(gcra.period);
        let mut answer = self.run::<u64>(&evalsha).await;
        if matches!(&answer, Err(Failure::Redis(e)) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript))
        {
            // First use on this Redis (or after a restart): EVAL also caches the script.
            let mut eval = redis::cmd("EVAL");
            eval.arg(include_str!("gcra.lua"))
                .arg(1)
                .arg(&redis_key)
                .arg(gcra.interval)
                .arg(gcra.period);
            answer = self.run::<u64>(&eval).await;
        }
        match answer {
            Ok(0) => Ok(()),
            Ok(wait) => Err(micros(wait)),
            Err(failure) => {
                // The local limiter granted this take above: it decides alone.
                self.failed("take", failure);
                Ok(())
            }
        }
    }

    pub(crate) async fn revoke(&self, handle: &str, ttl: Duration) -> Result<(), StoreError> {
        self.local.revoke(handle, ttl).await;
        let mut pipeline = redis::pipe();
        pipeline
            .atomic()
            .cmd("SET")
            .arg(self.handle_key("revoked", handle))
            .arg(1)
            .arg("PX")
            .arg(px(ttl))
            .ignore()
            .cmd("DEL")
            .arg(self.handle_key("status", handle))
            .arg(self.handle_key("good", handle))
            .ignore();
        self.run_pipeline::<()>(&pipeline)
            .await
            .map_err(|f| self.failed("revoke", f))
    }

    pub(crate) async fn is_revoked(&self, handle: &str) -> Result<bool, StoreError> {
        if self.local.is_revoked(handle).await {
            return Ok(true);
        }
        let mut exists = redis::cmd("EXISTS");
        exists.arg(self.handle_key("revoked", handle));
        self.run::<u64>(&exists)
            .await
            .map(|n| n > 0)
            .map_err(|f| self.failed("is_revoked", f))
    }

    pub(crate) async fn claim_once(&self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        let mut set = redis::cmd("SET");
        set.arg(self.key("claim", key))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(px(ttl));
        self.run::<Option<String>>(&set)
            .await
            .map(|ok| ok.is_some())
            .map_err(|f| self.failed("claim_once", f))
    }

    pub(crate) async fn cached_status(
        &self,
        handle: &str,
    ) -> Result<Option<CachedStatus>, StoreError> {
        if self.local.is_revoked(handle).await {
            return Ok(None);
        }
        if let Some(status) = self.local.cached_status(handle).await {
            return Ok(Some(status));
        }
        let (status, revoked_pttl) = self
            .run_pipeline::<(Option<String>, i64)>(&self.read_with_revocation("status", handle))
            .await
            .map_err(|f| self.failed("cached_status", f))?;
        if self.note_revocation(handle, revoked_pttl).await {
            return Ok(None);
        }
        let Some(status) = status else {
            return Ok(None);
        };
        let (status, expires_at) = decode_status(&status)
            .ok_or_else(|| StoreError::Protocol(format!("malformed cached status {status:?}")))?;
        let Ok(left) = expires_at.duration_since(SystemTime::now()) else {
            return Ok(None);
        };
        self.local
            .put_status(handle, status, left.min(FRONT_CACHE))
            .await;
        Ok(Some(status))
    }

    /// One round trip: `GET` of the handle's `kind` key and `PTTL` of its revocation.
    fn read_with_revocation(&self, kind: &str, handle: &str) -> Pipeline {
        let mut pipeline = redis::pipe();
        pipeline
            .cmd("GET")
            .arg(self.handle_key(kind, handle))
            .cmd("PTTL")
            .arg(self.handle_key("revoked", handle));
        pipeline
    }

    pub(crate) async fn put_status(
        &self,
        handle: &str,
        status: CachedStatus,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let expires_at = SystemTime::now() + ttl.min(MAX_TTL);
        // With the write, ask whether (and for how long) the handle is revoked, so that the
        // local copy is made only of an answer that may be served.
        let mut pipeline = redis::pipe();
        pipeline
            .cmd("SET")
            .arg(self.handle_key("status", handle))
            .arg(encode_status(status, expires_at))
            .arg("PX")
            .arg(px(ttl))
            .ignore()
            .cmd("PTTL")
            .arg(self.handle_key("revoked", handle));
        let (revoked_for_ms,): (i64,) = self
            .run_pipeline(&pipeline)
            .await
            .map_err(|f| self.failed("put_status", f))?;
        if !self.note_revocation(handle, revoked_for_ms).await {
            self.local
                .put_status(handle, status, ttl.min(FRONT_CACHE))
                .await;
        }
        Ok(())
    }

    /// Given the `PTTL` of a handle's revocation key, whether it is revoked; a revocation
    /// made elsewhere is then remembered locally too, so that later lookups of the handle
    /// here need no round trip.
    async fn note_revocation(&self, handle: &str, revoked_pttl: i64) -> bool {
        match revoked_pttl {
            // No such key.
            -2 => false,
            // -1: a key without expiry (not written by this crate); else milliseconds left.
            ms => {
                let left = u64::try_from(ms).map_or(MAX_TTL, Duration::from_millis);
                self.local.revoke(handle, left).await;
                true
            }
        }
    }

    pub(crate) async fn last_good(&self, handle: &str) -> Result<Option<SystemTime>, StoreError> {
        if self.local.is_revoked(handle).await {
            return Ok(None);
        }
        let (good, revoked_pttl) = self
            .run_pipeline::<(Option<String>, i64)>(&self.read_with_revocation("good", handle))
            .await
            .map_err(|f| self.failed("last_good", f))?;
        if self.note_revocation(handle, revoked_pttl).await {
            return Ok(None);
        }
        match good {
            Some(good) => good
                .parse::<u64>()
                .map(|ms| Some(UNIX_EPOCH + Duration::from_millis(ms)))
                .map_err(|_| StoreError::Protocol(format!("malformed last-good time {good:?}"))),
            None => Ok(None),
        }
    }

    pub(crate) async fn set_last_good(
        &self,
        handle: &str,
        at: SystemTime,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let mut set = redis::cmd("SET");
        set.arg(self.handle_key("good", handle))
            .arg(unix_ms(at))
            .arg("PX")
            .arg(px(ttl));
        self.run::<()>(&set)
            .await
            .map_err(|f| self.failed("set_last_good", f))
    }
}

/// A TTL as Redis `PX` milliseconds: at least 1, at most [`MAX_TTL`].
fn px(ttl: Duration) -> u64 {
    u64::try_from(ttl.min(MAX_TTL).as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn encode_status(status: CachedStatus, expires_at: SystemTime) -> String {
    format!(
        "{} {} {}",
        status.status,
        unix_ms(status.checked_at),
        unix_ms(expires_at)
    )
}

fn decode_status(value: &str) -> Option<(CachedStatus, SystemTime)> {
    let mut parts = value.split(' ');
    let status = parts.next()?.parse().ok()?;
    let checked_at = UNIX_EPOCH + Duration::from_millis(parts.next()?.parse().ok()?);
    let expires_at = UNIX_EPOCH + Duration::from_millis(parts.next()?.parse().ok()?);
    if parts.next().is_some() {
        return None;
    }
    Some((CachedStatus { status, checked_at }, expires_at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Status;

    #[test]
    fn status_encoding_round_trips_and_rejects_garbage() {
        let checked_at = UNIX_EPOCH + Duration::from_millis(1_764_000_000_123);
        let expires_at = checked_at + Duration::from_secs(60);
        for status in Status::ALL {
            let cached = CachedStatus::new(status, checked_at);
            let encoded = encode_status(cached, expires_at);
            assert_eq!(decode_status(&encoded), Some((cached, expires_at)));
        }
        for bad in [
            "",
            "active",
            "active 1",
            "bogus 1 2",
            "active x 2",
            "active 1 2 3",
        ] {
            assert_eq!(decode_status(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn px_is_bounded() {
        assert_eq!(px(Duration::ZERO), 1);
        assert_eq!(px(Duration::from_micros(1500)), 1);
        assert_eq!(px(Duration::from_secs(2)), 2000);
        assert_eq!(px(Duration::MAX), MAX_TTL.as_millis() as u64);
    }

    #[test]
    fn debug_and_errors_never_show_the_password() {
        let builder = Store::redis("redis://user:hunter2@127.0.0.1:6390/3").unwrap();
        let shown = format!("{builder:?}");
        assert!(shown.contains("127.0.0.1:6390/3"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        let shown = format!("{:?}", builder.key_prefix("app:").build());
        assert!(
            shown.contains("app:") && !shown.contains("hunter2"),
            "{shown}"
        );
        let error = Store::redis("redis://user:hunter2@").unwrap_err();
        assert!(matches!(error, StoreError::Config(_)), "{error:?}");
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }
}
