//! The emulator over real HTTP on loopback: the crate's own client through every call,
//! signature checks, the control API, behaviour automation, faults, counters, the phone page,
//! the binary and the reference Python client.

use std::future::Future;
use std::time::{Duration, Instant};

use iampass::emulator::{Behaviour, Emulator, Faults, RunningEmulator, SessionAction};
use iampass::signing::{
    self, AUTHENTICATION_HEADER, TIMESTAMP_HEADER, VERSION_HEADER, VERSION_HEADER_ALT,
};
use iampass::{
    AddUserResult, AddedUsers, AuthenticationMethod, DeviceRegistration, Error, ManagementApi,
    Secret, Session, Status, quote_plus,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[path = "emulator/browser.rs"]
mod browser;
#[path = "common/chromium.rs"]
mod chromium;
#[path = "common/emulator_control.rs"]
mod emulator_control;

use emulator_control::*;

const APP: &str = "app-1";
const SECRET: &str = "secret-1";
const APP2: &str = "app-2";
const SECRET2: &str = "secret-2";

/// Longest any awaited state change may take before a test fails.
const DEADLINE: Duration = Duration::from_secs(10);

async fn emulator() -> RunningEmulator {
    Emulator::builder()
        .application(APP, SECRET)
        .application(APP2, SECRET2)
        .start()
        .await
        .expect("emulator starts")
}

/// An emulator of [`APP`] alone, where a request nobody answers times out after
/// `pending_timeout`.
async fn emulator_timing_out_after(pending_timeout: Duration) -> RunningEmulator {
    Emulator::builder()
        .application(APP, SECRET)
        .pending_timeout(pending_timeout)
        .start()
        .await
        .expect("emulator starts")
}

/// Polls `check` until it holds, failing the test after [`DEADLINE`].
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + DEADLINE;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls the session's status through the wire API until it is `expected`.
async fn await_status(session: &mut Session, expected: Status) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let status = session.get_status().await.expect("status call works");
        if status == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "session stayed {status}, expected {expected}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Adds the user and registers a phone for them.
async fn user_with_phone(emulator: &RunningEmulator, app: &str, user: &str) {
    let management = emulator.management_api(app).unwrap();
    management.add_user(user).await.unwrap();
    emulator.register_device(app, user).await.unwrap();
}

async fn start_session(emulator: &RunningEmulator, app: &str, user: &str) -> (Session, String) {
    let session = emulator
        .authentication_api(app)
        .unwrap()
        .authenticate_user(user)
        .await
        .unwrap();
    assert_eq!(session.session_status(), Status::Pending, "{session:?}");
    let token = session.session_token().unwrap().to_owned();
    (session, token)
}

/// A request signed like the reference client signs, with a chosen nonce and timestamp.
fn signed_at(
    http: &reqwest::Client,
    method: Method,
    url: &str,
    client_id: &str,
    secret: &str,
    nonce: u64,
    timestamp: u64,
) -> reqwest::RequestBuilder {
    let url = reqwest::Url::parse(url).unwrap();
    let h = signing::sign(
        client_id,
        &Secret::new(secret),
        url.as_str(),
        nonce,
        timestamp,
    );
    http.request(method, url)
        .header(AUTHENTICATION_HEADER, h.authentication)
        .header(TIMESTAMP_HEADER, h.timestamp)
        .header(VERSION_HEADER, h.version)
        .header("Content-Type", "application/json")
}

fn signed(
    http: &reqwest::Client,
    method: Method,
    url: &str,
    client_id: &str,
    secret: &str,
) -> reqwest::RequestBuilder {
    signed_at(
        http,
        method,
        url,
        client_id,
        secret,
        rand::random(),
        signing::unix_now(),
    )
}

/// The body of the page at `url`.
async fn get_text(http: &reqwest::Client, url: impl reqwest::IntoUrl) -> String {
    http.get(url).send().await.unwrap().text().await.unwrap()
}

/// Whether `user` has a phone, as the management API says.
async fn registration_of(management: &ManagementApi, user: &str) -> DeviceRegistration {
    management.has_registered_mobile_device(user).await.unwrap()
}

/// The response's `Content-Type`.
fn content_type(response: &reqwest::Response) -> &str {
    response.headers()["content-type"].to_str().unwrap()
}

async fn status_and_text(request: reqwest::RequestBuilder) -> (StatusCode, String) {
    let response = request.send().await.expect("request reaches the emulator");
    let status = response.status();
    (status, response.text().await.unwrap())
}

async fn control(
    http: &reqwest::Client,
    method: Method,
    url: String,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = http.request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

fn http_status(result: Result<impl std::fmt::Debug, Error>) -> u16 {
    match result {
        Err(Error::Http { status, .. }) => status,
        other => panic!("expected an HTTP error, got {other:?}"),
    }
}

#[tokio::test]
async fn the_client_through_every_management_call() {
    let emulator = emulator().await;
    let management = emulator.management_api(APP).unwrap();

    assert_eq!(
        management
            .add_users(&["alice", "bob", "alice"])
            .await
            .unwrap(),
        AddedUsers {
            created: vec!["alice".into(), "bob".into()],
            existing: vec![]
        }
    );
    assert_eq!(
        management.add_users(&["bob", "carol"]).await.unwrap(),
        AddedUsers {
            created: vec!["carol".into()],
            existing: vec!["bob".into()]
        }
    );
    assert_eq!(
        management.add_user("alice").await.unwrap(),
        AddUserResult::UserExists
    );
    assert_eq!(
        management.add_user("dave").await.unwrap(),
        AddUserResult::Success
    );

    // Registration link: opens the phone page; using it registers the phone, once.
    assert_eq!(
        registration_of(&management, "alice").await,
        DeviceRegistration::NoMobileDevice
    );
    let link = management
        .get_registration_link("alice", Some("Alice Liddell"))
        .await
        .unwrap();
    let prefix = format!("{}/phone/register/", emulator.base_url());
    assert!(link.starts_with(&prefix), "{link}");
    let http = reqwest::Client::new();
    let page = http.get(&link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Alice Liddell"), "{html}");
    assert!(html.contains(r#"<button type="button" data-action="register""#));
    let token = &link[prefix.len()..];
    let register = format!("{}/_emulator/registrations/{token}", emulator.base_url());
    let (status, body) = control(&http, Method::POST, register.clone(), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"], "alice");
    assert_eq!(
        registration_of(&management, "alice").await,
        DeviceRegistration::HasMobileDevice
    );
    let (status, _) = control(&http, Method::POST, register, None).await;
    assert_eq!(status, StatusCode::GONE, "a link works once");
    let html = get_text(&http, &link).await;
    assert!(html.contains("already used"));
    assert!(!html.contains(r#"<button type="button" data-action="register""#));

    // SMS: lands in the outbox with the link appended.
    management
        .send_registration_sms("bob", Some("Bob"), "+15551234567", Some("Welcome!"))
        .await
        .unwrap();
    management
        .send_registration_sms("carol", None, "+447700900123", None)
        .await
        .unwrap();
    let refused = management
        .send_registration_sms("bob", None, "not a number", None)
        .await;
    assert!(
        matches!(refused, Err(Error::Refused { ref reason }) if reason.as_deref() == Some("INVALID_PHONE_NUMBER")),
        "{refused:?}"
    );
    let sms = emulator.sms().await.unwrap();
    assert_eq!(sms.len(), 2);
    assert_eq!((sms[0].app_id.as_str(), sms[0].user.as_str()), (APP, "bob"));
    assert_eq!(sms[0].phone_number, "+15551234567");
    assert!(sms[0].register_url.starts_with(&prefix));
    assert_eq!(sms[0].message, format!("Welcome! {}", sms[0].register_url));
    assert!(sms[1].message.ends_with(&sms[1].register_url));
    // The SMS link registers the phone too.
    let token = &sms[0].register_url[prefix.len()..];
    let (status, _) = control(
        &http,
        Method::POST,
        format!("{}/_emulator/registrations/{token}", emulator.base_url()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        registration_of(&management, "bob").await,
        DeviceRegistration::HasMobileDevice
    );

    // Lost phone: disabled, a new link issued, older links revoked.
    let old_link = management.get_registration_link("bob", None).await.unwrap();
    let new_link = management.lost_user_mobile_device("bob").await.unwrap();
    assert!(new_link.starts_with(&prefix) && new_link != old_link);
    assert_eq!(
        registration_of(&management, "bob").await,
        DeviceRegistration::NoMobileDevice
    );
    let (status, _) = control(
        &http,
        Method::POST,
        format!(
            "{}/_emulator/registrations/{}",
            emulator.base_url(),
            &old_link[prefix.len()..]
        ),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::GONE, "older links die with the phone");

    // Unknown users on management routes are 404s.
    for result in [
        management
            .get_registration_link("zed", None)
            .await
            .map(drop),
        management
            .send_registration_sms("zed", None, "+15551234567", None)
            .await,
        management
            .has_registered_mobile_device("zed")
            .await
            .map(drop),
        management.lost_user_mobile_device("zed").await.map(drop),
    ] {
        let err = result.unwrap_err();
        assert!(err.is_not_found(), "{err:?}");
    }

    // Deleting users; deleting unknown users is harmless.
    management.delete_users(&["carol", "nobody"]).await.unwrap();
    management.delete_user("dave").await.unwrap();
    assert!(
        management
            .has_registered_mobile_device("carol")
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert_eq!(
        management.add_user("carol").await.unwrap(),
        AddUserResult::Success
    );
    let apps = emulator.applications().await.unwrap();
    let app = apps.iter().find(|a| a.app_id == APP).unwrap();
    assert_eq!(app.users, 3, "{apps:?}"); // alice, bob, carol (again); dave deleted
    emulator.shutdown().await;
}

#[tokio::test]
async fn authentication_through_the_client_status_and_logout() {
    let emulator = emulator().await;
    let auth = emulator.authentication_api(APP).unwrap();
    let management = emulator.management_api(APP).unwrap();

    // Did not start: unknown user, user without phone.
    let s = auth.authenticate_user("ghost").await.unwrap();
    assert_eq!(
        (s.session_status(), s.failure_reason()),
        (Status::Failed, Some("UNKNOWN_USER"))
    );
    assert!(s.session_token().is_none());
    management.add_user("alice").await.unwrap();
    let s = auth.authenticate_user("alice").await.unwrap();
    assert_eq!(
        (s.session_status(), s.failure_reason()),
        (Status::Failed, Some("NO_MOBILE_DEVICE"))
    );
    assert_eq!(
        serde_json::from_str::<Value>(&s.to_json()).unwrap(),
        json!({"session_token": null, "session_secret": null, "logout_url": null,
               "status_url": null, "failure_reason": "NO_MOBILE_DEVICE", "session_status": "failed"})
    );

    emulator.register_device(APP, "alice").await.unwrap();
    let mut session = auth
        .authenticate_user_with(
            "alice",
            &[AuthenticationMethod::Facial, AuthenticationMethod::Device],
            Some(Duration::from_secs(600)),
        )
        .await
        .unwrap();
    assert_eq!(session.session_status(), Status::Pending);
    let token = session.session_token().unwrap().to_owned();
    assert_eq!(
        session.status_url().unwrap(),
        format!("{}/authentication/status/{token}", emulator.base_url())
    );
    assert_eq!(
        session.logout_url().unwrap(),
        format!("{}/authentication/logout/{token}", emulator.base_url())
    );
    let listed = emulator.sessions(Some(APP), Some("alice")).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].session_token, token);
    assert_eq!(
        listed[0].methods,
        vec![AuthenticationMethod::Facial, AuthenticationMethod::Device]
    );
    assert_eq!(session.get_status().await.unwrap(), Status::Pending);

    // The session JSON survives a round trip and still works.
    let mut restored = auth.attach(Session::from_json(&session.to_json()).unwrap());
    session_action(&emulator, &token, SessionAction::Approve).await;
    assert_eq!(restored.get_status().await.unwrap(), Status::Active);
    assert!(restored.active());
    restored.destroy().await.unwrap();
    assert_eq!(session.get_status().await.unwrap(), Status::Closed);
    // Logging out again is harmless.
    session.destroy().await.unwrap();
    assert_eq!(session.get_status().await.unwrap(), Status::Closed);

    // Default methods.
    let (_, token) = start_session(&emulator, APP, "alice").await;
    let listed = emulator.sessions(Some(APP), Some("alice")).await.unwrap();
    let s = listed.iter().find(|s| s.session_token == token).unwrap();
    assert_eq!(s.methods, vec![AuthenticationMethod::Acceptance]);
    emulator.shutdown().await;
}

#[tokio::test]
async fn every_session_transition_through_the_control_api() {
    let emulator = emulator().await;
    user_with_phone(&emulator, APP, "alice").await;
    let act = |token: String, action| {
        let emulator = &emulator;
        async move { emulator.session_action(&token, action).await }
    };

    // pending → identifying → active ↔ walkaway → closed
    let (mut session, t) = start_session(&emulator, APP, "alice").await;
    assert_eq!(
        act(t.clone(), SessionAction::Identify).await.unwrap(),
        Status::Identifying
    );
    assert_eq!(session.get_status().await.unwrap(), Status::Identifying);
    assert_eq!(
        act(t.clone(), SessionAction::Approve).await.unwrap(),
        Status::Active
    );
    assert_eq!(
        act(t.clone(), SessionAction::Walkaway).await.unwrap(),
        Status::Walkaway
    );
    assert_eq!(session.get_status().await.unwrap(), Status::Walkaway);
    assert_eq!(
        act(t.clone(), SessionAction::Return).await.unwrap(),
        Status::Active
    );
    assert_eq!(session.get_status().await.unwrap(), Status::Active);
    assert_eq!(
        act(t.clone(), SessionAction::Close).await.unwrap(),
        Status::Closed
    );
    assert_eq!(session.get_status().await.unwrap(), Status::Closed);
    // Illegal transitions are 409s; unknown tokens 404s.
    for action in SessionAction::ALL {
        assert_eq!(http_status(act(t.clone(), action).await), 409, "{action}");
    }
    assert_eq!(
        http_status(act("no-such-token".into(), SessionAction::Approve).await),
        404
    );

    // pending → failed / cancelled / timeout; identifying → the same.
    for (action, expected) in [
        (SessionAction::Deny, Status::Failed),
        (SessionAction::Cancel, Status::Cancelled),
        (SessionAction::Timeout, Status::Timeout),
    ] {
        for identify_first in [false, true] {
            let (mut session, t) = start_session(&emulator, APP, "alice").await;
            if identify_first {
                act(t.clone(), SessionAction::Identify).await.unwrap();
            }
            assert_eq!(act(t.clone(), action).await.unwrap(), expected);
            assert_eq!(session.get_status().await.unwrap(), expected);
            assert!(session.failed());
            assert_eq!(
                http_status(act(t.clone(), SessionAction::Close).await),
                409,
                "{expected} is final"
            );
        }
    }
    // walkaway → closed; pending → closed.
    let (mut session, t) = start_session(&emulator, APP, "alice").await;
    act(t.clone(), SessionAction::Approve).await.unwrap();
    act(t.clone(), SessionAction::Walkaway).await.unwrap();
    assert_eq!(
        http_status(act(t.clone(), SessionAction::Walkaway).await),
        409
    );
    session.destroy().await.unwrap();
    assert_eq!(session.get_status().await.unwrap(), Status::Closed);
    let (mut session, t) = start_session(&emulator, APP, "alice").await;
    assert_eq!(
        http_status(act(t.clone(), SessionAction::Return).await),
        409
    );
    act(t.clone(), SessionAction::Close).await.unwrap();
    assert_eq!(session.get_status().await.unwrap(), Status::Closed);
    emulator.shutdown().await;
}

#[tokio::test]
async fn unanswered_requests_time_out_and_sessions_expire() {
    let emulator = emulator_timing_out_after(Duration::from_millis(1000)).await;
    user_with_phone(&emulator, APP, "alice").await;
    let started = Instant::now();
    let (mut session, _) = start_session(&emulator, APP, "alice").await;
    await_status(&mut session, Status::Timeout).await;
    assert!(started.elapsed() >= Duration::from_millis(1000));
    assert!(session.failed());

    // An identifying request times out too.
    let (mut session, t) = start_session(&emulator, APP, "alice").await;
    session_action(&emulator, &t, SessionAction::Identify).await;
    await_status(&mut session, Status::Timeout).await;

    // duration_seconds elapsed → closed.
    let auth = emulator.authentication_api(APP).unwrap();
    let mut session = auth
        .authenticate_user_with("alice", &[], Some(Duration::from_secs(2)))
        .await
        .unwrap();
    let t = session.session_token().unwrap().to_owned();
    session_action(&emulator, &t, SessionAction::Approve).await;
    assert_eq!(session.get_status().await.unwrap(), Status::Active);
    await_status(&mut session, Status::Closed).await;
    emulator.shutdown().await;
}

#[tokio::test]
async fn deleting_the_user_or_losing_the_phone_closes_sessions() {
    let emulator = emulator().await;
    let management = emulator.management_api(APP).unwrap();
    let auth = emulator.authentication_api(APP).unwrap();
    user_with_phone(&emulator, APP, "alice").await;
    user_with_phone(&emulator, APP, "bob").await;

    let (mut active, t) = start_session(&emulator, APP, "alice").await;
    session_action(&emulator, &t, SessionAction::Approve).await;
    let (mut pending, _) = start_session(&emulator, APP, "alice").await;
    let (mut other, _) = start_session(&emulator, APP, "bob").await;
    management.lost_user_mobile_device("alice").await.unwrap();
    assert_eq!(active.get_status().await.unwrap(), Status::Closed);
    assert_eq!(pending.get_status().await.unwrap(), Status::Closed);
    assert_eq!(other.get_status().await.unwrap(), Status::Pending);
    let s = auth.authenticate_user("alice").await.unwrap();
    assert_eq!(s.failure_reason(), Some("NO_MOBILE_DEVICE"));

    let t = other.session_token().unwrap().to_owned();
    session_action(&emulator, &t, SessionAction::Approve).await;
    assert_eq!(other.get_status().await.unwrap(), Status::Active);
    management.delete_user("bob").await.unwrap();
    assert_eq!(other.get_status().await.unwrap(), Status::Closed);
    let s = auth.authenticate_user("bob").await.unwrap();
    assert_eq!(s.failure_reason(), Some("UNKNOWN_USER"));
    emulator.shutdown().await;
}

#[tokio::test]
async fn applications_are_isolated() {
    let emulator = emulator().await;
    user_with_phone(&emulator, APP, "alice").await;
    let m2 = emulator.management_api(APP2).unwrap();
    assert!(
        m2.has_registered_mobile_device("alice")
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert_eq!(m2.add_user("alice").await.unwrap(), AddUserResult::Success);
    assert_eq!(
        m2.has_registered_mobile_device("alice").await.unwrap(),
        DeviceRegistration::NoMobileDevice
    );
    let (_, t1) = start_session(&emulator, APP, "alice").await;
    let s2 = emulator
        .authentication_api(APP2)
        .unwrap()
        .authenticate_user("alice")
        .await
        .unwrap();
    assert_eq!(s2.failure_reason(), Some("NO_MOBILE_DEVICE"));
    assert!(
        emulator
            .sessions(Some(APP2), None)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        emulator.sessions(Some(APP), None).await.unwrap()[0].session_token,
        t1
    );
    m2.send_registration_sms("alice", None, "+15551234567", None)
        .await
        .unwrap();
    let sms = emulator.sms().await.unwrap();
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0].app_id, APP2);

    // One application's credentials open nothing of another's.
    let http = reqwest::Client::new();
    let url = format!(
        "{}/management/has_registered_mobile_device/{APP}/alice",
        emulator.base_url()
    );
    let (status, _) = status_and_text(signed(&http, Method::GET, &url, APP2, SECRET2)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = status_and_text(signed(&http, Method::GET, &url, APP, SECRET2)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Applications added at run time, through the library and the control API.
    emulator.add_application("app-3", "secret-3");
    let m3 = emulator.management_api("app-3").unwrap();
    assert_eq!(m3.add_user("x").await.unwrap(), AddUserResult::Success);
    let (status, body) = control(
        &http,
        Method::POST,
        format!("{}/_emulator/applications", emulator.base_url()),
        Some(json!({"app_id": "app-4", "secret": "secret-4"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let m4 = iampass::ManagementApi::builder("app-4", "secret-4")
        .server(emulator.base_url())
        .build()
        .unwrap();
    assert_eq!(m4.add_user("y").await.unwrap(), AddUserResult::Success);
    let apps = emulator.applications().await.unwrap();
    let ids: Vec<(&str, usize)> = apps.iter().map(|a| (a.app_id.as_str(), a.users)).collect();
    assert_eq!(ids, vec![(APP, 1), (APP2, 1), ("app-3", 1), ("app-4", 1)]);
    emulator.shutdown().await;
}

#[tokio::test]
async fn signatures_are_verified() {
    let emulator = emulator().await;
    user_with_phone(&emulator, APP, "alice").await;
    let http = reqwest::Client::new();
    let base = emulator.base_url();
    let url = format!("{base}/management/has_registered_mobile_device/{APP}/alice");
    let now = signing::unix_now();
    let ok = |request: reqwest::RequestBuilder| async move {
        let (status, text) = status_and_text(request).await;
        assert_eq!(status, StatusCode::OK, "{text}");
    };
    let unauthorized = |request: reqwest::RequestBuilder, why: &'static str| async move {
        let (status, text) = status_and_text(request).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{why}: {text}");
        assert!(!text.is_empty());
    };

    // A request to `url` with these signature headers.
    let with_headers = |authentication: &str, timestamp: &str, version: &str| {
        http.get(&url)
            .header(AUTHENTICATION_HEADER, authentication)
            .header(TIMESTAMP_HEADER, timestamp)
            .header(VERSION_HEADER, version)
    };

    ok(signed(&http, Method::GET, &url, APP, SECRET)).await;
    unauthorized(
        signed(&http, Method::GET, &url, APP, "wrong"),
        "wrong secret",
    )
    .await;
    // Tampered signature.
    let u = reqwest::Url::parse(&url).unwrap();
    let h = signing::sign(APP, &Secret::new(SECRET), u.as_str(), 7, now);
    let tampered = h.authentication.replace(":7:", ":8:");
    unauthorized(with_headers(&tampered, &h.timestamp, "1"), "bad signature").await;
    // Signed for another path.
    let other = format!("{base}/management/has_registered_mobile_device/{APP}/bob");
    let h = signing::sign(
        APP,
        &Secret::new(SECRET),
        &other,
        rand::random(),
        signing::unix_now(),
    );
    unauthorized(
        with_headers(&h.authentication, &h.timestamp, "1"),
        "signed for another URL",
    )
    .await;
    // Timestamps: inside the window fine, outside refused either way.
    let signed_at_time = |timestamp| {
        signed_at(
            &http,
            Method::GET,
            &url,
            APP,
            SECRET,
            rand::random(),
            timestamp,
        )
    };
    ok(signed_at_time(now - 200)).await;
    ok(signed_at_time(now + 200)).await;
    unauthorized(signed_at_time(now - 400), "stale").await;
    unauthorized(signed_at_time(now + 400), "future").await;
    // Replay: the very same signed request twice.
    let nonce = rand::random();
    ok(signed_at(&http, Method::GET, &url, APP, SECRET, nonce, now)).await;
    unauthorized(
        signed_at(&http, Method::GET, &url, APP, SECRET, nonce, now),
        "replayed nonce",
    )
    .await;
    // Missing headers, one at a time and all.
    let u = reqwest::Url::parse(&url).unwrap();
    for missing in [
        AUTHENTICATION_HEADER,
        TIMESTAMP_HEADER,
        VERSION_HEADER,
        "all",
    ] {
        let h = signing::sign_now(APP, &Secret::new(SECRET), u.as_str());
        let mut request = http.get(&url);
        if missing != AUTHENTICATION_HEADER && missing != "all" {
            request = request.header(AUTHENTICATION_HEADER, h.authentication);
        }
        if missing != TIMESTAMP_HEADER && missing != "all" {
            request = request.header(TIMESTAMP_HEADER, h.timestamp);
        }
        if missing != VERSION_HEADER && missing != "all" {
            request = request.header(VERSION_HEADER, "1");
        }
        unauthorized(request, missing).await;
    }
    // Malformed header values.
    for (auth, ts, version) in [
        ("Basic abc", "0", "1"),
        ("hmac app-1:notanumber:abc", "0", "1"),
        ("hmac app-1:1:abc", "yesterday", "1"),
        ("hmac app-1:1:abc", "0", "2"),
    ] {
        unauthorized(with_headers(auth, ts, version), "malformed").await;
    }
    // The correctly spelled version header is accepted too.
    let h = signing::sign_now(APP, &Secret::new(SECRET), u.as_str());
    ok(http
        .get(&url)
        .header(AUTHENTICATION_HEADER, h.authentication)
        .header(TIMESTAMP_HEADER, h.timestamp)
        .header(VERSION_HEADER_ALT, "1"))
    .await;

    // Status and logout are signed with the session's credentials, not the application's.
    let (session, token) = start_session(&emulator, APP, "alice").await;
    let status_url = session.status_url().unwrap().to_owned();
    let secret = session.session_secret().unwrap().expose().to_owned();
    ok(signed(&http, Method::GET, &status_url, &token, &secret)).await;
    unauthorized(
        signed(&http, Method::GET, &status_url, APP, SECRET),
        "status with app credentials",
    )
    .await;
    unauthorized(
        signed(&http, Method::GET, &status_url, &token, "wrong"),
        "status with a wrong secret",
    )
    .await;
    let nonce = rand::random();
    ok(signed_at(
        &http,
        Method::GET,
        &status_url,
        &token,
        &secret,
        nonce,
        now,
    ))
    .await;
    unauthorized(
        signed_at(&http, Method::GET, &status_url, &token, &secret, nonce, now),
        "replayed status",
    )
    .await;
    let logout_url = session.logout_url().unwrap().to_owned();
    unauthorized(
        signed(&http, Method::POST, &logout_url, &token, "wrong"),
        "logout with a wrong secret",
    )
    .await;
    let (status, text) =
        status_and_text(signed(&http, Method::POST, &logout_url, &token, &secret)).await;
    assert_eq!(
        (status, text.as_str()),
        (StatusCode::OK, r#"{"status":true}"#)
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn unknown_things_and_bad_input_are_4xx_never_5xx() {
    let emulator = emulator().await;
    user_with_phone(&emulator, APP, "alice").await;
    let http = reqwest::Client::new();
    let base = emulator.base_url().to_owned();
    let expect = |request: reqwest::RequestBuilder, expected: u16, why: &'static str| async move {
        let (status, text) = status_and_text(request).await;
        assert_eq!(status.as_u16(), expected, "{why}: {text}");
    };
    // A request signed with the application's own credentials.
    let as_app = |method: Method, url: &str| signed(&http, method, url, APP, SECRET);

    // Unknown application and user: 404 in plain text.
    let url = format!("{base}/management/has_registered_mobile_device/nope/alice");
    expect(
        signed(&http, Method::GET, &url, "nope", "x"),
        404,
        "unknown app",
    )
    .await;
    let url = format!("{base}/management/has_registered_mobile_device/{APP}/zed");
    let response = as_app(Method::GET, &url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(content_type(&response).starts_with("text/plain"));
    let url = format!("{base}/authentication/status/no-such-token");
    expect(
        signed(&http, Method::GET, &url, "no-such-token", "x"),
        404,
        "unknown session",
    )
    .await;
    expect(
        http.get(format!("{base}/management/nothing")),
        404,
        "no route",
    )
    .await;
    expect(
        as_app(Method::GET, &format!("{base}/management/add_users/{APP}")),
        405,
        "wrong method",
    )
    .await;

    // Malformed bodies: 400.
    let add = format!("{base}/management/add_users/{APP}");
    for body in [
        "",
        "{",
        "[]",
        r#"{"users": "alice"}"#,
        r#"{"users": [1, 2]}"#,
        r#"{"nobody": []}"#,
    ] {
        expect(
            as_app(Method::POST, &add).body(body),
            400,
            "malformed add_users body",
        )
        .await;
    }
    let sms = format!("{base}/management/send_registration_sms/{APP}/alice");
    for body in ["{}", r#"{"phone_number": 5}"#, "nonsense"] {
        expect(
            as_app(Method::POST, &sms).body(body),
            400,
            "malformed sms body",
        )
        .await;
    }
    let authenticate = format!("{base}/authentication/authenticate_user/{APP}/alice");
    expect(
        as_app(Method::POST, &authenticate).body("{not json"),
        400,
        "malformed authenticate body",
    )
    .await;
    // An empty body is as good as `{}`.
    expect(
        as_app(Method::POST, &authenticate),
        202,
        "authenticate without body",
    )
    .await;
    // Bad queries: 400.
    for query in [
        "methods=fingerprint",
        "methods=acceptance,retina",
        "duration_seconds=abc",
        "duration_seconds=-5",
        "duration_seconds=0",
        "duration_seconds=1.5",
        "duration_seconds=%FF",
    ] {
        expect(
            as_app(Method::POST, &format!("{authenticate}?{query}")).body("{}"),
            400,
            "bad query",
        )
        .await;
    }
    // Good queries.
    let query = "methods=acceptance,device,facial&duration_seconds=18446744073709551615";
    expect(
        as_app(Method::POST, &format!("{authenticate}?{query}")).body("{}"),
        202,
        "good query",
    )
    .await;
    // Too large a body: 413.
    let huge = format!(r#"{{"users": ["{}"]}}"#, "x".repeat(100 * 1024));
    expect(as_app(Method::POST, &add).body(huge), 413, "body too large").await;
    // A path segment that is not UTF-8.
    let url = format!("{base}/management/has_registered_mobile_device/{APP}/%FF");
    expect(as_app(Method::GET, &url), 400, "not UTF-8").await;
    // An empty user id in add_users is refused, not an error.
    let (status, text) =
        status_and_text(as_app(Method::POST, &add).body(r#"{"users": [""]}"#)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        json!({"status": false, "reason": "INVALID_USER_ID"})
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn odd_user_ids_work_end_to_end() {
    let emulator = emulator().await;
    let management = emulator.management_api(APP).unwrap();
    let auth = emulator.authentication_api(APP).unwrap();
    let long = "ü".repeat(1000);
    let ids = [
        "MY USER 1",
        " padded ",
        "a+b",
        "a/b/c",
        "100%",
        "x@y.z",
        "q?uery=1&x#frag",
        "é unicode ✓ 日本語",
        "<script>alert(1)</script>",
        long.as_str(),
    ];
    for id in ids {
        assert_eq!(
            management.add_user(id).await.unwrap(),
            AddUserResult::Success,
            "{id}"
        );
        assert_eq!(
            registration_of(&management, id).await,
            DeviceRegistration::NoMobileDevice
        );
        let link = management
            .get_registration_link(id, Some(id))
            .await
            .unwrap();
        assert!(link.contains("/phone/register/"));
        emulator.register_device(APP, id).await.unwrap();
        assert_eq!(
            registration_of(&management, id).await,
            DeviceRegistration::HasMobileDevice
        );
        let mut session = auth.authenticate_user(id).await.unwrap();
        assert_eq!(session.session_status(), Status::Pending, "{id}");
        let listed = emulator.sessions(Some(APP), Some(id)).await.unwrap();
        assert_eq!(listed.len(), 1, "{id}");
        assert_eq!(listed[0].user, id);
        session_action(&emulator, &listed[0].session_token, SessionAction::Approve).await;
        assert_eq!(session.get_status().await.unwrap(), Status::Active);
        session.destroy().await.unwrap();
    }
    // The phone page shows them, escaped.
    let http = reqwest::Client::new();
    let html = get_text(&http, emulator.phone_url()).await;
    assert!(!html.contains("<script>alert(1)</script>"));
    assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
    assert!(html.contains("é unicode ✓ 日本語"));
    for id in ids {
        management.delete_user(id).await.unwrap();
    }
    assert_eq!(emulator.applications().await.unwrap()[0].users, 0);
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_control_api_over_http() {
    let emulator = emulator().await;
    let http = reqwest::Client::new();
    let base = emulator.base_url().to_owned();
    let c = |method: Method, path: &str, body: Option<Value>| {
        let url = format!("{base}{path}");
        let http = &http;
        async move { control(http, method, url, body).await }
    };

    let (status, apps) = c(Method::GET, "/_emulator/applications", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        apps,
        json!([{"app_id": APP, "users": 0}, {"app_id": APP2, "users": 0}])
    );
    assert!(!apps.to_string().contains(SECRET));
    for bad in [json!({"app_id": "", "secret": "s"}), json!({"app_id": "x"})] {
        let (status, body) = c(Method::POST, "/_emulator/applications", Some(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["error"].is_string());
    }

    // Devices: the user is created; segments are quote_plus-encoded.
    let user = "MY USER/1";
    let path = format!("/_emulator/devices/{APP}/{}", quote_plus(user));
    let (status, body) = c(Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"], user);
    let (status, _) = c(Method::POST, "/_emulator/devices/nope/x", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, devices) = c(Method::GET, "/_emulator/devices?app_id=app-1", None).await;
    assert_eq!(devices[0]["user"], user);

    // Sessions, filters, actions.
    let auth = emulator.authentication_api(APP).unwrap();
    let first = auth.authenticate_user(user).await.unwrap();
    user_with_phone(&emulator, APP, "other").await;
    let second = auth.authenticate_user("other").await.unwrap();
    let (_, all) = c(Method::GET, "/_emulator/sessions", None).await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert_eq!(all[0]["session_token"], first.session_token().unwrap());
    assert_eq!(all[1]["session_token"], second.session_token().unwrap());
    assert_eq!(
        all[0],
        json!({"session_token": first.session_token().unwrap(), "app_id": APP, "user": user,
               "session_status": "pending", "methods": ["acceptance"]})
    );
    let (_, filtered) = c(
        Method::GET,
        &format!("/_emulator/sessions?app_id={APP}&user={}", quote_plus(user)),
        None,
    )
    .await;
    assert_eq!(filtered.as_array().unwrap().len(), 1);
    let (_, none) = c(Method::GET, "/_emulator/sessions?app_id=app-2", None).await;
    assert_eq!(none, json!([]));
    let token = first.session_token().unwrap();
    let act = |action: &str| {
        c(
            Method::POST,
            &format!("/_emulator/sessions/{token}/{action}"),
            None,
        )
    };
    let (status, body) = act("approve").await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"session_status": "active"}))
    );
    let (status, body) = act("approve").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["session_status"], "active");
    assert!(body["error"].is_string());
    let (status, _) = act("dance").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = c(Method::POST, "/_emulator/sessions/nope/approve", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].is_string());
    let (status, one) = c(Method::GET, &format!("/_emulator/sessions/{token}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["session_status"], "active");

    // Behaviour.
    let path = format!("/_emulator/users/{APP}/{}/behaviour", quote_plus(user));
    let (status, body) = c(
        Method::PUT,
        &path,
        Some(json!({"respond": "deny", "after_ms": 0})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body) = c(Method::GET, &path, None).await;
    assert_eq!(body, json!({"respond": "deny", "after_ms": 0}));
    for bad in [
        json!({"respond": "shrug"}),
        json!({"after_ms": 5}),
        json!({"respond": "approve", "after_ms": -1}),
    ] {
        let (status, _) = c(Method::PUT, &path, Some(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    let s = auth.authenticate_user(user).await.unwrap();
    assert_eq!(s.session_status(), Status::Failed, "denied at once");

    // SMS, faults, stats.
    let (status, sms) = c(Method::GET, "/_emulator/sms", None).await;
    assert_eq!((status, sms), (StatusCode::OK, json!([])));
    let (status, body) = c(
        Method::PUT,
        "/_emulator/faults",
        Some(json!({"latency_ms": 0, "error_rate": 0.0, "error_status": 500})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["error_status"], 500);
    for bad in [
        json!({"error_rate": 2.0}),
        json!({"error_status": 42}),
        json!({"latency_ms": "slow"}),
    ] {
        let (status, _) = c(Method::PUT, "/_emulator/faults", Some(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    let (status, stats) = c(Method::GET, "/_emulator/stats", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stats["routes"]["authenticate_user"], 3);
    let (status, body) = c(Method::GET, "/_emulator/nothing", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].is_string());
    let (status, _) = c(Method::PUT, "/_emulator/faults", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "missing body");

    // The phone's JSON.
    let (status, phone) = c(Method::GET, "/_emulator/phone?app_id=app-1", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(phone["sessions"][0]["session_token"], token);
    assert_eq!(phone["pending"][0]["user"], "other");
    assert_eq!(phone["devices"].as_array().unwrap().len(), 2);
    emulator.shutdown().await;
}

#[tokio::test]
async fn scripted_phones_answer_by_themselves() {
    let emulator = emulator_timing_out_after(Duration::from_millis(1500)).await;
    let auth = emulator.authentication_api(APP).unwrap();
    for user in ["yes", "no", "silent"] {
        user_with_phone(&emulator, APP, user).await;
    }
    let after = Duration::from_millis(150);
    emulator
        .set_behaviour(APP, "yes", Behaviour::Approve { after })
        .await
        .unwrap();
    emulator
        .set_behaviour(APP, "no", Behaviour::Deny { after })
        .await
        .unwrap();
    emulator
        .set_behaviour(APP, "silent", Behaviour::Ignore)
        .await
        .unwrap();

    let started = Instant::now();
    let mut yes = auth.authenticate_user("yes").await.unwrap();
    let mut no = auth.authenticate_user("no").await.unwrap();
    let mut silent = auth.authenticate_user("silent").await.unwrap();
    assert_eq!(yes.session_status(), Status::Pending);
    assert_eq!(no.session_status(), Status::Pending);
    assert_eq!(silent.session_status(), Status::Pending);
    await_status(&mut yes, Status::Active).await;
    assert!(started.elapsed() >= after);
    await_status(&mut no, Status::Failed).await;
    // Nobody answers for it: it times out.
    await_status(&mut silent, Status::Timeout).await;
    assert!(started.elapsed() >= Duration::from_millis(1500));

    // A manual answer before the scripted one wins.
    emulator
        .set_behaviour(
            APP,
            "yes",
            Behaviour::Approve {
                after: Duration::from_secs(60),
            },
        )
        .await
        .unwrap();
    let (mut s, t) = start_session(&emulator, APP, "yes").await;
    session_action(&emulator, &t, SessionAction::Deny).await;
    assert_eq!(s.get_status().await.unwrap(), Status::Failed);

    // wait_for_session sees what the phone page would.
    let (_, t) = start_session(&emulator, APP, "silent").await;
    let pending = emulator
        .wait_for_session(APP, "silent", Status::Pending, DEADLINE)
        .await
        .unwrap();
    assert_eq!(pending.session_token, t);
    emulator.shutdown().await;
}

#[tokio::test]
async fn faults_hit_the_wire_api_only() {
    let emulator = emulator().await;
    user_with_phone(&emulator, APP, "alice").await;
    let management = emulator.management_api(APP).unwrap();
    let http = reqwest::Client::new();

    emulator
        .set_faults(every_call_delayed_by(Duration::from_millis(1500)))
        .await
        .unwrap();
    let started = Instant::now();
    management
        .has_registered_mobile_device("alice")
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(1500));
    // The control API and the phone page are not slowed down.
    let started = Instant::now();
    emulator.sessions(None, None).await.unwrap();
    let page = http.get(emulator.phone_url()).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(started.elapsed() < Duration::from_millis(1000));

    emulator
        .set_faults(every_call_fails_with(503))
        .await
        .unwrap();
    let err = management
        .has_registered_mobile_device("alice")
        .await
        .unwrap_err();
    assert!(err.is_outage(), "{err:?}");
    assert_eq!(err.status(), Some(503));
    let err = emulator
        .authentication_api(APP)
        .unwrap()
        .authenticate_user("alice")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert!(emulator.sms().await.is_ok());

    emulator
        .set_faults(every_call_fails_with(429))
        .await
        .unwrap();
    let err = management.add_user("bob").await.unwrap_err();
    assert_eq!(err.status(), Some(429));

    // About half fail at 0.5.
    emulator
        .set_faults(Faults {
            error_rate: 0.5,
            ..Faults::default()
        })
        .await
        .unwrap();
    let mut failures = 0;
    for _ in 0..200 {
        if management
            .has_registered_mobile_device("alice")
            .await
            .is_err()
        {
            failures += 1;
        }
    }
    assert!((40..=160).contains(&failures), "{failures} of 200 failed");

    emulator.set_faults(Faults::default()).await.unwrap();
    assert_eq!(
        registration_of(&management, "alice").await,
        DeviceRegistration::HasMobileDevice
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn stats_count_requests_per_route() {
    let emulator = emulator().await;
    let management = emulator.management_api(APP).unwrap();
    let auth = emulator.authentication_api(APP).unwrap();
    user_with_phone(&emulator, APP, "alice").await;
    emulator.reset_stats().await.unwrap();
    assert_eq!(emulator.stats().await.unwrap().total(), 0);

    management.add_users(&["a", "b"]).await.unwrap();
    management.delete_user("a").await.unwrap();
    management.get_registration_link("b", None).await.unwrap();
    management
        .send_registration_sms("b", None, "+15551234567", None)
        .await
        .unwrap();
    management.has_registered_mobile_device("b").await.unwrap();
    management.has_registered_mobile_device("b").await.unwrap();
    management.lost_user_mobile_device("b").await.unwrap();
    let mut session = auth.authenticate_user("alice").await.unwrap();
    for _ in 0..5 {
        session.get_status().await.unwrap();
    }
    session.destroy().await.unwrap();
    // Refused requests count too.
    let http = reqwest::Client::new();
    let url = session.status_url().unwrap();
    let _ = signed(&http, Method::GET, url, "x", "y")
        .send()
        .await
        .unwrap();

    let stats = emulator.stats().await.unwrap();
    for (route, count) in [
        ("add_users", 1),
        ("delete_users", 1),
        ("device_registration_link", 1),
        ("send_registration_sms", 1),
        ("has_registered_mobile_device", 2),
        ("lost_user_mobile_device", 1),
        ("authenticate_user", 1),
        ("status", 6),
        ("logout", 1),
    ] {
        assert_eq!(stats.route_count(route), count, "{route}");
    }
    assert_eq!(stats.total(), 15);
    assert_eq!(
        stats.routes.keys().collect::<Vec<_>>().len(),
        iampass::emulator::ROUTES.len()
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_phone_page() {
    let emulator = emulator().await;
    let http = reqwest::Client::new();
    user_with_phone(&emulator, APP, "alice").await;
    let (_, pending) = start_session(&emulator, APP, "alice").await;
    user_with_phone(&emulator, APP2, "bob").await;
    let (_, active) = start_session(&emulator, APP2, "bob").await;
    session_action(&emulator, &active, SessionAction::Approve).await;
    emulator
        .management_api(APP)
        .unwrap()
        .send_registration_sms("alice", None, "+15551234567", None)
        .await
        .unwrap();

    let response = http.get(emulator.phone_url()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(content_type(&response).starts_with("text/html"));
    let html = response.text().await.unwrap();
    for needle in [
        r#"id="devices""#,
        r#"id="pending""#,
        r#"id="sessions""#,
        r#"id="sms""#,
        &format!(r#"data-session="{pending}" data-user="alice""#),
        &format!(r#"data-action="approve" data-session="{pending}""#),
        &format!(r#"data-action="deny" data-session="{pending}""#),
        &format!(r#"data-session="{active}" data-user="bob""#),
        r#"data-status="active""#,
        &format!(r#"data-action="walkaway" data-session="{active}""#),
        "+15551234567",
        "/_emulator/phone",
    ] {
        assert!(html.contains(needle), "phone page lacks {needle}");
    }
    session_action(&emulator, &active, SessionAction::Walkaway).await;
    // Filtered by user: only bob's phone.
    let html = get_text(
        &http,
        format!("{}?app_id={APP2}&user=bob", emulator.phone_url()),
    )
    .await;
    assert!(html.contains(&format!(r#"data-action="return" data-session="{active}""#)));
    assert!(!html.contains(&pending));
    // `/` leads to the phone.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let root = client.get(emulator.base_url()).send().await.unwrap();
    assert_eq!(root.status(), StatusCode::SEE_OTHER);
    assert_eq!(root.headers()["location"], "/phone");
    // Unknown links.
    let response = http
        .get(format!("{}/phone/register/nope", emulator.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    emulator.shutdown().await;
}

#[actix_web::test]
async fn runs_under_the_actix_runtime_too() {
    let emulator = emulator().await;
    user_with_phone(&emulator, APP, "alice").await;
    let (mut session, token) = start_session(&emulator, APP, "alice").await;
    session_action(&emulator, &token, SessionAction::Approve).await;
    assert_eq!(session.get_status().await.unwrap(), Status::Active);
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_handle_stops_the_server() {
    let emulator = emulator().await;
    let base = emulator.base_url().to_owned();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    assert!(http.get(format!("{base}/phone")).send().await.is_ok());
    drop(emulator);
    let deadline = Instant::now() + DEADLINE;
    eventually("the server to stop", || {
        let http = &http;
        let url = format!("{base}/phone");
        async move { http.get(url).send().await.is_err() }
    })
    .await;
    assert!(Instant::now() < deadline);
}

#[tokio::test]
async fn bind_errors_are_reported() {
    let first = emulator().await;
    let taken = first.local_addr();
    let err = Emulator::builder().bind(taken).start().await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    let err = Emulator::builder()
        .bind("not an address")
        .start()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    let any = Emulator::builder().bind("0.0.0.0:0").start().await.unwrap();
    assert!(any.base_url().starts_with("http://127.0.0.1:"));
    assert!(
        reqwest::get(any.phone_url())
            .await
            .unwrap()
            .status()
            .is_success()
    );
    first.shutdown().await;
    any.shutdown().await;
}

mod binary {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    use super::*;

    #[tokio::test]
    async fn prints_one_line_and_serves() {
        let mut child = Command::new(env!("CARGO_BIN_EXE_iampass-emulator"))
            .args(["--listen", "127.0.0.1:0", "--app", "a:b", "--app", "c:d:e"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().unwrap();
        let line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).unwrap();
            line
        })
        .await
        .unwrap();
        let url = line
            .trim_end()
            .strip_prefix("iampass-emulator listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        assert!(
            url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"),
            "{url}"
        );

        let management = iampass::ManagementApi::builder("a", "b")
            .server(url.clone())
            .build()
            .unwrap();
        assert_eq!(
            management.add_user("alice").await.unwrap(),
            AddUserResult::Success
        );
        // The secret is everything after the first colon.
        let other = iampass::ManagementApi::builder("c", "d:e")
            .server(url.clone())
            .build()
            .unwrap();
        assert_eq!(other.add_user("x").await.unwrap(), AddUserResult::Success);
        let apps: Value = reqwest::get(format!("{url}/_emulator/applications"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(apps.as_array().unwrap().len(), 2);
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[tokio::test]
    async fn generates_a_demo_application_without_app() {
        let mut child = Command::new(env!("CARGO_BIN_EXE_iampass-emulator"))
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (line, id, secret) = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).unwrap();
            let mut id = None;
            let mut secret = None;
            for l in BufReader::new(stderr).lines() {
                let l = l.unwrap();
                if let Some(v) = l.trim().strip_prefix("IAMPASS_APPLICATION_ID=") {
                    id = Some(v.to_owned());
                }
                if let Some(v) = l.trim().strip_prefix("IAMPASS_APPLICATION_SECRET=") {
                    secret = Some(v.to_owned());
                }
                if id.is_some() && secret.is_some() {
                    break;
                }
            }
            (line, id.unwrap(), secret.unwrap())
        })
        .await
        .unwrap();
        let url = line
            .trim_end()
            .strip_prefix("iampass-emulator listening on ")
            .unwrap()
            .to_owned();
        let management = iampass::ManagementApi::builder(id, secret)
            .server(url)
            .build()
            .unwrap();
        assert_eq!(
            management.add_user("alice").await.unwrap(),
            AddUserResult::Success
        );
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn help_documents_every_flag() {
        let output = Command::new(env!("CARGO_BIN_EXE_iampass-emulator"))
            .arg("--help")
            .output()
            .unwrap();
        assert!(output.status.success());
        let help = String::from_utf8(output.stdout).unwrap();
        for flag in [
            "--listen",
            "--app",
            "--pending-timeout-secs",
            "--signature-window-secs",
            "--session-duration-secs",
            "--workers",
            "--help",
            "--version",
            "127.0.0.1:8765",
            "ID:SECRET",
        ] {
            assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
        }
    }

    #[test]
    fn refuses_bad_arguments() {
        for args in [
            &["--app", "nocolon"][..],
            &["--app", ":secret"],
            &["--pending-timeout-secs", "soon"],
        ] {
            let output = Command::new(env!("CARGO_BIN_EXE_iampass-emulator"))
                .args(args)
                .output()
                .unwrap();
            assert!(!output.status.success(), "{args:?}");
        }
        let output = Command::new(env!("CARGO_BIN_EXE_iampass-emulator"))
            .args(["--listen", "256.0.0.1:1"])
            .output()
            .unwrap();
        assert!(!output.status.success());
        assert!(output.stdout.is_empty());
    }
}

mod interop {
    use std::process::Command;

    use super::*;

    /// The reference client's interpreter, or `None` (skip) unless interop is required.
    fn python() -> Option<String> {
        match std::env::var("IAMPASS_PYTHON") {
            Ok(p) if !p.trim().is_empty() => Some(p),
            _ => {
                assert!(
                    std::env::var("IAMPASS_REQUIRE_INTEROP").as_deref() != Ok("1"),
                    "IAMPASS_REQUIRE_INTEROP=1 but IAMPASS_PYTHON is not set"
                );
                eprintln!(
                    "skipping the Python interop test: set IAMPASS_PYTHON to a python with IAMPASS==0.0.32"
                );
                None
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_reference_python_client_works_against_the_emulator() {
        let Some(python) = python() else { return };
        let emulator = emulator().await;
        // A session started and approved from Rust, handed to Python as JSON.
        user_with_phone(&emulator, APP, "rust user").await;
        let (rust_session, token) = start_session(&emulator, APP, "rust user").await;
        session_action(&emulator, &token, SessionAction::Approve).await;

        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/interop/reference_client.py"
        );
        let base = emulator.base_url().to_owned();
        let rust_json = rust_session.to_json();
        let output = tokio::task::spawn_blocking(move || {
            Command::new(python)
                .arg(script)
                .args([APP, SECRET, &rust_json])
                .env("IAMPASS_SERVER", base)
                .output()
                .expect("python runs")
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "reference client script failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
        );
        // Python's session JSON loads here and talks to the emulator.
        let python_json = stdout
            .lines()
            .find_map(|l| l.strip_prefix("PYTHON_SESSION_JSON="))
            .expect("the script prints its session JSON");
        let mut session = emulator
            .authentication_api(APP)
            .unwrap()
            .attach(Session::from_json(python_json).unwrap());
        assert_eq!(session.get_status().await.unwrap(), Status::Closed);
        let failed_json = stdout
            .lines()
            .find_map(|l| l.strip_prefix("PYTHON_FAILED_SESSION_JSON="))
            .expect("the script prints a failed session's JSON");
        let failed = Session::from_json(failed_json).unwrap();
        assert_eq!(failed.failure_reason(), Some("NO_MOBILE_DEVICE"));
        assert_eq!(failed.session_status(), Status::Failed);
        // Python logged the Rust session out.
        let mut rust_session = rust_session;
        assert_eq!(rust_session.get_status().await.unwrap(), Status::Closed);
        emulator.shutdown().await;
    }
}
