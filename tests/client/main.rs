//! The client against a small scripted HTTP server on loopback: every call's method, path,
//! body and signature, and how each kind of failure is reported.

#[path = "../common/mod.rs"]
mod common;

mod resilience;
mod server;
mod tls;
mod wire;

use std::time::{Duration, Instant};

use iampass::signing;
use iampass::{
    AddUserResult, AddedUsers, AuthenticationApi, AuthenticationMethod, DeviceRegistration, Error,
    ManagementApi, Secret, Session, Status, quote_plus, unquote_plus,
};
use serde_json::{Value, json};

use common::net::dead_url;
use server::{APP, Reply, SECRET, ScriptedServer};

// ---- signing vectors and encoding --------------------------------------------------------

#[test]
fn reference_vectors_reproduce_exactly() {
    let data: Value =
        serde_json::from_str(include_str!("../data/hmac.json")).expect("vectors are JSON");
    let vectors = data["vectors"].as_array().unwrap();
    assert!(!vectors.is_empty());
    for v in vectors {
        let headers = signing::sign(
            v["client_id"].as_str().unwrap(),
            &Secret::new(v["secret"].as_str().unwrap()),
            v["request_uri"].as_str().unwrap(),
            v["nonce"].as_str().unwrap().parse().unwrap(),
            v["timestamp"].as_u64().unwrap(),
        );
        assert_eq!(
            headers.authentication,
            v["authentication"].as_str().unwrap()
        );
        assert_eq!(
            headers.timestamp,
            v["timestamp"].as_u64().unwrap().to_string()
        );
        assert_eq!(headers.version, "1");
    }
}

#[test]
fn quote_plus_matches_python() {
    // Expected values printed by Python's urllib.parse.quote_plus.
    let table = [
        ("MY USER 1", "MY+USER+1"),
        ("a+b", "a%2Bb"),
        ("a/b", "a%2Fb"),
        ("100%", "100%25"),
        ("x@y.z", "x%40y.z"),
        ("a~b", "a~b"),
        ("a*b", "a%2Ab"),
        ("é", "%C3%A9"),
        ("日本", "%E6%97%A5%E6%9C%AC"),
        ("a b+c/d%e", "a+b%2Bc%2Fd%25e"),
        ("-_.~", "-_.~"),
        ("<>\"#&=?", "%3C%3E%22%23%26%3D%3F"),
    ];
    for (raw, encoded) in table {
        assert_eq!(quote_plus(raw), encoded, "quote_plus({raw:?})");
        assert_eq!(
            unquote_plus(encoded).as_deref(),
            Some(raw),
            "unquote_plus({encoded:?})"
        );
    }
    assert_eq!(unquote_plus("%FF"), None, "not UTF-8");
}

// ---- session JSON ------------------------------------------------------------------------

#[test]
fn session_json_loads_the_spec_documents_and_round_trips() {
    let active = r#"{"session_token": "tok", "session_secret": "sec", "logout_url": "http://x/logout",
 "status_url": "http://x/status", "failure_reason": null, "session_status": "active"}"#;
    let session = Session::from_json(active).unwrap();
    assert!(session.active() && !session.failed() && !session.in_progress());
    assert_eq!(session.session_token(), Some("tok"));
    assert_eq!(session.session_secret().unwrap().expose(), "sec");
    assert_eq!(session.status_url(), Some("http://x/status"));
    assert_eq!(session.logout_url(), Some("http://x/logout"));
    let written: Value = serde_json::from_str(&session.to_json()).unwrap();
    assert_eq!(written, serde_json::from_str::<Value>(active).unwrap());
    assert_eq!(Session::from_json(&session.to_json()).unwrap(), session);

    let failed = r#"{"session_token": null, "session_secret": null, "logout_url": null, "status_url": null, "failure_reason": "NO_MOBILE_DEVICE", "session_status": "failed"}"#;
    let session = Session::from_json(failed).unwrap();
    assert!(session.failed());
    assert_eq!(session.failure_reason(), Some("NO_MOBILE_DEVICE"));
    assert_eq!(session.session_token(), None);
    let written: Value = serde_json::from_str(&session.to_json()).unwrap();
    assert_eq!(written, serde_json::from_str::<Value>(failed).unwrap());
}

#[test]
fn every_status_round_trips_and_classifies_like_the_reference() {
    for status in Status::ALL {
        let s = Session::new("t", "s", "http://x/s", "http://x/l", status);
        let back = Session::from_json(&s.to_json()).unwrap();
        assert_eq!(back.session_status(), status);
        assert_eq!(status.as_str().parse::<Status>().unwrap(), status);
        assert_eq!(
            back.failed(),
            matches!(status, Status::Failed | Status::Timeout | Status::Cancelled)
        );
        assert_eq!(
            back.in_progress(),
            matches!(status, Status::Pending | Status::Identifying)
        );
        assert_eq!(back.active(), status == Status::Active);
    }
    assert!(Session::from_json(r#"{"session_status": "bogus"}"#).is_err());
    assert!(Session::from_json("not json").is_err());
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let session = Session::new(
        "tok",
        "very-secret-value",
        "http://x/s",
        "http://x/l",
        Status::Active,
    );
    assert!(!format!("{session:?}").contains("very-secret-value"));
    let api = ManagementApi::builder("app", "another-secret-value")
        .server("http://127.0.0.1:1")
        .build()
        .unwrap();
    assert!(!format!("{api:?}").contains("another-secret-value"));
    let builder = AuthenticationApi::builder("app", "third-secret-value");
    assert!(!format!("{builder:?}").contains("third-secret-value"));
}

// ---- every call against the scripted server -------------------------------------------------

#[tokio::test]
async fn add_users_posts_the_user_list_signed() {
    let server = ScriptedServer::answering(
        201,
        json!({"status": true, "users": {"created": ["a b"], "existing": ["c"]}}),
    )
    .await;
    let added = server.management().add_users(&["a b", "c"]).await.unwrap();
    assert_eq!(
        added,
        AddedUsers {
            created: vec!["a b".into()],
            existing: vec!["c".into()]
        }
    );
    let req = server.last();
    assert_eq!(req.method, "POST");
    assert_eq!(req.target, "/management/add_users/app-1");
    assert_eq!(req.headers["content-type"], "application/json");
    assert_eq!(req.json(), json!({"users": ["a b", "c"]}));
    req.assert_signed_with(APP, SECRET);
}

#[tokio::test]
async fn add_user_classifies_like_the_reference_client() {
    let server = ScriptedServer::answering(
        201,
        json!({"status": true, "users": {"created": ["u"], "existing": []}}),
    )
    .await;
    let api = server.management();
    assert_eq!(api.add_user("u").await.unwrap(), AddUserResult::Success);
    server.set_reply(
        201,
        json!({"status": true, "users": {"created": [], "existing": ["u"]}}),
    );
    assert_eq!(api.add_user("u").await.unwrap(), AddUserResult::UserExists);
    server.set_reply(
        201,
        json!({"status": true, "users": {"created": [], "existing": []}}),
    );
    assert_eq!(
        api.add_user("u").await.unwrap(),
        AddUserResult::Failed { reason: None }
    );
    server.set_reply(200, json!({"status": false, "reason": "LIMIT"}));
    assert_eq!(
        api.add_user("u").await.unwrap(),
        AddUserResult::Failed {
            reason: Some("LIMIT".into())
        }
    );
    assert!(
        matches!(api.add_users(&["u"]).await, Err(Error::Refused { reason: Some(r) }) if r == "LIMIT")
    );
    assert!(matches!(
        api.add_user("").await,
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(server.requests().len(), 5, "an empty user id sends nothing");
    assert_eq!(server.last().json(), json!({"users": ["u"]}));
}

#[tokio::test]
async fn delete_users_and_delete_user() {
    let server = ScriptedServer::answering(200, json!({"status": true})).await;
    let api = server.management();
    api.delete_users(&["a", "b"]).await.unwrap();
    let req = server.last();
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("POST", "/management/delete_users/app-1")
    );
    assert_eq!(req.json(), json!({"users": ["a", "b"]}));
    req.assert_signed_with(APP, SECRET);
    api.delete_user("a/b").await.unwrap();
    assert_eq!(server.last().json(), json!({"users": ["a/b"]}));
    server.set_reply(200, json!({"status": false}));
    assert!(matches!(
        api.delete_user("a").await,
        Err(Error::Refused { reason: None })
    ));
}

#[tokio::test]
async fn registration_link_encodes_user_and_display_name() {
    let server =
        ScriptedServer::answering(200, json!({"status": true, "register_url": "http://r/1"})).await;
    let api = server.management();
    let link = api
        .get_registration_link("MY USER+1/é", Some("Ann O'Neil & co"))
        .await
        .unwrap();
    assert_eq!(link, "http://r/1");
    let req = server.last();
    assert_eq!(req.method, "GET");
    assert_eq!(
        req.target,
        "/management/device_registration_link/app-1/MY+USER%2B1%2F%C3%A9?display_name=Ann+O%27Neil+%26+co"
    );
    assert!(req.body.is_empty());
    req.assert_signed_with(APP, SECRET);
    api.get_registration_link("u", None).await.unwrap();
    assert_eq!(
        server.last().target,
        "/management/device_registration_link/app-1/u"
    );
    server.set_reply(200, json!({"status": true}));
    assert!(matches!(
        api.get_registration_link("u", None).await,
        Err(Error::Protocol(_))
    ));
}

#[tokio::test]
async fn registration_sms_sends_the_optional_fields_only_when_given() {
    let server = ScriptedServer::answering(200, json!({"status": true})).await;
    let api = server.management();
    api.send_registration_sms("u 1", Some("U"), "+15550100", Some("hi"))
        .await
        .unwrap();
    let req = server.last();
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("POST", "/management/send_registration_sms/app-1/u+1")
    );
    assert_eq!(
        req.json(),
        json!({"phone_number": "+15550100", "display_name": "U", "message": "hi"})
    );
    req.assert_signed_with(APP, SECRET);
    api.send_registration_sms("u", None, "+15550100", None)
        .await
        .unwrap();
    assert_eq!(server.last().json(), json!({"phone_number": "+15550100"}));
    assert!(matches!(
        api.send_registration_sms("u", None, "", None).await,
        Err(Error::InvalidArgument(_))
    ));
    server.set_reply(200, json!({"status": false, "reason": "BAD_NUMBER"}));
    assert!(matches!(
        api.send_registration_sms("u", None, "+1", None).await,
        Err(Error::Refused { reason: Some(r) }) if r == "BAD_NUMBER"
    ));
}

#[tokio::test]
async fn has_registered_mobile_device_and_lost_device() {
    let server =
        ScriptedServer::answering(200, json!({"status": true, "device_registered": true})).await;
    let api = server.management();
    assert_eq!(
        api.has_registered_mobile_device("x@y.z").await.unwrap(),
        DeviceRegistration::HasMobileDevice
    );
    let req = server.last();
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        (
            "GET",
            "/management/has_registered_mobile_device/app-1/x%40y.z"
        )
    );
    req.assert_signed_with(APP, SECRET);
    server.set_reply(200, json!({"status": true, "device_registered": false}));
    assert_eq!(
        api.has_registered_mobile_device("u").await.unwrap(),
        DeviceRegistration::NoMobileDevice
    );
    server.set_reply(200, json!({"status": true}));
    assert!(matches!(
        api.has_registered_mobile_device("u").await,
        Err(Error::Protocol(_))
    ));

    server.set_reply(200, json!({"status": true, "register_url": "http://r/2"}));
    assert_eq!(
        api.lost_user_mobile_device("u").await.unwrap(),
        "http://r/2"
    );
    let req = server.last();
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("GET", "/management/lost_user_mobile_device/app-1/u")
    );
    req.assert_signed_with(APP, SECRET);
}

fn started(server: &ScriptedServer) -> Value {
    json!({"authentication_status": {
        "authenticated": true, "session_status": "pending", "reason": null,
        "session_token": "tok-1", "session_secret": "sess-secret",
        "status_url": format!("{}/authentication/status/tok-1", server.url),
        "logout_url": format!("{}/authentication/logout/tok-1", server.url)}})
}

#[tokio::test]
async fn authenticate_then_status_then_logout_signed_with_the_session() {
    let server = ScriptedServer::answering(202, json!({})).await;
    server.set_reply(202, started(&server));
    let api = server.authentication();
    let mut session = api.authenticate_user("a b").await.unwrap();
    assert_eq!(session.session_status(), Status::Pending);
    assert!(session.in_progress());
    let req = server.last();
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("POST", "/authentication/authenticate_user/app-1/a+b")
    );
    assert_eq!(req.json(), json!({}));
    req.assert_signed_with(APP, SECRET);

    server.set_reply(
        200,
        json!({"authentication_status": {"authenticated": true, "session_status": "active"}}),
    );
    assert_eq!(session.get_status().await.unwrap(), Status::Active);
    assert!(session.active());
    let req = server.last();
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("GET", "/authentication/status/tok-1")
    );
    req.assert_signed_with("tok-1", "sess-secret");

    server.set_reply(200, json!({"status": true}));
    session.destroy().await.unwrap();
    assert_eq!(session.session_status(), Status::Closed);
    let req = server.last();
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("POST", "/authentication/logout/tok-1")
    );
    req.assert_signed_with("tok-1", "sess-secret");
}

#[tokio::test]
async fn authenticate_with_methods_and_duration_sends_the_query() {
    let server = ScriptedServer::answering(202, json!({})).await;
    server.set_reply(202, started(&server));
    let api = server.authentication();
    api.authenticate_user_with(
        "u",
        &[
            AuthenticationMethod::Acceptance,
            AuthenticationMethod::Facial,
        ],
        Some(Duration::from_secs(90)),
    )
    .await
    .unwrap();
    let req = server.last();
    assert_eq!(
        req.target,
        "/authentication/authenticate_user/app-1/u?methods=acceptance,facial&duration_seconds=90"
    );
    req.assert_signed_with(APP, SECRET);
}

#[tokio::test]
async fn a_request_that_did_not_start_is_a_failed_session_with_its_reason() {
    let server = ScriptedServer::answering(
        200,
        json!({"authentication_status": {"authenticated": false, "session_status": "failed",
               "reason": "NO_MOBILE_DEVICE", "session_token": null, "session_secret": null,
               "status_url": null, "logout_url": null}}),
    )
    .await;
    let mut session = server
        .authentication()
        .authenticate_user("u")
        .await
        .unwrap();
    assert!(session.failed());
    assert_eq!(session.failure_reason(), Some("NO_MOBILE_DEVICE"));
    assert!(matches!(
        session.get_status().await,
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(
        server.requests().len(),
        1,
        "a session that never started calls nothing"
    );
}

#[tokio::test]
async fn a_restored_session_uses_the_attached_client() {
    let server = ScriptedServer::answering(
        200,
        json!({"authentication_status": {"authenticated": true, "session_status": "walkaway"}}),
    )
    .await;
    let json = Session::new(
        "tok-9",
        "s9",
        format!("{}/authentication/status/tok-9", server.url),
        format!("{}/authentication/logout/tok-9", server.url),
        Status::Active,
    )
    .to_json();
    let session = server
        .authentication()
        .attach(Session::from_json(&json).unwrap());
    assert_eq!(session.fetch_status().await.unwrap(), Status::Walkaway);
    assert_eq!(
        session.session_status(),
        Status::Active,
        "fetch_status does not store"
    );
    server.last().assert_signed_with("tok-9", "s9");
}

// ---- failures ----------------------------------------------------------------------------

#[tokio::test]
async fn http_errors_are_typed_and_never_read_as_a_failed_user() {
    for (status, check) in [
        (401u16, Error::is_unauthorized as fn(&Error) -> bool),
        (403, Error::is_unauthorized),
        (404, Error::is_not_found),
        (500, Error::is_outage),
        (503, Error::is_outage),
    ] {
        let server = ScriptedServer::start(Reply::Answer(status, "nope".into())).await;
        let err = server.management().add_user("u").await.unwrap_err();
        assert_eq!(err.status(), Some(status), "{err}");
        assert!(check(&err), "{status}: {err}");
        assert!(
            err.to_string().contains("nope"),
            "the body is kept for diagnosis"
        );
        let err = server
            .authentication()
            .authenticate_user("u")
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(status));
        assert_eq!(server.requests().len(), 2, "POSTs are never retried");
    }
}

#[tokio::test]
async fn get_status_error_keeps_the_stored_status() {
    let server = ScriptedServer::start(Reply::Answer(500, "down".into())).await;
    let mut session = server.authentication().attach(Session::new(
        "t",
        "s",
        format!("{}/authentication/status/t", server.url),
        format!("{}/authentication/logout/t", server.url),
        Status::Active,
    ));
    let err = session.get_status().await.unwrap_err();
    assert!(err.is_outage());
    assert_eq!(session.session_status(), Status::Active);
    assert!(session.destroy().await.unwrap_err().is_outage());
    assert_eq!(session.session_status(), Status::Active);
}

#[tokio::test]
async fn a_bad_body_is_a_protocol_error() {
    for body in ["<html>oops</html>", "{\"authentication_status\": 5}", ""] {
        let server = ScriptedServer::start(Reply::Answer(200, body.into())).await;
        let err = server
            .authentication()
            .authenticate_user("u")
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Protocol(_)), "{body:?}: {err}");
        assert!(!err.is_outage());
    }
    let server = ScriptedServer::answering(
        200,
        json!({"authentication_status": {"session_status": "weird"}}),
    )
    .await;
    let session = server.authentication().attach(Session::new(
        "t",
        "s",
        format!("{}/x", server.url),
        format!("{}/y", server.url),
        Status::Active,
    ));
    assert!(matches!(
        session.fetch_status().await,
        Err(Error::Protocol(_))
    ));
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    let api = ManagementApi::builder(APP, SECRET)
        .server(dead_url())
        .build()
        .unwrap();
    let err = api.has_registered_mobile_device("u").await.unwrap_err();
    assert!(matches!(err, Error::Connect(_)), "{err}");
    assert!(err.is_outage());
    // The message names the cause, not only "client error (Connect)".
    assert!(err.to_string().contains("Connection refused"), "{err}");
    let err = api.add_user("u").await.unwrap_err();
    assert!(matches!(err, Error::Connect(_)), "{err}");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let server = ScriptedServer::start(Reply::Never).await;
    let api = AuthenticationApi::builder(APP, SECRET)
        .server(&server.url)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = api.authenticate_user("u").await.unwrap_err();
    assert!(
        matches!(err, Error::Timeout(d) if d == Duration::from_millis(300)),
        "{err}"
    );
    assert!(err.is_outage());
    // Generous bound: the point is that it returns, not how fast.
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn configuration_errors_are_reported() {
    for bad in ["ftp://x", "nonsense", "http://h/?q=1"] {
        let err = ManagementApi::builder(APP, SECRET)
            .server(bad)
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{bad}: {err}");
    }
    assert!(matches!(
        ManagementApi::builder("", SECRET)
            .server("http://h")
            .build(),
        Err(Error::Config(_))
    ));
    let api = ManagementApi::builder(APP, SECRET)
        .server("http://h:1/base/")
        .build()
        .unwrap();
    assert_eq!(api.server(), "http://h:1/base");
}

#[tokio::test]
async fn odd_user_ids_reach_the_server_intact() {
    let server =
        ScriptedServer::answering(200, json!({"status": true, "device_registered": false})).await;
    let api = server.management();
    let long = "x".repeat(1000);
    for user in [
        "a b",
        "a+b",
        "a/b",
        "100%",
        "日本 語",
        "../admin",
        "?q=1#f",
        long.as_str(),
    ] {
        api.has_registered_mobile_device(user).await.unwrap();
        let req = server.last();
        let segment = req.target.rsplit('/').next().unwrap();
        assert_eq!(unquote_plus(segment).as_deref(), Some(user));
        assert_eq!(segment, quote_plus(user));
        req.assert_signed_with(APP, SECRET);
    }
}
