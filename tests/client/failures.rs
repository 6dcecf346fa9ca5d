//! How each kind of failure is reported: HTTP errors, bad bodies, refused connections,
//! timeouts, bad configuration; and odd user ids.

use std::time::{Duration, Instant};

use iampass::{AuthenticationApi, Error, ManagementApi, Session, Status, quote_plus, unquote_plus};
use serde_json::json;

use crate::common::net::dead_url;
use crate::server::{APP, Reply, SECRET, ScriptedServer};

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
