//! IAMPASS going away (5xx, latency beyond the timeout, a dead port): fail closed with 503,
//! or ride it out with stale-if-error within the grace only; logins never hang.

use std::time::{Duration, Instant};

use iampass::actix::FailMode;
use iampass::emulator::{Faults, SessionAction};
use iampass::{Session, Status};
use serde_json::json;

use crate::emulator_control::*;
use crate::harness::*;

async fn outage_closed(faults: Faults, timeout: Duration) {
    let emulator = emulator().await;
    let app = start_app(
        builder(&emulator)
            .client(client_for(emulator.base_url(), timeout))
            .build()
            .unwrap(),
    );
    let mut client = Client::new(&app);
    sign_in(&emulator, &mut client, "hank").await;
    assert_eq!(client.get("/dashboard").await.status, 200);

    emulator.set_faults(faults).await.unwrap();
    let api = client.get("/dashboard").await;
    assert_eq!(api.status, 503, "{}", api.body);
    assert_eq!(api.json()["error"], "iampass_unavailable");
    assert!(api.header("retry-after").is_some());
    assert!(
        api.set_cookies(app.iampass.cookie_name()).is_empty(),
        "never signed out"
    );
    assert!(api.elapsed < Duration::from_secs(5), "{:?}", api.elapsed);
    let page = client.get_html("/dashboard").await;
    assert_eq!(page.status, 503);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.body.contains("not been signed out"));
    assert_eq!(client.get("/admin").await.status, 503);
    // Public pages still work; the optional identity is absent meanwhile.
    assert_eq!(client.get("/public").await.status, 200);
    assert_eq!(
        client.get("/").await.json()["user"],
        serde_json::Value::Null
    );
    // Login and poll report the outage too.
    let login = client.clone().post_login("hank").await;
    assert_eq!(login.status, 503);

    // The client's circuit breaker lets a probe through within a second of recovery.
    emulator.set_faults(Faults::default()).await.unwrap();
    eventually("the dashboard after IAMPASS recovers", || {
        let mut client = client.clone();
        async move { client.get("/dashboard").await.body == "hi hank" }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_by_5xx_with_fail_closed_answers_503_and_keeps_the_cookie() {
    let faults = every_call_fails_with(503);
    outage_closed(faults, Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_by_latency_beyond_the_timeout_answers_503_quickly() {
    let faults = every_call_delayed_by(Duration::from_secs(3));
    outage_closed(faults, Duration::from_millis(300)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_by_dead_port_answers_503() {
    let emulator = emulator().await;
    let dead = format!("http://127.0.0.1:{}", dead_port());
    let iampass = builder(&emulator)
        .client(client_for(&dead, Duration::from_secs(2)))
        .build()
        .unwrap();
    let app = start_app(iampass.clone());
    let mut client = Client::new(&app);
    // A signed-in cookie for a session whose IAMPASS is gone.
    let session = Session::new(
        "tok",
        "sec",
        format!("{dead}/authentication/status/tok"),
        format!("{dead}/authentication/logout/tok"),
        Status::Active,
    );
    client.cookie = Some(signed_in_cookie(&iampass, session, "ivan"));
    let answer = client.get("/dashboard").await;
    assert_eq!(answer.status, 503);
    assert!(client.cookie.is_some());
    let login = client.clone().post_login("ivan").await;
    assert_eq!(login.status, 503);
    // Logout still clears the cookie locally, and reports that IAMPASS was not told.
    let out = client.post_json("/auth/logout", json!({})).await;
    assert_eq!(out.status, 503);
    assert_eq!(out.json()["status"], "closed");
    assert!(client.cookie.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_if_error_accepts_the_last_good_answer_within_grace_only() {
    let emulator = emulator().await;
    let grace = Duration::from_millis(1500);
    let app = start_app(
        builder(&emulator)
            .fail_mode(FailMode::StaleIfError(grace))
            .build()
            .unwrap(),
    );
    let mut client = Client::new(&app);
    sign_in(&emulator, &mut client, "judy").await;
    assert_eq!(client.get("/dashboard").await.status, 200); // the last good answer
    let good_at = Instant::now();

    emulator
        .set_faults(every_call_fails_with(503))
        .await
        .unwrap();
    let stale = client.get("/dashboard").await;
    if good_at.elapsed() < grace {
        assert_eq!((stale.status, stale.body.as_str()), (200, "hi judy"));
    }
    // After the grace window, as fail-closed (bounded wait, no fixed sleep as sync).
    eventually("the grace window to pass", || async {
        good_at.elapsed() > grace
    })
    .await;
    let expired = client.get("/dashboard").await;
    assert_eq!(expired.status, 503);
    assert!(client.cookie.is_some());

    // A deny is never overridden: close the session while healthy, then fail again.
    emulator.set_faults(Faults::default()).await.unwrap();
    assert_eq!(client.get("/dashboard").await.status, 200);
    let token = session_of(&emulator, "judy", Status::Active).await;
    session_action(&emulator, &token, SessionAction::Close).await;
    let closed = client.get("/dashboard").await;
    assert_eq!(
        (closed.status, closed.json()["status"].clone()),
        (401, json!("closed"))
    );
}

/// How IAMPASS goes away in the stale-if-error tests.
#[derive(Clone, Copy, Debug)]
enum Outage {
    Errors503,
    Latency,
    DeadPort,
}

async fn stale_if_error_rides_out(outage: Outage) {
    let emulator = emulator().await;
    let iampass = builder(&emulator)
        .client(client_for(emulator.base_url(), Duration::from_millis(300)))
        .fail_mode(FailMode::StaleIfError(Duration::from_secs(120)))
        .build()
        .unwrap();
    let app = start_app(iampass);
    let mut client = Client::new(&app);
    sign_in(&emulator, &mut client, "stan").await;
    assert_eq!(client.get("/dashboard").await.status, 200);
    match outage {
        Outage::Errors503 => {
            let faults = every_call_fails_with(503);
            emulator.set_faults(faults).await.unwrap();
        }
        Outage::Latency => {
            let faults = every_call_delayed_by(Duration::from_secs(3));
            emulator.set_faults(faults).await.unwrap();
        }
        // The port the cookie's session points at stops answering.
        Outage::DeadPort => emulator.shutdown().await,
    }
    for _ in 0..3 {
        let stale = client.get("/dashboard").await;
        assert_eq!(
            (stale.status, stale.body.as_str()),
            (200, "hi stan"),
            "{outage:?}"
        );
        assert!(
            stale.elapsed < Duration::from_secs(3),
            "{outage:?}: {:?}",
            stale.elapsed
        );
    }
    assert!(client.cookie.is_some());
    // A session never confirmed active by this instance gets no grace.
    let mut stranger = Client::new(&app);
    let payload = app
        .iampass
        .open_cookie(client.cookie.as_ref().unwrap())
        .unwrap();
    let session = Session::new(
        "other-token",
        "other-secret",
        payload
            .session()
            .status_url()
            .unwrap()
            .replace(payload.session().session_token().unwrap(), "other-token"),
        payload.session().logout_url().unwrap().to_owned(),
        Status::Active,
    );
    stranger.cookie = Some(signed_in_cookie(&app.iampass, session, "stranger"));
    assert_eq!(stranger.get("/dashboard").await.status, 503, "{outage:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_if_error_rides_out_5xx() {
    stale_if_error_rides_out(Outage::Errors503).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_if_error_rides_out_latency_beyond_the_timeout() {
    stale_if_error_rides_out(Outage::Latency).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_if_error_rides_out_a_dead_port() {
    stale_if_error_rides_out(Outage::DeadPort).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_iampass_does_not_hang_logins() {
    let emulator = emulator().await;
    user_with_phone(&emulator, "uma").await;
    let app = start_app(
        builder(&emulator)
            .client(client_for(emulator.base_url(), Duration::from_millis(300)))
            .build()
            .unwrap(),
    );
    let mut client = Client::new(&app);
    client.start_login("uma", None).await;
    emulator
        .set_faults(every_call_delayed_by(Duration::from_secs(5)))
        .await
        .unwrap();
    let poll = client.get("/auth/poll?wait=1").await;
    assert_eq!(poll.status, 503);
    assert!(poll.elapsed < Duration::from_secs(3), "{:?}", poll.elapsed);
    assert!(
        client.cookie.is_some(),
        "the pending login survives an outage"
    );
    let login = client.clone().post_login("uma").await;
    assert_eq!(login.status, 503);
    assert!(
        login.elapsed < Duration::from_secs(3),
        "{:?}",
        login.elapsed
    );
    emulator.set_faults(Faults::default()).await.unwrap();
    eventually("the pending login after IAMPASS recovers", || {
        let mut client = client.clone();
        async move { client.get("/auth/poll").await.json()["status"] == "pending" }
    })
    .await;
}
