//! The actix-web integration over real HTTP on loopback: a real actix `HttpServer` wrapped by
//! the IAMPASS middleware, against the emulator.

#[path = "common/emulator_control.rs"]
mod emulator_control;
#[path = "actix/harness.rs"]
mod harness;

use std::time::{Duration, Instant};

use emulator_control::*;
use harness::*;
use iampass::actix::{FailMode, Iampass, MAX_USER_LEN, WalkawayPolicy};
use iampass::emulator::{Behaviour, Faults, SessionAction};
use iampass::{Session, Status};
use serde_json::json;

// Tests run on a multi-threaded runtime; the servers have their own worker threads.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_flow_login_poll_protected_logout_replay() {
    let emulator = emulator().await;
    let app = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    emulator.register_device(APP, "alice").await.unwrap();

    // Anonymous: public pages work, protected ones refuse.
    assert_eq!(
        client.get("/").await.json()["user"],
        serde_json::Value::Null
    );
    assert_eq!(client.get("/public").await.body, "public");
    let refused = client.get("/dashboard").await;
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.json(),
        json!({"error": "unauthenticated", "status": null})
    );

    // Start: 202 + pending cookie (not an identity).
    let started = client.start_login("alice", Some("/dashboard?tab=2")).await;
    assert_eq!(started.json()["poll_url"], "/auth/poll");
    assert!(client.cookie.is_some());
    let pending = client.get("/dashboard").await;
    assert_eq!(
        (pending.status, pending.json()["status"].clone()),
        (401, json!("pending"))
    );
    assert_eq!(client.get("/auth/poll").await.json()["status"], "pending");

    // A long poll in flight returns as soon as the phone approves.
    let token = session_of(&emulator, "alice", Status::Pending).await;
    let mut poller = client.clone();
    let poll = tokio::spawn(async move {
        let answer = poller.get("/auth/poll?wait=20").await;
        (answer, poller)
    });
    // Approve once the poll is surely waiting (its first status call has been counted).
    let before = emulator.stats().await.unwrap().route_count("status");
    eventually("the long poll to ask IAMPASS", || async {
        emulator.stats().await.unwrap().route_count("status") > before
    })
    .await;
    session_action(&emulator, &token, SessionAction::Approve).await;
    let (done, poller) = poll.await.unwrap();
    assert!(done.elapsed < Duration::from_secs(10), "{:?}", done.elapsed);
    assert_eq!(
        done.json(),
        json!({"status": "active", "redirect": "/dashboard?tab=2"})
    );
    client.cookie = poller.cookie.clone();
    let signed_in_cookie = client.cookie.clone().unwrap();

    // Signed in: every kind of protected route, and the optional identity.
    let dash = client.get("/dashboard").await;
    assert_eq!((dash.status, dash.body.as_str()), (200, "hi alice"));
    let home = client.get("/").await.json();
    assert_eq!(home["user"], "alice");
    assert_eq!(home["iampass_user_id"], "alice");
    assert_eq!(home["status"], "active");
    assert_eq!(client.get("/admin").await.body, "admin");
    assert_eq!(client.get("/admin/deep/path").await.body, "admin");
    // The poll handler does not accept a signed-in cookie as a pending one.
    assert_eq!(client.get("/auth/poll").await.status, 401);

    // Logout: IAMPASS is told, the cookie goes.
    let out = client.post_json("/auth/logout", json!({})).await;
    assert_eq!((out.status, out.json()), (200, json!({"status": "closed"})));
    assert!(client.cookie.is_none());
    assert!(out.set_cookies(app.iampass.cookie_name())[0].contains("Max-Age=0"));
    let sessions = emulator.sessions(Some(APP), Some("alice")).await.unwrap();
    assert_eq!(sessions.last().unwrap().session_status, Status::Closed);
    assert_eq!(client.get("/dashboard").await.status, 401);

    // The logged-out cookie replayed: IAMPASS says closed, refused and removed again.
    client.cookie = Some(signed_in_cookie);
    let replay = client.get("/dashboard").await;
    assert_eq!(replay.status, 401);
    assert_eq!(replay.json()["status"], "closed");
    assert!(client.cookie.is_none(), "the replayed cookie is removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walkaway_denies_then_return_allows_with_default_policy() {
    let emulator = emulator().await;
    let app = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    sign_in(&emulator, &mut client, "bob").await;
    let token = session_of(&emulator, "bob", Status::Active).await;
    assert_eq!(client.get("/dashboard").await.status, 200);

    session_action(&emulator, &token, SessionAction::Walkaway).await;
    let away = client.get("/dashboard").await;
    assert_eq!(away.status, 401);
    assert_eq!(away.json()["status"], "walkaway");
    assert!(
        away.set_cookies(app.iampass.cookie_name()).is_empty(),
        "cookie kept"
    );
    assert!(client.cookie.is_some());
    assert_eq!(
        client.get("/").await.json()["user"],
        serde_json::Value::Null
    );

    session_action(&emulator, &token, SessionAction::Return).await;
    assert_eq!(client.get("/dashboard").await.body, "hi bob");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walkaway_ends_the_session_with_end_session_policy() {
    let emulator = emulator().await;
    let iampass = builder(&emulator)
        .walkaway_policy(WalkawayPolicy::EndSession)
        .build()
        .unwrap();
    let app = start_app(iampass);
    let mut client = Client::new(&app);
    sign_in(&emulator, &mut client, "carol").await;
    let token = session_of(&emulator, "carol", Status::Active).await;
    let cookie = client.cookie.clone();

    session_action(&emulator, &token, SessionAction::Walkaway).await;
    let away = client.get("/dashboard").await;
    assert_eq!(away.status, 401);
    assert_eq!(away.json()["status"], "walkaway");
    assert!(client.cookie.is_none(), "cookie removed");
    // The session is ended at IAMPASS too, so coming back does not revive the old cookie.
    eventually("the walked-away session to be closed", || async {
        let s = emulator.sessions(Some(APP), Some("carol")).await.unwrap();
        s.last().unwrap().session_status == Status::Closed
    })
    .await;
    client.cookie = cookie;
    assert_eq!(client.get("/dashboard").await.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_close_signs_out_and_removes_the_cookie() {
    let emulator = emulator().await;
    let app = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    sign_in(&emulator, &mut client, "dave").await;
    let token = session_of(&emulator, "dave", Status::Active).await;
    assert_eq!(client.get("/dashboard").await.status, 200);
    session_action(&emulator, &token, SessionAction::Close).await;
    let closed = client.get("/dashboard").await;
    assert_eq!(
        (closed.status, closed.json()["status"].clone()),
        (401, json!("closed"))
    );
    let removal = &closed.set_cookies(app.iampass.cookie_name())[0];
    for attr in ["Max-Age=0", "Path=/", "HttpOnly", "SameSite=Lax"] {
        assert!(removal.contains(attr), "{removal}");
    }
    assert!(client.cookie.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_fails_the_login_and_clears_the_cookie() {
    let emulator = emulator().await;
    let app = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    emulator.register_device(APP, "erin").await.unwrap();
    client.start_login("erin", None).await;
    act_on_pending(&emulator, "erin", SessionAction::Deny).await;
    let done = client.poll_until_done().await;
    assert_eq!(done.json()["status"], "failed");
    assert!(done.json()["reason"].is_string());
    assert!(client.cookie.is_none());
    assert_eq!(client.get("/auth/poll").await.status, 401);
    assert_eq!(client.get("/dashboard").await.status, 401);

    // A cancel from the phone.
    client.start_login("erin", None).await;
    act_on_pending(&emulator, "erin", SessionAction::Cancel).await;
    assert_eq!(client.poll_until_done().await.json()["status"], "cancelled");
    assert!(client.cookie.is_none());

    // Automatic deny through the phone's behaviour, same result.
    emulator
        .set_behaviour(
            APP,
            "erin",
            Behaviour::Deny {
                after: Duration::ZERO,
            },
        )
        .await
        .unwrap();
    client.start_login("erin", None).await;
    assert_eq!(client.poll_until_done().await.json()["status"], "failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_login_times_out() {
    let emulator = emulator_with(|b| b.pending_timeout(Duration::from_millis(600))).await;
    let app = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    emulator.register_device(APP, "frank").await.unwrap();
    client.start_login("frank", None).await;
    let started = Instant::now();
    let done = client.poll_until_done().await;
    assert_eq!(done.json()["status"], "timeout");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(client.cookie.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identifying_is_reported_while_waiting() {
    let emulator = emulator().await;
    let app = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    emulator.register_device(APP, "gina").await.unwrap();
    client.start_login("gina", None).await;
    let token = act_on_pending(&emulator, "gina", SessionAction::Identify).await;
    let poll = client.get("/auth/poll?wait=10").await;
    assert_eq!(poll.json()["status"], "identifying");
    assert!(
        poll.elapsed < Duration::from_secs(5),
        "returns at once on a change"
    );
    session_action(&emulator, &token, SessionAction::Approve).await;
    assert_eq!(client.poll_until_done().await.json()["status"], "active");
    assert_eq!(client.get("/dashboard").await.body, "hi gina");
}

async fn outage_closed(faults: Faults, timeout: Duration) {
    let emulator = emulator().await;
    let app = start_app(builder(&emulator).request_timeout(timeout).build().unwrap());
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

    emulator.set_faults(Faults::default()).await.unwrap();
    assert_eq!(client.get("/dashboard").await.body, "hi hank");
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
    let iampass = builder(&emulator).server(dead.clone()).build().unwrap();
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
        .request_timeout(Duration::from_millis(300))
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
async fn concurrent_requests_of_one_session_share_one_status_call() {
    let emulator = emulator().await;
    let app = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    sign_in(&emulator, &mut client, "kim").await;
    // Make the one upstream call slow enough that all 20 requests arrive while it runs.
    emulator
        .set_faults(every_call_delayed_by(Duration::from_millis(1500)))
        .await
        .unwrap();
    emulator.reset_stats().await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let mut c = client.clone();
        tasks.push(tokio::spawn(async move { c.get("/dashboard").await }));
    }
    for t in tasks {
        let answer = t.await.unwrap();
        assert_eq!((answer.status, answer.body.as_str()), (200, "hi kim"));
    }
    assert_eq!(emulator.stats().await.unwrap().route_count("status"), 1);

    // Every-request mode: the next request asks again.
    emulator.set_faults(Faults::default()).await.unwrap();
    client.get("/dashboard").await;
    assert_eq!(emulator.stats().await.unwrap().route_count("status"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revalidate_after_reuses_the_answer_within_the_window() {
    let emulator = emulator().await;
    let iampass = builder(&emulator)
        .revalidate_after(Duration::from_secs(30))
        .build()
        .unwrap();
    let app = start_app(iampass);
    let mut client = Client::new(&app);
    sign_in(&emulator, &mut client, "liam").await;
    emulator.reset_stats().await.unwrap();
    for _ in 0..10 {
        assert_eq!(client.get("/dashboard").await.status, 200);
    }
    assert_eq!(emulator.stats().await.unwrap().route_count("status"), 1);
    // Logout forgets the cached answer: the replayed cookie is refused at once.
    let cookie = client.cookie.clone();
    client.post_json("/auth/logout", json!({})).await;
    client.cookie = cookie;
    assert_eq!(client.get("/dashboard").await.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_rotation_old_keys_open_new_key_seals() {
    let emulator = emulator().await;
    let old = start_app(builder(&emulator).build().unwrap());
    let rotated = start_app(
        builder(&emulator)
            .cookie_key(&KEY2)
            .old_cookie_keys(vec![KEY.to_vec()])
            .build()
            .unwrap(),
    );
    let new_only = start_app(builder(&emulator).cookie_key(&KEY2).build().unwrap());

    // Signed in under the old key.
    let mut client = Client::new(&old);
    sign_in(&emulator, &mut client, "mia").await;
    let old_cookie = client.cookie.clone().unwrap();
    assert!(old.iampass.open_cookie(&old_cookie).is_ok());

    // Not opened where the old key was dropped: anonymous, removed.
    let mut dropped = client.to(&new_only);
    let refused = dropped.get("/dashboard").await;
    assert_eq!(refused.status, 401);
    assert!(dropped.cookie.is_none());

    // Opened by the rotated ring, and re-issued under the new key.
    let mut moved = client.to(&rotated);
    let ok = moved.get("/dashboard").await;
    assert_eq!((ok.status, ok.body.as_str()), (200, "hi mia"));
    let reissued = moved.cookie.clone().unwrap();
    assert_ne!(reissued, old_cookie);
    assert!(new_only.iampass.open_cookie(&reissued).is_ok());
    assert!(old.iampass.open_cookie(&reissued).is_err());
    assert_eq!(moved.to(&new_only).get("/dashboard").await.body, "hi mia");

    // A pending cookie from the old key, completed on the rotated server: sealed with the new key.
    let mut pending = Client::new(&old);
    emulator
        .set_behaviour(APP, "mia", Behaviour::Ignore)
        .await
        .unwrap();
    pending.start_login("mia", None).await;
    act_on_pending(&emulator, "mia", SessionAction::Approve).await;
    let mut finishing = pending.to(&rotated);
    assert_eq!(finishing.poll_until_done().await.json()["status"], "active");
    let fresh = finishing.cookie.clone().unwrap();
    assert!(new_only.iampass.open_cookie(&fresh).is_ok());
    assert!(old.iampass.open_cookie(&fresh).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_attributes_and_host_prefix() {
    let emulator = emulator().await;
    emulator.register_device(APP, "nina").await.unwrap();
    let secure = start_app(builder(&emulator).secure_cookie(true).build().unwrap());
    let mut client = Client::new(&secure);
    let started = client.start_login("nina", None).await;
    let set = &started.set_cookies("iampass")[0];
    for attr in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(set.contains(attr), "{attr} in {set}");
    }
    assert!(!set.contains("Domain"), "{set}");

    let prefixed = start_app(
        builder(&emulator)
            .secure_cookie(true)
            .host_prefix(true)
            .build()
            .unwrap(),
    );
    assert_eq!(prefixed.iampass.cookie_name(), "__Host-iampass");
    let mut client = Client::new(&prefixed);
    let started = client.start_login("nina", None).await;
    let set = &started.set_cookies("__Host-iampass")[0];
    for attr in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(set.contains(attr), "{attr} in {set}");
    }
    let out = client.post_json("/auth/logout", json!({})).await;
    let removal = &out.set_cookies("__Host-iampass")[0];
    for attr in ["Secure", "Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=0"] {
        assert!(removal.contains(attr), "{attr} in {removal}");
    }

    let insecure = start_app(builder(&emulator).cookie_name("my_app").build().unwrap());
    let mut client = Client::new(&insecure);
    let set = &client.start_login("nina", None).await.set_cookies("my_app")[0];
    assert!(!set.contains("Secure"), "{set}");

    let refused = builder(&emulator)
        .host_prefix(true)
        .secure_cookie(false)
        .build();
    assert!(matches!(refused, Err(iampass::Error::Config(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_stays_under_4_kib_with_a_long_user_and_next() {
    let emulator = emulator().await;
    let app = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    let user = "\u{e9}".repeat(128); // 256 bytes
    assert_eq!(user.len(), 256);
    emulator.register_device(APP, &user).await.unwrap();
    let next = format!("/{}", "segment/".repeat(120)); // ~960 bytes
    let started = client.start_login(&user, Some(&next)).await;
    let set = &started.set_cookies("iampass")[0];
    assert!(set.len() < 4096, "{} bytes", set.len());
    act_on_pending(&emulator, &user, SessionAction::Approve).await;
    let done = client.poll_until_done().await;
    assert_eq!(done.json()["redirect"], next.as_str());
    let set = &done.set_cookies("iampass")[0];
    assert!(set.len() < 4096, "{} bytes", set.len());
    assert_eq!(client.get("/dashboard").await.body, format!("hi {user}"));

    // Worst case: every character doubles in JSON. The cookie still fits: `next` is dropped.
    let quotes = "\"".repeat(256);
    emulator.register_device(APP, &quotes).await.unwrap();
    let mut client = Client::new(&app);
    let next = format!("/{}", "\"".repeat(1000));
    let started = client.start_login(&quotes, Some(&next)).await;
    assert!(started.set_cookies("iampass")[0].len() < 4096);
    act_on_pending(&emulator, &quotes, SessionAction::Approve).await;
    let done = client.poll_until_done().await;
    assert_eq!(done.json()["redirect"], "/");
    assert!(done.set_cookies("iampass")[0].len() < 4096);
    assert_eq!(client.get("/dashboard").await.body, format!("hi {quotes}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_is_sanitised() {
    let emulator = emulator().await;
    let app = start_app(builder(&emulator).build().unwrap());
    let long = format!("/{}", "a".repeat(2000));
    let table: &[(&str, &str)] = &[
        ("/dashboard", "/dashboard"),
        ("/a?b=c#d", "/a?b=c#d"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/\t/evil.example", "/"),
        ("/x\r\nLocation: //evil", "/"),
        ("relative", "/"),
        ("", "/"),
        (&long, "/"),
    ];
    // The login page's hidden field.
    let mut client = Client::new(&app);
    for (next, expected) in table {
        let q: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
        let page = client.get_html(&format!("/auth/login?next={q}")).await;
        let field = format!(r#"name="next" value="{}""#, expected.replace('&', "&#38;"));
        assert!(
            page.body.contains(&field),
            "{next:?} -> expected {expected:?}"
        );
    }
    // Through the whole flow: the redirect after login.
    phone_approving_at_once(&emulator, "oscar").await;
    for (next, expected) in &table[..6] {
        let mut client = Client::new(&app);
        client.start_login("oscar", Some(next)).await;
        assert_eq!(
            client.poll_until_done().await.json()["redirect"],
            *expected,
            "{next:?}"
        );
    }
    // RequireIampass's redirect carries the original path and query.
    let mut anon = Client::new(&app);
    let redirect = anon.get_html("/dashboard?x=1&y=%2F").await;
    assert_eq!(redirect.status, 303);
    assert_eq!(
        redirect.header("location").unwrap(),
        "/auth/login?next=%2Fdashboard%3Fx%3D1%26y%3D%252F"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_posts_are_refused() {
    let emulator = emulator().await;
    emulator.register_device(APP, "paul").await.unwrap();
    let app = start_app(builder(&emulator).build().unwrap());
    let host = app.url.trim_start_matches("http://").to_owned();
    let cases: &[(&str, &str, u16)] = &[
        ("origin", "http://evil.example", 403),
        ("origin", "null", 403),
        ("sec-fetch-site", "cross-site", 403),
        ("sec-fetch-site", "same-site", 403),
        ("sec-fetch-site", "same-origin", 202),
        ("sec-fetch-site", "none", 202),
    ];
    for (header, value, expected) in cases {
        let mut client = Client::new(&app);
        client.extra = vec![(header.to_string(), value.to_string())];
        let login = client.post_login("paul").await;
        assert_eq!(login.status, *expected, "{header}: {value}: {}", login.body);
    }
    let mut same = Client::new(&app);
    same.extra = vec![("origin".into(), format!("http://{host}"))];
    assert_eq!(same.post_login("paul").await.status, 202);

    // Logout too: a cross-site POST does not end the session.
    let mut client = Client::new(&app);
    sign_in(&emulator, &mut client, "paul").await;
    let mut attacker = client.clone();
    attacker.extra = vec![("origin".into(), "http://evil.example".into())];
    let refused = attacker.post_json("/auth/logout", json!({})).await;
    assert_eq!(refused.status, 403);
    assert!(refused.set_cookies("iampass").is_empty());
    assert_eq!(client.get("/dashboard").await.status, 200);
    // A cross-site form POST gets an HTML 403.
    attacker.extra = vec![("sec-fetch-site".into(), "cross-site".into())];
    let form = attacker.post_form("/auth/login", &[("user", "paul")]).await;
    assert_eq!(form.status, 403);
    assert!(
        form.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_starts_are_rate_limited_per_user_and_per_address() {
    let emulator = emulator().await;
    emulator.register_device(APP, "quinn").await.unwrap();
    let defaults = Iampass::builder(APP, SECRET)
        .server(emulator.base_url())
        .cookie_key(&KEY)
        .secure_cookie(false)
        .build()
        .unwrap();
    let app = start_app(defaults);
    let mut client = Client::new(&app);
    for _ in 0..5 {
        client.start_login("quinn", None).await;
    }
    let limited = client.post_login("quinn").await;
    assert_eq!(limited.status, 429);
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(limited.json()["error"], "rate_limited");
    // Only 5 reached IAMPASS.
    assert_eq!(
        emulator
            .sessions(Some(APP), Some("quinn"))
            .await
            .unwrap()
            .len(),
        5
    );

    let per_address = start_app(
        builder(&emulator)
            .rate_limit_per_address(3, Duration::from_secs(60))
            .build()
            .unwrap(),
    );
    let mut client = Client::new(&per_address);
    for user in ["r1", "r2", "r3"] {
        emulator.register_device(APP, user).await.unwrap();
        client.start_login(user, None).await;
    }
    let limited = client.post_login("r4").await;
    assert_eq!(limited.status, 429);
    assert!(limited.header("retry-after").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_cookies_are_anonymous_never_5xx() {
    let emulator = emulator().await;
    let app = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    sign_in(&emulator, &mut client, "rita").await;
    let good = client.cookie.clone().unwrap();
    let foreign = {
        let other = builder(&emulator).cookie_key(&[99; 64]).build().unwrap();
        let payload = app.iampass.open_cookie(&good).unwrap();
        other.seal_cookie(&payload).unwrap().value().to_owned()
    };
    let mut tampered = good.clone().into_bytes();
    let mid = tampered.len() / 2;
    tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };
    let cases = vec![
        ("tampered", String::from_utf8(tampered).unwrap()),
        ("truncated", good[..good.len() - 5].to_owned()),
        ("foreign key", foreign),
        ("oversized", "A".repeat(5000)),
        ("garbage", "not-a-cookie".to_owned()),
        ("empty", String::new()),
        ("json", "%7B%22v%22%3A1%7D".to_owned()),
    ];
    for (what, value) in cases {
        let mut c = client.clone();
        c.cookie = Some(value);
        let dash = c.get("/dashboard").await;
        assert_eq!(dash.status, 401, "{what}");
        assert_eq!(c.get("/").await.status, 200, "{what}");
        assert_eq!(c.get("/admin").await.status, 401, "{what}");
        assert_eq!(c.get("/auth/poll").await.status, 401, "{what}");
    }
    assert_eq!(client.get("/dashboard").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_cookie_mutations_over_http_are_never_accepted() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    let emulator = emulator().await;
    let app = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    sign_in(&emulator, &mut client, "sam").await;
    let good = client.cookie.clone().unwrap();
    let edits = proptest::collection::vec((0usize..4096, 0u8..128, 0u8..3), 1..4);
    let mut runner = TestRunner::deterministic();
    let mut tried = 0;
    while tried < 48 {
        let plan = edits.new_tree(&mut runner).unwrap().current();
        let mut bytes = good.clone().into_bytes();
        for (pos, byte, kind) in plan {
            let len = bytes.len();
            // Cookie-safe ASCII only, so the header stays valid.
            let byte = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
                [byte as usize % 65];
            match kind {
                0 => bytes[pos % len] = byte,
                1 => {
                    bytes.remove(pos % len);
                }
                _ => bytes.insert(pos % (len + 1), byte),
            }
        }
        let mutated = String::from_utf8(bytes).unwrap();
        if mutated == good {
            continue;
        }
        tried += 1;
        let mut c = client.clone();
        c.cookie = Some(mutated.clone());
        let answer = c.get("/dashboard").await;
        assert_eq!(answer.status, 401, "accepted {mutated}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_user_ids_sign_in() {
    let emulator = emulator().await;
    let app = start_app(builder(&emulator).build().unwrap());
    let long = "x".repeat(256);
    for user in [
        "with space",
        "a+b",
        "a/b",
        "100%",
        "%2F",
        "\u{fc}n\u{ef}c\u{f6}d\u{e9} \u{2713}",
        "x@y.z",
        "?q=1&r",
        long.as_str(),
    ] {
        let mut client = Client::new(&app);
        sign_in(&emulator, &mut client, user).await;
        let dash = client.get("/dashboard").await;
        assert_eq!(
            (dash.status, dash.body.clone()),
            (200, format!("hi {user}")),
            "{user:?}"
        );
        let sessions = emulator.sessions(Some(APP), Some(user)).await.unwrap();
        assert_eq!(sessions.last().unwrap().user, user);
    }
    let mut client = Client::new(&app);
    let too_long = client.post_login(&"x".repeat(257)).await;
    assert_eq!(too_long.status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_login_requests_are_refused() {
    let emulator = emulator().await;
    emulator.register_device(APP, "tom").await.unwrap();
    let app = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    for (body, what) in [
        (b"{not json".to_vec(), "malformed"),
        (b"[]".to_vec(), "not an object"),
        (b"{}".to_vec(), "no user"),
        (br#"{"user": 5}"#.to_vec(), "user not a string"),
        (br#"{"user": ""}"#.to_vec(), "empty user"),
        (br#"{"user": "   "}"#.to_vec(), "blank user"),
        (br#"{"user": "a\u0000b"}"#.to_vec(), "control character"),
        (
            br#"{"user": "tom", "methods": ["telepathy"]}"#.to_vec(),
            "bad method",
        ),
        (
            br#"{"user": "tom", "methods": "acceptance"}"#.to_vec(),
            "methods not a list",
        ),
    ] {
        let answer = client
            .post_raw("/auth/login", "application/json", body)
            .await;
        assert_eq!(answer.status, 400, "{what}: {}", answer.body);
        assert!(client.cookie.is_none(), "{what}");
    }
    let huge = format!(r#"{{"user": "{}"}}"#, "x".repeat(64 * 1024));
    let answer = client
        .post_raw("/auth/login", "application/json", huge.into_bytes())
        .await;
    assert_eq!(answer.status, 413);

    // Not started: unknown user / no phone → 4xx failed with a reason.
    let unknown = client.post_login("nobody").await;
    assert_eq!(unknown.status, 422);
    assert_eq!(unknown.json()["status"], "failed");
    assert!(unknown.json()["reason"].is_string());
    iampass::ManagementApi::builder(APP, SECRET)
        .server(emulator.base_url())
        .build()
        .unwrap()
        .add_user("phoneless")
        .await
        .unwrap();
    let phoneless = client.post_login("phoneless").await;
    assert_eq!(
        (phoneless.status, phoneless.json()["reason"].clone()),
        (422, json!("NO_MOBILE_DEVICE"))
    );

    // Methods are passed on.
    let with_methods = client
        .post_json(
            "/auth/login",
            json!({"user": "tom", "methods": ["acceptance", "facial"]}),
        )
        .await;
    assert_eq!(with_methods.status, 202);
    let session = emulator
        .sessions(Some(APP), Some("tom"))
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(
        session.methods,
        vec![
            iampass::AuthenticationMethod::Acceptance,
            iampass::AuthenticationMethod::Facial
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_answers_303_for_html_and_401_for_apis() {
    let emulator = emulator().await;
    let app = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    let html = client.get_html("/dashboard").await;
    assert_eq!(html.status, 303);
    assert_eq!(
        html.header("location").unwrap(),
        "/auth/login?next=%2Fdashboard"
    );
    let api = client.get("/dashboard").await;
    assert_eq!(api.status, 401);
    assert_eq!(
        api.json(),
        json!({"error": "unauthenticated", "status": null})
    );
    let guarded = client.get_html("/admin/x").await;
    assert_eq!(guarded.status, 303);
    assert_eq!(
        guarded.header("location").unwrap(),
        "/auth/login?next=%2Fadmin%2Fx"
    );
    assert_eq!(client.get("/admin").await.status, 401);

    // A custom responder and login path.
    let custom = start_app(
        builder(&emulator)
            .login_path("/signin")
            .unauthenticated_responder(|req, denial| match denial {
                iampass::actix::Denial::Unauthenticated { .. } if req.path() == "/admin" => {
                    actix_web::HttpResponse::Forbidden().body("custom")
                }
                other => other.default_response(req),
            })
            .build()
            .unwrap(),
    );
    let mut client = Client::new(&custom);
    assert_eq!(client.get_html("/admin").await.body, "custom");
    assert_eq!(
        client
            .get_html("/dashboard")
            .await
            .header("location")
            .unwrap(),
        "/signin?next=%2Fdashboard"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_middleware_is_a_500_not_a_panic() {
    let emulator = emulator().await;
    let app = start_app_without_middleware(builder(&emulator).build().unwrap());
    let http = http();
    for path in ["/dashboard", "/admin"] {
        let answer = http
            .get(format!("{}{path}", app.url))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 500, "{path}");
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(body["error"], "misconfigured");
    }
    // The optional extractor is simply absent, and the server is still alive.
    let home = http.get(format!("{}/", app.url)).send().await.unwrap();
    assert_eq!(home.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_iampass_does_not_hang_logins() {
    let emulator = emulator().await;
    emulator.register_device(APP, "uma").await.unwrap();
    let app = start_app(
        builder(&emulator)
            .request_timeout(Duration::from_millis(300))
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
    assert_eq!(client.get("/auth/poll").await.json()["status"], "pending");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_page_prefills_the_user_escaped_and_bounded() {
    let emulator = emulator().await;
    let app = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    let page = client.get_html("/auth/login?user=new+user+1").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(r#"value="new user 1""#), "{}", page.body);
    let page = client
        .get_html("/auth/login?user=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        .await;
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains("<script>alert(1)"),
        "the user is escaped"
    );
    let long = "x".repeat(MAX_USER_LEN + 1);
    let page = client.get_html(&format!("/auth/login?user={long}")).await;
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains(&long),
        "an over-long user is not echoed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_lands_on_the_configured_local_path() {
    let emulator = emulator().await;
    let app = start_app(
        builder(&emulator)
            .after_logout_path("/goodbye")
            .build()
            .unwrap(),
    );
    let mut client = Client::new(&app);
    sign_in(&emulator, &mut client, "ulla").await;
    let out = client.post_form("/auth/logout", &[]).await;
    assert_eq!(
        (out.status, out.header("location")),
        (303, Some("/goodbye"))
    );
    assert!(client.cookie.is_none());
    for bad in ["//evil.example", "https://evil.example", "goodbye"] {
        assert!(
            builder(&emulator).after_logout_path(bad).build().is_err(),
            "{bad}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_page_and_no_javascript_flow() {
    let emulator = emulator().await;
    emulator.register_device(APP, "vera").await.unwrap();
    let app = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    let page = client.get_html("/auth/login?next=%2Fdashboard").await;
    assert_eq!(page.status, 200);
    for needle in [
        r#"<form id="iampass-login" method="post" action="/auth/login""#,
        r#"<input id="iampass-user" name="user""#,
        r#"<input type="hidden" name="next" value="/dashboard">"#,
        r#"<button type="submit">"#,
        r#"id="iampass-status""#,
        "<script>",
    ] {
        assert!(page.body.contains(needle), "{needle}");
    }

    // Form POST → 303 to the wait page, which refreshes itself while pending.
    let posted = client
        .post_form("/auth/login", &[("user", "vera"), ("next", "/dashboard")])
        .await;
    assert_eq!(posted.status, 303);
    assert_eq!(posted.header("location").unwrap(), "/auth/login?wait=1");
    let waiting = client.get_html("/auth/login?wait=1").await;
    assert_eq!(waiting.status, 200);
    assert!(
        waiting
            .body
            .contains(r#"<meta http-equiv="refresh" content="2">"#)
    );
    act_on_pending(&emulator, "vera", SessionAction::Approve).await;
    let done = client.get_html("/auth/login?wait=1").await;
    assert_eq!(done.status, 303);
    assert_eq!(done.header("location").unwrap(), "/dashboard");
    assert_eq!(client.get("/dashboard").await.body, "hi vera");

    // Form logout → 303 to /.
    let out = client.post_form("/auth/logout", &[]).await;
    assert_eq!((out.status, out.header("location")), (303, Some("/")));
    assert!(client.cookie.is_none());

    // A denied no-JS login shows the failure and a "try again" link.
    client
        .post_form("/auth/login", &[("user", "vera"), ("next", "/dashboard")])
        .await;
    act_on_pending(&emulator, "vera", SessionAction::Deny).await;
    let failed = client.get_html("/auth/login?wait=1").await;
    assert_eq!(failed.status, 200);
    assert!(!failed.body.contains("http-equiv"));
    assert!(
        failed
            .body
            .contains(r#"href="/auth/login?next=%2Fdashboard""#),
        "{}",
        failed.body
    );
    assert!(client.cookie.is_none());

    // Form errors come back as the form with a message.
    let empty = client.post_form("/auth/login", &[("user", "")]).await;
    assert_eq!(empty.status, 400);
    assert!(empty.body.contains("iampass-login"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_resolver_maps_names_and_identity_carries_both() {
    let emulator = emulator().await;
    phone_approving_at_once(&emulator, "wendy-id").await;
    let iampass = builder(&emulator)
        .user_resolver(|user: String| async move {
            match user.as_str() {
                "Wendy" => Ok("wendy-id".to_owned()),
                "down" => Err(iampass::Error::Timeout(Duration::from_secs(1))),
                _ => Err(iampass::Error::InvalidArgument("unknown".into())),
            }
        })
        .build()
        .unwrap();
    let app = start_app(iampass);
    let mut client = Client::new(&app);
    client.start_login("Wendy", None).await;
    client.poll_until_done().await;
    let home = client.get("/").await.json();
    assert_eq!(
        (home["user"].clone(), home["iampass_user_id"].clone()),
        (json!("Wendy"), json!("wendy-id"))
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(home["issued_at"].as_u64().unwrap().abs_diff(now) < 60);
    assert_eq!(client.clone().post_login("zed").await.status, 422);
    assert_eq!(client.clone().post_login("down").await.status, 503);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_from_the_environment() {
    use base64::Engine;
    let b64 = |k: &[u8]| base64::engine::general_purpose::STANDARD.encode(k);
    let emulator = emulator().await;
    // Only this test touches these variables (and CI unsets them before the tests).
    // SAFETY: no other thread of this test binary reads or writes them.
    unsafe {
        std::env::remove_var("IAMPASS_APPLICATION_ID");
    }
    assert!(matches!(
        Iampass::from_env(),
        Err(iampass::Error::Config(_))
    ));
    unsafe {
        std::env::set_var("IAMPASS_APPLICATION_ID", APP);
        std::env::set_var("IAMPASS_APPLICATION_SECRET", SECRET);
        std::env::set_var("IAMPASS_COOKIE_KEY", b64(&KEY2));
        std::env::set_var(
            "IAMPASS_COOKIE_OLD_KEYS",
            format!("{}, {}", b64(&[3; 64]), b64(&KEY)),
        );
    }
    let from_env = Iampass::from_env()
        .unwrap()
        .server(emulator.base_url())
        .secure_cookie(false)
        .build()
        .unwrap();
    // A cookie of the old key opens; new cookies are sealed with IAMPASS_COOKIE_KEY.
    let old = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&old);
    sign_in(&emulator, &mut client, "xena").await;
    let app = start_app(from_env.clone());
    let mut moved = client.to(&app);
    assert_eq!(moved.get("/dashboard").await.body, "hi xena");
    let by_new_key = builder(&emulator).cookie_key(&KEY2).build().unwrap();
    assert!(
        by_new_key
            .open_cookie(moved.cookie.as_ref().unwrap())
            .is_ok()
    );
    unsafe {
        std::env::set_var("IAMPASS_COOKIE_KEY", "not base64!");
    }
    assert!(matches!(
        Iampass::from_env(),
        Err(iampass::Error::Config(_))
    ));
    unsafe {
        std::env::remove_var("IAMPASS_COOKIE_KEY");
        std::env::remove_var("IAMPASS_COOKIE_OLD_KEYS");
    }
    // Without a key anywhere, build() says how to make one.
    let Err(iampass::Error::Config(message)) = Iampass::from_env().unwrap().build() else {
        panic!("a missing cookie key is refused");
    };
    assert!(message.contains("IAMPASS_COOKIE_KEY"), "{message}");
}
