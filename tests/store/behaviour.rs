//! Behaviour every store backend shares. Each body gets two `Store`s that should share state:
//! two clones of one memory store (one process), or two instances on one Redis.

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use iampass::Status;
use iampass::core::store::{CachedStatus, LimitKey, Rate, Store};

use crate::common::eventually::eventually_within;

const HOUR: Duration = Duration::from_secs(3600);

/// A time with whole milliseconds (the resolution Redis keeps).
fn whole_ms(at: SystemTime) -> SystemTime {
    let ms = at.duration_since(UNIX_EPOCH).unwrap().as_millis();
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap())
}

pub async fn limits_are_shared_and_refusals_say_when_to_retry(a: Store, b: Store) {
    let rate = Rate::new(5, Duration::from_secs(60));
    let alice = LimitKey::user("alice");
    for store in [&a, &a, &a, &b, &b] {
        store.take(&alice, rate).await.unwrap();
    }
    for store in [&a, &b] {
        let wait = store.take(&alice, rate).await.unwrap_err();
        // One interval (12 s) minus the little time the takes above took.
        assert!(
            wait > Duration::from_secs(10) && wait <= Duration::from_secs(12),
            "{wait:?}"
        );
    }
    // Other users and addresses have their own limits.
    b.take(&LimitKey::user("bob"), rate).await.unwrap();
    let address: IpAddr = "192.0.2.7".parse().unwrap();
    a.take(&LimitKey::address(address), rate).await.unwrap();
}

pub async fn an_ipv6_address_counts_by_its_64(a: Store, b: Store) {
    let once = Rate::new(1, HOUR);
    let key = |s: &str| LimitKey::address(s.parse().unwrap());
    a.take(&key("2001:db8:1:2::1"), once).await.unwrap();
    assert!(b.take(&key("2001:db8:1:2:ffff::9"), once).await.is_err());
    b.take(&key("2001:db8:1:3::1"), once).await.unwrap();
    a.take(&key("192.0.2.1"), once).await.unwrap();
    assert!(b.take(&key("::ffff:192.0.2.1"), once).await.is_err());
}

pub async fn concurrent_takes_grant_exactly_the_burst(a: Store, b: Store) {
    let rate = Rate::new(5, HOUR);
    let key = LimitKey::user("carol");
    let takes = (0..100).map(|i| {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        let key = key.clone();
        tokio::spawn(async move { store.take(&key, rate).await.is_ok() })
    });
    let mut granted = 0;
    for take in takes.collect::<Vec<_>>() {
        granted += usize::from(take.await.unwrap());
    }
    assert_eq!(granted, 5);
}

pub async fn a_zero_rate_does_not_limit(a: Store, _b: Store) {
    for rate in [Rate::new(0, HOUR), Rate::new(3, Duration::ZERO)] {
        for _ in 0..20 {
            a.take(&LimitKey::user("dave"), rate).await.unwrap();
        }
    }
}

pub async fn a_revocation_is_seen_by_the_other_instance_within_1s(a: Store, b: Store) {
    let checked_at = whole_ms(SystemTime::now());
    let active = CachedStatus::new(Status::Active, checked_at);
    a.put_status("h1", active, HOUR).await.unwrap();
    a.set_last_good("h1", checked_at, HOUR).await.unwrap();
    // b reads (and may keep locally) the cached status.
    assert_eq!(b.cached_status("h1").await.unwrap(), Some(active));
    assert!(!b.is_revoked("h1").await.unwrap());

    a.revoke("h1", HOUR).await.unwrap();
    assert!(a.is_revoked("h1").await.unwrap());
    assert_eq!(a.cached_status("h1").await.unwrap(), None);
    assert!(b.is_revoked("h1").await.unwrap());
    // Within 1 s (b's local copy), with a little room for a busy machine.
    eventually_within(
        Duration::from_millis(1500),
        "b sees the revocation",
        || async { b.cached_status("h1").await.unwrap().is_none() },
    )
    .await;
    assert_eq!(b.last_good("h1").await.unwrap(), None);

    // A status answer that arrives after the revocation never reads as cached.
    b.put_status("h1", active, HOUR).await.unwrap();
    b.set_last_good("h1", checked_at, HOUR).await.unwrap();
    for store in [&a, &b] {
        assert_eq!(store.cached_status("h1").await.unwrap(), None);
        assert_eq!(store.last_good("h1").await.unwrap(), None);
    }
    // Other handles are untouched.
    assert!(!a.is_revoked("h2").await.unwrap());
}

pub async fn a_revocation_expires(a: Store, b: Store) {
    a.revoke("short", Duration::from_millis(800)).await.unwrap();
    assert!(b.is_revoked("short").await.unwrap());
    eventually_within(Duration::from_secs(3), "the revocation expires", || async {
        !a.is_revoked("short").await.unwrap() && !b.is_revoked("short").await.unwrap()
    })
    .await;
}

pub async fn claim_once_has_exactly_one_winner(a: Store, b: Store) {
    let claims = (0..60).map(|i| {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        tokio::spawn(async move { store.claim_once("pending-1", HOUR).await.unwrap() })
    });
    let mut winners = 0;
    for claim in claims.collect::<Vec<_>>() {
        winners += usize::from(claim.await.unwrap());
    }
    assert_eq!(winners, 1);
    assert!(!a.claim_once("pending-1", HOUR).await.unwrap());
    assert!(b.claim_once("pending-2", HOUR).await.unwrap());

    // Once its TTL ends, a key can be claimed again.
    let short = Duration::from_millis(800);
    assert!(a.claim_once("short", short).await.unwrap());
    assert!(!b.claim_once("short", short).await.unwrap());
    eventually_within(Duration::from_secs(3), "the claim expires", || async {
        b.claim_once("short", HOUR).await.unwrap()
    })
    .await;
    assert!(!a.claim_once("short", HOUR).await.unwrap());
}

pub async fn status_cache_and_last_good_round_trip_and_expire(a: Store, b: Store) {
    assert_eq!(b.cached_status("h3").await.unwrap(), None);
    assert_eq!(b.last_good("h3").await.unwrap(), None);
    let checked_at = whole_ms(SystemTime::now() - Duration::from_secs(5));
    for status in [Status::Walkaway, Status::Active] {
        let cached = CachedStatus::new(status, checked_at);
        a.put_status("h3", cached, HOUR).await.unwrap();
        // A new answer replaces the old one everywhere (b's local copy of the first answer
        // lives at most 1 s).
        eventually_within(
            Duration::from_millis(1500),
            "b reads the new answer",
            || async { b.cached_status("h3").await.unwrap() == Some(cached) },
        )
        .await;
    }
    a.set_last_good("h3", checked_at, HOUR).await.unwrap();
    assert_eq!(b.last_good("h3").await.unwrap(), Some(checked_at));

    let short = Duration::from_millis(800);
    a.put_status("h4", CachedStatus::new(Status::Active, checked_at), short)
        .await
        .unwrap();
    a.set_last_good("h4", checked_at, short).await.unwrap();
    assert!(b.cached_status("h4").await.unwrap().is_some());
    assert!(b.last_good("h4").await.unwrap().is_some());
    eventually_within(
        Duration::from_secs(3),
        "the cached status expires",
        || async {
            a.cached_status("h4").await.unwrap().is_none()
                && b.cached_status("h4").await.unwrap().is_none()
                && b.last_good("h4").await.unwrap().is_none()
        },
    )
    .await;
    // The long-lived entries are still there.
    assert!(a.cached_status("h3").await.unwrap().is_some());
}
