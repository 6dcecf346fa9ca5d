//! Resilience (issue 15): the circuit breaker's transitions and the cap on concurrent calls,
//! counted on the scripted server.

use std::time::Duration;

use iampass::client::CircuitState;
use iampass::{AuthenticationApi, Error, Status};

use super::server::{APP, Reply, SECRET, ScriptedServer};

const ACTIVE: &str =
    r#"{"authentication_status": {"authenticated": true, "session_status": "active"}}"#;
const HOUR: Duration = Duration::from_secs(3600);

fn api(server: &ScriptedServer, threshold: u32, cool_down: Duration) -> AuthenticationApi {
    AuthenticationApi::builder(APP, SECRET)
        .server(&server.url)
        .circuit_breaker(threshold, cool_down)
        .build()
        .unwrap()
}

/// Moves tokio's clock past `by` while nothing is in flight (no request timer can fire).
async fn let_time_pass(by: Duration) {
    tokio::time::pause();
    tokio::time::advance(by).await;
    tokio::time::resume();
}

fn open_for(state: CircuitState) -> Duration {
    match state {
        CircuitState::Open { until } => until - tokio::time::Instant::now(),
        other => panic!("expected an open circuit, got {other:?}"),
    }
}

#[tokio::test]
async fn the_breaker_opens_after_consecutive_failures_and_then_sends_nothing() {
    let server = ScriptedServer::start(Reply::Answer(503, "down".into())).await;
    let api = api(&server, 3, HOUR);
    let session = server.session(&api, Status::Active);
    for _ in 0..2 {
        assert_eq!(
            session.fetch_status().await.unwrap_err().status(),
            Some(503)
        );
    }
    assert_eq!(api.circuit_state(), CircuitState::Closed);
    // The third failure (a POST of the API itself: the session and the API share one breaker).
    assert_eq!(
        api.authenticate_user("u").await.unwrap_err().status(),
        Some(503)
    );
    assert!(open_for(api.circuit_state()) > HOUR - Duration::from_secs(60));
    assert_eq!(
        api.clone().circuit_state(),
        api.circuit_state(),
        "clones share it"
    );

    server.set(Reply::Answer(200, ACTIVE.into()));
    let err = session.fetch_status().await.unwrap_err();
    assert!(matches!(err, Error::CircuitOpen { .. }), "{err}");
    assert!(err.is_outage() && !err.ends_session());
    assert!(err.retry_after().unwrap() > HOUR - Duration::from_secs(60));
    let mut restored = api.attach(session.clone());
    assert!(matches!(
        restored.destroy().await,
        Err(Error::CircuitOpen { .. })
    ));
    assert!(matches!(
        api.authenticate_user("u").await,
        Err(Error::CircuitOpen { .. })
    ));
    assert_eq!(server.count(), 3, "an open circuit sends nothing");
}

#[tokio::test]
async fn answers_that_are_not_server_failures_never_open_it() {
    let server = ScriptedServer::start(Reply::Answer(404, "unknown session".into())).await;
    let api = api(&server, 2, HOUR);
    let session = server.session(&api, Status::Active);
    for status in [404, 410, 401, 403, 400] {
        server.set(Reply::Answer(status, "no".into()));
        for _ in 0..3 {
            assert_eq!(
                session.fetch_status().await.unwrap_err().status(),
                Some(status)
            );
        }
        assert_eq!(api.circuit_state(), CircuitState::Closed, "{status}");
    }
    // One answer in between resets the count of consecutive failures.
    server.set(Reply::Answer(500, "x".into()));
    session.fetch_status().await.unwrap_err();
    server.set(Reply::Answer(404, "x".into()));
    session.fetch_status().await.unwrap_err();
    server.set(Reply::Answer(500, "x".into()));
    session.fetch_status().await.unwrap_err();
    assert_eq!(api.circuit_state(), CircuitState::Closed);
    assert_eq!(server.count(), 18);
}

#[tokio::test]
async fn timeouts_and_408_429_count_as_failures() {
    let server = ScriptedServer::start(Reply::Never).await;
    let api = AuthenticationApi::builder(APP, SECRET)
        .server(&server.url)
        .timeout(Duration::from_millis(200))
        .circuit_breaker(3, HOUR)
        .build()
        .unwrap();
    let session = server.session(&api, Status::Active);
    assert!(matches!(
        session.fetch_status().await,
        Err(Error::Timeout(_))
    ));
    server.set(Reply::Answer(408, "slow".into()));
    session.fetch_status().await.unwrap_err();
    assert_eq!(api.circuit_state(), CircuitState::Closed);
    server.set(Reply::Answer(429, "busy".into()));
    session.fetch_status().await.unwrap_err();
    assert!(matches!(api.circuit_state(), CircuitState::Open { .. }));
}

#[tokio::test]
async fn after_the_cool_down_one_probe_closes_it() {
    let server = ScriptedServer::start(Reply::Answer(502, "bad gateway".into())).await;
    let api = api(&server, 1, HOUR);
    let session = server.session(&api, Status::Active);
    session.fetch_status().await.unwrap_err();
    assert!(matches!(api.circuit_state(), CircuitState::Open { .. }));

    let_time_pass(HOUR).await;
    assert_eq!(api.circuit_state(), CircuitState::HalfOpen);
    server.set(Reply::Held(200, ACTIVE.into()));
    let probe = tokio::spawn({
        let session = session.clone();
        async move { session.fetch_status().await }
    });
    server.arrived(2).await;
    // While the probe is out, every other call fails at once.
    for _ in 0..3 {
        assert!(matches!(
            session.fetch_status().await,
            Err(Error::CircuitOpen { .. })
        ));
    }
    assert_eq!(api.circuit_state(), CircuitState::HalfOpen);
    assert_eq!(server.count(), 2, "exactly one probe");
    server.release(1);
    assert_eq!(probe.await.unwrap().unwrap(), Status::Active);
    assert_eq!(api.circuit_state(), CircuitState::Closed);

    server.set(Reply::Answer(200, ACTIVE.into()));
    assert_eq!(session.fetch_status().await.unwrap(), Status::Active);
    assert_eq!(server.count(), 3);
}

#[tokio::test]
async fn a_failed_probe_opens_it_again() {
    let server = ScriptedServer::start(Reply::Answer(503, "down".into())).await;
    let api = api(&server, 2, HOUR);
    let session = server.session(&api, Status::Active);
    session.fetch_status().await.unwrap_err();
    session.fetch_status().await.unwrap_err();
    let_time_pass(HOUR).await;
    assert_eq!(api.circuit_state(), CircuitState::HalfOpen);
    // One failed probe is enough, whatever the threshold.
    assert_eq!(
        session.fetch_status().await.unwrap_err().status(),
        Some(503)
    );
    assert!(open_for(api.circuit_state()) > HOUR - Duration::from_secs(60));
    assert!(matches!(
        session.fetch_status().await,
        Err(Error::CircuitOpen { .. })
    ));
    assert_eq!(server.count(), 3);
}

#[tokio::test]
async fn retry_after_longer_than_the_cool_down_keeps_it_open() {
    let server = ScriptedServer::start(Reply::WithHeaders(
        429,
        "slow down".into(),
        vec![("Retry-After", "120".into())],
    ))
    .await;
    let api = api(&server, 1, Duration::from_secs(1));
    let session = server.session(&api, Status::Active);
    session.fetch_status().await.unwrap_err();
    let open = open_for(api.circuit_state());
    assert!(open > Duration::from_secs(100), "{open:?}");

    let_time_pass(Duration::from_secs(60)).await;
    assert!(matches!(api.circuit_state(), CircuitState::Open { .. }));
    let err = session.fetch_status().await.unwrap_err();
    assert!(matches!(err, Error::CircuitOpen { .. }), "{err}");
    assert_eq!(server.count(), 1);

    let_time_pass(Duration::from_secs(61)).await;
    assert_eq!(api.circuit_state(), CircuitState::HalfOpen);
    server.set(Reply::Answer(200, ACTIVE.into()));
    assert_eq!(session.fetch_status().await.unwrap(), Status::Active);
    assert_eq!(api.circuit_state(), CircuitState::Closed);
}

#[tokio::test]
async fn without_a_breaker_every_call_is_sent() {
    let server = ScriptedServer::start(Reply::Answer(503, "down".into())).await;
    let api = AuthenticationApi::builder(APP, SECRET)
        .server(&server.url)
        .without_circuit_breaker()
        .build()
        .unwrap();
    let session = server.session(&api, Status::Active);
    for _ in 0..20 {
        assert_eq!(
            session.fetch_status().await.unwrap_err().status(),
            Some(503)
        );
    }
    assert_eq!(api.circuit_state(), CircuitState::Closed);
    assert_eq!(server.count(), 20);
}

#[tokio::test]
async fn concurrent_calls_are_capped() {
    const CAP: usize = 3;
    const CALLS: usize = 10;
    let server = ScriptedServer::start(Reply::Held(200, ACTIVE.into())).await;
    let api = AuthenticationApi::builder(APP, SECRET)
        .server(&server.url)
        .max_concurrent_requests(CAP)
        .build()
        .unwrap();
    let session = server.session(&api, Status::Active);
    let calls: Vec<_> = (0..CALLS)
        .map(|_| {
            let session = session.clone();
            tokio::spawn(async move { session.fetch_status().await })
        })
        .collect();
    server.arrived(CAP).await;
    // Let the held calls finish one by one; each frees exactly one slot.
    for n in CAP + 1..=CALLS {
        server.release(1);
        server.arrived(n).await;
        assert!(server.max_in_flight() <= CAP, "{}", server.max_in_flight());
    }
    server.release(CAP);
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap(), Status::Active);
    }
    assert_eq!(server.count(), CALLS);
    assert_eq!(server.max_in_flight(), CAP);
}

#[test]
fn zero_settings_are_refused_at_build_time() {
    let builder = || AuthenticationApi::builder(APP, SECRET).server("http://127.0.0.1:1");
    for (what, result) in [
        ("timeout", builder().timeout(Duration::ZERO).build()),
        ("connect", builder().connect_timeout(Duration::ZERO).build()),
        ("cap", builder().max_concurrent_requests(0).build()),
        ("threshold", builder().circuit_breaker(0, HOUR).build()),
        (
            "cool-down",
            builder().circuit_breaker(1, Duration::ZERO).build(),
        ),
    ] {
        assert!(matches!(result, Err(Error::Config(_))), "{what}");
    }
    builder()
        .connect_timeout(Duration::from_millis(100))
        .pool_max_idle_per_host(0)
        .pool_idle_timeout(Duration::from_secs(1))
        .max_concurrent_requests(1)
        .build()
        .unwrap();
}
