//! The in-process store: bounded moka caches whose entries each carry their own deadline.
//! Also the local half of the Redis store (its limiter fallback and its 1 s front cache).

use std::time::{Duration, Instant, SystemTime};

use moka::Expiry;
use moka::future::Cache;
use moka::ops::compute::Op;

use super::gcra::{Gcra, micros};
use super::values::{CachedStatus, LimitKey, MAX_TTL, Rate};

/// Bound on the number of keys remembered by each cache.
const CAPACITY: u64 = 100_000;

/// A value valid until `until`.
#[derive(Debug, Clone, Copy)]
struct Timed<T> {
    value: T,
    until: Instant,
}

impl<T: Copy> Timed<T> {
    fn live(self, now: Instant) -> Option<T> {
        (now < self.until).then_some(self.value)
    }
}

/// Expires each entry at its own `until`.
struct UntilDeadline;

impl<K, T> Expiry<K, Timed<T>> for UntilDeadline {
    fn expire_after_create(&self, _: &K, value: &Timed<T>, now: Instant) -> Option<Duration> {
        Some(value.until.saturating_duration_since(now))
    }

    fn expire_after_update(
        &self,
        _: &K,
        value: &Timed<T>,
        now: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.until.saturating_duration_since(now))
    }
}

fn cache<T: Clone + Send + Sync + 'static>() -> Cache<String, Timed<T>> {
    Cache::builder()
        .max_capacity(CAPACITY)
        .expire_after(UntilDeadline)
        .build()
}

/// `now + ttl`, with `ttl` cut to [`MAX_TTL`].
fn deadline(now: Instant, ttl: Duration) -> Instant {
    now + ttl.min(MAX_TTL)
}

pub(crate) struct MemoryStore {
    /// The zero of the limiter's microsecond clock.
    epoch: Instant,
    /// Theoretical arrival times per limit key, in µs since `epoch`.
    limits: Cache<String, Timed<u64>>,
    revoked: Cache<String, Timed<()>>,
    claims: Cache<String, Timed<()>>,
    status: Cache<String, Timed<CachedStatus>>,
    last_good: Cache<String, Timed<SystemTime>>,
}

impl MemoryStore {
    pub(crate) fn new() -> MemoryStore {
        MemoryStore {
            epoch: Instant::now(),
            limits: cache(),
            revoked: cache(),
            claims: cache(),
            status: cache(),
            last_good: cache(),
        }
    }

    pub(crate) async fn take(&self, key: &LimitKey, rate: Rate) -> Result<(), Duration> {
        let Some(gcra) = Gcra::new(rate) else {
            return Ok(());
        };
        let mut verdict = Ok(());
        let verdict_slot = &mut verdict;
        self.limits
            .entry_by_ref(key.as_str())
            .and_compute_with(|entry| {
                let now = Instant::now();
                let now_us =
                    u64::try_from(now.duration_since(self.epoch).as_micros()).unwrap_or(u64::MAX);
                let tat = entry.and_then(|e| e.into_value().live(now));
                let op = match gcra.decide(tat, now_us) {
                    Ok(new_tat) => Op::Put(Timed {
                        value: new_tat,
                        until: deadline(now, micros(new_tat - now_us)),
                    }),
                    Err(wait) => {
                        *verdict_slot = Err(micros(wait));
                        Op::Nop
                    }
                };
                std::future::ready(op)
            })
            .await;
        verdict
    }

    pub(crate) async fn revoke(&self, handle: &str, ttl: Duration) {
        let until = deadline(Instant::now(), ttl);
        self.revoked
            .insert(handle.to_owned(), Timed { value: (), until })
            .await;
        self.status.invalidate(handle).await;
        self.last_good.invalidate(handle).await;
    }

    pub(crate) async fn is_revoked(&self, handle: &str) -> bool {
        let now = Instant::now();
        self.revoked
            .get(handle)
            .await
            .and_then(|t| t.live(now))
            .is_some()
    }

    pub(crate) async fn claim_once(&self, key: &str, ttl: Duration) -> bool {
        let result = self
            .claims
            .entry_by_ref(key)
            .and_compute_with(|entry| {
                let now = Instant::now();
                let op = match entry.and_then(|e| e.into_value().live(now)) {
                    Some(()) => Op::Nop,
                    None => Op::Put(Timed {
                        value: (),
                        until: deadline(now, ttl),
                    }),
                };
                std::future::ready(op)
            })
            .await;
        matches!(
            result,
            moka::ops::compute::CompResult::Inserted(_)
                | moka::ops::compute::CompResult::ReplacedWith(_)
        )
    }

    pub(crate) async fn cached_status(&self, handle: &str) -> Option<CachedStatus> {
        if self.is_revoked(handle).await {
            return None;
        }
        let now = Instant::now();
        self.status.get(handle).await.and_then(|t| t.live(now))
    }

    pub(crate) async fn put_status(&self, handle: &str, status: CachedStatus, ttl: Duration) {
        let until = deadline(Instant::now(), ttl);
        self.status
            .insert(
                handle.to_owned(),
                Timed {
                    value: status,
                    until,
                },
            )
            .await;
    }

    pub(crate) async fn last_good(&self, handle: &str) -> Option<SystemTime> {
        if self.is_revoked(handle).await {
            return None;
        }
        let now = Instant::now();
        self.last_good.get(handle).await.and_then(|t| t.live(now))
    }

    pub(crate) async fn set_last_good(&self, handle: &str, at: SystemTime, ttl: Duration) {
        let until = deadline(Instant::now(), ttl);
        self.last_good
            .insert(handle.to_owned(), Timed { value: at, until })
            .await;
    }
}
