//! Sign-ins by outcome, judged requests by verdict, the status cache and the calls behind them.

use std::time::Duration;

use iampass::actix::Revalidate;
use iampass::core::store::Rate;
use iampass::emulator::{Behaviour, SessionAction};
use serde_json::json;

use crate::harness::*;

const LOGINS: &str = "iampass_logins_total";
const REQUESTS: &str = "iampass_requests_total";
const UPSTREAM: &str = "iampass_upstream_requests_total";
const CACHE: &str = "iampass_status_cache_total";

/// Starts a login for `user`, lets the phone do `action`, and polls until it ends.
async fn login_ended_by(
    emulator: &iampass::emulator::RunningEmulator,
    app: &TestApp,
    user: &str,
    action: SessionAction,
) {
    user_with_phone(emulator, user).await;
    let mut client = Client::new(app);
    client.start_login(user, None).await;
    act_on_pending(emulator, user, action).await;
    let done = client.poll_until_done().await;
    assert_eq!(done.status, 200, "{}", done.body);
    // The registry remembers the end: polling it again (here, the same cookie if it was
    // kept) never counts it twice.
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ins_are_counted_once_by_outcome_and_requests_by_verdict() {
    let _serial = serial().await;
    let emulator = emulator().await;
    let app = start_app(
        builder(&emulator)
            .rate_limit_per_user(Rate::per_minute(1))
            .build()
            .unwrap(),
    );
    let before = Reading::now();

    // Approved: one start, one approval, however many polls.
    let mut alice = Client::new(&app);
    sign_in(&emulator, &mut alice, "alice").await;
    assert_eq!(
        alice.get("/auth/poll").await.status,
        401,
        "the pending cookie is gone"
    );
    // Refused, timed out, cancelled on the phone.
    login_ended_by(&emulator, &app, "bob", SessionAction::Deny).await;
    login_ended_by(&emulator, &app, "carol", SessionAction::Timeout).await;
    login_ended_by(&emulator, &app, "dan", SessionAction::Cancel).await;
    // Rate limited: the second start of a user within the minute.
    let mut erin = Client::new(&app);
    user_with_phone(&emulator, "erin").await;
    erin.start_login("erin", None).await;
    assert_eq!(erin.post_login("erin").await.status, 429);
    // Not started: nobody of that name (the public mode answers with a decoy).
    Client::new(&app).post_login("nobody").await;

    // Verdicts: signed in, anonymous (no cookie, and a pending login), walked away, closed.
    assert_eq!(alice.get("/dashboard").await.status, 200);
    assert_eq!(Client::new(&app).get("/dashboard").await.status, 401);
    assert_eq!(erin.get("/dashboard").await.status, 401);
    let token = session_of(&emulator, "alice", iampass::Status::Active).await;
    session_action(&emulator, &token, SessionAction::Walkaway).await;
    assert_eq!(alice.get("/dashboard").await.status, 401);
    session_action(&emulator, &token, SessionAction::Close).await;
    assert_eq!(alice.get("/dashboard").await.status, 401);
    // A route that never asks for the identity is not judged.
    assert_eq!(Client::new(&app).get("/public").await.status, 200);

    let after = Reading::now();
    let logins = |outcome| after.since(&before, LOGINS, &[("outcome", outcome)]);
    let text = after.text();
    assert_eq!(logins("started"), 5.0, "{text}");
    assert_eq!(logins("approved"), 1.0, "{text}");
    assert_eq!(logins("refused"), 1.0, "{text}");
    assert_eq!(logins("timed_out"), 1.0, "{text}");
    assert_eq!(logins("cancelled"), 1.0, "{text}");
    assert_eq!(logins("rate_limited"), 1.0, "{text}");
    assert_eq!(logins("not_started"), 1.0, "{text}");
    assert_eq!(logins("unavailable"), 0.0, "{text}");

    let verdicts = |verdict| after.since(&before, REQUESTS, &[("verdict", verdict)]);
    assert_eq!(verdicts("active"), 1.0, "{text}");
    assert_eq!(verdicts("anonymous"), 2.0, "{text}");
    assert_eq!(verdicts("walkaway"), 1.0, "{text}");
    assert_eq!(verdicts("closed"), 1.0, "{text}");
    assert_eq!(verdicts("unavailable"), 0.0, "{text}");

    // The calls behind them: six authentications (IAMPASS answers the unknown name too) and
    // the status calls, all answered; no label carries a user name.
    let calls =
        |call, outcome| after.since(&before, UPSTREAM, &[("call", call), ("outcome", outcome)]);
    assert_eq!(calls("authenticate", "ok"), 6.0, "{text}");
    assert!(calls("status", "ok") >= 7.0, "{text}");
    let durations = after.since(
        &before,
        "iampass_upstream_request_duration_seconds_count",
        &[("call", "authenticate")],
    );
    assert_eq!(durations, 6.0, "{text}");
    for user in ["alice", "bob", "carol", "nobody", "127.0.0.1"] {
        assert!(!text.contains(user), "{user} in the metrics:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_cache_counts_hits_and_misses() {
    let _serial = serial().await;
    let emulator = emulator().await;
    let app = start_app(
        builder(&emulator)
            .revalidate(Revalidate::After(Duration::from_secs(60)))
            .build()
            .unwrap(),
    );
    let mut client = Client::new(&app);
    sign_in(&emulator, &mut client, "fay").await;
    let before = Reading::now();
    for _ in 0..5 {
        assert_eq!(client.get("/dashboard").await.status, 200);
    }
    let after = Reading::now();
    let cache = |result| after.since(&before, CACHE, &[("result", result)]);
    assert_eq!(cache("miss"), 1.0, "{}", after.text());
    assert_eq!(cache("hit"), 4.0, "{}", after.text());
    assert_eq!(
        after.since(&before, REQUESTS, &[("verdict", "active")]),
        5.0,
        "{}",
        after.text()
    );
    // Logging out is a logout call.
    let out = client.post_json("/auth/logout", json!({})).await;
    assert_eq!(out.status, 200, "{}", out.body);
    let after = Reading::now();
    assert_eq!(
        after.since(&before, UPSTREAM, &[("call", "logout"), ("outcome", "ok")]),
        1.0,
        "{}",
        after.text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cookie_past_its_lifetime_is_an_expired_request() {
    use iampass::actix::{CookieState, SessionCookie};

    let _serial = serial().await;
    let emulator = emulator().await;
    let app = start_app(builder(&emulator).build().unwrap());
    user_with_phone(&emulator, "gus").await;
    let api = client_for(emulator.base_url(), Duration::from_secs(2));
    let session = api.authenticate_user("gus").await.unwrap();
    let payload = SessionCookie::new(
        session,
        "gus",
        "gus",
        CookieState::Authenticated,
        Duration::from_millis(1),
        None,
    );
    let mut client = Client::new(&app);
    client.cookie = Some(
        app.iampass
            .seal_cookie(&payload)
            .unwrap()
            .value()
            .to_owned(),
    );
    let before = Reading::now();
    eventually("the cookie to expire", || {
        let mut client = client.clone();
        async move { client.get("/dashboard").await.status == 401 }
    })
    .await;
    let after = Reading::now();
    assert!(
        after.since(&before, REQUESTS, &[("verdict", "expired")]) >= 1.0,
        "{}",
        after.text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_ups_are_counted_by_outcome_apart_from_sign_ins() {
    let _serial = serial().await;
    let emulator = emulator().await;
    let app = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    sign_in(&emulator, &mut client, "sudo-metrics").await;
    phone_answers(&emulator, "sudo-metrics", Behaviour::Ignore).await;
    let before = Reading::now();

    // One step-up approved on the phone, one denied: the user stays signed in throughout.
    for action in [SessionAction::Approve, SessionAction::Deny] {
        let started = client
            .post_json("/auth/step-up", json!({"next": "/recent", "methods": []}))
            .await;
        assert_eq!(started.status, 202, "{}", started.body);
        act_on_pending(&emulator, "sudo-metrics", action).await;
        client.poll_until_done().await;
        assert_eq!(client.get("/dashboard").await.status, 200);
    }

    let after = Reading::now();
    let text = after.text();
    let step_ups =
        |outcome| after.since(&before, "iampass_step_ups_total", &[("outcome", outcome)]);
    assert_eq!(step_ups("started"), 2.0, "{text}");
    assert_eq!(step_ups("approved"), 1.0, "{text}");
    assert_eq!(step_ups("refused"), 1.0, "{text}");
    let logins = |outcome| after.since(&before, LOGINS, &[("outcome", outcome)]);
    for outcome in ["started", "approved", "refused"] {
        assert_eq!(logins(outcome), 0.0, "a step-up is not a sign-in: {text}");
    }
}
