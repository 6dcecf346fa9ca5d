//! Shared state of the actix integration: login rate limits, revocations, one-time claims,
//! the status cache of `revalidate_after` and the stale-if-error memory.
//!
//! One process keeps it in memory ([`Store::memory`], the default). Several instances behind
//! a load balancer share it in Redis ([`Store::redis`], feature `redis`), so a user's limit,
//! a logout or the one-time exchange of a pending cookie holds across all of them.
//!
//! A Redis outage never takes the application down and never grants more than one instance
//! alone would: login limits fall back to the instance's own limiter (which every take also
//! passes while Redis is up), cache reads fail so that the caller asks IAMPASS, and claims and
//! revocation checks fail so that the caller fails closed. Each Redis call has its own short
//! timeout, and the connection comes back by itself.
//!
//! ```
//! # async fn run() -> Result<(), iampass::core::store::StoreError> {
//! use std::time::Duration;
//! use iampass::core::store::{LimitKey, Rate, Store};
//!
//! let store = Store::memory(); // or Store::from_env()?, or Store::redis(url)?.build()
//! let five_a_minute = Rate::new(5, Duration::from_secs(60));
//! for _ in 0..5 {
//!     assert!(store.take(&LimitKey::user("alice"), five_a_minute).await.is_ok());
//! }
//! let retry_after = store.take(&LimitKey::user("alice"), five_a_minute).await.unwrap_err();
//! assert!(retry_after <= Duration::from_secs(12));
//!
//! store.revoke("handle-1", Duration::from_secs(3600)).await?;
//! assert!(store.is_revoked("handle-1").await?);
//! # Ok(()) }
//! ```

mod gcra;
mod memory;
#[cfg(feature = "redis")]
mod redis;
mod values;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use memory::MemoryStore;
#[cfg(feature = "redis")]
pub use redis::RedisStoreBuilder;
pub use values::{CachedStatus, LimitKey, Rate, StoreError, session_handle};

/// The environment variable naming the Redis server of [`Store::from_env`].
pub const REDIS_URL_ENV: &str = "IAMPASS_REDIS_URL";

/// Where the shared state lives. Cheap to clone (all clones share one state); `Send + Sync`.
///
/// Every operation is async and bounded: in memory it never waits on I/O, in Redis it waits
/// at most the configured timeout (250 ms by default).
#[derive(Clone)]
pub struct Store {
    backend: Arc<Backend>,
}

// Built once and kept behind an `Arc`: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
enum Backend {
    Memory(MemoryStore),
    #[cfg(feature = "redis")]
    Redis(redis::RedisStore),
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.backend {
            Backend::Memory(_) => f.debug_struct("Store").field("backend", &"memory").finish(),
            #[cfg(feature = "redis")]
            Backend::Redis(redis) => fmt::Debug::fmt(redis, f),
        }
    }
}

impl Default for Store {
    fn default() -> Self {
        Store::memory()
    }
}

impl Store {
    /// State kept in this process only: right for one instance, and the default.
    pub fn memory() -> Store {
        Store {
            backend: Arc::new(Backend::Memory(MemoryStore::new())),
        }
    }

    /// State shared in Redis; see [`RedisStoreBuilder`] for the knobs. Nothing connects yet:
    /// the first operation does, so a Redis that is down does not stop the application from
    /// starting. `url` is a `redis://` (or `rediss://`, `unix://`) URL; a password in it
    /// never appears in `Debug` output or logs.
    ///
    /// ```
    /// # fn run() -> Result<(), iampass::core::store::StoreError> {
    /// use std::time::Duration;
    /// let store = iampass::core::store::Store::redis("redis://127.0.0.1:6379/")?
    ///     .key_prefix("shop:")
    ///     .timeout(Duration::from_millis(100))
    ///     .build();
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn redis(url: &str) -> Result<RedisStoreBuilder, StoreError> {
        RedisStoreBuilder::from_url(url)
    }

    /// State shared in Redis through a client the application already configured (TLS,
    /// credentials, protocol). Like [`Store::redis`], nothing connects yet.
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn redis_client(client: ::redis::Client) -> RedisStoreBuilder {
        RedisStoreBuilder::from_client(client)
    }

    /// Redis when `IAMPASS_REDIS_URL` is set and not empty, memory otherwise.
    ///
    /// Fails on a URL that does not parse, or when the variable is set but the crate was
    /// built without the `redis` feature (silently running unshared would be a surprise).
    pub fn from_env() -> Result<Store, StoreError> {
        match std::env::var(REDIS_URL_ENV) {
            Ok(url) if !url.trim().is_empty() => Store::from_url(url.trim()),
            _ => Ok(Store::memory()),
        }
    }

    #[cfg(feature = "redis")]
    fn from_url(url: &str) -> Result<Store, StoreError> {
        Ok(Store::redis(url)?.build())
    }

    #[cfg(not(feature = "redis"))]
    fn from_url(_url: &str) -> Result<Store, StoreError> {
        Err(StoreError::Config(format!(
            "{REDIS_URL_ENV} is set but iampass was built without the `redis` feature"
        )))
    }

    /// `"memory"` or `"redis"`.
    pub fn backend_name(&self) -> &'static str {
        match &*self.backend {
            Backend::Memory(_) => "memory",
            #[cfg(feature = "redis")]
            Backend::Redis(_) => "redis",
        }
    }

    /// Takes one event (a login start) from the limit `key` at `rate`. `Err(retry_after)`
    /// when the limit is exhausted; a refused take consumes nothing.
    ///
    /// Redis: one atomic round trip shared by all instances. Every take also passes this
    /// instance's own limiter first, and when Redis is down or slow (a warning is logged, at
    /// most once per 10 s) that local limiter alone decides: never more than one instance
    /// alone would grant.
    pub async fn take(&self, key: &LimitKey, rate: Rate) -> Result<(), Duration> {
        match &*self.backend {
            Backend::Memory(m) => m.take(key, rate).await,
            #[cfg(feature = "redis")]
            Backend::Redis(r) => r.take(key, rate).await,
        }
    }

    /// Revokes a session handle for `ttl` (which should cover the session's remaining life):
    /// [`is_revoked`](Store::is_revoked) answers true and its cached status and last-good
    /// time are dropped, on every instance within 1 s.
    ///
    /// On `Err` the revocation may not have reached the other instances (this instance
    /// honours it anyway): the caller should still end the session at IAMPASS, whose answer
    /// every instance asks once its cached status expires.
    pub async fn revoke(&self, handle: &str, ttl: Duration) -> Result<(), StoreError> {
        match &*self.backend {
            Backend::Memory(m) => {
                m.revoke(handle, ttl).await;
                Ok(())
            }
            #[cfg(feature = "redis")]
            Backend::Redis(r) => r.revoke(handle, ttl).await,
        }
    }

    /// Whether the handle was revoked (and the revocation has not expired).
    ///
    /// Fail closed on `Err`: the state is unknown, so treat the handle as possibly revoked
    /// (do not serve it from a cache; ask IAMPASS, or refuse).
    pub async fn is_revoked(&self, handle: &str) -> Result<bool, StoreError> {
        match &*self.backend {
            Backend::Memory(m) => Ok(m.is_revoked(handle).await),
            #[cfg(feature = "redis")]
            Backend::Redis(r) => r.is_revoked(handle).await,
        }
    }

    /// Claims `key` for `ttl`: `Ok(true)` for exactly one caller across all instances sharing
    /// the store (memory: across this process), `Ok(false)` for every other until `ttl` ends.
    ///
    /// Fail closed on `Err`: nobody is known to have won, so do not perform the one-time
    /// action. A claim that timed out may still have reached Redis, so a later try of the
    /// same key can answer `Ok(false)`.
    pub async fn claim_once(&self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        match &*self.backend {
            Backend::Memory(m) => Ok(m.claim_once(key, ttl).await),
            #[cfg(feature = "redis")]
            Backend::Redis(r) => r.claim_once(key, ttl).await,
        }
    }

    /// The cached status of a handle, if one was put within its `ttl` and the handle was
    /// not revoked since. Redis: a local copy answers for at most 1 s (dropped at once by a
    /// local revocation), otherwise one round trip reads the status and the revocation.
    ///
    /// Treat `Err` as a miss: ask IAMPASS.
    pub async fn cached_status(&self, handle: &str) -> Result<Option<CachedStatus>, StoreError> {
        match &*self.backend {
            Backend::Memory(m) => Ok(m.cached_status(handle).await),
            #[cfg(feature = "redis")]
            Backend::Redis(r) => r.cached_status(handle).await,
        }
    }

    /// Caches a handle's status for `ttl`.
    ///
    /// `Err` only means the answer was not shared; the caller can ignore it.
    pub async fn put_status(
        &self,
        handle: &str,
        status: CachedStatus,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        match &*self.backend {
            Backend::Memory(m) => {
                m.put_status(handle, status, ttl).await;
                Ok(())
            }
            #[cfg(feature = "redis")]
            Backend::Redis(r) => r.put_status(handle, status, ttl).await,
        }
    }

    /// When IAMPASS last said `active` for the handle (the stale-if-error memory), if within
    /// the `ttl` it was set with and the handle was not revoked since.
    ///
    /// Treat `Err` as "unknown": no stale grace (fail closed).
    pub async fn last_good(&self, handle: &str) -> Result<Option<SystemTime>, StoreError> {
        match &*self.backend {
            Backend::Memory(m) => Ok(m.last_good(handle).await),
            #[cfg(feature = "redis")]
            Backend::Redis(r) => r.last_good(handle).await,
        }
    }

    /// Remembers when IAMPASS last said `active` for the handle, for `ttl` (the grace).
    ///
    /// `Err` only means the time was not shared; the caller can ignore it.
    pub async fn set_last_good(
        &self,
        handle: &str,
        at: SystemTime,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        match &*self.backend {
            Backend::Memory(m) => {
                m.set_last_good(handle, at, ttl).await;
                Ok(())
            }
            #[cfg(feature = "redis")]
            Backend::Redis(r) => r.set_last_good(handle, at, ttl).await,
        }
    }

    /// How many Redis round trips this store (all its clones) has made, answered or not;
    /// always 0 in memory. For benches and tests.
    pub fn round_trips(&self) -> u64 {
        match &*self.backend {
            Backend::Memory(_) => 0,
            #[cfg(feature = "redis")]
            Backend::Redis(r) => r.round_trips(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::values::MAX_USER_KEY;
    use super::*;

    #[test]
    fn a_store_is_send_sync_and_cheap_to_clone() {
        fn send_sync<T: Send + Sync + Clone + 'static>() {}
        send_sync::<Store>();
        let a = Store::memory();
        let b = a.clone();
        assert!(Arc::ptr_eq(&a.backend, &b.backend));
    }

    #[test]
    fn limit_keys_are_short_and_normalised() {
        assert_eq!(LimitKey::user("alice").as_str(), "user:alice");
        let long = "a".repeat(MAX_USER_KEY + 1);
        let key = LimitKey::user(&long);
        assert!(
            key.as_str().starts_with("user#") && key.as_str().len() < 64,
            "{key:?}"
        );
        assert_ne!(key, LimitKey::user(&"a".repeat(MAX_USER_KEY + 2)));
        let at_limit = "b".repeat(MAX_USER_KEY);
        assert_eq!(
            LimitKey::user(&at_limit).as_str(),
            format!("user:{at_limit}")
        );
        let address = |s: &str| LimitKey::address(s.parse().unwrap());
        assert_eq!(address("192.0.2.1").as_str(), "addr:192.0.2.1");
        assert_eq!(address("::ffff:192.0.2.1").as_str(), "addr:192.0.2.1");
        assert_eq!(
            address("2001:db8:1:2:3:4:5:6").as_str(),
            "addr:2001:db8:1:2::"
        );
        // A user can never collide with an address.
        assert_ne!(LimitKey::user("addr:192.0.2.1").as_str(), "addr:192.0.2.1");
    }
}
