//! IAMPASS failing (injected 503s, then a dead port) and Redis killed under the store: what
//! the upstream counters, the breaker gauge, the verdicts, the stale-if-error grace and the
//! store errors show.

use std::time::Duration;

use iampass::actix::FailMode;
use iampass::emulator::Faults;

use crate::common::net::dead_url;
use crate::harness::*;

const UPSTREAM: &str = "iampass_upstream_requests_total";
const CIRCUIT: &str = "iampass_circuit_state";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_iampass_outage_shows_in_calls_breaker_verdicts_and_stale_answers() {
    let _serial = serial().await;
    let emulator = emulator().await;
    // Both clients (and their breakers) exist before anything fails.
    let closed = start_app(builder(&emulator).build().unwrap());
    let stale = start_app(
        builder(&emulator)
            .fail_mode(FailMode::StaleIfError(Duration::from_secs(600)))
            .build()
            .unwrap(),
    );
    let (mut kim, mut lee) = (Client::new(&closed), Client::new(&stale));
    sign_in(&emulator, &mut kim, "kim").await;
    sign_in(&emulator, &mut lee, "lee").await;
    assert_eq!(lee.get("/dashboard").await.status, 200); // the last good answer
    let before = Reading::now();
    assert_eq!(before.get(CIRCUIT, &[]), 0.0, "{}", before.text());

    emulator
        .set_faults(every_call_fails_with(503))
        .await
        .unwrap();
    // The stale-if-error app lets lee in on the last good answer.
    assert_eq!(lee.get("/dashboard").await.status, 200);
    // The fail-closed app answers 503 until its breaker opens (5 failures), then at once.
    for _ in 0..7 {
        assert_eq!(kim.get("/dashboard").await.status, 503);
    }
    // A sign-in cannot start.
    let mut mia = Client::new(&closed);
    user_with_phone(&emulator, "mia").await;
    assert_eq!(mia.post_login("mia").await.status, 503);

    let during = Reading::now();
    let text = during.text();
    let since = |name, labels: &[(&str, &str)]| during.since(&before, name, labels);
    assert_eq!(
        since("iampass_status_cache_total", &[("result", "stale_used")]),
        1.0,
        "{text}"
    );
    assert!(
        since(UPSTREAM, &[("call", "status"), ("outcome", "server_error")]) >= 5.0,
        "{text}"
    );
    assert!(
        since(UPSTREAM, &[("call", "status"), ("outcome", "circuit_open")]) >= 1.0,
        "{text}"
    );
    assert_eq!(during.get(CIRCUIT, &[]), 2.0, "the breaker is open: {text}");
    assert_eq!(
        since("iampass_requests_total", &[("verdict", "unavailable")]),
        7.0,
        "{text}"
    );
    assert_eq!(
        since("iampass_requests_total", &[("verdict", "active")]),
        1.0,
        "the stale answer: {text}"
    );
    assert_eq!(
        since("iampass_logins_total", &[("outcome", "unavailable")]),
        1.0,
        "{text}"
    );

    // IAMPASS is back: the next probe closes the breaker.
    emulator.set_faults(Faults::default()).await.unwrap();
    eventually("kim is let in again", || {
        let mut kim = kim.clone();
        async move { kim.get("/dashboard").await.status == 200 }
    })
    .await;
    let after = Reading::now();
    assert_eq!(after.get(CIRCUIT, &[]), 0.0, "{}", after.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_iampass_is_a_connect_error_and_an_unavailable_sign_in() {
    let _serial = serial().await;
    let emulator = emulator().await;
    let app = start_app(
        builder(&emulator)
            .client(client_for(&dead_url(), Duration::from_millis(500)))
            .build()
            .unwrap(),
    );
    let before = Reading::now();
    let answer = Client::new(&app).post_login("ned").await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    let after = Reading::now();
    let text = after.text();
    assert_eq!(
        after.since(
            &before,
            UPSTREAM,
            &[("call", "authenticate"), ("outcome", "connect_error")]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        after.since(
            &before,
            "iampass_logins_total",
            &[("outcome", "unavailable")]
        ),
        1.0,
        "{text}"
    );
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_under_the_store_counts_store_errors_by_operation() {
    use iampass::core::store::Store;

    let _serial = serial().await;
    let Some(mut redis) = crate::redis_server::RedisServer::start("metrics: redis killed") else {
        return;
    };
    let emulator = emulator().await;
    let store = Store::redis(&redis.url())
        .unwrap()
        .timeout(Duration::from_millis(200))
        .build();
    let app = start_app(builder(&emulator).store(store).build().unwrap());
    let mut olga = Client::new(&app);
    sign_in(&emulator, &mut olga, "olga").await;
    let before = Reading::now();

    redis.stop();
    // A login start takes its limits (this instance's own limiter decides alone).
    user_with_phone(&emulator, "pat").await;
    Client::new(&app).start_login("pat", None).await;

    let after = Reading::now();
    let text = after.text();
    assert!(
        after.since(&before, "iampass_store_errors_total", &[("op", "take")]) >= 1.0,
        "{text}"
    );
    assert_eq!(
        after.since(&before, "iampass_logins_total", &[("outcome", "started")]),
        1.0,
        "{text}"
    );
}
