//! Redis failing under the stores: stopped, frozen, not yet started, restarted; and what the
//! failures log.

use std::future::Future;
use std::time::{Duration, SystemTime};

use iampass::Status;
use iampass::core::store::{CachedStatus, LimitKey, Rate, Store, StoreError};

use crate::common::eventually::eventually_within;
use crate::common::net::dead_port;
use crate::redis_server::RedisServer;

const HOUR: Duration = Duration::from_secs(3600);
const TIMEOUT: Duration = Duration::from_millis(200);

fn store(server: &RedisServer) -> Store {
    Store::redis(&server.url())
        .unwrap()
        .timeout(TIMEOUT)
        .build()
}

/// Awaits `op`, failing the test if it takes longer than the store's timeout (with room
/// for a busy machine).
async fn bounded<T>(op: impl Future<Output = T>) -> T {
    tokio::time::timeout(TIMEOUT + Duration::from_millis(400), op)
        .await
        .expect("a store call outlived its timeout")
}

fn active() -> CachedStatus {
    CachedStatus::new(Status::Active, SystemTime::now())
}

/// Polls until both stores reach Redis again (they reconnect by themselves).
pub(crate) async fn until_reconnected(stores: &[&Store]) {
    eventually_within(Duration::from_secs(5), "the stores reconnect", || async {
        for store in stores {
            if store.is_revoked("probe").await.is_err() {
                return false;
            }
        }
        true
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_mid_run_falls_back_to_local_and_shares_again_after_restart() {
    let Some(mut server) = RedisServer::start("redis_stopped_mid_run") else {
        return;
    };
    let (a, b) = (store(&server), store(&server));
    let rate = Rate::new(3, HOUR);
    let erin = LimitKey::user("erin");
    a.take(&erin, rate).await.unwrap();
    b.take(&erin, rate).await.unwrap();

    server.stop();
    // Limits: each instance's own limiter decides, and still refuses past its limit.
    bounded(a.take(&erin, rate)).await.unwrap();
    bounded(a.take(&erin, rate)).await.unwrap();
    assert!(bounded(a.take(&erin, rate)).await.is_err());
    // Cache reads, claims and revocation checks fail (a miss, or fail closed); no panic.
    assert!(bounded(b.cached_status("h")).await.is_err());
    assert!(bounded(b.last_good("h")).await.is_err());
    assert!(bounded(b.put_status("h", active(), HOUR)).await.is_err());
    assert!(
        bounded(b.set_last_good("h", SystemTime::now(), HOUR))
            .await
            .is_err()
    );
    assert!(bounded(b.claim_once("claim", HOUR)).await.is_err());
    assert!(bounded(b.is_revoked("h")).await.is_err());
    // A revocation made during the outage is not shared, but holds on its own instance.
    let error = bounded(a.revoke("h", HOUR)).await.unwrap_err();
    assert!(
        matches!(error, StoreError::Unavailable(_) | StoreError::Timeout(_)),
        "{error:?}"
    );
    assert!(a.is_revoked("h").await.unwrap());
    assert_eq!(a.cached_status("h").await.unwrap(), None);

    server.restart();
    until_reconnected(&[&a, &b]).await;
    // Shared again: b's own limiter has room, Redis refuses what a already took.
    let rate = Rate::new(2, HOUR);
    let frank = LimitKey::user("frank");
    a.take(&frank, rate).await.unwrap();
    a.take(&frank, rate).await.unwrap();
    assert!(b.take(&frank, rate).await.is_err());
    assert!(b.claim_once("claim", HOUR).await.unwrap());
    assert!(!a.claim_once("claim", HOUR).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_redis_times_out_and_limits_stay_local() {
    let Some(server) = RedisServer::start("a_frozen_redis") else {
        return;
    };
    let a = store(&server);
    let rate = Rate::new(2, HOUR);
    let gina = LimitKey::user("gina");
    a.take(&gina, rate).await.unwrap();

    server.pause();
    bounded(a.take(&gina, rate)).await.unwrap();
    assert!(bounded(a.take(&gina, rate)).await.is_err());
    let error = bounded(a.cached_status("h")).await.unwrap_err();
    assert_eq!(error, StoreError::Timeout(TIMEOUT));
    let error = bounded(a.claim_once("claim", HOUR)).await.unwrap_err();
    assert_eq!(error, StoreError::Timeout(TIMEOUT));

    server.resume();
    until_reconnected(&[&a]).await;
    // (The timed-out claim may still have run once Redis thawed: hence "fail closed".)
    assert!(a.claim_once("after", HOUR).await.unwrap());
    assert!(!a.claim_once("after", HOUR).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_made_before_its_redis_starts_works_once_redis_is_up() {
    let Some(mut server) = RedisServer::unused("a_store_made_before_its_redis") else {
        return;
    };
    let a = store(&server);
    let rate = Rate::new(1, HOUR);
    let hugo = LimitKey::user("hugo");
    bounded(a.take(&hugo, rate)).await.unwrap();
    assert!(bounded(a.take(&hugo, rate)).await.is_err());
    let error = bounded(a.cached_status("h")).await.unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");

    server.restart();
    until_reconnected(&[&a]).await;
    a.put_status("h", active(), HOUR).await.unwrap();
    assert!(store(&server).cached_status("h").await.unwrap().is_some());
}

/// A log sink for one test.
#[derive(Clone, Default)]
struct Log(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// Current-thread runtime: the subscriber below is the test thread's default.
#[tokio::test]
async fn failures_are_logged_at_most_once_per_10s_without_the_password() {
    let port = dead_port();
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let url = format!("redis://:sekrit@127.0.0.1:{port}/");
    let store = Store::redis(&url).unwrap().timeout(TIMEOUT).build();
    assert!(!format!("{store:?}").contains("sekrit"));
    for _ in 0..5 {
        store
            .take(&LimitKey::user("kim"), Rate::new(9, HOUR))
            .await
            .unwrap();
        assert!(store.cached_status("h").await.is_err());
    }
    let log = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("shared store (Redis) failed"))
        .collect();
    assert_eq!(warnings.len(), 1, "{log}");
    assert!(warnings[0].contains("WARN"), "{log}");
    assert!(warnings[0].contains(&format!("127.0.0.1:{port}")), "{log}");
    assert!(!log.contains("sekrit"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_prefixes_separate_deployments_and_round_trips_are_counted() {
    let Some(server) = RedisServer::start("key_prefixes") else {
        return;
    };
    let prefixed = |p: &str| Store::redis(&server.url()).unwrap().key_prefix(p).build();
    let (one, two, one_again) = (prefixed("one:"), prefixed("two:"), prefixed("one:"));
    let once = Rate::new(1, HOUR);
    let ivy = LimitKey::user("ivy");
    one.take(&ivy, once).await.unwrap();
    two.take(&ivy, once).await.unwrap();
    assert!(one_again.take(&ivy, once).await.is_err());

    let mut redis = redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let mut keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut redis).unwrap();
    keys.sort();
    assert_eq!(keys, ["one:limit:user:ivy", "two:limit:user:ivy"]);

    // One round trip per lookup; a local answer costs none.
    let store = prefixed("rt:");
    assert_eq!(store.round_trips(), 0);
    assert_eq!(store.cached_status("h").await.unwrap(), None);
    assert_eq!(store.round_trips(), 1);
    store.put_status("h", active(), HOUR).await.unwrap();
    assert_eq!(store.round_trips(), 2);
    assert!(store.cached_status("h").await.unwrap().is_some());
    assert_eq!(store.round_trips(), 2);
    // The script is cached in Redis since the first take above: one EVALSHA. The
    // refusal that follows is local.
    store.take(&ivy, once).await.unwrap();
    assert!(store.take(&ivy, once).await.is_err());
    assert_eq!(store.round_trips(), 3);
    store.revoke("h", HOUR).await.unwrap();
    assert_eq!(store.round_trips(), 4);
    assert!(store.is_revoked("h").await.unwrap());
    assert_eq!(store.round_trips(), 4);
}
