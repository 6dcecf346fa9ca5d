//! Wire tolerance (issue 15): every answer shape IAMPASS's documentation allows, and how each
//! HTTP status of a status or logout call is classified.

use std::time::Duration;

use iampass::client::UNKNOWN_USER;
use iampass::{Error, Session, Status};
use serde_json::json;

use super::server::{Reply, ScriptedServer, started};

#[tokio::test]
async fn a_flat_status_answer_is_read_like_the_wrapped_one() {
    let server = ScriptedServer::answering(
        200,
        json!({"authenticated": true, "session_status": "walkaway"}),
    )
    .await;
    let api = server.authentication();
    let mut session = server.session(&api, Status::Active);
    assert_eq!(session.get_status().await.unwrap(), Status::Walkaway);
    server.set_reply(
        200,
        json!({"authentication_status": {"authenticated": true, "session_status": "active"}}),
    );
    assert_eq!(session.get_status().await.unwrap(), Status::Active);
    server.set_reply(
        200,
        json!({"authenticated": false, "session_status": "closed"}),
    );
    assert_eq!(session.get_status().await.unwrap(), Status::Closed);
    // Neither shape: still a protocol error, not an outage.
    server.set_reply(200, json!({"status": true}));
    let err = session.get_status().await.unwrap_err();
    assert!(matches!(err, Error::Protocol(_)), "{err}");
    assert!(!err.is_outage());
    assert_eq!(session.session_status(), Status::Closed);
}

#[tokio::test]
async fn a_flat_authenticate_answer_starts_or_fails_the_session() {
    let server = ScriptedServer::answering(202, json!({})).await;
    let wrapped = started(&server);
    server.set_reply(202, wrapped["authentication_status"].clone());
    let api = server.authentication();
    let session = api.authenticate_user("u").await.unwrap();
    assert_eq!(session.session_status(), Status::Pending);
    assert_eq!(session.session_token(), Some("tok-1"));
    assert!(
        session
            .status_url()
            .unwrap()
            .ends_with("/authentication/status/tok-1")
    );

    server.set_reply(
        200,
        json!({"authenticated": false, "session_status": "failed", "reason": "NO_MOBILE_DEVICE"}),
    );
    let session = api.authenticate_user("u").await.unwrap();
    assert!(session.failed());
    assert_eq!(session.failure_reason(), Some("NO_MOBILE_DEVICE"));
}

#[tokio::test]
async fn logout_status_false_is_refused_and_keeps_the_session() {
    let server =
        ScriptedServer::answering(200, json!({"status": false, "reason": "UNKNOWN_SESSION"})).await;
    let api = server.authentication();
    let mut session = server.session(&api, Status::Active);
    match session.destroy().await {
        Err(Error::Refused { reason }) => assert_eq!(reason.as_deref(), Some("UNKNOWN_SESSION")),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(session.session_status(), Status::Active, "left as it was");
    server.set_reply(200, json!({"status": false}));
    let err = session.destroy().await.unwrap_err();
    assert!(matches!(err, Error::Refused { reason: None }), "{err}");
    assert!(!err.is_outage() && !err.ends_session());
    assert_eq!(session.session_status(), Status::Active);

    server.set_reply(200, json!({"status": true}));
    session.destroy().await.unwrap();
    assert_eq!(session.session_status(), Status::Closed);
    assert_eq!(server.count(), 3);
}

#[tokio::test]
async fn logout_with_an_empty_body_closes_the_session() {
    let server = ScriptedServer::start(Reply::Answer(200, String::new())).await;
    let api = server.authentication();
    let mut session = server.session(&api, Status::Walkaway);
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
async fn durations_are_rounded_up_to_whole_seconds_and_zero_is_refused() {
    let server = ScriptedServer::answering(202, json!({})).await;
    server.set_reply(202, started(&server));
    let api = server.authentication();
    for (duration, sent) in [
        (Duration::from_millis(1), "1"),
        (Duration::from_millis(500), "1"),
        (Duration::from_millis(1200), "2"),
        (Duration::from_secs(90), "90"),
    ] {
        api.authenticate_user_with("u", &[], Some(duration))
            .await
            .unwrap();
        assert_eq!(
            server.last().target,
            format!("/authentication/authenticate_user/app-1/u?duration_seconds={sent}"),
            "{duration:?}"
        );
    }
    let err = api
        .authenticate_user_with("u", &[], Some(Duration::ZERO))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    assert_eq!(server.count(), 4, "a zero duration sends nothing");
}

#[tokio::test]
async fn an_unknown_user_is_the_same_failed_session_whether_404_or_200() {
    let server = ScriptedServer::start(Reply::Answer(404, "User alice not found".into())).await;
    let api = server.authentication();
    let from_404 = api.authenticate_user("alice").await.unwrap();
    assert!(from_404.failed());
    assert_eq!(from_404.failure_reason(), Some(UNKNOWN_USER));

    server.set_reply(
        200,
        json!({"authentication_status": {"authenticated": false, "session_status": "failed",
            "reason": "UNKNOWN_USER", "session_token": null, "session_secret": null,
            "status_url": null, "logout_url": null}}),
    );
    let from_200 = api.authenticate_user("alice").await.unwrap();
    assert_eq!(from_404, from_200);
    assert_eq!(from_404.to_json(), from_200.to_json());
    assert_eq!(
        from_200,
        Session::failed_to_start(Some(UNKNOWN_USER.into()))
    );

    // The emulator's wording for a 404 unknown user.
    server.set(Reply::Answer(404, "unknown user".into()));
    assert_eq!(api.authenticate_user("alice").await.unwrap(), from_404);
}

#[tokio::test]
async fn an_unknown_application_404_stays_an_error() {
    for body in [
        "Application app-1 not found",
        "unknown application",
        "not found",
    ] {
        let server = ScriptedServer::start(Reply::Answer(404, body.into())).await;
        let err = server
            .authentication()
            .authenticate_user("alice")
            .await
            .unwrap_err();
        assert!(err.is_not_found(), "{body}: {err}");
        assert!(!err.is_outage(), "{body}");
        assert!(err.to_string().contains(body));
    }
}

/// Every status code of a status call: only 404 and 410 end the session; the rest are outages.
#[tokio::test]
async fn status_call_errors_are_classified_per_code() {
    let server = ScriptedServer::start(Reply::Answer(500, "x".into())).await;
    let api = iampass::AuthenticationApi::builder("app-1", "app-secret")
        .server(&server.url)
        .without_circuit_breaker()
        .build()
        .unwrap();
    let mut session = server.session(&api, Status::Active);
    for status in [
        400u16, 401, 403, 404, 405, 408, 409, 410, 418, 422, 429, 451, 500, 501, 502, 503, 504,
    ] {
        server.set(Reply::Answer(status, "no".into()));
        let err = session.get_status().await.unwrap_err();
        assert_eq!(err.status(), Some(status));
        let ends = matches!(status, 404 | 410);
        assert_eq!(err.ends_session(), ends, "{status}");
        assert_eq!(err.is_outage(), !ends, "{status}");
        assert_eq!(err.retry_after(), None, "{status}");
        assert_eq!(session.session_status(), Status::Active, "{status}");
        let err = session.destroy().await.unwrap_err();
        assert_eq!(err.ends_session(), ends, "logout {status}");
        assert_eq!(err.is_outage(), !ends, "logout {status}");
    }
}

#[tokio::test]
async fn retry_after_is_kept_in_seconds_or_as_an_http_date() {
    let server = ScriptedServer::start(Reply::WithHeaders(
        429,
        "slow down".into(),
        vec![("Retry-After", "7".into())],
    ))
    .await;
    let api = server.authentication();
    let session = server.session(&api, Status::Active);
    let err = session.fetch_status().await.unwrap_err();
    assert!(err.is_outage() && !err.ends_session());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));

    let in_a_minute =
        httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(60));
    server.set(Reply::WithHeaders(
        503,
        "maintenance".into(),
        vec![("Retry-After", in_a_minute)],
    ));
    let wait = session
        .fetch_status()
        .await
        .unwrap_err()
        .retry_after()
        .unwrap();
    assert!(
        (Duration::from_secs(55)..=Duration::from_secs(60)).contains(&wait),
        "{wait:?}"
    );

    server.set(Reply::WithHeaders(
        503,
        "x".into(),
        vec![("Retry-After", "whenever".into())],
    ));
    assert_eq!(
        session.fetch_status().await.unwrap_err().retry_after(),
        None
    );
}
