//! Issue 10 (hardening) and the login-handler parts of issue 9: shared and capped polls, an
//! ended login answered from memory, a single-use exchange, 4xx answers that are outages,
//! security headers, a body-read deadline, one login at a time per browser, trimmed user
//! names, messages on failures, and the client address behind trusted proxies.

use std::time::Duration;

use iampass::Status;
use iampass::actix::TrustedProxies;
use iampass::core::store::Rate;
use iampass::emulator::{Faults, SessionAction};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::emulator_control::*;
use crate::harness::*;

async fn status_calls(emulator: &iampass::emulator::RunningEmulator) -> u64 {
    emulator.stats().await.unwrap().route_count("status")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_polls_of_one_login_share_its_status_calls() {
    let emulator = emulator().await;
    user_with_phone(&emulator, "pia").await;
    let app = start_app(builder(&emulator).poll_limits(64, 64).build().unwrap());
    let mut client = Client::new(&app);
    client.start_login("pia", None).await;
    emulator.reset_stats().await.unwrap();
    let polls: Vec<_> = (0..40)
        .map(|_| {
            let mut client = client.clone();
            tokio::spawn(async move { client.get("/auth/poll?wait=2").await })
        })
        .collect();
    for poll in polls {
        let answer = poll.await.unwrap();
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.json()["status"], "pending");
    }
    // Before: ~11 calls per poll (440). Now at most one every 500 ms for the login.
    let calls = status_calls(&emulator).await;
    assert!(
        (1..=8).contains(&calls),
        "{calls} status calls for 40 polls"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_polls_are_capped_per_login() {
    let emulator = emulator().await;
    user_with_phone(&emulator, "quin").await;
    let app = start_app(builder(&emulator).build().unwrap()); // default: 4 per login
    let mut client = Client::new(&app);
    client.start_login("quin", None).await;
    let polls: Vec<_> = (0..10)
        .map(|_| {
            let mut client = client.clone();
            tokio::spawn(async move { client.get("/auth/poll?wait=3").await })
        })
        .collect();
    let mut statuses = Vec::new();
    for poll in polls {
        let answer = poll.await.unwrap();
        if answer.status == 429 {
            assert_eq!(answer.header("retry-after"), Some("1"));
            assert!(answer.json()["message"].is_string());
        }
        statuses.push(answer.status);
    }
    statuses.sort();
    assert_eq!(statuses, [200, 200, 200, 200, 429, 429, 429, 429, 429, 429]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ended_login_is_answered_without_asking_iampass_again() {
    let emulator = emulator().await;
    user_with_phone(&emulator, "rex").await;
    let app = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    client.start_login("rex", None).await;
    let pending_cookie = client.cookie.clone();
    act_on_pending(&emulator, "rex", SessionAction::Deny).await;
    assert_eq!(client.poll_until_done().await.json()["status"], "failed");
    let calls = status_calls(&emulator).await;
    // The same pending cookie again (a replay, a second tab): answered from memory.
    let mut replay = client.clone();
    replay.cookie = pending_cookie;
    let again = replay.get("/auth/poll?wait=5").await;
    assert_eq!(again.json()["status"], "failed");
    assert!(again.elapsed < Duration::from_secs(1));
    assert_eq!(status_calls(&emulator).await, calls);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_cookie_is_exchanged_once() {
    let emulator = emulator().await;
    user_with_phone(&emulator, "sol").await;
    let app = start_app(builder(&emulator).build().unwrap());
    let mut first = Client::new(&app);
    first.start_login("sol", Some("/dashboard")).await;
    let mut second = first.clone();
    act_on_pending(&emulator, "sol", SessionAction::Approve).await;
    let (a, b) = tokio::join!(
        first.get("/auth/poll?wait=5"),
        second.get("/auth/poll?wait=5")
    );
    let mut outcomes = [a.json()["status"].clone(), b.json()["status"].clone()];
    outcomes.sort_by_key(|s| s.to_string());
    assert_eq!(outcomes, [json!("active"), json!("exchanged")]);
    let (winner, loser) = if a.status == 200 {
        (first, second)
    } else {
        (second, first)
    };
    let mut winner = winner;
    let mut loser = loser;
    assert_eq!(winner.get("/dashboard").await.body, "hi sol");
    // The loser still holds only the pending cookie: no identity, and polling again gets nothing.
    assert_ne!(loser.get("/dashboard").await.status, 200);
    assert_eq!(loser.get("/auth/poll").await.status, 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_that_are_not_about_the_session_never_sign_out() {
    let emulator = emulator().await;
    let app = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    sign_in(&emulator, &mut client, "tia").await;
    for status in [408, 429, 401, 403, 400] {
        emulator
            .set_faults(every_call_fails_with(status))
            .await
            .unwrap();
        let answer = client.get("/dashboard").await;
        assert_eq!(answer.status, 503, "IAMPASS {status}");
        assert!(
            client.cookie.is_some(),
            "IAMPASS {status} removed the cookie"
        );
        emulator.set_faults(Faults::default()).await.unwrap();
        eventually("recovery", || {
            let mut client = client.clone();
            async move { client.get("/dashboard").await.body == "hi tia" }
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_security_headers_and_no_inline_script() {
    let emulator = emulator().await;
    let app = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    let page = client.get_html("/auth/login").await;
    let csp = page.header("content-security-policy").unwrap().to_owned();
    for needle in [
        "script-src 'self'",
        "frame-ancestors 'none'",
        "default-src 'none'",
    ] {
        assert!(csp.contains(needle), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(page.header("referrer-policy"), Some("same-origin"));
    assert!(!page.body.contains("<script>"), "no inline script");
    let script = client.get("/auth/login.js").await;
    assert_eq!(script.status, 200);
    assert!(
        script
            .header("content-type")
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(script.body.contains("poll"));
    // The wait page and refusals are pages too.
    let refused = client.post_form("/auth/login", &[("user", "")]).await;
    assert!(refused.header("content-security-policy").is_some());

    let app = start_app(builder(&emulator).security_headers(false).build().unwrap());
    let page = Client::new(&app).get_html("/auth/login").await;
    assert!(page.header("content-security-policy").is_none());
    assert!(page.header("x-frame-options").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_finishes_is_cut_off() {
    let emulator = emulator().await;
    let app = start_app(
        builder(&emulator)
            .body_timeout(Duration::from_millis(300))
            .build()
            .unwrap(),
    );
    let address = app.url.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /auth/login HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Accept: application/json\r\nContent-Length: 100\r\n\r\n{{\"user\":"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    let mut answer = vec![0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut answer))
        .await
        .expect("an answer before the body is complete")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_login_ends_the_previous_one_of_the_browser() {
    let emulator = emulator().await;
    user_with_phone(&emulator, "uli").await;
    let app = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    client.start_login("uli", None).await;
    let first = session_of(&emulator, "uli", Status::Pending).await;
    client.start_login("uli", None).await;
    eventually("the first request to leave the phone", || async {
        emulator
            .sessions(Some(APP), Some("uli"))
            .await
            .unwrap()
            .iter()
            .any(|s| s.session_token == first && s.session_status == Status::Closed)
    })
    .await;
    let pending: Vec<_> = emulator
        .sessions(Some(APP), Some("uli"))
        .await
        .unwrap()
        .into_iter()
        .filter(|s| s.session_status == Status::Pending)
        .collect();
    assert_eq!(pending.len(), 1, "one request at a time on the phone");

    // Signed in, then signing in again: the old IAMPASS session ends.
    let mut signed = Client::new(&app);
    sign_in(&emulator, &mut signed, "vic").await;
    let old = session_of(&emulator, "vic", Status::Active).await;
    signed.start_login("vic", None).await;
    eventually("the old session to close", || async {
        emulator
            .sessions(Some(APP), Some("vic"))
            .await
            .unwrap()
            .iter()
            .any(|s| s.session_token == old && s.session_status == Status::Closed)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_names_are_trimmed_and_failures_carry_a_message() {
    let emulator = emulator().await;
    user_with_phone(&emulator, "wes").await;
    let app = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    let started = client.post_login("  wes \t").await;
    assert_eq!(started.status, 202, "{}", started.body);
    session_of(&emulator, "wes", Status::Pending).await;
    for user in ["", "   ", &"x".repeat(300)] {
        let refused = Client::new(&app).post_login(user).await;
        assert_eq!(refused.status, 400);
        assert!(
            refused.json()["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    // An unknown name gets the public mode's decoy (issue 9.3), whose end carries the one
    // generic message (tests/actix/public_login.rs).
    let unknown = Client::new(&app).post_login("nobody-here").await;
    assert_eq!(unknown.status, 202, "{}", unknown.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_address_limit_sees_through_trusted_proxies_only() {
    let emulator = emulator().await;
    for user in ["xa", "xb", "xc", "xd", "xe"] {
        user_with_phone(&emulator, user).await;
    }
    let limited = |b: iampass::actix::IampassBuilder| {
        b.rate_limit_per_user(None)
            .rate_limit_per_address(Rate::new(2, Duration::from_secs(600)))
    };
    let forwarded = |client: &mut Client, address: &str| {
        client.extra = vec![("x-forwarded-for".into(), format!("6.6.6.6, {address}"))];
    };
    // Behind a trusted proxy (the test client is on 127.0.0.1): each client has its own limit.
    let app = start_app(
        limited(builder(&emulator))
            .trusted_proxies("127.0.0.1/32".parse::<TrustedProxies>().unwrap())
            .build()
            .unwrap(),
    );
    let mut one = Client::new(&app);
    forwarded(&mut one, "203.0.113.1");
    assert_eq!(one.post_login("xa").await.status, 202);
    assert_eq!(one.post_login("xb").await.status, 202);
    assert_eq!(one.post_login("xc").await.status, 429);
    let mut two = Client::new(&app);
    forwarded(&mut two, "203.0.113.2");
    assert_eq!(two.post_login("xd").await.status, 202);

    // Without trust the header is ignored: everyone is the proxy.
    let app = start_app(limited(builder(&emulator)).build().unwrap());
    let mut one = Client::new(&app);
    forwarded(&mut one, "203.0.113.1");
    assert_eq!(one.post_login("xa").await.status, 202);
    let mut two = Client::new(&app);
    forwarded(&mut two, "203.0.113.2");
    assert_eq!(two.post_login("xb").await.status, 202);
    assert_eq!(two.post_login("xe").await.status, 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secure_cookie_over_plain_http_is_explained() {
    let emulator = emulator().await;
    let app = start_app(builder(&emulator).cookie_secure(true).build().unwrap());
    let mut lan = Client::new(&app);
    lan.extra = vec![("host".into(), "notes.lan:8080".into())];
    let page = lan.get_html("/auth/login").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("plain HTTP"), "{}", page.body);
    // On loopback browsers keep Secure cookies over HTTP: nothing to say.
    let page = Client::new(&app).get_html("/auth/login").await;
    assert!(!page.body.contains("plain HTTP"));
    // Nor when the cookie is not Secure.
    let app = start_app(builder(&emulator).build().unwrap());
    let mut lan = Client::new(&app);
    lan.extra = vec![("host".into(), "notes.lan:8080".into())];
    assert!(
        !lan.get_html("/auth/login")
            .await
            .body
            .contains("plain HTTP")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_tells_away_unavailable_and_anonymous_apart() {
    let emulator = emulator().await;
    let app = start_app(builder(&emulator).build().unwrap());
    let mut client = Client::new(&app);
    assert_eq!(client.get("/presence").await.body, "anonymous");
    sign_in(&emulator, &mut client, "yan").await;
    assert_eq!(client.get("/presence").await.body, "signed in as yan");
    let token = session_of(&emulator, "yan", Status::Active).await;
    session_action(&emulator, &token, SessionAction::Walkaway).await;
    assert_eq!(client.get("/presence").await.body, "away");
    // A walked-away browser gets a locked page, not the generic sign-in.
    let locked = client.get_html("/dashboard").await;
    assert_eq!(locked.status, 403);
    assert!(
        locked.body.contains("Locked: your phone is away"),
        "{}",
        locked.body
    );
    session_action(&emulator, &token, SessionAction::Return).await;
    emulator
        .set_faults(every_call_fails_with(503))
        .await
        .unwrap();
    assert_eq!(client.get("/presence").await.body, "unavailable");
    emulator.set_faults(Faults::default()).await.unwrap();
}
