//! The client's circuit breaker driven by the emulator's faults (issue 15): every transition,
//! counted on the emulator's own request counters, and what an open breaker means for a
//! protected page. Waits are for conditions with deadlines (the breaker's state, the
//! emulator's counters), never fixed sleeps.

use std::time::{Duration, Instant};

use iampass::client::{CircuitState, DEFAULT_COOL_DOWN};
use iampass::emulator::{Faults, RunningEmulator};
use iampass::{AuthenticationApi, Error, Session, Status};

use crate::emulator_control::*;
use crate::harness::*;

const HOUR: Duration = Duration::from_secs(3600);

/// A client of the test application with its own breaker.
fn api(emulator: &RunningEmulator, threshold: u32, cool_down: Duration) -> AuthenticationApi {
    AuthenticationApi::builder(APP, SECRET)
        .server(emulator.base_url())
        .timeout(Duration::from_secs(5))
        .circuit_breaker(threshold, cool_down)
        .build()
        .unwrap()
}

/// A session of `user` started through `api` while IAMPASS is healthy.
async fn session(emulator: &RunningEmulator, api: &AuthenticationApi, user: &str) -> Session {
    phone_approving_at_once(emulator, user).await;
    let session = api.authenticate_user(user).await.unwrap();
    session.fetch_status().await.unwrap();
    assert_eq!(api.circuit_state(), CircuitState::Closed);
    session
}

/// Status calls that reached the emulator so far (injected faults included).
async fn status_calls(emulator: &RunningEmulator) -> u64 {
    emulator.stats().await.unwrap().route_count("status")
}

/// Waits (bounded) until the emulator has seen `n` status calls.
async fn status_calls_reach(emulator: &RunningEmulator, n: u64) {
    eventually(&format!("{n} status calls at the emulator"), || async {
        status_calls(emulator).await >= n
    })
    .await;
}

/// Waits (bounded) until the breaker lets a probe through.
async fn half_open(api: &AuthenticationApi) {
    eventually("the breaker to be half-open", || async {
        api.circuit_state() == CircuitState::HalfOpen
    })
    .await;
}

fn is_open(api: &AuthenticationApi) -> bool {
    matches!(api.circuit_state(), CircuitState::Open { .. })
}

/// Opens the breaker (one 503 with a threshold of 1), lets IAMPASS hold every call for
/// `delay`, waits for half-open and sends the probe; answers once IAMPASS has it (with the
/// status-call count from before the probe).
async fn probe_held_for(
    emulator: &RunningEmulator,
    api: &AuthenticationApi,
    session: &Session,
    delay: Duration,
) -> (u64, tokio::task::JoinHandle<Result<Status, Error>>) {
    emulator
        .set_faults(every_call_fails_with(503))
        .await
        .unwrap();
    session.fetch_status().await.unwrap_err();
    emulator
        .set_faults(every_call_delayed_by(delay))
        .await
        .unwrap();
    half_open(api).await;
    let before = status_calls(emulator).await;
    let probe = tokio::spawn({
        let session = session.clone();
        async move { session.fetch_status().await }
    });
    status_calls_reach(emulator, before + 1).await;
    (before, probe)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consecutive_5xx_open_it_and_an_open_breaker_calls_nothing() {
    let emulator = emulator().await;
    let api = api(&emulator, 3, HOUR);
    let session = session(&emulator, &api, "bree").await;
    emulator
        .set_faults(every_call_fails_with(503))
        .await
        .unwrap();
    for n in 1..=3 {
        let err = session.fetch_status().await.unwrap_err();
        assert_eq!(err.status(), Some(503), "{err}");
        assert_eq!(is_open(&api), n == 3, "after {n} failures");
    }
    emulator.reset_stats().await.unwrap();
    // Even once IAMPASS is healthy again, the open breaker sends nothing until its cool-down.
    emulator.set_faults(Faults::default()).await.unwrap();
    for _ in 0..10 {
        let err = session.fetch_status().await.unwrap_err();
        assert!(matches!(err, Error::CircuitOpen { .. }), "{err}");
        assert!(err.is_outage() && !err.ends_session());
    }
    assert!(matches!(
        api.authenticate_user("bree").await,
        Err(Error::CircuitOpen { .. })
    ));
    assert_eq!(emulator.stats().await.unwrap().total(), 0, "nothing sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_storm_with_retry_after_keeps_it_open_beyond_the_default_cool_down() {
    let emulator = emulator().await;
    let api = api(&emulator, 3, DEFAULT_COOL_DOWN);
    let session = session(&emulator, &api, "rita").await;
    let retry_after = Duration::from_secs(3);
    assert!(retry_after > DEFAULT_COOL_DOWN + Duration::from_secs(1));
    emulator
        .set_faults(Faults {
            retry_after: Some(retry_after),
            ..every_call_fails_with(503)
        })
        .await
        .unwrap();
    let mut last_sent = tokio::time::Instant::now();
    for _ in 0..3 {
        last_sent = tokio::time::Instant::now();
        let err = session.fetch_status().await.unwrap_err();
        assert_eq!(err.status(), Some(503), "{err}");
        assert_eq!(err.retry_after(), Some(retry_after), "{err}");
    }
    // Opened by the third answer, for the server's 3 s rather than the client's own cool-down.
    let opened_by = tokio::time::Instant::now();
    let until = match api.circuit_state() {
        CircuitState::Open { until } => until,
        other => panic!("expected open, got {other:?}"),
    };
    assert!(
        until >= last_sent + retry_after && until <= opened_by + retry_after,
        "open for {:?} after the last failure",
        until - last_sent
    );

    // IAMPASS is healthy again, yet the breaker keeps calls away for the whole Retry-After.
    emulator.reset_stats().await.unwrap();
    emulator.set_faults(Faults::default()).await.unwrap();
    // "Still open after the default cool-down" is about a moment, not an event: wait for half
    // a second past the moment the cool-down alone would have ended.
    tokio::time::sleep_until(opened_by + DEFAULT_COOL_DOWN + Duration::from_millis(500)).await;
    assert!(is_open(&api), "{:?}", api.circuit_state());
    for _ in 0..10 {
        let started = Instant::now();
        match session.fetch_status().await {
            Err(Error::CircuitOpen { retry_in }) => {
                let now = tokio::time::Instant::now();
                assert!(now + retry_in >= until, "retry in {retry_in:?}");
                assert!(retry_in < retry_after, "retry in {retry_in:?}");
            }
            other => panic!("expected a refusal by the open breaker, got {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_millis(200), "fails fast");
    }
    assert!(matches!(
        api.authenticate_user("rita").await,
        Err(Error::CircuitOpen { .. })
    ));
    assert_eq!(emulator.stats().await.unwrap().total(), 0, "nothing sent");

    // Once the Retry-After has passed, one probe goes out and closes it.
    half_open(&api).await;
    assert!(tokio::time::Instant::now() >= until);
    session.fetch_status().await.unwrap();
    assert_eq!(api.circuit_state(), CircuitState::Closed);
    assert_eq!(status_calls(&emulator).await, 1, "only the probe");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_open_it() {
    let emulator = emulator().await;
    let api = AuthenticationApi::builder(APP, SECRET)
        .server(emulator.base_url())
        .timeout(Duration::from_millis(200))
        .circuit_breaker(2, HOUR)
        .build()
        .unwrap();
    let session = session(&emulator, &api, "tim").await;
    emulator
        .set_faults(every_call_delayed_by(Duration::from_secs(3)))
        .await
        .unwrap();
    assert!(matches!(
        session.fetch_status().await,
        Err(Error::Timeout(_))
    ));
    assert_eq!(api.circuit_state(), CircuitState::Closed);
    assert!(matches!(
        session.fetch_status().await,
        Err(Error::Timeout(_))
    ));
    assert!(is_open(&api));
    let before = status_calls(&emulator).await;
    let started = Instant::now();
    let err = session.fetch_status().await.unwrap_err();
    assert!(matches!(err, Error::CircuitOpen { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_millis(200), "fails fast");
    assert_eq!(status_calls(&emulator).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storms_of_408_and_429_open_it_without_ending_the_session() {
    for status in [408, 429] {
        let emulator = emulator().await;
        let api = api(&emulator, 2, HOUR);
        let session = session(&emulator, &api, "stormy").await;
        emulator
            .set_faults(every_call_fails_with(status))
            .await
            .unwrap();
        for _ in 0..2 {
            let err = session.fetch_status().await.unwrap_err();
            assert_eq!(err.status(), Some(status));
            assert!(err.is_outage() && !err.ends_session(), "{status}: {err}");
        }
        assert!(is_open(&api), "{status}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_cool_down_an_answered_probe_closes_it() {
    let emulator = emulator().await;
    let api = api(&emulator, 1, Duration::from_millis(300));
    let session = session(&emulator, &api, "paula").await;
    emulator
        .set_faults(every_call_fails_with(502))
        .await
        .unwrap();
    session.fetch_status().await.unwrap_err();
    assert!(is_open(&api));
    emulator.set_faults(Faults::default()).await.unwrap();
    half_open(&api).await;
    let before = status_calls(&emulator).await;
    session.fetch_status().await.unwrap();
    assert_eq!(api.circuit_state(), CircuitState::Closed);
    for _ in 0..5 {
        session.fetch_status().await.unwrap();
    }
    assert_eq!(status_calls(&emulator).await, before + 6, "all sent again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_probe_opens_it_again_for_a_full_cool_down() {
    let emulator = emulator().await;
    let cool_down = Duration::from_secs(1);
    let api = api(&emulator, 3, cool_down);
    let session = session(&emulator, &api, "fabian").await;
    emulator
        .set_faults(every_call_fails_with(503))
        .await
        .unwrap();
    for _ in 0..3 {
        session.fetch_status().await.unwrap_err();
    }
    half_open(&api).await;
    let before = status_calls(&emulator).await;
    // One failed probe is enough, whatever the threshold.
    let probed_at = tokio::time::Instant::now();
    assert_eq!(
        session.fetch_status().await.unwrap_err().status(),
        Some(503)
    );
    match api.circuit_state() {
        CircuitState::Open { until } => assert!(until >= probed_at + cool_down),
        other => panic!("expected open, got {other:?}"),
    }
    assert!(matches!(
        session.fetch_status().await,
        Err(Error::CircuitOpen { .. })
    ));
    assert_eq!(status_calls(&emulator).await, before + 1, "only the probe");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_sends_one_probe_at_a_time() {
    let emulator = emulator().await;
    // The cool-down is long against the probe's time at IAMPASS: the probe is the only one.
    let api = api(&emulator, 1, Duration::from_secs(2));
    let session = session(&emulator, &api, "olive").await;
    // The probe will be held by IAMPASS for a while, and then answered.
    let (before, probe) = probe_held_for(&emulator, &api, &session, Duration::from_secs(1)).await;
    let others: Vec<_> = (0..8)
        .map(|_| {
            let session = session.clone();
            tokio::spawn(async move { session.fetch_status().await })
        })
        .collect();
    for other in others {
        let err = other.await.unwrap().unwrap_err();
        assert!(matches!(err, Error::CircuitOpen { .. }), "{err}");
    }
    assert_eq!(api.circuit_state(), CircuitState::HalfOpen);
    probe.await.unwrap().unwrap();
    assert_eq!(api.circuit_state(), CircuitState::Closed);
    assert_eq!(
        status_calls(&emulator).await,
        before + 1,
        "exactly one probe"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_stuck_in_a_black_hole_does_not_hold_the_breaker_after_iampass_returns() {
    let emulator = emulator().await;
    // The probe's own timeout (30 s) is far beyond the cool-down and this test's run.
    let api = AuthenticationApi::builder(APP, SECRET)
        .server(emulator.base_url())
        .timeout(Duration::from_secs(30))
        .circuit_breaker(1, Duration::from_millis(300))
        .build()
        .unwrap();
    let session = session(&emulator, &api, "holly").await;
    let (_, stuck) = probe_held_for(&emulator, &api, &session, Duration::from_secs(600)).await;
    // IAMPASS is back; the first probe will never be answered.
    emulator.set_faults(Faults::default()).await.unwrap();
    let back = Instant::now();
    eventually("a later probe to close the breaker", || async {
        session.fetch_status().await.is_ok()
    })
    .await;
    assert_eq!(api.circuit_state(), CircuitState::Closed);
    assert!(
        back.elapsed() < Duration::from_secs(5),
        "closed {:?} after IAMPASS returned",
        back.elapsed()
    );
    assert!(!stuck.is_finished(), "the first probe is still out");
    stuck.abort();
    session.fetch_status().await.unwrap();
    assert_eq!(api.circuit_state(), CircuitState::Closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_breaker_answers_503_at_once_without_asking_iampass_and_keeps_the_cookie() {
    let emulator = emulator().await;
    let api = api(&emulator, 5, HOUR);
    let app = start_app(builder(&emulator).client(api.clone()).build().unwrap());
    let mut client = Client::new(&app);
    sign_in(&emulator, &mut client, "opal").await;
    assert_eq!(client.get("/dashboard").await.status, 200);

    emulator
        .set_faults(every_call_fails_with(503))
        .await
        .unwrap();
    for _ in 0..5 {
        assert_eq!(client.get("/dashboard").await.status, 503);
    }
    assert!(is_open(&api), "the app's client shares the breaker");
    emulator.reset_stats().await.unwrap();
    emulator.set_faults(Faults::default()).await.unwrap();
    for _ in 0..20 {
        let page = client.get("/dashboard").await;
        assert_eq!(page.status, 503, "{}", page.body);
        assert_eq!(page.json()["error"], "iampass_unavailable");
        assert!(page.header("retry-after").is_some());
        assert!(page.set_cookies(app.iampass.cookie_name()).is_empty());
        assert!(page.elapsed < Duration::from_secs(1), "{:?}", page.elapsed);
    }
    assert_eq!(
        status_calls(&emulator).await,
        0,
        "an open breaker asks nothing"
    );
    assert!(client.cookie.is_some(), "never signed out");
}
